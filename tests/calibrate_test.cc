// lowbit — calibration observers: numbers, not only that calls succeed.
// SPDX-License-Identifier: Apache-2.0
#include "lowbit/calibrate.h"

#include <gtest/gtest.h>

#include "support/lowbit_error.h"
#include "support/random_data.h"

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstdint>
#include <functional>
#include <iostream>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "lowbit/error.h"
#include "lowbit/quantizer.h"
#include "lowbit/uniform.h"

namespace lowbit {
namespace {

using test_data::gaussian;
using test_data::laplace;

constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();
constexpr float kInf = std::numeric_limits<float>::infinity();

const calibrator kAllKinds[] = {calibrator::min_max,    calibrator::moving_average, calibrator::percentile,
                                calibrator::top_k_median, calibrator::mse,          calibrator::entropy,
                                calibrator::sqnr};

calibrator_spec spec_of(calibrator k) {
  calibrator_spec s;
  s.kind = k;
  return s;
}

std::string name_of(calibrator k) { return spec_of(k).to_string(); }

template <class F>
void expect_errc(errc code, F&& f) {
  EXPECT_EQ(error_of(std::forward<F>(f)), code);
}

quant_params calibrate(calibrator_spec spec, const std::vector<float>& data, code_format f, bool symmetric,
                       profile numerics = profile::onnx) {
  observer o(spec);
  o.observe(data);
  return o.compute_params(f, symmetric, numerics);
}

error_stats measure(const quant_params& p, const std::vector<float>& data) {
  std::vector<float> out(data.size());
  fake_quantize(data, p, out);
  error_stats s;
  double signal = 0.0, noise = 0.0;
  for (std::size_t i = 0; i < data.size(); ++i) {
    const double e = static_cast<double>(out[i]) - data[i];
    signal += static_cast<double>(data[i]) * data[i];
    noise += e * e;
  }
  s.count = data.size();
  s.mse = noise / static_cast<double>(data.size());
  s.sqnr_db = 10.0 * std::log10(signal / noise);
  return s;
}

// ----------------------------------------------------------------------------------------------------
// params_for_range

// At FLT_MAX the extreme levels would overflow (the zero point's rounding, the extra negative code):
// the scale is lowered until they are finite, and an observer of finite data never gives ±Inf levels.
TEST(ParamsForRange, AtFltMaxEveryLevelIsFinite) {
  constexpr float kMax = FLT_MAX;
  for (const code_format f : {code_format::uint8(), code_format::int8(), code_format::int8(true), code_format::int16()}) {
    for (const bool symmetric : {false, true}) {
      for (const auto& [lo, hi] : {std::pair{-kMax, kMax}, std::pair{-kMax, 0.0f}, std::pair{-1.0f, kMax}}) {
        const auto [s, z] = params_for_range(lo, hi, f, symmetric);
        EXPECT_LE(std::abs((f.qmin() - static_cast<double>(z)) * s), kMax) << f.bits << " " << symmetric;
        EXPECT_LE(std::abs((f.qmax() - static_cast<double>(z)) * s), kMax) << f.bits << " " << symmetric;
      }
    }
  }
  // Observers, including a constant channel's exact-round-trip scale search.
  const auto every_level_finite = [](const quant_params& p) {
    const code_format f = p.format();
    for (std::int32_t q = f.qmin(); q <= f.qmax(); ++q) {
      if (!std::isfinite(static_cast<float>(q - p.zero_points()[0]) * p.scales()[0])) return false;
    }
    return true;
  };
  for (const std::vector<float>& x : {std::vector<float>{-kMax, kMax, 0.0f, 1.0f}, std::vector<float>(4, 2e38f),
                                      std::vector<float>(4, kMax), std::vector<float>(4, -kMax)}) {
    observer obs(calibrator_spec::parse("minmax"));
    obs.observe(std::span<const float>(x));
    for (const code_format f : {code_format::uint8(), code_format::int8(), code_format{2, true, false}}) {
      for (const bool symmetric : {false, true}) {
        EXPECT_TRUE(every_level_finite(obs.compute_params(f, symmetric))) << x[0] << " " << f.bits << " " << symmetric;
      }
    }
  }
}

TEST(ParamsForRange, HandComputed) {
  // asymmetric: scale = (hi - lo) / (qmax - qmin), zp = round_half_even(qmin - lo / scale)
  auto [s, z] = params_for_range(-1.0f, 3.0f, code_format::uint8(), false);
  EXPECT_EQ(s, 4.0f / 255.0f);
  EXPECT_EQ(z, 64);  // 0 + 63.75
  std::tie(s, z) = params_for_range(-1.0f, 3.0f, code_format::int8(), false);
  EXPECT_EQ(s, 4.0f / 255.0f);
  EXPECT_EQ(z, -64);  // -128 + 63.75
  std::tie(s, z) = params_for_range(-1.0f, 3.0f, code_format::int8(true), false);
  EXPECT_EQ(s, 4.0f / 254.0f);  // narrow range in the scale
  EXPECT_EQ(z, static_cast<std::int32_t>(std::nearbyint(-127.0f - (-1.0f) / (4.0f / 254.0f))));
  std::tie(s, z) = params_for_range(-1.0f, 3.0f, code_format::uint4(), false);
  EXPECT_EQ(s, 4.0f / 15.0f);
  EXPECT_EQ(z, 4);  // 3.75
  // symmetric
  std::tie(s, z) = params_for_range(-1.0f, 3.0f, code_format::int8(), true);
  EXPECT_EQ(s, 3.0f / 127.0f);
  EXPECT_EQ(z, 0);
  std::tie(s, z) = params_for_range(-2.54f, 1.0f, code_format::int8(true), true);
  EXPECT_EQ(s, 2.54f / 127.0f);
  EXPECT_EQ(z, 0);
  std::tie(s, z) = params_for_range(-1.0f, 3.0f, code_format::uint8(), true);
  EXPECT_EQ(s, 3.0f / 127.0f);
  EXPECT_EQ(z, 128);
  std::tie(s, z) = params_for_range(-1.0f, 3.0f, code_format::int4(), true);
  EXPECT_EQ(s, 3.0f / 7.0f);
  EXPECT_EQ(z, 0);
  // a zero-width range
  std::tie(s, z) = params_for_range(0.0f, 0.0f, code_format::uint8(), false);
  EXPECT_EQ(s, 1.0f);
  EXPECT_EQ(z, 0);
  std::tie(s, z) = params_for_range(0.0f, 0.0f, code_format::int8(), false);
  EXPECT_EQ(s, 1.0f);
  EXPECT_EQ(z, -128);
  std::tie(s, z) = params_for_range(0.0f, 0.0f, code_format::uint8(), true);
  EXPECT_EQ(s, 1.0f);
  EXPECT_EQ(z, 128);
}

TEST(ParamsForRange, ScaleExtremes) {
  auto [s, z] = params_for_range(0.0f, 1e-40f, code_format::uint8(), false);
  EXPECT_EQ(s, FLT_MIN);
  EXPECT_EQ(z, 0);
  std::tie(s, z) = params_for_range(-1e-39f, 0.0f, code_format::int8(), true);
  EXPECT_EQ(s, FLT_MIN);
  std::tie(s, z) = params_for_range(-3e38f, 3e38f, code_format::uint8(), false);  // hi - lo overflows
  EXPECT_TRUE(std::isfinite(s));
  EXPECT_NEAR(s, 6e38 / 255.0, 1e32);
  EXPECT_GE(z, 127);
  EXPECT_LE(z, 128);
}

TEST(ParamsForRange, Errors) {
  expect_errc(errc::invalid_range, [] { params_for_range(0.5f, 1.0f, code_format::int8(), false); });
  expect_errc(errc::invalid_range, [] { params_for_range(-1.0f, -0.5f, code_format::int8(), false); });
  expect_errc(errc::invalid_range, [] { params_for_range(kNaN, 1.0f, code_format::int8(), false); });
  expect_errc(errc::invalid_range, [] { params_for_range(-1.0f, kInf, code_format::int8(), true); });
  expect_errc(errc::unsupported_width, [] { params_for_range(-1.0f, 1.0f, code_format{17, true, false}, false); });
  expect_errc(errc::unsupported_width, [] { params_for_range(-1.0f, 1.0f, code_format{1, false, false}, true); });
}

// ONNX DynamicQuantizeLinear's documented examples (min-max, uint8, asymmetric), bit for bit.
TEST(MinMax, OnnxDynamicQuantizeLinearExamples) {
  struct example {
    std::vector<float> x;
    float scale;
    std::int32_t zero_point;
  };
  const example examples[] = {
      {{0.0f, 2.0f, -3.0f, -2.5f, 1.34f, 0.5f}, 0.0196078438f, 153},
      {{-1.0f, -2.1f, -1.3f, -2.5f, -3.34f, -4.0f}, 0.0156862754f, 255},
      {{1.0f, 2.1f, 1.3f, 2.5f, 3.34f, 4.0f, 1.5f, 2.6f, 3.9f, 4.0f, 3.0f, 2.34f}, 0.0156862754f, 0},
  };
  for (const auto& ex : examples) {
    const quant_params p = calibrate(spec_of(calibrator::min_max), ex.x, code_format::uint8(), false);
    EXPECT_EQ(p.scales()[0], ex.scale);
    EXPECT_EQ(p.zero_points()[0], ex.zero_point);
  }
  // The first example's codes: [153, 255, 0, 26, 221, 179].
  const quant_params p = calibrate(spec_of(calibrator::min_max), examples[0].x, code_format::uint8(), false);
  std::vector<std::uint8_t> q(examples[0].x.size());
  quantize<std::uint8_t>(examples[0].x, p, q);
  EXPECT_EQ(q, (std::vector<std::uint8_t>{153, 255, 0, 26, 221, 179}));
}

// ----------------------------------------------------------------------------------------------------
// min-max, moving average

TEST(MinMax, HandComputedParams) {
  const std::vector<float> x = {-1.0f, 0.5f, 3.0f, 2.0f};
  const auto mm = spec_of(calibrator::min_max);
  observer o(mm);
  o.observe(x);
  EXPECT_EQ(o.range(code_format::int8(), false), std::make_pair(-1.0f, 3.0f));
  struct row {
    code_format f;
    bool symmetric;
    float scale;
    std::int32_t zp;
  };
  const row rows[] = {
      {code_format::uint8(), false, 4.0f / 255.0f, 64},  {code_format::int8(), false, 4.0f / 255.0f, -64},
      {code_format::int8(), true, 3.0f / 127.0f, 0},     {code_format::int8(true), true, 3.0f / 127.0f, 0},
      {code_format::uint8(), true, 3.0f / 127.0f, 128},  {code_format::uint8(true), true, 3.0f / 127.0f, 128},
      {code_format::uint8(true), false, 4.0f / 254.0f, 1 + 63 /* 1 + 63.5 -> 64.5 -> 64 */},
      {code_format::int4(), true, 3.0f / 7.0f, 0},       {code_format::uint4(), false, 4.0f / 15.0f, 4},
      {code_format::int16(), false, 4.0f / 65535.0f, static_cast<std::int32_t>(std::nearbyint(-32768.0f + 1.0f / (4.0f / 65535.0f)))},
  };
  for (const auto& r : rows) {
    const quant_params p = o.compute_params(r.f, r.symmetric);
    EXPECT_EQ(p.scales()[0], r.scale) << r.f.bits << " " << r.f.is_signed << " " << r.f.narrow << " " << r.symmetric;
    EXPECT_EQ(p.zero_points()[0], r.zp) << r.f.bits << " " << r.f.is_signed << " " << r.f.narrow << " " << r.symmetric;
    EXPECT_EQ(p.granularity(), granularity::per_tensor);
  }
  // uint8 narrow asymmetric: 1 - (-1) / (4 / 254) = 64.5 in float32 -> ties to even -> 64.
  EXPECT_EQ(1.0f - (-1.0f) / (4.0f / 254.0f), 64.5f);
  // all positive: the range starts at 0; all negative: it ends at 0.
  const quant_params pos = calibrate(mm, {1.0f, 2.0f, 5.0f}, code_format::uint8(), false);
  EXPECT_EQ(pos.scales()[0], 5.0f / 255.0f);
  EXPECT_EQ(pos.zero_points()[0], 0);
  const quant_params neg = calibrate(mm, {-4.0f, -2.0f}, code_format::uint8(), false);
  EXPECT_EQ(neg.scales()[0], 4.0f / 255.0f);
  EXPECT_EQ(neg.zero_points()[0], 255);
  const quant_params neg8 = calibrate(mm, {-4.0f, -2.0f}, code_format::int8(), false);
  EXPECT_EQ(neg8.zero_points()[0], 127);
}

TEST(MinMax, ManyBatchesAndProfiles) {
  observer o(spec_of(calibrator::min_max));
  o.observe(std::vector<float>{0.25f, 1.0f});
  o.observe(std::vector<float>{});
  o.observe(std::vector<float>{-0.5f});
  o.observe(std::vector<float>{2.0f, 0.0f});
  EXPECT_EQ(o.range(code_format::int8(), false), std::make_pair(-0.5f, 2.0f));
  EXPECT_EQ(o.finite_count(), 5u);
  for (const profile pr : {profile::onnx, profile::pytorch, profile::tflite}) {
    const quant_params p = o.compute_params(code_format::uint8(), false, pr);
    EXPECT_EQ(p.numerics(), pr);
    EXPECT_EQ(p.scales()[0], 2.5f / 255.0f);
    EXPECT_EQ(p.zero_points()[0], 51);  // 0.5 / (2.5 / 255) = 51.0
  }
}

TEST(MovingAverage, HandComputed) {
  calibrator_spec s = spec_of(calibrator::moving_average);
  s.momentum = 0.9;
  observer o(s);
  o.observe(std::vector<float>{-1.0f, 2.0f, 0.5f});  // sets r = [-1, 2]
  EXPECT_EQ(o.range(code_format::int8(), false), std::make_pair(-1.0f, 2.0f));
  o.observe(std::vector<float>{-3.0f, 4.0f});         // [-1.2, 2.2]
  EXPECT_FLOAT_EQ(o.range(code_format::int8(), false).first, -1.2f);
  EXPECT_FLOAT_EQ(o.range(code_format::int8(), false).second, 2.2f);
  o.observe(std::vector<float>{});                    // empty: no update
  o.observe(std::vector<float>{kNaN, kInf});          // nothing finite: no update
  o.observe(std::vector<float>{0.5f, 1.0f});          // [-1.03, 2.08]
  const auto r = o.range(code_format::int8(), false);
  EXPECT_EQ(r.first, static_cast<float>(0.9 * (0.9 * -1.0 + 0.1 * -3.0) + 0.1 * 0.5));
  EXPECT_EQ(r.second, static_cast<float>(0.9 * (0.9 * 2.0 + 0.1 * 4.0) + 0.1 * 1.0));
  EXPECT_FLOAT_EQ(r.first, -1.03f);
  EXPECT_FLOAT_EQ(r.second, 2.08f);
  const quant_params p = o.compute_params(code_format::uint8(), false);
  EXPECT_EQ(p.scales()[0], (r.second - r.first) / 255.0f);
  EXPECT_EQ(p.zero_points()[0], static_cast<std::int32_t>(std::nearbyint(-r.first / p.scales()[0])));
  EXPECT_EQ(o.nonfinite_count(), 2u);
  // momentum 0: the last batch alone.
  s.momentum = 0.0;
  observer last(s);
  last.observe(std::vector<float>{-5.0f, 5.0f});
  last.observe(std::vector<float>{-1.0f, 1.0f});
  EXPECT_EQ(last.range(code_format::int8(), false), std::make_pair(-1.0f, 1.0f));
}

// ----------------------------------------------------------------------------------------------------
// percentile

TEST(Percentile, IntegersWithinABin) {
  std::vector<float> x;
  for (int i = -500; i <= 500; ++i) x.push_back(static_cast<float>(i));
  std::shuffle(x.begin(), x.end(), std::mt19937(7));
  const double bin = 1000.0 / 2048.0;
  for (const double p : {99.0, 90.0, 75.0, 99.9}) {
    calibrator_spec s = spec_of(calibrator::percentile);
    s.percentile = p;
    observer o(s);
    o.observe(std::span<const float>(x).first(400));
    o.observe(std::span<const float>(x).subspan(400));
    const auto [lo, hi] = o.range(code_format::int8(), false);
    // The value with a fraction p of the 1001 values at or below it: sorted index ceil(p/100 * 1001) - 1.
    const double want_hi = -500.0 + std::ceil(p / 100.0 * 1001.0) - 1.0;
    const double want_lo = -500.0 + std::ceil((100.0 - p) / 100.0 * 1001.0) - 1.0;
    EXPECT_NEAR(hi, want_hi, bin) << p;
    EXPECT_NEAR(lo, want_lo, bin) << p;
  }
  // p = 99: hand-checked: 990 values lie below 490, the bin holding 490 gets 0.99 of its width.
  calibrator_spec s = spec_of(calibrator::percentile);
  s.percentile = 99.0;
  observer o(s);
  o.observe(x);
  const auto [lo, hi] = o.range(code_format::int8(), false);
  EXPECT_NEAR(hi, 490.0, bin);
  EXPECT_NEAR(lo, -490.0, bin);
  EXPECT_GT(hi, 489.5f);
  EXPECT_LT(lo, -489.5f);
}

// Exactly (100 - p)% of the values are outliers: the cumulative count of the inliers' top bin equals
// p% of N, and the range must end there whether or not p / 100 * N rounds up in double
// (99.9 / 100 * 1000 = 999.0000000000001, 99.8 / 100 * 1000 = 998 exactly). Mirrored for the low tail.
TEST(Percentile, TailOfExactlyHundredMinusPPercent) {
  const double bin = 1000.0 / 2048.0;  // the histogram spans [0, 1000]
  for (const auto& [p, outliers] : {std::pair{99.9, 1}, std::pair{99.8, 2}, std::pair{99.5, 5}}) {
    for (const float sign : {1.0f, -1.0f}) {
      std::vector<float> x;
      for (int i = 0; i < 1000 - outliers; ++i) x.push_back(sign * static_cast<float>(i % 100) / 100.0f);
      for (int i = 0; i < outliers; ++i) x.push_back(sign * 1000.0f);
      calibrator_spec s = spec_of(calibrator::percentile);
      s.percentile = p;
      observer o(s);
      o.observe(x);
      const auto [lo, hi] = o.range(code_format::int8(), false);
      // The inliers' top value 0.99 lies in bin 2; the range ends at that bin's edge, 3 bins from 0.
      EXPECT_NEAR(sign > 0 ? hi : -lo, 3 * bin, 1e-3) << "p=" << p << " sign=" << sign;
    }
  }
}

// The tolerance is in ulps of p% of N, not in counts (a count-sized tolerance would grow with N and
// pass over real order statistics of large histograms): with p just above 50 the tails must not cross.
TEST(Percentile, ToleranceIsNotACount) {
  calibrator_spec s = spec_of(calibrator::percentile);
  s.percentile = 50.0000000001;
  observer two(s);
  two.observe(std::vector<float>{-1.0f, 1.0f});
  const auto [lo, hi] = two.range(code_format::int8(), false);
  EXPECT_NEAR(lo, -1.0f, 1e-3f);
  EXPECT_NEAR(hi, 1.0f, 1e-3f);
}

TEST(Percentile, HundredIsMinMax) {
  const std::vector<float> x = laplace(10000, 1.0, 3);
  calibrator_spec s = spec_of(calibrator::percentile);
  s.percentile = 100.0;
  for (const bool sym : {false, true}) {
    EXPECT_EQ(calibrate(s, x, code_format::int8(), sym), calibrate(spec_of(calibrator::min_max), x, code_format::int8(), sym));
  }
  observer o(s);
  o.observe(x);
  const auto [mn, mx] = std::minmax_element(x.begin(), x.end());
  EXPECT_EQ(o.range(code_format::uint8(), false), std::make_pair(*mn, *mx));
}

TEST(Percentile, ClipsTheTails) {
  // 99.99 of a Laplace(1) sample of 100k: both tails at about ln(1 / 0.0002) = 8.5, the extremes ~12.
  const std::vector<float> x = laplace(100000, 1.0, 11);
  observer o(spec_of(calibrator::percentile));
  o.observe(x);
  const auto [lo, hi] = o.range(code_format::int8(), false);
  EXPECT_NEAR(hi, 8.5, 0.8);
  EXPECT_NEAR(lo, -8.5, 0.8);
}

// ----------------------------------------------------------------------------------------------------
// top-k median

TEST(TopKMedian, Exact) {
  std::vector<float> x;
  for (int i = -50; i < 50; ++i) x.push_back(static_cast<float>(i));
  std::shuffle(x.begin(), x.end(), std::mt19937(1));
  observer o(spec_of(calibrator::top_k_median));  // k = 10
  for (std::size_t i = 0; i < x.size(); i += 7) o.observe(std::span<const float>(x).subspan(i, std::min<std::size_t>(7, x.size() - i)));
  // the 10 smallest: -50..-41, median (-46 + -45) / 2; the 10 largest: 40..49, median (44 + 45) / 2
  EXPECT_EQ(o.range(code_format::int8(), false), std::make_pair(-45.5f, 44.5f));
  calibrator_spec s5 = spec_of(calibrator::top_k_median);
  s5.top_k = 5;
  observer o5(s5);
  o5.observe(x);
  EXPECT_EQ(o5.range(code_format::int8(), false), std::make_pair(-48.0f, 47.0f));
  const quant_params p = o5.compute_params(code_format::int8(), true);
  EXPECT_EQ(p.scales()[0], 48.0f / 127.0f);
  // fewer than k values: all of them
  observer few(spec_of(calibrator::top_k_median));
  few.observe(std::vector<float>{-2.0f, 1.0f, 3.0f, kNaN});
  EXPECT_EQ(few.range(code_format::int8(), false), std::make_pair(0.0f, 1.0f));  // median 1, widened to 0
  observer few2(spec_of(calibrator::top_k_median));
  few2.observe(std::vector<float>{-2.0f, -1.0f, -4.0f, -3.0f});
  EXPECT_EQ(few2.range(code_format::int8(), false), std::make_pair(-2.5f, 0.0f));
}

// ----------------------------------------------------------------------------------------------------
// MSE, entropy, SQNR

TEST(Mse, BeatsMinMaxOnLaplaceAt4Bits) {
  const std::vector<float> x = laplace(100000, 1.0, 42);
  for (const bool sym : {true, false}) {
    const code_format f = sym ? code_format::int4() : code_format::uint4();
    const quant_params mm = calibrate(spec_of(calibrator::min_max), x, f, sym);
    const quant_params ms = calibrate(spec_of(calibrator::mse), x, f, sym);
    const double mse_mm = measure(mm, x).mse, mse_ms = measure(ms, x).mse;
    // lowbit::measure_error through the uniform quantizer agrees with the local measure
    const double me_mm = sym ? measure_error(uniform_quantizer<std::int8_t>(mm), std::span<const float>(x)).mse
                             : measure_error(uniform_quantizer<std::uint8_t>(mm), std::span<const float>(x)).mse;
    const double me_ms = sym ? measure_error(uniform_quantizer<std::int8_t>(ms), std::span<const float>(x)).mse
                             : measure_error(uniform_quantizer<std::uint8_t>(ms), std::span<const float>(x)).mse;
    EXPECT_DOUBLE_EQ(me_mm, mse_mm);
    EXPECT_DOUBLE_EQ(me_ms, mse_ms);
    std::cout << "[ info ] 4-bit " << (sym ? "symmetric int4" : "asymmetric uint4") << " Laplace(1), 100k: MSE min-max "
              << mse_mm << ", mse calibrator " << mse_ms << ", ratio " << mse_mm / mse_ms << "\n";
    EXPECT_GT(mse_mm / mse_ms, 2.5);
    // The MSE calibrator is not beaten by the other clipping calibrators on its own criterion.
    for (const calibrator k : {calibrator::percentile, calibrator::entropy, calibrator::sqnr}) {
      EXPECT_LE(mse_ms, measure(calibrate(spec_of(k), x, f, sym), x).mse * 1.02) << name_of(k);
    }
  }
}

TEST(Mse, NearBruteForceOptimumAt4Bits) {
  // Symmetric int4: compare with a brute-force scan of the threshold measured on the data itself.
  for (const bool heavy : {false, true}) {
    const std::vector<float> x = heavy ? laplace(50000, 1.0, 6) : gaussian(20000, 1.0, 5);
    const quant_params ms = calibrate(spec_of(calibrator::mse), x, code_format::int4(), true);
    const float top = heavy ? 8.0f : 4.5f;
    double best = std::numeric_limits<double>::infinity();
    for (int i = 1; i <= 800; ++i) {
      const float t = top * static_cast<float>(i) / 800.0f;
      best = std::min(best, measure(quant_params::per_tensor(code_format::int4(), t / 7.0f, 0), x).mse);
    }
    const double got = measure(ms, x).mse;
    std::cout << "[ info ] int4 " << (heavy ? "Laplace" : "Gaussian") << ": mse calibrator " << got
              << ", brute-force optimum " << best << "\n";
    EXPECT_LE(got, best * 1.01);
  }
}

TEST(Entropy, ClipsOutliers) {
  std::vector<float> x = gaussian(100000, 1.0, 9);
  for (int i = 0; i < 10; ++i) x.push_back(i % 2 ? 50.0f - static_cast<float>(i) : -50.0f + static_cast<float>(i));
  observer o(spec_of(calibrator::entropy));
  o.observe(x);
  const auto [lo, hi] = o.range(code_format::int8(), true);
  std::cout << "[ info ] entropy threshold on N(0,1) + outliers at ~50: [" << lo << ", " << hi << "]\n";
  EXPECT_EQ(lo, -hi);   // [-t, t]
  EXPECT_GT(hi, 3.0f);  // above the bulk (99.7% of the mass is inside 3 sigma)
  EXPECT_LT(hi, 15.0f); // well below the outliers
  // the threshold is a multiple of the bin width of the |x| histogram (its upper edge)
  const double w = 50.0 / 2048.0;
  EXPECT_NEAR(std::remainder(static_cast<double>(hi), w), 0.0, 1e-4);
  // nothing negative seen: [0, t]
  std::vector<float> a(x.size());
  std::transform(x.begin(), x.end(), a.begin(), [](float v) { return std::abs(v); });
  observer oa(spec_of(calibrator::entropy));
  oa.observe(a);
  const auto ra = oa.range(code_format::uint8(), false);
  EXPECT_EQ(ra.first, 0.0f);
  EXPECT_GT(ra.second, 3.0f);
  EXPECT_LT(ra.second, 15.0f);
  // nothing positive seen: [-t, 0]
  std::vector<float> n(a.size());
  std::transform(a.begin(), a.end(), n.begin(), [](float v) { return -v; });
  observer on(spec_of(calibrator::entropy));
  on.observe(n);
  const auto rn = on.range(code_format::uint8(), false);
  EXPECT_EQ(rn.second, 0.0f);
  EXPECT_EQ(rn.first, -ra.second);
}

// MXNet's _get_optimal_threshold on one side of a histogram, transcribed directly (scipy.stats.entropy
// normalises both distributions): the oracle for the entropy calibrator. Returns the number of bins kept.
std::size_t reference_kl_bins(const std::vector<double>& hist, std::size_t target) {
  const auto smooth = [](std::vector<double> d) {
    const double eps = 1e-4;
    double zeros = 0.0, nonzeros = 0.0;
    for (const double x : d) (x == 0.0 ? zeros : nonzeros) += 1.0;
    if (nonzeros == 0.0) return std::vector<double>{};
    const double eps1 = eps * zeros / nonzeros;
    for (double& x : d) x = x == 0.0 ? eps : x - eps1;
    return d;
  };
  std::size_t best_i = hist.size();
  double best = std::numeric_limits<double>::infinity();
  for (std::size_t i = target; i <= hist.size(); ++i) {
    const std::vector<double> sliced(hist.begin(), hist.begin() + static_cast<std::ptrdiff_t>(i));
    std::vector<double> p = sliced;
    for (std::size_t j = i; j < hist.size(); ++j) p[i - 1] += hist[j];
    const std::size_t merged = i / target;
    std::vector<double> quantized(target, 0.0);
    for (std::size_t j = 0; j < target; ++j) {
      for (std::size_t k = j * merged; k < j * merged + merged; ++k) quantized[j] += sliced[k];
    }
    for (std::size_t k = target * merged; k < i; ++k) quantized[target - 1] += sliced[k];
    std::vector<double> q(i, 0.0);
    for (std::size_t j = 0; j < target; ++j) {
      const std::size_t start = j * merged, stop = j == target - 1 ? i : start + merged;
      double norm = 0.0;
      for (std::size_t k = start; k < stop; ++k) norm += p[k] != 0.0 ? 1.0 : 0.0;
      if (norm != 0.0) {
        for (std::size_t k = start; k < stop; ++k) q[k] = quantized[j] / norm;
      }
    }
    for (std::size_t k = 0; k < i; ++k) {
      if (p[k] == 0.0) q[k] = 0.0;
    }
    const std::vector<double> ps = smooth(p), qs = smooth(q);
    if (ps.empty() || qs.empty()) continue;
    double sp = 0.0, sq = 0.0;
    for (std::size_t k = 0; k < i; ++k) sp += ps[k], sq += qs[k];
    double kl = 0.0;
    for (std::size_t k = 0; k < i; ++k) kl += ps[k] / sp * std::log((ps[k] / sp) / (qs[k] / sq));
    if (kl < best) best = kl, best_i = i;
  }
  return best_i;
}

TEST(Entropy, ConstructedHistogramMatchesTheReference) {
  // Values at the bin centres of a known |x| histogram: 2048 bins of width 1 / 256 over [0, 8] (the
  // value 8 itself lands in the last bin). An exponential bulk, a few outliers far out.
  constexpr double w = 1.0 / 256.0;
  std::vector<double> hist(2048, 0.0);
  std::vector<float> x;
  const auto put = [&](std::size_t bin, int count, bool negative) {
    for (int c = 0; c < count; ++c) x.push_back(static_cast<float>((negative && c % 2 ? -1.0 : 1.0) * (static_cast<double>(bin) + 0.5) * w));
    hist[bin] += count;
  };
  for (std::size_t j = 0; j < 700; ++j) put(j, static_cast<int>(std::floor(3000.0 * std::exp(-static_cast<double>(j) / 80.0))), true);
  put(1500, 3, true);
  put(1800, 2, false);
  x.push_back(8.0f);
  hist[2047] += 1;
  std::shuffle(x.begin(), x.end(), std::mt19937(4));
  observer o(spec_of(calibrator::entropy));
  o.observe(std::span<const float>(x).first(x.size() / 2));
  o.observe(std::span<const float>(x).subspan(x.size() / 2));
  struct row {
    code_format f;
    bool symmetric;
    std::size_t target;
  };
  for (const row r : {row{code_format::int8(), true, 128}, row{code_format::int8(true), true, 127},
                      row{code_format::uint8(), false, 128}, row{code_format::int4(), true, 8},
                      row{code_format::uint4(), false, 8}}) {
    const std::size_t bins = reference_kl_bins(hist, r.target);
    const float t = static_cast<float>(static_cast<double>(bins) * w);
    std::cout << "[ info ] entropy, constructed histogram, target " << r.target << ": " << bins << " bins, t = " << t << "\n";
    EXPECT_LT(bins, 1500u);  // the outliers are clipped
    EXPECT_GT(bins, 300u);   // the bulk is not
    EXPECT_EQ(o.range(r.f, r.symmetric), std::make_pair(-t, t)) << r.target;
  }
  // one-sided data, asymmetric: all 2^bits codes cover [0, t] (target 256 for uint8)
  std::vector<float> a(x.size());
  std::transform(x.begin(), x.end(), a.begin(), [](float v) { return std::abs(v); });
  observer oa(spec_of(calibrator::entropy));
  oa.observe(a);
  const float t256 = static_cast<float>(static_cast<double>(reference_kl_bins(hist, 256)) * w);
  EXPECT_EQ(oa.range(code_format::uint8(), false), std::make_pair(0.0f, t256));
  // 16-bit codes are finer than the histogram: no clipping
  EXPECT_EQ(oa.range(code_format::int16(), true), std::make_pair(0.0f, 8.0f));
  // evenly filled bins without outliers: nothing is clipped
  std::vector<float> u;
  for (int i = 0; i < 200000; ++i) u.push_back(static_cast<float>((i + 0.5) / 200000.0));
  observer ou(spec_of(calibrator::entropy));
  ou.observe(u);
  EXPECT_EQ(ou.range(code_format::int8(), true).second, u.back());
}

TEST(Sqnr, BeatsMinMaxOnHeavyTails) {
  // Student-t with 3 degrees of freedom: heavy tails.
  std::mt19937 gen(17);
  std::student_t_distribution<double> t3(3.0);
  std::vector<float> x(100000);
  for (auto& v : x) v = static_cast<float>(t3(gen));
  for (const bool sym : {true, false}) {
    for (const code_format f : {code_format::int8(), code_format::uint8(), code_format::int4()}) {
      const auto mm = measure(calibrate(spec_of(calibrator::min_max), x, f, sym), x);
      const auto sq = measure(calibrate(spec_of(calibrator::sqnr), x, f, sym), x);
      std::cout << "[ info ] t(3) " << f.bits << "-bit " << (f.is_signed ? "signed" : "unsigned")
                << (sym ? " symmetric" : " asymmetric") << ": SQNR min-max " << mm.sqnr_db << " dB, sqnr "
                << sq.sqnr_db << " dB\n";
      EXPECT_GT(sq.sqnr_db, mm.sqnr_db + (f.bits == 4 ? 5.0 : 0.5));
    }
  }
}

TEST(Sqnr, MinMaxIsACandidate) {
  // Uniform data: nothing to clip, SQNR never loses more than a little to min-max.
  std::mt19937 gen(3);
  std::uniform_real_distribution<float> u(-1.0f, 3.0f);
  std::vector<float> x(50000);
  for (auto& v : x) v = u(gen);
  const auto mm = measure(calibrate(spec_of(calibrator::min_max), x, code_format::uint8(), false), x);
  const auto sq = measure(calibrate(spec_of(calibrator::sqnr), x, code_format::uint8(), false), x);
  EXPECT_GT(sq.sqnr_db, mm.sqnr_db - 0.1);
}

// ----------------------------------------------------------------------------------------------------
// Histogram merging

TEST(Histogram, MergeWhenALaterBatchWidens) {
  std::mt19937 gen(21);
  std::uniform_real_distribution<float> narrow(-1.0f, 1.0f), wide(-10.0f, 10.0f);
  std::vector<float> a(50000), b(50000);
  for (auto& v : a) v = narrow(gen);
  for (auto& v : b) v = wide(gen);
  std::vector<float> all(a);
  all.insert(all.end(), b.begin(), b.end());
  const auto [mn, mx] = std::minmax_element(all.begin(), all.end());
  const double bin = (static_cast<double>(*mx) - *mn) / 2048.0;
  for (const calibrator k : {calibrator::percentile, calibrator::mse, calibrator::sqnr, calibrator::entropy}) {
    for (const double p : {60.0, 80.0, 99.0}) {
      calibrator_spec s = spec_of(k);
      s.percentile = p;
      observer once(s), twice(s);
      once.observe(all);
      twice.observe(a);
      twice.observe(b);
      for (const bool sym : {false, true}) {
        const auto r1 = once.range(code_format::int4(), sym), r2 = twice.range(code_format::int4(), sym);
        EXPECT_NEAR(r1.first, r2.first, bin) << name_of(k) << " " << p << " " << sym;
        EXPECT_NEAR(r1.second, r2.second, bin) << name_of(k) << " " << p << " " << sym;
      }
      if (k != calibrator::percentile) break;
    }
  }
  // A first batch of zeros only (a zero-width histogram), then a wider one.
  calibrator_spec s = spec_of(calibrator::percentile);
  s.percentile = 75.0;
  observer z(s);
  z.observe(std::vector<float>(1000, 0.0f));
  std::vector<float> ramp;
  for (int i = 1; i <= 1000; ++i) ramp.push_back(static_cast<float>(i));
  z.observe(ramp);
  // 2000 values, 1000 zeros: the 75th percentile is the value 500.
  EXPECT_NEAR(z.range(code_format::int8(), false).second, 500.0, 1000.0 / 2048.0 + 1e-3);
}

TEST(Histogram, ManySmallWideningBatches) {
  // Each batch widens the range a little: the redistribution error stays near a bin.
  std::mt19937 gen(5);
  std::vector<float> all;
  calibrator_spec s = spec_of(calibrator::percentile);
  s.percentile = 90.0;
  observer inc(s);
  for (int i = 1; i <= 50; ++i) {
    std::uniform_real_distribution<float> u(0.0f, static_cast<float>(i));
    std::vector<float> batch(1000);
    for (auto& v : batch) v = u(gen);
    inc.observe(batch);
    all.insert(all.end(), batch.begin(), batch.end());
  }
  std::vector<float> sorted = all;
  std::sort(sorted.begin(), sorted.end());
  const float exact = sorted[static_cast<std::size_t>(0.9 * static_cast<double>(sorted.size())) - 1];
  const auto [lo, hi] = inc.range(code_format::uint8(), false);
  EXPECT_EQ(lo, 0.0f);
  EXPECT_NEAR(hi, exact, 3 * 50.0 / 2048.0);
}

// ----------------------------------------------------------------------------------------------------
// The rules every calibrator follows

TEST(Rules, NonFiniteSkippedAndCounted) {
  for (const calibrator k : kAllKinds) {
    observer o(spec_of(k));
    o.observe(std::vector<float>{1.0f, kNaN, -kInf, 2.0f, kInf});
    EXPECT_EQ(o.finite_count(), 2u);
    EXPECT_EQ(o.nonfinite_count(), 3u);
    const auto [lo, hi] = o.range(code_format::uint8(), false);
    EXPECT_EQ(lo, 0.0f) << name_of(k);
    EXPECT_GT(hi, 0.0f) << name_of(k);
    EXPECT_LE(hi, 2.0f) << name_of(k);
    if (k == calibrator::min_max) {
      EXPECT_EQ(hi, 2.0f);
    }

    observer nan(spec_of(k));
    nan.observe(std::vector<float>{kNaN, kInf, -kInf});
    nan.observe(std::vector<float>{});
    EXPECT_EQ(nan.nonfinite_count(), 3u);
    expect_errc(errc::no_finite_data, [&] { nan.compute_params(code_format::int8(), false); });
    expect_errc(errc::no_finite_data, [&] { nan.range(code_format::int8(), true); });
    observer empty(spec_of(k));
    empty.observe(std::vector<float>{});
    expect_errc(errc::no_finite_data, [&] { empty.compute_params(code_format::int8(), false); });
    observer none(spec_of(k));
    expect_errc(errc::no_finite_data, [&] { none.compute_params(code_format::int8(), false); });
    observer none_pc(spec_of(k), 0);
    EXPECT_EQ(none_pc.channels(), 0u);
    expect_errc(errc::no_finite_data, [&] { none_pc.compute_params(code_format::int8(), false); });
    // empty batches before and after are fine
    observer e(spec_of(k));
    e.observe(std::vector<float>{});
    e.observe(std::vector<float>{-1.0f, 1.0f});
    e.observe(std::vector<float>{});
    EXPECT_NO_THROW(e.compute_params(code_format::int8(), true));
  }
}

TEST(Rules, RangeIncludesZero) {
  const std::vector<float> base = laplace(20000, 1.0, 8);
  std::vector<float> pos(base.size()), neg(base.size());
  std::transform(base.begin(), base.end(), pos.begin(), [](float v) { return 5.0f + std::abs(v); });
  std::transform(base.begin(), base.end(), neg.begin(), [](float v) { return -5.0f - std::abs(v); });
  for (const calibrator k : kAllKinds) {
    for (const bool sym : {false, true}) {
      for (const code_format f : {code_format::int8(), code_format::uint8(), code_format::uint4()}) {
        observer p(spec_of(k)), n(spec_of(k)), b(spec_of(k));
        p.observe(pos);
        n.observe(neg);
        b.observe(base);
        const auto rp = p.range(f, sym), rn = n.range(f, sym), rb = b.range(f, sym);
        EXPECT_EQ(rp.first, 0.0f) << name_of(k);
        EXPECT_GT(rp.second, 5.0f) << name_of(k);
        EXPECT_EQ(rn.second, 0.0f) << name_of(k);
        EXPECT_LT(rn.first, -5.0f) << name_of(k);
        EXPECT_LE(rb.first, 0.0f);
        EXPECT_GE(rb.second, 0.0f);
        // never beyond what was seen
        const auto [mn, mx] = std::minmax_element(base.begin(), base.end());
        EXPECT_GE(rb.first, *mn);
        EXPECT_LE(rb.second, *mx);
        // asymmetric all-positive data: the zero point is qmin; all-negative: qmax
        if (!sym) {
          EXPECT_EQ(p.compute_params(f, false).zero_points()[0], f.qmin()) << name_of(k);
          EXPECT_EQ(n.compute_params(f, false).zero_points()[0], f.qmax()) << name_of(k);
        }
      }
    }
  }
}

TEST(Rules, ConstantTensorsRoundTripExactly) {
  const code_format formats[] = {code_format::int8(),      code_format::uint8(),      code_format::int8(true),
                                 code_format::uint8(true), code_format::int4(),       code_format::uint4(),
                                 code_format::int16(),     code_format::uint16(),     code_format{2, true, false},
                                 code_format{3, false, true}};
  for (const float c : {0.0f, 3.7f, -2.5f, 1e-30f, -1e-30f, 3e38f, -3e38f, 0.1f, 1.0f / 3.0f, 1e-37f}) {
    const std::vector<float> x(17, c);
    for (const calibrator k : kAllKinds) {
      observer o(spec_of(k));
      o.observe(x);
      o.observe(std::vector<float>{kNaN});
      for (const code_format f : formats) {
        for (const bool sym : {false, true}) {
          const auto [lo, hi] = o.range(f, sym);
          EXPECT_EQ(lo, std::min(c, 0.0f));
          EXPECT_EQ(hi, std::max(c, 0.0f));
          for (const profile pr : {profile::onnx, profile::pytorch, profile::tflite}) {
            const quant_params p = o.compute_params(f, sym, pr);
            EXPECT_GE(p.scales()[0], FLT_MIN);
            std::vector<float> y(x.size());
            fake_quantize(x, p, y);
            // Exact wherever a grid with every level finite can hold c: c = j * s needs s >= |c| / side
            // (side: the codes on c's side of the zero point), finite levels s <= FLT_MAX / far.
            const double zp = p.zero_points()[0];
            const double side = c > 0.0f ? f.qmax() - zp : zp - f.qmin();
            const double far = std::max(zp - f.qmin(), f.qmax() - zp);
            const bool representable = std::abs(static_cast<double>(c)) * far <= static_cast<double>(FLT_MAX) * side;
            const auto where = [&] {
              return name_of(k) + " c=" + std::to_string(c) + " bits=" + std::to_string(f.bits) +
                     " signed=" + std::to_string(f.is_signed) + " narrow=" + std::to_string(f.narrow) +
                     " sym=" + std::to_string(sym) + " " + to_string(pr);
            };
            if (representable) {
              EXPECT_EQ(y[0], c) << where() << " scale=" << p.scales()[0] << " zp=" << p.zero_points()[0];
            } else {
              EXPECT_LE(std::abs(static_cast<double>(y[0]) - c), p.scales()[0]) << where();
              EXPECT_LE(far * p.scales()[0], static_cast<double>(FLT_MAX)) << where();
            }
          }
        }
      }
    }
  }
}

TEST(Rules, TinyRangesAndZeroPointsInRange) {
  for (const calibrator k : kAllKinds) {
    for (const std::vector<float>& x : {std::vector<float>{0.0f, 1e-40f}, std::vector<float>{1e-38f, 2e-38f, -1e-39f},
                                        std::vector<float>{-1e-42f, 1e-45f}}) {
      observer o(spec_of(k));
      o.observe(x);
      for (const bool sym : {false, true}) {
        for (const code_format f : {code_format::int8(), code_format::uint8(), code_format::uint16()}) {
          const quant_params p = o.compute_params(f, sym);
          EXPECT_GE(p.scales()[0], FLT_MIN) << name_of(k);
          EXPECT_TRUE(std::isfinite(p.scales()[0]));
          EXPECT_GE(p.zero_points()[0], f.qmin());
          EXPECT_LE(p.zero_points()[0], f.qmax());
        }
      }
    }
  }
  // A subnormal constant cannot round-trip (no scale >= FLT_MIN maps it onto a code): scale FLT_MIN.
  observer sub(spec_of(calibrator::min_max));
  sub.observe(std::vector<float>(4, 1e-40f));
  EXPECT_EQ(sub.compute_params(code_format::int8(), true).scales()[0], FLT_MIN);
  // Random data, every calibrator and format: zero points inside [qmin, qmax], scales finite.
  std::mt19937 gen(99);
  std::uniform_real_distribution<float> u(-3.0f, 3.0f);
  for (int trial = 0; trial < 20; ++trial) {
    const float shift = u(gen) * 3.0f, spread = std::abs(u(gen)) + 0.01f;
    std::vector<float> x(300);
    for (auto& v : x) v = shift + spread * u(gen);
    for (const calibrator k : kAllKinds) {
      observer o(spec_of(k));
      o.observe(x);
      for (const code_format f : {code_format::int4(), code_format::uint8(true), code_format::int16()}) {
        for (const bool sym : {false, true}) {
          const quant_params p = o.compute_params(f, sym);
          EXPECT_TRUE(std::isfinite(p.scales()[0]) && p.scales()[0] >= FLT_MIN);
          EXPECT_GE(p.zero_points()[0], f.qmin());
          EXPECT_LE(p.zero_points()[0], f.qmax());
        }
      }
    }
  }
}

TEST(Rules, NarrowRangeInTheScale) {
  observer o(spec_of(calibrator::min_max));
  o.observe(std::vector<float>{-2.54f, 1.0f});
  EXPECT_EQ(o.compute_params(code_format::int8(true), true).scales()[0], 2.54f / 127.0f);
  EXPECT_EQ(o.compute_params(code_format::int8(true), false).scales()[0], 3.54f / 254.0f);
  EXPECT_EQ(o.compute_params(code_format::uint8(true), false).scales()[0], 3.54f / 254.0f);
  EXPECT_EQ(o.compute_params(code_format::uint8(), false).scales()[0], 3.54f / 255.0f);
  // The codes of the extremes: -2.54 -> -127 (not -128) with int8 narrow symmetric.
  const quant_params p = o.compute_params(code_format::int8(true), true);
  std::vector<std::int8_t> q(2);
  quantize<std::int8_t>(std::vector<float>{-2.54f, 2.54f}, p, q);
  EXPECT_EQ(q, (std::vector<std::int8_t>{-127, 127}));
}

// ----------------------------------------------------------------------------------------------------
// Per-channel

TEST(PerChannel, EqualsPerTensorObserversOnEachChannel) {
  const std::vector<std::int64_t> shape = {3, 4, 5};
  std::vector<float> b1 = laplace(60, 1.0, 31), b2 = laplace(60, 2.0, 32);
  // give the channels different scales and one constant channel along axis 1
  for (std::size_t i = 0; i < b1.size(); ++i) {
    b1[i] *= static_cast<float>(1 + i % 5);
    if ((i / 5) % 4 == 2) b1[i] = 0.75f, b2[i] = 0.75f;
  }
  b2[7] = kNaN;
  for (const int axis : {0, 1, 2, -1, -3}) {
    const auto a = static_cast<std::size_t>(axis < 0 ? axis + 3 : axis);
    const auto dim = static_cast<std::size_t>(shape[a]);
    std::size_t outer = 1, inner = 1;
    for (std::size_t d = 0; d < a; ++d) outer *= static_cast<std::size_t>(shape[d]);
    for (std::size_t d = a + 1; d < 3; ++d) inner *= static_cast<std::size_t>(shape[d]);
    const auto channel = [&](const std::vector<float>& x, std::size_t c) {
      std::vector<float> v;
      for (std::size_t o = 0; o < outer; ++o) {
        for (std::size_t i = 0; i < inner; ++i) v.push_back(x[(o * dim + c) * inner + i]);
      }
      return v;
    };
    for (const calibrator k : kAllKinds) {
      calibrator_spec s = spec_of(k);
      s.percentile = 95.0;
      s.top_k = 3;
      observer pc(s, axis);
      pc.observe(b1, shape);
      pc.observe(b2, shape);
      EXPECT_EQ(pc.channels(), dim);
      EXPECT_EQ(pc.axis(), axis);
      EXPECT_EQ(pc.nonfinite_count(), 1u);
      EXPECT_EQ(pc.finite_count(), 119u);
      for (const bool sym : {false, true}) {
        const quant_params p = pc.compute_params(code_format::int8(), sym, profile::pytorch);
        EXPECT_EQ(p.granularity(), granularity::per_channel);
        EXPECT_EQ(p.axis(), static_cast<int>(a));
        EXPECT_EQ(std::vector<std::int64_t>(p.shape().begin(), p.shape().end()), shape);
        ASSERT_EQ(p.scales().size(), dim);
        for (std::size_t c = 0; c < dim; ++c) {
          observer pt(s);
          pt.observe(channel(b1, c));
          pt.observe(channel(b2, c));
          const quant_params q = pt.compute_params(code_format::int8(), sym, profile::pytorch);
          EXPECT_EQ(p.scales()[c], q.scales()[0]) << name_of(k) << " axis " << axis << " channel " << c;
          EXPECT_EQ(p.zero_points()[c], q.zero_points()[0]) << name_of(k) << " axis " << axis << " channel " << c;
          EXPECT_EQ(pc.range(code_format::int8(), sym, c), pt.range(code_format::int8(), sym));
        }
      }
    }
  }
}

TEST(PerChannel, ShapesAndCounts) {
  observer o(spec_of(calibrator::min_max), 1);
  const std::vector<std::int64_t> s1 = {2, 3}, s2 = {5, 3}, bad = {2, 4};
  o.observe(std::vector<float>{1, 2, 3, -4, 5, 6}, s1);
  o.observe(std::vector<float>(15, 0.5f), s2);  // another batch size, same channel count
  const quant_params p = o.compute_params(code_format::int8(), true);
  EXPECT_EQ(std::vector<std::int64_t>(p.shape().begin(), p.shape().end()), s2);  // the last batch's shape
  EXPECT_EQ(p.scales()[0], 4.0f / 127.0f);
  EXPECT_EQ(p.scales()[1], 5.0f / 127.0f);
  EXPECT_EQ(p.scales()[2], 6.0f / 127.0f);
  const std::vector<std::int64_t> weight = {7, 3};
  const quant_params q = o.compute_params(code_format::int8(), true, profile::onnx, std::span<const std::int64_t>(weight));
  EXPECT_EQ(std::vector<std::int64_t>(q.shape().begin(), q.shape().end()), weight);
  expect_errc(errc::count_mismatch, [&] { o.compute_params(code_format::int8(), true, profile::onnx, std::span<const std::int64_t>(bad)); });
  expect_errc(errc::count_mismatch, [&] { o.observe(std::vector<float>(8, 1.0f), bad); });
  expect_errc(errc::size_mismatch, [&] { o.observe(std::vector<float>(5, 1.0f), s1); });
  expect_errc(errc::invalid_shape, [&] { o.observe(std::vector<float>{1.0f}); });
  const std::vector<std::int64_t> negative = {-1, 3};
  expect_errc(errc::invalid_shape, [&] { o.observe(std::vector<float>{}, negative); });
  const std::vector<std::int64_t> rank1 = {3};
  expect_errc(errc::invalid_axis, [&] { o.observe(std::vector<float>(3, 1.0f), rank1); });
  expect_errc(errc::invalid_argument, [&] { o.range(code_format::int8(), true, 3); });
  expect_errc(errc::unsupported_width, [&] { o.range(code_format{17, true, false}, true, 0); });
  expect_errc(errc::unsupported_width, [&] { o.compute_params(code_format{1, true, false}, true); });
  // failed batches changed nothing
  EXPECT_EQ(o.finite_count(), 21u);
  // empty batches: checked, but they do not set the channel count
  const std::vector<std::int64_t> empty3 = {0, 3}, huge = {0, std::int64_t{1} << 40};
  EXPECT_NO_THROW(o.observe(std::vector<float>{}, empty3));
  std::vector<std::int64_t> empty4 = {0, 4};
  expect_errc(errc::count_mismatch, [&] { o.observe(std::vector<float>{}, empty4); });
  observer fresh(spec_of(calibrator::mse), 1);
  fresh.observe(std::vector<float>{}, huge);
  EXPECT_EQ(fresh.channels(), 0u);
  const std::vector<std::int64_t> one4 = {1, 4};
  fresh.observe(std::vector<float>{1, 2, 3, 4}, one4);
  EXPECT_EQ(fresh.channels(), 4u);
  // axis out of range for rank 3
  observer a3(spec_of(calibrator::min_max), 3), am4(spec_of(calibrator::min_max), -4);
  const std::vector<std::int64_t> s3 = {1, 2, 2};
  expect_errc(errc::invalid_axis, [&] { a3.observe(std::vector<float>(4, 1.0f), s3); });
  expect_errc(errc::invalid_axis, [&] { am4.observe(std::vector<float>(4, 1.0f), s3); });
  // a per-channel observer with a channel that saw nothing finite
  observer holes(spec_of(calibrator::min_max), 0);
  const std::vector<std::int64_t> s22 = {2, 2};
  holes.observe(std::vector<float>{1.0f, 2.0f, kNaN, kNaN}, s22);
  EXPECT_NO_THROW(holes.range(code_format::int8(), true, 0));
  expect_errc(errc::no_finite_data, [&] { holes.range(code_format::int8(), true, 1); });
  expect_errc(errc::no_finite_data, [&] { holes.compute_params(code_format::int8(), true); });
  // a per-tensor observer accepts shaped batches
  observer pt(spec_of(calibrator::min_max));
  pt.observe(std::vector<float>{1, 2, 3, -4, 5, 6}, s1);
  EXPECT_EQ(pt.range(code_format::int8(), false), std::make_pair(-4.0f, 6.0f));
  expect_errc(errc::size_mismatch, [&] { pt.observe(std::vector<float>{1.0f}, s1); });
  EXPECT_EQ(pt.channels(), 1u);
  EXPECT_FALSE(pt.axis().has_value());
}

// ----------------------------------------------------------------------------------------------------
// Specs

TEST(Spec, ParseAndToStringRoundTrip) {
  for (const char* text : {"minmax", "ema:0.9", "ema:0.99", "ema:0", "percentile:99.99", "percentile:99.9",
                           "percentile:100", "topk:10", "topk:3", "mse", "entropy", "sqnr", "mse:bins=4096",
                           "percentile:99:bins=128", "entropy:bins=65536", "sqnr:bins=512"}) {
    const calibrator_spec s = calibrator_spec::parse(text);
    EXPECT_EQ(s.to_string(), text);
    const calibrator_spec back = calibrator_spec::parse(s.to_string());
    EXPECT_EQ(back.kind, s.kind);
    EXPECT_EQ(back.momentum, s.momentum);
    EXPECT_EQ(back.percentile, s.percentile);
    EXPECT_EQ(back.top_k, s.top_k);
    EXPECT_EQ(back.bins, s.bins);
  }
  EXPECT_EQ(calibrator_spec::parse("ema").momentum, 0.9);
  EXPECT_EQ(calibrator_spec::parse("percentile").percentile, 99.99);
  EXPECT_EQ(calibrator_spec::parse("topk").top_k, 10);
  EXPECT_EQ(calibrator_spec::parse("percentile:bins=256").bins, 256);
  EXPECT_EQ(calibrator_spec::parse("ema:0.5").kind, calibrator::moving_average);
  EXPECT_EQ(calibrator_spec::parse("topk").kind, calibrator::top_k_median);
  // default specs of every kind print what they parse back from
  for (const calibrator k : kAllKinds) EXPECT_EQ(calibrator_spec::parse(spec_of(k).to_string()).kind, k);
  // shortest round-trip text of an arbitrary double
  calibrator_spec odd = spec_of(calibrator::moving_average);
  odd.momentum = 0.1 + 0.2;
  EXPECT_EQ(calibrator_spec::parse(odd.to_string()).momentum, odd.momentum);
}

TEST(Spec, BadInputs) {
  for (const char* text : {"", "foo", "MinMax", "minmax:3", "ema:", "ema:x", "ema:1", "ema:-0.1", "ema:nan",
                           "percentile:120", "percentile:50", "percentile:abc", "percentile:99:98", "topk:0",
                           "topk:-3", "topk:2.5", "mse:bins=10", "mse:bins=", "mse:4096", "minmax:bins=256",
                           "entropy:bins=70000", "sqnr:", "percentile:99.9x", ":mse", "topk:10:bins=256"}) {
    expect_errc(errc::invalid_argument, [&] { calibrator_spec::parse(text); });
  }
  try {
    calibrator_spec::parse("foo");
  } catch (const error& e) {
    EXPECT_NE(std::string(e.what()).find("percentile[:p]"), std::string::npos) << e.what();
  }
  calibrator_spec s;
  s.percentile = 120.0;
  expect_errc(errc::invalid_argument, [&] { observer o(s); });
  s = {};
  s.top_k = 0;
  expect_errc(errc::invalid_argument, [&] { observer o(s); });
  s = {};
  s.bins = 10;
  expect_errc(errc::invalid_argument, [&] { observer o(s, 0); });
  s = {};
  s.momentum = 1.0;
  expect_errc(errc::invalid_argument, [&] { observer o(s); });
  s = {};
  s.kind = static_cast<calibrator>(42);
  expect_errc(errc::invalid_argument, [&] { observer o(s); });
}

TEST(Observer, MoveAndAccessors) {
  calibrator_spec s = spec_of(calibrator::percentile);
  s.percentile = 100.0;
  observer a(s, -1);
  EXPECT_EQ(a.spec().percentile, 100.0);
  EXPECT_EQ(a.axis(), -1);
  const std::vector<std::int64_t> shape = {4, 2};
  a.observe(std::vector<float>{1, 2, 3, 4, 5, 6, 7, 8}, shape);
  observer b(std::move(a));
  EXPECT_EQ(b.channels(), 2u);
  EXPECT_EQ(b.finite_count(), 8u);
  observer c(spec_of(calibrator::min_max));
  c = std::move(b);
  EXPECT_EQ(c.spec().kind, calibrator::percentile);
  EXPECT_EQ(c.range(code_format::int8(), false, 1), std::make_pair(0.0f, 8.0f));
  // moved-from observers throw instead of crashing
  expect_errc(errc::invalid_argument, [&] { b.observe(std::vector<float>{1.0f}); });  // NOLINT(bugprone-use-after-move)
  expect_errc(errc::invalid_argument, [&] { b.range(code_format::int8(), false); });
  EXPECT_EQ(b.channels(), 0u);
  EXPECT_EQ(b.finite_count(), 0u);
}

}  // namespace
}  // namespace lowbit
