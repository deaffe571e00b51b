// lowbit — piecewise-linear quantization: the exact breakpoint search, the other breakpoint methods,
// and PWLQ quantize / dequantize / fake-quantize (SIMD) and the scalar oracle, against uniform int8
// quantize of the same data in the same binary.
// The published PWLQ code takes 0.48 s (10^6 values) and ~32 s (10^7) for its grid search, one thread.
// SPDX-License-Identifier: Apache-2.0
#include <benchmark/benchmark.h>

#include <cstddef>
#include <cstdint>
#include <map>
#include <random>
#include <span>
#include <vector>

#include "lowbit/pwlq.h"
#include "lowbit/quant_params.h"
#include "lowbit/uniform.h"

namespace {

// Fixed-seed Gaussian N(0, 1) values, made once per element count and shared by every benchmark.
const std::vector<float>& input(std::size_t n) {
  static std::map<std::size_t, std::vector<float>> cache;
  const auto [it, inserted] = cache.try_emplace(n, n);
  if (inserted) {
    std::mt19937 rng(20240601);
    std::normal_distribution<float> dist(0.0f, 1.0f);
    for (float& v : it->second) v = dist(rng);
  }
  return it->second;
}

void sizes(benchmark::internal::Benchmark* b) {
  b->Arg(1 << 16)->Arg(1000000)->Arg(10000000)->Unit(benchmark::kMillisecond);
}

void set_counters(benchmark::State& state, std::size_t n, std::size_t bytes) {
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(n));
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(bytes));
}

lowbit::pwlq_options options(int bits, lowbit::pwlq_breakpoint method) {
  lowbit::pwlq_options o;
  o.bits = bits;
  o.method = method;
  return o;
}

void breakpoint_bench(benchmark::State& state, lowbit::pwlq_breakpoint method, int bits) {
  const std::size_t n = static_cast<std::size_t>(state.range(0));
  const std::vector<float>& x = input(n);
  for (auto _ : state) {
    lowbit::pwlq_params p = lowbit::pwlq_calibrate(x, options(bits, method));
    benchmark::DoNotOptimize(p.breakpoints().data());
  }
  set_counters(state, n, n * sizeof(float));
  state.SetLabel(lowbit::to_string(method));
}

// m + the exact breakpoint (what calibration costs), 4 bits, reference variant.
void BM_PwlqExactBreakpoint(benchmark::State& state) { breakpoint_bench(state, lowbit::pwlq_breakpoint::exact, 4); }
void BM_PwlqExactBreakpoint_8bit(benchmark::State& state) { breakpoint_bench(state, lowbit::pwlq_breakpoint::exact, 8); }
void BM_PwlqGaussianBreakpoint(benchmark::State& state) { breakpoint_bench(state, lowbit::pwlq_breakpoint::gaussian, 4); }

// Exact breakpoint + quantize: the quantity the published code's 0.48 s / 32 s compare with.
void BM_PwlqExactBreakpointAndQuantize(benchmark::State& state) {
  const std::size_t n = static_cast<std::size_t>(state.range(0));
  const std::vector<float>& x = input(n);
  std::vector<lowbit::pwlq_code> q(n);
  for (auto _ : state) {
    const lowbit::pwlq_params p = lowbit::pwlq_calibrate(x, options(4, lowbit::pwlq_breakpoint::exact));
    lowbit::pwlq_quantize(x, p, q);
    benchmark::DoNotOptimize(q.data());
    benchmark::ClobberMemory();
  }
  set_counters(state, n, n * (sizeof(float) + sizeof(lowbit::pwlq_code)));
}

// The grid search of the authors' code (49 quantizations), for the ratio.
void BM_PwlqGridBreakpoint(benchmark::State& state) { breakpoint_bench(state, lowbit::pwlq_breakpoint::grid, 4); }

// PWLQ quantize (SIMD kernels of src/cpu/pwlq-inl.h), 4-bit reference variant, one breakpoint,
// codes of 2 bytes.
void BM_PwlqQuantize_F32(benchmark::State& state) {
  const std::size_t n = static_cast<std::size_t>(state.range(0));
  const std::vector<float>& x = input(n);
  const lowbit::pwlq_params p = lowbit::pwlq_calibrate(x, options(4, lowbit::pwlq_breakpoint::gaussian));
  std::vector<lowbit::pwlq_code> q(n);
  lowbit::pwlq_quantize(x, p, q);  // untimed: touches q
  for (auto _ : state) {
    lowbit::pwlq_quantize(x, p, q);
    benchmark::DoNotOptimize(q.data());
    benchmark::ClobberMemory();
  }
  set_counters(state, n, n * (sizeof(float) + sizeof(lowbit::pwlq_code)));
  state.SetLabel(lowbit::simd_target());
}

// The scalar oracle (ref::pwlq_encode_value per value) on the same data, for the ratio.
void BM_PwlqQuantizeOracle_F32(benchmark::State& state) {
  const std::size_t n = static_cast<std::size_t>(state.range(0));
  const std::vector<float>& x = input(n);
  const lowbit::pwlq_params p = lowbit::pwlq_calibrate(x, options(4, lowbit::pwlq_breakpoint::gaussian));
  const lowbit::ref::pwlq_run& r = p.run(0);
  std::vector<lowbit::pwlq_code> q(n);
  for (auto _ : state) {
    for (std::size_t i = 0; i < n; ++i) q[i] = lowbit::ref::pwlq_encode_value(x[i], r);
    benchmark::DoNotOptimize(q.data());
    benchmark::ClobberMemory();
  }
  set_counters(state, n, n * (sizeof(float) + sizeof(lowbit::pwlq_code)));
  state.SetLabel("oracle");
}

// PWLQ dequantize of the codes of the same data.
void BM_PwlqDequantize_F32(benchmark::State& state) {
  const std::size_t n = static_cast<std::size_t>(state.range(0));
  const std::vector<float>& x = input(n);
  const lowbit::pwlq_params p = lowbit::pwlq_calibrate(x, options(4, lowbit::pwlq_breakpoint::gaussian));
  std::vector<lowbit::pwlq_code> q(n);
  lowbit::pwlq_quantize(x, p, q);
  std::vector<float> y(n);
  lowbit::pwlq_dequantize(q, p, y);  // untimed: touches y
  for (auto _ : state) {
    lowbit::pwlq_dequantize(q, p, y);
    benchmark::DoNotOptimize(y.data());
    benchmark::ClobberMemory();
  }
  set_counters(state, n, n * (sizeof(lowbit::pwlq_code) + sizeof(float)));
  state.SetLabel(lowbit::simd_target());
}

// PWLQ fake-quantize (float -> float) of the same data.
void BM_PwlqFakeQuantize_F32(benchmark::State& state) {
  const std::size_t n = static_cast<std::size_t>(state.range(0));
  const std::vector<float>& x = input(n);
  const lowbit::pwlq_params p = lowbit::pwlq_calibrate(x, options(4, lowbit::pwlq_breakpoint::gaussian));
  std::vector<float> y(n);
  lowbit::pwlq_fake_quantize(x, p, y);  // untimed: touches y
  for (auto _ : state) {
    lowbit::pwlq_fake_quantize(x, p, y);
    benchmark::DoNotOptimize(y.data());
    benchmark::ClobberMemory();
  }
  set_counters(state, n, n * 2 * sizeof(float));
  state.SetLabel(lowbit::simd_target());
}

// Uniform f32 -> s8 quantize of the same data (lowbit's SIMD path): the throughput reference.
void BM_Quantize_F32ToS8(benchmark::State& state) {
  const std::size_t n = static_cast<std::size_t>(state.range(0));
  const std::vector<float>& x = input(n);
  const auto p = lowbit::quant_params::per_tensor(lowbit::code_format::int8(), 5.0f / 127.0f, 0);
  std::vector<std::int8_t> q(n);
  lowbit::quantize<std::int8_t>(x, p, q);
  for (auto _ : state) {
    lowbit::quantize<std::int8_t>(x, p, q);
    benchmark::DoNotOptimize(q.data());
    benchmark::ClobberMemory();
  }
  set_counters(state, n, n * (sizeof(float) + sizeof(std::int8_t)));
  state.SetLabel(lowbit::simd_target());
}

}  // namespace

BENCHMARK(BM_PwlqExactBreakpoint)->Apply(sizes);
BENCHMARK(BM_PwlqExactBreakpoint_8bit)->Apply(sizes);
BENCHMARK(BM_PwlqGaussianBreakpoint)->Apply(sizes);
BENCHMARK(BM_PwlqExactBreakpointAndQuantize)->Apply(sizes);
BENCHMARK(BM_PwlqQuantize_F32)->Apply(sizes);
BENCHMARK(BM_PwlqQuantizeOracle_F32)->Apply(sizes);
BENCHMARK(BM_PwlqDequantize_F32)->Apply(sizes);
BENCHMARK(BM_PwlqFakeQuantize_F32)->Apply(sizes);
BENCHMARK(BM_Quantize_F32ToS8)->Apply(sizes);
BENCHMARK(BM_PwlqGridBreakpoint)->Arg(1000000)->Unit(benchmark::kMillisecond)->Iterations(1);

// Per-channel exact calibration of a [128, 250] weight matrix (one channel per row): the small-channel
// path. Args: bits, breakpoints k.
void BM_PwlqExactBreakpoint_PerChannel(benchmark::State& state) {
  const std::int64_t shape[2] = {128, 250};
  const std::vector<float>& x = input(128 * 250);
  lowbit::pwlq_options o = options(static_cast<int>(state.range(0)), lowbit::pwlq_breakpoint::exact);
  o.breakpoints = static_cast<int>(state.range(1));
  for (auto _ : state) {
    lowbit::pwlq_params p = lowbit::pwlq_calibrate(x, shape, 0, o);
    benchmark::DoNotOptimize(p.breakpoints().data());
  }
  set_counters(state, x.size(), x.size() * sizeof(float));
}
BENCHMARK(BM_PwlqExactBreakpoint_PerChannel)
    ->ArgsProduct({{4, 8}, {1, 2, 3}})
    ->ArgNames({"bits", "k"})
    ->Unit(benchmark::kMillisecond);
