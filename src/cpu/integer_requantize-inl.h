// lowbit — per-target integer requantization kernels (Highway): int32 accumulators -> int8 / uint8 /
// int16 codes with fixed-point multipliers. Included once per target by src/cpu/integer_requantize.cc
// through hwy/foreach_target.h. Every kernel equals lowbit/ref/integer_requantize.h bit for bit.
// SPDX-License-Identifier: Apache-2.0
//
// The arithmetic, per int32 lane x with multiplier m in [0, 2^31) and shift s (lsh = max(s, 0),
// rsh = max(-s, 0)), all exact:
//   p      = int64(x') * m            32x32 -> 64 (MulEven on the even lanes, and on the odd lanes
//                                     shifted down to even), x' = x << lsh (wrapping) for double rounding
//   Hi31   = bits 31..62 of a 64-bit value = floor(v / 2^31) when it fits in int32 (it does for p and
//            p + 2^30, |p| < 2^62): even lanes by a logical right shift by 31 (low half), odd lanes by a
//            left shift by 1 (high half), interleaved back with OddEven
//   double_rounding:  s = Hi31(p + 2^30)                       (SRDHM; m >= 0 so it never saturates)
//                     RoundingDivideByPOT(s, e), e = rsh >= 1, half away from zero, without overflow:
//                     t = s - (s < 0);  q = t >> (e - 1);  result = q - (q >> 1)   (= ceil(q / 2))
//                     since ties away = floor((s - [s < 0]) / 2^e + 1/2).
//   single_rounding:  s <= 0, k = -s:  h = Hi31(p);  result = (h >> k) + ((h >> (k - 1)) & 1)   (k >= 1)
//                                      k = 0: result = Hi31(p + 2^30)
//                     s > 0, ts = 31 - s in [1, 30]: h = Hi31(p), l = p & (2^31 - 1):
//                       r0 = (h << s) + (l >> ts) = floor(p / 2^ts), exact when c = h >> ts is 0 or -1
//                       result = c > 0 ? INT32_MAX : c < -1 ? INT32_MIN : max(r0, r0 + bit(ts-1) of l)
//   code = min(max(result, act_min - zp), act_max - zp) + zp   (the bounds are small: no overflow)

// Per-target include guard (Highway convention).
#if defined(LOWBIT_SRC_CPU_INTEGER_REQUANTIZE_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef LOWBIT_SRC_CPU_INTEGER_REQUANTIZE_INL_H_
#undef LOWBIT_SRC_CPU_INTEGER_REQUANTIZE_INL_H_
#else
#define LOWBIT_SRC_CPU_INTEGER_REQUANTIZE_INL_H_
#endif

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <type_traits>

#include "hwy/highway.h"
#include "lowbit/detail/integer_requantize_kernels.h"

HWY_BEFORE_NAMESPACE();
namespace lowbit::detail::HWY_NAMESPACE {
namespace rq {
namespace hn = hwy::HWY_NAMESPACE;

using DI = hn::ScalableTag<int32_t>;
using VI = hn::Vec<DI>;

constexpr size_t kMaxLanes = HWY_MAX_BYTES / sizeof(int32_t);
static_assert(kMaxLanes <= k_requant_pad, "channel tables are padded for at most k_requant_pad lanes");

// Which arithmetic the lanes need; chosen once per call from the range of the shifts.
enum class Variant {
  kZero,         // every shift == 0: Hi31(p + 2^30) (both roundings agree)
  kDoubleRight,  // double rounding, every shift < 0
  kDoubleAny,    // double rounding, any shifts (left shift per lane, masked rounding)
  kSingleRight,  // single rounding, every shift < 0
  kSinglePos,    // single rounding, every shift > 0
  kSingleAny,    // single rounding, any shifts (both formulas, blended per lane)
};

// The parameters of the lanes of one vector.
struct Lanes {
  VI m, lsh, rsh;
};

#if HWY_TARGET == HWY_SCALAR
// One lane: there is no 64-bit lane to hold the products, so the lane is the reference itself.
template <Variant kV, bool kUniform>
HWY_INLINE VI Scale(VI x, const Lanes& l) {
  constexpr bool kDouble = kV == Variant::kZero || kV == Variant::kDoubleRight || kV == Variant::kDoubleAny;
  const fxp::quantized_multiplier m{hn::GetLane(l.m), hn::GetLane(l.lsh) - hn::GetLane(l.rsh)};
  return hn::Set(DI(), fxp::multiply_by_quantized_multiplier(
                           hn::GetLane(x), m,
                           kDouble ? fxp::requant_rounding::double_rounding : fxp::requant_rounding::single_rounding));
}
#else
using DI64 = hn::Repartition<int64_t, DI>;
using V64 = hn::Vec<DI64>;
using DU64 = hn::Repartition<uint64_t, DI>;

// The odd int32 lanes moved down into the even positions (for MulEven).
HWY_INLINE VI OddToEven(VI v) {
  const DI di;
  const DU64 du;
  return hn::BitCast(di, hn::ShiftRight<32>(hn::BitCast(du, v)));
}

// Bits 31..62 of the 64-bit even-lane values pe and odd-lane values po, as int32 lanes in order.
HWY_INLINE VI Hi31(V64 pe, V64 po) {
  const DI di;
  const DU64 du;
  const auto even = hn::ShiftRight<31>(hn::BitCast(du, pe));  // result in the low half
  const auto odd = hn::ShiftLeft<1>(hn::BitCast(du, po));     // result in the high half
  return hn::OddEven(hn::BitCast(di, odd), hn::BitCast(di, even));
}

// Bits 0..30 of pe / po, as int32 lanes in order.
HWY_INLINE VI Lo31(V64 pe, V64 po) {
  const DI di;
  const DU64 du;
  const auto odd = hn::ShiftLeft<32>(hn::BitCast(du, po));
  return hn::And(hn::OddEven(hn::BitCast(di, odd), hn::BitCast(di, pe)), hn::Set(di, 0x7FFFFFFF));
}

// The 64-bit products of the even and odd lanes of x with m.
template <bool kUniform>
HWY_INLINE void Products(VI x, VI m, V64& pe, V64& po) {
  pe = hn::MulEven(x, m);
  po = hn::MulEven(OddToEven(x), kUniform ? m : OddToEven(m));
}

// multiply_by_quantized_multiplier of every lane (before zero point and clamp).
template <Variant kV, bool kUniform>
HWY_INLINE VI Scale(VI x, const Lanes& l) {
  const DI di;
  const DI64 d64;
  const VI one = hn::Set(di, 1);
  V64 pe, po;
  if constexpr (kV == Variant::kZero) {
    Products<kUniform>(x, l.m, pe, po);
    const V64 nudge = hn::Set(d64, int64_t{1} << 30);
    return Hi31(hn::Add(pe, nudge), hn::Add(po, nudge));
  } else if constexpr (kV == Variant::kDoubleRight) {
    Products<kUniform>(x, l.m, pe, po);
    const V64 nudge = hn::Set(d64, int64_t{1} << 30);
    const VI s = Hi31(hn::Add(pe, nudge), hn::Add(po, nudge));
    const VI t = hn::Add(s, hn::ShiftRight<31>(s));
    const VI q = t >> hn::Sub(l.rsh, one);
    return hn::Sub(q, hn::ShiftRight<1>(q));
  } else if constexpr (kV == Variant::kDoubleAny) {
    Products<kUniform>(x << l.lsh, l.m, pe, po);
    const V64 nudge = hn::Set(d64, int64_t{1} << 30);
    const VI s = Hi31(hn::Add(pe, nudge), hn::Add(po, nudge));
    const VI bm = hn::Min(l.rsh, one);         // 1 where the lane divides, else 0
    const VI all = hn::Sub(hn::Zero(di), bm);  // -1 where the lane divides, else 0
    const VI t = hn::Add(s, hn::And(hn::ShiftRight<31>(s), all));
    const VI q = t >> hn::Sub(l.rsh, bm);
    return hn::Sub(q, hn::And(hn::ShiftRight<1>(q), all));
  } else if constexpr (kV == Variant::kSingleRight) {
    Products<kUniform>(x, l.m, pe, po);
    const VI h = Hi31(pe, po);
    return hn::Add(h >> l.rsh, hn::And(h >> hn::Sub(l.rsh, one), one));
  } else {
    Products<kUniform>(x, l.m, pe, po);
    const VI h = Hi31(pe, po);
    // Lanes with shift > 0.
    const VI l31 = Lo31(pe, po);
    const VI ts = hn::Sub(hn::Set(di, 31), l.lsh);
    const VI r0 = hn::Add(h << l.lsh, l31 >> ts);
    const VI b = hn::And(l31 >> hn::Sub(ts, one), one);
    const VI c = h >> ts;
    const VI r1 = hn::Max(r0, hn::Add(r0, b));
    const VI pos = hn::IfThenElse(hn::Gt(c, hn::Zero(di)), hn::Set(di, hwy::LimitsMax<int32_t>()),
                                  hn::IfThenElse(hn::Lt(c, hn::Set(di, -1)), hn::Set(di, hwy::LimitsMin<int32_t>()), r1));
    if constexpr (kV == Variant::kSinglePos) {
      return pos;
    } else {
      // Lanes with shift <= 0: the nudge 2^30 only where k == 0.
      const VI bm = hn::Min(l.rsh, one);
      const VI nudge32 = hn::ShiftLeft<30>(hn::Sub(one, bm));
      const DU64 du;
      const V64 ne = hn::BitCast(d64, hn::And(hn::BitCast(du, nudge32), hn::Set(du, 0xFFFFFFFFull)));
      const V64 no = hn::BitCast(d64, hn::ShiftRight<32>(hn::BitCast(du, nudge32)));
      const VI hn0 = Hi31(hn::Add(pe, ne), hn::Add(po, no));
      const VI neg = hn::Add(hn0 >> l.rsh, hn::And(hn0 >> hn::Sub(l.rsh, bm), bm));
      return hn::IfThenElse(hn::Gt(l.lsh, hn::Zero(di)), pos, neg);
    }
  }
}

#endif  // HWY_TARGET == HWY_SCALAR

// Stores one vector of int32 lanes already inside Code's range.
template <class Code>
HWY_INLINE void Store1(VI v, Code* HWY_RESTRICT out) {
  const hn::Rebind<Code, DI> dc;
  hn::StoreU(hn::DemoteTo(dc, v), dc, out);
}

// Stores four vectors (4 * Lanes(DI()) codes), already inside Code's range.
template <class Code>
HWY_INLINE void Store4(VI a, VI b, VI c, VI d, Code* HWY_RESTRICT out) {
#if HWY_TARGET == HWY_AVX3 || HWY_TARGET == HWY_AVX3_DL
  if constexpr (sizeof(Code) == 1) {
    const __m512i ab = _mm512_packs_epi32(a.raw, b.raw);  // per 128-bit block: a0..3 b0..3
    const __m512i cd = _mm512_packs_epi32(c.raw, d.raw);
    const __m512i abcd = std::is_signed_v<Code> ? _mm512_packs_epi16(ab, cd) : _mm512_packus_epi16(ab, cd);
    const __m512i idx = _mm512_setr_epi32(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15);
    _mm512_storeu_si512(reinterpret_cast<void*>(out), _mm512_permutexvar_epi32(idx, abcd));
  } else {
    const __m512i idx = _mm512_setr_epi64(0, 2, 4, 6, 1, 3, 5, 7);
    _mm512_storeu_si512(reinterpret_cast<void*>(out),
                        _mm512_permutexvar_epi64(idx, _mm512_packs_epi32(a.raw, b.raw)));
    _mm512_storeu_si512(reinterpret_cast<void*>(out + 32),
                        _mm512_permutexvar_epi64(idx, _mm512_packs_epi32(c.raw, d.raw)));
  }
#elif HWY_TARGET == HWY_AVX2
  if constexpr (sizeof(Code) == 1) {
    const __m256i ab = _mm256_packs_epi32(a.raw, b.raw);  // per 128-bit block: a0..3 b0..3
    const __m256i cd = _mm256_packs_epi32(c.raw, d.raw);
    const __m256i abcd = std::is_signed_v<Code> ? _mm256_packs_epi16(ab, cd) : _mm256_packus_epi16(ab, cd);
    const __m256i idx = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(out), _mm256_permutevar8x32_epi32(abcd, idx));
  } else {
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(out),
                        _mm256_permute4x64_epi64(_mm256_packs_epi32(a.raw, b.raw), 0xD8));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + 16),
                        _mm256_permute4x64_epi64(_mm256_packs_epi32(c.raw, d.raw), 0xD8));
  }
#else
  const size_t N = hn::Lanes(DI());
  Store1(a, out);
  Store1(b, out + N);
  Store1(c, out + 2 * N);
  Store1(d, out + 3 * N);
#endif
}

// Per-tensor lane parameters: the same for every vector.
class TensorSource {
 public:
  explicit TensorSource(const requant_kernel_params& p) {
    const DI di;
    l_.m = hn::Set(di, p.multiplier[0]);
    l_.lsh = hn::Set(di, p.left_shift[0]);
    l_.rsh = hn::Set(di, p.right_shift[0]);
  }
  HWY_INLINE const Lanes& Get() const { return l_; }
  HWY_INLINE void Advance() {}

 private:
  Lanes l_;
};

// Per-channel lane parameters: element i is channel i % channels; the tables repeat the channels for
// k_requant_pad more entries, so the vector starting at channel o loads its lanes at o.
class ChannelSource {
 public:
  explicit ChannelSource(const requant_kernel_params& p)
      : m_(p.multiplier), lsh_(p.left_shift), rsh_(p.right_shift), channels_(p.channels),
        step_(hn::Lanes(DI()) % p.channels) {}
  HWY_INLINE Lanes Get() const {
    const DI di;
    return {hn::LoadU(di, m_ + o_), hn::LoadU(di, lsh_ + o_), hn::LoadU(di, rsh_ + o_)};
  }
  HWY_INLINE void Advance() {
    o_ += step_;
    if (o_ >= channels_) o_ -= channels_;
  }

 private:
  const int32_t* m_;
  const int32_t* lsh_;
  const int32_t* rsh_;
  size_t channels_;
  size_t step_;
  size_t o_ = 0;
};

template <Variant kV, bool kUniform, class Src, class Code>
HWY_INLINE void RequantizeImpl(const int32_t* HWY_RESTRICT acc, size_t n, const requant_kernel_params& p, Src src,
                               Code* HWY_RESTRICT out) {
  const DI di;
  const size_t N = hn::Lanes(di);
  const VI zp = hn::Set(di, p.zero_point);
  const VI lo = hn::Set(di, p.act_min - p.zero_point);
  const VI hi = hn::Set(di, p.act_max - p.zero_point);
  const auto step = [&](VI x) HWY_ATTR __attribute__((always_inline)) {
    const VI r = Scale<kV, kUniform>(x, src.Get());
    src.Advance();
    return hn::Add(hn::Min(hn::Max(r, lo), hi), zp);
  };
  size_t i = 0;
  for (; i + 4 * N <= n; i += 4 * N) {
    const VI a = step(hn::LoadU(di, acc + i));
    const VI b = step(hn::LoadU(di, acc + i + N));
    const VI c = step(hn::LoadU(di, acc + i + 2 * N));
    const VI d = step(hn::LoadU(di, acc + i + 3 * N));
    Store4(a, b, c, d, out + i);
  }
  for (; i + N <= n; i += N) Store1(step(hn::LoadU(di, acc + i)), out + i);
  if (i < n) {
    const size_t count = n - i;
    HWY_ALIGN int32_t in_block[kMaxLanes] = {};
    HWY_ALIGN Code out_block[kMaxLanes];
    std::memcpy(in_block, acc + i, count * sizeof(int32_t));
    Store1(step(hn::Load(di, in_block)), out_block);
    std::memcpy(out + i, out_block, count * sizeof(Code));
  }
}

template <bool kUniform, class Src, class Code>
HWY_INLINE void RequantizeWith(const int32_t* HWY_RESTRICT acc, size_t n, const requant_kernel_params& p,
                               const Src& src, Code* HWY_RESTRICT out) {
  if (p.min_shift == 0 && p.max_shift == 0) {
    return RequantizeImpl<Variant::kZero, kUniform>(acc, n, p, src, out);
  }
  if (p.rounding == fxp::requant_rounding::single_rounding) {
    if (p.max_shift < 0) return RequantizeImpl<Variant::kSingleRight, kUniform>(acc, n, p, src, out);
    if (p.min_shift > 0) return RequantizeImpl<Variant::kSinglePos, kUniform>(acc, n, p, src, out);
    return RequantizeImpl<Variant::kSingleAny, kUniform>(acc, n, p, src, out);
  }
  if (p.max_shift < 0) return RequantizeImpl<Variant::kDoubleRight, kUniform>(acc, n, p, src, out);
  return RequantizeImpl<Variant::kDoubleAny, kUniform>(acc, n, p, src, out);
}

template <class Code>
void RequantizeS32(const int32_t* HWY_RESTRICT acc, size_t n, const requant_kernel_params& p, Code* HWY_RESTRICT out) {
  if (p.channels == 1) {
    RequantizeWith<true>(acc, n, p, TensorSource(p), out);
  } else {
    RequantizeWith<false>(acc, n, p, ChannelSource(p), out);
  }
}

}  // namespace rq
}  // namespace lowbit::detail::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#endif  // LOWBIT_SRC_CPU_INTEGER_REQUANTIZE_INL_H_
