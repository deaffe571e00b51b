// lowbit — per-target 8-bit dot-product kernels (Highway). Included once per target by
// src/cpu/int8_dot.cc through hwy/foreach_target.h. Every kernel equals lowbit::ref::dot_rows
// (lowbit/ref/int8_dot.h) bit for bit.
// SPDX-License-Identifier: Apache-2.0
//
// Method (Highway 1.0.3 has no 8-bit dot-product op): each 8-bit vector half is widened to int16
// (PromoteTo: vpmovsxbw / vpmovzxbw), the zero point is subtracted in int16 (|x - zx|, |w - zw| <= 255
// fit), and ReorderWidenMulAccumulate multiplies int16 pairs and adds each pair into an int32 lane
// (vpmaddwd on x86: |a0 b0 + a1 b1| <= 2 * 65025, exact). The lanes are summed at the end. Every
// int32 addition wraps modulo 2^32 on x86 (vpaddd) exactly as the oracle's uint32 sum, and modular
// addition is associative, so the lane order does not matter: the kernels are bit-exact to the oracle
// for any input, including sums that overflow int32.
//
// On the AVX3 target (and AVX3_DL, in builds whose baseline compiles that one), when the CPU has
// AVX-512 VNNI, the kernels use vpdpbusd instead (see VnniDotRows below; int8_dot_vnni() chooses at run
// time).
//
// Blocking: four weight rows share one widened x vector (one x load per four multiply-adds). The
// last partial vector runs through zero-padded copies: x padded with zx (so x - zx = 0) and w with 0.

// Per-target include guard (Highway convention).
#if defined(LOWBIT_SRC_CPU_INT8_DOT_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef LOWBIT_SRC_CPU_INT8_DOT_INL_H_
#undef LOWBIT_SRC_CPU_INT8_DOT_INL_H_
#else
#define LOWBIT_SRC_CPU_INT8_DOT_INL_H_
#endif

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <type_traits>

#include "hwy/highway.h"

namespace lowbit::detail {
// Whether the AVX3 kernels may use AVX-512 VNNI: the CPU has it and no test turned it off (int8_dot.cc).
bool int8_dot_vnni() noexcept;
}  // namespace lowbit::detail

HWY_BEFORE_NAMESPACE();
namespace lowbit::detail::HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

using D16 = hn::ScalableTag<int16_t>;
using D32 = hn::Repartition<int32_t, D16>;
using V16 = hn::Vec<D16>;
using V32 = hn::Vec<D32>;

constexpr size_t kMaxLanes16 = HWY_MAX_BYTES / sizeof(int16_t);

// (p[0..N) widened to int16) - z.
template <class T>
HWY_INLINE V16 LoadWide(const T* HWY_RESTRICT p, V16 z) {
  const D16 d16;
  const hn::Rebind<T, D16> d8;
  return hn::Sub(hn::PromoteTo(d16, hn::LoadU(d8, p)), z);
}

HWY_INLINE uint32_t Reduce(V32 sum0, V32 sum1) {
  const D32 d32;
  return static_cast<uint32_t>(hn::GetLane(hn::SumOfLanes(d32, hn::RearrangeToOddPlusEven(sum0, sum1))));
}

// Rows r0 .. r0 + R - 1 (R = 1..4): out[r] = base + dot. `xt` is the zero-point-padded tail of x.
template <size_t R, class X>
HWY_INLINE void DotBlock(const X* HWY_RESTRICT x, const X* HWY_RESTRICT xt, V16 zx, const int8_t* HWY_RESTRICT w,
                         size_t w_stride, const int32_t* HWY_RESTRICT zw, size_t n, bool accumulate,
                         int32_t* HWY_RESTRICT out) {
  const D16 d16;
  const D32 d32;
  const size_t N = hn::Lanes(d16);
  V16 z[4];
  V32 s0[4], s1[4];
  for (size_t r = 0; r < R; ++r) {
    z[r] = hn::Set(d16, static_cast<int16_t>(zw[r]));
    s0[r] = hn::Zero(d32);
    s1[r] = hn::Zero(d32);
  }
  size_t k = 0;
  for (; k + N <= n; k += N) {
    const V16 xv = LoadWide(x + k, zx);
    for (size_t r = 0; r < R; ++r) {
      s0[r] = hn::ReorderWidenMulAccumulate(d32, xv, LoadWide(w + r * w_stride + k, z[r]), s0[r], s1[r]);
    }
  }
  if (k < n) {
    const size_t count = n - k;
    const V16 xv = LoadWide(xt, zx);
    for (size_t r = 0; r < R; ++r) {
      HWY_ALIGN int8_t wt[kMaxLanes16] = {};
      std::memcpy(wt, w + r * w_stride + k, count);
      s0[r] = hn::ReorderWidenMulAccumulate(d32, xv, LoadWide(wt, z[r]), s0[r], s1[r]);
    }
  }
  for (size_t r = 0; r < R; ++r) {
    const uint32_t base = accumulate ? static_cast<uint32_t>(out[r]) : 0u;
    out[r] = static_cast<int32_t>(base + Reduce(s0[r], s1[r]));
  }
}

template <class X>
HWY_INLINE void DotRowsImpl(const X* HWY_RESTRICT x, int32_t zx, const int8_t* HWY_RESTRICT w, size_t w_stride,
                            const int32_t* HWY_RESTRICT zw, size_t rows, size_t n, bool accumulate,
                            int32_t* HWY_RESTRICT out) {
  const D16 d16;
  const size_t N = hn::Lanes(d16);
  const size_t full = n / N * N;
  HWY_ALIGN X xt[kMaxLanes16];
  for (size_t i = 0; i < kMaxLanes16; ++i) xt[i] = static_cast<X>(zx);
  if (n > full) std::memcpy(xt, x + full, (n - full) * sizeof(X));
  const V16 zxv = hn::Set(d16, static_cast<int16_t>(zx));
  size_t r = 0;
  for (; r + 4 <= rows; r += 4) {
    DotBlock<4>(x, xt, zxv, w + r * w_stride, w_stride, zw + r, n, accumulate, out + r);
  }
  switch (rows - r) {
    case 3: DotBlock<3>(x, xt, zxv, w + r * w_stride, w_stride, zw + r, n, accumulate, out + r); break;
    case 2: DotBlock<2>(x, xt, zxv, w + r * w_stride, w_stride, zw + r, n, accumulate, out + r); break;
    case 1: DotBlock<1>(x, xt, zxv, w + r * w_stride, w_stride, zw + r, n, accumulate, out + r); break;
    default: break;
  }
}


#if HWY_TARGET == HWY_AVX3 || HWY_TARGET == HWY_AVX3_DL
// AVX-512 VNNI (vpdpbusd: four u8 x s8 products summed into each int32 lane, wrapping, no saturation).
// With x_u = x (uint8 x) or x ^ 0x80 = x + 128 (int8 x) and zx_u = zx or zx + 128:
//   sum (x - zx)(w - zw) = sum (x_u - zx_u)(w - zw) = S1 - zx_u * Sw - zw * Sx + n * zx_u * zw
// with S1 = sum x_u w, Sw = sum w, Sx = sum x_u, all modulo 2^32 (exact modular identities, so the
// result equals the oracle bit for bit). Sw is only needed when zx_u != 0 (not for int8 inputs with
// zx = -128, TFLite's usual input zero point). The tail runs through masked loads (zeros: x_u = 0,
// w = 0 add nothing to S1, Sw, Sx; n is the true length). The AVX3 target does not include VNNI, hence
// the explicit target attribute; these functions run only where int8_dot_vnni() found it.
#define LOWBIT_VNNI_ATTR __attribute__((target("avx512f,avx512bw,avx512vnni")))

template <size_t R, bool kFlip, bool kSw>
LOWBIT_VNNI_ATTR inline void VnniBlock(const uint8_t* HWY_RESTRICT x, const int8_t* HWY_RESTRICT w, size_t w_stride,
                                       const int32_t* HWY_RESTRICT zw, size_t n, uint32_t zxu, uint32_t sx,
                                       bool accumulate, int32_t* HWY_RESTRICT out) {
  const __m512i flip = _mm512_set1_epi8(static_cast<char>(0x80));
  const __m512i ones = _mm512_set1_epi8(1);
  __m512i s[R], sw[R];
  for (size_t r = 0; r < R; ++r) {
    s[r] = _mm512_setzero_si512();
    sw[r] = _mm512_setzero_si512();
  }
  size_t k = 0;
  for (; k + 64 <= n; k += 64) {
    __m512i xv = _mm512_loadu_si512(x + k);
    if constexpr (kFlip) xv = _mm512_xor_si512(xv, flip);
    for (size_t r = 0; r < R; ++r) {
      const __m512i wv = _mm512_loadu_si512(w + r * w_stride + k);
      s[r] = _mm512_dpbusd_epi32(s[r], xv, wv);
      if constexpr (kSw) sw[r] = _mm512_dpbusd_epi32(sw[r], ones, wv);
    }
  }
  if (k < n) {
    const __mmask64 m = _cvtu64_mask64((n - k) == 64 ? ~0ull : ((1ull << (n - k)) - 1));
    __m512i xv = _mm512_maskz_loadu_epi8(m, x + k);
    if constexpr (kFlip) xv = _mm512_maskz_mov_epi8(m, _mm512_xor_si512(xv, flip));
    for (size_t r = 0; r < R; ++r) {
      const __m512i wv = _mm512_maskz_loadu_epi8(m, w + r * w_stride + k);
      s[r] = _mm512_dpbusd_epi32(s[r], xv, wv);
      if constexpr (kSw) sw[r] = _mm512_dpbusd_epi32(sw[r], ones, wv);
    }
  }
  const uint32_t nn = static_cast<uint32_t>(n);
  for (size_t r = 0; r < R; ++r) {
    const uint32_t s1 = static_cast<uint32_t>(_mm512_reduce_add_epi32(s[r]));
    const uint32_t swr = kSw ? static_cast<uint32_t>(_mm512_reduce_add_epi32(sw[r])) : 0u;
    const uint32_t z = static_cast<uint32_t>(zw[r]);
    const uint32_t d = s1 - zxu * swr - z * sx + nn * zxu * z;
    const uint32_t base = accumulate ? static_cast<uint32_t>(out[r]) : 0u;
    out[r] = static_cast<int32_t>(base + d);
  }
}

template <bool kFlip, bool kSw>
LOWBIT_VNNI_ATTR inline void VnniRows(const uint8_t* HWY_RESTRICT x, const int8_t* HWY_RESTRICT w, size_t w_stride,
                                      const int32_t* HWY_RESTRICT zw, size_t rows, size_t n, uint32_t zxu,
                                      uint32_t sx, bool accumulate, int32_t* HWY_RESTRICT out) {
  size_t r = 0;
  for (; r + 8 <= rows; r += 8) {
    VnniBlock<8, kFlip, kSw>(x, w + r * w_stride, w_stride, zw + r, n, zxu, sx, accumulate, out + r);
  }
  const auto rest = [&]<size_t R>() LOWBIT_VNNI_ATTR {
    VnniBlock<R, kFlip, kSw>(x, w + r * w_stride, w_stride, zw + r, n, zxu, sx, accumulate, out + r);
  };
  switch (rows - r) {
    case 7: rest.template operator()<7>(); break;
    case 6: rest.template operator()<6>(); break;
    case 5: rest.template operator()<5>(); break;
    case 4: rest.template operator()<4>(); break;
    case 3: rest.template operator()<3>(); break;
    case 2: rest.template operator()<2>(); break;
    case 1: rest.template operator()<1>(); break;
    default: break;
  }
}

// Sx = sum x_u (modulo 2^32).
template <bool kFlip>
LOWBIT_VNNI_ATTR inline uint32_t VnniSumX(const uint8_t* HWY_RESTRICT x, size_t n) {
  const __m512i flip = _mm512_set1_epi8(static_cast<char>(0x80));
  const __m512i ones = _mm512_set1_epi8(1);
  __m512i s = _mm512_setzero_si512();
  size_t k = 0;
  for (; k + 64 <= n; k += 64) {
    __m512i xv = _mm512_loadu_si512(x + k);
    if constexpr (kFlip) xv = _mm512_xor_si512(xv, flip);
    s = _mm512_dpbusd_epi32(s, xv, ones);
  }
  if (k < n) {
    const __mmask64 m = _cvtu64_mask64((1ull << (n - k)) - 1);
    __m512i xv = _mm512_maskz_loadu_epi8(m, x + k);
    if constexpr (kFlip) xv = _mm512_maskz_mov_epi8(m, _mm512_xor_si512(xv, flip));
    s = _mm512_dpbusd_epi32(s, xv, ones);
  }
  return static_cast<uint32_t>(_mm512_reduce_add_epi32(s));
}

template <class X>
LOWBIT_VNNI_ATTR void VnniDotRows(const X* HWY_RESTRICT x, int32_t zx, const int8_t* HWY_RESTRICT w, size_t w_stride,
                                  const int32_t* HWY_RESTRICT zw, size_t rows, size_t n, bool accumulate,
                                  int32_t* HWY_RESTRICT out) {
  constexpr bool kFlip = std::is_same_v<X, int8_t>;
  const auto* xu = reinterpret_cast<const uint8_t*>(x);
  const uint32_t zxu = static_cast<uint32_t>(zx + (kFlip ? 128 : 0));
  const uint32_t sx = VnniSumX<kFlip>(xu, n);
  if (zxu != 0) {
    VnniRows<kFlip, true>(xu, w, w_stride, zw, rows, n, zxu, sx, accumulate, out);
  } else {
    VnniRows<kFlip, false>(xu, w, w_stride, zw, rows, n, zxu, sx, accumulate, out);
  }
}
#endif  // HWY_TARGET == HWY_AVX3 || HWY_TARGET == HWY_AVX3_DL

void DotRowsS8S8(const int8_t* x, int32_t zx, const int8_t* w, size_t w_stride, const int32_t* zw, size_t rows,
                 size_t n, bool accumulate, int32_t* out) {
#if HWY_TARGET == HWY_AVX3 || HWY_TARGET == HWY_AVX3_DL
  if (int8_dot_vnni()) return VnniDotRows(x, zx, w, w_stride, zw, rows, n, accumulate, out);
#endif
  DotRowsImpl(x, zx, w, w_stride, zw, rows, n, accumulate, out);
}
void DotRowsU8S8(const uint8_t* x, int32_t zx, const int8_t* w, size_t w_stride, const int32_t* zw, size_t rows,
                 size_t n, bool accumulate, int32_t* out) {
#if HWY_TARGET == HWY_AVX3 || HWY_TARGET == HWY_AVX3_DL
  if (int8_dot_vnni()) return VnniDotRows(x, zx, w, w_stride, zw, rows, n, accumulate, out);
#endif
  DotRowsImpl(x, zx, w, w_stride, zw, rows, n, accumulate, out);
}

int64_t DotTarget() { return HWY_TARGET; }

}  // namespace lowbit::detail::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#endif  // per-target include guard
