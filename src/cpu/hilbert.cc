// lowbit — runtime dispatch of the Hilbert-curve decoding kernels over every Highway target compiled in.
// SPDX-License-Identifier: Apache-2.0

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "src/cpu/hilbert.cc"
#include "hwy/foreach_target.h"  // IWYU pragma: keep
#include "hwy/highway.h"
#include "src/cpu/hilbert-inl.h"
#include "src/cpu/hilbert3-inl.h"
#include "lowbit/detail/hilbert_kernels.h"

HWY_BEFORE_NAMESPACE();
namespace lowbit::detail::HWY_NAMESPACE {

void HilbertDecodePlanarF32(const hilbert_kernel_args& a, const float* x, const float* y, size_t n, float* t,
                            float* dist) {
  hb::DecodePlanar(a, x, y, n, t, dist);
}
void HilbertDecodeInterleavedF32(const hilbert_kernel_args& a, const float* xy, size_t n, float* t, float* dist) {
  hb::DecodeInterleaved(a, xy, n, t, dist);
}
void HilbertDecodeComputedU8(const hilbert_kernel_args& a, const hilbert_dequant& qx, const hilbert_dequant& qy,
                             const uint8_t* x, const uint8_t* y, size_t n, float* t, float* dist, bool registers) {
  hb::DecodeCodesComputed(a, qx, qy, x, y, n, t, dist, registers);
}
void HilbertLookupS8(const hilbert_lookup_args& a, const int8_t* x, const int8_t* y, size_t step, size_t n, float* t,
                     float* dist) {
  hb::Lookup(a, x, y, step, n, t, dist);
}
void HilbertLookupU8(const hilbert_lookup_args& a, const uint8_t* x, const uint8_t* y, size_t step, size_t n,
                     float* t, float* dist) {
  hb::Lookup(a, x, y, step, n, t, dist);
}
void HilbertLookupS16(const hilbert_lookup_args& a, const int16_t* x, const int16_t* y, size_t step, size_t n,
                      float* t, float* dist) {
  hb::Lookup(a, x, y, step, n, t, dist);
}
void HilbertLookupU16(const hilbert_lookup_args& a, const uint16_t* x, const uint16_t* y, size_t step, size_t n,
                      float* t, float* dist) {
  hb::Lookup(a, x, y, step, n, t, dist);
}
void Hilbert3DecodePlanarF32(const hilbert3_kernel_args& a, const float* x, const float* y, const float* z, size_t n,
                             float* t, float* dist) {
  hb3::DecodePlanar(a, x, y, z, n, t, dist);
}
void Hilbert3DecodeInterleavedF32(const hilbert3_kernel_args& a, const float* xyz, size_t n, float* t, float* dist) {
  hb3::DecodeInterleaved(a, xyz, n, t, dist);
}
int64_t HilbertTarget() { return HWY_TARGET; }

}  // namespace lowbit::detail::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace lowbit::detail {

HWY_EXPORT(HilbertDecodePlanarF32);
HWY_EXPORT(HilbertDecodeInterleavedF32);
HWY_EXPORT(HilbertDecodeComputedU8);
HWY_EXPORT(HilbertLookupS8);
HWY_EXPORT(HilbertLookupU8);
HWY_EXPORT(HilbertLookupS16);
HWY_EXPORT(HilbertLookupU16);
HWY_EXPORT(Hilbert3DecodePlanarF32);
HWY_EXPORT(Hilbert3DecodeInterleavedF32);
HWY_EXPORT(HilbertTarget);

void hilbert_decode_planar_f32(const hilbert_kernel_args& a, const float* x, const float* y, std::size_t n, float* t,
                               float* distance) noexcept {
  HWY_DYNAMIC_DISPATCH(HilbertDecodePlanarF32)(a, x, y, n, t, distance);
}
void hilbert_decode_interleaved_f32(const hilbert_kernel_args& a, const float* xy, std::size_t n, float* t,
                                    float* distance) noexcept {
  HWY_DYNAMIC_DISPATCH(HilbertDecodeInterleavedF32)(a, xy, n, t, distance);
}
void hilbert_decode_codes_computed_u8(const hilbert_kernel_args& a, const hilbert_dequant& qx,
                                      const hilbert_dequant& qy, const std::uint8_t* x, const std::uint8_t* y,
                                      std::size_t n, float* t, float* distance, bool registers) noexcept {
  HWY_DYNAMIC_DISPATCH(HilbertDecodeComputedU8)(a, qx, qy, x, y, n, t, distance, registers);
}
void hilbert_lookup(const hilbert_lookup_args& a, const std::int8_t* x, const std::int8_t* y, std::size_t step,
                    std::size_t n, float* t, float* distance) noexcept {
  HWY_DYNAMIC_DISPATCH(HilbertLookupS8)(a, x, y, step, n, t, distance);
}
void hilbert_lookup(const hilbert_lookup_args& a, const std::uint8_t* x, const std::uint8_t* y, std::size_t step,
                    std::size_t n, float* t, float* distance) noexcept {
  HWY_DYNAMIC_DISPATCH(HilbertLookupU8)(a, x, y, step, n, t, distance);
}
void hilbert_lookup(const hilbert_lookup_args& a, const std::int16_t* x, const std::int16_t* y, std::size_t step,
                    std::size_t n, float* t, float* distance) noexcept {
  HWY_DYNAMIC_DISPATCH(HilbertLookupS16)(a, x, y, step, n, t, distance);
}
void hilbert_lookup(const hilbert_lookup_args& a, const std::uint16_t* x, const std::uint16_t* y, std::size_t step,
                    std::size_t n, float* t, float* distance) noexcept {
  HWY_DYNAMIC_DISPATCH(HilbertLookupU16)(a, x, y, step, n, t, distance);
}

void hilbert3_decode_planar_f32(const hilbert3_kernel_args& a, const float* x, const float* y, const float* z,
                                std::size_t n, float* t, float* distance) noexcept {
  HWY_DYNAMIC_DISPATCH(Hilbert3DecodePlanarF32)(a, x, y, z, n, t, distance);
}
void hilbert3_decode_interleaved_f32(const hilbert3_kernel_args& a, const float* xyz, std::size_t n, float* t,
                                     float* distance) noexcept {
  HWY_DYNAMIC_DISPATCH(Hilbert3DecodeInterleavedF32)(a, xyz, n, t, distance);
}

bool hilbert_kernels_simd() noexcept { return true; }
const char* hilbert_active_target_name() noexcept {
  return hwy::TargetName(HWY_DYNAMIC_DISPATCH(HilbertTarget)());
}

}  // namespace lowbit::detail
#endif  // HWY_ONCE
