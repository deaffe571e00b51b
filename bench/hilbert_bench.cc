// lowbit — throughput of Hilbert-curve output decoding: the 8-bit code-pair decoder (one table lookup
// per pixel, SIMD gathers), the exact float decoder (SIMD, float64 lanes) and its scalar per-point
// oracle, the "computed" 8-bit decoder (no table: dequantize + the exact SIMD decoder, the corner
// entries of small curves in registers), and as the baseline a plain 65,536-entry float table gather
// (index = qx << 8 | qy, the compiler's scalar loop) over the same codes. Single thread unless the name
// says _Threads2 (decode_map with threads = 2). One binary, so ratios come from one run.
// SPDX-License-Identifier: Apache-2.0
#include <benchmark/benchmark.h>

#include <cstddef>
#include <cstdint>
#include <map>
#include <random>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "lowbit/detail/hilbert_kernels.h"
#include "lowbit/hilbert.h"
#include "lowbit/hilbert3.h"
#include "lowbit/ref/uniform.h"

namespace {

// Pixels per map: 256 x 256 and 1024 x 1024.
void pixel_counts(benchmark::internal::Benchmark* b) {
  b->Arg(256 * 256);
  b->Arg(1024 * 1024);
}

// The curve of the benchmarks: order 2, full range (the paper's recommended head; the table decoders
// cost the same for every order).
const lowbit::hilbert_curve& curve() {
  static const lowbit::hilbert_curve c(2, lowbit::hilbert_layout::full_range);
  return c;
}

const lowbit::hilbert_quantizer<std::uint8_t>& quantizer() {
  static const lowbit::hilbert_quantizer<std::uint8_t> q(curve(), lowbit::hilbert_params(lowbit::code_format::uint8()));
  return q;
}

// Fixed-seed t uniform in [0, 1] with Gaussian model noise of 1 LSB on each channel: the codes and
// float (x, y) of one map, planar (x plane, then y plane). Made once per pixel count.
struct map_data {
  std::vector<std::uint8_t> codes;  // 2 * pixels, planar
  std::vector<float> xy;            // 2 * pixels, planar
};

const map_data& input(std::size_t pixels) {
  static std::map<std::size_t, map_data> cache;
  const auto [it, inserted] = cache.try_emplace(pixels);
  if (inserted) {
    std::mt19937 rng(20240519);
    std::uniform_real_distribution<float> uni(0.0f, 1.0f);
    std::normal_distribution<float> noise(0.0f, 1.0f / 255.0f);
    std::vector<float> t(pixels);
    for (float& v : t) v = uni(rng);
    map_data& m = it->second;
    m.xy.resize(2 * pixels);
    curve().encode_map(t, 1, lowbit::hilbert_map_layout::planar, m.xy);
    for (float& v : m.xy) v += noise(rng);
    m.codes.resize(2 * pixels);
    lowbit::quantize<std::uint8_t>(m.xy, quantizer().x_params(), m.codes);
  }
  return it->second;
}

void set_counters(benchmark::State& state, std::size_t pixels, std::size_t in_bytes, const std::string& label) {
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(pixels));
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(pixels * (in_bytes + sizeof(float))));
  state.SetLabel(label);
}

std::string simd(const char* what) { return std::string(what) + ", " + lowbit::detail::hilbert_active_target_name(); }

// lowbit's fastest decoder of 8-bit code pairs to float: the table of the quantizer (planar NCHW map),
// SIMD gathers.
void BM_HilbertDecode_U8(benchmark::State& state) {
  const auto pixels = static_cast<std::size_t>(state.range(0));
  const map_data& m = input(pixels);
  const auto& q = quantizer();
  std::vector<float> t(pixels);
  q.decode_map(m.codes, 1, lowbit::hilbert_map_layout::planar, t);  // untimed: touches t and the table
  for (auto _ : state) {
    q.decode_map(m.codes, 1, lowbit::hilbert_map_layout::planar, t);
    benchmark::DoNotOptimize(t.data());
    benchmark::ClobberMemory();
  }
  set_counters(state, pixels, 2, simd("table gather"));
}

// The same decoder on an interleaved NHWC map (x, y pairs).
void BM_HilbertDecode_U8_Interleaved(benchmark::State& state) {
  const auto pixels = static_cast<std::size_t>(state.range(0));
  const map_data& m = input(pixels);
  std::vector<std::uint8_t> pairs(2 * pixels);
  for (std::size_t i = 0; i < pixels; ++i) {
    pairs[2 * i] = m.codes[i];
    pairs[2 * i + 1] = m.codes[pixels + i];
  }
  const auto& q = quantizer();
  std::vector<float> t(pixels);
  q.decode(pairs, t);
  for (auto _ : state) {
    q.decode(pairs, t);
    benchmark::DoNotOptimize(t.data());
    benchmark::ClobberMemory();
  }
  set_counters(state, pixels, 2, simd("table gather"));
}

// The same table read with Highway GatherIndex (vpgatherdd on AVX2 / AVX-512), the kernel's path for
// codes that need a clamp: here the codes stored as uint16 (an 8-bit format in wider storage), so the
// loop clamps and gathers.
void BM_HilbertDecode_U8_GatherIndex(benchmark::State& state) {
  const auto pixels = static_cast<std::size_t>(state.range(0));
  const map_data& m = input(pixels);
  const std::vector<std::uint16_t> codes(m.codes.begin(), m.codes.end());
  const auto& q = quantizer();
  const lowbit::detail::hilbert_lookup_args args{q.table().data(), q.distance_table().data(), 8, 0, 255};
  std::vector<float> t(pixels);
  for (auto _ : state) {
    lowbit::detail::hilbert_lookup(args, codes.data(), codes.data() + pixels, 1, pixels, t.data(), nullptr);
    benchmark::DoNotOptimize(t.data());
    benchmark::ClobberMemory();
  }
  set_counters(state, pixels, 2, simd("table, GatherIndex on uint16 codes"));
}

// The table path with two threads (decode_map threads = 2).
void BM_HilbertDecode_U8_Threads2(benchmark::State& state) {
  const auto pixels = static_cast<std::size_t>(state.range(0));
  const map_data& m = input(pixels);
  const auto& q = quantizer();
  std::vector<float> t(pixels);
  q.decode_map(m.codes, 1, lowbit::hilbert_map_layout::planar, t, {}, 2);
  for (auto _ : state) {
    q.decode_map(m.codes, 1, lowbit::hilbert_map_layout::planar, t, {}, 2);
    benchmark::DoNotOptimize(t.data());
    benchmark::ClobberMemory();
  }
  set_counters(state, pixels, 2, simd("table gather, 2 threads"));
}

// The computed 8-bit decoder (no table): dequantize each code pair and run the exact SIMD decoder.
// state.range(1) = 1: the corner entries in registers (AVX-512, order <= 3); 0: gathered.
void BM_HilbertDecode_U8_Computed(benchmark::State& state) {
  const auto pixels = static_cast<std::size_t>(state.range(0));
  const bool registers = state.range(1) != 0;
  const map_data& m = input(pixels);
  const lowbit::ref::run_params p = lowbit::ref::run_params_of(quantizer().x_params());
  const lowbit::detail::hilbert_dequant dq{p.scale, p.zero_point, 0, 255};
  const lowbit::detail::hilbert_kernel_args args = lowbit::detail::hilbert_kernel_args_of(curve());
  std::vector<float> t(pixels);
  for (auto _ : state) {
    lowbit::detail::hilbert_decode_codes_computed_u8(args, dq, dq, m.codes.data(), m.codes.data() + pixels, pixels,
                                                     t.data(), nullptr, registers);
    benchmark::DoNotOptimize(t.data());
    benchmark::ClobberMemory();
  }
  set_counters(state, pixels, 2, simd(registers ? "computed, corners in registers" : "computed, corners gathered"));
}

// Baseline: a plain 65,536-entry float table gather, index = qx << 8 | qy, on the same codes.
void BM_Lut64kGather_U8(benchmark::State& state) {
  const auto pixels = static_cast<std::size_t>(state.range(0));
  const map_data& m = input(pixels);
  std::vector<float> table(65536);
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> uni(0.0f, 1.0f);
  for (float& v : table) v = uni(rng);
  std::vector<float> t(pixels);
  const std::uint8_t* qx = m.codes.data();
  const std::uint8_t* qy = m.codes.data() + pixels;
  const auto gather = [&] {
    const float* tab = table.data();
    float* out = t.data();
    for (std::size_t i = 0; i < pixels; ++i) out[i] = tab[(static_cast<std::uint32_t>(qx[i]) << 8) | qy[i]];
  };
  gather();
  for (auto _ : state) {
    gather();
    benchmark::DoNotOptimize(t.data());
    benchmark::ClobberMemory();
  }
  set_counters(state, pixels, 2, "plain gather, scalar");
}

// The exact decoder on float (x, y) maps (planar): the path of widths > 8 and of float network outputs.
void BM_HilbertDecodeExact_F32(benchmark::State& state) {
  const auto pixels = static_cast<std::size_t>(state.range(0));
  const map_data& m = input(pixels);
  std::vector<float> t(pixels);
  for (auto _ : state) {
    curve().decode_map(m.xy, 1, lowbit::hilbert_map_layout::planar, t);
    benchmark::DoNotOptimize(t.data());
    benchmark::ClobberMemory();
  }
  set_counters(state, pixels, 2 * sizeof(float), simd("exact"));
}

// The exact decoder with the distance output (outlier flag).
void BM_HilbertDecodeExact_F32_Distance(benchmark::State& state) {
  const auto pixels = static_cast<std::size_t>(state.range(0));
  const map_data& m = input(pixels);
  std::vector<float> t(pixels), d(pixels);
  for (auto _ : state) {
    curve().decode_map(m.xy, 1, lowbit::hilbert_map_layout::planar, t, d);
    benchmark::DoNotOptimize(t.data());
    benchmark::DoNotOptimize(d.data());
    benchmark::ClobberMemory();
  }
  set_counters(state, pixels, 2 * sizeof(float), simd("exact"));
}

// The exact decoder with two threads (decode_map threads = 2).
void BM_HilbertDecodeExact_F32_Threads2(benchmark::State& state) {
  const auto pixels = static_cast<std::size_t>(state.range(0));
  const map_data& m = input(pixels);
  std::vector<float> t(pixels);
  for (auto _ : state) {
    curve().decode_map(m.xy, 1, lowbit::hilbert_map_layout::planar, t, {}, 2);
    benchmark::DoNotOptimize(t.data());
    benchmark::ClobberMemory();
  }
  set_counters(state, pixels, 2 * sizeof(float), simd("exact, 2 threads"));
}

// The oracle: the per-point scalar decoder (hilbert_curve::decode) over the same map.
void BM_HilbertDecodeExact_F32_Scalar(benchmark::State& state) {
  const auto pixels = static_cast<std::size_t>(state.range(0));
  const map_data& m = input(pixels);
  std::vector<float> t(pixels);
  const float* x = m.xy.data();
  const float* y = m.xy.data() + pixels;
  for (auto _ : state) {
    for (std::size_t i = 0; i < pixels; ++i) t[i] = curve().decode(x[i], y[i]).t;
    benchmark::DoNotOptimize(t.data());
    benchmark::ClobberMemory();
  }
  set_counters(state, pixels, 2 * sizeof(float), "exact, scalar oracle");
}

// Encoding a ground-truth map into the two-channel training target (float, planar).
void BM_HilbertTrainingTarget_F32(benchmark::State& state) {
  const auto pixels = static_cast<std::size_t>(state.range(0));
  std::vector<float> depth(pixels), target(2 * pixels);
  std::mt19937 rng(3);
  std::uniform_real_distribution<float> uni(0.0f, 1.0f);
  for (float& v : depth) v = uni(rng);
  for (auto _ : state) {
    lowbit::make_training_target(curve(), depth, 1, lowbit::hilbert_map_layout::planar, target);
    benchmark::DoNotOptimize(target.data());
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(pixels));
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(pixels * 3 * sizeof(float)));
  state.SetLabel("scalar");
}

// Building the 8-bit table (65,536 exact decodes, SIMD) once per (order, layout, parameters).
void BM_HilbertTableBuild_U8(benchmark::State& state) {
  const auto params = lowbit::hilbert_params(lowbit::code_format::uint8());
  const lowbit::hilbert_curve c(static_cast<int>(state.range(0)), lowbit::hilbert_layout::cell_centre);
  for (auto _ : state) {
    lowbit::hilbert_quantizer<std::uint8_t> q(c, params);
    benchmark::DoNotOptimize(q.table().data());
  }
  state.SetItemsProcessed(state.iterations() * 65536);
  state.SetLabel(simd("exact"));
}

// ----------------------------------------------------------------------------------------------------
// 3-D heads (lowbit/hilbert3.h): order 1 full_range (L = 7), codes of three channels (planar) with
// 1 LSB of Gaussian noise. 6-bit codes decode through the 2^18-entry table, 8-bit codes (no table:
// 2^24 triples) and float outputs through the exact decoder (scalar, <= 16 segments per point).

const lowbit::hilbert3_curve& curve3() {
  static const lowbit::hilbert3_curve c(1, lowbit::hilbert_layout::full_range);
  return c;
}

template <int kBits>
struct map3_data {
  lowbit::hilbert3_quantizer<std::uint8_t> q{curve3(), lowbit::hilbert_params(lowbit::code_format{kBits, false, false})};
  std::vector<std::uint8_t> codes;  // 3 * pixels, planar
  std::vector<float> xyz;           // 3 * pixels, planar
};

template <int kBits>
const map3_data<kBits>& input3(std::size_t pixels) {
  static std::map<std::size_t, map3_data<kBits>> cache;
  const auto [it, inserted] = cache.try_emplace(pixels);
  if (inserted) {
    std::mt19937 rng(20240519);
    std::uniform_real_distribution<float> uni(0.0f, 1.0f);
    std::normal_distribution<float> noise(0.0f, 1.0f / ((1 << kBits) - 1));
    std::vector<float> t(pixels);
    for (float& v : t) v = uni(rng);
    map3_data<kBits>& m = it->second;
    m.xyz.resize(3 * pixels);
    curve3().encode_map(t, 1, lowbit::hilbert_map_layout::planar, m.xyz);
    for (float& v : m.xyz) v += noise(rng);
    m.codes.resize(3 * pixels);
    lowbit::quantize<std::uint8_t>(m.xyz, m.q.x_params(), m.codes);
  }
  return it->second;
}

template <int kBits>
void BM_Hilbert3Decode(benchmark::State& state) {
  const auto pixels = static_cast<std::size_t>(state.range(0));
  const map3_data<kBits>& m = input3<kBits>(pixels);
  std::vector<float> t(pixels);
  for (auto _ : state) {
    m.q.decode_map(m.codes, 1, lowbit::hilbert_map_layout::planar, t);
    benchmark::DoNotOptimize(t.data());
    benchmark::ClobberMemory();
  }
  set_counters(state, pixels, 3, kBits <= 6 ? std::string("table, scalar loop") : simd("exact"));
}
void BM_Hilbert3Decode_U6(benchmark::State& state) { BM_Hilbert3Decode<6>(state); }
void BM_Hilbert3Decode_U8(benchmark::State& state) { BM_Hilbert3Decode<8>(state); }

void BM_Hilbert3DecodeExact_F32(benchmark::State& state) {
  const auto pixels = static_cast<std::size_t>(state.range(0));
  const map3_data<8>& m = input3<8>(pixels);
  std::vector<float> t(pixels);
  for (auto _ : state) {
    curve3().decode_map(m.xyz, 1, lowbit::hilbert_map_layout::planar, t);
    benchmark::DoNotOptimize(t.data());
    benchmark::ClobberMemory();
  }
  set_counters(state, pixels, 3 * sizeof(float), simd("exact"));
}

BENCHMARK(BM_HilbertDecode_U8)->Apply(pixel_counts);
BENCHMARK(BM_HilbertDecode_U8_Interleaved)->Apply(pixel_counts);
BENCHMARK(BM_Lut64kGather_U8)->Apply(pixel_counts);
BENCHMARK(BM_HilbertDecode_U8_GatherIndex)->Apply(pixel_counts);
BENCHMARK(BM_HilbertDecode_U8_Computed)->ArgsProduct({{256 * 256, 1024 * 1024}, {1, 0}});
BENCHMARK(BM_HilbertDecode_U8_Threads2)->Arg(1024 * 1024)->UseRealTime();
BENCHMARK(BM_HilbertDecodeExact_F32)->Apply(pixel_counts);
BENCHMARK(BM_HilbertDecodeExact_F32_Distance)->Apply(pixel_counts);
BENCHMARK(BM_HilbertDecodeExact_F32_Scalar)->Apply(pixel_counts);
BENCHMARK(BM_HilbertDecodeExact_F32_Threads2)->Arg(1024 * 1024)->UseRealTime();
BENCHMARK(BM_HilbertTrainingTarget_F32)->Apply(pixel_counts);
BENCHMARK(BM_HilbertTableBuild_U8)->Arg(2)->Arg(3);
BENCHMARK(BM_Hilbert3Decode_U6)->Apply(pixel_counts);
BENCHMARK(BM_Hilbert3Decode_U8)->Apply(pixel_counts);
BENCHMARK(BM_Hilbert3DecodeExact_F32)->Apply(pixel_counts);

}  // namespace
