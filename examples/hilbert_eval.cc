// lowbit example — how much does a Hilbert-curve output head gain over quantizing t directly?
//
// For t uniform in [0, 1], both layouts, orders 1..4, code widths 4 / 6 / 8 and Gaussian model noise of
// 0, 0.5, 1, 2, 4 LSB (added to t for the direct head, to each of x and y for the Hilbert head, before
// quantization), prints the RMS and max error of both heads, the measured gain (RMS direct / RMS
// Hilbert) and the gain the analytic model predicts (lowbit::predict_hilbert_error), plus the order the
// model recommends for each width and noise level. "jumps" = the share of values decoded more than 1.5
// segments away along the curve (onto another branch), measured and predicted.
//
//   hilbert_eval [samples per row, default 200000]
// SPDX-License-Identifier: Apache-2.0
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <vector>

#include "lowbit/hilbert.h"
#include "lowbit/ref/uniform.h"
#include "lowbit/uniform.h"

namespace {

struct stats {
  double rms = 0.0, max = 0.0;
};

stats error_of(const std::vector<float>& truth, const std::vector<float>& got) {
  double sum = 0.0, mx = 0.0;
  for (std::size_t i = 0; i < truth.size(); ++i) {
    const double e = static_cast<double>(got[i]) - truth[i];
    sum += e * e;
    mx = std::max(mx, std::abs(e));
  }
  return {std::sqrt(sum / static_cast<double>(truth.size())), mx};
}

}  // namespace

int main(int argc, char** argv) {
  const std::size_t samples = argc > 1 ? static_cast<std::size_t>(std::strtoull(argv[1], nullptr, 10)) : 200000;
  if (samples == 0) {
    std::fprintf(stderr, "usage: hilbert_eval [samples per row > 0]\n");
    return 2;
  }
  const int widths[] = {4, 6, 8};
  const double noises[] = {0.0, 0.5, 1.0, 2.0, 4.0};
  std::printf("Hilbert head vs direct quantization: t uniform in [0, 1], %zu samples per row, unsigned codes\n"
              "spanning [0, 1] (scale 1 / (2^bits - 1)), onnx rounding; noise in LSB per channel.\n\n",
              samples);
  std::printf("| layout      | n |      L | bits | noise | RMS direct | RMS hilbert | max direct | max hilbert |"
              "   gain | predicted | jumps %% | pred. %% |\n");
  std::printf("|-------------|---|--------|------|-------|------------|-------------|------------|-------------|"
              "--------|-----------|---------|---------|\n");
  for (const auto layout : {lowbit::hilbert_layout::cell_centre, lowbit::hilbert_layout::full_range}) {
    for (const int bits : widths) {
      const lowbit::code_format format{bits, false, false};
      const lowbit::quant_params params = lowbit::hilbert_params(format);
      const lowbit::ref::run_params rp = lowbit::ref::run_params_of(params);
      const double lsb = 1.0 / static_cast<double>((1 << bits) - 1);
      for (int order = 1; order <= 4; ++order) {
        const lowbit::hilbert_curve curve(order, layout);
        const lowbit::hilbert_quantizer<std::uint8_t> head(curve, params);
        for (const double noise : noises) {
          std::mt19937 rng(static_cast<std::uint32_t>(1000 * bits + 10 * order) + static_cast<std::uint32_t>(4 * noise));
          std::uniform_real_distribution<float> uni(0.0f, 1.0f);
          std::normal_distribution<double> gauss(0.0, noise * lsb);
          std::vector<float> t(samples), direct(samples), decoded(samples);
          std::vector<std::uint8_t> codes(2 * samples);
          for (std::size_t i = 0; i < samples; ++i) {
            t[i] = uni(rng);
            // Direct head: one noisy output, quantized and dequantized.
            const auto noisy = static_cast<float>(t[i] + (noise > 0 ? gauss(rng) : 0.0));
            const float c = lowbit::ref::quantize_value(noisy, rp.scale, rp.inv_scale, rp.zero_point, rp.qmin,
                                                        rp.qmax, rp.numerics);
            direct[i] = lowbit::ref::dequantize_value(c, rp.scale, rp.zero_point);
            // Hilbert head: two noisy outputs (x, y), each quantized.
            const lowbit::hilbert_point p = curve.encode(t[i]);
            const auto x = static_cast<float>(p.x + (noise > 0 ? gauss(rng) : 0.0));
            const auto y = static_cast<float>(p.y + (noise > 0 ? gauss(rng) : 0.0));
            codes[2 * i] = static_cast<std::uint8_t>(
                lowbit::ref::quantize_value(x, rp.scale, rp.inv_scale, rp.zero_point, rp.qmin, rp.qmax, rp.numerics));
            codes[2 * i + 1] = static_cast<std::uint8_t>(
                lowbit::ref::quantize_value(y, rp.scale, rp.inv_scale, rp.zero_point, rp.qmin, rp.qmax, rp.numerics));
          }
          head.decode(codes, decoded);  // one table lookup per value
          const stats d = error_of(t, direct), h = error_of(t, decoded);
          // Jumps: decoded more than 1.5 segments away along the curve (onto another branch).
          const double seg = 1.0 / static_cast<double>(curve.vertex_count() - 1);
          std::size_t jumps = 0;
          for (std::size_t i = 0; i < samples; ++i) jumps += std::abs(static_cast<double>(decoded[i]) - t[i]) > 1.5 * seg;
          const auto model = lowbit::predict_hilbert_error(curve, bits, noise);
          std::printf("| %-11s | %d | %6.3f | %4d | %5.1f | %10.3e | %11.3e | %10.3e | %11.3e | %6.2f | %9.2f |"
                      " %7.4f | %7.4f |\n",
                      lowbit::to_string(layout), order, curve.length(), bits, noise, d.rms, h.rms, d.max, h.max,
                      d.rms / h.rms, model.gain, 100.0 * static_cast<double>(jumps) / static_cast<double>(samples),
                      100.0 * model.jump_probability);
        }
      }
    }
  }
  std::printf("\nOrder with the least predicted RMS error (lowbit::best_hilbert_order: orders 1..8 with a predicted\njump rate <= 0.1%%):\n");
  std::printf("| layout      | bits | noise 0 | 0.5 | 1 | 2 | 4 |\n|-------------|------|---------|-----|---|---|---|\n");
  for (const auto layout : {lowbit::hilbert_layout::cell_centre, lowbit::hilbert_layout::full_range}) {
    for (const int bits : widths) {
      std::printf("| %-11s | %4d |", lowbit::to_string(layout), bits);
      for (const double noise : noises) std::printf(" %d |", lowbit::best_hilbert_order(layout, bits, noise));
      std::printf("\n");
    }
  }
  return 0;
}
