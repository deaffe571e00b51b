// lowbit — runtime dispatch of the uniform kernels over every Highway target compiled in.
// SPDX-License-Identifier: Apache-2.0

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "src/cpu/uniform.cc"
#include "hwy/foreach_target.h"  // IWYU pragma: keep
#include "hwy/highway.h"
#include "src/cpu/uniform-inl.h"
#include "lowbit/detail/uniform_kernels.h"

// Non-template entry points per target, named F32ToS8 etc. as XNNPACK names data types.
HWY_BEFORE_NAMESPACE();
namespace lowbit::detail::HWY_NAMESPACE {

#define LOWBIT_CODE_KERNELS(Tok, Code)                                                              \
  void QuantizeF32To##Tok(const float* x, size_t n, const ref::run_params& p, Code* q) {            \
    QuantizeRun(x, n, p, q);                                                                        \
  }                                                                                                 \
  void QuantizeRowF32To##Tok(const float* x, size_t n, const ref::row_params& p, Code* q) {         \
    QuantizeRow(x, n, p, q);                                                                        \
  }                                                                                                 \
  void Dequantize##Tok##ToF32(const Code* q, size_t n, const ref::run_params& p, float* y) {        \
    DequantizeRun(q, n, p, y);                                                                      \
  }                                                                                                 \
  void DequantizeRow##Tok##ToF32(const Code* q, size_t n, const ref::row_params& p, float* y) {     \
    DequantizeRow(q, n, p, y);                                                                      \
  }
LOWBIT_CODE_KERNELS(S8, int8_t)
LOWBIT_CODE_KERNELS(U8, uint8_t)
LOWBIT_CODE_KERNELS(S16, int16_t)
#undef LOWBIT_CODE_KERNELS

void FakeQuantizeF32(const float* x, size_t n, const ref::run_params& p, float* y) { FakeQuantizeRun(x, n, p, y); }
void FakeQuantizeRowF32(const float* x, size_t n, const ref::row_params& p, float* y) {
  FakeQuantizeRow(x, n, p, y);
}

#define LOWBIT_REQUANTIZE_KERNELS(TokIn, In, TokOut, Out)                                           \
  void Requantize##TokIn##To##TokOut(const In* q, size_t n, const ref::run_params& from,            \
                                     const ref::run_params& to, Out* out) {                         \
    RequantizeRun(q, n, from, to, out);                                                             \
  }                                                                                                 \
  void RequantizeRow##TokIn##To##TokOut(const In* q, size_t n, const ref::row_params& from,         \
                                        const ref::row_params& to, Out* out) {                      \
    RequantizeRow(q, n, from, to, out);                                                             \
  }
LOWBIT_UNIFORM_REQUANTIZE_PAIRS(LOWBIT_REQUANTIZE_KERNELS)
#undef LOWBIT_REQUANTIZE_KERNELS

}  // namespace lowbit::detail::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
#include <vector>

#include "lowbit/detail/uniform_kernels.h"

namespace lowbit::detail {

#define LOWBIT_EXPORT_CODE(Tok, Code)                                                               \
  HWY_EXPORT(QuantizeF32To##Tok);                                                                   \
  HWY_EXPORT(QuantizeRowF32To##Tok);                                                                \
  HWY_EXPORT(Dequantize##Tok##ToF32);                                                               \
  HWY_EXPORT(DequantizeRow##Tok##ToF32);                                                            \
  void quantize_run(const float* x, std::size_t n, const run_params& p, Code* q) noexcept {         \
    HWY_DYNAMIC_DISPATCH(QuantizeF32To##Tok)(x, n, p, q);                                           \
  }                                                                                                 \
  void quantize_row(const float* x, std::size_t n, const row_params& p, Code* q) noexcept {         \
    HWY_DYNAMIC_DISPATCH(QuantizeRowF32To##Tok)(x, n, p, q);                                        \
  }                                                                                                 \
  void dequantize_run(const Code* q, std::size_t n, const run_params& p, float* y) noexcept {       \
    HWY_DYNAMIC_DISPATCH(Dequantize##Tok##ToF32)(q, n, p, y);                                       \
  }                                                                                                 \
  void dequantize_row(const Code* q, std::size_t n, const row_params& p, float* y) noexcept {       \
    HWY_DYNAMIC_DISPATCH(DequantizeRow##Tok##ToF32)(q, n, p, y);                                    \
  }
LOWBIT_EXPORT_CODE(S8, std::int8_t)
LOWBIT_EXPORT_CODE(U8, std::uint8_t)
LOWBIT_EXPORT_CODE(S16, std::int16_t)
#undef LOWBIT_EXPORT_CODE

HWY_EXPORT(FakeQuantizeF32);
HWY_EXPORT(FakeQuantizeRowF32);
void fake_quantize_run(const float* x, std::size_t n, const run_params& p, float* y) noexcept {
  HWY_DYNAMIC_DISPATCH(FakeQuantizeF32)(x, n, p, y);
}
void fake_quantize_row(const float* x, std::size_t n, const row_params& p, float* y) noexcept {
  HWY_DYNAMIC_DISPATCH(FakeQuantizeRowF32)(x, n, p, y);
}

#define LOWBIT_EXPORT_REQUANTIZE(TokIn, In, TokOut, Out)                                            \
  HWY_EXPORT(Requantize##TokIn##To##TokOut);                                                        \
  HWY_EXPORT(RequantizeRow##TokIn##To##TokOut);                                                     \
  void requantize_run(const In* q, std::size_t n, const run_params& from, const run_params& to,     \
                      Out* out) noexcept {                                                          \
    HWY_DYNAMIC_DISPATCH(Requantize##TokIn##To##TokOut)(q, n, from, to, out);                       \
  }                                                                                                 \
  void requantize_row(const In* q, std::size_t n, const row_params& from, const row_params& to,     \
                      Out* out) noexcept {                                                          \
    HWY_DYNAMIC_DISPATCH(RequantizeRow##TokIn##To##TokOut)(q, n, from, to, out);                    \
  }
LOWBIT_UNIFORM_REQUANTIZE_PAIRS(LOWBIT_EXPORT_REQUANTIZE)
#undef LOWBIT_EXPORT_REQUANTIZE

HWY_EXPORT(Target);

std::vector<std::int64_t> available_targets() { return hwy::SupportedAndGeneratedTargets(); }
const char* target_name(std::int64_t target) { return hwy::TargetName(target); }
void force_target(std::int64_t target) { hwy::SetSupportedTargetsForTest(target); }
const char* active_target_name() { return hwy::TargetName(HWY_DYNAMIC_DISPATCH(Target)()); }

}  // namespace lowbit::detail
#endif  // HWY_ONCE
