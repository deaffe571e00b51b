// lowbit — the compiled 8-bit dot-product kernels of the integer dense / conv layers (SIMD with
// runtime dispatch, or the reference when LOWBIT_SIMD=OFF). Internal: users call
// lowbit/integer_layers.h. Parameters must already be valid; the kernels never throw or allocate.
// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "lowbit/ref/int8_dot.h"

namespace lowbit::detail {

/// For r in [0, rows):
///   out[r] = (accumulate ? out[r] : 0) + sum_k<n (x[k] - zx) * (w[r * w_stride + k] - zw[r])
/// modulo 2^32, bit for bit ref::dot_rows (see lowbit/ref/int8_dot.h for why that is exact whenever
/// the true value fits in int32). zx in the code range of x's type, zw[r] in [-128, 127].
void dot_rows(const std::int8_t* x, std::int32_t zx, const std::int8_t* w, std::size_t w_stride,
              const std::int32_t* zw, std::size_t rows, std::size_t n, bool accumulate,
              std::int32_t* out) noexcept;
void dot_rows(const std::uint8_t* x, std::int32_t zx, const std::int8_t* w, std::size_t w_stride,
              const std::int32_t* zw, std::size_t rows, std::size_t n, bool accumulate,
              std::int32_t* out) noexcept;

/// The kernel variants this CPU runs, best first: the Highway targets compiled and supported (ids;
/// one id 0 named "reference" with LOWBIT_SIMD=OFF), preceded on a CPU with AVX-512 VNNI by the
/// AVX3 target's VNNI kernels, named by Highway's id for that ISA level (HWY_AVX3_DL, "AVX3_DL")
/// though Highway's AVX3_DL target itself is not compiled.
std::vector<std::int64_t> int8_dot_targets();
/// Name of a target id ("AVX3_DL", "AVX3", "AVX2", "SSE4", "EMU128", "reference", ...).
const char* int8_dot_target_name(std::int64_t target);
/// Restricts dispatch to `target` (an id from int8_dot_targets()); 0 restores the default.
/// For tests and benchmarks; not thread-safe (it sets Highway's process-wide target mask).
void int8_dot_force_target(std::int64_t target);
/// Name of the target the dot kernels dispatch to now.
const char* int8_dot_active_target();

}  // namespace lowbit::detail
