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
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <vector>

#include "lowbit/hilbert.h"
#include "lowbit/hilbert_eval.h"

int main(int argc, char** argv) {
  const std::size_t samples = argc > 1 ? static_cast<std::size_t>(std::strtoull(argv[1], nullptr, 10)) : 200000;
  if (samples == 0) {
    std::fprintf(stderr, "usage: hilbert_eval [samples per row > 0]\n");
    return 2;
  }
  std::mt19937 rng(1);
  std::uniform_real_distribution<float> uni(0.0f, 1.0f);
  std::vector<float> t(samples);
  for (float& v : t) v = uni(rng);
  const lowbit::hilbert_eval_config config;  // both layouts, orders 1..4, 4/6/8 bits, 0..4 LSB
  std::printf("Hilbert head vs direct quantization: t uniform in [0, 1], %zu samples per row, unsigned codes\n"
              "spanning [0, 1] (scale 1 / (2^bits - 1)), onnx rounding; noise in LSB per channel.\n\n",
              samples);
  std::fputs(lowbit::hilbert_eval_table(lowbit::evaluate_hilbert_head(t, 0.0, 1.0, config)).c_str(), stdout);

  std::printf("\nOrder with the least predicted RMS error (lowbit::best_hilbert_order: orders 1..8 with a predicted\n"
              "jump rate <= 0.1%%):\n");
  std::printf("| layout      | bits | noise 0 | 0.5 | 1 | 2 | 4 |\n|-------------|------|---------|-----|---|---|---|\n");
  for (const auto layout : config.layouts) {
    for (const int bits : config.bits) {
      std::printf("| %-11s | %4d |", lowbit::to_string(layout), bits);
      for (const double noise : config.noise_lsb) std::printf(" %d |", lowbit::best_hilbert_order(layout, bits, noise));
      std::printf("\n");
    }
  }
  return 0;
}
