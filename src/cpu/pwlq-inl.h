// lowbit — per-target PWLQ kernels (Highway). Included once per target by src/cpu/pwlq.cc through
// hwy/foreach_target.h. Every kernel equals lowbit/ref/pwlq.h bit for bit (tests/pwlq_simd_test.cc).
// SPDX-License-Identifier: Apache-2.0
//
// How the oracle maps to lanes (one channel run: every constant is a broadcast):
//   x is clamped to [-m, m] first: the oracle's clamp of the last tail region (the centre and inner
//   regions hold |x| < m), which keeps every |x| >= m in region k. The tail index r (1..k) counts
//   the edges e[0..k-1] at or below |x| (edges increase: the oracle's while loop); lo = e[r-1],
//   hi = e[r], s = t[r] by selects (k = 1: constants, and the tails are x >= p, x <= -p).
//   Each lane needs one quotient only, so the numerator and divisor are selected per lane before ONE
//   float32 division (the IEEE operation the oracle performs on that lane):
//     centre      x / c           (paper: |x| / c = ±(x / c) exactly)
//     x > 0 tail  (xc - lo) / s
//     x < 0 tail  reference (xc + hi) / s;  paper (xc + lo) / s = -((|xc| - lo) / s) exactly
//   The quotient is clamped to integer bounds (reference [-H, L]: tail quotients are >= 0; paper
//   [-L, L]), then rounded half to even (cvtps2dq): the bounds being integers,
//   round(clamp(v)) == clamp(round(v)), and |v| < 2^22 there, where the oracle's pwlq_round_small is
//   round half to even. Non-selected garbage never matters: the divisor is > 0 and finite and the
//   numerator finite, so no lane is NaN unless x is.
//   The code's q: reference q = r, or r - H in a negative tail, whose low byte is r | (256 - H);
//   paper q = r, or r - 1 (= ~j) in a negative tail. Values for fake-quantize come from the integer
//   r as the oracle's decode does (so -0 never appears where the oracle has +0).
//   Runs with normal steps (FastClampsExact) leave out the clamps that cannot change a result there.
// Codes are stored as int16 lanes (q & 0xff) | region << 8, which is the pwlq_code struct in memory
// (little-endian, q first: static_asserts below); vpmovdw narrows them on AVX-512, DemoteTo elsewhere
// (the lanes are in [0, 0x3ff], so saturation never applies).
// Measured on AVX-512 (Zen 4, 2 shared cores): what costs is the count of vector instructions per
// vector (about half a cycle each), not the division; keeping the constants in registers (local
// copies) and the masked add / sub helpers matter as much as the algebra.

// Per-target include guard (Highway convention).
#if defined(LOWBIT_SRC_CPU_PWLQ_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef LOWBIT_SRC_CPU_PWLQ_INL_H_
#undef LOWBIT_SRC_CPU_PWLQ_INL_H_
#else
#define LOWBIT_SRC_CPU_PWLQ_INL_H_
#endif

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "hwy/cache_control.h"
#include "hwy/highway.h"
#include "lowbit/ref/pwlq.h"

HWY_BEFORE_NAMESPACE();
namespace lowbit::detail::HWY_NAMESPACE {
namespace pw {
namespace hn = hwy::HWY_NAMESPACE;

static_assert(sizeof(pwlq_code) == 2 && alignof(pwlq_code) == 1, "pwlq_code must be two bytes");
static_assert(offsetof(pwlq_code, q) == 0 && offsetof(pwlq_code, region) == 1, "pwlq_code must be {q, region}");
static_assert(std::endian::native == std::endian::little, "codes are stored as little-endian int16 lanes");

using DF = hn::ScalableTag<float>;
using VF = hn::Vec<DF>;
using MF = hn::Mask<DF>;
using DI = hn::Rebind<int32_t, DF>;
using VI = hn::Vec<DI>;
using MI = hn::Mask<DI>;
using DC = hn::Rebind<int16_t, DF>;    // one 16-bit code per float lane
using DCU = hn::Rebind<uint16_t, DF>;

// Lambdas are not inlined into the loop by default; the per-vector call would cost more than the body.
#ifndef LOWBIT_LAMBDA_INLINE
#define LOWBIT_LAMBDA_INLINE __attribute__((always_inline))
#endif

// Converts a float holding an integer-range value to int32, rounding half to even (default MXCSR).
// Callers clamp first, so Highway's overflow fix-ups are not needed.
HWY_INLINE VI NearestI32(VF v) {
#if HWY_TARGET == HWY_AVX3 || HWY_TARGET == HWY_AVX3_DL
  return VI{_mm512_cvtps_epi32(v.raw)};
#elif HWY_TARGET == HWY_AVX2
  return VI{_mm256_cvtps_epi32(v.raw)};
#elif HWY_TARGET == HWY_SSE4 || HWY_TARGET == HWY_SSSE3
  return VI{_mm_cvtps_epi32(v.raw)};
#else
  return hn::ConvertTo(DI(), hn::Round(v));  // Round is exact and half-to-even on every target
#endif
}

// The 16-bit codes of int32 lanes already in [0, 0x3ff]. kStream: a non-temporal store to an address
// aligned to the stored vector (AVX-512 only; other targets store normally).
template <bool kStream = false>
HWY_INLINE void StoreCodes(VI code, pwlq_code* HWY_RESTRICT out) {
#if HWY_TARGET == HWY_AVX3 || HWY_TARGET == HWY_AVX3_DL
  const __m256i v = _mm512_cvtepi32_epi16(code.raw);  // vpmovdw
  if constexpr (kStream) _mm256_stream_si256(reinterpret_cast<__m256i*>(out), v);
  else _mm256_storeu_si256(reinterpret_cast<__m256i*>(out), v);
#else
  hn::StoreU(hn::DemoteTo(DC(), code), DC(), reinterpret_cast<int16_t*>(out));
#endif
}

// The 16-bit codes as int32 lanes q & 0xff | region << 8 (zero-extended).
HWY_INLINE VI LoadCodes(const pwlq_code* HWY_RESTRICT in) {
  return hn::PromoteTo(DI(), hn::LoadU(DCU(), reinterpret_cast<const uint16_t*>(in)));
}

// m ? a - b : no, and m ? a + b : no (one masked instruction on AVX-512).
HWY_INLINE VF MaskedSubOr(VF no, MF m, VF a, VF b) {
#if HWY_TARGET == HWY_AVX3 || HWY_TARGET == HWY_AVX3_DL
  return VF{_mm512_mask_sub_ps(no.raw, m.raw, a.raw, b.raw)};
#else
  return hn::IfThenElse(m, hn::Sub(a, b), no);
#endif
}
HWY_INLINE VF MaskedAddOr(VF no, MF m, VF a, VF b) {
#if HWY_TARGET == HWY_AVX3 || HWY_TARGET == HWY_AVX3_DL
  return VF{_mm512_mask_add_ps(no.raw, m.raw, a.raw, b.raw)};
#else
  return hn::IfThenElse(m, hn::Add(a, b), no);
#endif
}
HWY_INLINE VI MaskedSubOr(VI no, MI m, VI a, VI b) {
#if HWY_TARGET == HWY_AVX3 || HWY_TARGET == HWY_AVX3_DL
  return VI{_mm512_mask_sub_epi32(no.raw, m.raw, a.raw, b.raw)};
#else
  return hn::IfThenElse(m, hn::Sub(a, b), no);
#endif
}
HWY_INLINE VI MaskedAddOr(VI no, MI m, VI a, VI b) {
#if HWY_TARGET == HWY_AVX3 || HWY_TARGET == HWY_AVX3_DL
  return VI{_mm512_mask_add_epi32(no.raw, m.raw, a.raw, b.raw)};
#else
  return hn::IfThenElse(m, hn::Add(a, b), no);
#endif
}

// On the x86 targets a NaN input needs no special case for codes: the clamps below keep NaN (x86
// min / max return their second operand when either is NaN, and NaN is always passed second),
// every compare with NaN is false (centre, region 0), cvtps2dq turns NaN into INT_MIN, whose low
// byte is 0: the code {0, 0} the oracle gives NaN. Elsewhere NaN is replaced by +0 first.
#if HWY_TARGET == HWY_AVX3 || HWY_TARGET == HWY_AVX3_DL || HWY_TARGET == HWY_AVX2 || HWY_TARGET == HWY_SSE4 || \
    HWY_TARGET == HWY_SSSE3
constexpr bool kNaNGivesZeroCode = true;
#else
constexpr bool kNaNGivesZeroCode = false;
#endif

// One channel's constants, broadcast.
struct Consts {
  VF e0, e1, e2, e3;  // edges: breakpoints, then m (unused = m)
  VF t0, t1, t2;      // tail steps of regions 1..3
  VF c;               // centre step
  VF m, neg_m, neg_e0;
  VF half, levels, neg_levels;
  VI low_byte, region_one, tail_neg_extra, one;
  explicit Consts(const ref::pwlq_run& r) {
    const DF d;
    const DI di;
    e0 = hn::Set(d, r.edge[0]);
    e1 = hn::Set(d, r.edge[1]);
    e2 = hn::Set(d, r.edge[2]);
    e3 = hn::Set(d, r.edge[3]);
    t0 = hn::Set(d, r.tail_step[0]);
    t1 = hn::Set(d, r.tail_step[1]);
    t2 = hn::Set(d, r.tail_step[2]);
    c = hn::Set(d, r.centre_step);
    m = hn::Set(d, r.edge[r.k]);
    neg_m = hn::Set(d, -r.edge[r.k]);
    neg_e0 = hn::Set(d, -r.edge[0]);
    half = hn::Set(d, r.half);
    levels = hn::Set(d, r.levels);
    // the lower clamp of the quotient: reference -H (centre; tail quotients are >= 0), paper -L
    neg_levels = hn::Set(d, r.variant == pwlq_variant::reference ? -r.half : -r.levels);
    low_byte = hn::Set(di, 0xff);
    region_one = hn::Set(di, 0x100);
    // reference tail, x < 0: q = j - H, whose low byte is j | (256 - H) for j in [0, H): H is a power of 2
    tail_neg_extra = hn::Set(di, 0x100 | (256 - static_cast<int32_t>(r.half)));
    one = hn::Set(di, 1);
  }
};

// Whether a run may leave out the clamps of x to [-m, m] (paper) or to m (reference), and the
// reference variant's lower clamp of the quotient at -H. With them all (the general path) every
// quotient equals the oracle's. Without them:
//   x > m (last region): the quotient fl(fl(x - lo) / s) >= t_m = fl(fl(m - lo) / s) (monotone),
//     and is then clamped at L; the oracle has clamp(rhe(t_m), 0, L). Both are L when t_m > L - 1/2.
//     The paper variant is symmetric (x < -m gives exactly the negated quotient, clamped at -L).
//   reference centre: x / c > -H - 1/2 (rounds to >= -H, H even) for every |x| < p when it holds at
//     the largest float below p; tail quotients are >= 0 (x >= lo, or x clamped at -m).
// Every run with normal steps satisfies both (t_m = L (1 + O(2^-23)), p / c = (H - 1/2)(1 + O(2^-23)));
// runs with subnormal steps may not, and take the general path.
inline bool FastClampsExact(const ref::pwlq_run& r) {
  const float lo = r.edge[r.k - 1], m = r.edge[r.k], s = r.tail_step[r.k - 1];
  const float t_m = (m - lo) / s;
  if (!(t_m > r.levels - 0.5f)) return false;
  if (r.variant == pwlq_variant::reference) {
    const float below_p = std::nextafter(r.edge[0], 0.0f);
    if (!(-below_p / r.centre_step >= -r.half - 0.5f)) return false;
  }
  return true;
}

// One vector classified and divided.
struct Encoded {
  VF v;            // the clamped quotient: rounded half to even it is r, the code's q before the sign
                   // adjustments (reference: q = r, or r - H in a negative tail; paper: q = r, or
                   // r - 1 in a negative tail)
  MF tail, tp, tn; // tail, positive tail, negative tail
  MF up2, up3;     // region >= 2, >= 3 (K >= 2, 3)
  VF den;          // the divisor: c (centre) or the region's tail step
  VF lo, hi;       // the region's edges (tail lanes)
};

// kNaNPasses: x86 code outputs, where NaN lanes may stay NaN (see kNaNGivesZeroCode).
// kFast: the run satisfies FastClampsExact, and two of the four clamps are left out.
template <pwlq_variant V, int K, bool kNaNPasses, bool kFast>
HWY_INLINE Encoded Encode(const Consts& k, VF x) {
  const DF d;
  Encoded e;
  if constexpr (!kNaNPasses) x = hn::IfThenElseZero(hn::Eq(x, x), x);  // NaN -> +0
  // Clamping x to [-m, m] first is the oracle's tail clamp of the last region (the inner regions
  // and the centre hold |x| < m, which it leaves alone), and keeps the region of every |x| >= m.
  // kFast: the reference variant clamps at -m only, the paper variant not at all (FastClampsExact).
  VF xc = x;
  if constexpr (!kFast || V == pwlq_variant::reference) xc = hn::Max(k.neg_m, xc);
  if constexpr (!kFast) xc = hn::Min(k.m, xc);
  VF lo = k.e0, hi = k.e1, s = k.t0;
  if constexpr (K == 1) {
    e.tp = hn::Ge(xc, k.e0);
    e.tn = hn::Le(xc, k.neg_e0);
    e.tail = hn::Or(e.tp, e.tn);
  } else {
    const VF ax = hn::Abs(xc);
    const MF neg = hn::Lt(xc, hn::Zero(d));
    e.tail = hn::Ge(ax, k.e0);
    e.tp = hn::AndNot(neg, e.tail);
    e.tn = hn::And(neg, e.tail);
    e.up2 = hn::Ge(ax, k.e1);
    lo = hn::IfThenElse(e.up2, k.e1, lo);
    hi = hn::IfThenElse(e.up2, k.e2, hi);
    s = hn::IfThenElse(e.up2, k.t1, s);
    if constexpr (K >= 3) {
      e.up3 = hn::Ge(ax, k.e2);
      lo = hn::IfThenElse(e.up3, k.e2, lo);
      hi = hn::IfThenElse(e.up3, k.e3, hi);
      s = hn::IfThenElse(e.up3, k.t2, s);
    }
  }
  e.lo = lo;
  e.hi = hi;
  e.den = hn::IfThenElse(e.tail, s, k.c);
  // numerator: centre x; positive tail xc - lo; negative tail xc + hi (reference) or xc + lo (paper)
  VF num = MaskedSubOr(xc, e.tp, xc, lo);
  num = MaskedAddOr(num, e.tn, xc, V == pwlq_variant::reference ? hi : lo);
  const VF quotient = hn::Div(num, e.den);
  if constexpr (kFast && V == pwlq_variant::reference) {
    e.v = hn::Min(k.levels, quotient);
  } else {
    e.v = hn::Min(k.levels, hn::Max(k.neg_levels, quotient));
  }
  return e;
}

// The codes of an encoded vector as int32 lanes (q & 0xff) | region << 8.
template <pwlq_variant V, int K>
HWY_INLINE VI EncodedCodes(const Consts& k, const Encoded& e) {
  const DI di;
  VI r = NearestI32(e.v);
  const MI tail = hn::RebindMask(di, e.tail), tn = hn::RebindMask(di, e.tn);
  VI hi_byte = hn::IfThenElseZero(tail, k.region_one);
  if constexpr (V == pwlq_variant::reference) {
    hi_byte = hn::IfThenElse(tn, k.tail_neg_extra, hi_byte);
  } else {
    r = MaskedSubOr(r, tn, r, k.one);  // ~j = -j - 1
  }
  if constexpr (K >= 2) hi_byte = MaskedAddOr(hi_byte, hn::RebindMask(di, e.up2), hi_byte, k.region_one);
  if constexpr (K >= 3) hi_byte = MaskedAddOr(hi_byte, hn::RebindMask(di, e.up3), hi_byte, k.region_one);
  return hn::OrAnd(hi_byte, r, k.low_byte);
}

// The value of an encoded vector (ref::pwlq_decode_value of its code), x not NaN. With p = r * den:
//   centre            q * c = p
//   reference tail    x > 0: q * s + lo = p + lo;   x < 0: (q + H) * s - hi = p - hi  (q + H = r)
//   paper tail        x > 0: lo + j * s = p + lo;   x < 0: -(lo + j * s) = p - lo   (r = -j; float
//                     rounding is symmetric, so -(lo + j s) = -lo + (-j) s exactly)
template <pwlq_variant V>
HWY_INLINE VF EncodedValue(const Encoded& e) {
  const DF d;
  const VF p = hn::Mul(hn::ConvertTo(d, NearestI32(e.v)), e.den);  // from the integer: +0, never -0
  const VF y = MaskedAddOr(p, e.tp, p, e.lo);
  return MaskedSubOr(y, e.tn, p, V == pwlq_variant::reference ? e.hi : e.lo);
}

// ref::pwlq_decode_value of int32 lanes q & 0xff | region << 8.
template <pwlq_variant V, int K>
HWY_INLINE VF Decode(const Consts& k, VI code) {
  const DF d;
  const DI di;
  const VI q = hn::ShiftRight<24>(hn::ShiftLeft<24>(code));  // sign-extended int8
  const VI region = hn::Min(hn::ShiftRight<8>(code), hn::Set(di, K));  // a region above k is read as k
  const MF tail = hn::RebindMask(d, hn::Gt(region, hn::Zero(di)));
  VF lo = k.e0, hi = k.e1, s = k.t0;
  if constexpr (K >= 2) {
    const MF up = hn::RebindMask(d, hn::Gt(region, hn::Set(di, 1)));
    lo = hn::IfThenElse(up, k.e1, lo);
    hi = hn::IfThenElse(up, k.e2, hi);
    s = hn::IfThenElse(up, k.t1, s);
  }
  if constexpr (K >= 3) {
    const MF up = hn::RebindMask(d, hn::Gt(region, hn::Set(di, 2)));
    lo = hn::IfThenElse(up, k.e2, lo);
    hi = hn::IfThenElse(up, k.e3, hi);
    s = hn::IfThenElse(up, k.t2, s);
  }
  const VF qf = hn::ConvertTo(d, q);
  const MF neg = hn::Lt(qf, hn::Zero(d));
  VF tv;
  if constexpr (V == pwlq_variant::reference) {
    // q >= 0: q * s + lo;  q < 0: (q + H) * s - hi
    const VF a = hn::IfThenElse(neg, hn::Add(qf, k.half), qf);
    tv = hn::Add(hn::Mul(a, s), hn::IfThenElse(neg, hn::Neg(hi), lo));
  } else {
    // j = q or -1 - q; v = lo + j * s; ±v
    const VF j = hn::IfThenElse(neg, hn::Sub(hn::Set(d, -1.0f), qf), qf);
    const VF v = hn::Add(lo, hn::Mul(j, s));
    tv = hn::IfThenElse(neg, hn::Neg(v), v);
  }
  return hn::IfThenElse(tail, tv, hn::Mul(qf, k.c));
}

constexpr size_t kMaxLanes = HWY_MAX_BYTES / sizeof(float);

// A block of kMaxLanes elements holding `count` elements of `src`, the rest zero (for tails).
template <class T>
struct TailBlock {
  HWY_ALIGN T v[kMaxLanes];
  TailBlock(const T* src, size_t count) {
    std::memset(static_cast<void*>(v), 0, sizeof v);
    if (count) std::memcpy(static_cast<void*>(v), src, count * sizeof(T));
  }
};

// Applies op(in, out) (one vector of `in` to one vector of `out`) over [0, n): whole vectors four per
// iteration, then the last partial vector through zero-padded stack copies, so tails run the same
// SIMD code as the body. No restrict: fake-quantize may run in place (each vector is loaded before
// it is stored).
template <class In, class Out, class Op>
HWY_INLINE void Map(const In* in, size_t n, Out* out, Op op) {
  const size_t N = hn::Lanes(DF());
  size_t i = 0;
  for (; i + 4 * N <= n; i += 4 * N) {
    op(in + i, out + i);
    op(in + i + N, out + i + N);
    op(in + i + 2 * N, out + i + 2 * N);
    op(in + i + 3 * N, out + i + 3 * N);
  }
  for (; i + N <= n; i += N) op(in + i, out + i);
  if (i < n) {
    const size_t count = n - i;
    const TailBlock<In> tail_in(in + i, count);
    HWY_ALIGN Out tail_out[kMaxLanes];
    op(tail_in.v, tail_out);
    std::memcpy(static_cast<void*>(out + i), tail_out, count * sizeof(Out));
  }
}

// The constants are copied to a local first: a local whose address does not escape stays in registers
// (through a reference the compiler reloads them after every store, which might alias them).
template <pwlq_variant V, int K, bool kFast, bool kStream = false>
HWY_INLINE void QuantizeImpl(const float* HWY_RESTRICT x, size_t n, const Consts& consts, pwlq_code* HWY_RESTRICT q) {
  const DF d;
  const Consts k = consts;
  Map(x, n, q, [&](const float* in, pwlq_code* out) HWY_ATTR LOWBIT_LAMBDA_INLINE {
    StoreCodes<kStream>(EncodedCodes<V, K>(k, Encode<V, K, kNaNGivesZeroCode, kFast>(k, hn::LoadU(d, in))), out);
  });
}

template <pwlq_variant V, int K, bool kFast>
HWY_INLINE void FakeQuantizeImpl(const float* x, size_t n, const Consts& consts, float* y) {
  const DF d;
  const Consts k = consts;
  Map(x, n, y, [&](const float* in, float* out) HWY_ATTR LOWBIT_LAMBDA_INLINE {
    hn::StoreU(EncodedValue<V>(Encode<V, K, false, kFast>(k, hn::LoadU(d, in))), d, out);
  });
}

template <pwlq_variant V, int K>
HWY_INLINE void DequantizeImpl(const pwlq_code* HWY_RESTRICT q, size_t n, const Consts& consts, float* HWY_RESTRICT y) {
  const DF d;
  const Consts k = consts;
  Map(q, n, y, [&](const pwlq_code* in, float* out) HWY_ATTR LOWBIT_LAMBDA_INLINE {
    hn::StoreU(Decode<V, K>(k, LoadCodes(in)), d, out);
  });
}

// Calls f.template operator()<variant, k>() for the run.
template <class F>
HWY_INLINE void WithShape(const ref::pwlq_run& r, F&& f) {
  if (r.variant == pwlq_variant::reference) {
    if (r.k == 1) return f.template operator()<pwlq_variant::reference, 1>();
    if (r.k == 2) return f.template operator()<pwlq_variant::reference, 2>();
    return f.template operator()<pwlq_variant::reference, 3>();
  }
  if (r.k == 1) return f.template operator()<pwlq_variant::paper, 1>();
  if (r.k == 2) return f.template operator()<pwlq_variant::paper, 2>();
  return f.template operator()<pwlq_variant::paper, 3>();
}

// Calls f.template operator()<variant, k, fast>() for the run (fast = FastClampsExact(r)).
template <class F>
HWY_INLINE void WithShapeFast(const ref::pwlq_run& r, F&& f) {
  if (FastClampsExact(r)) {
    WithShape(r, [&]<pwlq_variant V, int K>() { f.template operator()<V, K, true>(); });
  } else {
    WithShape(r, [&]<pwlq_variant V, int K>() { f.template operator()<V, K, false>(); });
  }
}

// Footprint (bytes read + written) from which quantize streams its output past the caches: the
// threshold of the uniform kernels (src/cpu/uniform-inl.h), above the 32 MiB L3 measured there.
constexpr size_t kStreamBytes = size_t{48} << 20;

inline void QuantizeRun(const float* HWY_RESTRICT x, size_t n, const ref::pwlq_run& r, pwlq_code* HWY_RESTRICT q) {
  if (r.zero) {  // every value encodes to {0, 0}
    std::fill_n(q, n, pwlq_code{});
    return;
  }
  const Consts k(r);
  // Streaming needs 2-byte aligned codes (pwlq_code is byte-aligned; vector arrays are not odd).
  if (n * (sizeof(float) + sizeof(pwlq_code)) < kStreamBytes || reinterpret_cast<uintptr_t>(q) % 2 != 0) {
    WithShapeFast(r, [&]<pwlq_variant V, int K, bool kFast>() { QuantizeImpl<V, K, kFast>(x, n, k, q); });
    return;
  }
  // As uniform quantize: outputs that cannot stay in cache go around it (no read-for-ownership of the
  // output lines). The head up to the first aligned output vector and the tail are stored normally.
  const size_t lanes = hn::Lanes(DF());
  const size_t misalign = reinterpret_cast<uintptr_t>(q) % (lanes * sizeof(pwlq_code)) / sizeof(pwlq_code);
  const size_t head = std::min(n, misalign == 0 ? size_t{0} : lanes - misalign);
  const size_t body = (n - head) / lanes * lanes;
  WithShapeFast(r, [&]<pwlq_variant V, int K, bool kFast>() {
    QuantizeImpl<V, K, kFast>(x, head, k, q);
    QuantizeImpl<V, K, kFast, true>(x + head, body, k, q + head);
    QuantizeImpl<V, K, kFast>(x + head + body, n - head - body, k, q + head + body);
  });
  hwy::FlushStream();
}

inline void FakeQuantizeRun(const float* x, size_t n, const ref::pwlq_run& r, float* y) {
  if (r.zero) {  // every value encodes to {0, 0}, whose value is +0
    std::fill_n(y, n, 0.0f);
    return;
  }
  const Consts k(r);
  WithShapeFast(r, [&]<pwlq_variant V, int K, bool kFast>() { FakeQuantizeImpl<V, K, kFast>(x, n, k, y); });
}

inline void DequantizeRun(const pwlq_code* HWY_RESTRICT q, size_t n, const ref::pwlq_run& r, float* HWY_RESTRICT y) {
  // The all-zero channel needs no special case: its edges and steps are 0 and the formulas give the
  // oracle's ±0.
  const Consts k(r);
  WithShape(r, [&]<pwlq_variant V, int K>() { DequantizeImpl<V, K>(q, n, k, y); });
}

}  // namespace pw
}  // namespace lowbit::detail::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#endif  // per-target include guard
