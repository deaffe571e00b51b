// lowbit — runtime dispatch of the 8-bit dot-product kernels over every Highway target compiled in.
// SPDX-License-Identifier: Apache-2.0

// Highway's target set stays its default here as in every other file: HWY_WANT_AVX3_DL in one file
// only gave that file another inline hwy::ChosenTarget::GetIndex() than the others (an ODR violation:
// dispatch could jump through an empty table slot). AVX-512 VNNI is instead a runtime choice inside
// the AVX3 target (int8_dot_vnni() below).

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "src/cpu/int8_dot.cc"
#include "hwy/foreach_target.h"  // IWYU pragma: keep
#include "hwy/highway.h"
#include "src/cpu/int8_dot-inl.h"

#if HWY_ONCE
#include <algorithm>
#include <atomic>
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

namespace {
// Whether the CPU runs the VNNI kernels (AVX-512 F, BW and VNNI); asked once, on first use.
bool cpu_has_vnni() noexcept {
#if HWY_ARCH_X86
  static const bool has = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                          __builtin_cpu_supports("avx512vnni");
  return has;
#else
  return false;
#endif
}
std::atomic<bool> g_vnni_allowed{true};  // cleared by int8_dot_force_target for the plain variants

bool generated(std::int64_t target) {
  const std::vector<std::int64_t> targets = hwy::SupportedAndGeneratedTargets();
  return std::find(targets.begin(), targets.end(), target) != targets.end();
}
}  // namespace

bool int8_dot_vnni() noexcept { return cpu_has_vnni() && g_vnni_allowed.load(std::memory_order_relaxed); }

// The kernel variants: Highway's targets, and, on a VNNI CPU whose build compiled AVX3 but not AVX3_DL,
// AVX3 with VNNI named as Highway names that ISA level (HWY_AVX3_DL), listed first.
std::vector<std::int64_t> int8_dot_targets() {
  std::vector<std::int64_t> targets = hwy::SupportedAndGeneratedTargets();
  if (cpu_has_vnni() && generated(HWY_AVX3) && !generated(HWY_AVX3_DL)) targets.insert(targets.begin(), HWY_AVX3_DL);
  return targets;
}
const char* int8_dot_target_name(std::int64_t target) { return hwy::TargetName(target); }
void int8_dot_force_target(std::int64_t target) {
  g_vnni_allowed.store(target == 0 || target == HWY_AVX3_DL, std::memory_order_relaxed);
  const bool emulated = target == HWY_AVX3_DL && !generated(HWY_AVX3_DL);  // the AVX3 kernels with VNNI
  hwy::SetSupportedTargetsForTest(emulated ? HWY_AVX3 : target);
}
const char* int8_dot_active_target() {
  const std::int64_t target = HWY_DYNAMIC_DISPATCH(DotTarget)();
  return hwy::TargetName(target == HWY_AVX3 && int8_dot_vnni() ? HWY_AVX3_DL : target);
}

}  // namespace lowbit::detail
#endif  // HWY_ONCE
