// lowbit — the 3-D Hilbert-curve output encoder / decoder (scalar), its quantizer and its error model.
// SPDX-License-Identifier: Apache-2.0
//
// Everything below works in lattice coordinates: vertex d sits at the integer point (i, j, k) =
// hilbert3_cell(n, d), segments are unit edges between lattice neighbours, and a unit-cube point
// (x, y, z) maps to (u, v, w) = (x N - 1/2, ...) (cell_centre) or (x (N - 1), ...) (full_range), x
// clamped to [0, 1] first. full_range is exact in float64 for every float32 x (a 24-bit times a <= 6-bit
// significand); cell_centre too, except for 0 < x < 2^-(31+n), where -1/2 + x N rounds once (by less
// than 2^-54). Either way decode and decode_reference see the same (u, v, w).
//
// The bit algorithm (Skilling, "Programming the Hilbert curve", AIP Conf. Proc. 707, 2004)
// ------------------------------------------------------------------------------------------
// The index d of 3n bits is held "transposed": X[a] collects bits 3q + 2 - a of d (q = 0..n-1, from
// the top), so the top three bits of d are the top bits of X[0], X[1], X[2]. d -> (i, j, k): Gray-decode
// the transposed word, then walk the bit planes from the second lowest up, at each plane Q either
// inverting the bits below Q of X[0] (the sub-cube is reflected) or exchanging them between X[0] and X[a]
// (the sub-cube is rotated). (i, j, k) -> d runs the same steps backwards. Every lattice point is visited
// once, consecutive vertices are lattice neighbours, vertex 0 is the origin and vertex M - 1 is
// (N - 1, 0, 0); tests/hilbert3_test.cc checks all of it for every order.
//
// Exactness of the decoder (hilbert3_curve::decode)
// -------------------------------------------------
// Let P = (u, v, w) be the clamped point, i = clamp(floor(u), 0, N - 2), likewise j from v and k from w,
// and C = {i, i+1} x {j, j+1} x {k, k+1} the eight lattice vertices of the lattice cube "around" P (for
// points in the half-cell margin of cell_centre, the cube next to it). The decoder evaluates only the
// segments incident to a vertex of C: e = d - 1 and e = d for each of the eight vertex indices d (at
// most 16 segments, from the (i, j, k) -> d table; never a scan). Why that is exact:
//  (1) The distance D from P to the curve is <= d0 = the distance to the nearest vertex of C (every
//      vertex is a point of the curve), and d0 <= sqrt(3)/2 = 0.866: inside S = [i, i+1] x [j, j+1] x
//      [k, k+1] each coordinate is within 1/2 of one of its two lattice values, and in the margin
//      (u up to 1/2 below 0 = i or above N - 1 = i + 1, likewise v, w) as well.
//  (2) Every segment E incident to no vertex of C is at distance >= 1 from P. First for P in S: say E
//      runs along x, from (a, r, q) to (a + 1, r, q) (y and z segments alike). If r is not j or j + 1,
//      every point of E is >= 1 away in y (v lies in [j, j+1], r is an integer outside it); if q is not
//      k or k + 1, likewise in z. Otherwise (r, q) is a (y, z) of C, so neither a nor a + 1 is in
//      {i, i + 1}: a + 1 <= i - 1 or a >= i + 2, and every point of E is >= 1 away in x. For P in the
//      margin, let P' = clamp(P) into S: P' differs from P only in coordinates outside [0, N - 1], where
//      it is the hull's bound, so P' is also the projection of P onto the lattice hull [0, N - 1]^3,
//      which contains E. For Q in E each coordinate of Q lies in the hull's interval, so clamping P's
//      coordinate into that interval moves it towards Q's: |P - Q| >= |P' - Q| >= 1.
//  (3) By (1) and (2) every nearest point lies on a segment incident to C, strictly closer than any
//      other segment (D <= 0.866 < 1), so the minimum over the <= 16 candidates is the global minimum,
//      ties included.
// Floating point: decode and decode_reference evaluate every segment with the same function
// (segment_candidate: clamp into the segment's box, differences, squares summed as (dx^2 + dy^2) + dz^2,
// s = e + |c - V_e| summed) on the same (u, v, w), and both take the minimum in the same lexicographic
// order (distance^2, then arc length s), a total order, so they return the same bits as long as the
// computed distances^2 of the non-candidates cannot win or tie. They cannot: by (2) each of them has a
// coordinate difference of exact magnitude >= 1, which rounds to >= 1 (rounding is monotone and 1 is a
// double), so its computed distance^2 is >= 1; the nearest vertex of C has exact distance^2 <= 3/4,
// computed with a relative error of a few 2^-53, far below 1.
// Tie rule: among segments at the same distance^2 the smallest arc length s wins; for segments e < e'
// the nearest points satisfy s_e <= e + 1 <= s_e', so this is also "the first segment in curve order".
// Ends: vertex 0 has only segment 0 and vertex M - 1 only segment M - 2; the decoder clamps the two
// segment indices of each vertex into [0, M - 2] (a repeated candidate changes no minimum).
#include "lowbit/hilbert3.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "lowbit/detail/hilbert_kernels.h"
#include "lowbit/ref/uniform.h"
#include "src/hilbert_common.h"

namespace lowbit {

struct hilbert3_curve::tables {
  struct point {
    std::uint8_t c[3];  // lattice coordinates (i, j, k)
  };
  struct box {
    std::uint8_t lo[3], hi[3];  // the bounding box of segment e: min and max of V_e, V_{e+1}
  };
  int order;
  std::uint32_t n;                   // side 2^order
  std::uint32_t m;                   // vertex count 8^order
  std::vector<point> v;              // lattice point of vertex d
  std::vector<box> seg;              // bounding box of segment e (m - 1 entries)
  std::vector<std::uint32_t> index;  // vertex index of lattice point (i, j, k) at (k * n + j) * n + i
  // Per lattice point, as index: its vertex d in bits 0..23 and, in bits 24..31, d's links: the two
  // segments incident to d as the decoders' candidates, d - 1 (bits 24..27) and d (bits 28..31),
  // clamped into [0, m - 2] at the ends. Per nibble: bits 0-1 the axis the segment runs along, bit 2 set
  // if its other end is at +1 on that axis (else -1), bit 3 set if the segment starts at vertex d
  // (V_e = V_d; else it ends there). Read by nearest_exact and the SIMD kernels.
  std::vector<std::uint32_t> corner;
  std::uint32_t at(std::uint32_t i, std::uint32_t j, std::uint32_t k) const noexcept {
    return index[(static_cast<std::size_t>(k) * n + j) * n + i];
  }
};

namespace {

using namespace detail::hilbert_common;
using tables3 = hilbert3_curve::tables;

void check_order(int order, const char* what) {
  detail::hilbert_common::check_order(order, hilbert3_curve::max_order, what);
}

// ----------------------------------------------------------------------------------------------------
// Skilling's algorithm for 3 axes and `bits` bits per axis. X[0], X[1], X[2] = i, j, k.

// d -> its transposed form: bit 3q + 2 - a of d goes to bit q of X[a].
std::array<std::uint32_t, 3> transpose(std::uint32_t d, int bits) noexcept {
  std::array<std::uint32_t, 3> x{0, 0, 0};
  for (int q = 0; q < bits; ++q) {
    for (int a = 0; a < 3; ++a) x[static_cast<std::size_t>(a)] |= ((d >> (3 * q + 2 - a)) & 1u) << q;
  }
  return x;
}

std::uint32_t untranspose(const std::array<std::uint32_t, 3>& x, int bits) noexcept {
  std::uint32_t d = 0;
  for (int q = 0; q < bits; ++q) {
    for (int a = 0; a < 3; ++a) d |= ((x[static_cast<std::size_t>(a)] >> q) & 1u) << (3 * q + 2 - a);
  }
  return d;
}

// The sub-cube step at bit plane `plane` (mask = the bits below it) for axis a: if X[a] has the plane's
// bit, reflect X[0]'s lower bits; otherwise exchange the lower bits of X[0] and X[a]. Self-inverse.
inline void reflect_or_swap(std::array<std::uint32_t, 3>& x, std::size_t a, std::uint32_t plane) noexcept {
  const std::uint32_t low = plane - 1;
  if (x[a] & plane) {
    x[0] ^= low;
  } else {
    const std::uint32_t diff = (x[0] ^ x[a]) & low;
    x[0] ^= diff;
    x[a] ^= diff;
  }
}

std::array<std::uint32_t, 3> cell_bits(int bits, std::uint32_t d) noexcept {
  std::array<std::uint32_t, 3> x = transpose(d, bits);
  // Gray decode of the transposed word (H ^ H/2 inverted): each axis xor the one before it, and X[0] the
  // last axis shifted by one plane.
  const std::uint32_t carry = x[2] >> 1;
  x[2] ^= x[1];
  x[1] ^= x[0];
  x[0] ^= carry;
  // Undo the excess work, from the second-lowest plane up, axes from last to first.
  const std::uint32_t top = std::uint32_t{1} << bits;
  for (std::uint32_t plane = 2; plane != top; plane <<= 1) {
    for (std::size_t a = 3; a-- > 0;) reflect_or_swap(x, a, plane);
  }
  return x;
}

std::uint32_t index_bits(int bits, std::array<std::uint32_t, 3> x) noexcept {
  // The inverse steps: planes from the top down, axes from first to last.
  for (std::uint32_t plane = std::uint32_t{1} << (bits - 1); plane > 1; plane >>= 1) {
    for (std::size_t a = 0; a < 3; ++a) reflect_or_swap(x, a, plane);
  }
  // Gray encode.
  x[1] ^= x[0];
  x[2] ^= x[1];
  std::uint32_t flip = 0;
  for (std::uint32_t plane = std::uint32_t{1} << (bits - 1); plane > 1; plane >>= 1) {
    if (x[2] & plane) flip ^= plane - 1;
  }
  for (std::uint32_t& c : x) c ^= flip;
  return untranspose(x, bits);
}

std::shared_ptr<const tables3> make_tables(int order) {
  // One table set per order, shared by every curve of that order (built once, on first use).
  static const std::array<std::shared_ptr<const tables3>, 7> all = [] {
    std::array<std::shared_ptr<const tables3>, 7> a{};
    for (int o = 1; o <= 6; ++o) {
      auto t = std::make_shared<tables3>();
      t->order = o;
      t->n = std::uint32_t{1} << o;
      t->m = t->n * t->n * t->n;
      t->v.resize(t->m);
      t->index.resize(t->m);
      for (std::uint32_t d = 0; d < t->m; ++d) {
        const auto c = cell_bits(o, d);
        t->v[d] = {{static_cast<std::uint8_t>(c[0]), static_cast<std::uint8_t>(c[1]), static_cast<std::uint8_t>(c[2])}};
        t->index[(static_cast<std::size_t>(c[2]) * t->n + c[1]) * t->n + c[0]] = d;
      }
      // links: the segment from V_from to V_to as seen from vertex d (one of the two)
      const auto nibble = [&](std::uint32_t d, std::uint32_t from, std::uint32_t to) {
        const std::uint32_t other = from == d ? to : from;
        unsigned axis = 0;
        while (t->v[other].c[axis] == t->v[d].c[axis]) ++axis;
        return static_cast<std::uint8_t>(axis | (t->v[other].c[axis] > t->v[d].c[axis] ? 4u : 0u) | (from == d ? 8u : 0u));
      };
      t->corner.resize(t->m);
      for (std::size_t p = 0; p < t->m; ++p) {
        const std::uint32_t d = t->index[p], prev = d > 0 ? d - 1 : 0, next = std::min(d, t->m - 2);
        const std::uint32_t links = nibble(d, prev, prev + 1) | (nibble(d, next, next + 1) << 4);
        t->corner[p] = d | links << 24;
      }
      t->seg.resize(t->m - 1);
      for (std::uint32_t e = 0; e + 1 < t->m; ++e) {
        for (int c = 0; c < 3; ++c) {
          t->seg[e].lo[c] = std::min(t->v[e].c[c], t->v[e + 1].c[c]);
          t->seg[e].hi[c] = std::max(t->v[e].c[c], t->v[e + 1].c[c]);
        }
      }
      a[static_cast<std::size_t>(o)] = std::move(t);
    }
    return a;
  }();
  return all[static_cast<std::size_t>(order)];
}

// ----------------------------------------------------------------------------------------------------
// Nearest point

// (candidate, pick, lattice_map, to_lattice and finish_decode: src/hilbert_common.h.)

// min(max(.)) = std::clamp for non-NaN input with lo <= hi, written so that it compiles to maxsd /
// minsd (the bounds come from the box table, so no compare of the small integers is left to branch on).
inline double clamp_to(double p, double lo, double hi) noexcept { return std::min(std::max(p, lo), hi); }

// Segment e runs from V_e to V_{e+1} (axis-parallel, length 1). Its nearest point to (u, v, w) is the
// clamp of (u, v, w) into the segment's bounding box; s = e + its distance from V_e.
inline candidate segment_candidate(const tables3& tb, std::uint32_t e, double u, double v, double w) noexcept {
  const tables3::point a = tb.v[e];
  const tables3::box b = tb.seg[e];
  const double cx = clamp_to(u, b.lo[0], b.hi[0]);
  const double cy = clamp_to(v, b.lo[1], b.hi[1]);
  const double cz = clamp_to(w, b.lo[2], b.hi[2]);
  const double dx = u - cx, dy = v - cy, dz = w - cz;
  return {dx * dx + dy * dy + dz * dz,
          static_cast<double>(e) + std::abs(cx - a.c[0]) + std::abs(cy - a.c[1]) + std::abs(cz - a.c[2])};
}

// segment_candidate for a segment e incident to the lattice vertex c (link: a nibble of tables3::corner),
// with the segment's box and start vertex written as c plus integer offsets: the same operations on the
// same values as segment_candidate (c + offset is exact), so the same bits, without the per-segment
// table loads and integer conversions.
struct link_offsets {
  double lo[3], hi[3], start[3];  // box = [c + lo, c + hi], V_e = c + start
};

constexpr std::array<link_offsets, 16> make_link_offsets() {
  std::array<link_offsets, 16> t{};
  for (unsigned link = 0; link < 16; ++link) {
    const unsigned axis = link & 3u;
    if (axis == 3) continue;  // not a link
    const double step = (link & 4u) ? 1.0 : -1.0;
    t[link].lo[axis] = step < 0 ? -1.0 : 0.0;
    t[link].hi[axis] = step > 0 ? 1.0 : 0.0;
    t[link].start[axis] = (link & 8u) ? 0.0 : step;
  }
  return t;
}
constexpr std::array<link_offsets, 16> kLinkOffsets = make_link_offsets();

inline candidate link_candidate(double u, double v, double w, const double (&c)[3], unsigned link,
                                std::uint32_t e) noexcept {
  const link_offsets& o = kLinkOffsets[link];
  const double cx = clamp_to(u, c[0] + o.lo[0], c[0] + o.hi[0]);
  const double cy = clamp_to(v, c[1] + o.lo[1], c[1] + o.hi[1]);
  const double cz = clamp_to(w, c[2] + o.lo[2], c[2] + o.hi[2]);
  const double dx = u - cx, dy = v - cy, dz = w - cz;
  return {dx * dx + dy * dy + dz * dz, static_cast<double>(e) + std::abs(cx - (c[0] + o.start[0])) +
                                           std::abs(cy - (c[1] + o.start[1])) + std::abs(cz - (c[2] + o.start[2]))};
}

candidate nearest_exact(const tables3& tb, double u, double v, double w) noexcept {
  const double top = static_cast<double>(tb.n - 2);
  const auto i = static_cast<std::uint32_t>(std::clamp(std::floor(u), 0.0, top));
  const auto j = static_cast<std::uint32_t>(std::clamp(std::floor(v), 0.0, top));
  const auto k = static_cast<std::uint32_t>(std::clamp(std::floor(w), 0.0, top));
  const std::uint32_t last = tb.m - 2;  // the last segment
  candidate c[16];
  for (std::uint32_t r = 0; r < 8; ++r) {
    const std::uint32_t ci = i + (r & 1u), cj = j + ((r >> 1) & 1u), ck = k + (r >> 2);
    const std::uint32_t entry = tb.corner[(static_cast<std::size_t>(ck) * tb.n + cj) * tb.n + ci];
    const std::uint32_t d = entry & 0xFFFFFFu, links = entry >> 24;
    const double cv[3] = {static_cast<double>(ci), static_cast<double>(cj), static_cast<double>(ck)};
    c[2 * r] = link_candidate(u, v, w, cv, links & 15u, d - (d > 0 ? 1u : 0u));
    c[2 * r + 1] = link_candidate(u, v, w, cv, links >> 4, std::min(d, last));
  }
  // The lexicographic minimum is a total order's minimum, so a tree reduction gives the same result
  // as a scan (and a shorter dependency chain).
  for (int width = 8; width >= 1; width /= 2) {
    for (int r = 0; r < width; ++r) c[r] = pick(c[r], c[r + width]);
  }
  return c[0];
}

candidate nearest_brute(const tables3& tb, double u, double v, double w) noexcept {
  candidate best{std::numeric_limits<double>::infinity(), 0.0};
  for (std::uint32_t e = 0; e + 1 < tb.m; ++e) best = pick(best, segment_candidate(tb, e, u, v, w));
  return best;
}

}  // namespace

namespace detail {

hilbert3_kernel_args hilbert3_kernel_args_of(const hilbert3_curve& curve) noexcept {
  const tables3& tb = *make_tables(curve.order());
  const lattice_map lm = lattice_of(curve.layout(), tb.n);
  return {tb.corner.data(), static_cast<std::uint32_t>(tb.order), tb.n, tb.m, lm.scale, lm.offset,
          curve.lo(), curve.hi(), &curve};
}

}  // namespace detail

// ----------------------------------------------------------------------------------------------------
// Bit algorithms

std::uint32_t hilbert3_index(int order, std::uint32_t i, std::uint32_t j, std::uint32_t k) {
  check_order(order, "hilbert3_index");
  const std::uint32_t n = std::uint32_t{1} << order;
  if (i >= n || j >= n || k >= n) {
    throw error(errc::invalid_argument, "hilbert3_index: (" + std::to_string(i) + ", " + std::to_string(j) + ", " +
                                            std::to_string(k) + ") is outside the " + std::to_string(n) + "^3 lattice");
  }
  return index_bits(order, {i, j, k});
}

std::array<std::uint32_t, 3> hilbert3_cell(int order, std::uint32_t d) {
  check_order(order, "hilbert3_cell");
  const std::uint32_t m = std::uint32_t{1} << (3 * order);
  if (d >= m) {
    throw error(errc::invalid_argument, "hilbert3_cell: index " + std::to_string(d) + " >= " + std::to_string(m));
  }
  return cell_bits(order, d);
}

// ----------------------------------------------------------------------------------------------------
// hilbert3_curve

hilbert3_curve::hilbert3_curve(int order, hilbert_layout layout, double lo, double hi)
    : order_(order), layout_(layout), lo_(lo), hi_(hi) {
  check_order(order, "hilbert3_curve");
  check_curve(layout, lo, hi, "hilbert3_curve");
  tables_ = make_tables(order);
}

double hilbert3_curve::length() const noexcept { return curve_length(layout_, side(), vertex_count()); }

double hilbert3_curve::segment_length() const noexcept {
  return detail::hilbert_common::segment_length(layout_, side());
}

std::array<double, 3> hilbert3_curve::vertex(std::size_t d) const {
  if (d >= vertex_count()) {
    throw error(errc::invalid_argument, "hilbert3_curve::vertex: index " + std::to_string(d) + " >= " +
                                            std::to_string(vertex_count()));
  }
  const lattice_map lm = lattice_of(layout_, side());
  const tables::point p = tables_->v[d];
  return {(p.c[0] - lm.offset) / lm.scale, (p.c[1] - lm.offset) / lm.scale, (p.c[2] - lm.offset) / lm.scale};
}

std::array<double, 3> hilbert3_curve::encode_exact(double t) const noexcept {
  constexpr double nan = std::numeric_limits<double>::quiet_NaN();
  if (std::isnan(t)) return {nan, nan, nan};
  const tables& tb = *tables_;
  const double w = std::clamp((t - lo_) / (hi_ - lo_), 0.0, 1.0);
  const double s = w * static_cast<double>(tb.m - 1);
  const std::uint32_t k = std::min(static_cast<std::uint32_t>(s), tb.m - 2);
  const double f = s - static_cast<double>(k);
  const tables::point a = tb.v[k], b = tb.v[k + 1];
  const lattice_map lm = lattice_of(layout_, tb.n);
  std::array<double, 3> r{};
  for (std::size_t c = 0; c < 3; ++c) {
    const double p = a.c[c] + f * (static_cast<double>(b.c[c]) - a.c[c]);
    r[c] = (p - lm.offset) / lm.scale;
  }
  return r;
}

hilbert3_point hilbert3_curve::encode(float t) const noexcept {
  const auto p = encode_exact(static_cast<double>(t));
  return {static_cast<float>(p[0]), static_cast<float>(p[1]), static_cast<float>(p[2])};
}

hilbert_decoded hilbert3_curve::decode(float x, float y, float z) const noexcept {
  if (std::isnan(x) || std::isnan(y) || std::isnan(z)) return kNanDecoded;
  const lattice_map lm = lattice_of(layout_, tables_->n);
  const candidate c = nearest_exact(*tables_, to_lattice(x, lm), to_lattice(y, lm), to_lattice(z, lm));
  return finish_decode(c, lm, lo_, hi_, tables_->m);
}

hilbert_decoded hilbert3_curve::decode_reference(float x, float y, float z) const noexcept {
  if (std::isnan(x) || std::isnan(y) || std::isnan(z)) return kNanDecoded;
  const lattice_map lm = lattice_of(layout_, tables_->n);
  const candidate c = nearest_brute(*tables_, to_lattice(x, lm), to_lattice(y, lm), to_lattice(z, lm));
  return finish_decode(c, lm, lo_, hi_, tables_->m);
}

void hilbert3_curve::encode(std::span<const float> t, std::span<float> xyz) const {
  encode_map(t, t.empty() ? 0 : 1, hilbert_map_layout::interleaved, xyz);
}

void hilbert3_curve::decode(std::span<const float> xyz, std::span<float> t, std::span<float> distance) const {
  decode_map(xyz, t.empty() ? 0 : 1, hilbert_map_layout::interleaved, t, distance);
}

void hilbert3_curve::encode_map(std::span<const float> t, std::size_t batch, hilbert_map_layout layout,
                                std::span<float> xyz, unsigned threads) const {
  check_map(t, batch, 3, xyz, std::span<const float>(), "hilbert3_curve::encode_map");
  const std::size_t pixels = batch ? t.size() / batch : 0;
  const float* in = t.data();
  float* out = xyz.data();
  run_chunks(t.size(), threads, kMinChunkEncode, out, 3 * sizeof(float), [&](std::size_t begin, std::size_t end) noexcept {
    for_each_run(layout, 3, pixels, begin, end, [&](std::size_t i, std::size_t count, std::size_t x, std::size_t cs,
                                                 std::size_t step) noexcept {
      for (std::size_t r = 0; r < count; ++r) {
        const hilbert3_point p = encode(in[i + r]);
        const std::size_t at = x + r * step;
        out[at] = p.x;
        out[at + cs] = p.y;
        out[at + 2 * cs] = p.z;
      }
    });
  });
}

void hilbert3_curve::decode_map(std::span<const float> xyz, std::size_t batch, hilbert_map_layout layout,
                                std::span<float> t, std::span<float> distance, unsigned threads) const {
  check_map(t, batch, 3, xyz, distance, "hilbert3_curve::decode_map");
  const std::size_t pixels = batch ? t.size() / batch : 0;
  const float* in = xyz.data();
  float* out = t.data();
  float* dist = distance.empty() ? nullptr : distance.data();
  const detail::hilbert3_kernel_args args = detail::hilbert3_kernel_args_of(*this);
  run_chunks(t.size(), threads, kMinChunkExact, out, sizeof(float), [&](std::size_t begin, std::size_t end) noexcept {
    for_each_run(layout, 3, pixels, begin, end, [&](std::size_t i, std::size_t count, std::size_t x, std::size_t cs,
                                                 std::size_t step) noexcept {
      if (step == 1) {
        detail::hilbert3_decode_planar_f32(args, in + x, in + x + cs, in + x + 2 * cs, count, out + i,
                                           dist ? dist + i : nullptr);
      } else {  // interleaved: cs = 1, step = 3
        detail::hilbert3_decode_interleaved_f32(args, in + x, count, out + i, dist ? dist + i : nullptr);
      }
    });
  });
}

void make_training_target(const hilbert3_curve& curve, std::span<const float> depth, std::size_t batch,
                          hilbert_map_layout layout, std::span<float> target) {
  curve.encode_map(depth, batch, layout, target);
}

// ----------------------------------------------------------------------------------------------------
// hilbert3_quantizer

template <code_storage Code>
hilbert3_quantizer<Code>::hilbert3_quantizer(hilbert3_curve curve, quant_params params)
    : hilbert3_quantizer(std::move(curve), params, params, params) {}

template <code_storage Code>
hilbert3_quantizer<Code>::hilbert3_quantizer(hilbert3_curve curve, quant_params x_params, quant_params y_params,
                                             quant_params z_params)
    : curve_(std::move(curve)), px_(std::move(x_params)), py_(std::move(y_params)), pz_(std::move(z_params)) {
  for (const quant_params* p : {&px_, &py_, &pz_}) {
    if (p->granularity() != granularity::per_tensor) {
      throw error(errc::invalid_argument, "hilbert3_quantizer: the x, y and z parameters must be per_tensor");
    }
  }
  if (!(px_.format() == py_.format()) || !(px_.format() == pz_.format())) {
    throw error(errc::invalid_argument,
                "hilbert3_quantizer: the x, y and z parameters must share one code format");
  }
  detail::check_code_storage<Code>(px_, "hilbert3_quantizer");
  const code_format f = px_.format();
  if (f.bits > max_table_bits) return;
  const std::size_t stride = std::size_t{1} << f.bits;
  auto table = std::make_shared<std::vector<float>>(stride * stride * stride, 0.0f);
  auto dist = std::make_shared<std::vector<float>>(stride * stride * stride, 0.0f);
  const ref::run_params rx = ref::run_params_of(px_), ry = ref::run_params_of(py_), rz = ref::run_params_of(pz_);
  for (std::int32_t cx = f.qmin(); cx <= f.qmax(); ++cx) {
    const float x = ref::dequantize_value(static_cast<float>(cx), rx.scale, rx.zero_point);
    for (std::int32_t cy = f.qmin(); cy <= f.qmax(); ++cy) {
      const float y = ref::dequantize_value(static_cast<float>(cy), ry.scale, ry.zero_point);
      const std::size_t row = (static_cast<std::size_t>(cx - f.qmin()) * stride + static_cast<std::size_t>(cy - f.qmin())) * stride;
      for (std::int32_t cz = f.qmin(); cz <= f.qmax(); ++cz) {
        const float z = ref::dequantize_value(static_cast<float>(cz), rz.scale, rz.zero_point);
        const hilbert_decoded r = curve_.decode(x, y, z);
        const std::size_t idx = row + static_cast<std::size_t>(cz - f.qmin());
        (*table)[idx] = r.t;
        (*dist)[idx] = r.distance;
      }
    }
  }
  table_ = std::move(table);
  dist_table_ = std::move(dist);
}

template <code_storage Code>
std::span<const float> hilbert3_quantizer<Code>::table() const noexcept {
  return table_ ? std::span<const float>(*table_) : std::span<const float>();
}

template <code_storage Code>
std::span<const float> hilbert3_quantizer<Code>::distance_table() const noexcept {
  return dist_table_ ? std::span<const float>(*dist_table_) : std::span<const float>();
}

template <code_storage Code>
hilbert_decoded hilbert3_quantizer<Code>::decode_triple(Code cx, Code cy, Code cz) const noexcept {
  const code_format f = px_.format();
  const std::int32_t x = std::clamp<std::int32_t>(cx, f.qmin(), f.qmax());
  const std::int32_t y = std::clamp<std::int32_t>(cy, f.qmin(), f.qmax());
  const std::int32_t z = std::clamp<std::int32_t>(cz, f.qmin(), f.qmax());
  if (table_) {
    const std::size_t idx = (((static_cast<std::size_t>(x - f.qmin()) << f.bits) | static_cast<std::size_t>(y - f.qmin()))
                             << f.bits) |
                            static_cast<std::size_t>(z - f.qmin());
    return {(*table_)[idx], (*dist_table_)[idx]};
  }
  const ref::run_params rx = ref::run_params_of(px_), ry = ref::run_params_of(py_), rz = ref::run_params_of(pz_);
  return curve_.decode(ref::dequantize_value(static_cast<float>(x), rx.scale, rx.zero_point),
                       ref::dequantize_value(static_cast<float>(y), ry.scale, ry.zero_point),
                       ref::dequantize_value(static_cast<float>(z), rz.scale, rz.zero_point));
}

template <code_storage Code>
void hilbert3_quantizer<Code>::encode(std::span<const float> values, std::span<Code> codes) const {
  encode_map(values, values.empty() ? 0 : 1, hilbert_map_layout::interleaved, codes);
}

template <code_storage Code>
void hilbert3_quantizer<Code>::decode(std::span<const Code> codes, std::span<float> values) const {
  decode_map(codes, values.empty() ? 0 : 1, hilbert_map_layout::interleaved, values);
}

template <code_storage Code>
void hilbert3_quantizer<Code>::decode(std::span<const Code> codes, std::span<float> values,
                                      std::span<float> distance) const {
  if (distance.size() != values.size()) {
    throw error(errc::size_mismatch, "hilbert3_quantizer::decode: " + std::to_string(distance.size()) +
                                         " distances given for " + std::to_string(values.size()) + " values");
  }
  decode_map(codes, values.empty() ? 0 : 1, hilbert_map_layout::interleaved, values, distance);
}

template <code_storage Code>
void hilbert3_quantizer<Code>::encode_map(std::span<const float> t, std::size_t batch, hilbert_map_layout layout,
                                          std::span<Code> codes, unsigned threads) const {
  check_map(t, batch, 3, codes, std::span<const float>(), "hilbert3_quantizer::encode_map");
  const std::size_t pixels = batch ? t.size() / batch : 0;
  const ref::run_params rp[3] = {ref::run_params_of(px_), ref::run_params_of(py_), ref::run_params_of(pz_)};
  const float* in = t.data();
  Code* out = codes.data();
  run_chunks(t.size(), threads, kMinChunkEncode, out, 3 * sizeof(Code), [&](std::size_t begin, std::size_t end) noexcept {
    for_each_run(layout, 3, pixels, begin, end, [&](std::size_t i, std::size_t count, std::size_t x, std::size_t cs,
                                                 std::size_t step) noexcept {
      for (std::size_t r = 0; r < count; ++r) {
        const hilbert3_point p = curve_.encode(in[i + r]);
        const float xyz[3] = {p.x, p.y, p.z};
        for (std::size_t c = 0; c < 3; ++c) {
          out[x + r * step + c * cs] = static_cast<Code>(ref::quantize_value(
              xyz[c], rp[c].scale, rp[c].inv_scale, rp[c].zero_point, rp[c].qmin, rp[c].qmax, rp[c].numerics));
        }
      }
    });
  });
}

template <code_storage Code>
void hilbert3_quantizer<Code>::decode_map(std::span<const Code> codes, std::size_t batch, hilbert_map_layout layout,
                                          std::span<float> t, std::span<float> distance, unsigned threads) const {
  check_map(t, batch, 3, codes, distance, "hilbert3_quantizer::decode_map");
  const std::size_t pixels = batch ? t.size() / batch : 0;
  const Code* in = codes.data();
  float* out = t.data();
  float* dist = distance.empty() ? nullptr : distance.data();
  if (!table_) {  // wider codes: blocks of dequantized triples (as decode_triple) through the exact kernel
    const detail::hilbert3_kernel_args args = detail::hilbert3_kernel_args_of(curve_);
    const code_format f = px_.format();
    const ref::run_params rp[3] = {ref::run_params_of(px_), ref::run_params_of(py_), ref::run_params_of(pz_)};
    decode_codes_exact(in, t.size(), pixels, layout, threads, rp, f.qmin(), f.qmax(), out, dist,
                       [&](const float (&planes)[3][kDequantBlock], std::size_t len, float* t_out,
                           float* d_out) noexcept {
                         detail::hilbert3_decode_planar_f32(args, planes[0], planes[1], planes[2], len, t_out, d_out);
                       });
    return;
  }
  const code_format f = px_.format();
  const int bits = f.bits;
  const std::int32_t qmin = f.qmin(), qmax = f.qmax();
  const float* table = table_->data();
  const float* dtable = dist_table_->data();
  const auto offset = [&](Code c) noexcept {
    return static_cast<std::uint32_t>(std::clamp<std::int32_t>(c, qmin, qmax) - qmin);
  };
  run_chunks(t.size(), threads, kMinChunkTable, out, sizeof(float), [&](std::size_t begin, std::size_t end) noexcept {
    for_each_run(layout, 3, pixels, begin, end, [&](std::size_t i, std::size_t count, std::size_t x, std::size_t cs,
                                                 std::size_t step) noexcept {
      for (std::size_t r = 0; r < count; ++r) {
        const std::size_t at = x + r * step;
        const std::uint32_t idx =
            (((offset(in[at]) << bits) | offset(in[at + cs])) << bits) | offset(in[at + 2 * cs]);
        out[i + r] = table[idx];
        if (dist) dist[i + r] = dtable[idx];
      }
    });
  });
}

template class hilbert3_quantizer<std::int8_t>;
template class hilbert3_quantizer<std::uint8_t>;
template class hilbert3_quantizer<std::int16_t>;
template class hilbert3_quantizer<std::uint16_t>;

// ----------------------------------------------------------------------------------------------------
// Error model


hilbert_error_estimate predict_hilbert3_error(const hilbert3_curve& curve, double step, double noise) {
  if (!std::isfinite(step) || !(step > 0.0) || !std::isfinite(noise) || !(noise >= 0.0)) {
    throw error(errc::invalid_argument, "predict_hilbert3_error: step " + detail::float_text(step) + " and noise " +
                                            detail::float_text(noise) + " must be finite with step > 0, noise >= 0");
  }
  const tables3& tb = *make_tables(curve.order());
  const double g = 1.0 / curve.segment_length();  // unit cube -> lattice
  const double q = step * g, sigma = noise * g;
  const double var_along = q * q / 12.0 + sigma * sigma;
  // Jumps: for each segment e and each side of it along each perpendicular axis, the landings on the
  // rows of neighbours beyond it (survival, reach_of and add_landings in src/hilbert_common.h).
  const std::uint32_t n = tb.n;
  const reach_table reach = reach_of(n, q, sigma);
  double p_jump = 0.0, jump2 = 0.0;
  for (std::uint32_t e = 0; e + 1 < tb.m; ++e) {
    const tables3::point va = tb.v[e], vb = tb.v[e + 1];
    std::size_t along = 0;
    while (va.c[along] == vb.c[along]) ++along;
    for (std::size_t axis = 0; axis < 3; ++axis) {
      if (axis == along) continue;
      const int row = va.c[axis];  // the segment's coordinate on this perpendicular axis
      for (const int side : {-1, 1}) {
        const int rows = side > 0 ? static_cast<int>(n) - 1 - row : row;  // rows beyond this one
        const auto at = [&](int end, int m) {
          const tables3::point& p = end == 0 ? va : vb;
          std::uint32_t c[3] = {p.c[0], p.c[1], p.c[2]};
          c[axis] = static_cast<std::uint32_t>(static_cast<int>(c[axis]) + side * m);
          return static_cast<double>(tb.at(c[0], c[1], c[2]));
        };
        add_landings(reach, rows, e, at, p_jump, jump2);
      }
    }
  }
  // Turns: interior vertices where the direction changes.
  std::size_t turns = 0;
  for (std::uint32_t d = 1; d + 1 < tb.m; ++d) {
    const tables3::point a = tb.v[d - 1], b = tb.v[d], c = tb.v[d + 1];
    turns += (b.c[0] - a.c[0] != c.c[0] - b.c[0]) || (b.c[1] - a.c[1] != c.c[1] - b.c[1]) ||
             (b.c[2] - a.c[2] != c.c[2] - b.c[2]);
  }
  const double segments = static_cast<double>(tb.m - 1);
  const double var_small = var_along + static_cast<double>(turns) / segments * corner_variance(q, sigma);
  p_jump /= segments;
  jump2 /= segments;
  const double range = curve.hi() - curve.lo();
  hilbert_error_estimate est{};
  est.rms_direct = range * std::sqrt(step * step / 12.0 + noise * noise);
  est.rms_hilbert = range / segments * std::sqrt((1.0 - std::min(p_jump, 1.0)) * var_small + jump2);
  est.gain = est.rms_direct / est.rms_hilbert;
  est.jump_probability = std::min(p_jump, 1.0);
  return est;
}

hilbert_error_estimate predict_hilbert3_error(const hilbert3_curve& curve, int bits, double noise_lsb) {
  if (bits < 2 || bits > 16) {
    throw error(errc::unsupported_width,
                "predict_hilbert3_error: bit width " + std::to_string(bits) + " is outside the supported 2..16");
  }
  const double step = 1.0 / static_cast<double>((1 << bits) - 1);
  return predict_hilbert3_error(curve, step, noise_lsb * step);
}

}  // namespace lowbit
