// lowbit CLI — the report table: every quantizer and calibrator on one tensor.
// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

namespace lowbit::cli {

/// Prints to stdout, for each width in `bits` and each calibrator, the error of uniform quantization
/// of `x` (a C-order tensor of `shape`): asymmetric (unsigned codes) and symmetric (signed codes,
/// narrow range), per tensor and, when `axis` is given, per channel along it. Columns: MSE, SQNR (dB),
/// max |error|, and the measured time to calibrate and to quantize + dequantize. For widths 2..8 also
/// piecewise-linear quantization (lowbit/pwlq.h) with every breakpoint method and 1..3 breakpoints.
void print_report(std::span<const float> x, std::span<const std::int64_t> shape, std::span<const int> bits,
                  std::optional<int> axis);

}  // namespace lowbit::cli
