// lowbit — how much a Hilbert output head gains over quantizing a scalar output directly, measured on
// given values (a depth map, or samples) and set beside the analytic model (lowbit/hilbert.h).
// SPDX-License-Identifier: Apache-2.0
//
// For each (layout, order, bits, noise) of the configuration, every finite value t of the input (NaN
// and ±Inf are skipped: invalid pixels of a depth map) goes through two simulated output heads:
//   direct   w = (t - lo) / (hi - lo) (float64, rounded to float32), plus Gaussian model noise of
//            noise_lsb steps, quantized with hilbert_params(bits) (the same codes over [0, 1]) and
//            dequantized; t' = lo + (hi - lo) w' (float64 -> float32). Values outside [lo, hi] clamp.
//   hilbert  (x, y) = hilbert_curve(order, layout, lo, hi).encode(t), plus independent Gaussian noise
//            of noise_lsb steps on each channel, quantized with the same parameters, decoded by
//            hilbert_quantizer (the table decoder for bits <= 8).
// Errors are t' - clamp(t, lo, hi), in the units of t. The noise generator is std::mt19937 seeded per
// row from `seed` and the row's parameters, so a run is reproducible (with the same standard library).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "lowbit/hilbert.h"

namespace lowbit {

/// What to evaluate. The defaults are the table: both layouts, orders 1..4, 4/6/8-bit
/// unsigned codes, 0 / 0.5 / 1 / 2 / 4 LSB of model noise.
struct hilbert_eval_config {
  std::vector<hilbert_layout> layouts = {hilbert_layout::cell_centre, hilbert_layout::full_range};
  std::vector<int> orders = {1, 2, 3, 4};       ///< 1..8
  std::vector<int> bits = {4, 6, 8};            ///< unsigned code widths, 2..8 (the table decoder)
  std::vector<double> noise_lsb = {0.0, 0.5, 1.0, 2.0, 4.0};  ///< >= 0, finite
  profile numerics = profile::onnx;
  std::uint32_t seed = 1;
};

/// One row of the evaluation (errors in the units of t).
struct hilbert_eval_row {
  hilbert_layout layout;
  int order;
  double length;          ///< L of the curve (unit square)
  int bits;
  double noise_lsb;
  double rms_direct, rms_hilbert;
  double max_direct, max_hilbert;
  double gain;            ///< rms_direct / rms_hilbert (infinity if rms_hilbert is 0)
  double predicted_gain;  ///< predict_hilbert_error(curve, bits, noise_lsb).gain
  double jump_rate;       ///< share of values decoded more than 1.5 segments away along the curve
  double predicted_jump_rate;
};

/// The result: the rows, in the order layouts x bits x orders x noise, and how many values were used.
struct hilbert_eval_result {
  std::vector<hilbert_eval_row> rows;
  std::size_t values = 0;   ///< finite values evaluated
  std::size_t skipped = 0;  ///< NaN / ±Inf values left out
  std::size_t clamped = 0;  ///< finite values outside [lo, hi], evaluated as the nearer end (counted in `values`)
  double lo = 0.0, hi = 1.0;
};

/// Evaluates both heads on the finite values of `t` with the curve's range [lo, hi].
/// Throws errc::invalid_range unless lo < hi (both finite); errc::no_finite_data if `t` has no finite
/// value; errc::invalid_argument for an empty list, an order outside 1..8, a noise that is negative or
/// not finite; errc::unsupported_width for bits outside 2..8.
hilbert_eval_result evaluate_hilbert_head(std::span<const float> t, double lo, double hi,
                                          const hilbert_eval_config& config = {});

/// The rows as a Markdown table (one line per row, columns as hilbert_eval_row), ending in a newline.
std::string hilbert_eval_table(const hilbert_eval_result& result);

}  // namespace lowbit
