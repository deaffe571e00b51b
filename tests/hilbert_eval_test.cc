// Tests of lowbit/hilbert_eval.h: the measured gains against the curve length and the model, the
// handling of invalid pixels and ranges, reproducibility, and every error path.
// SPDX-License-Identifier: Apache-2.0
#include "lowbit/hilbert_eval.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "support/lowbit_error.h"
#include "support/test_scale.h"

namespace lowbit {
namespace {

std::vector<float> uniform_values(std::size_t n, float lo, float hi, std::uint32_t seed = 3) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u(lo, hi);
  std::vector<float> v(n);
  for (float& x : v) x = u(rng);
  return v;
}

hilbert_eval_config one_row(hilbert_layout layout, int order, int bits, double noise) {
  hilbert_eval_config c;
  c.layouts = {layout};
  c.orders = {order};
  c.bits = {bits};
  c.noise_lsb = {noise};
  return c;
}

// The acceptance: at 8 bits without noise the gain is within 3% of the curve length L.
TEST(HilbertEval, NoiselessGainIsTheCurveLength) {
  const std::vector<float> t = uniform_values(400000, 0.0f, 1.0f);
  for (const auto& [layout, order] : {std::pair{hilbert_layout::full_range, 2}, std::pair{hilbert_layout::cell_centre, 3}}) {
    const hilbert_eval_result r = evaluate_hilbert_head(t, 0.0, 1.0, one_row(layout, order, 8, 0.0));
    ASSERT_EQ(r.rows.size(), 1u);
    const hilbert_eval_row& row = r.rows[0];
    EXPECT_NEAR(row.gain / row.length, 1.0, 0.03) << to_string(layout) << " order " << order << ": gain " << row.gain;
    // The model's turn term is O(step) without noise: 0.4% (full_range order 2) and 1.1% (cell_centre
    // order 3) below L, where the measurement is 0.0% and 0.6% below.
    EXPECT_NEAR(row.predicted_gain / row.length, 1.0, 0.03);
    EXPECT_NEAR(row.predicted_gain / row.gain, 1.0, 0.01);
    EXPECT_EQ(row.jump_rate, 0.0);
    // Direct rounding error of a uniform value: step / sqrt(12), step = 1/255.
    EXPECT_NEAR(row.rms_direct * std::sqrt(12.0) * 255.0, 1.0, 0.01);
    EXPECT_LE(row.max_direct, 0.5 / 255.0 * (1 + 1e-4));  // half a step, float32 rounding of the scale
  }
}

// Where jumps are impossible, the model (lowbit/hilbert.h: along-curve variance plus the per-turn term)
// predicts the measured gain within 3%, and both stay below L: the curve's turns cost precision.
TEST(HilbertEval, ModelMatchesMeasurementWithoutJumps) {
  const std::vector<float> t = uniform_values(test::scaled(200000, 20000), 0.0f, 1.0f, 11);
  struct row {
    hilbert_layout layout;
    int order, bits;
    double noise;
  };
  for (const row& w : {row{hilbert_layout::cell_centre, 3, 8, 2.0}, row{hilbert_layout::full_range, 2, 8, 4.0},
                       row{hilbert_layout::full_range, 4, 8, 1.0}, row{hilbert_layout::cell_centre, 2, 6, 1.0}}) {
    const hilbert_eval_result r = evaluate_hilbert_head(t, 0.0, 1.0, one_row(w.layout, w.order, w.bits, w.noise));
    const hilbert_eval_row& e = r.rows.at(0);
    const std::string what = std::string(to_string(w.layout)) + " order " + std::to_string(w.order) + ", " +
                             std::to_string(w.bits) + " bits, " + std::to_string(w.noise) + " LSB";
    EXPECT_EQ(e.jump_rate, 0.0) << what;
    EXPECT_LT(e.predicted_jump_rate, 1e-6) << what;
    EXPECT_NEAR(e.predicted_gain / e.gain, 1.0, 0.03) << what << ": measured " << e.gain << ", model " << e.predicted_gain;
    EXPECT_LT(e.gain, 0.98 * e.length) << what;
    EXPECT_LT(e.predicted_gain, 0.98 * e.length) << what;
  }
}

// Errors are in the units of t: scaling the range scales every error, not the gain.
TEST(HilbertEval, ErrorsScaleWithTheRange) {
  const std::vector<float> unit = uniform_values(100000, 0.0f, 1.0f);
  std::vector<float> metres(unit.size());
  std::transform(unit.begin(), unit.end(), metres.begin(), [](float v) { return 2.0f + 18.0f * v; });
  const auto cfg = one_row(hilbert_layout::cell_centre, 2, 8, 0.0);
  const hilbert_eval_row a = evaluate_hilbert_head(unit, 0.0, 1.0, cfg).rows[0];
  const hilbert_eval_row b = evaluate_hilbert_head(metres, 2.0, 20.0, cfg).rows[0];
  EXPECT_NEAR(b.rms_direct / a.rms_direct, 18.0, 0.18);
  EXPECT_NEAR(b.rms_hilbert / a.rms_hilbert, 18.0, 0.18);
  EXPECT_NEAR(b.gain / a.gain, 1.0, 0.01);
}

// Large noise on a high order collapses the head (jumps to parallel branches), as the model says.
TEST(HilbertEval, NoiseCollapsesHighOrders) {
  const std::vector<float> t = uniform_values(100000, 0.0f, 1.0f);
  const hilbert_eval_row quiet = evaluate_hilbert_head(t, 0.0, 1.0, one_row(hilbert_layout::full_range, 4, 8, 0.5)).rows[0];
  const hilbert_eval_row loud = evaluate_hilbert_head(t, 0.0, 1.0, one_row(hilbert_layout::full_range, 4, 8, 4.0)).rows[0];
  EXPECT_GT(quiet.gain, 10.0);
  EXPECT_LT(loud.gain, 1.5);
  EXPECT_GT(loud.jump_rate, 0.01);
  EXPECT_GT(loud.predicted_jump_rate, 0.01);
  EXPECT_EQ(quiet.jump_rate, 0.0);
}

TEST(HilbertEval, InvalidPixelsAreSkippedAndOutOfRangeValuesClamp) {
  std::vector<float> t = uniform_values(1000, 0.0f, 1.0f);
  t.push_back(std::numeric_limits<float>::quiet_NaN());
  t.push_back(std::numeric_limits<float>::infinity());
  t.push_back(-std::numeric_limits<float>::infinity());
  const auto cfg = one_row(hilbert_layout::full_range, 2, 8, 0.0);
  const hilbert_eval_result r = evaluate_hilbert_head(t, 0.0, 1.0, cfg);
  EXPECT_EQ(r.values, 1000u);
  EXPECT_EQ(r.skipped, 3u);
  EXPECT_EQ(r.clamped, 0u);
  EXPECT_TRUE(std::isfinite(r.rows[0].rms_hilbert));
  // Values beyond [lo, hi] are compared with their clamp: both heads represent them exactly as the ends.
  const hilbert_eval_result ends = evaluate_hilbert_head(std::vector<float>{-5.0f, 7.0f, 1.0f, 0.0f}, 0.0, 1.0, cfg);
  EXPECT_EQ(ends.values, 4u);
  EXPECT_EQ(ends.clamped, 2u);  // the ends themselves are inside
  EXPECT_EQ(ends.rows[0].max_direct, 0.0);
  EXPECT_EQ(ends.rows[0].max_hilbert, 0.0);
}

TEST(HilbertEval, DefaultTableAndReproducibility) {
  const std::vector<float> t = uniform_values(2000, -1.0f, 3.0f);
  const hilbert_eval_result a = evaluate_hilbert_head(t, -1.0, 3.0);
  const hilbert_eval_result b = evaluate_hilbert_head(t, -1.0, 3.0);
  ASSERT_EQ(a.rows.size(), 2u * 3u * 4u * 5u);  // layouts x bits x orders x noise
  for (std::size_t i = 0; i < a.rows.size(); ++i) {
    EXPECT_EQ(a.rows[i].rms_hilbert, b.rows[i].rms_hilbert) << i;
    EXPECT_EQ(a.rows[i].rms_direct, b.rows[i].rms_direct) << i;
  }
  EXPECT_EQ(a.rows.front().layout, hilbert_layout::cell_centre);
  EXPECT_EQ(a.rows.back().layout, hilbert_layout::full_range);
  EXPECT_EQ(a.rows.back().order, 4);
  EXPECT_EQ(a.rows.back().bits, 8);
  EXPECT_EQ(a.rows.back().noise_lsb, 4.0);
  const std::string table = hilbert_eval_table(a);
  EXPECT_EQ(std::count(table.begin(), table.end(), '\n'), static_cast<long>(a.rows.size()) + 2);
  EXPECT_NE(table.find("| full_range  | 4 | 17.000 |    8 |   4.0 |"), std::string::npos) << table;
}

TEST(HilbertEval, BadInputIsATypedError) {
  const std::vector<float> t = uniform_values(10, 0.0f, 1.0f);
  const float nan = std::numeric_limits<float>::quiet_NaN();
  EXPECT_EQ(error_of([&] { evaluate_hilbert_head(t, 1.0, 1.0); }), errc::invalid_range);
  EXPECT_EQ(error_of([&] { evaluate_hilbert_head(t, 0.0, std::nan("")); }), errc::invalid_range);
  EXPECT_EQ(error_of([&] { evaluate_hilbert_head(std::vector<float>{nan, nan}, 0.0, 1.0); }), errc::no_finite_data);
  EXPECT_EQ(error_of([&] { evaluate_hilbert_head({}, 0.0, 1.0); }), errc::no_finite_data);
  hilbert_eval_config c;
  c.bits = {9};
  EXPECT_EQ(error_of([&] { evaluate_hilbert_head(t, 0.0, 1.0, c); }), errc::unsupported_width);
  c = {};
  c.orders = {0};
  EXPECT_EQ(error_of([&] { evaluate_hilbert_head(t, 0.0, 1.0, c); }), errc::invalid_argument);
  c = {};
  c.noise_lsb = {-1.0};
  EXPECT_EQ(error_of([&] { evaluate_hilbert_head(t, 0.0, 1.0, c); }), errc::invalid_argument);
  c = {};
  c.layouts.clear();
  EXPECT_EQ(error_of([&] { evaluate_hilbert_head(t, 0.0, 1.0, c); }), errc::invalid_argument);
}

}  // namespace
}  // namespace lowbit
