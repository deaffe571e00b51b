// lowbit — runtime dispatch of the 8-bit dot-product kernels over every Highway target compiled in.
// SPDX-License-Identifier: Apache-2.0

// Also compile the AVX-512 VNNI target (Highway 1.0.3 leaves it out unless asked).
#ifndef HWY_WANT_AVX3_DL
#define HWY_WANT_AVX3_DL
#endif

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "src/cpu/int8_dot.cc"
#include "hwy/foreach_target.h"  // IWYU pragma: keep
#include "hwy/highway.h"
#include "src/cpu/int8_dot-inl.h"

#if HWY_ONCE
#include <vector>

#include "lowbit/detail/int8_dot_kernels.h"

namespace lowbit::detail {

HWY_EXPORT(DotRowsS8S8);
HWY_EXPORT(DotRowsU8S8);
HWY_EXPORT(DotTarget);

void dot_rows(const std::int8_t* x, std::int32_t zx, const std::int8_t* w, std::size_t w_stride,
              const std::int32_t* zw, std::size_t rows, std::size_t n, bool accumulate,
              std::int32_t* out) noexcept {
  HWY_DYNAMIC_DISPATCH(DotRowsS8S8)(x, zx, w, w_stride, zw, rows, n, accumulate, out);
}
void dot_rows(const std::uint8_t* x, std::int32_t zx, const std::int8_t* w, std::size_t w_stride,
              const std::int32_t* zw, std::size_t rows, std::size_t n, bool accumulate,
              std::int32_t* out) noexcept {
  HWY_DYNAMIC_DISPATCH(DotRowsU8S8)(x, zx, w, w_stride, zw, rows, n, accumulate, out);
}

std::vector<std::int64_t> int8_dot_targets() { return hwy::SupportedAndGeneratedTargets(); }
const char* int8_dot_target_name(std::int64_t target) { return hwy::TargetName(target); }
void int8_dot_force_target(std::int64_t target) { hwy::SetSupportedTargetsForTest(target); }
const char* int8_dot_active_target() { return hwy::TargetName(HWY_DYNAMIC_DISPATCH(DotTarget)()); }

}  // namespace lowbit::detail
#endif  // HWY_ONCE
