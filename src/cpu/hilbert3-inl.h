// lowbit — per-target 3-D Hilbert-curve exact decoding kernels (Highway). Included once per target by
// src/cpu/hilbert.cc through hwy/foreach_target.h, after src/cpu/hilbert-inl.h (whose helpers it uses).
// Every kernel equals hilbert3_curve::decode bit for bit (tests/hilbert_simd_test.cc).
// SPDX-License-Identifier: Apache-2.0
//
// The oracle (src/hilbert3.cc, nearest_exact): u = clamp(x, 0, 1) * scale + offset (likewise v, w),
// i = clamp(floor(u), 0, N - 2) (likewise j, k); the candidates are the segments d - 1 and d (clamped
// into [0, M - 2]) of the eight vertices C of the lattice cube {i, i+1} x {j, j+1} x {k, k+1}, each
// evaluated by link_candidate from C's link nibble: the segment's other end O = C + step along its
// axis, box [min(C, O), max(C, O)] per coordinate (C's own coordinate on the two other axes),
//   qx = min(max(u, box_lo), box_hi) (likewise qy, qz), dx = u - qx, ...,
//   dist2 = (dx * dx + dy * dy) + dz * dz,  s = ((e + |qx - Sx|) + |qy - Sy|) + |qz - Sz|
// (S = the segment's start: C or O), and the lexicographic minimum (dist2, s) is kept;
// t = clamp(lo + (hi - lo) * (s / (M - 1)), lo, hi), distance = sqrt(dist2) / scale, each rounded once
// to float32. The lanes compute exactly these operations on the same values (the library compiles with
// -ffp-contract=off; Highway's Mul / Add are separate instructions):
//  * Box bounds and starts are small integers, exact in both. The clamps use Min / Max, which may
//    differ from std::min / std::max only in the sign of a zero result; a zero's sign reaches dist2
//    only squared and s only through |.|, so the values are the same. u itself is never -0 (the
//    lattice map adds +0.0 or -0.5).
//  * The minimum: the oracle's is the minimum of a total order on (dist2, s) (no NaN reaches it), so
//    any evaluation order gives it; here min dist2 first, then the least s among the candidates with
//    that dist2.
//  * NaN x, y or z: the lane runs on 0 and its outputs are replaced by the quiet NaN at the end.
// The corner entries come from one 8-byte gather per (j, k) row pair: entries p and p + 1 (i and
// i + 1 share a row, i <= N - 2), four gathers per vector.

// Per-target include guard (Highway convention).
#if defined(LOWBIT_SRC_CPU_HILBERT3_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef LOWBIT_SRC_CPU_HILBERT3_INL_H_
#undef LOWBIT_SRC_CPU_HILBERT3_INL_H_
#else
#define LOWBIT_SRC_CPU_HILBERT3_INL_H_
#endif

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>

#include "hwy/highway.h"
#include "lowbit/detail/hilbert_kernels.h"

HWY_BEFORE_NAMESPACE();
namespace lowbit::detail::HWY_NAMESPACE {
namespace hb3 {
namespace hn = hwy::HWY_NAMESPACE;
using hb::DD;
using hb::DH;
using hb::DI;
using hb::MD;
using hb::VD;
using hb::VH;
using hb::VI;

// The masks of one link nibble starting at bit `base` of a looked-up word.
struct LinkBits {
  VI a0, a1, pos, from_c;
};

struct Consts3 {
  VD zero, one, neg_one, nan, scale, offset, top, side, side2, magic, m1, m2, lo, hi, hl;
  VI magic_bits, d_mask;
  LinkBits link[4];  // low entry: d - 1, d; high entry: d - 1, d
  explicit Consts3(const hilbert3_kernel_args& a) {
    const DD d;
    const DI di;
    zero = hn::Zero(d);
    one = hn::Set(d, 1.0);
    neg_one = hn::Set(d, -1.0);
    nan = hn::Set(d, std::numeric_limits<double>::quiet_NaN());
    scale = hn::Set(d, a.scale);
    offset = hn::Set(d, a.offset);
    top = hn::Set(d, static_cast<double>(a.side - 2));
    side = hn::Set(d, static_cast<double>(a.side));
    side2 = hn::Set(d, static_cast<double>(a.side) * a.side);
    magic = hn::Set(d, hb::kMagic);
    m1 = hn::Set(d, static_cast<double>(a.vertices - 1));
    m2 = hn::Set(d, static_cast<double>(a.vertices - 2));
    lo = hn::Set(d, a.lo);
    hi = hn::Set(d, a.hi);
    hl = hn::Set(d, a.hi - a.lo);
    magic_bits = hn::Set(di, hb::kMagicBits);
    d_mask = hn::Set(di, (std::int64_t{1} << 24) - 1);
    const int base[4] = {24, 28, 56, 60};
    for (int l = 0; l < 4; ++l) {
      const auto bit = [&](int b) { return hn::Set(di, static_cast<std::int64_t>(std::uint64_t{1} << (base[l] + b))); };
      link[l] = {bit(0), bit(1), bit(2), bit(3)};
    }
  }
};

HWY_INLINE MD Test(VI w, VI bit) { return hn::RebindMask(DD(), hn::TestBit(w, bit)); }

// d of the low (kHigh = false) or high entry of a looked-up word, as double (exact: d < 2^24).
template <bool kHigh>
HWY_INLINE VD EntryD(const Consts3& k, VI w) {
  const VI e = kHigh ? hn::ShiftRight<32>(w) : w;
  return hn::Sub(hn::BitCast(DD(), hn::Or(hn::And(e, k.d_mask), k.magic_bits)), k.magic);
}

struct Best {
  VD d2, s;
};

// link_candidate of src/hilbert3.cc for corner (cx, cy, cz), its link masks and segment index e.
HWY_INLINE void Candidate(const Consts3& k, VD u, VD v, VD w, VD cx, VD cy, VD cz, VI word, const LinkBits& lb, VD e,
                          VD& d2, VD& s) {
  const MD a0 = Test(word, lb.a0), a1 = Test(word, lb.a1);
  const MD is0 = hn::Not(hn::Or(a0, a1));
  const VD step = hn::IfThenElse(Test(word, lb.pos), k.one, k.neg_one);
  const MD from_c = Test(word, lb.from_c);
  const VD ox = hn::IfThenElse(is0, hn::Add(cx, step), cx);
  const VD oy = hn::IfThenElse(a0, hn::Add(cy, step), cy);
  const VD oz = hn::IfThenElse(a1, hn::Add(cz, step), cz);
  const VD qx = hn::Min(hn::Max(u, hn::Min(cx, ox)), hn::Max(cx, ox));
  const VD qy = hn::Min(hn::Max(v, hn::Min(cy, oy)), hn::Max(cy, oy));
  const VD qz = hn::Min(hn::Max(w, hn::Min(cz, oz)), hn::Max(cz, oz));
  const VD dx = hn::Sub(u, qx), dy = hn::Sub(v, qy), dz = hn::Sub(w, qz);
  d2 = hn::Add(hn::Add(hn::Mul(dx, dx), hn::Mul(dy, dy)), hn::Mul(dz, dz));
  const VD sx = hn::IfThenElse(from_c, cx, ox), sy = hn::IfThenElse(from_c, cy, oy), sz = hn::IfThenElse(from_c, cz, oz);
  s = hn::Add(hn::Add(hn::Add(e, hn::Abs(hn::Sub(qx, sx))), hn::Abs(hn::Sub(qy, sy))), hn::Abs(hn::Sub(qz, sz)));
}

// The nearest point of the curve to (x, y, z) (finite or ±Inf, NaN already replaced).
HWY_INLINE Best Nearest(const Consts3& k, const std::uint32_t* corner, VD x, VD y, VD z) {
  const DI di;
  const VD u = hn::Add(hn::Mul(hn::Min(hn::Max(x, k.zero), k.one), k.scale), k.offset);
  const VD v = hn::Add(hn::Mul(hn::Min(hn::Max(y, k.zero), k.one), k.scale), k.offset);
  const VD w = hn::Add(hn::Mul(hn::Min(hn::Max(z, k.zero), k.one), k.scale), k.offset);
  const VD fi = hn::Min(hn::Max(hn::Floor(u), k.zero), k.top);
  const VD fj = hn::Min(hn::Max(hn::Floor(v), k.zero), k.top);
  const VD fk = hn::Min(hn::Max(hn::Floor(w), k.zero), k.top);
  const VD pd = hn::Add(hn::Add(hn::Mul(fk, k.side2), hn::Mul(fj, k.side)), fi);  // exact: < 2^18
  const auto* table = reinterpret_cast<const std::int64_t*>(corner);
  VD d2[16], s[16];
  int c = 0;
  for (int dk = 0; dk < 2; ++dk) {
    for (int dj = 0; dj < 2; ++dj) {
      const VD pr = hn::Add(hn::Add(pd, dk ? k.side2 : k.zero), dj ? k.side : k.zero);  // exact
      const VI pi = hn::Sub(hn::BitCast(di, hn::Add(pr, k.magic)), k.magic_bits);
      const VI word = hn::GatherOffset(di, table, hn::ShiftLeft<2>(pi));
      const VD cy = dj ? hn::Add(fj, k.one) : fj, cz = dk ? hn::Add(fk, k.one) : fk;
      for (int di_ = 0; di_ < 2; ++di_) {
        const VD cx = di_ ? hn::Add(fi, k.one) : fi;
        const VD d = di_ ? EntryD<true>(k, word) : EntryD<false>(k, word);
        const VD e_prev = hn::Max(hn::Sub(d, k.one), k.zero);  // d - (d > 0), exact
        const VD e_next = hn::Min(d, k.m2);
        Candidate(k, u, v, w, cx, cy, cz, word, k.link[2 * di_], e_prev, d2[c], s[c]);
        Candidate(k, u, v, w, cx, cy, cz, word, k.link[2 * di_ + 1], e_next, d2[c + 1], s[c + 1]);
        c += 2;
      }
    }
  }
  VD m = d2[0];
  for (int r = 1; r < 16; ++r) m = hn::Min(m, d2[r]);
  VD sm = hn::Set(DD(), std::numeric_limits<double>::infinity());
  for (int r = 0; r < 16; ++r) sm = hb::MaskedMinOr(sm, hn::Eq(d2[r], m), sm, s[r]);
  return {m, sm};
}

// One vector of points (float32 coordinates widened to double) -> t and distance (float32).
template <bool kDist>
HWY_INLINE void DecodeVec(const Consts3& k, const std::uint32_t* corner, VD x, VD y, VD z, float* HWY_RESTRICT t,
                          float* HWY_RESTRICT dist) {
  const DH dh;
  const MD valid = hn::And(hn::And(hn::Eq(x, x), hn::Eq(y, y)), hn::Eq(z, z));
  const Best b = Nearest(k, corner, hn::IfThenElseZero(valid, x), hn::IfThenElseZero(valid, y),
                         hn::IfThenElseZero(valid, z));
  const VD tv = hb::ClampExact(hn::Add(k.lo, hn::Mul(k.hl, hn::Div(b.s, k.m1))), k.lo, k.hi);
  hn::StoreU(hn::DemoteTo(dh, hn::IfThenElse(valid, tv, k.nan)), dh, t);
  if constexpr (kDist) {
    const VD dv = hn::Div(hn::Sqrt(b.d2), k.scale);
    hn::StoreU(hn::DemoteTo(dh, hn::IfThenElse(valid, dv, k.nan)), dh, dist);
  }
}

template <bool kDist>
HWY_INLINE void DecodePlanarImpl(const Consts3& consts, const std::uint32_t* corner, const float* HWY_RESTRICT x,
                                 const float* HWY_RESTRICT y, const float* HWY_RESTRICT z, size_t n,
                                 float* HWY_RESTRICT t, float* HWY_RESTRICT dist) {
  const DD d;
  const DH dh;
  const Consts3 k = consts;
  hb::ForEachVector(
      n, hn::Lanes(d),
      [&](size_t i) HWY_ATTR LOWBIT_LAMBDA_INLINE {
        DecodeVec<kDist>(k, corner, hn::PromoteTo(d, hn::LoadU(dh, x + i)), hn::PromoteTo(d, hn::LoadU(dh, y + i)),
                         hn::PromoteTo(d, hn::LoadU(dh, z + i)), t + i, kDist ? dist + i : nullptr);
      },
      [&](size_t i, size_t count) HWY_ATTR {
        HWY_ALIGN float bx[hb::kMaxLanes] = {}, by[hb::kMaxLanes] = {}, bz[hb::kMaxLanes] = {};
        HWY_ALIGN float bt[hb::kMaxLanes], bd[hb::kMaxLanes];
        std::memcpy(bx, x + i, count * sizeof(float));
        std::memcpy(by, y + i, count * sizeof(float));
        std::memcpy(bz, z + i, count * sizeof(float));
        DecodeVec<kDist>(k, corner, hn::PromoteTo(d, hn::Load(dh, bx)), hn::PromoteTo(d, hn::Load(dh, by)),
                         hn::PromoteTo(d, hn::Load(dh, bz)), bt, bd);
        std::memcpy(t + i, bt, count * sizeof(float));
        if constexpr (kDist) std::memcpy(dist + i, bd, count * sizeof(float));
      });
}

template <bool kDist>
HWY_INLINE void DecodeInterleavedImpl(const Consts3& consts, const std::uint32_t* corner, const float* HWY_RESTRICT xyz,
                                      size_t n, float* HWY_RESTRICT t, float* HWY_RESTRICT dist) {
  const DD d;
  const DH dh;
  const Consts3 k = consts;
  hb::ForEachVector(
      n, hn::Lanes(d),
      [&](size_t i) HWY_ATTR LOWBIT_LAMBDA_INLINE {
        VH xf, yf, zf;
        hn::LoadInterleaved3(dh, xyz + 3 * i, xf, yf, zf);
        DecodeVec<kDist>(k, corner, hn::PromoteTo(d, xf), hn::PromoteTo(d, yf), hn::PromoteTo(d, zf), t + i,
                         kDist ? dist + i : nullptr);
      },
      [&](size_t i, size_t count) HWY_ATTR {
        HWY_ALIGN float bxyz[3 * hb::kMaxLanes] = {};
        HWY_ALIGN float bt[hb::kMaxLanes], bd[hb::kMaxLanes];
        std::memcpy(bxyz, xyz + 3 * i, 3 * count * sizeof(float));
        VH xf, yf, zf;
        hn::LoadInterleaved3(dh, bxyz, xf, yf, zf);
        DecodeVec<kDist>(k, corner, hn::PromoteTo(d, xf), hn::PromoteTo(d, yf), hn::PromoteTo(d, zf), bt, bd);
        std::memcpy(t + i, bt, count * sizeof(float));
        if constexpr (kDist) std::memcpy(dist + i, bd, count * sizeof(float));
      });
}

inline void DecodePlanar(const hilbert3_kernel_args& a, const float* x, const float* y, const float* z, size_t n,
                         float* t, float* dist) {
  const Consts3 k(a);
  if (dist) {
    DecodePlanarImpl<true>(k, a.corner, x, y, z, n, t, dist);
  } else {
    DecodePlanarImpl<false>(k, a.corner, x, y, z, n, t, nullptr);
  }
}

inline void DecodeInterleaved(const hilbert3_kernel_args& a, const float* xyz, size_t n, float* t, float* dist) {
  const Consts3 k(a);
  if (dist) {
    DecodeInterleavedImpl<true>(k, a.corner, xyz, n, t, dist);
  } else {
    DecodeInterleavedImpl<false>(k, a.corner, xyz, n, t, nullptr);
  }
}

}  // namespace hb3
}  // namespace lowbit::detail::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#endif  // per-target include guard
