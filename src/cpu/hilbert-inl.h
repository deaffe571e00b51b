// lowbit — per-target Hilbert-curve decoding kernels (Highway). Included once per target by
// src/cpu/hilbert.cc through hwy/foreach_target.h. Every kernel equals hilbert_curve::decode bit for
// bit (tests/hilbert_simd_test.cc).
// SPDX-License-Identifier: Apache-2.0
//
// The exact decoder in float64 lanes
// ----------------------------------
// The oracle (src/hilbert.cc, nearest_exact): u = clamp(x, 0, 1) * scale + offset (likewise v),
// i = clamp(floor(u), 0, N - 2), j alike; the candidates are the segments d - 1 and d of the four
// vertices C of the lattice square {i, i+1} x {j, j+1}; each is evaluated as
//   cx = min(max(u, min(ax, bx)), max(ax, bx)), cy alike, dx = u - cx, dy = v - cy,
//   dist2 = dx * dx + dy * dy,  s = k + |cx - ax| + |cy - ay|      (segment k from V_k = A to B)
// and the lexicographic minimum (dist2, s) is kept; t = clamp(lo + (hi - lo) * (s / (M - 1)), lo, hi),
// distance = sqrt(dist2) / scale, both rounded once to float32. The lanes compute the same values
// (no contraction: the library is compiled with -ffp-contract=off, and Highway's Mul / Add are
// separate instructions):
//  * Square-relative coordinates. u' = u - i and v' = v - j are exact: i = 0, or i >= 1 and
//    u in [i, i + 1.5] (Sterbenz for u <= 2i; for i = 1, u in (2, 2.5] is a multiple of 2^-51 and so
//    is u - 1 in (1, 1.5]). Every quantity above is then the same real number in both frames
//    (clamps commute with an exact translation; dx, dy, |cx - ax| are single roundings of the same
//    real differences), so it rounds to the same double. Segment ends become -1, 0, 1 or 2, and
//    u' lies in [-0.5, 1.5], so the clamps to [-1, 0] and [1, 2] need one bound each.
//  * Segments are unit and axis-parallel: the across coordinate clamps to the segment's line, so
//    dist2 = (along residual)^2 + (across residual)^2 (addition commutes exactly) and one of
//    |cx - ax|, |cy - ay| is 0, so k + a + 0 = k + 0 + a = k + a. The 12 distinct unit edges incident
//    to the square's corners are evaluated once per lane: along residuals r_a = w - clamp(w, a, a + 1)
//    for a = -1, 0, 1, across residuals w and w - 1, and the arc-length parts from the left end
//    (clamp - a) and from the right end ((a + 1) - clamp), each exactly the oracle's |cx - ax|.
//  * Which edges are candidates comes from the corner entries (lowbit/detail/hilbert_kernels.h):
//    the entries of p = j N + i and p + 1 are one 8-byte gather, those of p + N and p + N + 1 a second
//    one. Per corner, the forward candidate is (its edge, s = d + part from C) and the backward one
//    (its edge, s = |d - 1| + part from the other end).
//  * The ends of the curve. At d = 0 the oracle evaluates segment 0 twice; here the backward slot
//    repeats the forward edge with s = 1 + part >= 1 >= the forward s (same dist2): it never wins
//    and equals the forward candidate when it ties. At d = M - 1 the oracle's second candidate is
//    the degenerate "segment M - 1" (V_{M-1} alone, s = M - 1); segment M - 2 (the backward slot)
//    contains V_{M-1} and the clamp minimises each coordinate distance, so its dist2 is <= (rounding
//    is monotone), with s <= M - 1 on equality: the degenerate candidate never changes the minimum.
//    The forward slot there repeats the backward edge with s = M - 1 + part >= M - 1: never below.
//  * The minimum: the oracle's is the minimum of a total order on (dist2, s) (no NaN reaches it), so
//    any evaluation order gives it; here min dist2 first, then the least s among the candidates with
//    that dist2. No -0 reaches the candidates (u' = u - i is +0 when zero), so Min / Max agree with
//    the oracle's std::min / std::max. The input clamp uses Min / Max too (-0 may become +0: the
//    lattice map sends both to the same u); the final clamp of t mirrors std::clamp with compares
//    (ClampExact), which matters for lo = -0.0.
//  * NaN x or y: the lane runs on 0 and its outputs are replaced by the quiet NaN at the end.
// Measured on Zen 4 (AVX-512, 2 shared cores): ~14x the scalar decoder; see bench/hilbert_bench.cc.
//
// The code-pair table lookup: index (clamp(cx) - qmin) << bits | (clamp(cy) - qmin) in int32 lanes,
// then GatherIndex; for 8-bit codes that fill their storage, vector code loads and scalar table loads
// (ExtractLookupImpl, below). Both read the same entries as the scalar loop.

// Per-target include guard (Highway convention).
#if defined(LOWBIT_SRC_CPU_HILBERT_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef LOWBIT_SRC_CPU_HILBERT_INL_H_
#undef LOWBIT_SRC_CPU_HILBERT_INL_H_
#else
#define LOWBIT_SRC_CPU_HILBERT_INL_H_
#endif

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <type_traits>

#include "hwy/highway.h"
#include "lowbit/detail/hilbert_kernels.h"

HWY_BEFORE_NAMESPACE();
namespace lowbit::detail::HWY_NAMESPACE {
namespace hb {
namespace hn = hwy::HWY_NAMESPACE;

#ifndef LOWBIT_LAMBDA_INLINE
#define LOWBIT_LAMBDA_INLINE __attribute__((always_inline))
#endif

using DD = hn::ScalableTag<double>;
using VD = hn::Vec<DD>;
using MD = hn::Mask<DD>;
using DI = hn::RebindToSigned<DD>;  // int64, one per double lane
using VI = hn::Vec<DI>;
using DH = hn::Rebind<float, DD>;   // float32, one per double lane
using VH = hn::Vec<DH>;

constexpr double kMagic = 4503599627370496.0;               // 2^52
constexpr std::int64_t kMagicBits = 0x4330000000000000LL;   // its bits
constexpr size_t kMaxLanes = HWY_MAX_BYTES / sizeof(float);  // an upper bound of every lane count used

// Where the entries of lattice points p and p + 1 (two corners of one row of the square) sit in the
// 64-bit word a lookup returns: p's in the low bits, p + 1's from bit kHi; in each, d in the low kDBits
// bits and the four direction flags from bit kFlag.
template <int kHi, int kDBits, int kFlag>
struct EntryLayout {
  static constexpr int hi = kHi, d_bits = kDBits, flag = kFlag;
};
using GatherLayout = EntryLayout<32, 16, hilbert_corner_flag_shift>;  // two int32 table entries

// The constants of one curve, broadcast. Each kernel copies them to a local (a local whose address does
// not escape is not reloaded after every store, as it would be through a reference).
struct Consts {
  VD zero, one, two, neg_one, inf, nan;
  VD scale, offset, top, side, magic, m1, lo, hi, hl;
  VI magic_bits, d_mask, side_i;
  VI fa, fn, ba, bn;  // flag bits (forward / backward axis_y and negative) of the low entry
  VI fa_hi, fn_hi, ba_hi, bn_hi;  // and of the high entry
  template <class Layout>
  Consts(const hilbert_kernel_args& a, Layout) {
    const DD d;
    const DI di;
    zero = hn::Zero(d);
    one = hn::Set(d, 1.0);
    two = hn::Set(d, 2.0);
    neg_one = hn::Set(d, -1.0);
    inf = hn::Set(d, std::numeric_limits<double>::infinity());
    nan = hn::Set(d, std::numeric_limits<double>::quiet_NaN());
    scale = hn::Set(d, a.scale);
    offset = hn::Set(d, a.offset);
    top = hn::Set(d, static_cast<double>(a.side - 2));
    side = hn::Set(d, static_cast<double>(a.side));
    magic = hn::Set(d, kMagic);
    m1 = hn::Set(d, static_cast<double>(a.vertices - 1));
    lo = hn::Set(d, a.lo);
    hi = hn::Set(d, a.hi);
    hl = hn::Set(d, a.hi - a.lo);
    magic_bits = hn::Set(di, kMagicBits);
    d_mask = hn::Set(di, (std::int64_t{1} << Layout::d_bits) - 1);
    side_i = hn::Set(di, static_cast<std::int64_t>(a.side));
    const auto bit = [&](unsigned flag, int shift) { return hn::Set(di, std::int64_t{flag} << (Layout::flag + shift)); };
    fa = bit(hilbert_forward_axis_y, 0);
    fn = bit(hilbert_forward_negative, 0);
    ba = bit(hilbert_backward_axis_y, 0);
    bn = bit(hilbert_backward_negative, 0);
    fa_hi = bit(hilbert_forward_axis_y, Layout::hi);
    fn_hi = bit(hilbert_forward_negative, Layout::hi);
    ba_hi = bit(hilbert_backward_axis_y, Layout::hi);
    bn_hi = bit(hilbert_backward_negative, Layout::hi);
  }
};

// std::clamp(v, lo, hi): v unless v < lo (lo) or hi < v (hi); keeps -0 as std::clamp does.
HWY_INLINE VD ClampExact(VD v, VD lo, VD hi) {
  return hn::IfThenElse(hn::Lt(v, lo), lo, hn::IfThenElse(hn::Lt(hi, v), hi, v));
}

// Per coordinate w (square-relative, in [-0.5, 1.5]): everything the 12 edges need.
struct Axis {
  VD q_m, q_0, q_1;                 // squared along residuals to the edges [-1, 0], [0, 1], [1, 2]
  VD p_0, p_1;                      // squared across residuals to the lines 0 and 1
  VD l_m, r_m, l_0, r_0, l_1, r_1;  // |c - a| from the left end a / the right end a + 1 of each edge
};

// w >= -0.5 and w <= 1.5 (the lattice hull plus the cell_centre margin), so the oracle's clamps to
// [-1, 0] and [1, 2] reduce to min(w, 0) and max(w, 1) (the other bound never applies; same values).
HWY_INLINE Axis MakeAxis(const Consts& k, VD w) {
  Axis x;
  const VD c_m = hn::Min(w, k.zero);
  const VD c_0 = hn::Min(hn::Max(w, k.zero), k.one);
  const VD c_1 = hn::Max(w, k.one);
  const VD r_m = hn::Sub(w, c_m), r_0 = hn::Sub(w, c_0), r_1 = hn::Sub(w, c_1);
  x.q_m = hn::Mul(r_m, r_m);
  x.q_0 = hn::Mul(r_0, r_0);
  x.q_1 = hn::Mul(r_1, r_1);
  const VD w1 = hn::Sub(w, k.one);
  x.p_0 = hn::Mul(w, w);
  x.p_1 = hn::Mul(w1, w1);
  x.l_m = hn::Sub(c_m, k.neg_one);
  x.r_m = hn::Sub(k.zero, c_m);
  x.l_0 = c_0;  // c_0 - 0, exact (c_0 >= +0)
  x.r_0 = hn::Sub(k.one, c_0);
  x.l_1 = hn::Sub(c_1, k.one);
  x.r_1 = hn::Sub(k.two, c_1);
  return x;
}

// One direction out of a corner: dist2 of the edge, and |c - a| when the corner starts / ends it.
struct Dir {
  VD d2, g_start, g_end;
};

// The four directions of corner (CI, CJ) of the square.
template <int CI, int CJ>
struct CornerDirs {
  Dir px, mx, py, my;
  CornerDirs(const Axis& x, const Axis& y, const VD (&hx)[2][3], const VD (&vy)[2][3]) {
    // +x: edge [CI, CI + 1] on row CJ; -x: edge [CI - 1, CI]. hx[row][edge + 1] = dist2 of the
    // horizontal edge; vy[column][edge + 1] = dist2 of the vertical edge.
    px.d2 = hx[CJ][CI + 1];
    mx.d2 = hx[CJ][CI];
    py.d2 = vy[CI][CJ + 1];
    my.d2 = vy[CI][CJ];
    if constexpr (CI == 0) {
      px.g_start = x.l_0, px.g_end = x.r_0, mx.g_start = x.r_m, mx.g_end = x.l_m;
    } else {
      px.g_start = x.l_1, px.g_end = x.r_1, mx.g_start = x.r_0, mx.g_end = x.l_0;
    }
    if constexpr (CJ == 0) {
      py.g_start = y.l_0, py.g_end = y.r_0, my.g_start = y.r_m, my.g_end = y.l_m;
    } else {
      py.g_start = y.l_1, py.g_end = y.r_1, my.g_start = y.r_0, my.g_end = y.l_0;
    }
  }
};

HWY_INLINE VD Select4(MD axis_y, MD neg, VD my, VD py, VD mx, VD px) {
  return hn::IfThenElse(axis_y, hn::IfThenElse(neg, my, py), hn::IfThenElse(neg, mx, px));
}

// m ? min(a, b) : no (one masked instruction on AVX-512).
HWY_INLINE VD MaskedMinOr(VD no, MD m, VD a, VD b) {
#if HWY_TARGET == HWY_AVX3 || HWY_TARGET == HWY_AVX3_DL
  return VD{_mm512_mask_min_pd(no.raw, m.raw, a.raw, b.raw)};
#else
  return hn::IfThenElse(m, hn::Min(a, b), no);
#endif
}

HWY_INLINE MD Flag(VI e, VI bit) { return hn::RebindMask(DD(), hn::TestBit(e, bit)); }

// Both candidates of one corner: d (as double) and the flag masks of its entry.
template <class Dirs>
HWY_INLINE void CornerCandidates(const Consts& k, const Dirs& c, VD d, MD fa, MD fn, MD ba, MD bn, VD& d2f, VD& sf,
                                 VD& d2b, VD& sb) {
  d2f = Select4(fa, fn, c.my.d2, c.py.d2, c.mx.d2, c.px.d2);
  sf = hn::Add(d, Select4(fa, fn, c.my.g_start, c.py.g_start, c.mx.g_start, c.px.g_start));
  d2b = Select4(ba, bn, c.my.d2, c.py.d2, c.mx.d2, c.px.d2);
  sb = hn::Add(hn::Abs(hn::Sub(d, k.one)), Select4(ba, bn, c.my.g_end, c.py.g_end, c.mx.g_end, c.px.g_end));
}

// d of the low / high entry of a looked-up word, as double (exact: d < 2^16).
template <class Layout>
HWY_INLINE VD LowD(const Consts& k, VI w) {
  return hn::Sub(hn::BitCast(DD(), hn::Or(hn::And(w, k.d_mask), k.magic_bits)), k.magic);
}
template <class Layout>
HWY_INLINE VD HighD(const Consts& k, VI w) {
  return LowD<Layout>(k, hn::ShiftRight<Layout::hi>(w));
}

// The nearest point of the curve to (x, y) (finite or ±Inf, NaN already replaced): its dist2 and s.
// lookup(p) returns the entries of lattice points p and p + 1 (Layout) for int64 lattice indices p.
template <class Layout, class Lookup>
HWY_INLINE void Nearest(const Consts& k, VD x, VD y, const Lookup& lookup, VD& best_d2, VD& best_s) {
  const DI di;
  // clamp to [0, 1] with Min / Max: they may turn -0 into +0, which the lattice map cannot tell apart
  // (-0 * scale + offset = +0 * scale + offset for offset -0.5 and +0.0).
  const VD u = hn::Add(hn::Mul(hn::Min(hn::Max(x, k.zero), k.one), k.scale), k.offset);
  const VD v = hn::Add(hn::Mul(hn::Min(hn::Max(y, k.zero), k.one), k.scale), k.offset);
  const VD fi = hn::Min(hn::Max(hn::Floor(u), k.zero), k.top);
  const VD fj = hn::Min(hn::Max(hn::Floor(v), k.zero), k.top);
  const VD pd = hn::Add(hn::Mul(fj, k.side), fi);  // exact: < 2^16
  const VI p = hn::Sub(hn::BitCast(di, hn::Add(pd, k.magic)), k.magic_bits);
  const VI w0 = lookup(p), w1 = lookup(hn::Add(p, k.side_i));
  const Axis ax = MakeAxis(k, hn::Sub(u, fi));
  const Axis ay = MakeAxis(k, hn::Sub(v, fj));
  // dist2 of the 12 edges: horizontal on rows 0, 1 (x edges -1, 0, 1), vertical on columns 0, 1.
  const VD hx[2][3] = {{hn::Add(ax.q_m, ay.p_0), hn::Add(ax.q_0, ay.p_0), hn::Add(ax.q_1, ay.p_0)},
                       {hn::Add(ax.q_m, ay.p_1), hn::Add(ax.q_0, ay.p_1), hn::Add(ax.q_1, ay.p_1)}};
  const VD vy[2][3] = {{hn::Add(ax.p_0, ay.q_m), hn::Add(ax.p_0, ay.q_0), hn::Add(ax.p_0, ay.q_1)},
                       {hn::Add(ax.p_1, ay.q_m), hn::Add(ax.p_1, ay.q_0), hn::Add(ax.p_1, ay.q_1)}};
  VD d2[8], s[8];
  CornerCandidates(k, CornerDirs<0, 0>(ax, ay, hx, vy), LowD<Layout>(k, w0), Flag(w0, k.fa), Flag(w0, k.fn),
                   Flag(w0, k.ba), Flag(w0, k.bn), d2[0], s[0], d2[1], s[1]);
  CornerCandidates(k, CornerDirs<1, 0>(ax, ay, hx, vy), HighD<Layout>(k, w0), Flag(w0, k.fa_hi), Flag(w0, k.fn_hi),
                   Flag(w0, k.ba_hi), Flag(w0, k.bn_hi), d2[2], s[2], d2[3], s[3]);
  CornerCandidates(k, CornerDirs<0, 1>(ax, ay, hx, vy), LowD<Layout>(k, w1), Flag(w1, k.fa), Flag(w1, k.fn),
                   Flag(w1, k.ba), Flag(w1, k.bn), d2[4], s[4], d2[5], s[5]);
  CornerCandidates(k, CornerDirs<1, 1>(ax, ay, hx, vy), HighD<Layout>(k, w1), Flag(w1, k.fa_hi), Flag(w1, k.fn_hi),
                   Flag(w1, k.ba_hi), Flag(w1, k.bn_hi), d2[6], s[6], d2[7], s[7]);
  const VD m = hn::Min(hn::Min(hn::Min(d2[0], d2[1]), hn::Min(d2[2], d2[3])),
                       hn::Min(hn::Min(d2[4], d2[5]), hn::Min(d2[6], d2[7])));
  VD sm = k.inf;
  for (int r = 0; r < 8; ++r) sm = MaskedMinOr(sm, hn::Eq(d2[r], m), sm, s[r]);
  best_d2 = m;
  best_s = sm;
}

// One vector of points (float32 coordinates widened to double) -> t and distance (float32).
template <bool kDist, class Layout, class Lookup>
HWY_INLINE void DecodeVec(const Consts& k, const Lookup& lookup, VD x, VD y, float* HWY_RESTRICT t,
                          float* HWY_RESTRICT dist) {
  const DH dh;
  const MD valid = hn::And(hn::Eq(x, x), hn::Eq(y, y));
  VD d2, s;
  Nearest<Layout>(k, hn::IfThenElseZero(valid, x), hn::IfThenElseZero(valid, y), lookup, d2, s);
  const VD tv = ClampExact(hn::Add(k.lo, hn::Mul(k.hl, hn::Div(s, k.m1))), k.lo, k.hi);
  hn::StoreU(hn::DemoteTo(dh, hn::IfThenElse(valid, tv, k.nan)), dh, t);
  if constexpr (kDist) {
    const VD dv = hn::Div(hn::Sqrt(d2), k.scale);
    hn::StoreU(hn::DemoteTo(dh, hn::IfThenElse(valid, dv, k.nan)), dh, dist);
  }
}

// A gather of two neighbouring int32 entries (8 bytes at entry p) per lane.
struct GatherLookup {
  const std::int32_t* table;
  HWY_INLINE VI operator()(VI p) const {
    return hn::GatherOffset(DI(), reinterpret_cast<const std::int64_t*>(table), hn::ShiftLeft<2>(p));
  }
};

// Runs body(i) on whole vectors of `lanes` values, then tail(i, count) on the rest (count < lanes);
// tails run the same code on zero-padded copies, so outputs past n are never written.
template <class Body, class Tail>
HWY_INLINE void ForEachVector(size_t n, size_t lanes, const Body& body, const Tail& tail) {
  size_t i = 0;
  for (; i + lanes <= n; i += lanes) body(i);
  if (i < n) tail(i, n - i);
}

template <bool kDist, class Layout, class Lookup>
HWY_INLINE void DecodePlanarImpl(const Consts& consts, const Lookup& lookup, const float* HWY_RESTRICT x,
                                 const float* HWY_RESTRICT y, size_t n, float* HWY_RESTRICT t,
                                 float* HWY_RESTRICT dist) {
  const DD d;
  const DH dh;
  const Consts k = consts;
  const size_t N = hn::Lanes(d);
  ForEachVector(
      n, N,
      [&](size_t i) HWY_ATTR LOWBIT_LAMBDA_INLINE {
        DecodeVec<kDist, Layout>(k, lookup, hn::PromoteTo(d, hn::LoadU(dh, x + i)),
                                 hn::PromoteTo(d, hn::LoadU(dh, y + i)), t + i, kDist ? dist + i : nullptr);
      },
      [&](size_t i, size_t count) HWY_ATTR {
        HWY_ALIGN float bx[kMaxLanes] = {}, by[kMaxLanes] = {}, bt[kMaxLanes], bd[kMaxLanes];
        std::memcpy(bx, x + i, count * sizeof(float));
        std::memcpy(by, y + i, count * sizeof(float));
        DecodeVec<kDist, Layout>(k, lookup, hn::PromoteTo(d, hn::Load(dh, bx)), hn::PromoteTo(d, hn::Load(dh, by)),
                                 bt, bd);
        std::memcpy(t + i, bt, count * sizeof(float));
        if constexpr (kDist) std::memcpy(dist + i, bd, count * sizeof(float));
      });
}

template <bool kDist, class Layout, class Lookup>
HWY_INLINE void DecodeInterleavedImpl(const Consts& consts, const Lookup& lookup, const float* HWY_RESTRICT xy,
                                      size_t n, float* HWY_RESTRICT t, float* HWY_RESTRICT dist) {
  const DD d;
  const DH dh;
  const Consts k = consts;
  const size_t N = hn::Lanes(d);
  ForEachVector(
      n, N,
      [&](size_t i) HWY_ATTR LOWBIT_LAMBDA_INLINE {
        VH xf, yf;
        hn::LoadInterleaved2(dh, xy + 2 * i, xf, yf);
        DecodeVec<kDist, Layout>(k, lookup, hn::PromoteTo(d, xf), hn::PromoteTo(d, yf), t + i,
                                 kDist ? dist + i : nullptr);
      },
      [&](size_t i, size_t count) HWY_ATTR {
        HWY_ALIGN float bxy[2 * kMaxLanes] = {}, bt[kMaxLanes], bd[kMaxLanes];
        std::memcpy(bxy, xy + 2 * i, 2 * count * sizeof(float));
        VH xf, yf;
        hn::LoadInterleaved2(dh, bxy, xf, yf);
        DecodeVec<kDist, Layout>(k, lookup, hn::PromoteTo(d, xf), hn::PromoteTo(d, yf), bt, bd);
        std::memcpy(t + i, bt, count * sizeof(float));
        if constexpr (kDist) std::memcpy(dist + i, bd, count * sizeof(float));
      });
}

inline void DecodePlanar(const hilbert_kernel_args& a, const float* x, const float* y, size_t n, float* t,
                         float* dist) {
  const Consts k(a, GatherLayout());
  const GatherLookup lookup{a.corner};
  if (dist) {
    DecodePlanarImpl<true, GatherLayout>(k, lookup, x, y, n, t, dist);
  } else {
    DecodePlanarImpl<false, GatherLayout>(k, lookup, x, y, n, t, nullptr);
  }
}

inline void DecodeInterleaved(const hilbert_kernel_args& a, const float* xy, size_t n, float* t, float* dist) {
  const Consts k(a, GatherLayout());
  const GatherLookup lookup{a.corner};
  if (dist) {
    DecodeInterleavedImpl<true, GatherLayout>(k, lookup, xy, n, t, dist);
  } else {
    DecodeInterleavedImpl<false, GatherLayout>(k, lookup, xy, n, t, nullptr);
  }
}

// ----------------------------------------------------------------------------------------------------
// The computed 8-bit decoder: codes -> dequantized floats -> the exact decoder, corner entries of
// small curves in registers.

#if HWY_TARGET == HWY_AVX3 || HWY_TARGET == HWY_AVX3_DL
// 64 16-bit entries (d | flags << 6) in two registers: one vpermt2w looks up the entries of p and
// p + 1 of all 8 lanes (16 word indices p | (p + 1) << 16).
using RegisterLayout = EntryLayout<16, 6, 6>;
struct RegisterLookup {
  __m512i lo, hi;  // entries 0..31, 32..63
  explicit RegisterLookup(const std::uint16_t* entries)
      : lo(_mm512_loadu_si512(entries)), hi(_mm512_loadu_si512(entries + 32)) {}
  HWY_INLINE VI operator()(VI p) const {
    const __m512i pairs = _mm512_add_epi64(_mm512_add_epi64(p.raw, _mm512_slli_epi64(p.raw, 16)),
                                           _mm512_set1_epi64(std::int64_t{1} << 16));
    const __m256i idx = _mm512_cvtepi64_epi32(pairs);  // vpmovqd: words p0, p0 + 1, p1, p1 + 1, ...
    const __m512i r = _mm512_permutex2var_epi16(lo, _mm512_castsi256_si512(idx), hi);
    return VI{_mm512_cvtepu32_epi64(_mm512_castsi512_si256(r))};
  }
};
#endif

// Dequantized uint8 codes of one channel, one per double lane.
struct Dequant {
  hn::Vec<hn::Rebind<int32_t, DD>> qmin, qmax;
  hn::Vec<DH> scale, zero_point;
  explicit Dequant(const hilbert_dequant& q) {
    const hn::Rebind<int32_t, DD> di32;
    const DH dh;
    qmin = hn::Set(di32, q.qmin);
    qmax = hn::Set(di32, q.qmax);
    scale = hn::Set(dh, q.scale);
    zero_point = hn::Set(dh, q.zero_point);
  }
  // (float(clamp(c)) - zero_point) * scale, the float32 operations of ref::dequantize_value, widened.
  HWY_INLINE VD operator()(const std::uint8_t* HWY_RESTRICT c) const {
    const DD d;
    const DH dh;
    const hn::Rebind<int32_t, DD> di32;
    const hn::Rebind<uint8_t, DD> du8;
    const auto code = hn::Min(hn::Max(hn::PromoteTo(di32, hn::LoadU(du8, c)), qmin), qmax);
    return hn::PromoteTo(d, hn::Mul(hn::Sub(hn::ConvertTo(dh, code), zero_point), scale));
  }
};

template <bool kDist, class Layout, class Lookup>
HWY_INLINE void DecodeCodesImpl(const Consts& consts, const Lookup& lookup, const Dequant& dqx, const Dequant& dqy,
                                const std::uint8_t* HWY_RESTRICT x, const std::uint8_t* HWY_RESTRICT y, size_t n,
                                float* HWY_RESTRICT t, float* HWY_RESTRICT dist) {
  const Consts k = consts;
  const Dequant qx = dqx, qy = dqy;
  const size_t N = hn::Lanes(DD());
  ForEachVector(
      n, N,
      [&](size_t i) HWY_ATTR LOWBIT_LAMBDA_INLINE {
        DecodeVec<kDist, Layout>(k, lookup, qx(x + i), qy(y + i), t + i, kDist ? dist + i : nullptr);
      },
      [&](size_t i, size_t count) HWY_ATTR {
        HWY_ALIGN std::uint8_t bx[kMaxLanes] = {}, by[kMaxLanes] = {};
        HWY_ALIGN float bt[kMaxLanes], bd[kMaxLanes];
        std::memcpy(bx, x + i, count);
        std::memcpy(by, y + i, count);
        DecodeVec<kDist, Layout>(k, lookup, qx(bx), qy(by), bt, bd);
        std::memcpy(t + i, bt, count * sizeof(float));
        if constexpr (kDist) std::memcpy(dist + i, bd, count * sizeof(float));
      });
}

inline void DecodeCodesComputed(const hilbert_kernel_args& a, const hilbert_dequant& qx, const hilbert_dequant& qy,
                                const std::uint8_t* x, const std::uint8_t* y, size_t n, float* t, float* dist,
                                bool registers) {
  const Dequant dqx(qx), dqy(qy);
#if HWY_TARGET == HWY_AVX3 || HWY_TARGET == HWY_AVX3_DL
  if (registers && a.order <= 3) {
    alignas(64) std::uint16_t entries[64] = {};
    const std::uint32_t points = a.side * a.side;
    for (std::uint32_t p = 0; p < points; ++p) {
      const std::int32_t e = a.corner[p];
      entries[p] = static_cast<std::uint16_t>((e & 0x3F) | ((e >> hilbert_corner_flag_shift) << RegisterLayout::flag));
    }
    const Consts k(a, RegisterLayout());
    const RegisterLookup lookup(entries);
    if (dist) {
      DecodeCodesImpl<true, RegisterLayout>(k, lookup, dqx, dqy, x, y, n, t, dist);
    } else {
      DecodeCodesImpl<false, RegisterLayout>(k, lookup, dqx, dqy, x, y, n, t, nullptr);
    }
    return;
  }
#else
  (void)registers;
#endif
  const Consts k(a, GatherLayout());
  const GatherLookup lookup{a.corner};
  if (dist) {
    DecodeCodesImpl<true, GatherLayout>(k, lookup, dqx, dqy, x, y, n, t, dist);
  } else {
    DecodeCodesImpl<false, GatherLayout>(k, lookup, dqx, dqy, x, y, n, t, nullptr);
  }
}

// ----------------------------------------------------------------------------------------------------
// Code-pair table lookup (widths <= 8)

using DF = hn::ScalableTag<float>;
using DI32 = hn::RebindToSigned<DF>;
using VI32 = hn::Vec<DI32>;

// The codes of one vector of interleaved pairs as int32 lanes: one load of 2N codes, split with shifts.
template <class Code>
HWY_INLINE void LoadCodePairs(const Code* HWY_RESTRICT xs, VI32& x, VI32& y) {
  const DI32 di;
  if constexpr (sizeof(Code) == 1) {
    // Pairs as 16-bit lanes x | y << 8 (little-endian).
    const hn::Rebind<uint16_t, DF> d16;
    const hn::Rebind<int16_t, DF> ds16;
    const auto w = hn::LoadU(d16, reinterpret_cast<const uint16_t*>(xs));
    if constexpr (std::is_signed_v<Code>) {
      const auto ws = hn::BitCast(ds16, w);
      x = hn::PromoteTo(di, hn::ShiftRight<8>(hn::ShiftLeft<8>(ws)));
      y = hn::PromoteTo(di, hn::ShiftRight<8>(ws));
    } else {
      x = hn::PromoteTo(di, hn::And(w, hn::Set(d16, 0xFF)));
      y = hn::PromoteTo(di, hn::ShiftRight<8>(w));
    }
  } else {
    // Pairs as 32-bit lanes x | y << 16.
    const VI32 w = hn::LoadU(di, reinterpret_cast<const int32_t*>(xs));
    if constexpr (std::is_signed_v<Code>) {
      x = hn::ShiftRight<16>(hn::ShiftLeft<16>(w));
      y = hn::ShiftRight<16>(w);
    } else {
      const hn::RebindToUnsigned<DI32> du;
      x = hn::And(w, hn::Set(di, 0xFFFF));
      y = hn::BitCast(di, hn::ShiftRight<16>(hn::BitCast(du, w)));
    }
  }
}

template <class Code, size_t Step, bool kClamp, bool kDist>
HWY_INLINE void LookupVec(const hilbert_lookup_args& a, VI32 qmin, VI32 qmax, int bits, const Code* HWY_RESTRICT xs,
                          const Code* HWY_RESTRICT ys, float* HWY_RESTRICT t, float* HWY_RESTRICT dist) {
  const DF df;
  const DI32 di;
  VI32 x, y;
  if constexpr (Step == 1) {
    const hn::Rebind<Code, DF> dc;
    x = hn::PromoteTo(di, hn::LoadU(dc, xs));
    y = hn::PromoteTo(di, hn::LoadU(dc, ys));
  } else {
    (void)ys;
    LoadCodePairs(xs, x, y);
  }
  if constexpr (kClamp) {
    x = hn::Min(hn::Max(x, qmin), qmax);
    y = hn::Min(hn::Max(y, qmin), qmax);
  }
  const VI32 idx = hn::Or(hn::ShiftLeftSame(hn::Sub(x, qmin), bits), hn::Sub(y, qmin));
  hn::StoreU(hn::GatherIndex(df, a.table, idx), df, t);
  if constexpr (kDist) hn::StoreU(hn::GatherIndex(df, a.distance_table, idx), df, dist);
}

template <class Code, size_t Step, bool kClamp, bool kDist>
HWY_INLINE void LookupImpl(const hilbert_lookup_args& a, const Code* HWY_RESTRICT xs, const Code* HWY_RESTRICT ys,
                           size_t n, float* HWY_RESTRICT t, float* HWY_RESTRICT dist) {
  const DI32 di;
  const size_t N = hn::Lanes(DF());
  const VI32 qmin = hn::Set(di, a.qmin), qmax = hn::Set(di, a.qmax);
  const int bits = a.bits;
  const auto body = [&](size_t i) HWY_ATTR LOWBIT_LAMBDA_INLINE {
    LookupVec<Code, Step, kClamp, kDist>(a, qmin, qmax, bits, xs + i * Step, ys + i * Step, t + i,
                                         kDist ? dist + i : nullptr);
  };
  size_t i = 0;
  for (; i + 4 * N <= n; i += 4 * N) {
    body(i);
    body(i + N);
    body(i + 2 * N);
    body(i + 3 * N);
  }
  for (; i + N <= n; i += N) body(i);
  if (i < n) {
    // Zero-padded copies; a zero code clamps (or, storage range == code range, is) a valid index.
    const size_t count = n - i;
    HWY_ALIGN Code bx[2 * kMaxLanes] = {}, by[kMaxLanes] = {};
    HWY_ALIGN float bt[kMaxLanes], bd[kMaxLanes];
    if constexpr (Step == 1) {
      std::memcpy(bx, xs + i, count * sizeof(Code));
      std::memcpy(by, ys + i, count * sizeof(Code));
    } else {
      std::memcpy(bx, xs + 2 * i, 2 * count * sizeof(Code));
    }
    LookupVec<Code, Step, kClamp, kDist>(a, qmin, qmax, bits, bx, Step == 1 ? by : bx + 1, bt, bd);
    std::memcpy(t + i, bt, count * sizeof(float));
    if constexpr (kDist) std::memcpy(dist + i, bd, count * sizeof(float));
  }
}

#if HWY_TARGET == HWY_AVX3 || HWY_TARGET == HWY_AVX3_DL || HWY_TARGET == HWY_AVX2 || HWY_TARGET == HWY_SSE4
// 8-bit codes filling their storage (no clamp), SSE4.1 and up: the code loads are vectors (two 8-byte
// loads, or one 16-byte load of pairs, per 8 values), the 16-bit indices x << 8 | y are formed with one
// byte interleave, moved to general registers 4 at a time (vmovq / vpextrq), and the table is read with
// scalar loads inserted into vectors (insertps) that are stored whole. The plain loop needs three loads
// per value (two code bytes and the entry); this needs one and a quarter, but ~3 more uops per value
// to extract the indices. Measured on Zen 4 (bench/hilbert_bench.cc): 1.0-1.1x the plain loop
// (BM_Lut64kGather_U8), ~1.3x the GatherIndex loop (vpgatherdd delivers about one entry per cycle).
// The table entries at the four 16-bit indices packed in w, as one vector.
HWY_INLINE __m128 Lookup4(const float* HWY_RESTRICT table, std::uint64_t w) {
  __m128 v = _mm_load_ss(table + (w & 0xFFFF));
  v = _mm_insert_ps(v, _mm_load_ss(table + ((w >> 16) & 0xFFFF)), 0x10);
  v = _mm_insert_ps(v, _mm_load_ss(table + ((w >> 32) & 0xFFFF)), 0x20);
  return _mm_insert_ps(v, _mm_load_ss(table + (w >> 48)), 0x30);
}

// The indices (x - qmin) << 8 | (y - qmin) of 8 code pairs as 16-bit lanes.
template <class Code, size_t Step>
HWY_INLINE __m128i Indices8(const Code* HWY_RESTRICT xs, const Code* HWY_RESTRICT ys) {
  __m128i idx;
  if constexpr (Step == 1) {
    const __m128i x = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(xs));
    const __m128i y = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(ys));
    idx = _mm_unpacklo_epi8(y, x);  // y | x << 8
  } else {
    (void)ys;
    const __m128i p = _mm_loadu_si128(reinterpret_cast<const __m128i*>(xs));  // x | y << 8
    idx = _mm_or_si128(_mm_slli_epi16(p, 8), _mm_srli_epi16(p, 8));
  }
  // two's complement: c - qmin = c ^ 0x80 in the low 8 bits
  if constexpr (std::is_signed_v<Code>) idx = _mm_xor_si128(idx, _mm_set1_epi16(static_cast<short>(0x8080)));
  return idx;
}

template <class Code, size_t Step, bool kDist>
HWY_INLINE void ExtractLookupImpl(const hilbert_lookup_args& a, const Code* HWY_RESTRICT xs,
                                  const Code* HWY_RESTRICT ys, size_t n, float* HWY_RESTRICT t,
                                  float* HWY_RESTRICT dist) {
  const float* HWY_RESTRICT table = a.table;
  const float* HWY_RESTRICT dtable = a.distance_table;
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m128i idx = Indices8<Code, Step>(xs + i * Step, ys + i * Step);
    const auto lo = static_cast<std::uint64_t>(_mm_cvtsi128_si64(idx));
    const auto hi = static_cast<std::uint64_t>(_mm_extract_epi64(idx, 1));
    _mm_storeu_ps(t + i, Lookup4(table, lo));
    _mm_storeu_ps(t + i + 4, Lookup4(table, hi));
    if constexpr (kDist) {
      _mm_storeu_ps(dist + i, Lookup4(dtable, lo));
      _mm_storeu_ps(dist + i + 4, Lookup4(dtable, hi));
    }
  }
  constexpr std::uint32_t flip = std::is_signed_v<Code> ? 0x80 : 0;
  for (; i < n; ++i) {
    const std::uint32_t x = static_cast<std::uint8_t>(xs[i * Step]) ^ flip;
    const std::uint32_t y = static_cast<std::uint8_t>(ys[i * Step]) ^ flip;
    const std::uint32_t idx = x << 8 | y;
    t[i] = table[idx];
    if constexpr (kDist) dist[i] = dtable[idx];
  }
}
#endif

template <class Code>
HWY_INLINE void Lookup(const hilbert_lookup_args& a, const Code* xs, const Code* ys, size_t step, size_t n, float* t,
                       float* dist) {
  // Storage range == code range: the clamp cannot change a code.
  const bool clamp = !(a.qmin == std::numeric_limits<Code>::min() && a.qmax == std::numeric_limits<Code>::max());
#if HWY_TARGET == HWY_AVX3 || HWY_TARGET == HWY_AVX3_DL || HWY_TARGET == HWY_AVX2 || HWY_TARGET == HWY_SSE4
  if constexpr (sizeof(Code) == 1) {
    if (!clamp) {  // 8-bit codes, bits == 8
      if (step == 1) {
        if (dist) return ExtractLookupImpl<Code, 1, true>(a, xs, ys, n, t, dist);
        return ExtractLookupImpl<Code, 1, false>(a, xs, ys, n, t, nullptr);
      }
      if (dist) return ExtractLookupImpl<Code, 2, true>(a, xs, ys, n, t, dist);
      return ExtractLookupImpl<Code, 2, false>(a, xs, ys, n, t, nullptr);
    }
  }
#endif
  const auto run = [&]<size_t Step>() {
    if (clamp) {
      if (dist) return LookupImpl<Code, Step, true, true>(a, xs, ys, n, t, dist);
      return LookupImpl<Code, Step, true, false>(a, xs, ys, n, t, nullptr);
    }
    if (dist) return LookupImpl<Code, Step, false, true>(a, xs, ys, n, t, dist);
    return LookupImpl<Code, Step, false, false>(a, xs, ys, n, t, nullptr);
  };
  if (step == 1) {
    run.template operator()<1>();
  } else {
    run.template operator()<2>();
  }
}

}  // namespace hb
}  // namespace lowbit::detail::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#endif  // per-target include guard
