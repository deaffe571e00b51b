// lowbit — runtime dispatch of the integer requantization kernels over every Highway target compiled in.
// SPDX-License-Identifier: Apache-2.0

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "src/cpu/integer_requantize.cc"
#include "hwy/foreach_target.h"  // IWYU pragma: keep
#include "hwy/highway.h"
#include "src/cpu/integer_requantize-inl.h"
#include "lowbit/detail/integer_requantize_kernels.h"

// Non-template entry points per target, named S32ToS8 etc. as XNNPACK names data types.
HWY_BEFORE_NAMESPACE();
namespace lowbit::detail::HWY_NAMESPACE {

void RequantizeS32ToS8(const int32_t* acc, size_t n, const requant_kernel_params& p, int8_t* out) {
  rq::RequantizeS32(acc, n, p, out);
}
void RequantizeS32ToU8(const int32_t* acc, size_t n, const requant_kernel_params& p, uint8_t* out) {
  rq::RequantizeS32(acc, n, p, out);
}
void RequantizeS32ToS16(const int32_t* acc, size_t n, const requant_kernel_params& p, int16_t* out) {
  rq::RequantizeS32(acc, n, p, out);
}
int64_t RequantizeTarget() { return HWY_TARGET; }

}  // namespace lowbit::detail::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace lowbit::detail {

HWY_EXPORT(RequantizeS32ToS8);
HWY_EXPORT(RequantizeS32ToU8);
HWY_EXPORT(RequantizeS32ToS16);
HWY_EXPORT(RequantizeTarget);

void requantize_s32(const std::int32_t* acc, std::size_t n, const requant_kernel_params& p, std::int8_t* out) noexcept {
  HWY_DYNAMIC_DISPATCH(RequantizeS32ToS8)(acc, n, p, out);
}
void requantize_s32(const std::int32_t* acc, std::size_t n, const requant_kernel_params& p,
                    std::uint8_t* out) noexcept {
  HWY_DYNAMIC_DISPATCH(RequantizeS32ToU8)(acc, n, p, out);
}
void requantize_s32(const std::int32_t* acc, std::size_t n, const requant_kernel_params& p,
                    std::int16_t* out) noexcept {
  HWY_DYNAMIC_DISPATCH(RequantizeS32ToS16)(acc, n, p, out);
}
const char* requantize_active_target_name() noexcept {
  return hwy::TargetName(HWY_DYNAMIC_DISPATCH(RequantizeTarget)());
}

}  // namespace lowbit::detail
#endif  // HWY_ONCE
