// lowbit — throughput of per-tensor uniform quantization (int8 / uint8 codes), against the scalar
// reference, XNNPACK's convert operators and a memcpy of the same memory footprint.
// SPDX-License-Identifier: Apache-2.0
#include <benchmark/benchmark.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <map>
#include <random>
#include <span>
#include <string>
#include <vector>

#include "lowbit/quant_params.h"
#include "lowbit/ref/uniform.h"
#include "lowbit/uniform.h"

#ifdef LOWBIT_BENCH_XNNPACK
#include <xnnpack.h>

#include <memory>
#endif

namespace {

constexpr float kScale = 1.0f / 100.0f;

// Element counts: from L1-resident to far beyond the last-level cache.
constexpr std::int64_t kSizes[] = {4096, 65536, 1048576, 16777216};

void element_counts(benchmark::internal::Benchmark* b) {
  for (const std::int64_t n : kSizes) b->Arg(n);
}

// The footprint in bytes of an f32 -> s8 quantize of each element count: 4n read + n written.
void quantize_footprints(benchmark::internal::Benchmark* b) {
  for (const std::int64_t n : kSizes) b->Arg(5 * n);
}

// Fixed-seed values in [-1.3, 1.3]: with kScale those beyond about ±1.28 (1.5%) saturate the int8 and
// the uint8 (zero point 128) codes. Made once per element count and shared by every benchmark.
const std::vector<float>& input(std::size_t n) {
  static std::map<std::size_t, std::vector<float>> cache;
  const auto [it, inserted] = cache.try_emplace(n, n);
  if (inserted) {
    std::mt19937 rng(20240601);
    std::uniform_real_distribution<float> dist(-1.3f, 1.3f);
    for (float& v : it->second) v = dist(rng);
  }
  return it->second;
}

void set_counters(benchmark::State& state, std::size_t items, std::size_t bytes_read,
                  std::size_t bytes_written, const char* label) {
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(items));
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(bytes_read + bytes_written));
  state.SetLabel(label);
}

// Times `call` once per iteration. `call` returns false on failure, which ends the benchmark with
// `failure`; `out` is the buffer it writes, kept observable so the work is not optimized away.
template <class Call>
void timed_loop(benchmark::State& state, const void* out, Call call, const char* failure = "failed") {
  for (auto _ : state) {
    if (!call()) {
      state.SkipWithError(failure);
      break;
    }
    benchmark::DoNotOptimize(out);
    benchmark::ClobberMemory();
  }
}

std::size_t element_count(const benchmark::State& state) { return static_cast<std::size_t>(state.range(0)); }

template <class Code>
void quantize_bench(benchmark::State& state, lowbit::code_format format, std::int32_t zero_point,
                    lowbit::profile numerics) {
  const std::size_t n = element_count(state);
  const std::vector<float>& x = input(n);
  const auto p = lowbit::quant_params::per_tensor(format, kScale, zero_point, numerics);
  std::vector<Code> q(n);
  lowbit::quantize<Code>(x, p, q);  // untimed: touches q and resolves the dispatch
  timed_loop(state, q.data(), [&] { return lowbit::quantize<Code>(x, p, q), true; });
  set_counters(state, n, n * sizeof(float), n * sizeof(Code), lowbit::simd_target());
}

// The int8 codes of the shared input (onnx profile): the input of the dequantize benchmarks.
std::vector<std::int8_t> int8_codes(std::size_t n) {
  std::vector<std::int8_t> q(n);
  lowbit::quantize<std::int8_t>(input(n), lowbit::quant_params::per_tensor(lowbit::code_format::int8(), kScale, 0),
                                q);
  return q;
}

void BM_Quantize_F32ToS8(benchmark::State& state) {
  quantize_bench<std::int8_t>(state, lowbit::code_format::int8(), 0, lowbit::profile::onnx);
}

void BM_Quantize_F32ToS8_Pytorch(benchmark::State& state) {
  quantize_bench<std::int8_t>(state, lowbit::code_format::int8(), 0, lowbit::profile::pytorch);
}

void BM_Quantize_F32ToS8_Tflite(benchmark::State& state) {
  quantize_bench<std::int8_t>(state, lowbit::code_format::int8(), 0, lowbit::profile::tflite);
}

void BM_Quantize_F32ToU8(benchmark::State& state) {
  quantize_bench<std::uint8_t>(state, lowbit::code_format::uint8(), 128, lowbit::profile::onnx);
}

void BM_QuantizeRef_F32ToS8(benchmark::State& state) {
  const std::size_t n = element_count(state);
  const std::vector<float>& x = input(n);
  const auto p = lowbit::quant_params::per_tensor(lowbit::code_format::int8(), kScale, 0);
  const lowbit::ref::run_params rp = lowbit::ref::run_params_of(p);
  std::vector<std::int8_t> q(n);
  lowbit::ref::quantize_run(x.data(), n, rp, q.data());  // untimed: touches q
  timed_loop(state, q.data(), [&] { return lowbit::ref::quantize_run(x.data(), n, rp, q.data()), true; });
  set_counters(state, n, n * sizeof(float), n, "reference");
}

void BM_Dequantize_S8ToF32(benchmark::State& state) {
  const std::size_t n = element_count(state);
  const std::vector<std::int8_t> q = int8_codes(n);
  const auto p = lowbit::quant_params::per_tensor(lowbit::code_format::int8(), kScale, 0);
  std::vector<float> y(n);
  lowbit::dequantize<std::int8_t>(q, p, y);  // untimed: touches y and resolves the dispatch
  timed_loop(state, y.data(), [&] { return lowbit::dequantize<std::int8_t>(q, p, y), true; });
  set_counters(state, n, n, n * sizeof(float), lowbit::simd_target());
}

// memcpy of bytes / 2 from one buffer to another: read + written = the benchmark's argument.
void BM_Memcpy(benchmark::State& state) {
  const auto bytes = static_cast<std::size_t>(state.range(0));
  const std::size_t half = bytes / 2;
  const std::vector<std::byte> src(half, std::byte{0x5a});
  std::vector<std::byte> dst(half);
  std::memcpy(dst.data(), src.data(), half);  // untimed: touches dst
  timed_loop(state, dst.data(), [&] { return std::memcpy(dst.data(), src.data(), half), true; });
  set_counters(state, bytes / 5, half, half, "memcpy");
}

#ifdef LOWBIT_BENCH_XNNPACK

bool xnnpack_initialized() {
  static const bool ok = xnn_initialize(nullptr) == xnn_status_success;
  return ok;
}

struct xnn_operator_deleter {
  void operator()(xnn_operator_t op) const { xnn_delete_operator(op); }
};
using xnn_operator_ptr = std::unique_ptr<xnn_operator, xnn_operator_deleter>;

// The number of elements whose bits differ between a and b.
template <class T>
std::size_t bit_mismatches(std::span<const T> a, std::span<const T> b) {
  std::size_t count = 0;
  for (std::size_t i = 0; i < a.size(); ++i) count += std::memcmp(&a[i], &b[i], sizeof(T)) != 0;
  return count;
}

std::string mismatch_message(std::size_t mismatches, std::size_t n, const char* against) {
  return "XNNPACK differs from " + std::string(against) + " on " + std::to_string(mismatches) + " of " +
         std::to_string(n) + " elements";
}

// Single-threaded XNNPACK f32 -> qs8 (threadpool nullptr); the operator is made outside the timing,
// each iteration times its setup and run.
void BM_Xnnpack_Quantize_F32ToS8(benchmark::State& state) {
  const std::size_t n = element_count(state);
  const std::vector<float>& x = input(n);
  xnn_operator_t raw = nullptr;
  if (!xnnpack_initialized() ||
      xnn_create_convert_nc_f32_qs8(1, 1, 1, kScale, 0, -128, 127, 0, &raw) != xnn_status_success) {
    state.SkipWithError("cannot create XNNPACK's f32 -> qs8 operator");
    return;
  }
  const xnn_operator_ptr op(raw);
  std::vector<std::int8_t> q(n);
  const auto run = [&] {
    return xnn_setup_convert_nc_f32_qs8(op.get(), n, x.data(), q.data(), nullptr) == xnn_status_success &&
           xnn_run_operator(op.get(), nullptr) == xnn_status_success;
  };
  if (!run()) {
    state.SkipWithError("XNNPACK's f32 -> qs8 failed");
    return;
  }
  // XNNPACK multiplies by the float32 reciprocal of the scale: that is lowbit's pytorch profile.
  std::vector<std::int8_t> expected(n);
  lowbit::quantize<std::int8_t>(
      x, lowbit::quant_params::per_tensor(lowbit::code_format::int8(), kScale, 0, lowbit::profile::pytorch),
      expected);
  if (const std::size_t bad = bit_mismatches<std::int8_t>(q, expected); bad != 0) {
    state.SkipWithError(mismatch_message(bad, n, "lowbit (pytorch profile)").c_str());
    return;
  }
  timed_loop(state, q.data(), run, "XNNPACK's f32 -> qs8 failed");
  set_counters(state, n, n * sizeof(float), n, "xnnpack");
}

void BM_Xnnpack_Dequantize_S8ToF32(benchmark::State& state) {
  const std::size_t n = element_count(state);
  const std::vector<std::int8_t> q = int8_codes(n);
  xnn_operator_t raw = nullptr;
  if (!xnnpack_initialized() ||
      xnn_create_convert_nc_qs8_f32(1, 1, 1, kScale, 0, 0, &raw) != xnn_status_success) {
    state.SkipWithError("cannot create XNNPACK's qs8 -> f32 operator");
    return;
  }
  const xnn_operator_ptr op(raw);
  std::vector<float> y(n);
  const auto run = [&] {
    return xnn_setup_convert_nc_qs8_f32(op.get(), n, q.data(), y.data(), nullptr) == xnn_status_success &&
           xnn_run_operator(op.get(), nullptr) == xnn_status_success;
  };
  if (!run()) {
    state.SkipWithError("XNNPACK's qs8 -> f32 failed");
    return;
  }
  std::vector<float> expected(n);
  lowbit::dequantize<std::int8_t>(q, lowbit::quant_params::per_tensor(lowbit::code_format::int8(), kScale, 0),
                                  expected);
  if (const std::size_t bad = bit_mismatches<float>(y, expected); bad != 0) {
    state.SkipWithError(mismatch_message(bad, n, "lowbit").c_str());
    return;
  }
  timed_loop(state, y.data(), run, "XNNPACK's qs8 -> f32 failed");
  set_counters(state, n, n, n * sizeof(float), "xnnpack");
}

#endif  // LOWBIT_BENCH_XNNPACK

}  // namespace

BENCHMARK(BM_Quantize_F32ToS8)->Apply(element_counts);
BENCHMARK(BM_Quantize_F32ToS8_Pytorch)->Apply(element_counts);
BENCHMARK(BM_Quantize_F32ToS8_Tflite)->Apply(element_counts);
BENCHMARK(BM_QuantizeRef_F32ToS8)->Apply(element_counts);
BENCHMARK(BM_Dequantize_S8ToF32)->Apply(element_counts);
BENCHMARK(BM_Quantize_F32ToU8)->Apply(element_counts);
#ifdef LOWBIT_BENCH_XNNPACK
BENCHMARK(BM_Xnnpack_Quantize_F32ToS8)->Apply(element_counts);
BENCHMARK(BM_Xnnpack_Dequantize_S8ToF32)->Apply(element_counts);
#endif
BENCHMARK(BM_Memcpy)->Apply(quantize_footprints);

BENCHMARK_MAIN();
