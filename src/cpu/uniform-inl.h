// lowbit — per-target uniform quantization kernels (Highway). Included once per target by
// src/cpu/uniform.cc through hwy/foreach_target.h. Every kernel equals lowbit/ref/uniform.h bit for bit.
// SPDX-License-Identifier: Apache-2.0

// Per-target include guard (Highway convention).
#if defined(LOWBIT_SRC_CPU_UNIFORM_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef LOWBIT_SRC_CPU_UNIFORM_INL_H_
#undef LOWBIT_SRC_CPU_UNIFORM_INL_H_
#else
#define LOWBIT_SRC_CPU_UNIFORM_INL_H_
#endif

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <type_traits>

#include "hwy/cache_control.h"
#include "hwy/highway.h"
#include "lowbit/ref/uniform.h"

HWY_BEFORE_NAMESPACE();
namespace lowbit::detail::HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

using DF = hn::ScalableTag<float>;
using VF = hn::Vec<DF>;

using DI = hn::Rebind<int32_t, DF>;
using VI = hn::Vec<DI>;

// How v = x / scale is formed. kDiv is exact IEEE float32 division (vdivps) on every target, except
// in the AVX-512 one-byte path below, which forms the same codes from a corrected reciprocal product
// (see PackedBytes). (A reciprocal multiply with a near-tie check that divides only the rare ambiguous
// vectors was tried and measured slower than plain division on AVX-512: 7.4 vs 8.4 Gelem/s in cache.)
enum class Scaling {
  kMul,  // x * inv_scale  (pytorch)
  kDiv,  // x / scale      (onnx, tflite)
};
enum class Rounding { kEven, kAway };

// Converts a float holding a value in int32 range to int32, rounding to nearest even (the default
// MXCSR mode, which lowbit assumes as it does for every float operation). Callers clamp first, so
// Highway's overflow fix-ups (4 instructions on x86) are not needed.
HWY_INLINE VI NearestI32(DF d, VF v) {
#if HWY_TARGET == HWY_AVX3 || HWY_TARGET == HWY_AVX3_DL
  (void)d;
  return VI{_mm512_cvtps_epi32(v.raw)};
#elif HWY_TARGET == HWY_AVX2
  (void)d;
  return VI{_mm256_cvtps_epi32(v.raw)};
#elif HWY_TARGET == HWY_SSE4 || HWY_TARGET == HWY_SSSE3
  (void)d;
  return VI{_mm_cvtps_epi32(v.raw)};
#else
  (void)d;
  return hn::ConvertTo(DI(), hn::Round(v));  // Round is exact and half-to-even on every target
#endif
}

// clamp(v, lo, hi) with NaN -> 0 (lo <= 0 <= hi are integers, so rounding commutes with the clamp).
HWY_INLINE VF ClampZeroNaN(VF v, VF lo, VF hi) {
  return hn::Min(hn::IfThenElseZero(hn::Eq(v, v), hn::Max(v, lo)), hi);  // v == v: not NaN
}

// v + copysign(0.5 - 2^-25, v): truncated, this is v rounded half away from zero, for every finite
// float v (checked over all 2^32 bit patterns). NaN stays NaN.
HWY_INLINE VF AwayFromZeroBiased(DF d, VF v) { return hn::Add(v, hn::CopySign(hn::Set(d, 0.49999997f), v)); }

// On AVX-512, where StoreCodes narrows by truncation, code outputs need not zero NaN lanes: the clamp
// below lets NaN through (x86 max/min return their second operand when either is NaN), cvtps2dq
// turns it into INT_MIN, INT_MIN + zp holds zp in its low 16 bits, and vpmovdb / vpmovdw store
// exactly zp. That saves a compare and a blend per vector.

// The rounded, clamped quotient r = round(clamp(v, qmin - zp, qmax - zp)) as int32, so that
// code = r + zp (ref::quantize_value: clamping before or after rounding is the same, the bounds being
// integers). NaN -> 0, or, for code outputs on AVX-512, NaN -> INT_MIN (see above).
template <Scaling S, Rounding R, bool kForCodes>
HWY_INLINE VI RoundedClamped(DF d, VF x, VF scale, VF inv, VF lo, VF hi) {
  const VF q = S == Scaling::kMul ? hn::Mul(x, inv) : hn::Div(x, scale);
  VF v;
#if HWY_TARGET == HWY_AVX3 || HWY_TARGET == HWY_AVX3_DL
  if constexpr (kForCodes) {
    v = VF{_mm512_min_ps(hi.raw, _mm512_max_ps(lo.raw, q.raw))};  // NaN stays NaN
  } else {
    v = ClampZeroNaN(q, lo, hi);
  }
#else
  v = ClampZeroNaN(q, lo, hi);
#endif
  if constexpr (R == Rounding::kAway) v = hn::Trunc(AwayFromZeroBiased(d, v));
  return NearestI32(d, v);
}

// Narrows int32 lanes already inside the code range. kStream: a non-temporal store to an address
// aligned to the stored vector (AVX-512 only; other targets store normally).
template <bool kStream = false, class Code>
HWY_INLINE void StoreCodes(DF d, VI code, Code* HWY_RESTRICT out) {
  (void)d;
#if HWY_TARGET == HWY_AVX3 || HWY_TARGET == HWY_AVX3_DL
  if constexpr (sizeof(Code) == 1) {
    const __m128i v = _mm512_cvtepi32_epi8(code.raw);  // vpmovdb
    if constexpr (kStream) _mm_stream_si128(reinterpret_cast<__m128i*>(out), v);
    else _mm_storeu_si128(reinterpret_cast<__m128i*>(out), v);
  } else {
    const __m256i v = _mm512_cvtepi32_epi16(code.raw);  // vpmovdw
    if constexpr (kStream) _mm256_stream_si256(reinterpret_cast<__m256i*>(out), v);
    else _mm256_storeu_si256(reinterpret_cast<__m256i*>(out), v);
  }
#else
  const hn::Rebind<Code, DF> dc;
  hn::StoreU(hn::DemoteTo(dc, code), dc, out);
#endif
}

template <class Code>
HWY_INLINE VF LoadCodes(DF d, const Code* HWY_RESTRICT in) {
  const hn::Rebind<Code, DF> dc;
  return hn::ConvertTo(d, hn::PromoteTo(DI(), hn::LoadU(dc, in)));
}

// Lambdas are not inlined into the loop by default; the per-vector call would cost more than the body.
#ifndef LOWBIT_LAMBDA_INLINE
#define LOWBIT_LAMBDA_INLINE __attribute__((always_inline))
#endif

constexpr size_t kMaxLanes = HWY_MAX_BYTES / sizeof(float);

// A block of kMaxLanes elements holding `count` elements of `src`, the rest `fill` (for tails).
template <class T>
struct TailBlock {
  HWY_ALIGN T v[kMaxLanes];
  TailBlock(const T* src, size_t count, T fill) {
    for (size_t k = 0; k < kMaxLanes; ++k) v[k] = fill;
    if (count) std::memcpy(v, src, count * sizeof(T));
  }
};

// The parameters of the lanes of one vector: lo / hi are the clamp bounds qmin - zp, qmax - zp.
struct LaneParams {
  VF scale, inv, zp, lo, hi;
  VI zpi;
};

// Per-tensor parameters: the same for every vector.
class RunSource {
 public:
  explicit RunSource(const ref::run_params& p) {
    const DF d;
    l_.scale = hn::Set(d, p.scale);
    l_.inv = hn::Set(d, p.inv_scale);
    l_.zp = hn::Set(d, p.zero_point);
    l_.lo = hn::Set(d, p.qmin - p.zero_point);
    l_.hi = hn::Set(d, p.qmax - p.zero_point);
    l_.zpi = hn::Set(DI(), static_cast<int32_t>(p.zero_point));
  }
  HWY_INLINE const LaneParams& At(size_t, size_t, bool) const { return l_; }

 private:
  LaneParams l_;
};

// Per-element parameters: loaded with the data.
class RowSource {
 public:
  explicit RowSource(const ref::row_params& p) : p_(p) {}
  HWY_INLINE LaneParams At(size_t i, size_t count, bool tail) const {
    const DF d;
    LaneParams l;
    if (!tail) {
      l.scale = hn::LoadU(d, p_.scale + i);
      l.inv = hn::LoadU(d, p_.inv_scale + i);
      l.zp = hn::LoadU(d, p_.zero_point + i);
    } else {
      const TailBlock<float> s(p_.scale + i, count, 1.0f), v(p_.inv_scale + i, count, 1.0f),
          z(p_.zero_point + i, count, 0.0f);
      l.scale = hn::Load(d, s.v);
      l.inv = hn::Load(d, v.v);
      l.zp = hn::Load(d, z.v);
    }
    l.lo = hn::Sub(hn::Set(d, p_.qmin), l.zp);
    l.hi = hn::Sub(hn::Set(d, p_.qmax), l.zp);
    l.zpi = NearestI32(d, l.zp);
    return l;
  }

 private:
  const ref::row_params& p_;
};

template <Scaling S, Rounding R, bool kForCodes>
HWY_INLINE VI Rounded(DF d, VF x, const LaneParams& l) {
  return RoundedClamped<S, R, kForCodes>(d, x, l.scale, l.inv, l.lo, l.hi);
}

// Calls f.template operator()<Scaling, Rounding>() for the profile.
template <class F>
HWY_INLINE void WithNumerics(profile numerics, F&& f) {
  switch (numerics) {
    case profile::pytorch: return f.template operator()<Scaling::kMul, Rounding::kEven>();
    case profile::tflite: return f.template operator()<Scaling::kDiv, Rounding::kAway>();
    case profile::onnx: break;
  }
  f.template operator()<Scaling::kDiv, Rounding::kEven>();
}

// Applies `op(in, out, lane_params...)`, which maps one vector of `in` to one vector of `out`, over
// [0, n): a partial first vector up to the first vector-aligned output address, whole vectors up to the
// first output address aligned to `kWideBytes`, then `wide(i)` on four whole vectors at a time, whole
// vectors again, and the last partial vector; partial vectors go through zero-padded stack copies, so
// they run the same SIMD code as the body. Each source gives the lane parameters of the vector at i.
template <size_t kWideBytes, class In, class Out, class Op, class Wide, class... Src>
HWY_INLINE void MapWide(const In* HWY_RESTRICT in, size_t n, Out* HWY_RESTRICT out, Op op, Wide wide, Src... src) {
  const size_t N = hn::Lanes(DF());
  // count < N elements from i through zero-padded stack copies: the same SIMD code as whole vectors.
  const auto partial = [&](size_t i, size_t count) HWY_ATTR {
    const TailBlock<In> block_in(in + i, count, In{0});
    HWY_ALIGN Out block_out[kMaxLanes];
    op(block_in.v, block_out, src.At(i, count, true)...);
    std::memcpy(out + i, block_out, count * sizeof(Out));
  };
  size_t i = 0;
  // A partial first vector up to the first output address aligned to a whole stored vector, so that
  // no store of the loops below splits a cache line.
  const size_t out_bytes = N * sizeof(Out);
  const size_t misalign = reinterpret_cast<uintptr_t>(out) % out_bytes;
  if (misalign != 0 && misalign % sizeof(Out) == 0) {
    i = std::min((out_bytes - misalign) / sizeof(Out), n);
    partial(0, i);
  }
  if (kWideBytes > out_bytes && misalign % sizeof(Out) == 0) {
    for (; i + N <= n && reinterpret_cast<uintptr_t>(out + i) % kWideBytes != 0; i += N) {
      op(in + i, out + i, src.At(i, N, false)...);
    }
  }
  for (; i + 4 * N <= n; i += 4 * N) wide(i);
  for (; i + N <= n; i += N) op(in + i, out + i, src.At(i, N, false)...);
  if (i < n) partial(i, n - i);
}

// MapWide whose four-vector step is four calls of `op`.
template <class In, class Out, class Op, class... Src>
HWY_INLINE void Map(const In* HWY_RESTRICT in, size_t n, Out* HWY_RESTRICT out, Op op, Src... src) {
  const size_t N = hn::Lanes(DF());
  MapWide<0>(in, n, out, op, [&](size_t i) HWY_ATTR LOWBIT_LAMBDA_INLINE {
    op(in + i, out + i, src.At(i, N, false)...);
    op(in + i + N, out + i + N, src.At(i + N, N, false)...);
    op(in + i + 2 * N, out + i + 2 * N, src.At(i + 2 * N, N, false)...);
    op(in + i + 3 * N, out + i + 3 * N, src.At(i + 3 * N, N, false)...);
  }, src...);
}

#if HWY_TARGET == HWY_AVX3 || HWY_TARGET == HWY_AVX3_DL
// Whether PackedBytes forms x / scale (onnx, tflite) by the corrected reciprocal product (see there).
inline bool CorrectedQuotientScale(float scale) { return scale >= 0x1p-60f && scale <= 0x1p60f; }

// One-byte codes of a per-tensor run on AVX-512 (quantize, and requantize to bytes): four vectors are
// rounded to int32, packed with signed saturation to int16 (where the zero point is added) and to
// bytes, and stored as one 64-byte vector. Only the upper bound is clamped in float: below it, packing
// saturates and a byte max applies qmin (cvtps2dq and cvttps2dq turn values below the int32 range
// into INT_MIN, which saturates the same way). NaN lanes are zeroed by the conversion's mask, so they
// become zp; the masks are formed only for groups of four vectors that hold a NaN quotient. The codes
// equal the per-vector path's: rounding before or after a clamp to integer bounds is the same, and
// every partial sum stays in int16 (|r| <= 255 above qmin - zp, |zp| <= 255).
//
// For the division profiles (onnx, tflite: x / scale) the quotient is not divided but corrected
// (Markstein's step): with r = 1/scale rounded, q0 = x * r, e = fma(-q0, scale, x), q = fma(e, r, q0).
// This q differs from the IEEE quotient x / scale only where x / scale lies within 2^-22 ulp of a
// midpoint between two floats, as q0 is within 1.5 ulps of x / scale and the step cuts that error to
// about |x / scale| * 2^-46 before its one rounding (the residual e need not be exact; its rounding
// only scales that small term). Rounding q to an integer (either tie rule) then differs only if that
// midpoint is adjacent to a half-integer m, so only the two floats x nearest to (midpoint * scale) can
// be affected; the step scales exactly with powers of two of the scale.
// tests/corrected_quotient_test.cc checks those floats for every scale mantissa (all 2^23 in its full
// run, which found no difference) and every |m| <= 255.5, the half-integers that separate two codes of
// a one-byte format. The corrected form is used for scales in [2^-60, 2^60], where every quantity
// above stays a normal float for inputs near a code boundary (anything that underflows belongs to a
// quotient far below 0.5, which rounds to 0 either way). NaN and ±Inf inputs, and products x * r that
// overflow, make q NaN: those lanes are divided. A quotient that overflows only in the correction
// gives ±Inf, which saturates as the divided one does.
template <Scaling S, Rounding R, bool kStream, class Code>
class PackedBytes {
 public:
  explicit PackedBytes(const LaneParams& l)
      : l_(l),
        corrected_(S == Scaling::kDiv && CorrectedQuotientScale(hn::GetLane(l.scale))),
        zp16_(_mm512_packs_epi32(l.zpi.raw, l.zpi.raw)),
        qmin8_(_mm512_set1_epi8(static_cast<char>(static_cast<int32_t>(hn::GetLane(hn::Add(l.lo, l.zp)))))) {}

  // Quantizes the four float vectors load(0..3) and stores their 64 codes at out.
  template <class Load>
  HWY_INLINE void operator()(const Load& load, Code* HWY_RESTRICT out) const {
    __m512 q[4];
    for (int k = 0; k < 4; ++k) {
      const VF x = load(k);
      if (S == Scaling::kMul) {
        q[k] = hn::Mul(x, l_.inv).raw;
      } else if (corrected_) {
        const __m512 q0 = _mm512_mul_ps(x.raw, l_.inv.raw);
        q[k] = _mm512_fmadd_ps(_mm512_fnmadd_ps(q0, l_.scale.raw, x.raw), l_.inv.raw, q0);
      } else {
        q[k] = hn::Div(x, l_.scale).raw;
      }
    }
    // Two compares find whether any of the 64 quotients is NaN (rare); only then does each vector
    // pay for its own mask.
    const __mmask16 any_nan =
        _mm512_cmp_ps_mask(q[0], q[1], _CMP_UNORD_Q) | _mm512_cmp_ps_mask(q[2], q[3], _CMP_UNORD_Q);
    if (HWY_UNLIKELY(any_nan != 0) && corrected_) {
      // A corrected quotient is NaN for ±Inf too: divide those lanes (only the vectors that hold one).
      for (int k = 0; k < 4; ++k) {
        const __mmask16 nan = _mm512_cmp_ps_mask(q[k], q[k], _CMP_UNORD_Q);
        if (nan != 0) q[k] = _mm512_mask_div_ps(q[k], nan, load(k).raw, l_.scale.raw);
      }
    }
    __m512i r[4];
    if constexpr (R == Rounding::kEven) {
      if (HWY_LIKELY(any_nan == 0)) {
        for (int k = 0; k < 4; ++k) r[k] = _mm512_cvtps_epi32(_mm512_min_ps(l_.hi.raw, q[k]));
      } else {
        for (int k = 0; k < 4; ++k) {
          r[k] = _mm512_maskz_cvtps_epi32(_mm512_cmp_ps_mask(q[k], q[k], _CMP_ORD_Q), _mm512_min_ps(l_.hi.raw, q[k]));
        }
      }
    } else {  // ties away from zero: the biased value, truncated (its conversion saturates as above)
      const DF d;
      for (int k = 0; k < 4; ++k) {
        const __m512 away = AwayFromZeroBiased(d, VF{_mm512_min_ps(l_.hi.raw, q[k])}).raw;
        r[k] = HWY_LIKELY(any_nan == 0)
                   ? _mm512_cvttps_epi32(away)
                   : _mm512_maskz_cvttps_epi32(_mm512_cmp_ps_mask(q[k], q[k], _CMP_ORD_Q), away);
      }
    }
    const __m512i a = _mm512_adds_epi16(_mm512_packs_epi32(r[0], r[1]), zp16_);
    const __m512i b = _mm512_adds_epi16(_mm512_packs_epi32(r[2], r[3]), zp16_);
    // The packs interleave the four vectors per 128-bit lane; this restores element order.
    const __m512i order = _mm512_setr_epi32(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15);
    __m512i codes;
    if constexpr (hwy::IsSigned<Code>()) {
      codes = _mm512_max_epi8(_mm512_permutexvar_epi32(order, _mm512_packs_epi16(a, b)), qmin8_);
    } else {
      codes = _mm512_max_epu8(_mm512_permutexvar_epi32(order, _mm512_packus_epi16(a, b)), qmin8_);
    }
    if constexpr (kStream) _mm512_stream_si512(reinterpret_cast<__m512i*>(out), codes);
    else _mm512_storeu_si512(out, codes);
  }

 private:
  LaneParams l_;
  bool corrected_;
  __m512i zp16_, qmin8_;
};
#endif

// quantize: code = r + zp. kStream: non-temporal stores, to whole vectors at aligned addresses only.
template <Scaling S, Rounding R, bool kStream = false, class Src, class Code>
HWY_INLINE void QuantizeImpl(const float* HWY_RESTRICT x, size_t n, const Src& src, Code* HWY_RESTRICT q) {
  const DF d;
  const auto op = [&](const float* in, Code* out, const LaneParams& l) HWY_ATTR LOWBIT_LAMBDA_INLINE {
    StoreCodes<kStream>(d, hn::Add(Rounded<S, R, true>(d, hn::LoadU(d, in), l), l.zpi), out);
  };
#if HWY_TARGET == HWY_AVX3 || HWY_TARGET == HWY_AVX3_DL
  if constexpr (sizeof(Code) == 1 && std::is_same_v<Src, RunSource>) {
    const PackedBytes<S, R, kStream, Code> packed(src.At(0, 0, false));
    MapWide<64>(x, n, q, op, [&](size_t i) HWY_ATTR LOWBIT_LAMBDA_INLINE {
      packed([&](int k) HWY_ATTR LOWBIT_LAMBDA_INLINE { return hn::LoadU(d, x + i + 16 * k); }, q + i);
    }, src);
    return;
  }
#endif
  Map(x, n, q, op, src);
}

// fake-quantize: (code - zp) * scale = r * scale
template <Scaling S, Rounding R, class Src>
HWY_INLINE void FakeQuantizeImpl(const float* HWY_RESTRICT x, size_t n, const Src& src, float* HWY_RESTRICT y) {
  const DF d;
  Map(x, n, y, [&](const float* in, float* out, const LaneParams& l) HWY_ATTR LOWBIT_LAMBDA_INLINE {
    hn::StoreU(hn::Mul(hn::ConvertTo(d, Rounded<S, R, false>(d, hn::LoadU(d, in), l)), l.scale), d, out);
  }, src);
}

// The real value (code - zp) * scale of one vector of codes.
template <class Code>
HWY_INLINE VF Dequantized(DF d, const Code* HWY_RESTRICT in, const LaneParams& l) {
  return hn::Mul(hn::Sub(LoadCodes(d, in), l.zp), l.scale);
}

// dequantize: (code - zp) * scale. kStream: non-temporal stores, to whole vectors at aligned addresses only.
template <bool kStream = false, class Src, class Code>
HWY_INLINE void DequantizeImpl(const Code* HWY_RESTRICT q, size_t n, const Src& src, float* HWY_RESTRICT y) {
  const DF d;
  Map(q, n, y, [&](const Code* in, float* out, const LaneParams& l) HWY_ATTR LOWBIT_LAMBDA_INLINE {
    const VF v = Dequantized(d, in, l);
    if constexpr (kStream) hn::Stream(v, d, out);
    else hn::StoreU(v, d, out);
  }, src);
}

// requantize: code_to(dequantize_from(q))
template <Scaling S, Rounding R, class Src, class In, class Out>
HWY_INLINE void RequantizeImpl(const In* HWY_RESTRICT q, size_t n, const Src& from, const Src& to,
                               Out* HWY_RESTRICT out) {
  const DF d;
  const auto op = [&](const In* in, Out* o, const LaneParams& f, const LaneParams& t) HWY_ATTR LOWBIT_LAMBDA_INLINE {
    StoreCodes(d, hn::Add(Rounded<S, R, true>(d, Dequantized(d, in, f), t), t.zpi), o);
  };
#if HWY_TARGET == HWY_AVX3 || HWY_TARGET == HWY_AVX3_DL
  if constexpr (sizeof(Out) == 1 && std::is_same_v<Src, RunSource>) {  // one-byte codes: as QuantizeImpl
    const LaneParams& f = from.At(0, 0, false);
    const PackedBytes<S, R, false, Out> packed(to.At(0, 0, false));
    MapWide<64>(q, n, out, op, [&](size_t i) HWY_ATTR LOWBIT_LAMBDA_INLINE {
      packed([&](int k) HWY_ATTR LOWBIT_LAMBDA_INLINE { return Dequantized(d, q + i + 16 * k, f); }, out + i);
    }, from, to);
    return;
  }
#endif
  Map(q, n, out, op, from, to);
}

// Footprint (bytes read + written) from which quantize and dequantize stream their output past the
// caches: above the 32 MiB L3 of the machine measured, where the output is evicted before it could be
// reused. Without the read-for-ownership of the output lines, 16 Mi elements move ~20% fewer bytes
// (quantize, measured on AVX-512 with bench/uniform_bench).
constexpr size_t kStreamBytes = size_t{48} << 20;

// Runs f.template operator()<kStream>(begin, count) over [0, n) of an output `out`: with kStream =
// false on the part before the first output address aligned to a whole vector and on the last partial
// vector, with kStream = true (non-temporal stores) on the whole, aligned vectors between.
template <class Out, class F>
HWY_INLINE void Streamed(size_t n, const Out* out, F&& f) {
  const size_t lanes = hn::Lanes(DF());
  const size_t misalign = reinterpret_cast<uintptr_t>(out) % (lanes * sizeof(Out)) / sizeof(Out);
  const size_t head = std::min(n, misalign == 0 ? 0 : lanes - misalign);
  const size_t body = (n - head) / lanes * lanes;
  f.template operator()<false>(0, head);
  f.template operator()<true>(head, body);
  f.template operator()<false>(head + body, n - head - body);
  hwy::FlushStream();
}

template <class Code>
void QuantizeRun(const float* HWY_RESTRICT x, size_t n, const ref::run_params& p, Code* HWY_RESTRICT q) {
  const RunSource src(p);
  WithNumerics(p.numerics, [&]<Scaling S, Rounding R>() {
    if (n * (sizeof(float) + sizeof(Code)) < kStreamBytes) {
      QuantizeImpl<S, R>(x, n, src, q);
    } else {
      Streamed(n, q, [&]<bool kStream>(size_t i, size_t count) { QuantizeImpl<S, R, kStream>(x + i, count, src, q + i); });
    }
  });
}
template <class Code>
void QuantizeRow(const float* HWY_RESTRICT x, size_t n, const ref::row_params& p, Code* HWY_RESTRICT q) {
  const RowSource src(p);
  WithNumerics(p.numerics, [&]<Scaling S, Rounding R>() { QuantizeImpl<S, R>(x, n, src, q); });
}
inline void FakeQuantizeRun(const float* HWY_RESTRICT x, size_t n, const ref::run_params& p, float* HWY_RESTRICT y) {
  const RunSource src(p);
  WithNumerics(p.numerics, [&]<Scaling S, Rounding R>() { FakeQuantizeImpl<S, R>(x, n, src, y); });
}
inline void FakeQuantizeRow(const float* HWY_RESTRICT x, size_t n, const ref::row_params& p, float* HWY_RESTRICT y) {
  const RowSource src(p);
  WithNumerics(p.numerics, [&]<Scaling S, Rounding R>() { FakeQuantizeImpl<S, R>(x, n, src, y); });
}
template <class Code>
void DequantizeRun(const Code* HWY_RESTRICT q, size_t n, const ref::run_params& p, float* HWY_RESTRICT y) {
  const RunSource src(p);
  if (n * (sizeof(Code) + sizeof(float)) < kStreamBytes) {
    DequantizeImpl(q, n, src, y);
  } else {
    Streamed(n, y, [&]<bool kStream>(size_t i, size_t count) { DequantizeImpl<kStream>(q + i, count, src, y + i); });
  }
}
template <class Code>
void DequantizeRow(const Code* HWY_RESTRICT q, size_t n, const ref::row_params& p, float* HWY_RESTRICT y) {
  DequantizeImpl(q, n, RowSource(p), y);
}
template <class In, class Out>
void RequantizeRun(const In* HWY_RESTRICT q, size_t n, const ref::run_params& from, const ref::run_params& to,
                   Out* HWY_RESTRICT out) {
  const RunSource f(from), t(to);
  WithNumerics(to.numerics, [&]<Scaling S, Rounding R>() { RequantizeImpl<S, R>(q, n, f, t, out); });
}
template <class In, class Out>
void RequantizeRow(const In* HWY_RESTRICT q, size_t n, const ref::row_params& from, const ref::row_params& to,
                   Out* HWY_RESTRICT out) {
  const RowSource f(from), t(to);
  WithNumerics(to.numerics, [&]<Scaling S, Rounding R>() { RequantizeImpl<S, R>(q, n, f, t, out); });
}

int64_t Target() { return HWY_TARGET; }

}  // namespace lowbit::detail::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#endif  // per-target include guard
