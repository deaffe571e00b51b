// lowbit CLI — the report table: every quantizer and calibrator on one tensor.
// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <utility>
#include <vector>

namespace lowbit::cli {

/// Prints to stdout, for each width in `bits` and each calibrator, the error of uniform quantization
/// of `x` (a C-order tensor of `shape`): asymmetric (unsigned codes) and symmetric (signed codes,
/// narrow range), per tensor and, when `axis` is given, per channel along it. Columns: MSE, SQNR (dB),
/// max |error|, and the measured time to calibrate and to quantize + dequantize. For widths 2..8 also
/// piecewise-linear quantization (lowbit/pwlq.h) with every breakpoint method and 1..3 breakpoints.
void print_report(std::span<const float> x, std::span<const std::int64_t> shape, std::span<const int> bits,
                  std::optional<int> axis);

/// Prints to stdout, for `t` read as a depth-like network output (NaN / ±Inf = invalid pixels, left
/// out), the error of a Hilbert output head against direct quantization (lowbit/hilbert_eval.h: both
/// layouts, orders 1..4, widths 4/6/8, model noise 0..4 LSB, measured and predicted gain). The value
/// range is [lo, hi] if given, else the finite minimum and maximum of t. Throws lowbit::error
/// (no_finite_data, invalid_range for a constant tensor or lo >= hi).
void print_hilbert_report(std::span<const float> t, std::optional<std::pair<double, double>> range);

}  // namespace lowbit::cli
