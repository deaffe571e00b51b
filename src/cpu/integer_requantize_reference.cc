// lowbit — the integer requantization kernels when built with LOWBIT_SIMD=OFF: the scalar reference.
// SPDX-License-Identifier: Apache-2.0
#include "lowbit/detail/integer_requantize_kernels.h"

namespace lowbit::detail {

void requantize_s32(const std::int32_t* acc, std::size_t n, const requant_kernel_params& p, std::int8_t* out) noexcept {
  requantize_s32_reference(acc, n, p, out);
}
void requantize_s32(const std::int32_t* acc, std::size_t n, const requant_kernel_params& p,
                    std::uint8_t* out) noexcept {
  requantize_s32_reference(acc, n, p, out);
}
void requantize_s32(const std::int32_t* acc, std::size_t n, const requant_kernel_params& p,
                    std::int16_t* out) noexcept {
  requantize_s32_reference(acc, n, p, out);
}

const char* requantize_active_target_name() noexcept { return "reference"; }

}  // namespace lowbit::detail
