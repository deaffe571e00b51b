// A tour of uniform quantization: weight-like tensors at several widths, granularities and numerics
// profiles, with the error of each (MSE, SQNR, max |error|) and the throughput of the kernels.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include <lowbit/lowbit.h>

namespace {

// Conv-like weights [out=64, in=576]: per output channel a Laplacian with its own scale, as trained
// weights often are (channel ranges differ by 10x and more).
std::vector<float> make_weights(std::size_t out, std::size_t in, std::mt19937& rng) {
  std::vector<float> w(out * in);
  std::exponential_distribution<float> e(1.0f);
  std::uniform_real_distribution<float> ch_scale(-3.0f, 0.0f);
  for (std::size_t o = 0; o < out; ++o) {
    const float s = 0.05f * std::pow(10.0f, ch_scale(rng));
    for (std::size_t i = 0; i < in; ++i) w[o * in + i] = s * (rng() % 2 ? e(rng) : -e(rng));
  }
  return w;
}

template <class Code>
void row(const char* name, const lowbit::quant_params& p, const std::vector<float>& w) {
  const lowbit::uniform_quantizer<Code> q(p);
  const lowbit::error_stats s = lowbit::measure_error(q, std::span<const float>(w));
  std::printf("  %-40s %12.4g %9.2f %12.4g\n", name, s.mse, s.sqnr_db, s.max_abs_error);
}

std::vector<float> channel_absmax(const std::vector<float>& w, std::size_t out, std::size_t in) {
  std::vector<float> m(out, 0.0f);
  for (std::size_t o = 0; o < out; ++o)
    for (std::size_t i = 0; i < in; ++i) m[o] = std::max(m[o], std::abs(w[o * in + i]));
  return m;
}

}  // namespace

int main() {
  std::mt19937 rng(2026);
  constexpr std::size_t kOut = 64, kIn = 576;
  const auto w = make_weights(kOut, kIn, rng);
  const std::vector<std::int64_t> shape = {kOut, kIn};
  const auto [lo, hi] = std::minmax_element(w.begin(), w.end());
  const float absmax = std::max(-*lo, *hi);
  const auto cmax = channel_absmax(w, kOut, kIn);

  std::printf("lowbit demo: uniform affine quantization of a [%zu, %zu] conv-like weight (SIMD target: %s)\n\n",
              kOut, kIn, lowbit::simd_target());
  std::printf("  %-40s %12s %9s %12s\n", "quantizer", "MSE", "SQNR dB", "max |err|");
  for (int bits : {8, 6, 4, 3, 2}) {
    const lowbit::code_format f{bits, true, true};  // symmetric, narrow range
    const std::string b = std::to_string(bits);
    row<std::int8_t>(("int" + b + " per-tensor symmetric").c_str(),
                     lowbit::params_from_range(-absmax, absmax, f, true), w);
    std::vector<float> scales(kOut);
    for (std::size_t o = 0; o < kOut; ++o) scales[o] = cmax[o] / static_cast<float>(f.qmax());
    row<std::int8_t>(("int" + b + " per-channel symmetric").c_str(),
                     lowbit::quant_params::per_channel(f, shape, 0, scales), w);
    // Per-block along the input features (groups of 32), as INT4 weight formats store them.
    constexpr std::size_t kBlock = 32;
    std::vector<float> bscales(kOut * kIn / kBlock);
    for (std::size_t k = 0; k < bscales.size(); ++k) {
      float m = 0.0f;
      for (std::size_t i = 0; i < kBlock; ++i) m = std::max(m, std::abs(w[k * kBlock + i]));
      bscales[k] = std::max(m, 1e-30f) / static_cast<float>(f.qmax());
    }
    row<std::int8_t>(("int" + b + " per-block(32) symmetric").c_str(),
                     lowbit::quant_params::per_block(f, shape, 1, kBlock, bscales), w);
  }
  row<std::uint8_t>("uint8 per-tensor asymmetric", lowbit::params_from_range(*lo, *hi, lowbit::code_format::uint8(), false), w);
  row<std::int16_t>("int16 per-tensor symmetric",
                    lowbit::params_from_range(-absmax, absmax, lowbit::code_format::int16(true), true), w);

  // The three numerics profiles differ only on ties: count the codes on which they disagree.
  std::printf("\nProfiles on the same int8 per-tensor parameters (codes that differ from onnx):\n");
  const auto onnx = lowbit::params_from_range(-absmax, absmax, lowbit::code_format::int8(), true);
  std::vector<std::int8_t> q_onnx(w.size()), q_other(w.size());
  lowbit::quantize<std::int8_t>(w, onnx, q_onnx);
  for (lowbit::profile prof : {lowbit::profile::pytorch, lowbit::profile::tflite}) {
    const auto p = lowbit::quant_params::per_tensor(onnx.format(), onnx.scales()[0], 0, prof);
    lowbit::quantize<std::int8_t>(w, p, q_other);
    std::size_t diff = 0;
    for (std::size_t i = 0; i < w.size(); ++i) diff += q_onnx[i] != q_other[i];
    std::printf("  %-8s %zu of %zu\n", lowbit::to_string(prof), diff, w.size());
  }

  // Throughput of the SIMD quantizer on 16 Mi elements (one timing; bench/uniform_bench is the real measure).
  std::vector<float> big(1 << 24);
  for (std::size_t i = 0; i < big.size(); ++i) big[i] = w[i % w.size()];
  std::vector<std::int8_t> qbig(big.size());
  lowbit::quantize<std::int8_t>(big, onnx, qbig);  // warm up
  const auto t0 = std::chrono::steady_clock::now();
  lowbit::quantize<std::int8_t>(big, onnx, qbig);
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("\nquantize f32 -> int8, 16 Mi elements: %.2f ms, %.2f Gelem/s, %.1f GB/s (read + written)\n",
              s * 1e3, static_cast<double>(big.size()) / s * 1e-9, 5.0 * static_cast<double>(big.size()) / s * 1e-9);
  return 0;
}
