// lowbit — tests of the Hilbert-curve output representation: the bit algorithms, the curve, the exact
// decoder against brute force, the quantizer and its table, the map APIs and the error model.
// SPDX-License-Identifier: Apache-2.0
#include "lowbit/hilbert.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <random>
#include <vector>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "lowbit/ref/uniform.h"
#include "lowbit/uniform.h"
#include "support/test_scale.h"

namespace {

using lowbit::hilbert_curve;
using lowbit::hilbert_layout;
using lowbit::hilbert_map_layout;

constexpr hilbert_layout kLayouts[] = {hilbert_layout::cell_centre, hilbert_layout::full_range};

template <class F>
void expect_errc(lowbit::errc code, F f) {
  try {
    f();
    ADD_FAILURE() << "no lowbit::error thrown, expected " << lowbit::to_string(code);
  } catch (const lowbit::error& e) {
    EXPECT_EQ(e.code(), code) << e.what();
  }
}

// ----------------------------------------------------------------------------------------------------
// Bit algorithms and the curve

TEST(HilbertIndex, BijectiveAndContinuous) {
  for (int o = 1; o <= 8; ++o) {
    const std::uint32_t n = 1u << o;
    std::uint32_t pi = 0, pj = 0;
    for (std::uint32_t d = 0; d < n * n; ++d) {
      const auto [i, j] = lowbit::hilbert_cell(o, d);
      ASSERT_LT(i, n);
      ASSERT_LT(j, n);
      ASSERT_EQ(lowbit::hilbert_index(o, i, j), d);
      if (d == 0) {
        EXPECT_EQ(i, 0u);
        EXPECT_EQ(j, 0u);
      } else {
        const int step = std::abs(static_cast<int>(i) - static_cast<int>(pi)) +
                         std::abs(static_cast<int>(j) - static_cast<int>(pj));
        ASSERT_EQ(step, 1) << "order " << o << " d " << d;
      }
      pi = i;
      pj = j;
    }
    EXPECT_EQ(pi, n - 1);
    EXPECT_EQ(pj, 0u);
  }
  const auto c = lowbit::hilbert_cell(1, 2);
  EXPECT_EQ(c.first, 1u);
  EXPECT_EQ(c.second, 1u);
}

TEST(HilbertIndex, Validation) {
  expect_errc(lowbit::errc::invalid_argument, [] { lowbit::hilbert_index(0, 0, 0); });
  expect_errc(lowbit::errc::invalid_argument, [] { lowbit::hilbert_index(9, 0, 0); });
  expect_errc(lowbit::errc::invalid_argument, [] { lowbit::hilbert_index(2, 4, 0); });
  expect_errc(lowbit::errc::invalid_argument, [] { lowbit::hilbert_cell(2, 16); });
}

TEST(HilbertCurve, Validation) {
  expect_errc(lowbit::errc::invalid_argument, [] { hilbert_curve(0, hilbert_layout::full_range); });
  expect_errc(lowbit::errc::invalid_argument, [] { hilbert_curve(9, hilbert_layout::cell_centre); });
  expect_errc(lowbit::errc::invalid_argument, [] { hilbert_curve(2, static_cast<hilbert_layout>(7)); });
  expect_errc(lowbit::errc::invalid_range, [] { hilbert_curve(2, hilbert_layout::full_range, 1.0, 1.0); });
  expect_errc(lowbit::errc::invalid_range, [] { hilbert_curve(2, hilbert_layout::full_range, 2.0, 1.0); });
  expect_errc(lowbit::errc::invalid_range,
              [] { hilbert_curve(2, hilbert_layout::full_range, std::nan(""), 1.0); });
  expect_errc(lowbit::errc::invalid_range,
              [] { hilbert_curve(2, hilbert_layout::full_range, 0.0, std::numeric_limits<double>::infinity()); });
  // The values are float: bounds beyond FLT_MAX (and a width beyond DBL_MAX) have no float decode.
  expect_errc(lowbit::errc::invalid_range, [] { hilbert_curve(2, hilbert_layout::cell_centre, -1e308, 1e308); });
  expect_errc(lowbit::errc::invalid_range, [] { hilbert_curve(2, hilbert_layout::cell_centre, 0.0, 1e39); });
  // In-place maps would race between worker threads: overlapping spans are refused.
  {
    std::vector<float> buf(2 * 64, 0.5f);
    const std::span<float> all(buf);
    const hilbert_curve c2(2, hilbert_layout::full_range);
    expect_errc(lowbit::errc::invalid_argument,
                [&] { c2.decode_map(all, 1, hilbert_map_layout::interleaved, all.first(64), {}, 2); });
    expect_errc(lowbit::errc::invalid_argument,
                [&] { c2.decode_map(all.first(128), 1, hilbert_map_layout::planar, all.last(64), {}, 1); });
    expect_errc(lowbit::errc::invalid_argument, [&] { c2.encode_map(all.first(64), 1, hilbert_map_layout::planar, all); });
    std::vector<float> xy(128, 0.5f), t(64), d(64);
    EXPECT_NO_THROW(c2.decode_map(xy, 1, hilbert_map_layout::interleaved, t, d, 2));
    expect_errc(lowbit::errc::invalid_argument,
                [&] { c2.decode_map(xy, 1, hilbert_map_layout::interleaved, t, std::span<float>(t), 2); });
  }
  const hilbert_curve widest(2, hilbert_layout::full_range, -std::numeric_limits<float>::max(),
                             std::numeric_limits<float>::max());
  EXPECT_EQ(widest.decode(1.0f, 0.0f).t, std::numeric_limits<float>::max());
  const hilbert_curve c(3, hilbert_layout::cell_centre);
  expect_errc(lowbit::errc::invalid_argument, [&] { c.vertex(64); });
}

TEST(HilbertCurve, LengthsAndVertices) {
  const double cell[] = {1.5, 3.75, 7.875, 15.9375};
  const double full[] = {3, 5, 9, 17};
  for (int o = 1; o <= 8; ++o) {
    const hilbert_curve cc(o, hilbert_layout::cell_centre), fr(o, hilbert_layout::full_range);
    const double n = std::ldexp(1.0, o);
    EXPECT_DOUBLE_EQ(cc.length(), n - 1.0 / n);
    EXPECT_DOUBLE_EQ(fr.length(), n + 1.0);
    if (o <= 4) {
      EXPECT_DOUBLE_EQ(cc.length(), cell[o - 1]);
      EXPECT_DOUBLE_EQ(fr.length(), full[o - 1]);
    }
    for (const hilbert_curve* c : {&cc, &fr}) {
      double len = 0.0;
      for (std::size_t d = 0; d + 1 < c->vertex_count(); ++d) {
        const auto a = c->vertex(d), b = c->vertex(d + 1);
        len += std::hypot(b.first - a.first, b.second - a.second);
      }
      EXPECT_NEAR(len, c->length(), 1e-9);
    }
    EXPECT_EQ(cc.vertex(0), std::make_pair(0.5 / n, 0.5 / n));
    EXPECT_EQ(fr.vertex(0), std::make_pair(0.0, 0.0));
    EXPECT_EQ(fr.vertex(fr.vertex_count() - 1), std::make_pair(1.0, 0.0));
  }
}

// decode(encode(t)) = t within 1e-6 (relative to the range) for every order and layout, on random t,
// the vertices' t, and the ends; the encoded point lies on the curve.
TEST(HilbertCurve, RoundTrip) {
  std::mt19937 rng(6);
  for (int o = 1; o <= 8; ++o) {
    for (const hilbert_layout layout : kLayouts) {
      for (const auto& [lo, hi] : {std::pair{0.0, 1.0}, std::pair{-3.0, 250.0}}) {
        const hilbert_curve c(o, layout, lo, hi);
        std::uniform_real_distribution<float> dist(static_cast<float>(lo), static_cast<float>(hi));
        std::vector<float> ts;
        for (int k = 0; k < 20000; ++k) ts.push_back(dist(rng));
        for (std::size_t d = 0; d < c.vertex_count(); d += std::max<std::size_t>(1, c.vertex_count() / 256)) {
          ts.push_back(static_cast<float>(lo + (hi - lo) * static_cast<double>(d) /
                                                   static_cast<double>(c.vertex_count() - 1)));
        }
        ts.push_back(static_cast<float>(lo));
        ts.push_back(static_cast<float>(hi));
        double worst = 0.0;
        for (const float t : ts) {
          const lowbit::hilbert_point p = c.encode(t);
          const lowbit::hilbert_decoded r = c.decode(p.x, p.y);
          worst = std::max(worst, std::abs(static_cast<double>(r.t) - t) / (hi - lo));
          ASSERT_LE(r.distance, 1e-6f);
          const auto e = c.encode_exact(t);
          ASSERT_EQ(p.x, static_cast<float>(e.first));
          ASSERT_EQ(p.y, static_cast<float>(e.second));
        }
        EXPECT_LE(worst, 1e-6) << "order " << o << " " << lowbit::to_string(layout);
      }
    }
  }
}

TEST(HilbertCurve, EncodeEdgeCases) {
  const hilbert_curve c(2, hilbert_layout::full_range, 1.0, 3.0);
  EXPECT_EQ(c.encode(1.0f).x, 0.0f);
  EXPECT_EQ(c.encode(1.0f).y, 0.0f);
  EXPECT_EQ(c.encode(-5.0f).x, 0.0f);  // clamps
  EXPECT_EQ(c.encode(-std::numeric_limits<float>::infinity()).y, 0.0f);
  EXPECT_EQ(c.encode(3.0f).x, 1.0f);
  EXPECT_EQ(c.encode(3.0f).y, 0.0f);
  EXPECT_EQ(c.encode(std::numeric_limits<float>::infinity()).x, 1.0f);
  EXPECT_TRUE(std::isnan(c.encode(std::nanf("")).x));
  EXPECT_TRUE(std::isnan(c.encode(std::nanf("")).y));
  // Arc length: t at 1/15 of the range is vertex 1 = (1/3, 0); half-way to it (1/6, 0).
  const auto p = c.encode_exact(1.0 + 2.0 / 15.0);
  EXPECT_NEAR(p.first, 1.0 / 3.0, 1e-15);
  EXPECT_NEAR(p.second, 0.0, 1e-15);
  const auto h = c.encode_exact(1.0 + 1.0 / 15.0);
  EXPECT_NEAR(h.first, 1.0 / 6.0, 1e-15);
  EXPECT_EQ(h.second, 0.0);
}

TEST(HilbertCurve, DecodeEdgeCases) {
  const float inf = std::numeric_limits<float>::infinity();
  for (const hilbert_layout layout : kLayouts) {
    const hilbert_curve c(3, layout, -1.0, 1.0);
    EXPECT_TRUE(std::isnan(c.decode(std::nanf(""), 0.5f).t));
    EXPECT_TRUE(std::isnan(c.decode(0.5f, std::nanf("")).distance));
    // Out of the square: clamped first.
    for (const auto& [x, y] : {std::pair{-3.0f, 0.2f}, std::pair{1.5f, 2.0f}, std::pair{inf, -inf},
                              std::pair{0.3f, -0.01f}}) {
      const auto r = c.decode(x, y);
      const auto rc = c.decode(std::clamp(x, 0.0f, 1.0f), std::clamp(y, 0.0f, 1.0f));
      EXPECT_EQ(r.t, rc.t);
      EXPECT_EQ(r.distance, rc.distance);
      EXPECT_GE(r.t, -1.0f);
      EXPECT_LE(r.t, 1.0f);
    }
    // Start and end of the curve.
    const auto a = c.vertex(0), b = c.vertex(c.vertex_count() - 1);
    EXPECT_EQ(c.decode(static_cast<float>(a.first), static_cast<float>(a.second)).t, -1.0f);
    EXPECT_EQ(c.decode(static_cast<float>(b.first), static_cast<float>(b.second)).t, 1.0f);
  }
  // Ties between branches go to the smallest t: order 1 full range, the centre (0.5, 0.5) is 0.5 from
  // segments 0, 1, 2; the smallest s is on segment 0 at (0, 0.5): s = 0.5, t = 0.5 / 3.
  const hilbert_curve c1(1, hilbert_layout::full_range);
  const auto r = c1.decode(0.5f, 0.5f);
  EXPECT_FLOAT_EQ(r.t, static_cast<float>(0.5 / 3.0));
  EXPECT_FLOAT_EQ(r.distance, 0.5f);
  EXPECT_EQ(r.t, c1.decode_reference(0.5f, 0.5f).t);
}

// The points of the brute-force comparison: uniform in a margin around the square (mostly inside),
// and on the half-lattice lines where branches tie.
std::vector<std::pair<float, float>> test_points(const hilbert_curve& c, std::size_t count, std::uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> uni(-0.02f, 1.02f);
  const double n = static_cast<double>(c.side());
  const double g = c.layout() == hilbert_layout::cell_centre ? n : n - 1.0;
  const double off = c.layout() == hilbert_layout::cell_centre ? 0.5 : 0.0;
  std::uniform_int_distribution<int> half(0, 2 * static_cast<int>(n));
  std::vector<std::pair<float, float>> pts;
  pts.reserve(count);
  for (std::size_t k = 0; k < count; ++k) {
    float x = uni(rng), y = uni(rng);
    switch (k % 8) {  // one in 8 on a half-lattice line, one in 8 on a half-lattice point
      case 1: x = static_cast<float>((half(rng) * 0.5 + off) / g); break;
      case 2:
        x = static_cast<float>((half(rng) * 0.5 + off) / g);
        y = static_cast<float>((half(rng) * 0.5 + off) / g);
        break;
      default: break;
    }
    pts.emplace_back(x, y);
  }
  return pts;
}

// The point counts of the brute-force comparison, per order and layout. Brute force costs 4^n
// segments per point. Optimized builds: orders 1..5 on 10^6 points per layout, orders 6, 7, 8 on
// 10^5, 2.5*10^4 and 5*10^3. Slow builds run a fraction of each (support/test_scale.h: 1/10 with
// sanitizers, 1/40 at -O0, the dev preset), to stay within seconds. LOWBIT_HILBERT_FULL=1 runs 10^6
// points per layout for every order (minutes).
std::size_t brute_force_count(int order) {
  const char* full = std::getenv("LOWBIT_HILBERT_FULL");
  if (full && full[0] == '1') return 1000000;
  constexpr std::size_t counts[] = {0, 1000000, 1000000, 1000000, 1000000, 1000000, 100000, 25000, 5000};
  return lowbit::test::scaled(counts[order]);
}

// Brute force over every segment for a block of points (segments outer, points inner, so the inner
// loop is branch-free): the first segment k with the least distance^2 wins, which is the documented
// tie rule (smallest arc length). Distances with the documented lattice numerics (header and
// src/hilbert.cc): u = clamp(x, 0, 1) N - 1/2 (cell_centre) or clamp(x, 0, 1) (N - 1) (full_range),
// distance^2 to the clamp of (u, v) into the segment, t = s / (M - 1), distance = sqrt(d^2) / scale.
void brute_force_block(const hilbert_curve& c, const std::vector<double>& lx, const std::vector<double>& ly,
                       const std::vector<double>& hx, const std::vector<double>& hy,
                       const std::pair<float, float>* pts, std::size_t count, std::vector<lowbit::hilbert_decoded>& out) {
  const bool cell = c.layout() == hilbert_layout::cell_centre;
  const double n = static_cast<double>(c.side());
  const double scale = cell ? n : n - 1.0, offset = cell ? -0.5 : 0.0;
  // Structure of arrays, padded to a multiple of 2 by repeating the last point.
  const std::size_t padded = (count + 1) / 2 * 2;
  std::vector<double> u(padded), v(padded), best(padded, std::numeric_limits<double>::infinity()),
      bk(padded, 0.0);
  for (std::size_t p = 0; p < padded; ++p) {
    const std::size_t q = std::min(p, count - 1);
    u[p] = std::clamp<double>(pts[q].first, 0.0, 1.0) * scale + offset;
    v[p] = std::clamp<double>(pts[q].second, 0.0, 1.0) * scale + offset;
  }
  const std::size_t segments = c.vertex_count() - 1;
  for (std::size_t k = 0; k < segments; ++k) {
#if defined(__SSE2__)
    // min/max give the same values as std::clamp here (no NaN, no signed zeros).
    const __m128d x0 = _mm_set1_pd(lx[k]), x1 = _mm_set1_pd(hx[k]), y0 = _mm_set1_pd(ly[k]),
                  y1 = _mm_set1_pd(hy[k]), kk = _mm_set1_pd(static_cast<double>(k));
    for (std::size_t p = 0; p < padded; p += 2) {
      const __m128d pu = _mm_loadu_pd(&u[p]), pv = _mm_loadu_pd(&v[p]);
      const __m128d dx = _mm_sub_pd(pu, _mm_min_pd(_mm_max_pd(pu, x0), x1));
      const __m128d dy = _mm_sub_pd(pv, _mm_min_pd(_mm_max_pd(pv, y0), y1));
      const __m128d d2 = _mm_add_pd(_mm_mul_pd(dx, dx), _mm_mul_pd(dy, dy));
      const __m128d old = _mm_loadu_pd(&best[p]);
      const __m128d less = _mm_cmplt_pd(d2, old);
      _mm_storeu_pd(&best[p], _mm_or_pd(_mm_and_pd(less, d2), _mm_andnot_pd(less, old)));
      _mm_storeu_pd(&bk[p], _mm_or_pd(_mm_and_pd(less, kk), _mm_andnot_pd(less, _mm_loadu_pd(&bk[p]))));
    }
#else
    for (std::size_t p = 0; p < padded; ++p) {
      const double dx = u[p] - std::clamp(u[p], lx[k], hx[k]), dy = v[p] - std::clamp(v[p], ly[k], hy[k]);
      const double d2 = dx * dx + dy * dy;
      if (d2 < best[p]) {
        best[p] = d2;
        bk[p] = static_cast<double>(k);
      }
    }
#endif
  }
  out.resize(count);
  for (std::size_t p = 0; p < count; ++p) {
    const double kd = bk[p], pu = u[p], pv = v[p];
    const auto k = static_cast<std::uint32_t>(kd);
    const auto [ax, ay] = lowbit::hilbert_cell(c.order(), k);
    const double cx = std::clamp(pu, lx[k], hx[k]), cy = std::clamp(pv, ly[k], hy[k]);
    const double s = kd + std::abs(cx - ax) + std::abs(cy - ay);
    out[p] = {static_cast<float>(std::clamp(s / static_cast<double>(segments), 0.0, 1.0)),
              static_cast<float>(std::sqrt(best[p]) / scale)};
  }
}

class HilbertBruteForce : public ::testing::TestWithParam<int> {};

TEST_P(HilbertBruteForce, DecoderEqualsBruteForce) {
  const int o = GetParam();
  // Segment bounding boxes in lattice coordinates.
  const std::size_t m = std::size_t{1} << (2 * o);
  std::vector<double> lx(m - 1), ly(m - 1), hx(m - 1), hy(m - 1);
  for (std::size_t k = 0; k + 1 < m; ++k) {
    const auto [ax, ay] = lowbit::hilbert_cell(o, static_cast<std::uint32_t>(k));
    const auto [bx, by] = lowbit::hilbert_cell(o, static_cast<std::uint32_t>(k + 1));
    lx[k] = std::min(ax, bx);
    hx[k] = std::max(ax, bx);
    ly[k] = std::min(ay, by);
    hy[k] = std::max(ay, by);
  }
  for (const hilbert_layout layout : kLayouts) {
    const hilbert_curve c(o, layout);
    const auto pts = test_points(c, brute_force_count(o), 1000u + static_cast<std::uint32_t>(o));
    std::size_t mismatches = 0;
    std::vector<lowbit::hilbert_decoded> ref;
    constexpr std::size_t kBlock = 2048;
    for (std::size_t start = 0; start < pts.size(); start += kBlock) {
      const std::size_t count = std::min(kBlock, pts.size() - start);
      brute_force_block(c, lx, ly, hx, hy, pts.data() + start, count, ref);
      for (std::size_t p = 0; p < count; ++p) {
        const auto [x, y] = pts[start + p];
        const auto a = c.decode(x, y);
        if (a.t != ref[p].t || a.distance != ref[p].distance) {
          if (++mismatches <= 5) {
            ADD_FAILURE() << "order " << o << " " << lowbit::to_string(layout) << " (" << x << ", " << y
                          << "): decode " << a.t << " / " << a.distance << ", brute force " << ref[p].t
                          << " / " << ref[p].distance;
          }
        }
      }
    }
    EXPECT_EQ(mismatches, 0u);
    // The library's own oracle (decode_reference) returns the same bits, on fewer points.
    for (std::size_t p = 0; p < pts.size(); p += std::max<std::size_t>(1, m / 4)) {
      const auto a = c.decode(pts[p].first, pts[p].second), b = c.decode_reference(pts[p].first, pts[p].second);
      ASSERT_EQ(a.t, b.t);
      ASSERT_EQ(a.distance, b.distance);
    }
    RecordProperty("points_" + std::string(lowbit::to_string(layout)), static_cast<int>(pts.size()));
  }
}

INSTANTIATE_TEST_SUITE_P(Orders, HilbertBruteForce, ::testing::Range(1, 9));

// An independent oracle (own curve walk, generic point-segment projection in unit-square coordinates):
// same t unless two branches tie (equal distance within rounding).
TEST(HilbertCurve, IndependentOracle) {
  for (int o = 1; o <= 5; ++o) {
    for (const hilbert_layout layout : kLayouts) {
      const hilbert_curve c(o, layout);
      const std::size_t m = c.vertex_count();
      std::vector<double> vx(m), vy(m);
      for (std::size_t d = 0; d < m; ++d) {
        const auto [i, j] = lowbit::hilbert_cell(o, static_cast<std::uint32_t>(d));
        const double n = static_cast<double>(c.side());
        vx[d] = layout == hilbert_layout::cell_centre ? (i + 0.5) / n : i / (n - 1.0);
        vy[d] = layout == hilbert_layout::cell_centre ? (j + 0.5) / n : j / (n - 1.0);
      }
      for (const auto& [x, y] : test_points(c, 2000, 77u + static_cast<std::uint32_t>(o))) {
        const double px = std::clamp<double>(x, 0.0, 1.0), py = std::clamp<double>(y, 0.0, 1.0);
        std::vector<std::pair<double, double>> cand(m - 1);  // (distance, t) of every segment
        double best = 1e300;
        for (std::size_t k = 0; k + 1 < m; ++k) {
          const double ex = vx[k + 1] - vx[k], ey = vy[k + 1] - vy[k];
          const double len2 = ex * ex + ey * ey;
          const double f = std::clamp(((px - vx[k]) * ex + (py - vy[k]) * ey) / len2, 0.0, 1.0);
          const double dx = px - vx[k] - f * ex, dy = py - vy[k] - f * ey;
          cand[k] = {std::sqrt(dx * dx + dy * dy), (static_cast<double>(k) + f) / static_cast<double>(m - 1)};
          best = std::min(best, cand[k].first);
        }
        const auto r = c.decode(x, y);
        EXPECT_NEAR(r.distance, best, 1e-7);
        // t is the one of a nearest segment (several only where branches tie within rounding)
        bool found = false;
        for (const auto& [d, t] : cand) found = found || (d <= best + 1e-9 && std::abs(t - r.t) <= 1e-6);
        EXPECT_TRUE(found) << o << " (" << x << ", " << y << "): " << r.t;
      }
    }
  }
}

// ----------------------------------------------------------------------------------------------------
// The quantizer

static_assert(lowbit::quantizer<lowbit::hilbert_quantizer<std::int8_t>>);
static_assert(lowbit::quantizer<lowbit::hilbert_quantizer<std::uint16_t>>);

TEST(HilbertQuantizer, Validation) {
  const hilbert_curve c(2, hilbert_layout::full_range);
  const auto u8 = lowbit::hilbert_params(lowbit::code_format::uint8());
  expect_errc(lowbit::errc::type_mismatch, [&] { lowbit::hilbert_quantizer<std::int8_t>(c, u8); });
  expect_errc(lowbit::errc::type_mismatch,
              [&] { lowbit::hilbert_quantizer<std::uint8_t>(c, lowbit::hilbert_params({10, false, false})); });
  expect_errc(lowbit::errc::invalid_argument, [&] {
    lowbit::hilbert_quantizer<std::uint8_t>(c, u8, lowbit::hilbert_params(lowbit::code_format::uint4()));
  });
  const std::int64_t shape[] = {2};
  const float scales[] = {0.1f, 0.1f};
  const auto pc = lowbit::quant_params::per_channel(lowbit::code_format::uint8(), shape, 0, scales);
  expect_errc(lowbit::errc::invalid_argument, [&] { lowbit::hilbert_quantizer<std::uint8_t>(c, pc); });
  expect_errc(lowbit::errc::unsupported_width, [&] { lowbit::hilbert_params({1, false, false}); });
  const lowbit::hilbert_quantizer<std::uint8_t> q(c, u8);
  std::vector<float> v(3), d(2);
  std::vector<std::uint8_t> codes(5);
  expect_errc(lowbit::errc::size_mismatch, [&] { q.encode(v, codes); });
  expect_errc(lowbit::errc::size_mismatch, [&] { q.decode(codes, v); });
  codes.resize(6);
  expect_errc(lowbit::errc::size_mismatch, [&] { q.decode(codes, v, d); });
  expect_errc(lowbit::errc::invalid_shape,
              [&] { q.decode_map(codes, 2, hilbert_map_layout::planar, v); });
}

// Encode = the curve point quantized by lowbit::quantize; the table = the exact decoder on every pair;
// decode clamps codes beyond a narrow range.
template <class Code>
void check_quantizer(const hilbert_curve& c, lowbit::code_format f, lowbit::profile prof) {
  const auto p = lowbit::hilbert_params(f, prof);
  const lowbit::hilbert_quantizer<Code> q(c, p);
  EXPECT_EQ(q.bits(), f.bits);
  EXPECT_EQ(q.codes_per_value(), 2u);
  std::mt19937 rng(static_cast<std::uint32_t>(f.bits * 31 + c.order()));
  std::uniform_real_distribution<float> dist(static_cast<float>(c.lo()) - 0.1f, static_cast<float>(c.hi()) + 0.1f);
  std::vector<float> t(3000);
  for (float& v : t) v = dist(rng);
  t[0] = std::nanf("");
  std::vector<Code> codes(2 * t.size());
  q.encode(t, codes);
  std::vector<float> xy(2 * t.size());
  c.encode(t, xy);
  std::vector<Code> expect(xy.size());
  lowbit::quantize<Code>(xy, p, expect);
  EXPECT_EQ(codes, expect);
  EXPECT_EQ(codes[0], static_cast<Code>(p.zero_points()[0]));
  // decode vs the exact decoder on the dequantized pair
  std::vector<float> out(t.size()), dst(t.size());
  q.decode(codes, out, dst);
  std::vector<float> deq(xy.size());
  lowbit::dequantize<Code>(codes, p, deq);
  for (std::size_t i = 0; i < t.size(); ++i) {
    const auto r = c.decode(deq[2 * i], deq[2 * i + 1]);
    ASSERT_EQ(out[i], r.t) << i;
    ASSERT_EQ(dst[i], r.distance) << i;
  }
  if (f.bits <= 8) {
    ASSERT_EQ(q.table().size(), std::size_t{1} << (2 * f.bits));
    const lowbit::ref::run_params rp = lowbit::ref::run_params_of(p);
    for (std::int32_t cx = f.qmin(); cx <= f.qmax(); ++cx) {
      for (std::int32_t cy = f.qmin(); cy <= f.qmax(); ++cy) {
        const auto r = c.decode(lowbit::ref::dequantize_value(static_cast<float>(cx), rp.scale, rp.zero_point),
                                lowbit::ref::dequantize_value(static_cast<float>(cy), rp.scale, rp.zero_point));
        const auto d = q.decode_pair(static_cast<Code>(cx), static_cast<Code>(cy));
        ASSERT_EQ(d.t, r.t);
        ASSERT_EQ(d.distance, r.distance);
      }
    }
  } else {
    EXPECT_TRUE(q.table().empty());
  }
  if (f.narrow) {  // a code below qmin is clamped to qmin
    const auto below = static_cast<Code>(f.qmin() - 1);
    EXPECT_EQ(q.decode_pair(below, below).t,
              q.decode_pair(static_cast<Code>(f.qmin()), static_cast<Code>(f.qmin())).t);
  }
}

TEST(HilbertQuantizer, EncodeDecodeMatchesParts) {
  const hilbert_curve c2(2, hilbert_layout::full_range), c3(3, hilbert_layout::cell_centre, -2.0, 5.0);
  for (const hilbert_curve* c : {&c2, &c3}) {
    check_quantizer<std::uint8_t>(*c, lowbit::code_format::uint8(), lowbit::profile::onnx);
    check_quantizer<std::int8_t>(*c, lowbit::code_format::int8(true), lowbit::profile::tflite);
    check_quantizer<std::uint8_t>(*c, lowbit::code_format::uint4(), lowbit::profile::pytorch);
    check_quantizer<std::int8_t>(*c, {6, true, false}, lowbit::profile::onnx);
    check_quantizer<std::int8_t>(*c, {2, true, false}, lowbit::profile::onnx);
    check_quantizer<std::uint16_t>(*c, {10, false, false}, lowbit::profile::onnx);
    check_quantizer<std::int16_t>(*c, lowbit::code_format::int16(), lowbit::profile::onnx);
  }
}

// Separate x and y parameters: decode uses each channel's own.
TEST(HilbertQuantizer, SeparateChannelParams) {
  const hilbert_curve c(2, hilbert_layout::full_range);
  const auto px = lowbit::quant_params::per_tensor(lowbit::code_format::uint8(), 1.0f / 200.0f, 20);
  const auto py = lowbit::quant_params::per_tensor(lowbit::code_format::uint8(), 1.0f / 250.0f, 3);
  const lowbit::hilbert_quantizer<std::uint8_t> q(c, px, py);
  const std::uint8_t codes[] = {120, 40};
  float t = 0.0f;
  q.decode(codes, std::span<float>(&t, 1));
  EXPECT_EQ(t, c.decode((120 - 20) * (1.0f / 200.0f), (40 - 3) * (1.0f / 250.0f)).t);
}

// RMS error of direct 8-bit quantization of t over RMS of the Hilbert head: within 3% of L.
double measured_gain(const hilbert_curve& c) {
  const auto p = lowbit::hilbert_params(lowbit::code_format::uint8());
  const lowbit::hilbert_quantizer<std::uint8_t> q(c, p);
  const lowbit::uniform_quantizer<std::uint8_t> direct(p);
  std::mt19937 rng(2405);
  std::uniform_real_distribution<float> dist(0.0f, 1.0f);
  std::vector<float> t(400000);
  for (float& v : t) v = dist(rng);
  const auto eh = lowbit::measure_error(q, std::span<const float>(t));
  const auto ed = lowbit::measure_error(direct, std::span<const float>(t));
  return std::sqrt(ed.mse / eh.mse);
}

TEST(HilbertQuantizer, GainAt8BitsIsCurveLength) {
  const hilbert_curve f2(2, hilbert_layout::full_range), c3(3, hilbert_layout::cell_centre);
  const double g2 = measured_gain(f2), g3 = measured_gain(c3);
  EXPECT_NEAR(g2 / f2.length(), 1.0, 0.03) << g2;
  EXPECT_NEAR(g3 / c3.length(), 1.0, 0.03) << g3;
  RecordProperty("gain_full_range_2", std::to_string(g2));
  RecordProperty("gain_cell_centre_3", std::to_string(g3));
  std::printf("measured gain at 8 bits: order 2 full_range %.4f (L = 5), order 3 cell_centre %.4f (L = 7.875)\n",
              g2, g3);
}

// ----------------------------------------------------------------------------------------------------
// Maps

TEST(HilbertMaps, PlanarAndInterleavedAgree) {
  const hilbert_curve c(3, hilbert_layout::full_range, 0.5, 80.0);
  const std::size_t batch = 3, pixels = 7 * 5;
  std::mt19937 rng(9);
  std::uniform_real_distribution<float> dist(0.0f, 90.0f);
  std::vector<float> depth(batch * pixels);
  for (float& v : depth) v = dist(rng);
  depth[4] = std::nanf("");
  std::vector<float> planar(2 * depth.size()), inter(2 * depth.size());
  lowbit::make_training_target(c, depth, batch, hilbert_map_layout::planar, planar);
  lowbit::make_training_target(c, depth, batch, hilbert_map_layout::interleaved, inter);
  for (std::size_t b = 0; b < batch; ++b) {
    for (std::size_t p = 0; p < pixels; ++p) {
      const auto e = c.encode(depth[b * pixels + p]);
      const float px = planar[2 * b * pixels + p], py = planar[2 * b * pixels + pixels + p];
      const float ix = inter[2 * (b * pixels + p)], iy = inter[2 * (b * pixels + p) + 1];
      if (std::isnan(e.x)) {
        EXPECT_TRUE(std::isnan(px) && std::isnan(py) && std::isnan(ix) && std::isnan(iy));
        continue;
      }
      ASSERT_EQ(px, e.x);
      ASSERT_EQ(py, e.y);
      ASSERT_EQ(ix, e.x);
      ASSERT_EQ(iy, e.y);
    }
  }
  // float decode of both layouts
  std::vector<float> t1(depth.size()), t2(depth.size()), d1(depth.size());
  c.decode_map(planar, batch, hilbert_map_layout::planar, t1, d1);
  c.decode_map(inter, batch, hilbert_map_layout::interleaved, t2);
  for (std::size_t i = 0; i < depth.size(); ++i) {
    if (std::isnan(depth[i])) {
      EXPECT_TRUE(std::isnan(t1[i]));
      continue;
    }
    EXPECT_EQ(t1[i], t2[i]);
    EXPECT_NEAR(t1[i], std::clamp(depth[i], 0.5f, 80.0f), 1e-4f);
    EXPECT_LE(d1[i], 1e-6f);
  }
  // integer codes: encode_map / decode_map in both layouts = per-pair decode
  for (const auto f : {lowbit::code_format::uint8(), lowbit::code_format{12, false, false}}) {
    const lowbit::hilbert_quantizer<std::uint16_t> q(c, lowbit::hilbert_params(f));
    std::vector<std::uint16_t> cp(2 * depth.size()), ci(2 * depth.size());
    q.encode_map(depth, batch, hilbert_map_layout::planar, cp);
    q.encode_map(depth, batch, hilbert_map_layout::interleaved, ci);
    std::vector<float> tp(depth.size()), ti(depth.size()), dp(depth.size());
    q.decode_map(cp, batch, hilbert_map_layout::planar, tp, dp);
    q.decode_map(ci, batch, hilbert_map_layout::interleaved, ti);
    for (std::size_t b = 0; b < batch; ++b) {
      for (std::size_t p = 0; p < pixels; ++p) {
        const std::size_t i = b * pixels + p;
        ASSERT_EQ(cp[2 * b * pixels + p], ci[2 * i]);
        ASSERT_EQ(cp[2 * b * pixels + pixels + p], ci[2 * i + 1]);
        const auto r = q.decode_pair(ci[2 * i], ci[2 * i + 1]);
        ASSERT_EQ(tp[i], r.t);
        ASSERT_EQ(ti[i], r.t);
        ASSERT_EQ(dp[i], r.distance);
      }
    }
  }
}

TEST(HilbertMaps, SizesAndEmpty) {
  const hilbert_curve c(2, hilbert_layout::cell_centre);
  std::vector<float> t(6), xy(12), bad(11), d(5);
  expect_errc(lowbit::errc::size_mismatch, [&] { c.encode_map(t, 2, hilbert_map_layout::planar, bad); });
  expect_errc(lowbit::errc::invalid_shape, [&] { c.encode_map(t, 4, hilbert_map_layout::planar, xy); });
  expect_errc(lowbit::errc::invalid_shape, [&] { c.encode_map(t, 0, hilbert_map_layout::planar, xy); });
  expect_errc(lowbit::errc::size_mismatch, [&] { c.decode_map(xy, 2, hilbert_map_layout::planar, t, d); });
  expect_errc(lowbit::errc::size_mismatch, [&] { c.decode(bad, t); });
  expect_errc(lowbit::errc::size_mismatch, [&] { lowbit::make_training_target(c, t, 3, hilbert_map_layout::interleaved, bad); });
  c.encode_map({}, 0, hilbert_map_layout::planar, {});
  c.decode({}, {});
  const lowbit::hilbert_quantizer<std::uint8_t> q(c, lowbit::hilbert_params(lowbit::code_format::uint8()));
  q.decode(std::span<const std::uint8_t>(), std::span<float>());
  // a guard element after the output is untouched
  std::vector<float> out(7, -7.0f);
  std::vector<std::uint8_t> codes(12, 100);
  q.decode_map(codes, 2, hilbert_map_layout::planar, std::span<float>(out.data(), 6));
  EXPECT_EQ(out[6], -7.0f);
  EXPECT_EQ(out[0], q.decode_pair(100, 100).t);
}

// Threads: every thread count gives the same bits as one thread (maps large enough to be split into
// several chunks, with sizes that are not multiples of the chunk alignment), and shapes are checked
// before any work starts.
constexpr unsigned kThreadCounts[] = {2, 3, 5, 0, 64, 1000};

TEST(HilbertMaps, ThreadCountsGiveIdenticalFloatResults) {
  const hilbert_curve c(3, hilbert_layout::full_range, 0.5, 80.0);
  const std::size_t batch = 3, pixels = 70001;  // 210,003 values: up to 12 workers of >= 16K values
  std::mt19937 rng(17);
  std::uniform_real_distribution<float> dist(0.0f, 90.0f);
  std::vector<float> depth(batch * pixels);
  for (float& v : depth) v = dist(rng);
  depth[12345] = std::nanf("");
  for (const hilbert_map_layout layout : {hilbert_map_layout::planar, hilbert_map_layout::interleaved}) {
    std::vector<float> xy1(2 * depth.size());
    c.encode_map(depth, batch, layout, xy1);
    // noisy copies of the targets to decode (off the curve: distances > 0)
    std::vector<float> noisy(xy1);
    std::normal_distribution<float> noise(0.0f, 0.01f);
    for (float& v : noisy) v += noise(rng);
    std::vector<float> t1(depth.size()), d1(depth.size());
    c.decode_map(noisy, batch, layout, t1, d1);
    for (std::size_t i = 0; i < depth.size(); i += 997) {
      const float x = layout == hilbert_map_layout::interleaved ? noisy[2 * i] : noisy[2 * (i / pixels) * pixels + i % pixels];
      const float y = layout == hilbert_map_layout::interleaved ? noisy[2 * i + 1]
                                                                 : noisy[2 * (i / pixels) * pixels + pixels + i % pixels];
      const auto r = c.decode(x, y);
      ASSERT_EQ(t1[i], r.t) << i;
      ASSERT_EQ(d1[i], r.distance) << i;
    }
    for (const unsigned threads : kThreadCounts) {
      std::vector<float> xy(2 * depth.size()), t(depth.size()), d(depth.size()), t_only(depth.size());
      c.encode_map(depth, batch, layout, xy, threads);
      ASSERT_EQ(std::memcmp(xy.data(), xy1.data(), xy.size() * sizeof(float)), 0) << "encode, threads " << threads;
      c.decode_map(noisy, batch, layout, t, d, threads);
      c.decode_map(noisy, batch, layout, t_only, {}, threads);
      ASSERT_EQ(std::memcmp(t.data(), t1.data(), t.size() * sizeof(float)), 0) << "decode, threads " << threads;
      ASSERT_EQ(std::memcmp(d.data(), d1.data(), d.size() * sizeof(float)), 0) << "distance, threads " << threads;
      ASSERT_EQ(std::memcmp(t_only.data(), t1.data(), t.size() * sizeof(float)), 0) << "threads " << threads;
    }
  }
}

template <class Code>
void check_quantizer_threads(const hilbert_curve& c, lowbit::code_format f, std::size_t batch, std::size_t pixels) {
  const lowbit::hilbert_quantizer<Code> q(c, lowbit::hilbert_params(f));
  std::mt19937 rng(static_cast<std::uint32_t>(f.bits));
  std::uniform_real_distribution<float> dist(static_cast<float>(c.lo()) - 0.5f, static_cast<float>(c.hi()) + 0.5f);
  std::vector<float> depth(batch * pixels);
  for (float& v : depth) v = dist(rng);
  for (const hilbert_map_layout layout : {hilbert_map_layout::planar, hilbert_map_layout::interleaved}) {
    std::vector<Code> codes1(2 * depth.size());
    q.encode_map(depth, batch, layout, codes1);
    // perturb some codes (decoding off the curve)
    for (std::size_t i = 0; i < codes1.size(); i += 7) codes1[i] = static_cast<Code>(codes1[i] ^ 3);
    std::vector<float> t1(depth.size()), d1(depth.size());
    q.decode_map(codes1, batch, layout, t1, d1);
    for (std::size_t i = 0; i < depth.size(); i += 1009) {
      const std::size_t b = i / pixels, p = i % pixels;
      const Code cx = layout == hilbert_map_layout::interleaved ? codes1[2 * i] : codes1[2 * b * pixels + p];
      const Code cy = layout == hilbert_map_layout::interleaved ? codes1[2 * i + 1] : codes1[2 * b * pixels + pixels + p];
      const auto r = q.decode_pair(cx, cy);
      ASSERT_EQ(t1[i], r.t) << i;
      ASSERT_EQ(d1[i], r.distance) << i;
    }
    std::vector<Code> encoded1(2 * depth.size());
    q.encode_map(depth, batch, layout, encoded1);
    for (const unsigned threads : kThreadCounts) {
      std::vector<Code> codes(2 * depth.size());
      q.encode_map(depth, batch, layout, codes, threads);
      ASSERT_EQ(codes, encoded1) << "encode, threads " << threads;
      std::vector<float> t(depth.size()), d(depth.size());
      q.decode_map(codes1, batch, layout, t, d, threads);
      ASSERT_EQ(std::memcmp(t.data(), t1.data(), t.size() * sizeof(float)), 0) << "decode, threads " << threads;
      ASSERT_EQ(std::memcmp(d.data(), d1.data(), d.size() * sizeof(float)), 0) << "distance, threads " << threads;
    }
  }
}

TEST(HilbertMaps, ThreadCountsGiveIdenticalCodeResults) {
  const hilbert_curve c(2, hilbert_layout::cell_centre, -1.0, 4.0);
  // 8-bit table path: 600,014 values, up to 2 workers of >= 256K lookups
  check_quantizer_threads<std::uint8_t>(c, lowbit::code_format::uint8(), 2, 300007);
  check_quantizer_threads<std::int8_t>(c, lowbit::code_format::int8(true), 2, 300007);
  // 12-bit exact path (blocks of dequantized codes through the SIMD decoder): 100,003 values
  check_quantizer_threads<std::uint16_t>(c, lowbit::code_format{12, false, false}, 1, 100003);
}

TEST(HilbertMaps, ThreadsValidateFirst) {
  const hilbert_curve c(2, hilbert_layout::cell_centre);
  std::vector<float> t(100000), xy(200000), bad(199999), d(5);
  expect_errc(lowbit::errc::size_mismatch, [&] { c.encode_map(t, 2, hilbert_map_layout::planar, bad, 4); });
  expect_errc(lowbit::errc::invalid_shape, [&] { c.decode_map(xy, 3, hilbert_map_layout::planar, t, {}, 4); });
  expect_errc(lowbit::errc::size_mismatch, [&] { c.decode_map(xy, 2, hilbert_map_layout::planar, t, d, 0); });
  const lowbit::hilbert_quantizer<std::uint8_t> q(c, lowbit::hilbert_params(lowbit::code_format::uint8()));
  std::vector<std::uint8_t> codes(199999);
  expect_errc(lowbit::errc::size_mismatch, [&] { q.decode_map(codes, 1, hilbert_map_layout::interleaved, t, {}, 8); });
  expect_errc(lowbit::errc::size_mismatch, [&] { q.encode_map(t, 1, hilbert_map_layout::interleaved, codes, 8); });
  // empty and small maps with many threads
  c.decode_map({}, 0, hilbert_map_layout::planar, {}, {}, 16);
  std::vector<float> small_t(3), small_xy(6, 0.25f);
  c.decode_map(small_xy, 1, hilbert_map_layout::interleaved, small_t, {}, 16);
  EXPECT_EQ(small_t[2], c.decode(0.25f, 0.25f).t);
}

// ----------------------------------------------------------------------------------------------------
// Error model

TEST(HilbertErrorModel, SmallNoiseGainIsLength) {
  for (int o = 1; o <= 8; ++o) {
    for (const hilbert_layout layout : kLayouts) {
      const hilbert_curve c(o, layout, 2.0, 6.0);
      // 12-bit codes: the step is below the branch spacing for every order, so no jumps without noise;
      // the turns' share of the error is O(q), q = the step in lattice units.
      const auto e = lowbit::predict_hilbert_error(c, 12, 0.0);
      const double q = (layout == hilbert_layout::full_range ? c.side() - 1.0 : c.side()) / 4095.0;
      EXPECT_LE(e.gain, c.length()) << o;
      EXPECT_NEAR(e.gain / c.length(), 1.0, 0.5 * q) << o;
      EXPECT_EQ(e.jump_probability, 0.0);
      EXPECT_NEAR(e.rms_direct, 4.0 / 4095.0 / std::sqrt(12.0), 1e-12);
      if (o <= 7) {
        EXPECT_EQ(lowbit::predict_hilbert_error(c, 8, 0.0).jump_probability, 0.0);
      }
    }
  }
}

TEST(HilbertErrorModel, CollapsesAtLargeNoise) {
  const hilbert_curve f4(4, hilbert_layout::full_range);
  const auto e2 = lowbit::predict_hilbert_error(f4, 8, 2.0), e4 = lowbit::predict_hilbert_error(f4, 8, 4.0);
  EXPECT_GT(e2.gain, 8.0);   // the paper's simulation: 14.3 (the model is conservative here)
  EXPECT_LT(e4.gain, 3.0);   // and 0.72
  EXPECT_GT(e4.jump_probability, e2.jump_probability);
  double prev = 1e300;
  for (const double noise : {0.0, 0.5, 1.0, 2.0, 4.0}) {
    const double g = lowbit::predict_hilbert_error(f4, 8, noise).gain;
    EXPECT_LT(g, prev + 1e-9);
    prev = g;
  }
  EXPECT_GE(lowbit::best_hilbert_order(hilbert_layout::full_range, 8, 0.0), 7);
  const int mid = lowbit::best_hilbert_order(hilbert_layout::full_range, 8, 4.0, 5);
  EXPECT_GE(mid, 2);
  EXPECT_LE(mid, 3);
  EXPECT_EQ(lowbit::best_hilbert_order(hilbert_layout::cell_centre, 4, 4.0, 5), 1);  // every order collapses
  EXPECT_EQ(lowbit::best_hilbert_order(hilbert_layout::cell_centre, 8, 4.0, 5), 3);
  expect_errc(lowbit::errc::invalid_argument, [&] { lowbit::predict_hilbert_error(f4, 0.0, 0.0); });
  expect_errc(lowbit::errc::invalid_argument, [&] { lowbit::predict_hilbert_error(f4, 0.01, -1.0); });
  expect_errc(lowbit::errc::unsupported_width, [&] { lowbit::predict_hilbert_error(f4, 17, 0.0); });
  expect_errc(lowbit::errc::invalid_argument, [&] { lowbit::best_hilbert_order(hilbert_layout::full_range, 8, 1.0, 9); });
}

}  // namespace
