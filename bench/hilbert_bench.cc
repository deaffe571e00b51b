// lowbit — throughput of Hilbert-curve output decoding: the 8-bit code-pair decoder (one table lookup
// per pixel), the exact float decoder, and as the baseline a plain 65,536-entry float table gather
// (index = qx << 8 | qy) over the same codes. Single thread; one binary, so ratios come from one run.
// SPDX-License-Identifier: Apache-2.0
#include <benchmark/benchmark.h>

#include <cstddef>
#include <cstdint>
#include <map>
#include <random>
#include <span>
#include <utility>
#include <vector>

#include "lowbit/hilbert.h"

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

void set_counters(benchmark::State& state, std::size_t pixels, std::size_t in_bytes, const char* label) {
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(pixels));
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(pixels * (in_bytes + sizeof(float))));
  state.SetLabel(label);
}

// lowbit's fastest decoder of 8-bit code pairs to float: the table of the quantizer (planar NCHW map).
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
  set_counters(state, pixels, 2, "table, scalar");
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
  set_counters(state, pixels, 2, "table, scalar");
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
  set_counters(state, pixels, 2 * sizeof(float), "exact, scalar");
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
  set_counters(state, pixels, 2 * sizeof(float), "exact, scalar");
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
  set_counters(state, pixels, 2, "plain gather");
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

// Building the 8-bit table (65,536 exact decodes) once per (order, layout, parameters).
void BM_HilbertTableBuild_U8(benchmark::State& state) {
  const auto params = lowbit::hilbert_params(lowbit::code_format::uint8());
  const lowbit::hilbert_curve c(static_cast<int>(state.range(0)), lowbit::hilbert_layout::cell_centre);
  for (auto _ : state) {
    lowbit::hilbert_quantizer<std::uint8_t> q(c, params);
    benchmark::DoNotOptimize(q.table().data());
  }
  state.SetItemsProcessed(state.iterations() * 65536);
  state.SetLabel("scalar");
}

BENCHMARK(BM_HilbertDecode_U8)->Apply(pixel_counts);
BENCHMARK(BM_HilbertDecode_U8_Interleaved)->Apply(pixel_counts);
BENCHMARK(BM_Lut64kGather_U8)->Apply(pixel_counts);
BENCHMARK(BM_HilbertDecodeExact_F32)->Apply(pixel_counts);
BENCHMARK(BM_HilbertDecodeExact_F32_Distance)->Apply(pixel_counts);
BENCHMARK(BM_HilbertTrainingTarget_F32)->Apply(pixel_counts);
BENCHMARK(BM_HilbertTableBuild_U8)->Arg(2)->Arg(3);

}  // namespace
