// lowbit — tests of the 3-D Hilbert-curve output representation: the bit algorithm, the curve, the exact
// decoder against brute force, the quantizer and its table, the map APIs and the error model.
// SPDX-License-Identifier: Apache-2.0
#include "lowbit/hilbert3.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <random>
#include <span>
#include <string>
#include <vector>

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define LOWBIT_TEST_X86 1
#endif

#include "lowbit/ref/uniform.h"
#include "lowbit/uniform.h"
#include "support/lowbit_error.h"
#include "support/test_scale.h"

namespace {

using lowbit::errc;
using lowbit::error_of;
using lowbit::hilbert3_curve;
using lowbit::hilbert_decoded;
using lowbit::hilbert_layout;
using lowbit::hilbert_map_layout;

constexpr hilbert_layout kLayouts[] = {hilbert_layout::cell_centre, hilbert_layout::full_range};
constexpr float kInf = std::numeric_limits<float>::infinity();

// Point counts of the brute-force comparison, per layout. Brute force costs 8^n segments per point.
// Optimized builds: orders 1..3 on 5 * 10^5 points per layout (10^6 per order), orders 4, 5, 6 on
// 2.5 * 10^4, 2.5 * 10^3 and 250. Optimized sanitizer builds run 1/10 of each, -O0 builds 1/40 (at
// least 50). LOWBIT_HILBERT_FULL=1 runs 10^6 points per layout for every order (minutes: order 6 alone
// is 5 * 10^11 segment evaluations).
bool full_run() {
  const char* full = std::getenv("LOWBIT_HILBERT_FULL");
  return full && full[0] == '1';
}

std::size_t brute_force_count(int order) {
  if (full_run()) return 1000000;
  constexpr std::size_t counts[] = {0, 500000, 500000, 500000, 25000, 2500, 250};
  return lowbit::test::scaled(counts[order], 50);
}

// ----------------------------------------------------------------------------------------------------
// Bit algorithm

TEST(Hilbert3Index, BijectiveAndContinuous) {
  for (int o = 1; o <= 6; ++o) {
    const std::uint32_t n = 1u << o, m = n * n * n;
    std::vector<bool> seen(m, false);
    std::array<std::uint32_t, 3> prev{};
    for (std::uint32_t d = 0; d < m; ++d) {
      const auto c = lowbit::hilbert3_cell(o, d);
      ASSERT_LT(c[0], n);
      ASSERT_LT(c[1], n);
      ASSERT_LT(c[2], n);
      ASSERT_EQ(lowbit::hilbert3_index(o, c[0], c[1], c[2]), d) << "order " << o;
      const std::size_t cell = (static_cast<std::size_t>(c[2]) * n + c[1]) * n + c[0];
      ASSERT_FALSE(seen[cell]) << "order " << o << " d " << d << " revisits a lattice point";
      seen[cell] = true;
      if (d == 0) {
        EXPECT_EQ(c, (std::array<std::uint32_t, 3>{0, 0, 0}));
      } else {
        int step = 0;
        for (int a = 0; a < 3; ++a) step += std::abs(static_cast<int>(c[a]) - static_cast<int>(prev[a]));
        ASSERT_EQ(step, 1) << "order " << o << " d " << d;
      }
      prev = c;
    }
    EXPECT_EQ(std::count(seen.begin(), seen.end(), true), static_cast<std::ptrdiff_t>(m));
    EXPECT_EQ(prev, (std::array<std::uint32_t, 3>{n - 1, 0, 0})) << "order " << o;
  }
  // Order 1 is the cube's Gray-code walk.
  const std::array<std::uint32_t, 3> order1[8] = {{0, 0, 0}, {0, 0, 1}, {0, 1, 1}, {0, 1, 0},
                                                  {1, 1, 0}, {1, 1, 1}, {1, 0, 1}, {1, 0, 0}};
  for (std::uint32_t d = 0; d < 8; ++d) EXPECT_EQ(lowbit::hilbert3_cell(1, d), order1[d]) << d;
}

TEST(Hilbert3Index, Validation) {
  EXPECT_EQ(error_of([] { lowbit::hilbert3_index(0, 0, 0, 0); }, "order 0"), errc::invalid_argument);
  EXPECT_EQ(error_of([] { lowbit::hilbert3_index(7, 0, 0, 0); }, "1..6"), errc::invalid_argument);
  EXPECT_EQ(error_of([] { lowbit::hilbert3_index(2, 0, 0, 4); }, "(0, 0, 4)"), errc::invalid_argument);
  EXPECT_EQ(error_of([] { lowbit::hilbert3_index(2, 4, 0, 0); }), errc::invalid_argument);
  EXPECT_EQ(error_of([] { lowbit::hilbert3_cell(2, 64); }, "64"), errc::invalid_argument);
  EXPECT_EQ(error_of([] { lowbit::hilbert3_cell(-1, 0); }), errc::invalid_argument);
}

// ----------------------------------------------------------------------------------------------------
// The curve

TEST(Hilbert3Curve, Validation) {
  EXPECT_EQ(error_of([] { hilbert3_curve(0, hilbert_layout::full_range); }, "hilbert3_curve"), errc::invalid_argument);
  EXPECT_EQ(error_of([] { hilbert3_curve(7, hilbert_layout::cell_centre); }), errc::invalid_argument);
  EXPECT_EQ(error_of([] { hilbert3_curve(2, static_cast<hilbert_layout>(7)); }, "layout"), errc::invalid_argument);
  EXPECT_EQ(error_of([] { hilbert3_curve(2, hilbert_layout::full_range, 1.0, 1.0); }), errc::invalid_range);
  EXPECT_EQ(error_of([] { hilbert3_curve(2, hilbert_layout::full_range, 2.0, 1.0); }), errc::invalid_range);
  EXPECT_EQ(error_of([] { hilbert3_curve(2, hilbert_layout::full_range, std::nan(""), 1.0); }), errc::invalid_range);
  EXPECT_EQ(error_of([] { hilbert3_curve(2, hilbert_layout::full_range, -1e308, 1e308); }, "float range"),
            errc::invalid_range);
  {
    std::vector<float> buf(3 * 64, 0.5f);
    const std::span<float> all(buf);
    const hilbert3_curve c1(1, hilbert_layout::full_range);
    EXPECT_EQ(error_of([&] { c1.decode_map(all, 1, hilbert_map_layout::interleaved, all.first(64), {}, 2); }, "overlap"),
              errc::invalid_argument);
  }
  EXPECT_EQ(error_of([] {
              hilbert3_curve(2, hilbert_layout::full_range, 0.0, std::numeric_limits<double>::infinity());
            }),
            errc::invalid_range);
  const hilbert3_curve c(2, hilbert_layout::cell_centre);
  EXPECT_EQ(error_of([&] { c.vertex(64); }, "64"), errc::invalid_argument);
}

TEST(Hilbert3Curve, LengthsAndVertices) {
  const double cell[] = {3.5, 15.75, 63.875};
  const double full[] = {7.0, 21.0, 73.0};
  for (int o = 1; o <= 6; ++o) {
    const hilbert3_curve cc(o, hilbert_layout::cell_centre), fr(o, hilbert_layout::full_range);
    const double n = std::ldexp(1.0, o), m = std::ldexp(1.0, 3 * o);
    EXPECT_EQ(cc.side(), 1u << o);
    EXPECT_EQ(cc.vertex_count(), std::size_t{1} << (3 * o));
    EXPECT_DOUBLE_EQ(cc.length(), (m - 1.0) / n);
    EXPECT_DOUBLE_EQ(fr.length(), (m - 1.0) / (n - 1.0));
    EXPECT_DOUBLE_EQ(cc.segment_length(), 1.0 / n);
    EXPECT_DOUBLE_EQ(fr.segment_length(), 1.0 / (n - 1.0));
    if (o <= 3) {
      EXPECT_DOUBLE_EQ(cc.length(), cell[o - 1]);
      EXPECT_DOUBLE_EQ(fr.length(), full[o - 1]);
    }
    for (const hilbert3_curve* c : {&cc, &fr}) {
      double len = 0.0;
      for (std::size_t d = 0; d + 1 < c->vertex_count(); ++d) {
        const auto a = c->vertex(d), b = c->vertex(d + 1);
        len += std::hypot(b[0] - a[0], b[1] - a[1], b[2] - a[2]);
      }
      EXPECT_NEAR(len, c->length(), 1e-9 * c->length());
    }
    EXPECT_EQ(cc.vertex(0), (std::array<double, 3>{0.5 / n, 0.5 / n, 0.5 / n}));
    EXPECT_EQ(cc.vertex(cc.vertex_count() - 1), (std::array<double, 3>{1.0 - 0.5 / n, 0.5 / n, 0.5 / n}));
    EXPECT_EQ(fr.vertex(0), (std::array<double, 3>{0.0, 0.0, 0.0}));
    EXPECT_EQ(fr.vertex(fr.vertex_count() - 1), (std::array<double, 3>{1.0, 0.0, 0.0}));
    // A vertex in the middle: the lattice point of the bit algorithm, mapped.
    const std::uint32_t d = static_cast<std::uint32_t>(cc.vertex_count() / 3);
    const auto ijk = lowbit::hilbert3_cell(o, d);
    for (int a = 0; a < 3; ++a) {
      EXPECT_EQ(cc.vertex(d)[a], (ijk[a] + 0.5) / n);
      EXPECT_EQ(fr.vertex(d)[a], ijk[a] / (n - 1.0));
    }
  }
}

// decode(encode(t)) = t within 1e-6 (relative to the range) for every order and layout, on random t, the
// vertices' t and the ends; the encoded point lies on the curve; encode = float32(encode_exact).
TEST(Hilbert3Curve, RoundTrip) {
  std::mt19937 rng(36);
  for (int o = 1; o <= 6; ++o) {
    for (const hilbert_layout layout : kLayouts) {
      for (const auto& [lo, hi] : {std::pair{0.0, 1.0}, std::pair{-3.0, 250.0}}) {
        const hilbert3_curve c(o, layout, lo, hi);
        std::uniform_real_distribution<float> dist(static_cast<float>(lo), static_cast<float>(hi));
        std::vector<float> ts;
        for (int k = 0; k < 20000; ++k) ts.push_back(dist(rng));
        for (std::size_t d = 0; d < c.vertex_count(); d += std::max<std::size_t>(1, c.vertex_count() / 512)) {
          ts.push_back(static_cast<float>(lo + (hi - lo) * static_cast<double>(d) /
                                                   static_cast<double>(c.vertex_count() - 1)));
        }
        ts.push_back(static_cast<float>(lo));
        ts.push_back(static_cast<float>(hi));
        double worst = 0.0;
        for (const float t : ts) {
          const lowbit::hilbert3_point p = c.encode(t);
          const hilbert_decoded r = c.decode(p.x, p.y, p.z);
          worst = std::max(worst, std::abs(static_cast<double>(r.t) - t) / (hi - lo));
          ASSERT_LE(r.distance, 1e-6f);
          const auto e = c.encode_exact(t);
          ASSERT_EQ(p.x, static_cast<float>(e[0]));
          ASSERT_EQ(p.y, static_cast<float>(e[1]));
          ASSERT_EQ(p.z, static_cast<float>(e[2]));
        }
        EXPECT_LE(worst, 1e-6) << "order " << o << " " << lowbit::to_string(layout);
      }
    }
  }
}

TEST(Hilbert3Curve, EncodeEdgeCases) {
  const hilbert3_curve c(1, hilbert_layout::full_range, 1.0, 3.0);  // 7 segments of the unit cube
  const auto at = [&](float t) {
    const auto p = c.encode(t);
    return std::array<float, 3>{p.x, p.y, p.z};
  };
  EXPECT_EQ(at(1.0f), (std::array<float, 3>{0, 0, 0}));
  EXPECT_EQ(at(-5.0f), (std::array<float, 3>{0, 0, 0}));  // clamps
  EXPECT_EQ(at(-kInf), (std::array<float, 3>{0, 0, 0}));
  EXPECT_EQ(at(3.0f), (std::array<float, 3>{1, 0, 0}));
  EXPECT_EQ(at(kInf), (std::array<float, 3>{1, 0, 0}));
  EXPECT_EQ(at(2.0f), (std::array<float, 3>{0.5f, 1, 0}));  // half-way along segment 3: (0,1,0) -> (1,1,0)
  const auto nan = c.encode(std::nanf(""));
  EXPECT_TRUE(std::isnan(nan.x) && std::isnan(nan.y) && std::isnan(nan.z));
  const auto e = c.encode_exact(1.0 + 2.0 * 2.5 / 7.0);  // s = 2.5: half-way (0,1,1) -> (0,1,0)
  EXPECT_NEAR(e[0], 0.0, 1e-15);
  EXPECT_NEAR(e[1], 1.0, 1e-15);
  EXPECT_NEAR(e[2], 0.5, 1e-15);
  // cell_centre order 2: t at vertex 1 of 63 is the lattice point (0, 1, 0) at (1/8, 3/8, 1/8).
  const hilbert3_curve c2(2, hilbert_layout::cell_centre);
  const auto v1 = c2.encode_exact(1.0 / 63.0);
  EXPECT_NEAR(v1[0], 0.125, 1e-15);
  EXPECT_NEAR(v1[1], 0.375, 1e-15);
  EXPECT_NEAR(v1[2], 0.125, 1e-15);
}

TEST(Hilbert3Curve, DecodeEdgeCases) {
  const float nan = std::nanf("");
  for (const hilbert_layout layout : kLayouts) {
    for (int o = 1; o <= 3; ++o) {
      const hilbert3_curve c(o, layout, -1.0, 1.0);
      for (const auto& [x, y, z] : {std::array{nan, 0.5f, 0.5f}, std::array{0.5f, nan, 0.5f},
                                    std::array{0.5f, 0.5f, nan}, std::array{nan, kInf, 0.0f}}) {
        EXPECT_TRUE(std::isnan(c.decode(x, y, z).t));
        EXPECT_TRUE(std::isnan(c.decode(x, y, z).distance));
        EXPECT_TRUE(std::isnan(c.decode_reference(x, y, z).t));
      }
      // Out of the cube (±Inf included): clamped first.
      for (const auto& [x, y, z] : {std::array{-3.0f, 0.2f, 0.7f}, std::array{1.5f, 2.0f, -1.0f},
                                    std::array{kInf, -kInf, kInf}, std::array{0.3f, -0.01f, 1.01f},
                                    std::array{-0.0f, 0.4f, 1e30f}}) {
        const auto r = c.decode(x, y, z);
        const auto rc = c.decode(std::clamp(x, 0.0f, 1.0f), std::clamp(y, 0.0f, 1.0f), std::clamp(z, 0.0f, 1.0f));
        EXPECT_EQ(r.t, rc.t);
        EXPECT_EQ(r.distance, rc.distance);
        const auto b = c.decode_reference(x, y, z);
        EXPECT_EQ(r.t, b.t);
        EXPECT_EQ(r.distance, b.distance);
        EXPECT_GE(r.t, -1.0f);
        EXPECT_LE(r.t, 1.0f);
      }
      // Start and end of the curve.
      const auto a = c.vertex(0), e = c.vertex(c.vertex_count() - 1);
      EXPECT_EQ(c.decode(static_cast<float>(a[0]), static_cast<float>(a[1]), static_cast<float>(a[2])).t, -1.0f);
      EXPECT_EQ(c.decode(static_cast<float>(e[0]), static_cast<float>(e[1]), static_cast<float>(e[2])).t, 1.0f);
      // The 8 corners of the unit cube: the nearest point is the corner lattice vertex V_d (at distance
      // 0 for full_range, sqrt(3)/2 lattice units in cell_centre's margin, where segments d - 1 and d tie
      // at s = d); t = d / (M - 1).
      const std::uint32_t top = c.side() - 1;
      const double scale = layout == hilbert_layout::cell_centre ? c.side() : c.side() - 1.0;
      const double m1 = static_cast<double>(c.vertex_count() - 1);
      for (int corner = 0; corner < 8; ++corner) {
        const float x = static_cast<float>(corner & 1), y = static_cast<float>((corner >> 1) & 1),
                    z = static_cast<float>(corner >> 2);
        const std::uint32_t d = lowbit::hilbert3_index(o, (corner & 1) * top, ((corner >> 1) & 1) * top, (corner >> 2) * top);
        const auto r = c.decode(x, y, z), b = c.decode_reference(x, y, z);
        EXPECT_EQ(r.t, b.t);
        EXPECT_EQ(r.distance, b.distance);
        EXPECT_EQ(r.t, static_cast<float>(-1.0 + 2.0 * (d / m1))) << o << " corner " << corner;
        const double dist = layout == hilbert_layout::cell_centre ? std::sqrt(0.75) / scale : 0.0;
        EXPECT_EQ(r.distance, static_cast<float>(dist));
      }
    }
  }
  // Ties between branches go to the smallest t: order 1 full range, the centre of the cube is sqrt(1/2)
  // from all 7 segments (cube edges), nearest at their midpoints; the smallest s is 0.5 on segment 0.
  const hilbert3_curve c1(1, hilbert_layout::full_range);
  const auto r = c1.decode(0.5f, 0.5f, 0.5f);
  EXPECT_EQ(r.t, static_cast<float>(0.5 / 7.0));
  EXPECT_EQ(r.distance, static_cast<float>(std::sqrt(0.5)));
  EXPECT_EQ(r.t, c1.decode_reference(0.5f, 0.5f, 0.5f).t);
  // The centre of the face z = 1, (0.5, 0.5, 1): nearest are the two curve edges in that face, segment 1
  // ((0,0,1) -> (0,1,1)) and segment 5 ((1,1,1) -> (1,0,1)), at distance 1/2; s = 1.5 beats s = 5.5.
  const auto f = c1.decode(0.5f, 0.5f, 1.0f);
  EXPECT_EQ(f.t, static_cast<float>(1.5 / 7.0));
  EXPECT_EQ(f.distance, 0.5f);
  // Margin of cell_centre: a point between the lattice hull and the cube face decodes as its projection
  // onto the hull, plus the perpendicular offset in the distance.
  const hilbert3_curve c2(2, hilbert_layout::cell_centre);
  const auto inside = c2.decode(0.125f, 0.3f, 0.125f), margin = c2.decode(0.0f, 0.3f, 0.125f);
  EXPECT_EQ(margin.t, inside.t);
  EXPECT_NEAR(margin.distance, std::hypot(inside.distance, 0.125f), 1e-7);
}

// ----------------------------------------------------------------------------------------------------
// Decoder == brute force

// The points of the brute-force comparison: mostly uniform in a margin around the cube; one in 8 with
// x on a half-lattice plane, one in 8 on a half-lattice line (x, y), one in 8 on a half-lattice point
// (where branches tie), one in 8 on a cube face or in cell_centre's half-cell margin.
std::vector<std::array<float, 3>> test_points(const hilbert3_curve& c, std::size_t count, std::uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> uni(-0.02f, 1.02f), unit(0.0f, 1.0f);
  const double n = static_cast<double>(c.side());
  const double g = c.layout() == hilbert_layout::cell_centre ? n : n - 1.0;
  const double off = c.layout() == hilbert_layout::cell_centre ? 0.5 : 0.0;
  std::uniform_int_distribution<int> half(0, 2 * static_cast<int>(n) - 2), side(0, 1);
  const auto on_half = [&] { return static_cast<float>((half(rng) * 0.5 + off) / g); };
  std::vector<std::array<float, 3>> pts;
  pts.reserve(count);
  for (std::size_t k = 0; k < count; ++k) {
    std::array<float, 3> p{uni(rng), uni(rng), uni(rng)};
    switch (k % 8) {
      case 1: p[0] = on_half(); break;
      case 2:
        p[0] = on_half();
        p[1] = on_half();
        break;
      case 3: p = {on_half(), on_half(), on_half()}; break;
      case 4:  // a face (exactly 0 or 1) or the margin (within half a cell of it)
        p[k / 8 % 3] = side(rng) ? static_cast<float>(unit(rng) * 0.5 / n) : 1.0f - static_cast<float>(unit(rng) * 0.5 / n);
        p[(k / 8 + 1) % 3] = static_cast<float>(side(rng));
        break;
      default: break;
    }
    pts.push_back(p);
  }
  return pts;
}

// The segments for the scan: per segment e, 8 doubles (lattice coordinates): the bounding box
// lo x, hi x, lo y, hi y, lo z, hi z, then e, then 0; and the start vertices V_e.
struct segment_table {
  std::size_t count = 0;
  std::vector<double> box;
  std::vector<std::array<double, 3>> start;
};

segment_table make_segments(int order) {
  const std::size_t m = std::size_t{1} << (3 * order);
  segment_table t;
  t.count = m - 1;
  t.box.resize(8 * t.count);
  t.start.resize(t.count);
  auto p = lowbit::hilbert3_cell(order, 0);
  for (std::size_t e = 0; e + 1 < m; ++e) {
    const auto q = lowbit::hilbert3_cell(order, static_cast<std::uint32_t>(e + 1));
    for (int a = 0; a < 3; ++a) {
      t.box[8 * e + 2 * a] = std::min(p[a], q[a]);
      t.box[8 * e + 2 * a + 1] = std::max(p[a], q[a]);
      t.start[e][a] = p[a];
    }
    t.box[8 * e + 6] = static_cast<double>(e);
    t.box[8 * e + 7] = 0.0;
    p = q;
  }
  return t;
}

// The scan over every segment for points in structure-of-arrays form: best[p] = the least distance^2
// (the clamp of the point into the segment's box, squares summed as (dx^2 + dy^2) + dz^2 as documented),
// bk[p] = the first segment that reaches it (strictly smaller distance^2 replaces). The SIMD versions
// keep a group of points in registers over all segments; min/max give the clamp's values (no NaN; a
// signed zero only changes the sign of a zero difference). They rely on -ffp-contract=off (set for
// every lowbit target): a fused multiply-add would change the bits.
void scan_scalar(const segment_table& t, std::size_t padded, const double* const* uvw, double* best, double* bk) {
  for (std::size_t p = 0; p < padded; ++p) {
    double b = std::numeric_limits<double>::infinity(), k = 0.0;
    for (std::size_t e = 0; e < t.count; ++e) {
      const double* s = &t.box[8 * e];
      const double dx = uvw[0][p] - std::clamp(uvw[0][p], s[0], s[1]);
      const double dy = uvw[1][p] - std::clamp(uvw[1][p], s[2], s[3]);
      const double dz = uvw[2][p] - std::clamp(uvw[2][p], s[4], s[5]);
      const double d2 = dx * dx + dy * dy + dz * dz;
      if (d2 < b) {
        b = d2;
        k = s[6];
      }
    }
    best[p] = b;
    bk[p] = k;
  }
}

#if defined(LOWBIT_TEST_X86)
constexpr std::size_t kScanGroup = 24;  // points per pass over the segments (a multiple of 8)

__attribute__((target("avx512f"))) void scan_avx512(const segment_table& t, std::size_t padded, const double* const* uvw,
                                                    double* best, double* bk) {
  constexpr int G = kScanGroup / 8;
  for (std::size_t p = 0; p < padded; p += kScanGroup) {
    __m512d u[G], v[G], w[G], b[G], k[G];
    for (int g = 0; g < G; ++g) {
      u[g] = _mm512_loadu_pd(uvw[0] + p + 8 * g);
      v[g] = _mm512_loadu_pd(uvw[1] + p + 8 * g);
      w[g] = _mm512_loadu_pd(uvw[2] + p + 8 * g);
      b[g] = _mm512_set1_pd(std::numeric_limits<double>::infinity());
      k[g] = _mm512_setzero_pd();
    }
    for (std::size_t e = 0; e < t.count; ++e) {
      const double* s = &t.box[8 * e];
      const __m512d x0 = _mm512_set1_pd(s[0]), x1 = _mm512_set1_pd(s[1]), y0 = _mm512_set1_pd(s[2]),
                    y1 = _mm512_set1_pd(s[3]), z0 = _mm512_set1_pd(s[4]), z1 = _mm512_set1_pd(s[5]),
                    ke = _mm512_set1_pd(s[6]);
      // clamp(p, lo, hi) = min(max(p, lo), hi); the zero-masked forms with a full mask are plain max / min
      // (GCC 12's unmasked _mm512_max_pd reads an undefined source and warns).
      constexpr __mmask8 all = 0xFF;
      for (int g = 0; g < G; ++g) {
        const __m512d dx = _mm512_sub_pd(u[g], _mm512_maskz_min_pd(all, _mm512_maskz_max_pd(all, u[g], x0), x1));
        const __m512d dy = _mm512_sub_pd(v[g], _mm512_maskz_min_pd(all, _mm512_maskz_max_pd(all, v[g], y0), y1));
        const __m512d dz = _mm512_sub_pd(w[g], _mm512_maskz_min_pd(all, _mm512_maskz_max_pd(all, w[g], z0), z1));
        const __m512d d2 =
            _mm512_add_pd(_mm512_add_pd(_mm512_mul_pd(dx, dx), _mm512_mul_pd(dy, dy)), _mm512_mul_pd(dz, dz));
        const __mmask8 less = _mm512_cmp_pd_mask(d2, b[g], _CMP_LT_OQ);
        b[g] = _mm512_mask_blend_pd(less, b[g], d2);
        k[g] = _mm512_mask_blend_pd(less, k[g], ke);
      }
    }
    for (int g = 0; g < G; ++g) {
      _mm512_storeu_pd(best + p + 8 * g, b[g]);
      _mm512_storeu_pd(bk + p + 8 * g, k[g]);
    }
  }
}

__attribute__((target("avx2"))) void scan_avx2(const segment_table& t, std::size_t padded, const double* const* uvw,
                                               double* best, double* bk) {
  constexpr int G = 2;  // 8 points: 10 registers of state, 7 of segment data
  for (std::size_t p = 0; p < padded; p += 4 * G) {
    __m256d u[G], v[G], w[G], b[G], k[G];
    for (int g = 0; g < G; ++g) {
      u[g] = _mm256_loadu_pd(uvw[0] + p + 4 * g);
      v[g] = _mm256_loadu_pd(uvw[1] + p + 4 * g);
      w[g] = _mm256_loadu_pd(uvw[2] + p + 4 * g);
      b[g] = _mm256_set1_pd(std::numeric_limits<double>::infinity());
      k[g] = _mm256_setzero_pd();
    }
    for (std::size_t e = 0; e < t.count; ++e) {
      const double* s = &t.box[8 * e];
      const __m256d x0 = _mm256_broadcast_sd(s), x1 = _mm256_broadcast_sd(s + 1), y0 = _mm256_broadcast_sd(s + 2),
                    y1 = _mm256_broadcast_sd(s + 3), z0 = _mm256_broadcast_sd(s + 4), z1 = _mm256_broadcast_sd(s + 5),
                    ke = _mm256_broadcast_sd(s + 6);
      for (int g = 0; g < G; ++g) {
        const __m256d dx = _mm256_sub_pd(u[g], _mm256_min_pd(_mm256_max_pd(u[g], x0), x1));
        const __m256d dy = _mm256_sub_pd(v[g], _mm256_min_pd(_mm256_max_pd(v[g], y0), y1));
        const __m256d dz = _mm256_sub_pd(w[g], _mm256_min_pd(_mm256_max_pd(w[g], z0), z1));
        const __m256d d2 =
            _mm256_add_pd(_mm256_add_pd(_mm256_mul_pd(dx, dx), _mm256_mul_pd(dy, dy)), _mm256_mul_pd(dz, dz));
        const __m256d less = _mm256_cmp_pd(d2, b[g], _CMP_LT_OQ);
        b[g] = _mm256_blendv_pd(b[g], d2, less);
        k[g] = _mm256_blendv_pd(k[g], ke, less);
      }
    }
    for (int g = 0; g < G; ++g) {
      _mm256_storeu_pd(best + p + 4 * g, b[g]);
      _mm256_storeu_pd(bk + p + 4 * g, k[g]);
    }
  }
}
#else
constexpr std::size_t kScanGroup = 1;
#endif

const char* scan_name() {
#if defined(LOWBIT_TEST_X86)
  if (__builtin_cpu_supports("avx512f")) return "avx512";
  if (__builtin_cpu_supports("avx2")) return "avx2";
#endif
  return "scalar";
}

// Brute force over every segment with the documented numerics: u = clamp(x, 0, 1) N - 1/2 (cell_centre)
// or clamp(x, 0, 1) (N - 1) (full_range); the first segment with the least distance^2 wins (= the
// smallest arc length); s = e + distance of the clamped point from V_e; t = s / (M - 1), distance =
// sqrt(d^2) / scale.
void brute_force_block(const hilbert3_curve& c, const segment_table& t, const std::array<float, 3>* pts,
                       std::size_t count, std::vector<hilbert_decoded>& out) {
  const bool cell = c.layout() == hilbert_layout::cell_centre;
  const double n = static_cast<double>(c.side());
  const double scale = cell ? n : n - 1.0, offset = cell ? -0.5 : 0.0;
  const std::size_t padded = (count + kScanGroup - 1) / kScanGroup * kScanGroup;
  std::vector<double> coord[3], best(padded), bk(padded);
  for (int a = 0; a < 3; ++a) {
    coord[a].resize(padded);
    for (std::size_t p = 0; p < padded; ++p) {
      coord[a][p] = std::clamp<double>(pts[std::min(p, count - 1)][a], 0.0, 1.0) * scale + offset;
    }
  }
  const double* uvw[3] = {coord[0].data(), coord[1].data(), coord[2].data()};
  const std::string scan = scan_name();
#if defined(LOWBIT_TEST_X86)
  if (scan == "avx512") {
    scan_avx512(t, padded, uvw, best.data(), bk.data());
  } else if (scan == "avx2") {
    scan_avx2(t, padded, uvw, best.data(), bk.data());
  } else {
    scan_scalar(t, padded, uvw, best.data(), bk.data());
  }
#else
  scan_scalar(t, padded, uvw, best.data(), bk.data());
#endif
  const double segments = static_cast<double>(t.count);
  out.resize(count);
  for (std::size_t p = 0; p < count; ++p) {
    const auto e = static_cast<std::size_t>(bk[p]);
    double s = bk[p];
    for (int a = 0; a < 3; ++a) {
      s += std::abs(std::clamp(uvw[a][p], t.box[8 * e + 2 * a], t.box[8 * e + 2 * a + 1]) - t.start[e][a]);
    }
    out[p] = {static_cast<float>(std::clamp(s / segments, 0.0, 1.0)), static_cast<float>(std::sqrt(best[p]) / scale)};
  }
}

class Hilbert3BruteForce : public ::testing::TestWithParam<int> {};

TEST_P(Hilbert3BruteForce, DecoderEqualsBruteForce) {
  const int o = GetParam();
  const auto start = std::chrono::steady_clock::now();
  const segment_table segs = make_segments(o);
  const std::size_t m = std::size_t{1} << (3 * o);
  std::size_t total = 0, referenced = 0;
  for (const hilbert_layout layout : kLayouts) {
    const hilbert3_curve c(o, layout);
    const auto pts = test_points(c, brute_force_count(o), 3000u + static_cast<std::uint32_t>(o) +
                                                              (layout == hilbert_layout::full_range ? 100u : 0u));
    std::size_t mismatches = 0;
    std::vector<hilbert_decoded> ref;
    constexpr std::size_t kBlock = 4800;
    for (std::size_t first = 0; first < pts.size(); first += kBlock) {
      const std::size_t count = std::min(kBlock, pts.size() - first);
      brute_force_block(c, segs, pts.data() + first, count, ref);
      for (std::size_t p = 0; p < count; ++p) {
        const auto [x, y, z] = pts[first + p];
        const auto a = c.decode(x, y, z);
        if (a.t != ref[p].t || a.distance != ref[p].distance) {
          if (++mismatches <= 5) {
            ADD_FAILURE() << "order " << o << " " << lowbit::to_string(layout) << " (" << x << ", " << y << ", "
                          << z << "): decode " << a.t << " / " << a.distance << ", brute force " << ref[p].t
                          << " / " << ref[p].distance;
          }
        }
      }
    }
    EXPECT_EQ(mismatches, 0u);
    total += pts.size();
    // The library's own oracle (decode_reference) returns the same bits, on fewer points (about 10^7
    // segment evaluations per layout: every point for order 1).
    const std::size_t ref_points = std::max<std::size_t>(std::min(pts.size(), 10000000 / lowbit::test::kSlowBuildDivisor / m), 8);
    const std::size_t stride = std::max<std::size_t>(1, pts.size() / ref_points);
    for (std::size_t p = 0; p < pts.size(); p += stride) {
      const auto [x, y, z] = pts[p];
      const auto a = c.decode(x, y, z), b = c.decode_reference(x, y, z);
      ASSERT_EQ(a.t, b.t) << o << " (" << x << ", " << y << ", " << z << ")";
      ASSERT_EQ(a.distance, b.distance);
      ++referenced;
    }
    RecordProperty("points_" + std::string(lowbit::to_string(layout)), static_cast<int>(pts.size()));
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("order %d: decode == brute force (%s scan) on %zu points, == decode_reference on %zu (both layouts), %.2f s\n",
              o, scan_name(), total, referenced, seconds);
}

INSTANTIATE_TEST_SUITE_P(Orders, Hilbert3BruteForce, ::testing::Range(1, 7));

// An independent oracle (its own curve walk through hilbert3_cell, generic point-segment projection in
// unit-cube coordinates): the same t unless two branches tie (equal distance within rounding).
TEST(Hilbert3Curve, IndependentOracle) {
  for (int o = 1; o <= 4; ++o) {
    for (const hilbert_layout layout : kLayouts) {
      const hilbert3_curve c(o, layout);
      const std::size_t m = c.vertex_count();
      const double n = static_cast<double>(c.side());
      std::vector<std::array<double, 3>> v(m);
      for (std::size_t d = 0; d < m; ++d) {
        const auto ijk = lowbit::hilbert3_cell(o, static_cast<std::uint32_t>(d));
        for (int a = 0; a < 3; ++a) v[d][a] = layout == hilbert_layout::cell_centre ? (ijk[a] + 0.5) / n : ijk[a] / (n - 1.0);
      }
      const std::size_t count = o <= 3 ? 2000 : 400;
      for (const auto& [x, y, z] : test_points(c, count, 77u + static_cast<std::uint32_t>(o))) {
        const double pt[3] = {std::clamp<double>(x, 0.0, 1.0), std::clamp<double>(y, 0.0, 1.0),
                              std::clamp<double>(z, 0.0, 1.0)};
        std::vector<std::pair<double, double>> cand(m - 1);  // (distance, t) of every segment
        double best = 1e300;
        for (std::size_t k = 0; k + 1 < m; ++k) {
          double e[3], len2 = 0.0, dot = 0.0;
          for (int a = 0; a < 3; ++a) {
            e[a] = v[k + 1][a] - v[k][a];
            len2 += e[a] * e[a];
            dot += (pt[a] - v[k][a]) * e[a];
          }
          const double f = std::clamp(dot / len2, 0.0, 1.0);
          double d2 = 0.0;
          for (int a = 0; a < 3; ++a) d2 += (pt[a] - v[k][a] - f * e[a]) * (pt[a] - v[k][a] - f * e[a]);
          cand[k] = {std::sqrt(d2), (static_cast<double>(k) + f) / static_cast<double>(m - 1)};
          best = std::min(best, cand[k].first);
        }
        const auto r = c.decode(x, y, z);
        EXPECT_NEAR(r.distance, best, 1e-7);
        bool found = false;
        for (const auto& [d, t] : cand) found = found || (d <= best + 1e-9 && std::abs(t - r.t) <= 1e-6);
        EXPECT_TRUE(found) << o << " (" << x << ", " << y << ", " << z << "): " << r.t;
      }
    }
  }
}

// ----------------------------------------------------------------------------------------------------
// The quantizer

static_assert(lowbit::quantizer<lowbit::hilbert3_quantizer<std::int8_t>>);
static_assert(lowbit::quantizer<lowbit::hilbert3_quantizer<std::uint16_t>>);
static_assert(lowbit::hilbert3_quantizer<std::uint8_t>::codes_per_value() == 3);

TEST(Hilbert3Quantizer, Validation) {
  using q8 = lowbit::hilbert3_quantizer<std::uint8_t>;
  const hilbert3_curve c(2, hilbert_layout::full_range);
  const auto u8 = lowbit::hilbert_params(lowbit::code_format::uint8());
  const auto u4 = lowbit::hilbert_params(lowbit::code_format::uint4());
  EXPECT_EQ(error_of([&] { lowbit::hilbert3_quantizer<std::int8_t>(c, u8); }, "hilbert3_quantizer"), errc::type_mismatch);
  EXPECT_EQ(error_of([&] { q8(c, lowbit::hilbert_params({10, false, false})); }), errc::type_mismatch);
  EXPECT_EQ(error_of([&] { q8(c, u8, u4, u8); }, "code format"), errc::invalid_argument);
  EXPECT_EQ(error_of([&] { q8(c, u8, u8, u4); }, "code format"), errc::invalid_argument);
  EXPECT_EQ(error_of([&] { q8(c, u4, u8, u8); }, "code format"), errc::invalid_argument);
  EXPECT_EQ(error_of([&] { q8(c, u8, u8, lowbit::hilbert_params(lowbit::code_format::uint8(true))); }),
            errc::invalid_argument);
  const std::int64_t shape[] = {3};
  const float scales[] = {0.1f, 0.1f, 0.1f};
  const auto pc = lowbit::quant_params::per_channel(lowbit::code_format::uint8(), shape, 0, scales);
  EXPECT_EQ(error_of([&] { q8(c, pc); }, "per_tensor"), errc::invalid_argument);
  EXPECT_EQ(error_of([&] { q8(c, u8, u8, pc); }, "per_tensor"), errc::invalid_argument);
  const q8 q(c, u8);
  std::vector<float> v(3), d(2);
  std::vector<std::uint8_t> codes(8);
  EXPECT_EQ(error_of([&] { q.encode(v, codes); }, "9 channel values, 8 given"), errc::size_mismatch);
  EXPECT_EQ(error_of([&] { q.decode(codes, v); }), errc::size_mismatch);
  codes.resize(9);
  EXPECT_EQ(error_of([&] { q.decode(codes, v, d); }, "2 distances"), errc::size_mismatch);
  EXPECT_EQ(error_of([&] { q.decode_map(codes, 2, hilbert_map_layout::planar, v); }, "2 images"), errc::invalid_shape);
  EXPECT_EQ(error_of([&] { q.encode_map(v, 0, hilbert_map_layout::interleaved, codes); }), errc::invalid_shape);
}

// Encode = the curve point quantized by lowbit::quantize; decode = the exact decoder on the dequantized
// triple; the table (widths <= 6) = the exact decoder on every code triple; codes beyond a narrow range
// are clamped.
template <class Code>
void check_quantizer(const hilbert3_curve& c, lowbit::code_format f, lowbit::profile prof) {
  SCOPED_TRACE(::testing::Message() << "order " << c.order() << " " << lowbit::to_string(c.layout()) << " bits "
                                    << f.bits << (f.is_signed ? " signed" : " unsigned") << (f.narrow ? " narrow" : ""));
  const auto p = lowbit::hilbert_params(f, prof);
  const lowbit::hilbert3_quantizer<Code> q(c, p);
  EXPECT_EQ(q.bits(), f.bits);
  EXPECT_EQ(q.codes_per_value(), 3u);
  std::mt19937 rng(static_cast<std::uint32_t>(f.bits * 31 + c.order()));
  std::uniform_real_distribution<float> dist(static_cast<float>(c.lo()) - 0.1f, static_cast<float>(c.hi()) + 0.1f);
  std::vector<float> t(3000);
  for (float& v : t) v = dist(rng);
  t[0] = std::nanf("");
  t[1] = kInf;
  t[2] = -kInf;
  std::vector<Code> codes(3 * t.size());
  q.encode(t, codes);
  std::vector<float> xyz(3 * t.size());
  c.encode(t, xyz);
  std::vector<Code> expect(xyz.size());
  lowbit::quantize<Code>(xyz, p, expect);
  EXPECT_EQ(codes, expect);
  for (int a = 0; a < 3; ++a) EXPECT_EQ(codes[a], static_cast<Code>(p.zero_points()[0]));  // NaN -> zero point
  std::vector<float> out(t.size()), dst(t.size());
  q.decode(codes, out, dst);
  std::vector<float> deq(xyz.size());
  lowbit::dequantize<Code>(codes, p, deq);
  for (std::size_t i = 0; i < t.size(); ++i) {
    const auto r = c.decode(deq[3 * i], deq[3 * i + 1], deq[3 * i + 2]);
    ASSERT_EQ(out[i], r.t) << i;
    ASSERT_EQ(dst[i], r.distance) << i;
  }
  if (f.bits <= lowbit::hilbert3_quantizer<Code>::max_table_bits) {
    ASSERT_EQ(q.table().size(), std::size_t{1} << (3 * f.bits));
    ASSERT_EQ(q.distance_table().size(), q.table().size());
    const lowbit::ref::run_params rp = lowbit::ref::run_params_of(p);
    const auto deq1 = [&](std::int32_t code) {
      return lowbit::ref::dequantize_value(static_cast<float>(code), rp.scale, rp.zero_point);
    };
    std::size_t checked = 0;
    for (std::int32_t cx = f.qmin(); cx <= f.qmax(); ++cx) {
      for (std::int32_t cy = f.qmin(); cy <= f.qmax(); ++cy) {
        for (std::int32_t cz = f.qmin(); cz <= f.qmax(); ++cz) {
          const auto r = c.decode(deq1(cx), deq1(cy), deq1(cz));
          const auto d = q.decode_triple(static_cast<Code>(cx), static_cast<Code>(cy), static_cast<Code>(cz));
          ASSERT_EQ(d.t, r.t) << cx << " " << cy << " " << cz;
          ASSERT_EQ(d.distance, r.distance) << cx << " " << cy << " " << cz;
          ++checked;
        }
      }
    }
    const std::size_t span = static_cast<std::size_t>(f.qmax() - f.qmin() + 1);
    EXPECT_EQ(checked, span * span * span);  // every triple
  } else {
    EXPECT_TRUE(q.table().empty());
    EXPECT_TRUE(q.distance_table().empty());
  }
  if (f.narrow) {  // a code below qmin is clamped to qmin
    const auto below = static_cast<Code>(f.qmin() - 1), lowest = static_cast<Code>(f.qmin());
    const auto a = q.decode_triple(below, below, below), b = q.decode_triple(lowest, lowest, lowest);
    EXPECT_EQ(a.t, b.t);
    EXPECT_EQ(a.distance, b.distance);
  }
  if (f.bits < static_cast<int>(8 * sizeof(Code)) && !f.is_signed) {  // codes above qmax are clamped to qmax
    const auto above = static_cast<Code>(f.qmax() + 1), top = static_cast<Code>(f.qmax());
    EXPECT_EQ(q.decode_triple(above, 0, above).t, q.decode_triple(top, 0, top).t);
    const Code block[3] = {above, 0, above};
    float v = 0.0f;
    q.decode(block, std::span<float>(&v, 1));
    EXPECT_EQ(v, q.decode_triple(top, 0, top).t);
  }
}

TEST(Hilbert3Quantizer, EncodeDecodeMatchesParts) {
  const hilbert3_curve c2(2, hilbert_layout::full_range), c3(3, hilbert_layout::cell_centre, -2.0, 5.0);
  for (const hilbert3_curve* c : {&c2, &c3}) {
    check_quantizer<std::uint8_t>(*c, lowbit::code_format::uint8(), lowbit::profile::onnx);
    check_quantizer<std::int8_t>(*c, lowbit::code_format::int8(true), lowbit::profile::tflite);
    check_quantizer<std::uint8_t>(*c, lowbit::code_format::uint4(), lowbit::profile::pytorch);
    check_quantizer<std::int8_t>(*c, lowbit::code_format::int4(true), lowbit::profile::onnx);
    check_quantizer<std::int8_t>(*c, {2, true, false}, lowbit::profile::onnx);
    check_quantizer<std::uint16_t>(*c, {12, false, false}, lowbit::profile::onnx);
    check_quantizer<std::int16_t>(*c, lowbit::code_format::int16(), lowbit::profile::onnx);
  }
  // 6 bits: the widest table (262,144 entries), every triple once; other curves on a sample below.
  check_quantizer<std::uint8_t>(c3, {6, false, false}, lowbit::profile::onnx);
  check_quantizer<std::int8_t>(hilbert3_curve(1, hilbert_layout::full_range), {5, true, true}, lowbit::profile::tflite);
}

// The 6-bit table of a high-order curve against the brute-force oracle, on a sample of triples.
TEST(Hilbert3Quantizer, SixBitTableMatchesBruteForce) {
  const hilbert3_curve c(4, hilbert_layout::full_range, 10.0, 20.0);
  const auto p = lowbit::hilbert_params({6, true, false});
  const lowbit::hilbert3_quantizer<std::int8_t> q(c, p);
  ASSERT_EQ(q.table().size(), 262144u);
  const lowbit::ref::run_params rp = lowbit::ref::run_params_of(p);
  std::mt19937 rng(66);
  std::uniform_int_distribution<int> code(-32, 31);
  for (int k = 0; k < static_cast<int>(lowbit::test::scaled(3000)) + 20; ++k) {
    const int cx = code(rng), cy = code(rng), cz = code(rng);
    const auto deq = [&](int v) { return lowbit::ref::dequantize_value(static_cast<float>(v), rp.scale, rp.zero_point); };
    const auto r = c.decode_reference(deq(cx), deq(cy), deq(cz));
    const auto d = q.decode_triple(static_cast<std::int8_t>(cx), static_cast<std::int8_t>(cy), static_cast<std::int8_t>(cz));
    ASSERT_EQ(d.t, r.t) << cx << " " << cy << " " << cz;
    ASSERT_EQ(d.distance, r.distance);
  }
}

// Separate x, y and z parameters: decode uses each channel's own, in both paths.
TEST(Hilbert3Quantizer, SeparateChannelParams) {
  const hilbert3_curve c(2, hilbert_layout::full_range);
  for (const int bits : {4, 8}) {
    const lowbit::code_format f{bits, false, false};
    const auto px = lowbit::quant_params::per_tensor(f, 1.0f / 13.0f, 1);
    const auto py = lowbit::quant_params::per_tensor(f, 1.0f / 14.0f, 0);
    const auto pz = lowbit::quant_params::per_tensor(f, 1.0f / 12.0f, 2, lowbit::profile::tflite);
    const lowbit::hilbert3_quantizer<std::uint8_t> q(c, px, py, pz);
    EXPECT_EQ(q.x_params().scales()[0], 1.0f / 13.0f);
    EXPECT_EQ(q.z_params().zero_points()[0], 2);
    const std::uint8_t codes[] = {9, 4, 11};
    float t = 0.0f;
    q.decode(codes, std::span<float>(&t, 1));
    EXPECT_EQ(t, c.decode((9 - 1) * (1.0f / 13.0f), (4 - 0) * (1.0f / 14.0f), (11 - 2) * (1.0f / 12.0f)).t);
    // encode quantizes each channel with its own parameters (and profile).
    const std::vector<float> values = {0.37f, 0.81f};
    std::vector<std::uint8_t> enc(6);
    q.encode(values, enc);
    for (std::size_t i = 0; i < values.size(); ++i) {
      const auto pt = c.encode(values[i]);
      const float xyz[3] = {pt.x, pt.y, pt.z};
      const lowbit::quant_params* ps[3] = {&px, &py, &pz};
      for (int a = 0; a < 3; ++a) {
        std::uint8_t expect = 0;
        lowbit::quantize<std::uint8_t>(std::span<const float>(&xyz[a], 1), *ps[a], std::span<std::uint8_t>(&expect, 1));
        EXPECT_EQ(enc[3 * i + a], expect);
      }
    }
  }
}

// RMS error of direct 8-bit quantization of t over RMS of the 3-D head, no noise: within 3% of L.
double measured_gain(const hilbert3_curve& c) {
  const auto p = lowbit::hilbert_params(lowbit::code_format::uint8());
  const lowbit::hilbert3_quantizer<std::uint8_t> q(c, p);
  const lowbit::uniform_quantizer<std::uint8_t> direct(p);
  std::mt19937 rng(2405);
  std::uniform_real_distribution<float> dist(0.0f, 1.0f);
  std::vector<float> t(lowbit::test::scaled(400000));
  for (float& v : t) v = dist(rng);
  const auto eh = lowbit::measure_error(q, std::span<const float>(t));
  const auto ed = lowbit::measure_error(direct, std::span<const float>(t));
  return std::sqrt(ed.mse / eh.mse);
}

TEST(Hilbert3Quantizer, GainAt8BitsIsCurveLength) {
  const hilbert3_curve c2(2, hilbert_layout::cell_centre), f2(2, hilbert_layout::full_range);
  const double gc = measured_gain(c2), gf = measured_gain(f2);
  EXPECT_NEAR(gc / c2.length(), 1.0, 0.03) << gc;
  EXPECT_NEAR(gf / f2.length(), 1.0, 0.03) << gf;
  RecordProperty("gain_cell_centre_2", std::to_string(gc));
  RecordProperty("gain_full_range_2", std::to_string(gf));
  std::printf("measured gain at 8 bits: order 2 cell_centre %.4f (L = 15.75), order 2 full_range %.4f (L = 21)\n",
              gc, gf);
}

// ----------------------------------------------------------------------------------------------------
// Maps

TEST(Hilbert3Maps, PlanarAndInterleavedAgree) {
  const hilbert3_curve c(3, hilbert_layout::full_range, 0.5, 80.0);
  const std::size_t batch = 3, pixels = 7 * 5;
  std::mt19937 rng(9);
  std::uniform_real_distribution<float> dist(0.0f, 90.0f);
  std::vector<float> depth(batch * pixels);
  for (float& v : depth) v = dist(rng);
  depth[4] = std::nanf("");
  depth[40] = kInf;
  std::vector<float> planar(3 * depth.size()), inter(3 * depth.size());
  lowbit::make_training_target(c, depth, batch, hilbert_map_layout::planar, planar);
  lowbit::make_training_target(c, depth, batch, hilbert_map_layout::interleaved, inter);
  for (std::size_t b = 0; b < batch; ++b) {
    for (std::size_t p = 0; p < pixels; ++p) {
      const auto e = c.encode(depth[b * pixels + p]);
      const float ev[3] = {e.x, e.y, e.z};
      for (std::size_t a = 0; a < 3; ++a) {
        const float pl = planar[3 * b * pixels + a * pixels + p], il = inter[3 * (b * pixels + p) + a];
        if (std::isnan(ev[a])) {
          EXPECT_TRUE(std::isnan(pl) && std::isnan(il));
          continue;
        }
        ASSERT_EQ(pl, ev[a]);
        ASSERT_EQ(il, ev[a]);
      }
    }
  }
  // float decode of both layouts
  std::vector<float> t1(depth.size()), t2(depth.size()), d1(depth.size()), d2(depth.size());
  c.decode_map(planar, batch, hilbert_map_layout::planar, t1, d1);
  c.decode_map(inter, batch, hilbert_map_layout::interleaved, t2);
  c.decode(inter, t2, d2);
  for (std::size_t i = 0; i < depth.size(); ++i) {
    if (std::isnan(depth[i])) {
      EXPECT_TRUE(std::isnan(t1[i]) && std::isnan(t2[i]) && std::isnan(d1[i]));
      continue;
    }
    EXPECT_EQ(t1[i], t2[i]);
    EXPECT_EQ(d1[i], d2[i]);
    EXPECT_NEAR(t1[i], std::clamp(depth[i], 0.5f, 80.0f), 1e-4f);
    EXPECT_LE(d1[i], 1e-6f);
  }
  // integer codes, table (4 and 6 bits) and exact (8 and 12 bits) paths: encode_map / decode_map in
  // both layouts = per-triple decode
  for (const auto f : {lowbit::code_format::uint4(), lowbit::code_format{6, false, false},
                       lowbit::code_format::uint8(), lowbit::code_format{12, false, false}}) {
    const lowbit::hilbert3_quantizer<std::uint16_t> q(c, lowbit::hilbert_params(f));
    std::vector<std::uint16_t> cp(3 * depth.size()), ci(3 * depth.size());
    q.encode_map(depth, batch, hilbert_map_layout::planar, cp);
    q.encode_map(depth, batch, hilbert_map_layout::interleaved, ci);
    std::vector<float> tp(depth.size()), ti(depth.size()), dp(depth.size());
    q.decode_map(cp, batch, hilbert_map_layout::planar, tp, dp);
    q.decode_map(ci, batch, hilbert_map_layout::interleaved, ti);
    for (std::size_t b = 0; b < batch; ++b) {
      for (std::size_t p = 0; p < pixels; ++p) {
        const std::size_t i = b * pixels + p;
        for (std::size_t a = 0; a < 3; ++a) ASSERT_EQ(cp[3 * b * pixels + a * pixels + p], ci[3 * i + a]);
        const auto r = q.decode_triple(ci[3 * i], ci[3 * i + 1], ci[3 * i + 2]);
        ASSERT_EQ(tp[i], r.t);
        ASSERT_EQ(ti[i], r.t);
        ASSERT_EQ(dp[i], r.distance);
      }
    }
  }
}

TEST(Hilbert3Maps, SizesAndEmpty) {
  const hilbert3_curve c(2, hilbert_layout::cell_centre);
  std::vector<float> t(6), xyz(18), bad(17), d(5);
  EXPECT_EQ(error_of([&] { c.encode_map(t, 2, hilbert_map_layout::planar, bad); }, "18 channel values, 17 given"),
            errc::size_mismatch);
  EXPECT_EQ(error_of([&] { c.encode_map(t, 4, hilbert_map_layout::planar, xyz); }, "4 images"), errc::invalid_shape);
  EXPECT_EQ(error_of([&] { c.encode_map(t, 0, hilbert_map_layout::planar, xyz); }), errc::invalid_shape);
  EXPECT_EQ(error_of([&] { c.decode_map(xyz, 2, hilbert_map_layout::planar, t, d); }, "5 distances"),
            errc::size_mismatch);
  EXPECT_EQ(error_of([&] { c.decode_map(bad, 2, hilbert_map_layout::interleaved, t); }), errc::size_mismatch);
  EXPECT_EQ(error_of([&] { c.decode(bad, t); }), errc::size_mismatch);
  EXPECT_EQ(error_of([&] { c.encode(t, bad); }), errc::size_mismatch);
  EXPECT_EQ(error_of([&] { lowbit::make_training_target(c, t, 3, hilbert_map_layout::interleaved, bad); }),
            errc::size_mismatch);
  c.encode_map({}, 0, hilbert_map_layout::planar, {});
  c.decode({}, {});
  const lowbit::hilbert3_quantizer<std::uint8_t> q(c, lowbit::hilbert_params(lowbit::code_format::uint4()));
  q.decode(std::span<const std::uint8_t>(), std::span<float>());
  q.encode(std::span<const float>(), std::span<std::uint8_t>());
  // a guard element after the output is untouched
  std::vector<float> out(7, -7.0f), dist(7, -7.0f);
  std::vector<std::uint8_t> codes(18, 10);
  codes[6] = 3;   // planar, 2 images of 3 pixels: image 0's z plane starts at 6 (pixel 0)
  codes[13] = 1;  // image 1 starts at 9: its y plane at 12, pixel 1
  q.decode_map(codes, 2, hilbert_map_layout::planar, std::span<float>(out.data(), 6), std::span<float>(dist.data(), 6));
  EXPECT_EQ(out[6], -7.0f);
  EXPECT_EQ(dist[6], -7.0f);
  EXPECT_EQ(out[0], q.decode_triple(10, 10, 3).t);
  EXPECT_EQ(dist[0], q.decode_triple(10, 10, 3).distance);
  EXPECT_EQ(out[1], q.decode_triple(10, 10, 10).t);
  EXPECT_EQ(out[4], q.decode_triple(10, 1, 10).t);
  EXPECT_NE(out[0], out[1]);
  EXPECT_NE(out[4], out[1]);
}

// Threads: every thread count gives the same bits as one thread, on maps large enough to be split into
// several chunks (the float paths split from 2 x 16,384 values, the code-triple table from 2 x 262,144)
// with sizes that are not multiples of the chunk alignment, outputs at an odd element offset too; shapes
// are checked before any work starts.
constexpr unsigned kThreadCounts[] = {2, 3, 0, 64};

// The three channels of value i of a map with `pixels` values per image.
template <class T>
std::array<T, 3> channels_of(const std::vector<T>& map, hilbert_map_layout layout, std::size_t pixels, std::size_t i) {
  if (layout == hilbert_map_layout::interleaved) return {map[3 * i], map[3 * i + 1], map[3 * i + 2]};
  const std::size_t at = 3 * (i / pixels) * pixels + i % pixels;
  return {map[at], map[at + pixels], map[at + 2 * pixels]};
}

TEST(Hilbert3Maps, ThreadCountsGiveIdenticalFloatResults) {
  const hilbert3_curve c(3, hilbert_layout::full_range, 0.5, 80.0);
  const std::size_t batch = 3, pixels = 70001;  // 210,003 values: up to 12 workers of >= 16K values
  std::mt19937 rng(17);
  std::uniform_real_distribution<float> dist(0.0f, 90.0f);
  std::vector<float> depth(batch * pixels);
  for (float& v : depth) v = dist(rng);
  depth[12345] = std::nanf("");
  const std::size_t n = depth.size();
  for (const hilbert_map_layout layout : {hilbert_map_layout::planar, hilbert_map_layout::interleaved}) {
    std::vector<float> xyz1(3 * n);
    c.encode_map(depth, batch, layout, xyz1);
    // noisy copies of the targets to decode (off the curve: distances > 0)
    std::vector<float> noisy(xyz1);
    std::normal_distribution<float> noise(0.0f, 0.01f);
    for (float& v : noisy) v += noise(rng);
    std::vector<float> t1(n), d1(n);
    c.decode_map(noisy, batch, layout, t1, d1);
    for (std::size_t i = 0; i < n; i += 997) {
      const auto p = channels_of(noisy, layout, pixels, i);
      const auto r = c.decode(p[0], p[1], p[2]);
      ASSERT_EQ(t1[i], r.t) << i;
      ASSERT_EQ(d1[i], r.distance) << i;
    }
    for (const unsigned threads : kThreadCounts) {
      for (const std::size_t shift : {std::size_t{0}, std::size_t{1}}) {  // output at an odd element offset
        std::vector<float> xyz(3 * n + shift), t(n + shift), d(n + shift), t_only(n);
        c.encode_map(depth, batch, layout, std::span<float>(xyz.data() + shift, 3 * n), threads);
        ASSERT_EQ(std::memcmp(xyz.data() + shift, xyz1.data(), 3 * n * sizeof(float)), 0)
            << "encode, threads " << threads << ", shift " << shift;
        c.decode_map(noisy, batch, layout, std::span<float>(t.data() + shift, n), std::span<float>(d.data() + shift, n),
                     threads);
        c.decode_map(noisy, batch, layout, t_only, {}, threads);
        ASSERT_EQ(std::memcmp(t.data() + shift, t1.data(), n * sizeof(float)), 0) << "decode, threads " << threads;
        ASSERT_EQ(std::memcmp(d.data() + shift, d1.data(), n * sizeof(float)), 0) << "distance, threads " << threads;
        ASSERT_EQ(std::memcmp(t_only.data(), t1.data(), n * sizeof(float)), 0) << "threads " << threads;
      }
    }
  }
}

template <class Code>
void check_quantizer_threads(const hilbert3_curve& c, lowbit::code_format f, std::size_t batch, std::size_t pixels) {
  const lowbit::hilbert3_quantizer<Code> q(c, lowbit::hilbert_params(f));
  ASSERT_EQ(q.table().empty(), f.bits > lowbit::hilbert3_quantizer<Code>::max_table_bits);
  std::mt19937 rng(static_cast<std::uint32_t>(f.bits));
  std::uniform_real_distribution<float> dist(static_cast<float>(c.lo()) - 0.5f, static_cast<float>(c.hi()) + 0.5f);
  std::vector<float> depth(batch * pixels);
  for (float& v : depth) v = dist(rng);
  const std::size_t n = depth.size();
  for (const hilbert_map_layout layout : {hilbert_map_layout::planar, hilbert_map_layout::interleaved}) {
    std::vector<Code> encoded1(3 * n);
    q.encode_map(depth, batch, layout, encoded1);
    // perturb some codes (decoding off the curve; some out of range for the storage type's wider codes)
    std::vector<Code> codes1(encoded1);
    for (std::size_t i = 0; i < codes1.size(); i += 7) codes1[i] = static_cast<Code>(codes1[i] ^ 3);
    std::vector<float> t1(n), d1(n);
    q.decode_map(codes1, batch, layout, t1, d1);
    for (std::size_t i = 0; i < n; i += 1009) {
      const auto cc = channels_of(codes1, layout, pixels, i);
      const auto r = q.decode_triple(cc[0], cc[1], cc[2]);
      ASSERT_EQ(t1[i], r.t) << i;
      ASSERT_EQ(d1[i], r.distance) << i;
    }
    for (const unsigned threads : kThreadCounts) {
      std::vector<Code> codes(3 * n);
      q.encode_map(depth, batch, layout, codes, threads);
      ASSERT_EQ(codes, encoded1) << "encode, threads " << threads;
      std::vector<float> t(n), d(n);
      q.decode_map(codes1, batch, layout, t, d, threads);
      ASSERT_EQ(std::memcmp(t.data(), t1.data(), n * sizeof(float)), 0) << "decode, threads " << threads;
      ASSERT_EQ(std::memcmp(d.data(), d1.data(), n * sizeof(float)), 0) << "distance, threads " << threads;
    }
  }
}

TEST(Hilbert3Maps, ThreadCountsGiveIdenticalCodeResults) {
  const hilbert3_curve c(2, hilbert_layout::cell_centre, -1.0, 4.0);
  // table paths (4 and 6 bits): 600,014 values, up to 2 workers of >= 256K lookups
  check_quantizer_threads<std::uint8_t>(c, lowbit::code_format::uint4(), 2, 300007);
  check_quantizer_threads<std::int8_t>(c, lowbit::code_format{6, true, false}, 2, 300007);
  // exact paths (8 and 12 bits, decode_triple per value): 100,003 values, up to 6 workers of >= 16K
  check_quantizer_threads<std::uint8_t>(c, lowbit::code_format::uint8(), 1, 100003);
  check_quantizer_threads<std::uint16_t>(c, lowbit::code_format{12, false, false}, 1, 100003);
}

TEST(Hilbert3Maps, ThreadsValidateFirst) {
  const hilbert3_curve c(2, hilbert_layout::cell_centre);
  std::vector<float> t(100000), xyz(300000), bad(299999), d(5);
  EXPECT_EQ(error_of([&] { c.encode_map(t, 2, hilbert_map_layout::planar, bad, 4); }, "300000 channel values, 299999 given"),
            errc::size_mismatch);
  EXPECT_EQ(error_of([&] { c.decode_map(xyz, 3, hilbert_map_layout::planar, t, {}, 4); }, "3 images"),
            errc::invalid_shape);
  EXPECT_EQ(error_of([&] { c.decode_map(xyz, 2, hilbert_map_layout::planar, t, d, 0); }, "5 distances"),
            errc::size_mismatch);
  const lowbit::hilbert3_quantizer<std::uint8_t> q(c, lowbit::hilbert_params(lowbit::code_format::uint4()));
  std::vector<std::uint8_t> codes(299999);
  EXPECT_EQ(error_of([&] { q.decode_map(codes, 1, hilbert_map_layout::interleaved, t, {}, 8); }),
            errc::size_mismatch);
  EXPECT_EQ(error_of([&] { q.encode_map(t, 1, hilbert_map_layout::interleaved, codes, 8); }), errc::size_mismatch);
  // empty and small maps with many threads
  c.decode_map({}, 0, hilbert_map_layout::planar, {}, {}, 16);
  std::vector<float> small_t(3), small_xyz(9, 0.25f);
  c.decode_map(small_xyz, 1, hilbert_map_layout::interleaved, small_t, {}, 16);
  EXPECT_EQ(small_t[2], c.decode(0.25f, 0.25f, 0.25f).t);
}

// ----------------------------------------------------------------------------------------------------
// Error model

TEST(Hilbert3ErrorModel, SmallNoiseGainIsLength) {
  for (int o = 1; o <= 6; ++o) {
    for (const hilbert_layout layout : kLayouts) {
      const hilbert3_curve c(o, layout, 2.0, 6.0);
      // A vanishing step: gain -> L (the turn term is O(step)).
      const auto tiny = lowbit::predict_hilbert3_error(c, 1e-7, 0.0);
      EXPECT_NEAR(tiny.gain, c.length(), 1e-4 * c.length()) << o;
      EXPECT_EQ(tiny.jump_probability, 0.0);
      // 12-bit codes: the step is below the branch spacing for every order, so no jumps without noise;
      // the turns cost a little.
      const auto e = lowbit::predict_hilbert3_error(c, 12, 0.0);
      EXPECT_LE(e.gain, c.length()) << o;
      EXPECT_GE(e.gain, 0.97 * c.length()) << o;
      EXPECT_EQ(e.jump_probability, 0.0);
      EXPECT_NEAR(e.rms_direct, 4.0 / 4095.0 / std::sqrt(12.0), 1e-12);
      EXPECT_NEAR(e.gain, e.rms_direct / e.rms_hilbert, 1e-12 * e.gain);
    }
  }
  // the bits overload is the step overload with step = 1 / (2^bits - 1)
  const hilbert3_curve c(2, hilbert_layout::cell_centre);
  const auto a = lowbit::predict_hilbert3_error(c, 8, 3.0), b = lowbit::predict_hilbert3_error(c, 1.0 / 255, 3.0 / 255);
  EXPECT_EQ(a.gain, b.gain);
  EXPECT_EQ(a.rms_hilbert, b.rms_hilbert);
}

struct measured {
  double gain, jump_rate;
};

// The 3-D head at 8 bits with Gaussian model noise of `noise_lsb` steps on each channel, against direct
// 8-bit quantization of t with the same noise (t uniform in [0, 1], as src/hilbert_eval.cc measures the
// 2-D head). A jump = an error of more than 1.5 segments.
measured measure_head(const hilbert3_curve& c, double noise_lsb, std::size_t count) {
  const auto params = lowbit::hilbert_params(lowbit::code_format::uint8());
  const lowbit::ref::run_params rp = lowbit::ref::run_params_of(params);
  const lowbit::hilbert3_quantizer<std::uint8_t> head(c, params);
  std::mt19937 rng(static_cast<std::uint32_t>(1000 * c.order() + 10 * noise_lsb) + (c.layout() == hilbert_layout::full_range));
  std::uniform_real_distribution<float> uni(0.0f, 1.0f);
  std::normal_distribution<double> gauss(0.0, noise_lsb * rp.scale);
  const auto quantize = [&](double v) {
    const float noisy = static_cast<float>(noise_lsb > 0.0 ? v + gauss(rng) : v);
    return lowbit::ref::quantize_value(noisy, rp.scale, rp.inv_scale, rp.zero_point, rp.qmin, rp.qmax, rp.numerics);
  };
  std::vector<float> t(count);
  std::vector<std::uint8_t> codes(3 * count);
  double direct2 = 0.0;
  for (std::size_t i = 0; i < count; ++i) {
    t[i] = uni(rng);
    const double back = lowbit::ref::dequantize_value(quantize(t[i]), rp.scale, rp.zero_point);
    direct2 += (back - t[i]) * (back - t[i]);
    const auto p = c.encode(t[i]);
    codes[3 * i] = static_cast<std::uint8_t>(quantize(p.x));
    codes[3 * i + 1] = static_cast<std::uint8_t>(quantize(p.y));
    codes[3 * i + 2] = static_cast<std::uint8_t>(quantize(p.z));
  }
  std::vector<float> decoded(count);
  head.decode(codes, decoded);
  double head2 = 0.0;
  std::size_t jumps = 0;
  const double limit = 1.5 / static_cast<double>(c.vertex_count() - 1);
  for (std::size_t i = 0; i < count; ++i) {
    const double e = static_cast<double>(decoded[i]) - t[i];
    head2 += e * e;
    jumps += std::abs(e) > limit;
  }
  return {std::sqrt(direct2 / head2), static_cast<double>(jumps) / static_cast<double>(count)};
}

// The documented tolerances (lowbit/hilbert3.h): no jumps -> the predicted gain within 3% of the
// measured one; frequent jumps (>= 1%) -> the predicted gain 0..30% above the measured one and the
// predicted jump probability 0..30% above the measured rate.
TEST(Hilbert3ErrorModel, MatchesMeasurement) {
  struct row {
    hilbert_layout layout;
    double noise_lsb;
    bool jumps;
  };
  const row rows[] = {{hilbert_layout::cell_centre, 0.0, false}, {hilbert_layout::cell_centre, 4.0, false},
                      {hilbert_layout::cell_centre, 16.0, true}, {hilbert_layout::full_range, 0.0, false},
                      {hilbert_layout::full_range, 8.0, false},  {hilbert_layout::full_range, 20.0, true}};
  for (const row& r : rows) {
    const hilbert3_curve c(2, r.layout);
    const std::size_t samples = lowbit::test::scaled(200000);
    const measured m = measure_head(c, r.noise_lsb, samples);
    const auto e = lowbit::predict_hilbert3_error(c, 8, r.noise_lsb);
    std::printf("order 2 %-11s noise %4.1f LSB: measured gain %7.3f jumps %.4f%%, model %7.3f jumps %.4f%%\n",
                lowbit::to_string(r.layout), r.noise_lsb, m.gain, 100.0 * m.jump_rate, e.gain,
                100.0 * e.jump_probability);
    RecordProperty(std::string("gain_") + lowbit::to_string(r.layout) + "_" + std::to_string(static_cast<int>(r.noise_lsb)),
                   std::to_string(m.gain) + " model " + std::to_string(e.gain));
    if (!r.jumps) {
      EXPECT_EQ(m.jump_rate, 0.0);
      EXPECT_LT(e.jump_probability, 1e-6);  // a Gaussian tail
      EXPECT_NEAR(e.gain / m.gain, 1.0, 0.03) << lowbit::to_string(r.layout) << " " << r.noise_lsb;
      if (r.noise_lsb > 0.0) {
        EXPECT_LT(m.gain, 0.97 * c.length());  // the turns cost: gain < L
      }
    } else {
      // The measurement is a sample (fewer values in sanitizer builds): the measured jump rate has a
      // standard error of sqrt(p (1 - p) / n) and the bounds allow three of them; the measured gain,
      // whose RMS is dominated by the jumps, gets 5%.
      const double se = std::sqrt(m.jump_rate * (1.0 - m.jump_rate) / static_cast<double>(samples));
      EXPECT_GE(m.jump_rate, 0.01);
      EXPECT_GE(e.gain / m.gain, 0.95) << lowbit::to_string(r.layout) << " " << r.noise_lsb;
      EXPECT_LE(e.gain / m.gain, 1.35) << lowbit::to_string(r.layout) << " " << r.noise_lsb;
      EXPECT_GE(e.jump_probability, m.jump_rate - 3.0 * se);
      EXPECT_LE(e.jump_probability, 1.3 * m.jump_rate + 3.0 * se);
    }
  }
}

TEST(Hilbert3ErrorModel, CollapsesAtLargeNoise) {
  for (const hilbert_layout layout : kLayouts) {
    const hilbert3_curve c(3, layout);
    double prev = 1e300, prev_jump = -1.0;
    for (const double noise : {0.0, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0}) {
      const auto e = lowbit::predict_hilbert3_error(c, 8, noise);
      EXPECT_LT(e.gain, prev + 1e-9) << noise;
      EXPECT_GE(e.jump_probability, prev_jump) << noise;
      EXPECT_LE(e.jump_probability, 1.0);
      prev = e.gain;
      prev_jump = e.jump_probability;
    }
    EXPECT_LT(prev, 1.0);  // collapsed: worse than direct quantization
  }
  const hilbert3_curve c(3, hilbert_layout::full_range);
  EXPECT_EQ(error_of([&] { lowbit::predict_hilbert3_error(c, 0.0, 0.0); }, "predict_hilbert3_error"),
            errc::invalid_argument);
  EXPECT_EQ(error_of([&] { lowbit::predict_hilbert3_error(c, 0.01, -1.0); }), errc::invalid_argument);
  EXPECT_EQ(error_of([&] { lowbit::predict_hilbert3_error(c, std::nan(""), 0.0); }), errc::invalid_argument);
  EXPECT_EQ(error_of([&] { lowbit::predict_hilbert3_error(c, 0.01, std::numeric_limits<double>::infinity()); }),
            errc::invalid_argument);
  EXPECT_EQ(error_of([&] { lowbit::predict_hilbert3_error(c, 17, 0.0); }, "17"), errc::unsupported_width);
  EXPECT_EQ(error_of([&] { lowbit::predict_hilbert3_error(c, 1, 0.0); }), errc::unsupported_width);
}

}  // namespace
