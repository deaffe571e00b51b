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

#include <cstddef>
#include <cstdint>
#include <algorithm>
#include <cmath>
#include <cstring>

#include "hwy/highway.h"
#include "lowbit/ref/uniform.h"

HWY_BEFORE_NAMESPACE();
namespace lowbit::detail::HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

using DF = hn::ScalableTag<float>;
using VF = hn::Vec<DF>;
using MF = hn::Mask<DF>;

using DI = hn::Rebind<int32_t, DF>;
using VI = hn::Vec<DI>;

// How v = x / scale is formed.
enum class Scaling {
  kMul,      // x * inv_scale                                   (pytorch)
  kDivFast,  // x / scale, via x * inv_scale where provably equal  (onnx, tflite)
  kDiv,      // x / scale, always divided (a reciprocal that is not a normal float)
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

// v - round(v) (exact), in one instruction where the target has one.
HWY_INLINE VF FractionToNearest(VF v) {
#if HWY_TARGET == HWY_AVX3 || HWY_TARGET == HWY_AVX3_DL
  return VF{_mm512_reduce_ps(v.raw, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC)};  // vreduceps
#else
  return hn::Sub(v, hn::Round(v));
#endif
}

// The rounded, clamped quotient r = round(clamp(v, qmin - zp, qmax - zp)) as int32, NaN -> 0, so that
// code = r + zp (ref::quantize_value: clamping before or after rounding is the same, the bounds being
// integers).
//
// kDivFast: v0 = x * inv_scale differs from fl(x / scale) by at most 3.0001 * 2^-24 * |v0| (two
// roundings: the reciprocal and the product; the reciprocal must be a normal float). Rounding to an
// integer only cares on which side of a half-integer v lies, so when every lane of the clamped v0 lies
// farther than |v0| * 2^-21 from a half-integer, round(v0) == round(x / scale) and the codes agree. (A
// lane clamped at a bound holds an integer and is safe: v0 beyond the bound puts x / scale beyond
// bound - 0.5.) `near` is the per-lane bound 0.5 - |v| * 2^-21, or a constant below it for every |v| in
// the clamp range. When a lane is nearer a half-integer than that (about 1 lane in 10^4 for 8-bit codes
// on random data), the vector is divided exactly. tests/uniform_simd_test.cc hammers ties and near-ties
// on every target.
template <Scaling S, Rounding R>
HWY_INLINE VI RoundedClamped(DF d, VF x, VF scale, VF inv, VF lo, VF hi, VF near, MF inv_bad) {
  VF v;
  if constexpr (S == Scaling::kDiv) {
    (void)inv, (void)near, (void)inv_bad;
    v = ClampZeroNaN(hn::Div(x, scale), lo, hi);
  } else {
    v = ClampZeroNaN(hn::Mul(x, inv), lo, hi);
  }
  if constexpr (S == Scaling::kDivFast) {
    const MF near_tie = hn::Or(hn::Ge(hn::Abs(FractionToNearest(v)), near), inv_bad);
    if (HWY_UNLIKELY(!hn::AllFalse(d, near_tie))) v = ClampZeroNaN(hn::Div(x, scale), lo, hi);
  } else {
    (void)scale, (void)near, (void)inv_bad;
  }
  if constexpr (R == Rounding::kAway) {
    const VF t = hn::Trunc(v);
    const MF up = hn::Ge(hn::Abs(hn::Sub(v, t)), hn::Set(d, 0.5f));
    v = hn::IfThenElse(up, hn::Add(t, hn::CopySign(hn::Set(d, 1.0f), v)), t);
  }
  return NearestI32(d, v);
}

// Narrows int32 lanes already inside the code range.
template <class Code>
HWY_INLINE void StoreCodes(DF d, VI code, Code* HWY_RESTRICT out) {
  (void)d;
#if HWY_TARGET == HWY_AVX3 || HWY_TARGET == HWY_AVX3_DL
  if constexpr (sizeof(Code) == 1) {
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out), _mm512_cvtepi32_epi8(code.raw));  // vpmovdb
  } else {
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(out), _mm512_cvtepi32_epi16(code.raw));  // vpmovdw
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
#ifndef LOWBIT_FLATTEN
#define LOWBIT_FLATTEN __attribute__((always_inline))
#endif

// Runs body(i, count, tail) over [0, n) in whole vectors, two per iteration; the last partial vector
// goes through zero-padded stack copies (tail = true), so tails run the same SIMD code as the body.
constexpr size_t kMaxLanes = HWY_MAX_BYTES / sizeof(float);

template <class Body>
HWY_INLINE void ForEachVector(DF d, size_t n, Body body) {
  const size_t N = hn::Lanes(d);
  size_t i = 0;
  for (; i + 2 * N <= n; i += 2 * N) {
    body(i, N, false);
    body(i + N, N, false);
  }
  for (; i + N <= n; i += N) body(i, N, false);
  if (i < n) body(i, n - i, true);
}

// A block of kMaxLanes elements holding `count` elements of `src`, the rest `fill` (for tails).
template <class T>
struct TailBlock {
  HWY_ALIGN T v[kMaxLanes];
  TailBlock(const T* src, size_t count, T fill) {
    for (size_t k = 0; k < kMaxLanes; ++k) v[k] = fill;
    if (count) std::memcpy(v, src, count * sizeof(T));
  }
};

HWY_INLINE bool NormalReciprocal(float inv) { return inv >= 1.17549435e-38f && inv <= 3.40282347e+38f; }

// The parameters of the lanes of one vector: lo / hi are the clamp bounds qmin - zp, qmax - zp.
struct LaneParams {
  VF scale, inv, zp, lo, hi;
  VF near;     // a lane of x * inv_scale this near a half-integer is decided by exact division
  VI zpi;
  MF inv_bad;  // lanes whose reciprocal is not a normal float: decided by exact division
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
    // One bound for the whole clamp range: 0.5 - max|v| * 2^-21, rounded down (so never above the
    // per-lane bound). The reciprocal is checked once, by the caller choosing Scaling::kDiv.
    const double vmax = std::max(std::fabs(static_cast<double>(p.qmin - p.zero_point)),
                                 std::fabs(static_cast<double>(p.qmax - p.zero_point)));
    l_.near = hn::Set(d, std::nextafter(static_cast<float>(0.5 - vmax * 0x1p-21), 0.0f));
    l_.inv_bad = hn::FirstN(d, 0);
  }
  // Whether the reciprocal can stand in for the division at all.
  static bool ReciprocalUsable(const ref::run_params& p) { return NormalReciprocal(p.inv_scale); }
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
    l.near = hn::NegMulAdd(hn::Abs(hn::Max(hn::Abs(l.lo), hn::Abs(l.hi))), hn::Set(d, 4.76837158203125e-07f),
                           hn::Set(d, 0.5f));
    l.inv_bad = hn::Not(hn::And(hn::Ge(l.inv, hn::Set(d, 1.17549435e-38f)), hn::Le(l.inv, hn::Set(d, 3.40282347e+38f))));
    return l;
  }

 private:
  const ref::row_params& p_;
};

template <Scaling S, Rounding R>
HWY_INLINE VI Rounded(DF d, VF x, const LaneParams& l) {
  return RoundedClamped<S, R>(d, x, l.scale, l.inv, l.lo, l.hi, l.near, l.inv_bad);
}

// Calls f.template operator()<Scaling, Rounding>() for the profile. `reciprocal_usable` false (a
// per-tensor reciprocal that is not a normal float) makes the division profiles always divide.
template <class F>
HWY_INLINE void WithNumerics(profile numerics, bool reciprocal_usable, F&& f) {
  const Rounding kTie = Rounding::kEven;
  switch (numerics) {
    case profile::pytorch: return f.template operator()<Scaling::kMul, kTie>();
    case profile::tflite:
      if (!reciprocal_usable) return f.template operator()<Scaling::kDiv, Rounding::kAway>();
      return f.template operator()<Scaling::kDivFast, Rounding::kAway>();
    case profile::onnx: break;
  }
  if (!reciprocal_usable) return f.template operator()<Scaling::kDiv, kTie>();
  f.template operator()<Scaling::kDivFast, kTie>();
}

// quantize: code = r + zp
template <Scaling S, Rounding R, class Src, class Code>
HWY_INLINE void QuantizeImpl(const float* HWY_RESTRICT x, size_t n, const Src& src, Code* HWY_RESTRICT q) {
  const DF d;
  ForEachVector(d, n, [&](size_t i, size_t count, bool tail) HWY_ATTR LOWBIT_FLATTEN {
    const LaneParams& l = src.At(i, count, tail);
    if (!tail) {
      StoreCodes(d, hn::Add(Rounded<S, R>(d, hn::LoadU(d, x + i), l), l.zpi), q + i);
    } else {
      const TailBlock<float> in(x + i, count, 0.0f);
      HWY_ALIGN Code out[kMaxLanes];
      StoreCodes(d, hn::Add(Rounded<S, R>(d, hn::Load(d, in.v), l), l.zpi), out);
      std::memcpy(q + i, out, count * sizeof(Code));
    }
  });
}

// fake-quantize: (code - zp) * scale = r * scale
template <Scaling S, Rounding R, class Src>
HWY_INLINE void FakeQuantizeImpl(const float* HWY_RESTRICT x, size_t n, const Src& src, float* HWY_RESTRICT y) {
  const DF d;
  ForEachVector(d, n, [&](size_t i, size_t count, bool tail) HWY_ATTR LOWBIT_FLATTEN {
    const LaneParams& l = src.At(i, count, tail);
    if (!tail) {
      hn::StoreU(hn::Mul(hn::ConvertTo(d, Rounded<S, R>(d, hn::LoadU(d, x + i), l)), l.scale), d, y + i);
    } else {
      const TailBlock<float> in(x + i, count, 0.0f);
      HWY_ALIGN float out[kMaxLanes];
      hn::Store(hn::Mul(hn::ConvertTo(d, Rounded<S, R>(d, hn::Load(d, in.v), l)), l.scale), d, out);
      std::memcpy(y + i, out, count * sizeof(float));
    }
  });
}

// dequantize: (code - zp) * scale
template <class Src, class Code>
HWY_INLINE void DequantizeImpl(const Code* HWY_RESTRICT q, size_t n, const Src& src, float* HWY_RESTRICT y) {
  const DF d;
  ForEachVector(d, n, [&](size_t i, size_t count, bool tail) HWY_ATTR LOWBIT_FLATTEN {
    const LaneParams& l = src.At(i, count, tail);
    if (!tail) {
      hn::StoreU(hn::Mul(hn::Sub(LoadCodes(d, q + i), l.zp), l.scale), d, y + i);
    } else {
      const TailBlock<Code> in(q + i, count, Code{0});
      HWY_ALIGN float out[kMaxLanes];
      hn::Store(hn::Mul(hn::Sub(LoadCodes(d, in.v), l.zp), l.scale), d, out);
      std::memcpy(y + i, out, count * sizeof(float));
    }
  });
}

// requantize: code_to(dequantize_from(q))
template <Scaling S, Rounding R, class Src, class In, class Out>
HWY_INLINE void RequantizeImpl(const In* HWY_RESTRICT q, size_t n, const Src& from, const Src& to,
                               Out* HWY_RESTRICT out) {
  const DF d;
  ForEachVector(d, n, [&](size_t i, size_t count, bool tail) HWY_ATTR LOWBIT_FLATTEN {
    const LaneParams& f = from.At(i, count, tail);
    const LaneParams& t = to.At(i, count, tail);
    if (!tail) {
      const VF v = hn::Mul(hn::Sub(LoadCodes(d, q + i), f.zp), f.scale);
      StoreCodes(d, hn::Add(Rounded<S, R>(d, v, t), t.zpi), out + i);
    } else {
      const TailBlock<In> in(q + i, count, In{0});
      HWY_ALIGN Out o[kMaxLanes];
      const VF v = hn::Mul(hn::Sub(LoadCodes(d, in.v), f.zp), f.scale);
      StoreCodes(d, hn::Add(Rounded<S, R>(d, v, t), t.zpi), o);
      std::memcpy(out + i, o, count * sizeof(Out));
    }
  });
}

template <class Code>
void QuantizeRun(const float* HWY_RESTRICT x, size_t n, const ref::run_params& p, Code* HWY_RESTRICT q) {
  const RunSource src(p);
  WithNumerics(p.numerics, RunSource::ReciprocalUsable(p), [&]<Scaling S, Rounding R>() { QuantizeImpl<S, R>(x, n, src, q); });
}
template <class Code>
void QuantizeRow(const float* HWY_RESTRICT x, size_t n, const ref::row_params& p, Code* HWY_RESTRICT q) {
  const RowSource src(p);
  WithNumerics(p.numerics, true, [&]<Scaling S, Rounding R>() { QuantizeImpl<S, R>(x, n, src, q); });
}
inline void FakeQuantizeRun(const float* HWY_RESTRICT x, size_t n, const ref::run_params& p, float* HWY_RESTRICT y) {
  const RunSource src(p);
  WithNumerics(p.numerics, RunSource::ReciprocalUsable(p), [&]<Scaling S, Rounding R>() { FakeQuantizeImpl<S, R>(x, n, src, y); });
}
inline void FakeQuantizeRow(const float* HWY_RESTRICT x, size_t n, const ref::row_params& p, float* HWY_RESTRICT y) {
  const RowSource src(p);
  WithNumerics(p.numerics, true, [&]<Scaling S, Rounding R>() { FakeQuantizeImpl<S, R>(x, n, src, y); });
}
template <class Code>
void DequantizeRun(const Code* HWY_RESTRICT q, size_t n, const ref::run_params& p, float* HWY_RESTRICT y) {
  DequantizeImpl(q, n, RunSource(p), y);
}
template <class Code>
void DequantizeRow(const Code* HWY_RESTRICT q, size_t n, const ref::row_params& p, float* HWY_RESTRICT y) {
  DequantizeImpl(q, n, RowSource(p), y);
}
template <class In, class Out>
void RequantizeRun(const In* HWY_RESTRICT q, size_t n, const ref::run_params& from, const ref::run_params& to,
                   Out* HWY_RESTRICT out) {
  const RunSource f(from), t(to);
  WithNumerics(to.numerics, RunSource::ReciprocalUsable(to), [&]<Scaling S, Rounding R>() { RequantizeImpl<S, R>(q, n, f, t, out); });
}
template <class In, class Out>
void RequantizeRow(const In* HWY_RESTRICT q, size_t n, const ref::row_params& from, const ref::row_params& to,
                   Out* HWY_RESTRICT out) {
  const RowSource f(from), t(to);
  WithNumerics(to.numerics, true, [&]<Scaling S, Rounding R>() { RequantizeImpl<S, R>(q, n, f, t, out); });
}

int64_t Target() { return HWY_TARGET; }

}  // namespace lowbit::detail::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#endif  // per-target include guard
