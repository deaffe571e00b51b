// lowbit — piecewise-linear quantization: the oracle against a transcription of the authors' code, the
// breakpoint methods against brute force and each other, edge cases, packing, bias correction, and
// the evaluation numbers of the README.
// SPDX-License-Identifier: Apache-2.0
#include "lowbit/pwlq.h"

#include <gtest/gtest.h>

#include "support/lowbit_error.h"
#include "support/random_data.h"

#include <algorithm>
#include <bit>
#include <cfloat>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "lowbit/calibrate.h"
#include "lowbit/io/gnubg.h"
#include "lowbit/quantizer.h"
#include "lowbit/ref/pwlq.h"
#include "lowbit/uniform.h"

#ifndef LOWBIT_DATA_DIR
#error "pwlq_test needs -DLOWBIT_DATA_DIR=\"<dir>\" (where cmake/fetch_data.cmake unpacks the data)"
#endif

namespace lowbit {
namespace {

using test_data::gaussian;
using test_data::laplace;
using test_data::student;

static_assert(quantizer<pwlq_quantizer>);
static_assert(sizeof(pwlq_code) == 2);

constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();
constexpr float kInf = std::numeric_limits<float>::infinity();

std::vector<float> uniform01(std::size_t n, unsigned seed) {
  std::mt19937 gen(seed);
  std::uniform_real_distribution<double> d(-1.0, 1.0);
  std::vector<float> v(n);
  for (auto& x : v) x = static_cast<float>(d(gen));
  return v;
}

// A few shapes of data, with a seed.
std::vector<float> sample(int kind, std::size_t n, unsigned seed) {
  switch (kind % 5) {
    case 0: return gaussian(n, 0.05, seed);
    case 1: return laplace(n, 1.0, seed);
    case 2: return student(n, 3.0, seed);
    case 3: return uniform01(n, seed);
    default: {  // a mixture: a narrow bell and a few wide outliers
      std::vector<float> v = gaussian(n, 1.0, seed);
      std::mt19937 gen(seed + 7);
      for (std::size_t i = 0; i < n / 50 + 1; ++i) v[gen() % n] *= 8.0f;
      return v;
    }
  }
}

bool same_bits(float a, float b) { return std::bit_cast<std::uint32_t>(a) == std::bit_cast<std::uint32_t>(b); }

// ---- The authors' published code (pw_opt = 2), transcribed from pwlq.md into C++ -------------------
// Whole-tensor operations as PyTorch runs them on CPU in float32: clamp, x / scale, torch.round (half
// to even), clamp of the integer, x_int * scale (+ offset), masks multiplied and summed. Python-float
// scalars (the symmetric quantizer's range) are double and rounded to float32 by the tensor op.
std::vector<float> their_uniform_symmetric(const std::vector<float>& x, double bits, double minv, double maxv) {
  maxv = std::max(-minv, maxv);
  minv = -maxv;
  const double num_levels = std::pow(2.0, bits);
  const float scale = static_cast<float>((maxv - minv) / (num_levels - 1));
  std::vector<float> out(x.size());
  for (std::size_t i = 0; i < x.size(); ++i) {
    const float xc = std::min(std::max(x[i], static_cast<float>(minv)), static_cast<float>(maxv));
    const float xi = std::nearbyint(xc / scale);
    const float q = std::min(std::max(xi, static_cast<float>(-num_levels / 2)), static_cast<float>(num_levels / 2 - 1));
    out[i] = q * scale;
  }
  return out;
}

std::vector<float> their_uniform_affine(const std::vector<float>& x, double bits, float minv, float maxv) {
  const float num_levels = static_cast<float>(std::pow(2.0, bits));
  const float scale = (maxv - minv) / (num_levels - 1.0f);
  const float offset = minv;
  std::vector<float> out(x.size());
  for (std::size_t i = 0; i < x.size(); ++i) {
    const float xc = std::min(std::max(x[i], minv), maxv);
    float xi = std::nearbyint((xc - offset) / scale);
    xi = std::min(std::max(xi, 0.0f), num_levels - 1.0f);
    out[i] = xi * scale + offset;
  }
  return out;
}

std::vector<float> their_pwlq(const std::vector<float>& w, int bits, float bp) {
  float abs_max = 0.0f;
  for (const float x : w) abs_max = std::max(abs_max, std::fabs(x));
  const std::vector<float> mid = their_uniform_symmetric(w, bits, -static_cast<double>(bp), bp);
  const std::vector<float> neg = their_uniform_affine(w, bits - 1, -abs_max, -bp);
  const std::vector<float> pos = their_uniform_affine(w, bits - 1, bp, abs_max);
  std::vector<float> out(w.size());
  for (std::size_t i = 0; i < w.size(); ++i) {
    const float idx_mid = std::fabs(w[i]) < bp ? 1.0f : 0.0f;
    const float idx_neg = w[i] <= -bp ? 1.0f : 0.0f;
    const float idx_pos = w[i] >= bp ? 1.0f : 0.0f;
    out[i] = mid[i] * idx_mid + neg[i] * idx_neg + pos[i] * idx_pos;
  }
  return out;
}

double plain_mse(const std::vector<float>& a, const std::vector<float>& b) {
  double s = 0.0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    const double e = static_cast<double>(a[i]) - static_cast<double>(b[i]);
    s += e * e;
  }
  return s / static_cast<double>(a.size());
}

// Their coarse-to-fine grid search (pwlq.md), scored in double with their quantizer.
float their_grid_search(const std::vector<float>& w, int bits) {
  float abs_max = 0.0f;
  for (const float x : w) abs_max = std::max(abs_max, std::fabs(x));
  double best_r = 0.0, best = std::numeric_limits<double>::infinity();
  const auto score = [&](double r) {
    if (!(r > 0.0 && r < 1.0)) return;
    const float bp = static_cast<float>(r * abs_max);
    const double e = plain_mse(w, their_pwlq(w, bits, bp));
    if (e < best) {
      best = e;
      best_r = r;
    }
  };
  for (int i = 0; i < 9; ++i) score(0.1 + i * 0.1);
  const double r1 = best_r;
  for (int i = 0; i < 20; ++i) score(r1 - 0.1 + i * 0.01);
  const double r2 = best_r;
  for (int i = 0; i < 20; ++i) score(r2 - 0.01 + i * 0.001);
  return static_cast<float>(best_r * abs_max);
}

float max_abs_of(const std::vector<float>& v) {
  float m = 0.0f;
  for (const float x : v) {
    if (std::isfinite(x)) m = std::max(m, std::fabs(x));
  }
  return m;
}

pwlq_params params1(int bits, pwlq_variant v, float m, float p) {
  const float bp[1] = {p};
  return pwlq_params::per_tensor(bits, v, m, bp);
}

pwlq_options opts(int bits, pwlq_breakpoint method, pwlq_variant v = pwlq_variant::reference, int k = 1) {
  pwlq_options o;
  o.bits = bits;
  o.method = method;
  o.variant = v;
  o.breakpoints = k;
  return o;
}

// ---- the oracle reproduces the authors' arithmetic -------------------------------------------------

TEST(PwlqReference, MatchesTheAuthorsCodeBitForBit) {
  std::mt19937 gen(11);
  for (int kind = 0; kind < 5; ++kind) {
    std::vector<float> w = sample(kind, 3000, 100 + static_cast<unsigned>(kind));
    // Values exactly at the breakpoints, at ±m and at ties of the centre grid.
    const float m = max_abs_of(w);
    for (int bits = 2; bits <= 8; ++bits) {
      for (int t = 0; t < 6; ++t) {
        const float r = t < 5 ? std::uniform_real_distribution<float>(0.02f, 0.98f)(gen) : 0.5f;
        const float p = r * m;
        std::vector<float> x = w;
        x.push_back(p);
        x.push_back(-p);
        x.push_back(m);
        x.push_back(-m);
        x.push_back(0.0f);
        x.push_back(-0.0f);
        const float step = static_cast<float>(2.0 * p / ((1 << bits) - 1));
        for (int q = -(1 << (bits - 1)); q < (1 << (bits - 1)); ++q) x.push_back((static_cast<float>(q) + 0.5f) * step);
        const std::vector<float> theirs = their_pwlq(x, bits, p);
        const auto params = params1(bits, pwlq_variant::reference, m, p);
        std::vector<float> ours(x.size());
        pwlq_fake_quantize(x, params, ours);
        std::vector<pwlq_code> codes(x.size());
        pwlq_quantize(x, params, codes);
        std::vector<float> decoded(x.size());
        pwlq_dequantize(codes, params, decoded);
        for (std::size_t i = 0; i < x.size(); ++i) {
          ASSERT_TRUE(same_bits(ours[i], theirs[i]))
              << "bits " << bits << " p " << p << " x " << x[i] << ": ours " << ours[i] << " theirs " << theirs[i];
          ASSERT_TRUE(same_bits(decoded[i], theirs[i])) << "bits " << bits << " x " << x[i];
          ASSERT_EQ(codes[i], ref::pwlq_encode_value(x[i], params.run(0))) << "fast path vs oracle, x " << x[i];
          ASSERT_TRUE(same_bits(ref::pwlq_fake_quantize_value(x[i], params.run(0)), theirs[i])) << "oracle, x " << x[i];
        }
      }
    }
  }
}

TEST(PwlqReference, FastEncoderEqualsOracleOnSpecialValues) {
  const float m = 3.0f;
  const std::vector<float> x = {kNaN, -kNaN, kInf, -kInf, 0.0f, -0.0f, 1.0f, -1.0f, 3.0f, -3.0f, 1e-40f, -1e-40f,
                                FLT_MAX, -FLT_MAX, 2.9999998f, -2.9999998f, 0.99999994f, -0.99999994f};
  for (int bits = 2; bits <= 8; ++bits) {
    const auto p = params1(bits, pwlq_variant::reference, m, 1.0f);
    std::vector<pwlq_code> codes(x.size());
    pwlq_quantize(x, p, codes);
    for (std::size_t i = 0; i < x.size(); ++i) EXPECT_EQ(codes[i], ref::pwlq_encode_value(x[i], p.run(0))) << x[i];
    EXPECT_EQ(codes[0], (pwlq_code{0, 0}));
    EXPECT_EQ(codes[1], (pwlq_code{0, 0}));
    std::vector<float> y(x.size()), fq(x.size());
    pwlq_dequantize(codes, p, y);
    pwlq_fake_quantize(x, p, fq);
    for (std::size_t i = 0; i < x.size(); ++i) {
      EXPECT_TRUE(same_bits(fq[i], ref::pwlq_fake_quantize_value(x[i], p.run(0)))) << x[i];
      EXPECT_TRUE(same_bits(fq[i], y[i])) << x[i];
    }
    EXPECT_EQ(y[0], 0.0f);
    EXPECT_EQ(y[2], 3.0f);   // +Inf -> m (the top level of the positive tail: fl(fl(L s) + p))
    EXPECT_EQ(y[3], -3.0f);  // -Inf -> -m (the negative tail is anchored at -m)
  }
}

TEST(PwlqReference, CodesAreBBitWithRegion) {
  const std::vector<float> x = gaussian(20000, 1.0, 5);
  const float m = max_abs_of(x);
  for (const auto variant : {pwlq_variant::reference, pwlq_variant::paper}) {
    for (int bits = 2; bits <= 8; ++bits) {
      const auto p = params1(bits, variant, m, 0.4f * m);
      std::vector<pwlq_code> codes(x.size());
      pwlq_quantize(x, p, codes);
      const int lo = -(1 << (bits - 1)), hi = (1 << (bits - 1)) - 1;
      for (std::size_t i = 0; i < x.size(); ++i) {
        ASSERT_GE(codes[i].q, lo);
        ASSERT_LE(codes[i].q, hi);
        ASSERT_LE(codes[i].region, 1);
        ASSERT_EQ(codes[i].region == 1, std::fabs(x[i]) >= 0.4f * m);
        // tail codes: sign in q's sign, ordered with the value
        if (codes[i].region == 1) {
          ASSERT_EQ(codes[i].q < 0, x[i] < 0.0f);
        }
      }
    }
  }
}

TEST(PwlqPaper, IsSymmetricAndFollowsEquation3) {
  const std::vector<float> x = laplace(5000, 1.0, 9);
  const float m = max_abs_of(x);
  for (int bits = 2; bits <= 8; ++bits) {
    const float p = 0.3f * m;
    const auto params = params1(bits, pwlq_variant::paper, m, p);
    const double L = (1 << (bits - 1)) - 1;
    for (const float v : x) {
      const float y = ref::pwlq_fake_quantize_value(v, params.run(0));
      ASSERT_TRUE(same_bits(ref::pwlq_fake_quantize_value(-v, params.run(0)), -y) || y == 0.0f) << v;
      // equation 3 in double: centre |x| ~ s1 q, tails p + s2 q, round to nearest
      const double a = std::fabs(static_cast<double>(v));
      const double s1 = p / L, s2 = (m - static_cast<double>(p)) / L;
      const double mag = a < p ? s1 * std::min(L, std::nearbyint(a / s1)) : p + s2 * std::nearbyint((a - p) / s2);
      ASSERT_NEAR(std::fabs(static_cast<double>(y)), mag, 1e-5 * m + 0.5 * (a < p ? s1 : s2) * 1e-3) << v;
    }
  }
}

TEST(PwlqReference, LowerMseThanPaperAtTheSameBreakpoint) {
  const std::vector<float> x = gaussian(200000, 1.0, 3);
  const float m = max_abs_of(x);
  const float p = 0.35f * m;
  const double ref4 = pwlq_mse(x, params1(4, pwlq_variant::reference, m, p));
  const double pap4 = pwlq_mse(x, params1(4, pwlq_variant::paper, m, p));
  std::printf("[pwlq] 4-bit Gaussian, p = 0.35 m: reference MSE %.6g, paper MSE %.6g (%.1f%% lower)\n", ref4, pap4,
              100.0 * (1.0 - ref4 / pap4));
  EXPECT_LT(ref4, pap4);
}

// ---- edge cases ------------------------------------------------------------------------------------

TEST(PwlqEdge, AllZeroConstantOneElementNaN) {
  for (const auto variant : {pwlq_variant::reference, pwlq_variant::paper}) {
    for (const auto method : {pwlq_breakpoint::exact, pwlq_breakpoint::gaussian, pwlq_breakpoint::laplacian,
                              pwlq_breakpoint::grid}) {
      const auto o = opts(4, method, variant);
      // all zeros: m = 0, every code {0, 0}, every value 0
      const std::vector<float> zeros(100, 0.0f);
      const auto pz = pwlq_calibrate(zeros, o);
      EXPECT_EQ(pz.max_abs()[0], 0.0f);
      EXPECT_EQ(pwlq_mse(zeros, pz), 0.0);
      std::vector<pwlq_code> codes(3);
      const std::vector<float> probe = {1.0f, -2.0f, kNaN};
      pwlq_quantize(probe, pz, codes);
      for (const auto c : codes) EXPECT_EQ(c, (pwlq_code{0, 0}));
      // one element
      for (const float v : {0.75f, -0.75f}) {
        const std::vector<float> one = {v};
        const auto p1 = pwlq_calibrate(one, o);
        EXPECT_EQ(p1.max_abs()[0], 0.75f);
        EXPECT_LE(pwlq_mse(one, p1), 1e-12) << to_string(method);
      }
      // constant
      const std::vector<float> c5(37, -5.5f);
      const auto pc = pwlq_calibrate(c5, o);
      EXPECT_LE(pwlq_mse(c5, pc), 1e-10);
      // NaN and Inf mixed in: ignored by the calibration, NaN -> 0, ±Inf -> ±m
      std::vector<float> x = gaussian(1000, 1.0, 1);
      x[3] = kNaN;
      x[10] = kInf;
      x[20] = -kInf;
      const auto pn = pwlq_calibrate(x, o);
      EXPECT_EQ(pn.max_abs()[0], max_abs_of(x));
      std::vector<float> y(x.size());
      pwlq_fake_quantize(x, pn, y);
      EXPECT_EQ(y[3], 0.0f);
      EXPECT_NEAR(y[10], pn.max_abs()[0], 1e-6);
      if (variant == pwlq_variant::reference) {
        EXPECT_EQ(y[20], -pn.max_abs()[0]);  // anchored at -m: exact
      } else {
        EXPECT_NEAR(y[20], -pn.max_abs()[0], 1e-6);
      }
      EXPECT_TRUE(std::isfinite(pwlq_mse(x, pn)));
      // all NaN, empty: no finite data
      const std::vector<float> nans(5, kNaN);
      EXPECT_EQ(error_of([&] { (void)pwlq_calibrate(nans, o); }), errc::no_finite_data);
      EXPECT_EQ(error_of([&] { (void)pwlq_calibrate(std::span<const float>(), o); }), errc::no_finite_data);
      // tiny values (below 2^-100) count as zero
      const std::vector<float> tiny = {1e-35f, -2e-38f};
      EXPECT_EQ(pwlq_calibrate(tiny, o).max_abs()[0], 0.0f);
    }
  }
}

// Values up to FLT_MAX: a grid whose levels would round past FLT_MAX is refused, and calibration caps
// m at 2^127 so that every level of what it returns is finite (larger values clamp to 2^127).
TEST(PwlqEdge, LevelsNearFltMaxStayFinite) {
  const float bp[1] = {0.5f * FLT_MAX};
  EXPECT_EQ(error_of([&] { (void)pwlq_params::per_tensor(8, pwlq_variant::reference, FLT_MAX, bp); }, "beyond FLT_MAX"),
            errc::invalid_range);
  std::vector<float> x = {FLT_MAX, -FLT_MAX, 0x1p127f, -0x1.8p126f, 3e38f, -1e38f, 1.0f, -0.5f, 0.0f};
  for (int i = 1; i <= 200; ++i) x.push_back(static_cast<float>(i % 17 - 8) * 0x1p120f * static_cast<float>(i));
  for (const auto method : {pwlq_breakpoint::exact, pwlq_breakpoint::gaussian, pwlq_breakpoint::laplacian,
                            pwlq_breakpoint::grid}) {
    for (const auto variant : {pwlq_variant::reference, pwlq_variant::paper}) {
      for (const int bits : {2, 4, 8}) {
        for (const int k : {1, 2, 3}) {
          if (method != pwlq_breakpoint::exact && k != 1) continue;
          const pwlq_params p = pwlq_calibrate(x, opts(bits, method, variant, k));
          EXPECT_EQ(p.max_abs()[0], 0x1p127f);
          std::vector<float> y(x.size());
          pwlq_fake_quantize(x, p, y);
          for (std::size_t i = 0; i < y.size(); ++i) {
            ASSERT_TRUE(std::isfinite(y[i])) << to_string(method) << " " << to_string(variant) << " b=" << bits
                                             << " k=" << k << " x=" << x[i];
          }
        }
      }
    }
  }
}

TEST(PwlqEdge, ParamsValidation) {
  const float bp[1] = {1.0f};
  EXPECT_EQ(error_of([&] { (void)pwlq_params::per_tensor(1, pwlq_variant::reference, 2.0f, bp); }), errc::unsupported_width);
  EXPECT_EQ(error_of([&] { (void)pwlq_params::per_tensor(9, pwlq_variant::reference, 2.0f, bp); }), errc::unsupported_width);
  EXPECT_EQ(error_of([&] { (void)pwlq_params::per_tensor(4, pwlq_variant::reference, 1.0f, bp); }), errc::invalid_range);
  EXPECT_EQ(error_of([&] { (void)pwlq_params::per_tensor(4, pwlq_variant::reference, kNaN, bp); }), errc::invalid_range);
  EXPECT_EQ(error_of([&] { (void)pwlq_params::per_tensor(4, pwlq_variant::reference, kInf, bp); }), errc::invalid_range);
  EXPECT_EQ(error_of([&] { (void)pwlq_params::per_tensor(4, pwlq_variant::reference, -2.0f, bp); }), errc::invalid_range);
  const float bad[2] = {1.5f, 1.0f};
  EXPECT_EQ(error_of([&] { (void)pwlq_params::per_tensor(4, pwlq_variant::reference, 2.0f, bad); }), errc::invalid_range);
  const float zero[1] = {0.0f};
  EXPECT_EQ(error_of([&] { (void)pwlq_params::per_tensor(4, pwlq_variant::reference, 2.0f, zero); }), errc::invalid_range);
  const float sub[1] = {1e-44f};
  EXPECT_EQ(error_of([&] { (void)pwlq_params::per_tensor(8, pwlq_variant::reference, 2e-44f, sub); }), errc::invalid_range);
  const float four[4] = {0.1f, 0.2f, 0.3f, 0.4f};
  EXPECT_EQ(error_of([&] { (void)pwlq_params::per_tensor(4, pwlq_variant::reference, 2.0f, four); }), errc::invalid_argument);
  EXPECT_EQ(error_of([&] { (void)pwlq_params::per_tensor(4, pwlq_variant::reference, 2.0f, {}); }), errc::invalid_argument);
  EXPECT_EQ(error_of([&] { (void)pwlq_params::per_tensor(4, static_cast<pwlq_variant>(9), 2.0f, bp); }, "variant"),
            errc::invalid_argument);
  // m == 0: the zero channel, breakpoints ignored
  EXPECT_EQ(pwlq_params::per_tensor(4, pwlq_variant::reference, 0.0f, bp).breakpoints()[0], 0.0f);
  const std::int64_t shape[2] = {3, 4};
  const float ms[3] = {1.0f, 2.0f, 3.0f};
  const float bps[3] = {0.5f, 0.5f, 0.5f};
  EXPECT_EQ(error_of([&] { (void)pwlq_params::per_channel(4, pwlq_variant::reference, shape, 2, ms, bps); }), errc::invalid_axis);
  EXPECT_EQ(error_of([&] { (void)pwlq_params::per_channel(4, pwlq_variant::reference, shape, 1, ms, bps); }), errc::count_mismatch);
  const std::int64_t neg[2] = {3, -1};
  EXPECT_EQ(error_of([&] { (void)pwlq_params::per_channel(4, pwlq_variant::reference, neg, 0, ms, bps); }), errc::invalid_shape);
  const auto pc = pwlq_params::per_channel(4, pwlq_variant::reference, shape, -2, ms, bps);
  EXPECT_EQ(pc.axis(), 0);
  std::vector<float> x(11), y(12);
  std::vector<pwlq_code> c(12);
  EXPECT_EQ(error_of([&] { pwlq_quantize(x, pc, c); }), errc::size_mismatch);
  EXPECT_EQ(error_of([&] { pwlq_fake_quantize(x, pc, y); }), errc::size_mismatch);
  EXPECT_EQ(error_of([&] { (void)pwlq_calibrate(x, shape, 0); }), errc::size_mismatch);
  // A shape far larger than the data is refused before anything is allocated for its channels.
  const std::int64_t vast[2] = {std::int64_t{1} << 40, 1 << 20};
  EXPECT_EQ(error_of([&] { (void)pwlq_calibrate(x, vast, 0); }, "values given"), errc::size_mismatch);
  const std::int64_t overflowing[2] = {std::int64_t{1} << 62, std::int64_t{1} << 62};
  EXPECT_EQ(error_of([&] { (void)pwlq_calibrate(x, overflowing, 0); }, "overflows"), errc::invalid_shape);
  const std::int64_t empty[2] = {std::int64_t{1} << 40, 0};
  EXPECT_EQ(error_of([&] { (void)pwlq_calibrate(std::span<const float>(), empty, 0); }), errc::no_finite_data);
  EXPECT_EQ(error_of([&] { (void)pwlq_calibrate(y, shape, 0, opts(4, pwlq_breakpoint::grid, pwlq_variant::reference, 2)); }),
            errc::invalid_argument);
  EXPECT_EQ(error_of([&] { (void)pwlq_calibrate(y, opts(10, pwlq_breakpoint::exact)); }), errc::unsupported_width);
  EXPECT_EQ(error_of([&] { (void)pwlq_calibrate(y, opts(4, static_cast<pwlq_breakpoint>(9))); }, "method 9"),
            errc::invalid_argument);
  EXPECT_EQ(error_of([&] { (void)pwlq_calibrate(y, opts(4, pwlq_breakpoint::exact, static_cast<pwlq_variant>(5))); },
                     "variant 5"),
            errc::invalid_argument);
  EXPECT_EQ(pwlq_breakpoint_from_string("laplacian"), pwlq_breakpoint::laplacian);
  EXPECT_EQ(pwlq_variant_from_string("paper"), pwlq_variant::paper);
  EXPECT_EQ(error_of([&] { (void)pwlq_breakpoint_from_string("best"); }), errc::invalid_argument);
}

// ---- breakpoint methods ----------------------------------------------------------------------------

// The true MSE at every lattice breakpoint fl(j m / 16384), by running the quantizer.
std::pair<double, float> brute_force(const std::vector<float>& x, int bits, pwlq_variant variant) {
  const float m = max_abs_of(x);
  double best = std::numeric_limits<double>::infinity();
  float best_p = 0.0f;
  for (int j = 1; j < 16384; ++j) {
    const float p = static_cast<float>(static_cast<double>(j) * m / 16384.0);
    const double e = pwlq_mse(x, params1(bits, variant, m, p));
    if (e < best) {
      best = e;
      best_p = p;
    }
  }
  return {best, best_p};
}

TEST(PwlqExact, MatchesBruteForceOnSmallTensors) {
  int cases = 0;
  for (int kind = 0; kind < 5; ++kind) {
    for (const int bits : {2, 3, 4, 6, 8}) {
      for (const auto variant : {pwlq_variant::reference, pwlq_variant::paper}) {
        const std::size_t n = 40 + static_cast<std::size_t>(kind * 37 + bits * 11) % 160;
        const std::vector<float> x = sample(kind, n, 1000 + static_cast<unsigned>(kind * 10 + bits));
        const auto [best, best_p] = brute_force(x, bits, variant);
        const auto p = pwlq_calibrate(x, opts(bits, pwlq_breakpoint::exact, variant));
        const double e = pwlq_mse(x, p);
        EXPECT_LE(e, best * (1.0 + 1e-12) + 1e-300) << "kind " << kind << " bits " << bits << " n " << n;
        // (exact refines between the lattice neighbours of its lattice optimum, so it may be lower)
        ++cases;
      }
    }
  }
  EXPECT_EQ(cases, 50);
}

TEST(PwlqExact, NeverWorseThanGridGaussianLaplacian) {
  int tensors = 0;
  for (int kind = 0; kind < 5; ++kind) {
    for (int bits = 2; bits <= 8; ++bits) {
      const std::size_t n = 500 + static_cast<std::size_t>(kind * 1311 + bits * 977) % 9000;
      const std::vector<float> x = sample(kind, n, 77 + static_cast<unsigned>(kind * 13 + bits));
      for (const auto variant : {pwlq_variant::reference, pwlq_variant::paper}) {
        const double ex = pwlq_mse(x, pwlq_calibrate(x, opts(bits, pwlq_breakpoint::exact, variant)));
        for (const auto other : {pwlq_breakpoint::grid, pwlq_breakpoint::gaussian, pwlq_breakpoint::laplacian}) {
          const double o = pwlq_mse(x, pwlq_calibrate(x, opts(bits, other, variant)));
          EXPECT_LE(ex, o * (1.0 + 1e-12)) << "kind " << kind << " bits " << bits << " vs " << to_string(other);
        }
        ++tensors;
      }
    }
  }
  EXPECT_EQ(tensors, 70);
}

TEST(PwlqGrid, IsTheAuthorsSearch) {
  for (int kind = 0; kind < 3; ++kind) {
    const std::vector<float> x = sample(kind, 4000, 300 + static_cast<unsigned>(kind));
    for (const int bits : {3, 4, 6}) {
      const float theirs = their_grid_search(x, bits);
      const auto p = pwlq_calibrate(x, opts(bits, pwlq_breakpoint::grid));
      EXPECT_EQ(p.breakpoints()[0], theirs) << "kind " << kind << " bits " << bits;
    }
  }
}

TEST(PwlqDistribution, ClosedForms) {
  const std::vector<float> x = gaussian(100000, 2.0, 4);
  double s = 0.0, ss = 0.0;
  for (const float v : x) s += v;
  const double mean = s / static_cast<double>(x.size());
  for (const float v : x) ss += (v - mean) * (v - mean);
  const double sigma = std::sqrt(ss / static_cast<double>(x.size() - 1));
  const double ms = max_abs_of(x) / sigma;
  const auto pg = pwlq_calibrate(x, opts(4, pwlq_breakpoint::gaussian));
  const auto pl = pwlq_calibrate(x, opts(4, pwlq_breakpoint::laplacian));
  EXPECT_EQ(pg.breakpoints()[0], static_cast<float>(sigma * std::log(0.8614 * ms + 0.6079)));
  EXPECT_EQ(pl.breakpoints()[0], static_cast<float>(sigma * (0.8030 * std::sqrt(ms) - 0.3167)));
}

TEST(PwlqMulti, MoreBreakpointsLowerMse) {
  for (int kind = 0; kind < 3; ++kind) {
    const std::vector<float> x = sample(kind, 20000, 500 + static_cast<unsigned>(kind));
    for (const int bits : {3, 4, 6}) {
      double prev = std::numeric_limits<double>::infinity();
      for (int k = 1; k <= 3; ++k) {
        const auto p = pwlq_calibrate(x, opts(bits, pwlq_breakpoint::exact, pwlq_variant::reference, k));
        ASSERT_EQ(p.breakpoint_count(), k);
        const auto b = p.breakpoints();
        for (int i = 0; i + 1 < k; ++i) EXPECT_LT(b[static_cast<std::size_t>(i)], b[static_cast<std::size_t>(i) + 1]);
        const double e = pwlq_mse(x, p);
        EXPECT_LE(e, prev * 1.001) << "kind " << kind << " bits " << bits << " k " << k;
        prev = e;
        // codes: regions 0..k, round trip through the packed format
        std::vector<pwlq_code> codes(x.size());
        pwlq_quantize(x, p, codes);
        std::vector<std::uint8_t> packed(pwlq_packed_size(x.size(), p));
        pwlq_pack(codes, p, packed);
        std::vector<pwlq_code> back(x.size());
        pwlq_unpack(packed, p, back);
        EXPECT_EQ(back, codes);
      }
    }
  }
}

TEST(PwlqMulti, TwoBreakpointsMatchBruteForceOnACoarseGrid) {
  for (int kind = 0; kind < 3; ++kind) {
    const std::vector<float> x = sample(kind, 300, 900 + static_cast<unsigned>(kind));
    const float m = max_abs_of(x);
    for (const int bits : {3, 4}) {
      double best = std::numeric_limits<double>::infinity();
      for (int a = 1; a < 64; ++a) {
        for (int b = a + 1; b < 64; ++b) {
          const float bp[2] = {static_cast<float>(a * static_cast<double>(m) / 64), static_cast<float>(b * static_cast<double>(m) / 64)};
          best = std::min(best, pwlq_mse(x, pwlq_params::per_tensor(bits, pwlq_variant::reference, m, bp)));
        }
      }
      const double e = pwlq_mse(x, pwlq_calibrate(x, opts(bits, pwlq_breakpoint::exact, pwlq_variant::reference, 2)));
      EXPECT_LE(e, best * 1.001) << "kind " << kind << " bits " << bits;
    }
  }
}

// Small channels take the lattice sweep (k = 1) and exact region costs (k = 2, 3); these data are
// chosen to stress its bounds: ties, values on lattice points and decision boundaries, tiny and huge
// scales, constant magnitudes.
std::vector<float> awkward(int kind, std::size_t n, unsigned seed) {
  std::mt19937 gen(seed);
  std::vector<float> v(n);
  std::normal_distribution<float> nd(0.0f, 1.0f);
  for (auto& x : v) {
    const float sg = gen() % 2 ? 1.0f : -1.0f;
    switch (kind % 6) {
      case 0: x = static_cast<float>(static_cast<int>(gen() % 9) - 4) * 0.25f; break;       // few levels
      case 1: x = sg * static_cast<float>(gen() % 16384) * (3.0f / 16384.0f); break;         // lattice
      case 2: x = nd(gen) * 1e-20f; break;
      case 3: x = nd(gen) * nd(gen) * nd(gen) * 1e10f; break;                               // heavy tails
      case 4: x = sg * 7.0f; break;                                                         // constant |x|
      default: x = nd(gen); break;
    }
  }
  if (kind % 6 == 1) v[0] = 3.0f;
  return v;
}

TEST(PwlqExact, SmallChannelsMatchBruteForceOnAwkwardData) {
  int cases = 0;
  for (int kind = 0; kind < 6; ++kind) {
    for (const int bits : {2, 3, 5, 8}) {
      const auto variant = (kind + bits) % 2 ? pwlq_variant::reference : pwlq_variant::paper;
      const std::size_t n = 1 + static_cast<std::size_t>(kind * 29 + bits * 13) % 120;
      const std::vector<float> x = awkward(kind, n, 40 + static_cast<unsigned>(kind * 10 + bits));
      const auto [best, best_p] = brute_force(x, bits, variant);
      const auto p = pwlq_calibrate(x, opts(bits, pwlq_breakpoint::exact, variant));
      EXPECT_LE(pwlq_mse(x, p), best * (1.0 + 1e-12) + 1e-300) << "kind " << kind << " bits " << bits << " n " << n;
      ++cases;
    }
  }
  EXPECT_EQ(cases, 24);
}

TEST(PwlqExact, HistogramPathMatchesBruteForce) {
  // 3000 values: above the small-channel limit, so the histogram search (stride 1 up to 4 bits)
  for (const int bits : {3, 4}) {
    const std::vector<float> x = sample(bits, 3000, 61 + static_cast<unsigned>(bits));
    const auto [best, best_p] = brute_force(x, bits, pwlq_variant::reference);
    const auto p = pwlq_calibrate(x, opts(bits, pwlq_breakpoint::exact));
    EXPECT_LE(pwlq_mse(x, p), best * (1.0 + 1e-12)) << "bits " << bits;
  }
}

TEST(PwlqMulti, SmallChannelsAtLeastTheCoarseLatticeOptimum) {
  // k = 2 on small channels: the dynamic programming is exact on the lattice j * 64 (j * m / 256),
  // and the coordinate descent only improves on it.
  for (int kind = 0; kind < 2; ++kind) {
    const std::vector<float> x = sample(kind, 150, 700 + static_cast<unsigned>(kind));
    const float m = max_abs_of(x);
    for (const int bits : {4, 8}) {
      double best = std::numeric_limits<double>::infinity();
      for (int a = 1; a < 256; ++a) {
        for (int b = a + 1; b < 256; ++b) {
          const float bp[2] = {static_cast<float>(a * 64 * static_cast<double>(m) / 16384),
                               static_cast<float>(b * 64 * static_cast<double>(m) / 16384)};
          best = std::min(best, pwlq_mse(x, pwlq_params::per_tensor(bits, pwlq_variant::reference, m, bp)));
        }
      }
      const double e = pwlq_mse(x, pwlq_calibrate(x, opts(bits, pwlq_breakpoint::exact, pwlq_variant::reference, 2)));
      EXPECT_LE(e, best * (1.0 + 1e-9)) << "kind " << kind << " bits " << bits;
    }
  }
}

// ---- per-channel -----------------------------------------------------------------------------------

TEST(PwlqPerChannel, AnyAxisEqualsPerTensorOnEachSlice) {
  const std::int64_t shape[3] = {4, 3, 5};
  std::vector<float> x = laplace(60, 1.0, 21);
  for (std::size_t i = 0; i < x.size(); ++i) x[i] *= 1.0f + static_cast<float>(i % 5);
  for (const int axis : {0, 1, 2, -1}) {
    const auto p = pwlq_calibrate(x, shape, axis, opts(4, pwlq_breakpoint::exact));
    const int ax = axis < 0 ? axis + 3 : axis;
    EXPECT_EQ(p.channels(), static_cast<std::size_t>(shape[ax]));
    std::vector<float> y(x.size());
    pwlq_fake_quantize(x, p, y);
    for (std::int64_t c = 0; c < shape[ax]; ++c) {
      std::vector<float> slice;
      std::vector<std::size_t> where;
      for (std::size_t i = 0; i < x.size(); ++i) {
        const std::int64_t idx[3] = {static_cast<std::int64_t>(i / 15), static_cast<std::int64_t>(i / 5 % 3),
                                     static_cast<std::int64_t>(i % 5)};
        if (idx[ax] == c) {
          slice.push_back(x[i]);
          where.push_back(i);
        }
      }
      const auto pt = pwlq_calibrate(slice, opts(4, pwlq_breakpoint::exact));
      EXPECT_EQ(pt.max_abs()[0], p.max_abs()[static_cast<std::size_t>(c)]);
      EXPECT_EQ(pt.breakpoints()[0], p.breakpoints()[static_cast<std::size_t>(c)]);
      std::vector<float> ys(slice.size());
      pwlq_fake_quantize(slice, pt, ys);
      for (std::size_t t = 0; t < slice.size(); ++t) EXPECT_TRUE(same_bits(ys[t], y[where[t]]));
    }
  }
}

TEST(PwlqPerChannel, WeightMatrix128x250) {
  // A [128, 250] weight matrix, one channel per row: each channel equals the per-tensor search on its
  // row (bit for bit), and a few rows match a brute-force scan of the lattice.
  const std::int64_t shape[2] = {128, 250};
  std::vector<float> w = gaussian(128 * 250, 0.05, 8);
  for (std::size_t i = 0; i < w.size(); i += 97) w[i] *= 6.0f;  // some outliers
  for (const int bits : {4, 8}) {
    for (const int k : {1, 2}) {
      if (bits == 8 && k == 2) continue;  // (slow under sanitizers)
      const auto o = opts(bits, pwlq_breakpoint::exact, pwlq_variant::reference, k);
      const pwlq_params pc = pwlq_calibrate(w, shape, 0, o);
      for (std::size_t c = 0; c < 128; ++c) {
        const std::vector<float> row(w.begin() + static_cast<std::ptrdiff_t>(c * 250),
                                     w.begin() + static_cast<std::ptrdiff_t>(c * 250 + 250));
        const pwlq_params pt = pwlq_calibrate(row, o);
        ASSERT_EQ(pc.max_abs()[c], pt.max_abs()[0]);
        for (int r = 0; r < k; ++r) {
          ASSERT_EQ(pc.breakpoints()[c * static_cast<std::size_t>(k) + static_cast<std::size_t>(r)],
                    pt.breakpoints()[static_cast<std::size_t>(r)]) << "channel " << c;
        }
        if (k == 1 && c % 64 == 5) {
          const auto [best, best_p] = brute_force(row, bits, pwlq_variant::reference);
          EXPECT_LE(pwlq_mse(row, pt), best * (1.0 + 1e-12)) << "channel " << c << " bits " << bits;
        }
      }
    }
  }
}

// ---- packing ---------------------------------------------------------------------------------------

TEST(PwlqPack, LayoutAndRoundTrip) {
  const auto p = params1(3, pwlq_variant::reference, 4.0f, 1.0f);
  const std::vector<pwlq_code> codes = {{-4, 0}, {3, 1}, {-1, 1}, {0, 0}, {2, 0}};
  EXPECT_EQ(pwlq_packed_size(5, p), 2u + 1u);
  std::vector<std::uint8_t> packed(3);
  pwlq_pack(codes, p, packed);
  // code plane: 100 011 111 000 010 (LSB first) -> bits 0..14
  // byte 0 = bits 0..7: 0,0,1, 1,1,0, 1,1 -> 0b11011100 = 0xdc; byte 1: 1,0,0,0, 0,1,0 -> 0b0100001 = 0x21
  EXPECT_EQ(packed[0], 0xdc);
  EXPECT_EQ(packed[1], 0x21);
  EXPECT_EQ(packed[2], 0x06);  // regions 0,1,1,0,0
  std::vector<pwlq_code> back(5);
  pwlq_unpack(packed, p, back);
  EXPECT_EQ(back, codes);
  std::vector<std::uint8_t> wrong(4);
  EXPECT_EQ(error_of([&] { pwlq_pack(codes, p, wrong); }), errc::size_mismatch);
  const std::vector<pwlq_code> bad = {{4, 0}};
  std::vector<std::uint8_t> one(2);
  EXPECT_EQ(error_of([&] { pwlq_pack(bad, p, one); }), errc::invalid_argument);
  const std::vector<pwlq_code> badr = {{0, 2}};
  EXPECT_EQ(error_of([&] { pwlq_pack(badr, p, one); }), errc::invalid_argument);
  // a region field of 2 or 3 with k = 2 is fine, 3 is corrupt
  const float bp2[2] = {1.0f, 2.0f};
  const auto p2 = pwlq_params::per_tensor(3, pwlq_variant::reference, 4.0f, bp2);
  std::vector<std::uint8_t> bytes = {0x00, 0x03};
  std::vector<pwlq_code> out(1);
  EXPECT_EQ(error_of([&] { pwlq_unpack(bytes, p2, out); }), errc::corrupt_data);
  // random round trips at every width
  const std::vector<float> x = student(1001, 4.0, 3);
  for (int bits = 2; bits <= 8; ++bits) {
    const auto q = pwlq_calibrate(x, opts(bits, pwlq_breakpoint::exact));
    std::vector<pwlq_code> c(x.size());
    pwlq_quantize(x, q, c);
    std::vector<std::uint8_t> pk(pwlq_packed_size(x.size(), q));
    EXPECT_EQ(pk.size(), (1001u * static_cast<unsigned>(bits) + 7) / 8 + (1001 + 7) / 8);
    pwlq_pack(c, q, pk);
    std::vector<pwlq_code> r(x.size());
    pwlq_unpack(pk, q, r);
    EXPECT_EQ(r, c);
  }
}

// ---- bias correction -------------------------------------------------------------------------------

TEST(PwlqBiasCorrection, RestoresChannelMeanAndStd) {
  const std::int64_t shape[2] = {8, 300};
  std::vector<float> x = laplace(2400, 0.1, 31);
  for (std::size_t i = 0; i < x.size(); ++i) x[i] += 0.01f * static_cast<float>(i / 300);  // channel means differ
  const auto p = pwlq_calibrate(x, shape, 0, opts(3, pwlq_breakpoint::exact));
  for (const auto kind : {bias_correction_kind::mean, bias_correction_kind::mean_std}) {
    const pwlq_correction corr = pwlq_bias_correction(x, p, kind);
    ASSERT_EQ(corr.shift.size(), 8u);
    std::vector<float> y(x.size());
    pwlq_fake_quantize(x, p, y);
    pwlq_apply_bias_correction(y, p, corr);
    for (std::size_t c = 0; c < 8; ++c) {
      double mx = 0, my = 0, vx = 0, vy = 0;
      for (std::size_t i = c * 300; i < c * 300 + 300; ++i) {
        mx += x[i];
        my += y[i];
      }
      mx /= 300;
      my /= 300;
      for (std::size_t i = c * 300; i < c * 300 + 300; ++i) {
        vx += (x[i] - mx) * (x[i] - mx);
        vy += (y[i] - my) * (y[i] - my);
      }
      if (kind == bias_correction_kind::mean) {
        EXPECT_NEAR(my, mx, 1e-6);
        EXPECT_EQ(corr.gain[c], 1.0f);
      } else {
        EXPECT_NEAR(std::sqrt(vy), std::sqrt(vx), 1e-5);
        EXPECT_NEAR(my, mx * static_cast<double>(corr.gain[c]), 1e-6);  // (y + mean x - mean y) * gain
      }
    }
  }
  pwlq_correction wrong;
  wrong.shift.assign(3, 0.0f);
  wrong.gain.assign(3, 1.0f);
  std::vector<float> y(x.size());
  EXPECT_EQ(error_of([&] { pwlq_apply_bias_correction(y, p, wrong); }), errc::count_mismatch);
}

// ---- evaluation (the README's numbers) -------------------------------------------------------------

double uniform_maxrange_mse(const std::vector<float>& x, int bits) {
  const float m = max_abs_of(x);
  const auto q = params_from_range(-m, m, code_format{bits, true, false}, true);
  return measure_error(uniform_quantizer<std::int8_t>(q), std::span<const float>(x)).mse;
}

double uniform_mseclip_mse(const std::vector<float>& x, int bits) {
  calibrator_spec spec;
  spec.kind = calibrator::mse;
  observer obs(spec);
  obs.observe(x);
  const auto q = obs.compute_params(code_format{bits, true, false}, true);
  return measure_error(uniform_quantizer<std::int8_t>(q), std::span<const float>(x)).mse;
}

struct row {
  double exact, grid, gaussian, laplacian, uniform, clip;
};

row evaluate(const std::vector<float>& x, int bits, pwlq_variant variant = pwlq_variant::reference) {
  row r;
  r.exact = pwlq_mse(x, pwlq_calibrate(x, opts(bits, pwlq_breakpoint::exact, variant)));
  r.grid = pwlq_mse(x, pwlq_calibrate(x, opts(bits, pwlq_breakpoint::grid, variant)));
  r.gaussian = pwlq_mse(x, pwlq_calibrate(x, opts(bits, pwlq_breakpoint::gaussian, variant)));
  r.laplacian = pwlq_mse(x, pwlq_calibrate(x, opts(bits, pwlq_breakpoint::laplacian, variant)));
  r.uniform = uniform_maxrange_mse(x, bits);
  r.clip = uniform_mseclip_mse(x, bits);
  return r;
}

void print_row(const char* data, int bits, const row& r) {
  std::printf("[pwlq] | %s | %d | %.4g | %.4g | %.4g | %.4g | %.4g | %.4g | %.3f |\n", data, bits, r.exact, r.grid,
              r.gaussian, r.laplacian, r.uniform, r.clip, r.exact / r.uniform);
}

void check_row(const char* data, int bits, const row& r) {
  EXPECT_LE(r.exact, r.grid * (1 + 1e-12)) << data << " " << bits;
  EXPECT_LE(r.exact, r.gaussian * (1 + 1e-12)) << data << " " << bits;
  EXPECT_LE(r.exact, r.laplacian * (1 + 1e-12)) << data << " " << bits;
  EXPECT_LE(r.exact, 9.0 / 16.0 * r.uniform) << data << " " << bits;  // the paper's bound
}

TEST(PwlqEvaluation, LaplaceFourBitsBeatsUniformWithMseClipping) {
  const std::vector<float> x = laplace(1000000, 1.0, 2024);
  const double pw = pwlq_mse(x, pwlq_calibrate(x, opts(4, pwlq_breakpoint::exact)));
  const double clip = uniform_mseclip_mse(x, 4);
  std::printf("[pwlq] Laplace(0,1), 10^6 values, 4 bits: PWLQ exact MSE %.6g, uniform MSE-optimal clipping MSE %.6g\n",
              pw, clip);
  EXPECT_LT(pw, clip);
}

TEST(PwlqEvaluation, SyntheticTableAndNineSixteenthsBound) {
  std::printf("[pwlq] | data | bits | exact | grid | gaussian | laplacian | uniform max | uniform MSE-clip | exact/uniform |\n");
  const std::vector<float> g = gaussian(100000, 1.0, 42);
  const std::vector<float> l = laplace(100000, 1.0, 43);
  for (int bits = 2; bits <= 8; ++bits) {
    for (const auto& [name, x] : {std::pair<const char*, const std::vector<float>*>{"Gaussian", &g}, {"Laplace", &l}}) {
      const row r = evaluate(*x, bits);
      print_row(name, bits, r);
      check_row(name, bits, r);
      // The paper's bound: optimal b-bit PWLQ MSE <= 9/16 of b-bit uniform (max range) MSE, b >= 2.
      EXPECT_LE(r.exact, 9.0 / 16.0 * r.uniform) << name << " " << bits;
      const row rp{pwlq_mse(*x, pwlq_calibrate(*x, opts(bits, pwlq_breakpoint::exact, pwlq_variant::paper))), 0, 0, 0,
                   r.uniform, r.clip};
      std::printf("[pwlq]   paper variant exact %.4g (%.3f of uniform)\n", rp.exact, rp.exact / r.uniform);
    }
  }
}

TEST(PwlqEvaluation, ConvLikePerChannel) {
  // [64, 3, 3, 32] conv weights: per output channel a Student-t(5) bell with its own scale.
  const std::int64_t shape[4] = {64, 3, 3, 32};
  const std::size_t per = 3 * 3 * 32;
  std::vector<float> w = student(64 * per, 5.0, 8);
  std::mt19937 gen(9);
  std::lognormal_distribution<double> scale(-3.0, 0.5);
  for (std::size_t c = 0; c < 64; ++c) {
    const float s = static_cast<float>(scale(gen));
    for (std::size_t i = 0; i < per; ++i) w[c * per + i] *= s;
  }
  for (int bits = 2; bits <= 8; ++bits) {
    row r{};
    r.exact = pwlq_mse(w, pwlq_calibrate(w, shape, 0, opts(bits, pwlq_breakpoint::exact)));
    r.grid = pwlq_mse(w, pwlq_calibrate(w, shape, 0, opts(bits, pwlq_breakpoint::grid)));
    r.gaussian = pwlq_mse(w, pwlq_calibrate(w, shape, 0, opts(bits, pwlq_breakpoint::gaussian)));
    r.laplacian = pwlq_mse(w, pwlq_calibrate(w, shape, 0, opts(bits, pwlq_breakpoint::laplacian)));
    // uniform per channel with max range
    std::vector<float> scales(64);
    for (std::size_t c = 0; c < 64; ++c) {
      float m = 0.0f;
      for (std::size_t i = 0; i < per; ++i) m = std::max(m, std::fabs(w[c * per + i]));
      scales[c] = m / static_cast<float>((1 << (bits - 1)) - 1);
    }
    const auto uq = quant_params::per_channel(code_format{bits, true, false}, shape, 0, scales);
    r.uniform = measure_error(uniform_quantizer<std::int8_t>(uq), std::span<const float>(w)).mse;
    calibrator_spec spec;
    spec.kind = calibrator::mse;
    observer obs(spec, 0);
    obs.observe(w, shape);
    r.clip = measure_error(uniform_quantizer<std::int8_t>(obs.compute_params(code_format{bits, true, false}, true)),
                           std::span<const float>(w))
                 .mse;
    print_row("conv [64,3,3,32] per-channel", bits, r);
    check_row("conv", bits, r);
    // the per-channel exact breakpoints are each channel's own optimum: never worse per channel either
  }
}

TEST(PwlqEvaluation, GnubgWeights) {
  const std::filesystem::path path = std::filesystem::path(LOWBIT_DATA_DIR) / "root/usr/lib/gnubg/gnubg.wd";
  ASSERT_TRUE(std::filesystem::exists(path)) << path << " is missing (cmake/fetch_data.cmake fetches it)";
  const auto nets = io::read_gnubg_weights(path);
  ASSERT_EQ(nets.size(), 6u);
  int tensors = 0;
  for (const auto& net : nets) {
    for (int which = 0; which < 2; ++which) {
      const std::vector<float>& w = which == 0 ? net.hidden_weights : net.output_weights;
      const std::string name = net.name + (which == 0 ? ".hidden" : ".output");
      for (const int bits : {2, 3, 4, 5, 6, 8}) {
        const row r = evaluate(w, bits);
        if (net.name == "contact" || net.name == "race") print_row(name.c_str(), bits, r);
        check_row(name.c_str(), bits, r);
        ++tensors;
      }
      // per channel (hidden weights: [I][H], the output channel is axis 1; output weights [O][H], axis 0)
      const auto shape = which == 0 ? net.hidden_weights_shape() : net.output_weights_shape();
      const int axis = which == 0 ? 1 : 0;
      for (const int bits : {3, 4}) {
        const double ex = pwlq_mse(w, pwlq_calibrate(w, shape, axis, opts(bits, pwlq_breakpoint::exact)));
        for (const auto other : {pwlq_breakpoint::grid, pwlq_breakpoint::gaussian, pwlq_breakpoint::laplacian}) {
          EXPECT_LE(ex, pwlq_mse(w, pwlq_calibrate(w, shape, axis, opts(bits, other))) * (1 + 1e-12)) << name;
        }
      }
    }
  }
  EXPECT_EQ(tensors, 72);
}

}  // namespace
}  // namespace lowbit
