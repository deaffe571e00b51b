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
#include <type_traits>

#include "lowbit/detail/hilbert_kernels.h"
#include "lowbit/ref/uniform.h"
#include "src/hilbert_common.h"

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

using namespace detail::hilbert_common;

void check_order(int order, const char* what) {
  detail::hilbert_common::check_order(order, hilbert_curve::max_order, what);
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

// (candidate, pick, lattice_map, to_lattice and finish_decode: src/hilbert_common.h.)

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
  const candidate a01 = pick(c[0], c[1]), a23 = pick(c[2], c[3]), a45 = pick(c[4], c[5]), a67 = pick(c[6], c[7]);
  return pick(pick(a01, a23), pick(a45, a67));
}

candidate nearest_brute(const hilbert_curve::tables& tb, double u, double v) noexcept {
  candidate best{std::numeric_limits<double>::infinity(), 0.0};
  for (std::uint32_t k = 0; k + 1 < tb.m; ++k) {
    best = pick(best, segment_candidate(tb, k, u, v));
  }
  return best;
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
  check_curve(layout, lo, hi, "hilbert_curve");
  tables_ = make_tables(order);
}

double hilbert_curve::length() const noexcept { return curve_length(layout_, side(), vertex_count()); }

double hilbert_curve::segment_length() const noexcept {
  return detail::hilbert_common::segment_length(layout_, side());
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
  check_map(t, batch, 2, xy, std::span<const float>(), "hilbert_curve::encode_map");
  const std::size_t pixels = batch ? t.size() / batch : 0;
  const float* in = t.data();
  float* out = xy.data();
  run_chunks(t.size(), threads, kMinChunkEncode, out, 2 * sizeof(float), [&](std::size_t begin, std::size_t end) noexcept {
    for_each_run(layout, 2, pixels, begin, end, [&](std::size_t i, std::size_t count, std::size_t x, std::size_t cs,
                                                 std::size_t step) noexcept {
      const std::size_t y = x + cs;  // the y channel
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
  check_map(t, batch, 2, xy, distance, "hilbert_curve::decode_map");
  const std::size_t pixels = batch ? t.size() / batch : 0;
  const detail::hilbert_kernel_args args = detail::hilbert_kernel_args_of(*this);
  const float* in = xy.data();
  float* out = t.data();
  float* dist = distance.empty() ? nullptr : distance.data();
  run_chunks(t.size(), threads, kMinChunkExact, out, sizeof(float), [&](std::size_t begin, std::size_t end) noexcept {
    for_each_run(layout, 2, pixels, begin, end, [&](std::size_t i, std::size_t count, std::size_t x, std::size_t cs,
                                                 std::size_t step) noexcept {
      const std::size_t y = x + cs;  // the y channel
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
  check_map(t, batch, 2, codes, std::span<const float>(), "hilbert_quantizer::encode_map");
  const std::size_t pixels = batch ? t.size() / batch : 0;
  const ref::run_params rx = ref::run_params_of(px_), ry = ref::run_params_of(py_);
  const float* in = t.data();
  Code* out = codes.data();
  run_chunks(t.size(), threads, kMinChunkEncode, out, 2 * sizeof(Code), [&](std::size_t begin, std::size_t end) noexcept {
    for_each_run(layout, 2, pixels, begin, end, [&](std::size_t i, std::size_t count, std::size_t x, std::size_t cs,
                                                 std::size_t step) noexcept {
      const std::size_t y = x + cs;  // the y channel
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
  check_map(t, batch, 2, codes, distance, "hilbert_quantizer::decode_map");
  const std::size_t pixels = batch ? t.size() / batch : 0;
  const Code* in = codes.data();
  float* out = t.data();
  float* dist = distance.empty() ? nullptr : distance.data();
  const code_format f = px_.format();
  if (table_) {
    const detail::hilbert_lookup_args args{table_->data(), dist_table_->data(), f.bits, f.qmin(), f.qmax()};
    run_chunks(t.size(), threads, kMinChunkTable, out, sizeof(float), [&](std::size_t begin, std::size_t end) noexcept {
      for_each_run(layout, 2, pixels, begin, end, [&](std::size_t i, std::size_t count, std::size_t x, std::size_t cs,
                                                   std::size_t step) noexcept {
        const std::size_t y = x + cs;  // the y channel
        detail::hilbert_lookup(args, in + x, in + y, step, count, out + i, dist ? dist + i : nullptr);
      });
    });
    return;
  }
  // Wider codes: blocks of codes dequantized (clamped first, as decode_pair), then the exact kernel.
  const detail::hilbert_kernel_args args = detail::hilbert_kernel_args_of(curve_);
  const ref::run_params rp[2] = {ref::run_params_of(px_), ref::run_params_of(py_)};
  decode_codes_exact(in, t.size(), pixels, layout, threads, rp, f.qmin(), f.qmax(), out, dist,
                     [&](const float (&planes)[2][kDequantBlock], std::size_t len, float* t_out, float* d_out) noexcept {
                       detail::hilbert_decode_planar_f32(args, planes[0], planes[1], len, t_out, d_out);
                     });
}

template class hilbert_quantizer<std::int8_t>;
template class hilbert_quantizer<std::uint8_t>;
template class hilbert_quantizer<std::int16_t>;
template class hilbert_quantizer<std::uint16_t>;

// ----------------------------------------------------------------------------------------------------
// Error model (survival, reach_of and add_landings: src/hilbert_common.h)

hilbert_error_estimate predict_hilbert_error(const hilbert_curve& curve, double step, double noise) {
  if (!std::isfinite(step) || !(step > 0.0) || !std::isfinite(noise) || !(noise >= 0.0)) {
    throw error(errc::invalid_argument, "predict_hilbert_error: step " + detail::float_text(step) + " and noise " +
                                            detail::float_text(noise) + " must be finite with step > 0, noise >= 0");
  }
  const hilbert_curve::tables& tb = *make_tables(curve.order());
  const double g = 1.0 / curve.segment_length();  // unit square -> lattice
  const double q = step * g, sigma = noise * g;
  const double var_along = q * q / 12.0 + sigma * sigma;
  // Jumps: for each segment k and each side of it, the landings on the rows of neighbours beyond it
  // (reach_of and add_landings in src/hilbert_common.h).
  const std::uint32_t n = tb.n;
  const reach_table reach = reach_of(n, q, sigma);
  double p_jump = 0.0, jump2 = 0.0;
  for (std::uint32_t k = 0; k + 1 < tb.m; ++k) {
    const bool horizontal = tb.vy[k] == tb.vy[k + 1];
    const int row = horizontal ? tb.vy[k] : tb.vx[k];
    for (const int side : {-1, 1}) {
      const int rows = side > 0 ? static_cast<int>(n) - 1 - row : row;  // rows beyond this one
      const auto at = [&](std::uint32_t end, int m) {
        const std::uint32_t v = k + end;
        const int i = tb.vx[v] + (horizontal ? 0 : side * m), j = tb.vy[v] + (horizontal ? side * m : 0);
        return static_cast<double>(tb.index[static_cast<std::size_t>(j) * n + static_cast<std::size_t>(i)]);
      };
      add_landings(reach, rows, k, at, p_jump, jump2);
    }
  }
  // Turns: interior vertices where the direction changes (corner_variance in src/hilbert_common.h).
  std::size_t turns = 0;
  for (std::uint32_t d = 1; d + 1 < tb.m; ++d) {
    turns += (tb.vx[d] - tb.vx[d - 1] != tb.vx[d + 1] - tb.vx[d]) || (tb.vy[d] - tb.vy[d - 1] != tb.vy[d + 1] - tb.vy[d]);
  }
  const double segments = static_cast<double>(tb.m - 1);
  const double var_small = var_along + static_cast<double>(turns) / segments * corner_variance(q, sigma);
  p_jump /= segments;
  jump2 /= segments;
  const double range = curve.hi() - curve.lo();
  hilbert_error_estimate e{};
  e.rms_direct = range * std::sqrt(step * step / 12.0 + noise * noise);
  e.rms_hilbert = range / segments * std::sqrt((1.0 - std::min(p_jump, 1.0)) * var_small + jump2);
  e.gain = e.rms_direct / e.rms_hilbert;
  e.jump_probability = std::min(p_jump, 1.0);
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
