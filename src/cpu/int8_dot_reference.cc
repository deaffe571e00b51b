// lowbit — the 8-bit dot-product kernels when built with LOWBIT_SIMD=OFF: the scalar reference itself.
// SPDX-License-Identifier: Apache-2.0
#include "lowbit/detail/int8_dot_kernels.h"

namespace lowbit::detail {

void dot_rows(const std::int8_t* x, std::int32_t zx, const std::int8_t* w, std::size_t w_stride,
              const std::int32_t* zw, std::size_t rows, std::size_t n, bool accumulate,
              std::int32_t* out) noexcept {
  ref::dot_rows(x, zx, w, w_stride, zw, rows, n, accumulate, out);
}
void dot_rows(const std::uint8_t* x, std::int32_t zx, const std::int8_t* w, std::size_t w_stride,
              const std::int32_t* zw, std::size_t rows, std::size_t n, bool accumulate,
              std::int32_t* out) noexcept {
  ref::dot_rows(x, zx, w, w_stride, zw, rows, n, accumulate, out);
}

std::vector<std::int64_t> int8_dot_targets() { return {0}; }
const char* int8_dot_target_name(std::int64_t) { return "reference"; }
void int8_dot_force_target(std::int64_t) {}
const char* int8_dot_active_target() { return "reference"; }

}  // namespace lowbit::detail
