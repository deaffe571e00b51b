// lowbit — an int8 fully connected layer (1024 x 1024, per-channel weights, TFLite numerics) through
// lowbit::fxp::quantized_fully_connected, against the same layer in float32 with Eigen (single thread),
// batch 1 (matrix-vector) and 64 (matrix-matrix). Items = multiply-accumulates; the label names the
// SIMD target (lowbit) or Eigen's instruction sets. Linked into fixed_point_bench, whose other source
// file holds BENCHMARK_MAIN(); this file is compiled with the project's default flags (no -mavx2), so
// Eigen uses the instruction sets those flags enable while lowbit dispatches at run time.
// SPDX-License-Identifier: Apache-2.0
#include <benchmark/benchmark.h>

#include <Eigen/Core>

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "lowbit/detail/int8_dot_kernels.h"
#include "lowbit/integer_layers.h"

namespace {

namespace fxp = lowbit::fxp;
constexpr int kIn = 1024, kOut = 1024;

fxp::quantized_fully_connected make_layer() {
  std::mt19937 rng(1);
  std::uniform_int_distribution<int> w8(-127, 127);
  std::uniform_real_distribution<float> ws(0.001f, 0.01f);
  std::vector<std::int8_t> w(static_cast<std::size_t>(kIn) * kOut);
  for (auto& v : w) v = static_cast<std::int8_t>(w8(rng));
  std::vector<std::int32_t> bias(kOut);
  for (auto& b : bias) b = std::uniform_int_distribution<std::int32_t>(-5000, 5000)(rng);
  fxp::weight_quant wq;
  wq.scales.resize(kOut);
  for (auto& s : wq.scales) s = ws(rng);
  const fxp::activation_quant in{0.02f, -3, lowbit::code_format::int8()}, out{0.5f, 2, lowbit::code_format::int8()};
  return fxp::quantized_fully_connected(kIn, kOut, std::move(w), std::move(bias), in, wq, out, {-128, 127},
                                        fxp::dsp_profile::tflite());
}

void BM_FullyConnected_S8(benchmark::State& state) {
  const auto batch = static_cast<std::size_t>(state.range(0));
  const fxp::quantized_fully_connected layer = make_layer();
  std::mt19937 rng(2);
  std::vector<std::int8_t> x(batch * kIn), y(batch * kOut);
  for (auto& v : x) v = static_cast<std::int8_t>(std::uniform_int_distribution<int>(-128, 127)(rng));
  for (auto _ : state) {
    layer.run<std::int8_t, std::int8_t>(x, y);
    benchmark::DoNotOptimize(y.data());
    benchmark::ClobberMemory();
  }
  const auto macs = static_cast<std::int64_t>(batch) * kIn * kOut;
  state.SetItemsProcessed(state.iterations() * macs);
  state.SetBytesProcessed(state.iterations() *
                          static_cast<std::int64_t>(layer.weights().size() + x.size() + y.size()));
  state.SetLabel(std::string(lowbit::detail::int8_dot_active_target()) +
                 (layer.simd_exact() ? "" : " (scalar accumulator model)"));
}
BENCHMARK(BM_FullyConnected_S8)->Arg(1)->Arg(64);

void BM_EigenFullyConnected_F32(benchmark::State& state) {
  Eigen::setNbThreads(1);
  const auto batch = static_cast<Eigen::Index>(state.range(0));
  using RowMajor = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  RowMajor w = RowMajor::Random(kOut, kIn), x = RowMajor::Random(batch, kIn), y(batch, kOut);
  Eigen::RowVectorXf bias = Eigen::RowVectorXf::Random(kOut);
  for (auto _ : state) {
    y.noalias() = x * w.transpose();
    y.rowwise() += bias;
    benchmark::DoNotOptimize(y.data());
    benchmark::ClobberMemory();
  }
  const auto macs = static_cast<std::int64_t>(batch) * kIn * kOut;
  state.SetItemsProcessed(state.iterations() * macs);
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(sizeof(float)) *
                          (static_cast<std::int64_t>(kIn) * kOut + batch * (kIn + kOut)));
  state.SetLabel(std::string("Eigen ") + Eigen::SimdInstructionSetsInUse());
}
BENCHMARK(BM_EigenFullyConnected_F32)->Arg(1)->Arg(64);

}  // namespace
