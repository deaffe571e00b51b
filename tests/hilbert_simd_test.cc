// The Hilbert decoding kernels against the per-point scalar decoder (hilbert_curve::decode, itself
// checked against the brute force in hilbert_test), bit for bit, on every compiled target: the exact
// float decoder (planar and interleaved, with and without distances) for orders 1..8, both layouts and
// several value ranges, on the edge-case matrix of STYLE.md (NaN, ±Inf, ±0, subnormals, out-of-range
// and margin points, lattice vertices and half-lattice midpoints with their float neighbours, random
// points in and around the square; lengths 0..3N+1 and large, unaligned pointers, a guard element
// after every output); the code-pair table lookups (four code types, planar and interleaved, clamps);
// the "computed" 8-bit decoder against the table on every code pair; and the public map APIs under
// each target. With LOWBIT_SIMD=OFF the only "target" is the reference, and the test still runs.
#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <cctype>
#include <cfloat>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <iterator>
#include <limits>
#include <random>
#include <span>
#include <string>
#include <vector>

#include "lowbit/detail/hilbert_kernels.h"
#include "lowbit/detail/uniform_kernels.h"
#include "lowbit/hilbert.h"
#include "lowbit/hilbert3.h"
#include "lowbit/ref/uniform.h"
#include "support/test_scale.h"

namespace lowbit {
namespace {

constexpr float kInf = std::numeric_limits<float>::infinity();
constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();
constexpr float kDenormMin = std::numeric_limits<float>::denorm_min();
constexpr hilbert_layout kLayouts[] = {hilbert_layout::cell_centre, hilbert_layout::full_range};

std::uint32_t Bits(float f) { return std::bit_cast<std::uint32_t>(f); }

// Lengths 0..3N+1 for up to 16 lanes, then larger ones (the last is the whole point set).
std::vector<std::size_t> Lengths(std::size_t all) {
  std::vector<std::size_t> n;
  for (std::size_t i = 0; i <= 49; ++i) n.push_back(i);
  for (std::size_t i : {63, 64, 65, 127, 129}) n.push_back(i);
  n.push_back(all);
  return n;
}
constexpr std::size_t kOffsets[] = {0, 1, 3};
constexpr float kGuard = -12345.5f;

struct Point {
  float x, y;
};

void PushNeighbours(std::vector<float>& v, float c) {
  v.push_back(c);
  v.push_back(std::nextafter(c, -kInf));
  v.push_back(std::nextafter(c, kInf));
}

// The unit-square coordinate of lattice coordinate u (a half-integer or integer), float32.
float ToUnit(const hilbert_curve& c, double u) {
  const double n = c.side();
  return static_cast<float>(c.layout() == hilbert_layout::cell_centre ? (u + 0.5) / n : u / (n - 1.0));
}

// The edge-case points of one curve, shuffled.
std::vector<Point> Points(const hilbert_curve& c, std::mt19937& rng) {
  std::vector<float> specials = {0.0f, -0.0f, kNaN, -kNaN, kInf, -kInf, kDenormMin, -kDenormMin, 1e-40f,
                                 FLT_MIN, 1.0f, std::nextafter(1.0f, 0.0f), std::nextafter(1.0f, 2.0f),
                                 -1e-30f, 1.5f, -0.25f, FLT_MAX, -FLT_MAX, 0.5f};
  std::vector<Point> p;
  for (float x : specials) {
    for (float y : specials) p.push_back({x, y});
  }
  // Lattice lines and half-lattice lines (vertices, midpoints: ties between branches), with float
  // neighbours, on a grid of (a subset of) these coordinates.
  std::vector<float> lines;
  const int side = static_cast<int>(c.side());
  const int step = side <= 16 ? 1 : side / 16;  // at most ~33 lines per axis for large orders
  for (int k = -1; k <= 2 * (side - 1) + 1; k += step) PushNeighbours(lines, ToUnit(c, 0.5 * k));
  PushNeighbours(lines, ToUnit(c, side - 1.0));
  for (float x : lines) {
    for (float y : lines) p.push_back({x, y});
  }
  // The margin of cell_centre (and just outside the square for both layouts).
  std::uniform_real_distribution<float> margin(-0.6f / static_cast<float>(side), 0.6f / static_cast<float>(side));
  std::uniform_real_distribution<float> unit(0.0f, 1.0f), around(-0.2f, 1.2f);
  // (The random parts shrink in slow builds, support/test_scale.h; the edge cases above never do.)
  for (std::size_t r = 0; r < test::scaled(400, 25); ++r) {
    const float m = margin(rng), w = unit(rng);
    p.push_back({m, w});
    p.push_back({w, m});
    p.push_back({1.0f + m, w});
    p.push_back({w, 1.0f - m});
  }
  // Random points in and around the square, and on lattice / half-lattice lines.
  std::uniform_int_distribution<int> half(0, 2 * (side - 1));
  for (std::size_t r = 0; r < test::scaled(3000, 100); ++r) {
    p.push_back({unit(rng), unit(rng)});
    p.push_back({around(rng), around(rng)});
    const float line = ToUnit(c, 0.5 * half(rng));
    p.push_back({line, unit(rng)});
    p.push_back({unit(rng), line});
  }
  // Vertices of the curve (both ends included) and their neighbours.
  for (std::size_t d : {std::size_t{0}, std::size_t{1}, c.vertex_count() / 2, c.vertex_count() - 2,
                        c.vertex_count() - 1}) {
    const auto v = c.vertex(d);
    for (float dx : {-1.0f, 0.0f, 1.0f}) {
      for (float dy : {-1.0f, 0.0f, 1.0f}) {
        p.push_back({std::nextafter(static_cast<float>(v.first), static_cast<float>(v.first) + dx),
                     std::nextafter(static_cast<float>(v.second), static_cast<float>(v.second) + dy)});
      }
    }
  }
  std::shuffle(p.begin(), p.end(), rng);
  return p;
}

bool Same(float a, float b) { return Bits(a) == Bits(b); }

class HilbertSimd : public ::testing::TestWithParam<std::int64_t> {
 protected:
  void SetUp() override { detail::force_target(GetParam()); }
  void TearDown() override { detail::force_target(0); }
  std::mt19937 rng_{20240613};
};

// The curves of the exact-decoder matrix: every order and layout, in [0, 1], plus ranges with
// lo = -0.0 (the final clamp must keep +0 results), negative and awkward values.
std::vector<hilbert_curve> Curves() {
  std::vector<hilbert_curve> c;
  for (int o = 1; o <= 8; ++o) {
    for (const hilbert_layout l : kLayouts) {
      c.emplace_back(o, l);
      if (o <= 3 || o == 8) {
        c.emplace_back(o, l, -0.0, 1.0);
        c.emplace_back(o, l, -3.7, 1e-3);
        c.emplace_back(o, l, 0.1, 0.1000001);
      }
    }
  }
  return c;
}

std::string Describe(const hilbert_curve& c) {
  return "order " + std::to_string(c.order()) + " " + to_string(c.layout()) + " [" + std::to_string(c.lo()) + ", " +
         std::to_string(c.hi()) + "]";
}

TEST_P(HilbertSimd, ExactDecoderEqualsScalar) {
  std::size_t checked = 0;
  for (const hilbert_curve& c : Curves()) {
    const std::vector<Point> pts = Points(c, rng_);
    std::vector<hilbert_decoded> want(pts.size());
    for (std::size_t i = 0; i < pts.size(); ++i) want[i] = c.decode(pts[i].x, pts[i].y);
    const detail::hilbert_kernel_args args = detail::hilbert_kernel_args_of(c);
    for (std::size_t n : Lengths(pts.size())) {
      for (std::size_t off : kOffsets) {
        if (n == pts.size() && off != 1) continue;
        std::vector<float> x(n + off), y(n + off), xy(2 * n + off);
        for (std::size_t i = 0; i < n; ++i) {
          x[off + i] = pts[i].x;
          y[off + i] = pts[i].y;
          xy[off + 2 * i] = pts[i].x;
          xy[off + 2 * i + 1] = pts[i].y;
        }
        for (int variant = 0; variant < 4; ++variant) {
          const bool interleaved = variant & 1, with_dist = variant & 2;
          std::vector<float> t(n + off + 1, kGuard), d(n + off + 1, kGuard);
          float* dp = with_dist ? d.data() + off : nullptr;
          if (interleaved) {
            detail::hilbert_decode_interleaved_f32(args, xy.data() + off, n, t.data() + off, dp);
          } else {
            detail::hilbert_decode_planar_f32(args, x.data() + off, y.data() + off, n, t.data() + off, dp);
          }
          for (std::size_t i = 0; i < n; ++i) {
            ASSERT_TRUE(Same(t[off + i], want[i].t))
                << Describe(c) << (interleaved ? " interleaved" : " planar") << " n=" << n << " off=" << off
                << " i=" << i << " x=" << pts[i].x << " y=" << pts[i].y << ": " << t[off + i] << " vs " << want[i].t;
            if (with_dist) {
              ASSERT_TRUE(Same(d[off + i], want[i].distance))
                  << Describe(c) << " distance n=" << n << " i=" << i << " x=" << pts[i].x << " y=" << pts[i].y;
            }
          }
          ASSERT_EQ(Bits(t[n + off]), Bits(kGuard)) << Describe(c) << ": wrote past the end, n=" << n;
          ASSERT_EQ(Bits(d[n + off]), Bits(kGuard)) << Describe(c) << ": wrote past the end, n=" << n;
          if (!with_dist) {
            ASSERT_EQ(Bits(d[off]), Bits(kGuard)) << "distance written although not asked for";
          }
          checked += n;
        }
      }
    }
  }
  RecordProperty("checked", std::to_string(checked));
}

// ----------------------------------------------------------------------------------------------------
// The 3-D exact kernels against hilbert3_curve::decode (itself equal to its brute force, hilbert3_test).

struct Point3 {
  float x, y, z;
};

std::string Describe3(const hilbert3_curve& c) {
  return "3-D order " + std::to_string(c.order()) + " " + to_string(c.layout()) + " [" + std::to_string(c.lo()) +
         ", " + std::to_string(c.hi()) + "]";
}

// The edge-case points of one 3-D curve, shuffled: specials on every axis, lattice and half-lattice
// planes with their float neighbours (ties between segments), the margin, random points in and around
// the cube and on lattice planes, and the vertices at both ends with their neighbours.
std::vector<Point3> Points3(const hilbert3_curve& c, std::mt19937& rng) {
  const std::vector<float> specials = {0.0f, -0.0f, kNaN, kInf, -kInf, kDenormMin, -kDenormMin, FLT_MIN, 1.0f,
                                       std::nextafter(1.0f, 0.0f), std::nextafter(1.0f, 2.0f), 1.5f, -0.25f,
                                       FLT_MAX, 0.5f};
  std::vector<Point3> p;
  for (float x : specials) {
    for (float y : specials) {
      for (float z : {0.0f, kNaN, 1.0f, 0.5f, -kInf}) {
        p.push_back({x, y, z});
        p.push_back({z, x, y});
        p.push_back({y, z, x});
      }
    }
  }
  const double side = c.side();
  const auto to_unit = [&](double u) {
    return static_cast<float>(c.layout() == hilbert_layout::cell_centre ? (u + 0.5) / side : u / (side - 1.0));
  };
  std::vector<float> lines;
  for (int k = -1; k <= 2 * (static_cast<int>(side) - 1) + 1; ++k) {
    const float l = to_unit(0.5 * k);
    lines.push_back(l);
    lines.push_back(std::nextafter(l, -kInf));
    lines.push_back(std::nextafter(l, kInf));
  }
  std::uniform_real_distribution<float> unit(0.0f, 1.0f), around(-0.2f, 1.2f);
  std::uniform_int_distribution<std::size_t> pick(0, lines.size() - 1);
  const std::size_t random = lowbit::test::scaled(4000, 200);
  for (std::size_t r = 0; r < random; ++r) {
    p.push_back({lines[pick(rng)], lines[pick(rng)], lines[pick(rng)]});  // lattice / half-lattice ties
    p.push_back({lines[pick(rng)], lines[pick(rng)], unit(rng)});
    p.push_back({unit(rng), lines[pick(rng)], around(rng)});
    p.push_back({unit(rng), unit(rng), unit(rng)});
    p.push_back({around(rng), around(rng), around(rng)});
  }
  std::uniform_real_distribution<float> margin(-0.6f / static_cast<float>(side), 0.6f / static_cast<float>(side));
  for (std::size_t r = 0; r < lowbit::test::scaled(400, 25); ++r) {
    p.push_back({margin(rng), unit(rng), unit(rng)});
    p.push_back({unit(rng), 1.0f + margin(rng), unit(rng)});
    p.push_back({unit(rng), unit(rng), 1.0f - margin(rng)});
  }
  for (std::size_t d : {std::size_t{0}, std::size_t{1}, c.vertex_count() / 2, c.vertex_count() - 2,
                        c.vertex_count() - 1}) {
    const auto v = c.vertex(d);
    for (float dx : {-1.0f, 0.0f, 1.0f}) {
      for (float dy : {-1.0f, 0.0f, 1.0f}) {
        for (float dz : {-1.0f, 0.0f, 1.0f}) {
          p.push_back({std::nextafter(static_cast<float>(v[0]), static_cast<float>(v[0]) + dx),
                       std::nextafter(static_cast<float>(v[1]), static_cast<float>(v[1]) + dy),
                       std::nextafter(static_cast<float>(v[2]), static_cast<float>(v[2]) + dz)});
        }
      }
    }
  }
  std::shuffle(p.begin(), p.end(), rng);
  return p;
}

TEST_P(HilbertSimd, Exact3DecoderEqualsScalar) {
  std::vector<hilbert3_curve> curves;
  for (int o = 1; o <= 6; ++o) {
    for (const hilbert_layout l : kLayouts) {
      curves.emplace_back(o, l);
      if (o <= 2 && lowbit::test::kSlowBuildDivisor == 1) {  // (slow builds: the [0, 1] curves only)
        curves.emplace_back(o, l, -0.0, 1.0);
        curves.emplace_back(o, l, -3.7, 1e-3);
      }
    }
  }
  for (const hilbert3_curve& c : curves) {
    const std::vector<Point3> pts = Points3(c, rng_);
    std::vector<hilbert_decoded> want(pts.size());
    for (std::size_t i = 0; i < pts.size(); ++i) want[i] = c.decode(pts[i].x, pts[i].y, pts[i].z);
    const detail::hilbert3_kernel_args args = detail::hilbert3_kernel_args_of(c);
    for (std::size_t n : Lengths(pts.size())) {
      for (std::size_t off : kOffsets) {
        // every offset for the short lengths (slow builds: offset 1 only), offset 1 for the whole set
        if ((n == pts.size() || lowbit::test::kSlowBuildDivisor > 1) && off != 1) continue;
        std::vector<float> x(n + off), y(n + off), z(n + off), xyz(3 * n + off);
        for (std::size_t i = 0; i < n; ++i) {
          x[off + i] = pts[i].x;
          y[off + i] = pts[i].y;
          z[off + i] = pts[i].z;
          xyz[off + 3 * i] = pts[i].x;
          xyz[off + 3 * i + 1] = pts[i].y;
          xyz[off + 3 * i + 2] = pts[i].z;
        }
        for (int variant = 0; variant < 4; ++variant) {
          const bool interleaved = variant & 1, with_dist = variant & 2;
          std::vector<float> t(n + off + 1, kGuard), d(n + off + 1, kGuard);
          float* dp = with_dist ? d.data() + off : nullptr;
          if (interleaved) {
            detail::hilbert3_decode_interleaved_f32(args, xyz.data() + off, n, t.data() + off, dp);
          } else {
            detail::hilbert3_decode_planar_f32(args, x.data() + off, y.data() + off, z.data() + off, n,
                                               t.data() + off, dp);
          }
          for (std::size_t i = 0; i < n; ++i) {
            ASSERT_TRUE(Same(t[off + i], want[i].t))
                << Describe3(c) << (interleaved ? " interleaved" : " planar") << " n=" << n << " off=" << off
                << " i=" << i << " (" << pts[i].x << ", " << pts[i].y << ", " << pts[i].z << "): " << t[off + i]
                << " vs " << want[i].t;
            if (with_dist) {
              ASSERT_TRUE(Same(d[off + i], want[i].distance))
                  << Describe3(c) << " distance n=" << n << " i=" << i << ": " << d[off + i] << " vs "
                  << want[i].distance;
            }
          }
          ASSERT_EQ(Bits(t[n + off]), Bits(kGuard)) << Describe3(c) << ": wrote past the end, n=" << n;
          ASSERT_EQ(Bits(d[n + off]), Bits(kGuard)) << Describe3(c) << ": wrote past the end, n=" << n;
          if (!with_dist) {
            ASSERT_EQ(Bits(d[off]), Bits(kGuard)) << "distance written although not asked for";
          }
        }
      }
    }
  }
}

// The 3-D map APIs under the forced target: float maps and the quantizer's exact path (8 and 12 bits).
TEST_P(HilbertSimd, Map3ApisEqualScalar) {
  const hilbert3_curve c(2, hilbert_layout::cell_centre, -1.0, 4.0);
  const std::size_t batch = 2, pixels = 777;
  std::vector<float> xyz(3 * batch * pixels);
  std::uniform_real_distribution<float> around(-0.1f, 1.1f);
  for (float& v : xyz) v = around(rng_);
  xyz[5] = kNaN;
  xyz[6] = kInf;
  for (const hilbert_map_layout ml : {hilbert_map_layout::planar, hilbert_map_layout::interleaved}) {
    std::vector<float> t(batch * pixels + 1, kGuard), d(batch * pixels + 1, kGuard);
    c.decode_map(xyz, batch, ml, std::span<float>(t.data(), batch * pixels), std::span<float>(d.data(), batch * pixels));
    for (std::size_t b = 0; b < batch; ++b) {
      for (std::size_t p = 0; p < pixels; ++p) {
        const std::size_t i = b * pixels + p;
        const auto at = [&](std::size_t ch) {
          return ml == hilbert_map_layout::planar ? xyz[(3 * b + ch) * pixels + p] : xyz[3 * i + ch];
        };
        const hilbert_decoded r = c.decode(at(0), at(1), at(2));
        ASSERT_TRUE(Same(t[i], r.t) && Same(d[i], r.distance)) << i;
      }
    }
    ASSERT_EQ(Bits(t.back()), Bits(kGuard));
    ASSERT_EQ(Bits(d.back()), Bits(kGuard));
  }
  for (const code_format f : {code_format::uint8(), code_format{12, true, false}}) {
    const auto check = [&]<class Code>(Code) {
      const hilbert3_quantizer<Code> q(c, hilbert_params(f));
      std::vector<Code> codes(3 * batch * pixels);
      std::uniform_int_distribution<std::int32_t> code(f.qmin() - 3, f.qmax() + 3);
      for (Code& v : codes) v = static_cast<Code>(std::clamp<std::int32_t>(code(rng_), std::numeric_limits<Code>::min(),
                                                                            std::numeric_limits<Code>::max()));
      for (const hilbert_map_layout ml : {hilbert_map_layout::planar, hilbert_map_layout::interleaved}) {
        std::vector<float> t(batch * pixels), d(batch * pixels);
        q.decode_map(codes, batch, ml, t, d);
        for (std::size_t b = 0; b < batch; ++b) {
          for (std::size_t p = 0; p < pixels; ++p) {
            const std::size_t i = b * pixels + p;
            const auto at = [&](std::size_t ch) {
              return ml == hilbert_map_layout::planar ? codes[(3 * b + ch) * pixels + p] : codes[3 * i + ch];
            };
            const hilbert_decoded r = q.decode_triple(at(0), at(1), at(2));
            ASSERT_TRUE(Same(t[i], r.t) && Same(d[i], r.distance)) << f.bits << " bits, " << i;
          }
        }
      }
    };
    if (f.bits == 8) check(std::uint8_t{});
    else check(std::int16_t{});
  }
}

// The public float APIs under the forced target: decode(span), decode_map in both layouts (batch > 1).
TEST_P(HilbertSimd, MapApisEqualScalar) {
  for (const hilbert_layout l : kLayouts) {
    const hilbert_curve c(3, l, 1.0, 9.0);
    std::vector<Point> pts = Points(c, rng_);
    const std::size_t batch = 3, pixels = pts.size() / batch;
    pts.resize(batch * pixels);
    std::vector<float> planar(2 * pts.size()), inter(2 * pts.size());
    for (std::size_t b = 0; b < batch; ++b) {
      for (std::size_t p = 0; p < pixels; ++p) {
        const Point& q = pts[b * pixels + p];
        planar[2 * b * pixels + p] = q.x;
        planar[2 * b * pixels + pixels + p] = q.y;
        inter[2 * (b * pixels + p)] = q.x;
        inter[2 * (b * pixels + p) + 1] = q.y;
      }
    }
    std::vector<float> t1(pts.size()), d1(pts.size()), t2(pts.size()), t3(pts.size()), d3(pts.size());
    c.decode_map(planar, batch, hilbert_map_layout::planar, t1, d1);
    c.decode_map(inter, batch, hilbert_map_layout::interleaved, t2);
    c.decode(inter, t3, d3);
    for (std::size_t i = 0; i < pts.size(); ++i) {
      const hilbert_decoded r = c.decode(pts[i].x, pts[i].y);
      ASSERT_TRUE(Same(t1[i], r.t) && Same(d1[i], r.distance)) << i;
      ASSERT_TRUE(Same(t2[i], r.t)) << i;
      ASSERT_TRUE(Same(t3[i], r.t) && Same(d3[i], r.distance)) << i;
    }
  }
}

// Codes of one type for the lookup tests: every code of the storage type for 8-bit storage, a band
// around [qmin, qmax] for 16-bit storage, shuffled and repeated to `count`.
template <class Code>
std::vector<Code> CodeValues(std::int32_t qmin, std::int32_t qmax, std::size_t count, std::mt19937& rng) {
  std::vector<Code> v;
  const std::int32_t lo = std::max<std::int32_t>(std::numeric_limits<Code>::min(), qmin - 300);
  const std::int32_t hi = std::min<std::int32_t>(std::numeric_limits<Code>::max(), qmax + 300);
  std::uniform_int_distribution<std::int32_t> any(lo, hi);
  v.push_back(std::numeric_limits<Code>::min());
  v.push_back(std::numeric_limits<Code>::max());
  for (std::int32_t c = qmin - 2; c <= qmax + 2; ++c) {
    if (c >= std::numeric_limits<Code>::min() && c <= std::numeric_limits<Code>::max()) v.push_back(static_cast<Code>(c));
  }
  while (v.size() < count) v.push_back(static_cast<Code>(any(rng)));
  std::shuffle(v.begin(), v.end(), rng);
  v.resize(count);
  return v;
}

template <class Code>
void CheckLookup(code_format f, std::mt19937& rng) {
  const hilbert_curve c(2, hilbert_layout::full_range);
  const hilbert_quantizer<Code> q(c, hilbert_params(f));
  const detail::hilbert_lookup_args args{q.table().data(), q.distance_table().data(), f.bits, f.qmin(), f.qmax()};
  const std::size_t all = 1500;
  const std::vector<Code> xs = CodeValues<Code>(f.qmin(), f.qmax(), all, rng);
  const std::vector<Code> ys = CodeValues<Code>(f.qmin(), f.qmax(), all, rng);
  const std::string what = std::string("bits=") + std::to_string(f.bits) + (f.is_signed ? " signed" : " unsigned") +
                           (f.narrow ? " narrow" : "") + " storage " + std::to_string(8 * sizeof(Code));
  for (std::size_t n : Lengths(all)) {
    for (std::size_t off : kOffsets) {
      std::vector<Code> px(n + off), py(n + off), pxy(2 * n + off);
      for (std::size_t i = 0; i < n; ++i) {
        px[off + i] = xs[i];
        py[off + i] = ys[i];
        pxy[off + 2 * i] = xs[i];
        pxy[off + 2 * i + 1] = ys[i];
      }
      for (int variant = 0; variant < 4; ++variant) {
        const bool interleaved = variant & 1, with_dist = variant & 2;
        std::vector<float> t(n + off + 1, kGuard), d(n + off + 1, kGuard);
        float* dp = with_dist ? d.data() + off : nullptr;
        if (interleaved) {
          detail::hilbert_lookup(args, pxy.data() + off, pxy.data() + off + 1, 2, n, t.data() + off, dp);
        } else {
          detail::hilbert_lookup(args, px.data() + off, py.data() + off, 1, n, t.data() + off, dp);
        }
        for (std::size_t i = 0; i < n; ++i) {
          const hilbert_decoded r = q.decode_pair(xs[i], ys[i]);
          ASSERT_TRUE(Same(t[off + i], r.t)) << what << " n=" << n << " off=" << off << " i=" << i;
          if (with_dist) {
            ASSERT_TRUE(Same(d[off + i], r.distance)) << what << " i=" << i;
          }
        }
        ASSERT_EQ(Bits(t[n + off]), Bits(kGuard)) << what << ": wrote past the end, n=" << n;
        ASSERT_EQ(Bits(d[n + off]), Bits(kGuard)) << what << ": wrote past the end, n=" << n;
      }
    }
  }
}

TEST_P(HilbertSimd, TableLookupEqualsDecodePair) {
  for (int bits = 2; bits <= 8; ++bits) {
    for (const bool narrow : {false, true}) {
      CheckLookup<std::int8_t>({bits, true, narrow}, rng_);
      CheckLookup<std::uint8_t>({bits, false, narrow}, rng_);
      CheckLookup<std::int16_t>({bits, true, narrow}, rng_);
      CheckLookup<std::uint16_t>({bits, false, narrow}, rng_);
    }
  }
}

// decode_pair itself is the oracle: the table it reads was filled by the SIMD kernel of this target,
// so check the table against curve.decode directly too.
template <class Code>
void CheckTableBuild(const hilbert_curve& c, code_format f) {
  const std::int32_t zp = f.bits == 8 ? (f.is_signed ? -100 : 30) : f.qmin() + 3;
  const quant_params p = quant_params::per_tensor(f, f.bits == 8 ? 1.0f / 201.0f : 1.0f / 13.0f, zp);
  const hilbert_quantizer<Code> q(c, p);
  const ref::run_params rp = ref::run_params_of(p);
  const std::size_t stride = std::size_t{1} << f.bits;
  for (std::int32_t cx = f.qmin(); cx <= f.qmax(); ++cx) {
    for (std::int32_t cy = f.qmin(); cy <= f.qmax(); ++cy) {
      const hilbert_decoded r = c.decode(ref::dequantize_value(static_cast<float>(cx), rp.scale, rp.zero_point),
                                         ref::dequantize_value(static_cast<float>(cy), rp.scale, rp.zero_point));
      const std::size_t idx = static_cast<std::size_t>(cx - f.qmin()) * stride + static_cast<std::size_t>(cy - f.qmin());
      ASSERT_TRUE(Same(q.table()[idx], r.t) && Same(q.distance_table()[idx], r.distance)) << cx << " " << cy;
    }
  }
}

TEST_P(HilbertSimd, TableBuildEqualsScalar) {
  for (const hilbert_layout l : kLayouts) {
    const hilbert_curve c(3, l, -1.0, 2.0);
    CheckTableBuild<std::uint8_t>(c, code_format::uint8());
    CheckTableBuild<std::int8_t>(c, code_format::int8(true));
    CheckTableBuild<std::uint16_t>(c, code_format::uint4());
  }
}

// The computed 8-bit decoder equals the exact decoder on every code pair (slow builds, see
// support/test_scale.h, on every 41st pair and the last), with the corner entries in registers (orders
// <= 3 on AVX-512) and gathered.
TEST_P(HilbertSimd, ComputedU8EqualsTable) {
  struct Param {
    float scale;
    std::int32_t zero_point, qmin, qmax;
  };
  const Param params[] = {{1.0f / 255.0f, 0, 0, 255}, {1.0f / 200.0f, 20, 0, 255}, {1.0f / 254.0f, 1, 1, 255},
                          {3.0f / 1000.0f, 128, 0, 255}};
  const std::uint32_t stride = lowbit::test::kSlowBuildDivisor == 1 ? 1 : static_cast<std::uint32_t>(lowbit::test::kSlowBuildDivisor) + 1;
  std::vector<std::uint8_t> xs(3), ys(3);  // the code pairs qx << 8 | qy, from offset 3 (unaligned)
  for (std::uint32_t i = 0; i < 65536; ++i) {
    if (i % stride != 0 && i != 65535) continue;
    xs.push_back(static_cast<std::uint8_t>(i >> 8));
    ys.push_back(static_cast<std::uint8_t>(i));
  }
  const std::size_t n = xs.size() - 3;
  std::vector<hilbert_decoded> want(n);
  for (int o = 1; o <= 8; ++o) {
    for (const hilbert_layout l : kLayouts) {
      const hilbert_curve c(o, l, o == 2 ? -0.0 : 0.25, 3.0);
      const detail::hilbert_kernel_args args = detail::hilbert_kernel_args_of(c);
      for (const Param& pr : params) {
        const auto dequantized = [&](std::uint8_t q) {
          return ref::dequantize_value(static_cast<float>(std::clamp<std::int32_t>(q, pr.qmin, pr.qmax)), pr.scale,
                                       static_cast<float>(pr.zero_point));
        };
        for (std::size_t i = 0; i < n; ++i) want[i] = c.decode(dequantized(xs[i + 3]), dequantized(ys[i + 3]));
        const detail::hilbert_dequant dq{pr.scale, static_cast<float>(pr.zero_point), pr.qmin, pr.qmax};
        for (const bool registers : {true, false}) {
          std::vector<float> t(n + 4, kGuard), d(n + 4, kGuard);
          // n - 1 pairs, then the last one alone (a tail on every target)
          detail::hilbert_decode_codes_computed_u8(args, dq, dq, xs.data() + 3, ys.data() + 3, n - 1, t.data() + 3,
                                                   d.data() + 3, registers);
          detail::hilbert_decode_codes_computed_u8(args, dq, dq, xs.data() + 3 + n - 1, ys.data() + 3 + n - 1, 1,
                                                   t.data() + 3 + n - 1, nullptr, registers);
          for (std::size_t i = 0; i < n; ++i) {
            const unsigned pair = 256u * xs[i + 3] + ys[i + 3];
            ASSERT_TRUE(Same(t[i + 3], want[i].t)) << Describe(c) << " code pair " << pair;
            if (i + 1 < n) {
              ASSERT_TRUE(Same(d[i + 3], want[i].distance)) << Describe(c) << " code pair " << pair;
            }
          }
          ASSERT_EQ(Bits(t[n + 3]), Bits(kGuard));
          ASSERT_EQ(Bits(d[n - 1 + 3]), Bits(kGuard));
        }
      }
    }
  }
}

// The quantizer's exact path (widths > 8): blocks of dequantized codes through the kernel.
template <class Code>
void CheckWideQuantizer(const hilbert_curve& c, code_format f) {
  const hilbert_quantizer<Code> q(c, hilbert_params(f));
  std::mt19937 rng(static_cast<std::uint32_t>(f.bits));
  const std::size_t batch = 2, pixels = 1234;
  const std::vector<Code> codes = CodeValues<Code>(f.qmin(), f.qmax(), 2 * batch * pixels, rng);
  std::vector<float> t(batch * pixels + 1, kGuard), d(batch * pixels + 1, kGuard);
  for (const hilbert_map_layout ml : {hilbert_map_layout::planar, hilbert_map_layout::interleaved}) {
    q.decode_map(codes, batch, ml, std::span<float>(t.data(), batch * pixels), std::span<float>(d.data(), batch * pixels));
    for (std::size_t b = 0; b < batch; ++b) {
      for (std::size_t p = 0; p < pixels; ++p) {
        const std::size_t i = b * pixels + p;
        const Code cx = ml == hilbert_map_layout::planar ? codes[2 * b * pixels + p] : codes[2 * i];
        const Code cy = ml == hilbert_map_layout::planar ? codes[2 * b * pixels + pixels + p] : codes[2 * i + 1];
        const hilbert_decoded r = q.decode_pair(cx, cy);
        ASSERT_TRUE(Same(t[i], r.t) && Same(d[i], r.distance)) << f.bits << " " << i;
      }
    }
    ASSERT_EQ(Bits(t.back()), Bits(kGuard));
    ASSERT_EQ(Bits(d.back()), Bits(kGuard));
  }
}

TEST_P(HilbertSimd, WideQuantizerEqualsDecodePair) {
  for (const hilbert_layout l : kLayouts) {
    const hilbert_curve c(4, l, 0.0, 10.0);
    CheckWideQuantizer<std::uint16_t>(c, code_format{12, false, false});
    CheckWideQuantizer<std::int16_t>(c, code_format::int16());
    CheckWideQuantizer<std::int16_t>(c, code_format{10, true, true});
    CheckWideQuantizer<std::uint16_t>(c, code_format::uint16());
  }
}

std::string TargetName(const ::testing::TestParamInfo<std::int64_t>& info) {
  std::string s = detail::target_name(info.param);
  for (char& ch : s) {
    if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
  }
  return s;
}

INSTANTIATE_TEST_SUITE_P(AllTargets, HilbertSimd, ::testing::ValuesIn(detail::available_targets()), TargetName);

TEST(HilbertSimdDispatch, ForcingATargetIsObserved) {
  for (std::int64_t t : detail::available_targets()) {
    detail::force_target(t);
    EXPECT_STREQ(detail::hilbert_active_target_name(), detail::target_name(t));
  }
  detail::force_target(0);
  EXPECT_EQ(detail::hilbert_kernels_simd(), std::string(detail::hilbert_active_target_name()) != "reference");
}

}  // namespace
}  // namespace lowbit
