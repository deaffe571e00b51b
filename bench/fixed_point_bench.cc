// lowbit — throughput of int32 -> int8 requantization (per-tensor and per-channel, both roundings)
// against gemmlowp's own AVX2 fixed-point path, a naive float requantize, the scalar reference and a
// memcpy of the same memory footprint. This file is compiled with -mavx2 -mfma -DGEMMLOWP_ENABLE_AVX2
// (gemmlowp's AVX2 path, as its users build it); lowbit's kernels dispatch at run time regardless.
// SPDX-License-Identifier: Apache-2.0
#include <benchmark/benchmark.h>
#include <immintrin.h>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <map>
#include <random>
#include <span>
#include <vector>

#include "gemmlowp/fixedpoint/fixedpoint.h"
#include "lowbit/integer_requantize.h"
#include "lowbit/ref/integer_requantize.h"

namespace {

using lowbit::fxp::quantized_multiplier;
using lowbit::fxp::requant_params;
using lowbit::fxp::requant_rounding;

// Element counts: 64 Ki (L2), 1 Mi (L3), 16 Mi (beyond the 32 MiB L3 of the machine measured).
constexpr std::int64_t kSizes[] = {65536, 1048576, 16777216};

void element_counts(benchmark::internal::Benchmark* b) {
  for (const std::int64_t n : kSizes) b->Arg(n);
}
// The footprint in bytes of an s32 -> s8 requantize of each element count: 4n read + n written.
void footprints(benchmark::internal::Benchmark* b) {
  for (const std::int64_t n : kSizes) b->Arg(5 * n);
}

// The scale of a typical int8 layer: input 0.02 * weight 0.004 / output 0.05 = 0.0016 (shift -9).
constexpr double kReal = 0.02 * 0.004 / 0.05;
constexpr std::int32_t kZeroPoint = -3;
const quantized_multiplier kMultiplier = lowbit::fxp::quantize_multiplier(kReal);

// Fixed-seed accumulators in [-2^17, 2^17) (about 2% saturate int8 after scaling), never INT32_MIN.
const std::vector<std::int32_t>& input(std::size_t n) {
  static std::map<std::size_t, std::vector<std::int32_t>> cache;
  const auto [it, inserted] = cache.try_emplace(n, n);
  if (inserted) {
    std::mt19937 rng(20240601);
    std::uniform_int_distribution<std::int32_t> dist(-(1 << 17), (1 << 17) - 1);
    for (std::int32_t& v : it->second) v = dist(rng);
  }
  return it->second;
}

void set_counters(benchmark::State& state, std::size_t items, std::size_t bytes_read, std::size_t bytes_written,
                  const char* label) {
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(items));
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(bytes_read + bytes_written));
  state.SetLabel(label);
}

template <class Call>
void timed_loop(benchmark::State& state, const void* out, Call call) {
  for (auto _ : state) {
    call();
    benchmark::DoNotOptimize(out);
    benchmark::ClobberMemory();
  }
}

std::size_t element_count(const benchmark::State& state) { return static_cast<std::size_t>(state.range(0)); }

// True when out equals lowbit's scalar reference of p on acc.
bool matches_reference(std::span<const std::int32_t> acc, const requant_params& p, std::span<const std::int8_t> out) {
  for (std::size_t i = 0; i < acc.size(); ++i) {
    if (out[i] != static_cast<std::int8_t>(p.apply(acc[i], i % p.channels()))) return false;
  }
  return true;
}

void lowbit_bench(benchmark::State& state, const requant_params& p) {
  const std::size_t n = element_count(state);
  const auto& acc = input(n);
  std::vector<std::int8_t> out(n);
  lowbit::fxp::requantize<std::int8_t>(acc, p, out);
  if (!matches_reference(acc, p, out)) {
    state.SkipWithError("lowbit differs from its reference");
    return;
  }
  timed_loop(state, out.data(), [&] { lowbit::fxp::requantize<std::int8_t>(acc, p, out); });
  set_counters(state, n, 4 * n, n, lowbit::fxp::requantize_simd_target());
}

void BM_Requantize_S32ToS8(benchmark::State& state) {
  lowbit_bench(state, requant_params::per_tensor(kMultiplier, kZeroPoint, -128, 127));
}

void BM_Requantize_S32ToS8_SingleRounding(benchmark::State& state) {
  lowbit_bench(state,
               requant_params::per_tensor(kMultiplier, kZeroPoint, -128, 127, requant_rounding::single_rounding));
}

void BM_Requantize_S32ToS8_PerChannel(benchmark::State& state) {
  // 64 output channels with weight scales spread over a factor of 4 (shifts -8 .. -10).
  std::vector<float> weight_scales(64);
  for (std::size_t c = 0; c < weight_scales.size(); ++c) weight_scales[c] = 0.002f + 0.0001f * static_cast<float>(c);
  lowbit_bench(state, requant_params::from_scales(0.02f, weight_scales, 0.05f, kZeroPoint, -128, 127));
}

void BM_RequantizeRef_S32ToS8(benchmark::State& state) {
  const std::size_t n = element_count(state);
  const auto& acc = input(n);
  std::vector<std::int8_t> out(n);
  const quantized_multiplier m = kMultiplier;
  timed_loop(state, out.data(), [&] {
    for (std::size_t i = 0; i < n; ++i) {
      out[i] = static_cast<std::int8_t>(lowbit::fxp::requantize_value(acc[i], m, requant_rounding::double_rounding,
                                                                      kZeroPoint, -128, 127));
    }
  });
  set_counters(state, n, 4 * n, n, "reference");
}

// gemmlowp's output pipeline on its AVX2 fixed-point types: OutputStageQuantizeDownInt32ByFixedPoint
// (SaturatingRoundingDoublingHighMul, RoundingDivideByPOT, + offset), OutputStageClamp, and the
// saturating cast to int8 (packs), 32 accumulators per iteration, scalar gemmlowp for the tail.
void gemmlowp_requantize(const std::int32_t* acc, std::size_t n, std::int32_t multiplier, int shift,
                         std::int8_t* out) {
  const int left = shift > 0 ? shift : 0;
  const int right = shift > 0 ? 0 : -shift;
  const __m256i m = gemmlowp::Dup<__m256i>(multiplier);
  const __m256i zp = gemmlowp::Dup<__m256i>(kZeroPoint);
  const __m256i lo = gemmlowp::Dup<__m256i>(-128);
  const __m256i hi = gemmlowp::Dup<__m256i>(127);
  const auto stage = [&](__m256i x) {
    const __m256i scaled = gemmlowp::RoundingDivideByPOT(
        gemmlowp::SaturatingRoundingDoublingHighMul(gemmlowp::ShiftLeft(x, left), m), right);
    return _mm256_min_epi32(_mm256_max_epi32(gemmlowp::Add(scaled, zp), lo), hi);
  };
  const __m256i order = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
  std::size_t i = 0;
  for (; i + 32 <= n; i += 32) {
    const __m256i* in = reinterpret_cast<const __m256i*>(acc + i);
    const __m256i a = stage(_mm256_loadu_si256(in));
    const __m256i b = stage(_mm256_loadu_si256(in + 1));
    const __m256i c = stage(_mm256_loadu_si256(in + 2));
    const __m256i d = stage(_mm256_loadu_si256(in + 3));
    const __m256i packed = _mm256_packs_epi16(_mm256_packs_epi32(a, b), _mm256_packs_epi32(c, d));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + i), _mm256_permutevar8x32_epi32(packed, order));
  }
  for (; i < n; ++i) {
    const std::int32_t scaled = gemmlowp::RoundingDivideByPOT(
        gemmlowp::SaturatingRoundingDoublingHighMul(acc[i] * (1 << left), multiplier), right);
    const std::int32_t v = scaled + kZeroPoint;
    out[i] = static_cast<std::int8_t>(v < -128 ? -128 : (v > 127 ? 127 : v));
  }
}

void BM_GemmlowpRequantize_S32ToS8(benchmark::State& state) {
  const std::size_t n = element_count(state);
  const auto& acc = input(n);
  std::vector<std::int8_t> out(n);
  gemmlowp_requantize(acc.data(), n, kMultiplier.multiplier, kMultiplier.shift, out.data());
  if (!matches_reference(acc, requant_params::per_tensor(kMultiplier, kZeroPoint, -128, 127), out)) {
    state.SkipWithError("gemmlowp differs from lowbit's reference");
    return;
  }
  timed_loop(state, out.data(),
             [&] { gemmlowp_requantize(acc.data(), n, kMultiplier.multiplier, kMultiplier.shift, out.data()); });
  set_counters(state, n, 4 * n, n, "gemmlowp AVX2");
}

// The naive float requantize: nearbyint(float(acc) * real) + zero point, clamped (not bit-exact to the
// fixed-point result; the float32 product rounds).
void BM_FloatRequantize_S32ToS8(benchmark::State& state) {
  const std::size_t n = element_count(state);
  const auto& acc = input(n);
  std::vector<std::int8_t> out(n);
  const auto scale = static_cast<float>(kReal);
  timed_loop(state, out.data(), [&] {
    for (std::size_t i = 0; i < n; ++i) {
      const float v = std::nearbyint(static_cast<float>(acc[i]) * scale) + static_cast<float>(kZeroPoint);
      out[i] = static_cast<std::int8_t>(v < -128.0f ? -128.0f : (v > 127.0f ? 127.0f : v));
    }
  });
  set_counters(state, n, 4 * n, n, "float32");
}

// memcpy of bytes / 2 from one buffer to another: read + written = the benchmark's argument.
void BM_Memcpy(benchmark::State& state) {
  const auto bytes = static_cast<std::size_t>(state.range(0));
  const std::size_t half = bytes / 2;
  const std::vector<std::byte> src(half, std::byte{0x5a});
  std::vector<std::byte> dst(half);
  std::memcpy(dst.data(), src.data(), half);  // untimed: touches dst
  timed_loop(state, dst.data(), [&] { std::memcpy(dst.data(), src.data(), half); });
  set_counters(state, bytes / 5, half, half, "memcpy");
}

}  // namespace

BENCHMARK(BM_Requantize_S32ToS8)->Apply(element_counts);
BENCHMARK(BM_Requantize_S32ToS8_SingleRounding)->Apply(element_counts);
BENCHMARK(BM_Requantize_S32ToS8_PerChannel)->Apply(element_counts);
BENCHMARK(BM_GemmlowpRequantize_S32ToS8)->Apply(element_counts);
BENCHMARK(BM_FloatRequantize_S32ToS8)->Apply(element_counts);
BENCHMARK(BM_RequantizeRef_S32ToS8)->Apply(element_counts);
BENCHMARK(BM_Memcpy)->Apply(footprints);

// The one main of the fixed_point_bench binary (bench/fixed_point_dense_bench.cc defines none).
BENCHMARK_MAIN();
