// lowbit — the Hilbert-curve output encoder / decoder (scalar), its quantizer and its error model.
// SPDX-License-Identifier: Apache-2.0
//
// Everything below works in lattice coordinates: vertex d sits at the integer point (i, j) =
// hilbert_cell(n, d), segments are unit edges between lattice neighbours, and a unit-square point
// (x, y) maps to (u, v) = (x N - 1/2, y N - 1/2) (cell_centre) or (x (N - 1), y (N - 1)) (full_range).
// Both maps are exact in float64 for float32 x (a power-of-two scale minus 1/2, or a product of a
// 24-bit and an 8-bit integer significand), so the decoder sees exactly the point it was given.
//
// Exactness of the decoder (hilbert_curve::decode)
// ------------------------------------------------
// Let P = (u, v) be the clamped point, i = clamp(floor(u), 0, N - 2), j = clamp(floor(v), 0, N - 2),
// and C = {i, i+1} x {j, j+1} the four lattice vertices of the lattice square "around" P (for points
// in the half-cell margin of cell_centre, the square next to it). The decoder evaluates only the
// segments incident to a vertex of C: k = d - 1 and k = d for each of the four vertex indices d
// (at most 8 segments, from the xy -> d table; never a scan; see nearest_exact for the ends). Why that is exact:
//  (1) The distance D from P to the curve is <= d0 = the distance to the nearest vertex of C, and
//      d0 <= sqrt(1/2): inside [i, i+1] x [j, j+1] each coordinate is within 1/2 of a corner's, and in
//      the margin (|u - i| or |v - j| up to 1/2 beyond the square) as well.
//  (2) Every segment E incident to no vertex of C is at distance >= 1 from P. First for P in the
//      square S = [i, i+1] x [j, j+1]: say E is horizontal, from (a, r) to (a + 1, r). If r is not j
//      or j + 1, |v - r| >= 1. Otherwise neither a nor a + 1 is in {i, i + 1}, so a + 1 <= i - 1 or
//      a >= i + 2, and E is >= 1 away horizontally. Vertical segments alike. For P in the margin,
//      let P' be the projection of P onto S; the projection onto a convex set is non-expansive and E
//      lies in the half-planes bounding the lattice hull, so |P - Q| >= |P' - Q| >= 1 for every Q in E.
//  (3) By (1) and (2) every nearest point lies on a segment incident to C, strictly closer than any
//      other segment (D <= 0.7072 < 1), so the minimum over the 8 candidates is the global minimum,
//      ties included. (The disk argument also works: a nearest point lies in the closed cell
//      V + [-1/2, 1/2]^2 of an endpoint V of its segment, and that cell meets the disk of radius d0;
//      the lattice-square form needs no disk test and no square root.)
// Floating point: u and v are exact (see above); every candidate is evaluated with the same function
// as the brute force (segment_candidate) and the minimum is taken in the same lexicographic order
// (distance^2, then arc length s), so decode and decode_reference return the same bits; the margin
// between candidates (<= 0.5 in distance^2) and the rest (>= 1) is far beyond rounding.
// Tie rule: among segments at the same distance^2 the smallest arc length s wins. The brute force
// scans k upward keeping a strictly smaller (distance^2, s), which is the same rule: for k < k' the
// nearest points satisfy s_k <= k + 1 <= s_k'.
#include "lowbit/hilbert.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <string>
#include <thread>
#include <type_traits>

#include "lowbit/detail/hilbert_kernels.h"
#include "lowbit/ref/uniform.h"

namespace lowbit {

struct hilbert_curve::tables {
  int order;
  std::uint32_t n;                  // side 2^order
  std::uint32_t m;                  // vertex count 4^order
  std::vector<std::uint8_t> vx, vy;  // lattice point of vertex d (m + 1 entries, last = copy of m - 1)
  std::vector<std::uint16_t> index;  // vertex index of lattice point (i, j) at j * n + i
  // The SIMD decoder's corner entry of lattice point (i, j) at j * n + i: d and its two candidate
  // segments (lowbit/detail/hilbert_kernels.h).
  std::vector<std::int32_t> corner;
};

namespace {

void check_order(int order, const char* what) {
  if (order < hilbert_curve::min_order || order > hilbert_curve::max_order) {
    throw error(errc::invalid_argument,
                std::string(what) + ": order " + std::to_string(order) + " is outside the supported 1..8");
  }
}

std::uint32_t index_bits(std::uint32_t n, std::uint32_t x, std::uint32_t y) noexcept {
  std::uint32_t d = 0;
  for (std::uint32_t s = n / 2; s > 0; s /= 2) {
    const std::uint32_t rx = (x & s) > 0 ? 1 : 0;
    const std::uint32_t ry = (y & s) > 0 ? 1 : 0;
    d += s * s * ((3 * rx) ^ ry);
    if (ry == 0) {  // rotate the quadrant
      if (rx == 1) {
        x = n - 1 - x;
        y = n - 1 - y;
      }
      std::swap(x, y);
    }
  }
  return d;
}

std::pair<std::uint32_t, std::uint32_t> cell_bits(std::uint32_t n, std::uint32_t d) noexcept {
  std::uint32_t x = 0, y = 0, t = d;
  for (std::uint32_t s = 1; s < n; s *= 2) {
    const std::uint32_t rx = 1 & (t / 2);
    const std::uint32_t ry = 1 & (t ^ rx);
    if (ry == 0) {
      if (rx == 1) {
        x = s - 1 - x;
        y = s - 1 - y;
      }
      std::swap(x, y);
    }
    x += s * rx;
    y += s * ry;
    t /= 4;
  }
  return {x, y};
}

std::shared_ptr<const hilbert_curve::tables> make_tables(int order) {
  // One table set per order, shared by every curve of that order (built on first use).
  static const std::array<std::shared_ptr<const hilbert_curve::tables>, 9> all = [] {
    std::array<std::shared_ptr<const hilbert_curve::tables>, 9> a{};
    for (int o = 1; o <= 8; ++o) {
      auto t = std::make_shared<hilbert_curve::tables>();
      t->order = o;
      t->n = std::uint32_t{1} << o;
      t->m = t->n * t->n;
      t->vx.resize(t->m + 1);
      t->vy.resize(t->m + 1);
      t->index.resize(t->m);
      for (std::uint32_t d = 0; d < t->m; ++d) {
        const auto [i, j] = cell_bits(t->n, d);
        t->vx[d] = static_cast<std::uint8_t>(i);
        t->vy[d] = static_cast<std::uint8_t>(j);
        t->index[j * t->n + i] = static_cast<std::uint16_t>(d);
      }
      t->vx[t->m] = t->vx[t->m - 1];
      t->vy[t->m] = t->vy[t->m - 1];
      t->corner.resize(t->m);
      for (std::uint32_t d = 0; d < t->m; ++d) {
        // forward slot: segment d, towards V_{d+1} (at d = M - 1 towards V_{M-2}); backward slot:
        // segment d - 1, towards V_{d-1} (at d = 0 towards V_1). See lowbit/detail/hilbert_kernels.h.
        const std::uint32_t next = d + 1 == t->m ? d - 1 : d + 1, prev = d == 0 ? 1 : d - 1;
        const auto direction = [&](std::uint32_t other, std::uint32_t axis_y, std::uint32_t negative) {
          const int dx = t->vx[other] - t->vx[d], dy = t->vy[other] - t->vy[d];
          return (dy != 0 ? axis_y : 0u) | (dx + dy < 0 ? negative : 0u);
        };
        const std::uint32_t flags =
            direction(next, detail::hilbert_forward_axis_y, detail::hilbert_forward_negative) |
            direction(prev, detail::hilbert_backward_axis_y, detail::hilbert_backward_negative);
        t->corner[std::size_t{t->vy[d]} * t->n + t->vx[d]] =
            static_cast<std::int32_t>(d | flags << detail::hilbert_corner_flag_shift);
      }
      a[static_cast<std::size_t>(o)] = std::move(t);
    }
    return a;
  }();
  return all[static_cast<std::size_t>(order)];
}

// The nearest point of one segment: distance^2 and arc length s (lattice units).
struct candidate {
  double dist2;
  double s;
};

inline bool better(const candidate& a, const candidate& b) noexcept {
  return a.dist2 < b.dist2 || (a.dist2 == b.dist2 && a.s < b.s);
}

// Segment k runs from V_k to V_{k+1} (axis-parallel, length 1). Its nearest point to (u, v) is the
// clamp of (u, v) into the segment's bounding box; s = k + its distance from V_k.
inline candidate segment_candidate(const hilbert_curve::tables& tb, std::uint32_t k, double u, double v) noexcept {
  const double ax = tb.vx[k], ay = tb.vy[k], bx = tb.vx[k + 1], by = tb.vy[k + 1];
  // min(max(.)) = std::clamp for non-NaN input, written so that it compiles to maxsd / minsd.
  const double cx = std::min(std::max(u, std::min(ax, bx)), std::max(ax, bx));
  const double cy = std::min(std::max(v, std::min(ay, by)), std::max(ay, by));
  const double dx = u - cx, dy = v - cy;
  return {dx * dx + dy * dy, static_cast<double>(k) + std::abs(cx - ax) + std::abs(cy - ay)};
}

struct lattice_map {
  double scale, offset, lo, hi;  // u = clamp(x, 0, 1) * scale + offset, in [lo, hi]
};

lattice_map lattice_of(hilbert_layout layout, std::uint32_t n) noexcept {
  if (layout == hilbert_layout::cell_centre) {
    return {static_cast<double>(n), -0.5, -0.5, static_cast<double>(n) - 0.5};
  }
  return {static_cast<double>(n - 1), 0.0, 0.0, static_cast<double>(n - 1)};
}

inline double to_lattice(float x, const lattice_map& lm) noexcept {
  const double c = std::clamp(static_cast<double>(x), 0.0, 1.0);
  return c * lm.scale + lm.offset;
}

candidate nearest_exact(const hilbert_curve::tables& tb, double u, double v) noexcept {
  const double top = static_cast<double>(tb.n - 2);
  const auto i = static_cast<std::uint32_t>(std::clamp(std::floor(u), 0.0, top));
  const auto j = static_cast<std::uint32_t>(std::clamp(std::floor(v), 0.0, top));
  const std::uint32_t corners[4] = {tb.index[j * tb.n + i], tb.index[j * tb.n + i + 1],
                                    tb.index[(j + 1) * tb.n + i], tb.index[(j + 1) * tb.n + i + 1]};
  // Branch-free: segments d - 1 and d of each corner; d = 0 repeats segment 0, and d = M - 1 takes
  // the degenerate "segment" M - 1 (vertex M - 1 alone, tables pad V_M = V_{M-1}), whose candidate
  // (same distance^2, s = M - 1) segment M - 2 also produces whenever it is the nearest point.
  // The lexicographic minimum is a total order's minimum, so a tree reduction gives the same result
  // as a scan (and a shorter dependency chain).
  candidate c[8];
  for (int r = 0; r < 4; ++r) {
    const std::uint32_t d = corners[r];
    c[2 * r] = segment_candidate(tb, d - (d > 0 ? 1u : 0u), u, v);
    c[2 * r + 1] = segment_candidate(tb, d, u, v);
  }
  const auto pick = [](const candidate& a, const candidate& b) noexcept {
    const bool take = (b.dist2 < a.dist2) | ((b.dist2 == a.dist2) & (b.s < a.s));
    return candidate{take ? b.dist2 : a.dist2, take ? b.s : a.s};
  };
  const candidate a01 = pick(c[0], c[1]), a23 = pick(c[2], c[3]), a45 = pick(c[4], c[5]), a67 = pick(c[6], c[7]);
  return pick(pick(a01, a23), pick(a45, a67));
}

candidate nearest_brute(const hilbert_curve::tables& tb, double u, double v) noexcept {
  candidate best{std::numeric_limits<double>::infinity(), 0.0};
  for (std::uint32_t k = 0; k + 1 < tb.m; ++k) {
    const candidate c = segment_candidate(tb, k, u, v);
    if (better(c, best)) best = c;
  }
  return best;
}

void check_map(std::size_t values, std::size_t batch, std::size_t pairs, std::size_t distance, const char* what) {
  if (batch == 0 ? values != 0 : values % batch != 0) {
    throw error(errc::invalid_shape, std::string(what) + ": " + std::to_string(values) +
                                         " values do not split into " + std::to_string(batch) + " images");
  }
  if (pairs != 2 * values) {
    throw error(errc::size_mismatch, std::string(what) + ": " + std::to_string(values) + " values need " +
                                         std::to_string(2 * values) + " channel values, " + std::to_string(pairs) +
                                         " given");
  }
  if (distance != 0 && distance != values) {
    throw error(errc::size_mismatch, std::string(what) + ": " + std::to_string(distance) +
                                         " distances given for " + std::to_string(values) + " values");
  }
}

// Calls f(i, count, x, y, step) for the runs of values [i, i + count) of [begin, end) that lie in one
// image: their x channel at element offsets x + r * step and their y channel at y + r * step
// (r < count; planar: the image's two planes, step 1; interleaved: pairs, step 2).
template <class F>
void for_each_run(hilbert_map_layout layout, std::size_t pixels, std::size_t begin, std::size_t end, F&& f) {
  if (begin >= end) return;
  if (layout == hilbert_map_layout::interleaved) {
    f(begin, end - begin, 2 * begin, 2 * begin + 1, std::size_t{2});
    return;
  }
  for (std::size_t i = begin; i < end;) {
    const std::size_t b = i / pixels, p = i - b * pixels;
    const std::size_t count = std::min(end - i, pixels - p);
    f(i, count, 2 * b * pixels + p, 2 * b * pixels + pixels + p, std::size_t{1});
    i += count;
  }
}

// The fewest values per worker of each operation: below them a map stays on the calling thread
// (starting and joining a std::thread costs some 20-50 us; the chunks are ~0.1 ms of work or more).
constexpr std::size_t kMinChunkEncode = 16384;   // ~10 ns per value
constexpr std::size_t kMinChunkExact = 16384;    // the SIMD exact decoder, ~8 ns per value
constexpr std::size_t kMinChunkTable = 262144;   // code-pair table lookups, < 0.5 ns per value

unsigned resolve_threads(unsigned threads) noexcept {
  if (threads != 0) return threads;
  const unsigned hw = std::thread::hardware_concurrency();
  return hw == 0 ? 1 : hw;
}

// Runs body(begin, end) (noexcept) over [0, n) in contiguous chunks, one per worker: the calling thread
// takes the first, std::thread workers the others. At most min(threads, n / min_chunk) workers (at
// least 1). Chunk boundaries fall on 64-byte boundaries of the output `out` (elements of out_size bytes
// per value), so no two workers write into one cache line of it. If a worker cannot be started, its
// chunk runs on the calling thread; nothing is thrown. The result never depends on the split (every
// value is computed by the same code from its own inputs).
template <class Body>
void run_chunks(std::size_t n, unsigned threads, std::size_t min_chunk, const void* out, std::size_t out_size,
                const Body& body) noexcept {
  static_assert(noexcept(body(std::size_t{0}, std::size_t{0})), "chunk bodies must not throw");
  constexpr std::size_t kMaxWorkers = 64;
  const std::size_t workers = std::min({std::size_t{resolve_threads(threads)}, n / min_chunk, kMaxWorkers});
  if (workers <= 1) {
    body(0, n);
    return;
  }
  constexpr std::size_t kLine = 64;
  const std::size_t align = out_size != 0 && kLine % out_size == 0 ? kLine / out_size : 1;
  const auto addr = reinterpret_cast<std::uintptr_t>(out);
  const std::size_t phase = out_size != 0 && addr % out_size == 0 ? (kLine - addr % kLine) % kLine / out_size : 0;
  const std::size_t chunk = ((n + workers - 1) / workers + align - 1) / align * align;
  const auto boundary = [&](std::size_t w) { return w == 0 ? 0 : std::min(n, phase + w * chunk); };
  std::thread pool[kMaxWorkers];
  std::size_t started = 0;
  for (std::size_t w = 1; w < workers; ++w) {
    const std::size_t b = boundary(w), e = w + 1 == workers ? n : boundary(w + 1);
    if (b >= e) continue;
    try {
      pool[started] = std::thread([&body, b, e] { body(b, e); });
      ++started;
    } catch (...) {  // std::system_error (no thread available) or std::bad_alloc: run it here
      body(b, e);
    }
  }
  body(0, boundary(1));
  for (std::size_t w = 0; w < started; ++w) pool[w].join();
}

}  // namespace

namespace detail {

hilbert_kernel_args hilbert_kernel_args_of(const hilbert_curve& curve) noexcept {
  const hilbert_curve::tables& tb = *make_tables(curve.order());
  const lattice_map lm = lattice_of(curve.layout(), tb.n);
  return {tb.corner.data(), static_cast<std::uint32_t>(tb.order), tb.n, tb.m, lm.scale, lm.offset,
          curve.lo(), curve.hi(), &curve};
}

}  // namespace detail

// ----------------------------------------------------------------------------------------------------
// Bit algorithms

std::uint32_t hilbert_index(int order, std::uint32_t i, std::uint32_t j) {
  check_order(order, "hilbert_index");
  const std::uint32_t n = std::uint32_t{1} << order;
  if (i >= n || j >= n) {
    throw error(errc::invalid_argument, "hilbert_index: (" + std::to_string(i) + ", " + std::to_string(j) +
                                            ") is outside the " + std::to_string(n) + "x" + std::to_string(n) +
                                            " lattice");
  }
  return index_bits(n, i, j);
}

std::pair<std::uint32_t, std::uint32_t> hilbert_cell(int order, std::uint32_t d) {
  check_order(order, "hilbert_cell");
  const std::uint32_t n = std::uint32_t{1} << order;
  if (d >= n * n) {
    throw error(errc::invalid_argument,
                "hilbert_cell: index " + std::to_string(d) + " >= " + std::to_string(n * n));
  }
  return cell_bits(n, d);
}

// ----------------------------------------------------------------------------------------------------
// hilbert_curve

hilbert_curve::hilbert_curve(int order, hilbert_layout layout, double lo, double hi)
    : order_(order), layout_(layout), lo_(lo), hi_(hi) {
  check_order(order, "hilbert_curve");
  if (layout != hilbert_layout::cell_centre && layout != hilbert_layout::full_range) {
    throw error(errc::invalid_argument, "hilbert_curve: unknown layout " +
                                            std::to_string(static_cast<int>(layout)));
  }
  if (!std::isfinite(lo) || !std::isfinite(hi) || !(lo < hi)) {
    throw error(errc::invalid_range, "hilbert_curve: value range [" + std::to_string(lo) + ", " +
                                         std::to_string(hi) + "] is not finite with lo < hi");
  }
  tables_ = make_tables(order);
}

double hilbert_curve::length() const noexcept {
  const double n = static_cast<double>(side());
  const double segments = static_cast<double>(vertex_count() - 1);
  return layout_ == hilbert_layout::cell_centre ? segments / n : segments / (n - 1.0);
}

double hilbert_curve::segment_length() const noexcept {
  const double n = static_cast<double>(side());
  return layout_ == hilbert_layout::cell_centre ? 1.0 / n : 1.0 / (n - 1.0);
}

std::pair<double, double> hilbert_curve::vertex(std::size_t d) const {
  if (d >= vertex_count()) {
    throw error(errc::invalid_argument, "hilbert_curve::vertex: index " + std::to_string(d) + " >= " +
                                            std::to_string(vertex_count()));
  }
  const lattice_map lm = lattice_of(layout_, side());
  return {(tables_->vx[d] - lm.offset) / lm.scale, (tables_->vy[d] - lm.offset) / lm.scale};
}

std::pair<double, double> hilbert_curve::encode_exact(double t) const noexcept {
  if (std::isnan(t)) return {std::numeric_limits<double>::quiet_NaN(), std::numeric_limits<double>::quiet_NaN()};
  const tables& tb = *tables_;
  const double w = std::clamp((t - lo_) / (hi_ - lo_), 0.0, 1.0);
  const double s = w * static_cast<double>(tb.m - 1);
  const std::uint32_t k = std::min(static_cast<std::uint32_t>(s), tb.m - 2);
  const double f = s - static_cast<double>(k);
  const double px = tb.vx[k] + f * (static_cast<double>(tb.vx[k + 1]) - tb.vx[k]);
  const double py = tb.vy[k] + f * (static_cast<double>(tb.vy[k + 1]) - tb.vy[k]);
  const lattice_map lm = lattice_of(layout_, tb.n);
  return {(px - lm.offset) / lm.scale, (py - lm.offset) / lm.scale};
}

hilbert_point hilbert_curve::encode(float t) const noexcept {
  const auto [x, y] = encode_exact(static_cast<double>(t));
  return {static_cast<float>(x), static_cast<float>(y)};
}

namespace {
hilbert_decoded finish_decode(const candidate& c, const lattice_map& lm, double lo, double hi,
                              std::uint32_t m) noexcept {
  const double t = std::clamp(lo + (hi - lo) * (c.s / static_cast<double>(m - 1)), lo, hi);
  return {static_cast<float>(t), static_cast<float>(std::sqrt(c.dist2) / lm.scale)};
}
constexpr hilbert_decoded kNanDecoded{std::numeric_limits<float>::quiet_NaN(),
                                      std::numeric_limits<float>::quiet_NaN()};
}  // namespace

hilbert_decoded hilbert_curve::decode(float x, float y) const noexcept {
  if (std::isnan(x) || std::isnan(y)) return kNanDecoded;
  const lattice_map lm = lattice_of(layout_, tables_->n);
  const candidate c = nearest_exact(*tables_, to_lattice(x, lm), to_lattice(y, lm));
  return finish_decode(c, lm, lo_, hi_, tables_->m);
}

hilbert_decoded hilbert_curve::decode_reference(float x, float y) const noexcept {
  if (std::isnan(x) || std::isnan(y)) return kNanDecoded;
  const lattice_map lm = lattice_of(layout_, tables_->n);
  const candidate c = nearest_brute(*tables_, to_lattice(x, lm), to_lattice(y, lm));
  return finish_decode(c, lm, lo_, hi_, tables_->m);
}

void hilbert_curve::encode(std::span<const float> t, std::span<float> xy) const {
  encode_map(t, t.empty() ? 0 : 1, hilbert_map_layout::interleaved, xy);
}

void hilbert_curve::decode(std::span<const float> xy, std::span<float> t, std::span<float> distance) const {
  decode_map(xy, t.empty() ? 0 : 1, hilbert_map_layout::interleaved, t, distance);
}

void hilbert_curve::encode_map(std::span<const float> t, std::size_t batch, hilbert_map_layout layout,
                               std::span<float> xy, unsigned threads) const {
  check_map(t.size(), batch, xy.size(), 0, "hilbert_curve::encode_map");
  const std::size_t pixels = batch ? t.size() / batch : 0;
  const float* in = t.data();
  float* out = xy.data();
  run_chunks(t.size(), threads, kMinChunkEncode, out, 2 * sizeof(float), [&](std::size_t begin, std::size_t end) noexcept {
    for_each_run(layout, pixels, begin, end, [&](std::size_t i, std::size_t count, std::size_t x, std::size_t y,
                                                 std::size_t step) noexcept {
      for (std::size_t r = 0; r < count; ++r) {
        const hilbert_point p = encode(in[i + r]);
        out[x + r * step] = p.x;
        out[y + r * step] = p.y;
      }
    });
  });
}

void hilbert_curve::decode_map(std::span<const float> xy, std::size_t batch, hilbert_map_layout layout,
                               std::span<float> t, std::span<float> distance, unsigned threads) const {
  check_map(t.size(), batch, xy.size(), distance.size(), "hilbert_curve::decode_map");
  const std::size_t pixels = batch ? t.size() / batch : 0;
  const detail::hilbert_kernel_args args = detail::hilbert_kernel_args_of(*this);
  const float* in = xy.data();
  float* out = t.data();
  float* dist = distance.empty() ? nullptr : distance.data();
  run_chunks(t.size(), threads, kMinChunkExact, out, sizeof(float), [&](std::size_t begin, std::size_t end) noexcept {
    for_each_run(layout, pixels, begin, end, [&](std::size_t i, std::size_t count, std::size_t x, std::size_t y,
                                                 std::size_t step) noexcept {
      if (step == 2) {
        detail::hilbert_decode_interleaved_f32(args, in + x, count, out + i, dist ? dist + i : nullptr);
      } else {
        detail::hilbert_decode_planar_f32(args, in + x, in + y, count, out + i, dist ? dist + i : nullptr);
      }
    });
  });
}

void make_training_target(const hilbert_curve& curve, std::span<const float> depth, std::size_t batch,
                          hilbert_map_layout layout, std::span<float> target) {
  curve.encode_map(depth, batch, layout, target);
}

quant_params hilbert_params(code_format format, profile numerics) {
  return params_from_range(0.0f, 1.0f, format, false, numerics);
}

// ----------------------------------------------------------------------------------------------------
// hilbert_quantizer

template <code_storage Code>
hilbert_quantizer<Code>::hilbert_quantizer(hilbert_curve curve, quant_params params)
    : hilbert_quantizer(std::move(curve), params, params) {}

template <code_storage Code>
hilbert_quantizer<Code>::hilbert_quantizer(hilbert_curve curve, quant_params x_params, quant_params y_params)
    : curve_(std::move(curve)), px_(std::move(x_params)), py_(std::move(y_params)) {
  if (px_.granularity() != granularity::per_tensor || py_.granularity() != granularity::per_tensor) {
    throw error(errc::invalid_argument, "hilbert_quantizer: the x and y parameters must be per_tensor");
  }
  if (!(px_.format() == py_.format())) {
    throw error(errc::invalid_argument, "hilbert_quantizer: the x and y parameters must share one code format");
  }
  detail::check_code_storage<Code>(px_, "hilbert_quantizer");
  const code_format f = px_.format();
  if (f.bits > 8) return;
  const std::size_t stride = std::size_t{1} << f.bits;
  auto table = std::make_shared<std::vector<float>>(stride * stride, 0.0f);
  auto dist = std::make_shared<std::vector<float>>(stride * stride, 0.0f);
  const ref::run_params rx = ref::run_params_of(px_), ry = ref::run_params_of(py_);
  // Row cx of the table: the exact decoder (SIMD kernel = curve_.decode) on (x(cx), y(cy)), cy in range.
  const auto levels = static_cast<std::size_t>(f.qmax() - f.qmin() + 1);
  std::vector<float> xs(levels), ys(levels);
  for (std::int32_t cy = f.qmin(); cy <= f.qmax(); ++cy) {
    ys[static_cast<std::size_t>(cy - f.qmin())] =
        ref::dequantize_value(static_cast<float>(cy), ry.scale, ry.zero_point);
  }
  const detail::hilbert_kernel_args args = detail::hilbert_kernel_args_of(curve_);
  for (std::int32_t cx = f.qmin(); cx <= f.qmax(); ++cx) {
    std::fill(xs.begin(), xs.end(), ref::dequantize_value(static_cast<float>(cx), rx.scale, rx.zero_point));
    const std::size_t row = static_cast<std::size_t>(cx - f.qmin()) * stride;
    detail::hilbert_decode_planar_f32(args, xs.data(), ys.data(), levels, table->data() + row, dist->data() + row);
  }
  table_ = std::move(table);
  dist_table_ = std::move(dist);
}

template <code_storage Code>
std::span<const float> hilbert_quantizer<Code>::table() const noexcept {
  return table_ ? std::span<const float>(*table_) : std::span<const float>();
}

template <code_storage Code>
std::span<const float> hilbert_quantizer<Code>::distance_table() const noexcept {
  return dist_table_ ? std::span<const float>(*dist_table_) : std::span<const float>();
}

template <code_storage Code>
hilbert_decoded hilbert_quantizer<Code>::decode_pair(Code cx, Code cy) const noexcept {
  const code_format f = px_.format();
  const std::int32_t x = std::clamp<std::int32_t>(cx, f.qmin(), f.qmax());
  const std::int32_t y = std::clamp<std::int32_t>(cy, f.qmin(), f.qmax());
  if (table_) {
    const std::size_t idx = (static_cast<std::size_t>(x - f.qmin()) << f.bits) | static_cast<std::size_t>(y - f.qmin());
    return {(*table_)[idx], (*dist_table_)[idx]};
  }
  const ref::run_params rx = ref::run_params_of(px_), ry = ref::run_params_of(py_);
  return curve_.decode(ref::dequantize_value(static_cast<float>(x), rx.scale, rx.zero_point),
                       ref::dequantize_value(static_cast<float>(y), ry.scale, ry.zero_point));
}

template <code_storage Code>
void hilbert_quantizer<Code>::encode(std::span<const float> values, std::span<Code> codes) const {
  encode_map(values, values.empty() ? 0 : 1, hilbert_map_layout::interleaved, codes);
}

template <code_storage Code>
void hilbert_quantizer<Code>::decode(std::span<const Code> codes, std::span<float> values) const {
  decode_map(codes, values.empty() ? 0 : 1, hilbert_map_layout::interleaved, values);
}

template <code_storage Code>
void hilbert_quantizer<Code>::decode(std::span<const Code> codes, std::span<float> values,
                                     std::span<float> distance) const {
  if (distance.size() != values.size()) {
    throw error(errc::size_mismatch, "hilbert_quantizer::decode: " + std::to_string(distance.size()) +
                                         " distances given for " + std::to_string(values.size()) + " values");
  }
  decode_map(codes, values.empty() ? 0 : 1, hilbert_map_layout::interleaved, values, distance);
}

template <code_storage Code>
void hilbert_quantizer<Code>::encode_map(std::span<const float> t, std::size_t batch, hilbert_map_layout layout,
                                         std::span<Code> codes, unsigned threads) const {
  check_map(t.size(), batch, codes.size(), 0, "hilbert_quantizer::encode_map");
  const std::size_t pixels = batch ? t.size() / batch : 0;
  const ref::run_params rx = ref::run_params_of(px_), ry = ref::run_params_of(py_);
  const float* in = t.data();
  Code* out = codes.data();
  run_chunks(t.size(), threads, kMinChunkEncode, out, 2 * sizeof(Code), [&](std::size_t begin, std::size_t end) noexcept {
    for_each_run(layout, pixels, begin, end, [&](std::size_t i, std::size_t count, std::size_t x, std::size_t y,
                                                 std::size_t step) noexcept {
      for (std::size_t r = 0; r < count; ++r) {
        const hilbert_point p = curve_.encode(in[i + r]);
        out[x + r * step] = static_cast<Code>(
            ref::quantize_value(p.x, rx.scale, rx.inv_scale, rx.zero_point, rx.qmin, rx.qmax, rx.numerics));
        out[y + r * step] = static_cast<Code>(
            ref::quantize_value(p.y, ry.scale, ry.inv_scale, ry.zero_point, ry.qmin, ry.qmax, ry.numerics));
      }
    });
  });
}

template <code_storage Code>
void hilbert_quantizer<Code>::decode_map(std::span<const Code> codes, std::size_t batch, hilbert_map_layout layout,
                                         std::span<float> t, std::span<float> distance, unsigned threads) const {
  check_map(t.size(), batch, codes.size(), distance.size(), "hilbert_quantizer::decode_map");
  const std::size_t pixels = batch ? t.size() / batch : 0;
  const Code* in = codes.data();
  float* out = t.data();
  float* dist = distance.empty() ? nullptr : distance.data();
  const code_format f = px_.format();
  if (table_) {
    const detail::hilbert_lookup_args args{table_->data(), dist_table_->data(), f.bits, f.qmin(), f.qmax()};
    run_chunks(t.size(), threads, kMinChunkTable, out, sizeof(float), [&](std::size_t begin, std::size_t end) noexcept {
      for_each_run(layout, pixels, begin, end, [&](std::size_t i, std::size_t count, std::size_t x, std::size_t y,
                                                   std::size_t step) noexcept {
        detail::hilbert_lookup(args, in + x, in + y, step, count, out + i, dist ? dist + i : nullptr);
      });
    });
    return;
  }
  // Wider codes: blocks of codes dequantized (clamped first, as decode_pair), then the exact kernel.
  const detail::hilbert_kernel_args args = detail::hilbert_kernel_args_of(curve_);
  const ref::run_params rx = ref::run_params_of(px_), ry = ref::run_params_of(py_);
  const std::int32_t qmin = f.qmin(), qmax = f.qmax();
  run_chunks(t.size(), threads, kMinChunkExact, out, sizeof(float), [&](std::size_t begin, std::size_t end) noexcept {
    for_each_run(layout, pixels, begin, end, [&](std::size_t i, std::size_t count, std::size_t x, std::size_t y,
                                                 std::size_t step) noexcept {
      constexpr std::size_t kBlock = 512;
      float bx[kBlock], by[kBlock];
      for (std::size_t r0 = 0; r0 < count; r0 += kBlock) {
        const std::size_t len = std::min(kBlock, count - r0);
        for (std::size_t r = 0; r < len; ++r) {
          const std::size_t at = (r0 + r) * step;
          bx[r] = ref::dequantize_value(static_cast<float>(std::clamp<std::int32_t>(in[x + at], qmin, qmax)),
                                        rx.scale, rx.zero_point);
          by[r] = ref::dequantize_value(static_cast<float>(std::clamp<std::int32_t>(in[y + at], qmin, qmax)),
                                        ry.scale, ry.zero_point);
        }
        detail::hilbert_decode_planar_f32(args, bx, by, len, out + i + r0, dist ? dist + i + r0 : nullptr);
      }
    });
  });
}

template class hilbert_quantizer<std::int8_t>;
template class hilbert_quantizer<std::uint8_t>;
template class hilbert_quantizer<std::int16_t>;
template class hilbert_quantizer<std::uint16_t>;

// ----------------------------------------------------------------------------------------------------
// Error model

namespace {

// P(e > a) for e = u + g, u uniform on [-q/2, q/2], g ~ N(0, sigma^2) (lattice units).
double survival(double a, double q, double sigma) noexcept {
  if (sigma == 0.0) return std::clamp(0.5 - a / q, 0.0, 1.0);
  const auto upper = [](double w) { return 0.5 * std::erfc(w / std::sqrt(2.0)); };
  const auto phi = [](double w) { return std::exp(-0.5 * w * w) / std::sqrt(2.0 * 3.14159265358979323846); };
  // (1/q) int_{a - q/2}^{a + q/2} Q(z / sigma) dz, with int Q(w) dw = w Q(w) - phi(w).
  const auto prim = [&](double w) { return w * upper(w) - phi(w); };
  const double r = sigma / q * (prim((a + q / 2) / sigma) - prim((a - q / 2) / sigma));
  return std::clamp(r, 0.0, 1.0);
}

}  // namespace

hilbert_error_estimate predict_hilbert_error(const hilbert_curve& curve, double step, double noise) {
  if (!std::isfinite(step) || !(step > 0.0) || !std::isfinite(noise) || !(noise >= 0.0)) {
    throw error(errc::invalid_argument, "predict_hilbert_error: step " + std::to_string(step) + " and noise " +
                                            std::to_string(noise) + " must be finite with step > 0, noise >= 0");
  }
  const hilbert_curve::tables& tb = *make_tables(curve.order());
  const double g = 1.0 / curve.segment_length();  // unit square -> lattice
  const double q = step * g, sigma = noise * g;
  const double var_along = q * q / 12.0 + sigma * sigma;
  // One-sided probability of reaching row m (m = 1..n-1) of the neighbours. A point at fraction f
  // along segment k, displaced by e (lattice units) towards row m, is nearer to row m than to row
  // m - 1 when e > m - 1/2 if the row-m neighbours (V_k + m p, V_{k+1} + m p) form a parallel branch,
  // and when e > m - 1/2 + phi^2 / 2 (phi = min(f, 1 - f)) if they are two unconnected vertices.
  // Averaged over f uniform (phi uniform on [0, 1/2], 16-point midpoint rule).
  const std::uint32_t n = tb.n;
  std::vector<double> reach_parallel(n + 1, 0.0), reach_vertex(n + 1, 0.0);
  for (std::uint32_t m = 1; m < n; ++m) {
    const double a = static_cast<double>(m) - 0.5;
    reach_parallel[m] = survival(a, q, sigma);
    double sum = 0.0;
    for (int r = 0; r < 16; ++r) {
      const double phi = (r + 0.5) / 32.0;
      sum += survival(a + 0.5 * phi * phi, q, sigma);
    }
    reach_vertex[m] = sum / 16.0;
  }
  double p_jump = 0.0, jump2 = 0.0;
  for (std::uint32_t k = 0; k + 1 < tb.m; ++k) {
    const bool horizontal = tb.vy[k] == tb.vy[k + 1];
    const int row = horizontal ? tb.vy[k] : tb.vx[k];
    for (const int side : {-1, 1}) {
      const int rows = side > 0 ? static_cast<int>(n) - 1 - row : row;  // rows beyond this one
      const auto at = [&](std::uint32_t v, int m) {
        const int i = tb.vx[v] + (horizontal ? 0 : side * m), j = tb.vy[v] + (horizontal ? side * m : 0);
        return static_cast<double>(tb.index[static_cast<std::size_t>(j) * n + static_cast<std::size_t>(i)]);
      };
      const auto reach = [&](int m, double a, double b) {
        const auto mi = static_cast<std::size_t>(m);
        return std::abs(a - b) == 1.0 ? reach_parallel[mi] : reach_vertex[mi];
      };
      double a = rows >= 1 ? at(k, 1) : 0.0, b = rows >= 1 ? at(k + 1, 1) : 0.0;
      double here = rows >= 1 ? reach(1, a, b) : 0.0;
      for (int m = 1; m <= rows && here > 0.0; ++m) {
        double a2 = 0.0, b2 = 0.0, next = 0.0;
        if (m < rows) {  // beyond the last row the point stays on it (clamped)
          a2 = at(k, m + 1);
          b2 = at(k + 1, m + 1);
          next = std::min(reach(m + 1, a2, b2), here);
        }
        const double p = here - next;
        const double e1 = a - static_cast<double>(k), e2 = b - static_cast<double>(k + 1);
        if (std::abs(e1) + std::abs(e2) > 3.0) p_jump += p;  // onto another branch: > 1.5 segments away
        jump2 += p * 0.5 * (e1 * e1 + e2 * e2);
        a = a2;
        b = b2;
        here = next;
      }
    }
  }
  const double segments = static_cast<double>(tb.m - 1);
  p_jump /= segments;
  jump2 /= segments;
  const double range = curve.hi() - curve.lo();
  hilbert_error_estimate e{};
  e.rms_direct = range * std::sqrt(step * step / 12.0 + noise * noise);
  e.rms_hilbert = range / segments * std::sqrt((1.0 - p_jump) * var_along + jump2);
  e.gain = e.rms_direct / e.rms_hilbert;
  e.jump_probability = p_jump;
  return e;
}

hilbert_error_estimate predict_hilbert_error(const hilbert_curve& curve, int bits, double noise_lsb) {
  if (bits < 2 || bits > 16) {
    throw error(errc::unsupported_width,
                "predict_hilbert_error: bit width " + std::to_string(bits) + " is outside the supported 2..16");
  }
  const double step = 1.0 / static_cast<double>((1 << bits) - 1);
  return predict_hilbert_error(curve, step, noise_lsb * step);
}

int best_hilbert_order(hilbert_layout layout, int bits, double noise_lsb, int max_order) {
  check_order(max_order, "best_hilbert_order");
  int best = 1;
  double best_rms = std::numeric_limits<double>::infinity();
  for (int o = 1; o <= max_order; ++o) {
    const hilbert_error_estimate e = predict_hilbert_error(hilbert_curve(o, layout), bits, noise_lsb);
    if (e.jump_probability > 1e-3) continue;  // the model is only trusted where jumps are rare
    if (e.rms_hilbert < best_rms) {
      best_rms = e.rms_hilbert;
      best = o;
    }
  }
  return best;
}

}  // namespace lowbit
