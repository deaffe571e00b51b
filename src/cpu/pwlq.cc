// lowbit — runtime dispatch of the PWLQ kernels over every Highway target compiled in.
// SPDX-License-Identifier: Apache-2.0

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "src/cpu/pwlq.cc"
#include "hwy/foreach_target.h"  // IWYU pragma: keep
#include "hwy/highway.h"
#include "src/cpu/pwlq-inl.h"
#include "lowbit/detail/pwlq_kernels.h"

// Non-template entry points per target; "Pwlq" is the data-type token of pwlq_code arrays.
HWY_BEFORE_NAMESPACE();
namespace lowbit::detail::HWY_NAMESPACE {

void QuantizeF32ToPwlq(const float* x, size_t n, const ref::pwlq_run& r, pwlq_code* q) {
  pw::QuantizeRun(x, n, r, q);
}
void DequantizePwlqToF32(const pwlq_code* q, size_t n, const ref::pwlq_run& r, float* y) {
  pw::DequantizeRun(q, n, r, y);
}
void FakeQuantizePwlqF32(const float* x, size_t n, const ref::pwlq_run& r, float* y) {
  pw::FakeQuantizeRun(x, n, r, y);
}
int64_t PwlqTarget() { return HWY_TARGET; }

}  // namespace lowbit::detail::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace lowbit::detail {

HWY_EXPORT(QuantizeF32ToPwlq);
HWY_EXPORT(DequantizePwlqToF32);
HWY_EXPORT(FakeQuantizePwlqF32);
HWY_EXPORT(PwlqTarget);

void pwlq_quantize_run(const float* x, std::size_t n, const ref::pwlq_run& r, pwlq_code* q) noexcept {
  HWY_DYNAMIC_DISPATCH(QuantizeF32ToPwlq)(x, n, r, q);
}
void pwlq_dequantize_run(const pwlq_code* q, std::size_t n, const ref::pwlq_run& r, float* y) noexcept {
  HWY_DYNAMIC_DISPATCH(DequantizePwlqToF32)(q, n, r, y);
}
void pwlq_fake_quantize_run(const float* x, std::size_t n, const ref::pwlq_run& r, float* y) noexcept {
  HWY_DYNAMIC_DISPATCH(FakeQuantizePwlqF32)(x, n, r, y);
}

bool pwlq_kernels_simd() noexcept { return true; }
const char* pwlq_active_target_name() noexcept { return hwy::TargetName(HWY_DYNAMIC_DISPATCH(PwlqTarget)()); }

}  // namespace lowbit::detail
#endif  // HWY_ONCE
