// The quantizer concept and the generic algorithms, instantiated with the uniform quantizer.
#include "lowbit/quantizer.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <vector>

#include "lowbit/uniform.h"

namespace lowbit {
namespace {

static_assert(quantizer<uniform_quantizer<std::int8_t>>);
static_assert(quantizer<uniform_quantizer<std::uint8_t>>);
static_assert(quantizer<uniform_quantizer<std::int16_t>>);
static_assert(quantizer<uniform_quantizer<std::uint16_t>>);
static_assert(!quantizer<int>);
static_assert(!quantizer<quant_params>);

// A scheme with two codes per value models the concept too (the shape of the Hilbert encoder).
struct two_code_stub {
  using value_type = float;
  using code_type = std::uint8_t;
  std::size_t codes_per_value() const { return 2; }
  int bits() const { return 8; }
  void encode(std::span<const float> v, std::span<std::uint8_t> c) const {
    for (std::size_t i = 0; i < v.size(); ++i) {
      const auto q = static_cast<unsigned>(std::lround(std::clamp(v[i], 0.0f, 1.0f) * 65535.0f));
      c[2 * i] = static_cast<std::uint8_t>(q >> 8), c[2 * i + 1] = static_cast<std::uint8_t>(q & 0xFF);
    }
  }
  void decode(std::span<const std::uint8_t> c, std::span<float> v) const {
    for (std::size_t i = 0; i < v.size(); ++i) v[i] = static_cast<float>(c[2 * i] * 256 + c[2 * i + 1]) / 65535.0f;
  }
};
static_assert(quantizer<two_code_stub>);

TEST(MeasureError, ExactGridHasZeroErrorAndInfiniteSqnr) {
  const uniform_quantizer<std::int8_t> q(quant_params::per_tensor(code_format::int8(), 0.5f, 0));
  const std::vector<float> x = {-64.0f, -0.5f, 0.0f, 0.5f, 63.5f};
  const error_stats s = measure_error(q, std::span<const float>(x));
  EXPECT_EQ(s.count, 5u);
  EXPECT_EQ(s.mse, 0.0);
  EXPECT_EQ(s.max_abs_error, 0.0);
  EXPECT_TRUE(std::isinf(s.sqnr_db));
}

TEST(MeasureError, UniformNoiseIsStepSquaredOverTwelve) {
  // Uniform data inside the range: the error is uniform on [-step/2, step/2], MSE = step^2 / 12,
  // and the SQNR of a full-scale uniform signal at 8 bits is 20 log10(256) ~ 48.2 dB.
  std::mt19937 rng(9);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  std::vector<float> x(1 << 20);
  for (auto& v : x) v = u(rng);
  const float step = 2.0f / 255;
  const uniform_quantizer<std::uint8_t> q(params_from_range(-1.0f, 1.0f, code_format::uint8(), false));
  const error_stats s = measure_error(q, std::span<const float>(x));
  EXPECT_NEAR(s.mse, step * step / 12, 0.02 * step * step / 12);
  EXPECT_LE(s.max_abs_error, step / 2 * 1.0001);
  EXPECT_NEAR(s.sqnr_db, 20 * std::log10(256.0), 0.2);
}

TEST(MeasureError, SqnrGrowsAboutSixDbPerBit) {
  std::mt19937 rng(10);
  std::normal_distribution<float> g(0.0f, 1.0f);
  std::vector<float> x(1 << 18);
  for (auto& v : x) v = g(rng);
  float m = 0;
  for (float v : x) m = std::max(m, std::abs(v));  // no clipping: only rounding noise, which halves per bit
  double prev = 0;
  for (int bits = 4; bits <= 12; ++bits) {
    const uniform_quantizer<std::int16_t> q(params_from_range(-m, m, code_format{bits, true, false}, true));
    const double sqnr = measure_error(q, std::span<const float>(x)).sqnr_db;
    if (bits > 4) {
      // The step is m / qmax, so the noise power drops by (qmax(b) / qmax(b-1))^2: ~6.02 dB per bit.
      const double predicted = 20 * std::log10(((1 << (bits - 1)) - 1.0) / ((1 << (bits - 2)) - 1.0));
      EXPECT_NEAR(sqnr - prev, predicted, 0.15) << bits;
    }
    prev = sqnr;
  }
}

TEST(MeasureError, NonFiniteInputsAreCountedNotMeasured) {
  const uniform_quantizer<std::int8_t> q(quant_params::per_tensor(code_format::int8(), 0.5f, 0));
  const std::vector<float> x = {1.0f, std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::infinity(), 1.25f};
  const error_stats s = measure_error(q, std::span<const float>(x));
  EXPECT_EQ(s.count, 2u);
  EXPECT_EQ(s.non_finite, 2u);
  EXPECT_DOUBLE_EQ(s.mse, 0.25 * 0.25 / 2);
  EXPECT_DOUBLE_EQ(s.max_abs_error, 0.25);
}

TEST(RoundTrip, PerChannelQuantizerAndTwoCodeScheme) {
  const std::vector<std::int64_t> shape = {2, 3};
  const std::vector<float> scales = {0.1f, 1.0f};
  const uniform_quantizer<std::int8_t> q(quant_params::per_channel(code_format::int8(), shape, 0, scales));
  const std::vector<float> x = {0.12f, -0.26f, 0.5f, 1.4f, -2.6f, 300.0f};
  const auto y = round_trip(q, std::span<const float>(x));
  const std::vector<float> want = {0.1f, -0.3f, 0.5f, 1.0f, -3.0f, 127.0f};
  for (std::size_t i = 0; i < x.size(); ++i) EXPECT_FLOAT_EQ(y[i], want[i]) << i;
  // Idempotent: quantizing a round trip changes nothing.
  EXPECT_EQ(round_trip(q, std::span<const float>(y)), y);

  const two_code_stub t;
  const std::vector<float> v = {0.0f, 0.25f, 1.0f};
  const error_stats s = measure_error(t, std::span<const float>(v));
  EXPECT_LE(s.max_abs_error, 0.5 / 65535 + 1e-9);
  std::vector<float> out(2);
  EXPECT_THROW(round_trip(t, std::span<const float>(v), std::span<float>(out)), error);
}

}  // namespace
}  // namespace lowbit
