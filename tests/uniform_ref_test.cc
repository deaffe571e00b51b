// The scalar reference against the written formula: hand-computed cases for every profile.
#include "lowbit/ref/uniform.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <random>

namespace lowbit {
namespace {

constexpr float kInf = std::numeric_limits<float>::infinity();
constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();

// Rounding helpers are constexpr: check a few at compile time.
static_assert(ref::round_half_even(0.5f) == 0.0f && ref::round_half_even(1.5f) == 2.0f &&
              ref::round_half_even(2.5f) == 2.0f && ref::round_half_even(-0.5f) == 0.0f &&
              ref::round_half_even(-2.5f) == -2.0f && ref::round_half_even(-1.5f) == -2.0f);
static_assert(ref::round_half_away(0.5f) == 1.0f && ref::round_half_away(1.5f) == 2.0f &&
              ref::round_half_away(2.5f) == 3.0f && ref::round_half_away(-0.5f) == -1.0f &&
              ref::round_half_away(-2.5f) == -3.0f);

TEST(Rounding, MatchesTheLibmFunctionsOnManyValues) {
  std::mt19937 rng(1);
  std::uniform_int_distribution<std::uint32_t> bits;
  for (int i = 0; i < 2'000'000; ++i) {
    float v = std::bit_cast<float>(bits(rng));
    if (i % 2) v = static_cast<float>(static_cast<int>(bits(rng) % 20001) - 10000) * 0.25f;  // many ties
    if (std::isnan(v)) {
      EXPECT_TRUE(std::isnan(ref::round_half_even(v)));
      continue;
    }
    ASSERT_EQ(std::bit_cast<std::uint32_t>(ref::round_half_even(v)), std::bit_cast<std::uint32_t>(std::nearbyint(v)))
        << v;
    ASSERT_EQ(std::bit_cast<std::uint32_t>(ref::round_half_away(v)), std::bit_cast<std::uint32_t>(std::round(v)))
        << v;
  }
}

float q8(float x, float scale, float zp, profile p, float qmin = -128, float qmax = 127) {
  return ref::quantize_value(x, scale, 1.0f / scale, zp, qmin, qmax, p);
}

struct tie_case {
  float x, onnx, pytorch, tflite;
};

// scale 1, zero point 0: v = x exactly, so the ties are the inputs themselves.
TEST(QuantizeValue, TiesInEveryProfile) {
  const tie_case cases[] = {
      {0.5f, 0, 0, 1},   {1.5f, 2, 2, 2},    {2.5f, 2, 2, 3},     {-0.5f, 0, 0, -1},
      {-1.5f, -2, -2, -2}, {-2.5f, -2, -2, -3}, {3.5f, 4, 4, 4},  {-3.5f, -4, -4, -4},
      {0.49999997f, 0, 0, 0}, {-0.49999997f, 0, 0, 0}, {126.5f, 126, 126, 127}, {-127.5f, -128, -128, -128},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(q8(c.x, 1.0f, 0, profile::onnx), c.onnx) << c.x;
    EXPECT_EQ(q8(c.x, 1.0f, 0, profile::pytorch), c.pytorch) << c.x;
    EXPECT_EQ(q8(c.x, 1.0f, 0, profile::tflite), c.tflite) << c.x;
  }
}

TEST(QuantizeValue, TiesWithScaleAndZeroPoint) {
  // x / 0.5 = 2x; 0.25 / 0.5 = 0.5 exactly, 1.25 / 0.5 = 2.5 exactly. The zero point is added after
  // rounding, so an odd zero point does not move the tie.
  EXPECT_EQ(q8(0.25f, 0.5f, 3, profile::onnx), 3);
  EXPECT_EQ(q8(0.25f, 0.5f, 3, profile::tflite), 4);
  EXPECT_EQ(q8(1.25f, 0.5f, 3, profile::onnx), 5);
  EXPECT_EQ(q8(1.25f, 0.5f, 3, profile::tflite), 6);
  EXPECT_EQ(q8(-1.25f, 0.5f, -3, profile::onnx), -5);
  EXPECT_EQ(q8(-1.25f, 0.5f, -3, profile::tflite), -6);
}

TEST(QuantizeValue, DivisionAndReciprocalDiffer) {
  // Found by search: x / scale and x * (1 / scale) round to different integers in float32.
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> s(0.001f, 1.0f);
  int found = 0;
  for (int i = 0; i < 1'000'000 && found < 3; ++i) {
    const float scale = s(rng);
    const float x = (static_cast<float>(i % 200) - 99.5f) * scale;
    const float by_div = q8(x, scale, 0, profile::onnx), by_mul = q8(x, scale, 0, profile::pytorch);
    EXPECT_EQ(by_div, std::nearbyint(x / scale));
    EXPECT_EQ(by_mul, std::nearbyint(x * (1.0f / scale)));
    if (by_div != by_mul) ++found;
  }
  EXPECT_GT(found, 0) << "no input distinguishes the onnx and pytorch profiles";
}

TEST(QuantizeValue, NaNInfAndSaturation) {
  for (profile p : {profile::onnx, profile::pytorch, profile::tflite}) {
    EXPECT_EQ(q8(kNaN, 0.1f, 5, p), 5);
    EXPECT_EQ(q8(-kNaN, 0.1f, -7, p), -7);
    EXPECT_EQ(q8(kInf, 0.1f, 5, p), 127);
    EXPECT_EQ(q8(-kInf, 0.1f, 5, p), -128);
    EXPECT_EQ(q8(1e30f, 0.1f, 0, p), 127);
    EXPECT_EQ(q8(-1e30f, 0.1f, 0, p), -128);
    EXPECT_EQ(q8(std::numeric_limits<float>::max(), 1e-30f, 0, p), 127);  // x / scale overflows to Inf
    EXPECT_EQ(q8(0.0f, std::numeric_limits<float>::denorm_min(), 0, p), 0);  // 0 * (1/denorm) is NaN for pytorch
    EXPECT_EQ(q8(1e-45f, 1.0f, 0, p), 0);                                   // denormal input
    EXPECT_EQ(q8(-200.0f, 1.0f, 0, p, -127, 127), -127);                    // narrow range
    EXPECT_EQ(q8(12.7f, 0.1f, 0, p), 127);
    EXPECT_EQ(q8(12.8f, 0.1f, 0, p), 127);
    EXPECT_EQ(q8(300.0f, 1.0f, 128, p, 0, 255), 255);  // uint8
    EXPECT_EQ(q8(-300.0f, 1.0f, 128, p, 0, 255), 0);
  }
}

TEST(DequantizeValue, Formula) {
  EXPECT_EQ(ref::dequantize_value(-128, 0.5f, -128), 0.0f);
  EXPECT_EQ(ref::dequantize_value(127, 0.5f, -128), 127.5f);
  EXPECT_EQ(ref::dequantize_value(0, 0.1f, 3), -3.0f * 0.1f);
  EXPECT_EQ(ref::dequantize_value(65535, 1.0f, 0), 65535.0f);
  // TFLite computes in double and rounds once: the same float, because (code - zp) * scale is exact in double.
  std::mt19937 rng(3);
  std::uniform_real_distribution<float> s(1e-6f, 10.0f);
  for (int i = 0; i < 100000; ++i) {
    const float scale = s(rng);
    const int c = static_cast<int>(rng() % 65536) - 32768, z = static_cast<int>(rng() % 65536) - 32768;
    EXPECT_EQ(ref::dequantize_value(static_cast<float>(c), scale, static_cast<float>(z)),
              static_cast<float>(static_cast<double>(scale) * (c - z)));
  }
}

TEST(RunKernels, FakeQuantizeAndRequantizeComposeTheSteps) {
  const ref::run_params a{0.05f, 1.0f / 0.05f, 3.0f, -128, 127, profile::onnx};
  const ref::run_params b{0.2f, 1.0f / 0.2f, 128.0f, 0, 255, profile::tflite};
  const float x[] = {-7.0f, -0.025f, 0.0f, 0.075f, 1.0f, kNaN, kInf, -kInf};
  float y[8];
  ref::fake_quantize_run(x, 8, a, y);
  for (int i = 0; i < 8; ++i) {
    const float c = ref::quantize_value(x[i], a.scale, a.inv_scale, a.zero_point, a.qmin, a.qmax, a.numerics);
    EXPECT_EQ(y[i], (c - 3.0f) * 0.05f);
  }
  EXPECT_EQ(y[5], 0.0f);  // NaN -> zero point -> 0
  std::int8_t q[8];
  std::uint8_t r[8];
  ref::quantize_run(x, 8, a, q);
  ref::requantize_run(q, 8, a, b, r);
  for (int i = 0; i < 8; ++i) {
    const float v = (static_cast<float>(q[i]) - 3.0f) * 0.05f;
    EXPECT_EQ(r[i], ref::quantize_value(v, 0.2f, 1.0f / 0.2f, 128.0f, 0, 255, profile::tflite));
  }
}

}  // namespace
}  // namespace lowbit
