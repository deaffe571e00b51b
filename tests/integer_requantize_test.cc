// Tests of integer requantization: quantize_multiplier, multiply_by_quantized_multiplier (both
// roundings, int32 and int64 inputs), and the SIMD requantize kernels on every compiled target, which
// must equal the scalar reference bit for bit.
// SPDX-License-Identifier: Apache-2.0
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <iterator>
#include <span>
#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <type_traits>
#include <vector>

#include "lowbit/detail/integer_requantize_kernels.h"
#include "lowbit/detail/uniform_kernels.h"
#include "lowbit/error.h"
#include "lowbit/integer_requantize.h"
#include "lowbit/ref/integer_requantize.h"

namespace {

using lowbit::errc;
using lowbit::fxp::multiply_by_quantized_multiplier;
using lowbit::fxp::quantize_multiplier;
using lowbit::fxp::quantized_multiplier;
using lowbit::fxp::requant_params;
using lowbit::fxp::requant_rounding;
using lowbit::fxp::requantize_value;

constexpr std::int32_t kMin = std::numeric_limits<std::int32_t>::min();
constexpr std::int32_t kMax = std::numeric_limits<std::int32_t>::max();
constexpr auto kDouble = requant_rounding::double_rounding;
constexpr auto kSingle = requant_rounding::single_rounding;

template <class F>
void expect_error(errc code, F&& f) {
  try {
    f();
    ADD_FAILURE() << "expected lowbit::error " << lowbit::to_string(code);
  } catch (const lowbit::error& e) {
    EXPECT_EQ(e.code(), code) << e.what();
  }
}

// ---------------------------------------------------------------- quantize_multiplier

TEST(QuantizeMultiplier, KnownAnswers) {
  // frexp(0.5) = 0.5 * 2^0 -> round(0.5 * 2^31) = 2^30, shift 0.
  EXPECT_EQ(quantize_multiplier(0.5), (quantized_multiplier{1 << 30, 0}));
  // frexp(1.0) = 0.5 * 2^1.
  EXPECT_EQ(quantize_multiplier(1.0), (quantized_multiplier{1 << 30, 1}));
  EXPECT_EQ(quantize_multiplier(0.0), (quantized_multiplier{0, 0}));
  EXPECT_EQ(quantize_multiplier(-0.0), (quantized_multiplier{0, 0}));
  // 0.75 * 2^31 = 1610612736 exactly.
  EXPECT_EQ(quantize_multiplier(0.75), (quantized_multiplier{1610612736, 0}));
  // 0.1 = 0.8 * 2^-3; 0.8 * 2^31 = 1717986918.4 -> 1717986918.
  EXPECT_EQ(quantize_multiplier(0.1), (quantized_multiplier{1717986918, -3}));
  // 0.3 = 0.6 * 2^-1; 0.6 * 2^31 = 1288490188.8 -> 1288490189.
  EXPECT_EQ(quantize_multiplier(0.3), (quantized_multiplier{1288490189, -1}));
  // Just below 1: q = 1 - 2^-40, q * 2^31 = 2^31 - 2^-9 rounds to 2^31 -> {2^30, shift + 1}.
  EXPECT_EQ(quantize_multiplier(1.0 - std::ldexp(1.0, -40)), (quantized_multiplier{1 << 30, 1}));
  EXPECT_EQ(quantize_multiplier(0.5 - std::ldexp(1.0, -40)), (quantized_multiplier{1 << 30, 0}));
  // Ties of the mantissa round away from zero (std::round): q = 0.5 + 2^-32 -> q * 2^31 = 2^30 + 0.5.
  EXPECT_EQ(quantize_multiplier(0.5 + std::ldexp(1.0, -32)), (quantized_multiplier{(1 << 30) + 1, 0}));
  // Smallest kept: 2^-32 = 0.5 * 2^-31 -> shift -31. Below: shift -32 -> flushed to zero.
  EXPECT_EQ(quantize_multiplier(std::ldexp(1.0, -32)), (quantized_multiplier{1 << 30, -31}));
  EXPECT_EQ(quantize_multiplier(std::ldexp(1.0, -33)), (quantized_multiplier{0, 0}));
  EXPECT_EQ(quantize_multiplier(1e-300), (quantized_multiplier{0, 0}));
  // Largest: just below 2^30 -> shift 30; (2^30 - 1) / 2^30 * 2^31 = 2^31 - 2.
  EXPECT_EQ(quantize_multiplier(std::ldexp(1.0, 30) - 1.0), (quantized_multiplier{kMax - 1, 30}));
  EXPECT_EQ(quantize_multiplier(std::ldexp(1.0, 29)), (quantized_multiplier{1 << 30, 30}));
}

TEST(QuantizeMultiplier, Errors) {
  expect_error(errc::invalid_scale, [] { quantize_multiplier(std::nan("")); });
  expect_error(errc::invalid_scale, [] { quantize_multiplier(-0.5); });
  expect_error(errc::invalid_scale, [] { quantize_multiplier(std::numeric_limits<double>::infinity()); });
  expect_error(errc::invalid_scale, [] { quantize_multiplier(std::ldexp(1.0, 30)); });  // shift 31
  expect_error(errc::invalid_scale, [] { quantize_multiplier(1e300); });
}

TEST(QuantizeMultiplier, RoundTripWithinHalfUlpOfQ31) {
  std::mt19937_64 rng(7);
  std::uniform_real_distribution<double> e(-30.0, 29.0);
  for (int k = 0; k < 10000; ++k) {
    const double real = std::exp2(e(rng));
    const quantized_multiplier m = quantize_multiplier(real);
    ASSERT_GE(m.multiplier, 1 << 30);
    const double back = lowbit::fxp::dequantize_multiplier(m);
    EXPECT_LE(std::fabs(back - real), std::ldexp(1.0, m.shift - 32) * 1.0000001) << real;
  }
}

// ---------------------------------------------------------------- multiply_by_quantized_multiplier

TEST(MultiplyByQuantizedMultiplier, KnownAnswers) {
  // real = 0.5: 100 * 0.5 = 50 both ways.
  EXPECT_EQ(multiply_by_quantized_multiplier(std::int32_t{100}, {1 << 30, 0}, kDouble), 50);
  EXPECT_EQ(multiply_by_quantized_multiplier(std::int32_t{100}, {1 << 30, 0}, kSingle), 50);
  // real = 0.5, x = -3 -> -1.5. SRDHM rounds half up: floor((-3 * 2^30 + 2^30) / 2^31) = floor(-1) = -1.
  EXPECT_EQ(multiply_by_quantized_multiplier(std::int32_t{-3}, {1 << 30, 0}, kDouble), -1);
  EXPECT_EQ(multiply_by_quantized_multiplier(std::int32_t{-3}, {1 << 30, 0}, kSingle), -1);
  // real = 2 (m = 2^30, shift 2): left shift first.
  EXPECT_EQ(multiply_by_quantized_multiplier(std::int32_t{-7}, {1 << 30, 2}, kDouble), -14);
  EXPECT_EQ(multiply_by_quantized_multiplier(std::int32_t{-7}, {1 << 30, 2}, kSingle), -14);
}

TEST(MultiplyByQuantizedMultiplier, SingleAndDoubleRoundingDifferByOne) {
  // m = 1342177280 = 0.625 * 2^31, shift = -1: real = 0.3125; x = 4 -> exactly 1.25.
  // double: SRDHM(4, m) = floor((4 * m + 2^30) / 2^31) = floor((5 * 2^30 + 2^30) / 2^31) = 3   (2.5 -> 3)
  //         RoundingDivideByPOT(3, 1) = 1.5 -> away from zero -> 2                         (rounded twice)
  // single: (4 * m + 2^31) >> 32 = (5 * 2^30 + 2 * 2^30) / 2^32 = 7/4 = 1.75 -> floor -> 1     (1.25 -> 1)
  const quantized_multiplier m{1342177280, -1};
  EXPECT_EQ(multiply_by_quantized_multiplier(std::int32_t{4}, m, kDouble), 2);
  EXPECT_EQ(multiply_by_quantized_multiplier(std::int32_t{4}, m, kSingle), 1);
  // Negative ties: real = 0.25 (m = 2^30, shift -1), x = -2 -> -0.5.
  // double: SRDHM(-2, 2^30) = floor((-2^31 + 2^30) / 2^31) = -1; RDBPOT(-1, 1) = -0.5 -> away -> -1.
  // single: (-2 * 2^30 + 2^31) >> 32 = 0 >> 32 = 0 (ties upward).
  EXPECT_EQ(multiply_by_quantized_multiplier(std::int32_t{-2}, {1 << 30, -1}, kDouble), -1);
  EXPECT_EQ(multiply_by_quantized_multiplier(std::int32_t{-2}, {1 << 30, -1}, kSingle), 0);
  // and +0.5 goes to 1 both ways: SRDHM(2, 2^30) = floor(3 * 2^30 / 2^31) = 1, RDBPOT(1, 1) = 1;
  // single (2^31 + 2^31) >> 32 = 1.
  EXPECT_EQ(multiply_by_quantized_multiplier(std::int32_t{2}, {1 << 30, -1}, kDouble), 1);
  EXPECT_EQ(multiply_by_quantized_multiplier(std::int32_t{2}, {1 << 30, -1}, kSingle), 1);
}

TEST(MultiplyByQuantizedMultiplier, Extremes) {
  // INT32_MIN * INT32_MIN saturates in SRDHM (the reference takes any multiplier).
  EXPECT_EQ(lowbit::fxp::saturating_rounding_doubling_high_mul(kMin, kMin), kMax);
  EXPECT_EQ(multiply_by_quantized_multiplier(kMin, {kMin, 0}, kDouble), kMax);
  // Largest magnitudes: m = 2^31 - 1, shift 0 -> x * (1 - 2^-31).
  EXPECT_EQ(multiply_by_quantized_multiplier(kMax, {kMax, 0}, kDouble), kMax - 1);
  EXPECT_EQ(multiply_by_quantized_multiplier(kMin, {kMax, 0}, kDouble), kMin + 1);
  EXPECT_EQ(multiply_by_quantized_multiplier(kMin, {kMax, 0}, kSingle), kMin + 1);
  // shift -31 (real < 1/2): everything rounds to 0 or ±1.
  EXPECT_EQ(multiply_by_quantized_multiplier(kMax, {kMax, -31}, kDouble), 1);
  EXPECT_EQ(multiply_by_quantized_multiplier(kMin, {kMax, -31}, kDouble), -1);
  EXPECT_EQ(multiply_by_quantized_multiplier(kMin, {kMax, -31}, kSingle), -1);
  // shift 30: double rounding wraps the int32 left shift (as TFLite does), single saturates.
  EXPECT_EQ(multiply_by_quantized_multiplier(std::int32_t{4}, {1 << 30, 30}, kDouble), 0);  // 4 << 30 wraps to 0
  EXPECT_EQ(multiply_by_quantized_multiplier(std::int32_t{4}, {1 << 30, 30}, kSingle), kMax);
  EXPECT_EQ(multiply_by_quantized_multiplier(std::int32_t{-4}, {1 << 30, 30}, kSingle), kMin);
  EXPECT_EQ(multiply_by_quantized_multiplier(std::int32_t{1}, {1 << 30, 30}, kSingle), 1 << 29);
  EXPECT_EQ(multiply_by_quantized_multiplier(std::int32_t{1}, {1 << 30, 30}, kDouble), 1 << 29);
  // multiplier 0.
  EXPECT_EQ(multiply_by_quantized_multiplier(kMin, {0, 0}, kDouble), 0);
  EXPECT_EQ(multiply_by_quantized_multiplier(kMin, {0, 5}, kSingle), 0);
}

TEST(MultiplyByQuantizedMultiplier, Int64KnownAnswers) {
  // m = 2^30 reduces to (2^30 + 2^15) >> 16 = 16384; shift -1 -> total shift 16; real = 0.25.
  // x = 1000: (1000 * 16384 + 2^15) >> 16 = 16416768 / 65536 = 250.5 -> 250.
  EXPECT_EQ(multiply_by_quantized_multiplier(std::int64_t{1000}, {1 << 30, -1}, kDouble), 250);
  EXPECT_EQ(multiply_by_quantized_multiplier(std::int64_t{1000}, {1 << 30, -1}, kSingle), 250);
  // -0.5 rounds up to 0 in both builds (TFLite uses one formula for int64 inputs).
  EXPECT_EQ(multiply_by_quantized_multiplier(std::int64_t{-2}, {1 << 30, -1}, kDouble), 0);
  EXPECT_EQ(multiply_by_quantized_multiplier(std::int64_t{-2}, {1 << 30, -1}, kSingle), 0);
  // m = 1717986918 (0.1 * 8) reduces to (1717986918 + 32768) >> 16 = 26214 (26214.9 floored).
  // x = 100000, shift -3: (100000 * 26214 + 2^17) >> 18 = 2621531072 / 262144 = 10000.35 -> 10000.
  EXPECT_EQ(multiply_by_quantized_multiplier(std::int64_t{100000}, {1717986918, -3}, kDouble), 10000);
  // The 16-bit multiplier loses precision: x = 2^40, m = 0.1 * 8 * 2^31, shift -3:
  // 2^40 * 26214 / 2^18 = 26214 * 2^22 = 109949321216 -> saturates to int32.
  EXPECT_EQ(multiply_by_quantized_multiplier(std::int64_t{1} << 40, {1717986918, -3}, kDouble), kMax);
  // x = 2^33, shift -14: 2^33 * 26214 / 2^29 = 26214 * 16 = 419424 (exact, no rounding).
  EXPECT_EQ(multiply_by_quantized_multiplier(std::int64_t{1} << 33, {1717986918, -14}, kDouble), 419424);
  // Multipliers >= 0x7FFF0000 reduce to 0x7FFF (not 0x8000).
  EXPECT_EQ(multiply_by_quantized_multiplier(std::int64_t{1} << 20, {kMax, -5}, kDouble), 0x7FFF);
  // Far outside TFLite's |x| < 2^47 the result is still exact then saturated.
  EXPECT_EQ(multiply_by_quantized_multiplier(std::numeric_limits<std::int64_t>::min(), {1 << 30, -31}, kDouble),
            kMin);
  EXPECT_EQ(multiply_by_quantized_multiplier(std::numeric_limits<std::int64_t>::max(), {1 << 30, 30}, kDouble),
            kMax);
}

// gemmlowp's SaturatingRoundingDoublingHighMul and RoundingDivideByPOT, written independently in int64
// the way gemmlowp's scalar fixedpoint.h does (nudge, then division truncating toward zero).
std::int32_t gemmlowp_srdhm(std::int32_t a, std::int32_t b) {
  const bool overflow = a == b && a == kMin;
  const std::int64_t ab = static_cast<std::int64_t>(a) * b;
  const std::int64_t nudge = ab >= 0 ? (1 << 30) : (1 - (1 << 30));
  const auto high = static_cast<std::int32_t>((ab + nudge) / (std::int64_t{1} << 31));
  return overflow ? kMax : high;
}
std::int32_t gemmlowp_rdbpot(std::int32_t x, int exponent) {
  const std::int64_t mask = (std::int64_t{1} << exponent) - 1;
  const std::int64_t remainder = x & mask;
  const std::int64_t threshold = (mask >> 1) + (x < 0 ? 1 : 0);
  return static_cast<std::int32_t>((static_cast<std::int64_t>(x) >> exponent) + (remainder > threshold ? 1 : 0));
}
std::int32_t tflite_double(std::int32_t x, quantized_multiplier m) {
  const int left = m.shift > 0 ? m.shift : 0;
  const int right = m.shift > 0 ? 0 : -m.shift;
  const auto shifted = static_cast<std::int32_t>(static_cast<std::uint32_t>(x) * (std::uint32_t{1} << left));
  return gemmlowp_rdbpot(gemmlowp_srdhm(shifted, m.multiplier), right);
}
std::int32_t exact_single(std::int32_t x, quantized_multiplier m) {
  __extension__ typedef __int128 wide;
  wide v = static_cast<wide>(x) * m.multiplier;  // x * m * 2^(shift - 31), rounded half up
  if (m.shift > 0) v *= wide{1} << m.shift;
  const int down = m.shift > 0 ? 31 : 31 - m.shift;
  const wide r = (v + (wide{1} << (down - 1))) >> down;
  return r > kMax ? kMax : (r < kMin ? kMin : static_cast<std::int32_t>(r));
}

TEST(MultiplyByQuantizedMultiplier, DoubleRoundingIsGemmlowpComposition) {
  std::mt19937_64 rng(11);
  std::uniform_int_distribution<std::int32_t> any(kMin, kMax);
  std::uniform_int_distribution<std::int32_t> mult(0, kMax);
  std::uniform_int_distribution<int> shift(-31, 30);
  std::uniform_int_distribution<int> bits(0, 31);
  for (int k = 0; k < 200000; ++k) {
    const std::int32_t x = k % 2 ? any(rng) : (any(rng) >> bits(rng));
    const quantized_multiplier m{k % 5 == 0 ? (1 << 30) : mult(rng), shift(rng)};
    ASSERT_EQ(multiply_by_quantized_multiplier(x, m, kDouble), tflite_double(x, m))
        << x << " * {" << m.multiplier << ", " << m.shift << "}";
    ASSERT_EQ(multiply_by_quantized_multiplier(x, m, kSingle), exact_single(x, m))
        << x << " * {" << m.multiplier << ", " << m.shift << "}";
  }
  // Ties of the rounding: x * m an exact odd multiple of 2^(30 - shift).
  for (int s = -31; s <= 0; ++s) {
    for (std::int32_t x = -64; x <= 64; ++x) {
      const quantized_multiplier m{1 << 30, s};
      ASSERT_EQ(multiply_by_quantized_multiplier(x, m, kDouble), tflite_double(x, m)) << x << " " << s;
      ASSERT_EQ(multiply_by_quantized_multiplier(x, m, kSingle), exact_single(x, m)) << x << " " << s;
    }
  }
}

// ---------------------------------------------------------------- requant_params / requantize API

TEST(RequantParams, Accessors) {
  const auto p = requant_params::per_tensor({1 << 30, -3}, 5, -128, 127, kSingle);
  EXPECT_EQ(p.channels(), 1u);
  EXPECT_TRUE(p.is_per_tensor());
  EXPECT_EQ(p.multipliers()[0], (quantized_multiplier{1 << 30, -3}));
  EXPECT_EQ(p.zero_point(), 5);
  EXPECT_EQ(p.act_min(), -128);
  EXPECT_EQ(p.act_max(), 127);
  EXPECT_EQ(p.rounding(), kSingle);
  const float ws[] = {0.5f, 0.25f};
  const auto q = requant_params::from_scales(0.5f, ws, 0.125f, 0, -128, 127);
  ASSERT_EQ(q.channels(), 2u);
  EXPECT_EQ(q.multipliers()[0], quantize_multiplier(2.0));
  EXPECT_EQ(q.multipliers()[1], quantize_multiplier(1.0));
  EXPECT_EQ(q.rounding(), kDouble);
  EXPECT_EQ(q.apply(10, 1), 10);
  EXPECT_EQ(q.apply(10, 0), 20);
}

TEST(RequantParams, Errors) {
  expect_error(errc::invalid_scale, [] { requant_params::per_tensor({-1, 0}, 0, -128, 127); });
  expect_error(errc::invalid_scale, [] { requant_params::per_tensor({1 << 30, 31}, 0, -128, 127); });
  expect_error(errc::invalid_scale, [] { requant_params::per_tensor({1 << 30, -32}, 0, -128, 127); });
  expect_error(errc::invalid_range, [] { requant_params::per_tensor({1 << 30, 0}, 0, 5, 4); });
  expect_error(errc::count_mismatch, [] { requant_params::per_channel({}, 0, -128, 127); });
  const float ws[] = {0.5f, 0.0f};
  expect_error(errc::invalid_scale, [&] { requant_params::from_scales(0.5f, ws, 0.125f, 0, -128, 127); });
  const float ok[] = {0.5f};
  expect_error(errc::invalid_scale, [&] { requant_params::from_scales(std::nanf(""), ok, 0.125f, 0, -128, 127); });
  expect_error(errc::invalid_scale, [&] { requant_params::from_scales(0.5f, ok, -1.0f, 0, -128, 127); });
  expect_error(errc::invalid_scale, [&] { requant_params::from_scales(1e30f, ok, 1e-30f, 0, -128, 127); });
  expect_error(errc::count_mismatch, [] { requant_params::from_scales(0.5f, {}, 0.125f, 0, -128, 127); });
}

TEST(Requantize, Errors) {
  std::vector<std::int32_t> acc(6, 0);
  std::vector<std::int8_t> s8(6);
  std::vector<std::uint8_t> u8(6);
  std::vector<std::int16_t> s16(6);
  const auto wide = requant_params::per_tensor({1 << 30, 0}, 0, -200, 100);
  expect_error(errc::type_mismatch, [&] { lowbit::fxp::requantize<std::int8_t>(acc, wide, s8); });
  lowbit::fxp::requantize<std::int16_t>(acc, wide, s16);  // fits int16
  const auto neg_zp = requant_params::per_tensor({1 << 30, 0}, -1, 0, 255);
  expect_error(errc::invalid_zero_point, [&] { lowbit::fxp::requantize<std::uint8_t>(acc, neg_zp, u8); });
  const auto p = requant_params::per_tensor({1 << 30, 0}, 0, -128, 127);
  std::vector<std::int8_t> short_out(5);
  expect_error(errc::size_mismatch, [&] { lowbit::fxp::requantize<std::int8_t>(acc, p, short_out); });
  const quantized_multiplier ms[4] = {{1 << 30, 0}, {1 << 30, 0}, {1 << 30, 0}, {1 << 30, 0}};
  const auto pc = requant_params::per_channel(ms, 0, -128, 127);
  expect_error(errc::size_mismatch, [&] { lowbit::fxp::requantize<std::int8_t>(acc, pc, s8); });  // 6 % 4
  std::vector<std::int64_t> acc64(6, 0);
  expect_error(errc::size_mismatch, [&] { lowbit::fxp::requantize<std::int8_t>(acc64, pc, s8); });
  expect_error(errc::type_mismatch, [&] { lowbit::fxp::requantize<std::uint8_t>(acc64, wide, u8); });
}

TEST(Requantize, Int64Accumulators) {
  const quantized_multiplier ms[2] = {{1 << 30, -1}, {1717986918, -3}};
  const auto p = requant_params::per_channel(ms, 3, -32768, 32767, kSingle);
  const std::vector<std::int64_t> acc = {1000, 100000, -2, std::int64_t{1} << 40, -(std::int64_t{1} << 40), 0};
  std::vector<std::int16_t> out(acc.size());
  lowbit::fxp::requantize<std::int16_t>(acc, p, out);
  EXPECT_EQ(out, (std::vector<std::int16_t>{253, 10003, 3, 32767, -32768, 3}));
}

TEST(Requantize, KnownAnswersPerTensor) {
  // real 0.3125 (the double-vs-single case above), zero point 10, range [0, 20].
  const std::vector<std::int32_t> acc = {4, -4, 0, 1000, -1000, kMin, kMax};
  std::vector<std::uint8_t> d(acc.size()), s(acc.size());
  lowbit::fxp::requantize<std::uint8_t>(acc, requant_params::per_tensor({1342177280, -1}, 10, 0, 20, kDouble), d);
  lowbit::fxp::requantize<std::uint8_t>(acc, requant_params::per_tensor({1342177280, -1}, 10, 0, 20, kSingle), s);
  EXPECT_EQ(d, (std::vector<std::uint8_t>{12, 9, 10, 20, 0, 0, 20}));
  EXPECT_EQ(s, (std::vector<std::uint8_t>{11, 9, 10, 20, 0, 0, 20}));
}

// ---------------------------------------------------------------- SIMD kernels vs the reference

class RequantizeSimd : public ::testing::TestWithParam<std::int64_t> {
 protected:
  void SetUp() override { lowbit::detail::force_target(GetParam()); }
  void TearDown() override { lowbit::detail::force_target(0); }
};

std::vector<std::int32_t> accumulators(std::size_t n, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<std::int32_t> any(kMin, kMax);
  std::uniform_int_distribution<int> bits(0, 31);
  const std::int32_t edges[] = {kMin, kMax, 0, 1, -1, kMin + 1, kMax - 1, 2, -2, 3, -3, 1 << 30, -(1 << 30)};
  std::vector<std::int32_t> acc(n);
  for (std::size_t i = 0; i < n; ++i) {
    const int kind = static_cast<int>(rng() % 4);
    acc[i] = kind == 0 ? edges[rng() % std::size(edges)] : (kind == 1 ? any(rng) : (any(rng) >> bits(rng)));
  }
  return acc;
}

// Runs the kernel on acc through an unaligned span with a guard element after it, and compares every
// output with the reference.
template <class Code>
void check_against_reference(const std::vector<std::int32_t>& acc, const requant_params& p, std::size_t offset,
                             const std::string& what) {
  const std::size_t n = acc.size();
  std::vector<std::int32_t> in(n + offset);
  std::copy(acc.begin(), acc.end(), in.begin() + static_cast<std::ptrdiff_t>(offset));
  const Code guard = static_cast<Code>(0x5A);
  std::vector<Code> out(n + offset + 1, guard);
  lowbit::fxp::requantize<Code>(std::span<const std::int32_t>(in.data() + offset, n), p,
                                std::span<Code>(out.data() + offset, n));
  ASSERT_EQ(out[n + offset], guard) << what << ": wrote past the end";
  for (std::size_t k = 0; k < offset; ++k) ASSERT_EQ(out[k], guard) << what << ": wrote before the start";
  for (std::size_t i = 0; i < n; ++i) {
    const std::int32_t want = p.apply(acc[i], i % p.channels());
    ASSERT_EQ(static_cast<std::int32_t>(out[offset + i]), want)
        << what << " at " << i << ": acc " << acc[i] << ", multiplier {" << p.multipliers()[i % p.channels()].multiplier
        << ", " << p.multipliers()[i % p.channels()].shift << "}";
  }
}

template <class Code>
struct code_limits {
  static constexpr std::int32_t lo = std::numeric_limits<Code>::min();
  static constexpr std::int32_t hi = std::numeric_limits<Code>::max();
};

template <class Code>
void sweep_per_tensor(requant_rounding r) {
  constexpr std::int32_t lo = code_limits<Code>::lo, hi = code_limits<Code>::hi;
  const std::int32_t mults[] = {0, 1 << 30, kMax, 1342177280, 1717986918, (1 << 30) + 12345};
  const auto acc = accumulators(133, 5);
  for (int shift = -31; shift <= 30; ++shift) {
    for (const std::int32_t m : mults) {
      const auto p = requant_params::per_tensor({m, shift}, shift % 2 ? lo : (lo + hi) / 2, lo, hi, r);
      check_against_reference<Code>(acc, p, 1, "shift " + std::to_string(shift) + " m " + std::to_string(m));
    }
  }
}

TEST_P(RequantizeSimd, PerTensorAllShiftsAllTypes) {
  for (const auto r : {kDouble, kSingle}) {
    sweep_per_tensor<std::int8_t>(r);
    sweep_per_tensor<std::uint8_t>(r);
    sweep_per_tensor<std::int16_t>(r);
  }
}

template <class Code>
void sweep_lengths_and_ranges(requant_rounding r) {
  constexpr std::int32_t lo = code_limits<Code>::lo, hi = code_limits<Code>::hi;
  // Ranges: the full code range; relu-like [zp, hi]; act_min == act_max; zero point at each bound.
  struct range_case {
    std::int32_t zp, amin, amax;
  };
  const range_case ranges[] = {{0 > lo ? 0 : lo, lo, hi}, {lo, lo, hi}, {hi, lo, hi},
                               {(lo + hi) / 2, (lo + hi) / 2, hi}, {7 > hi ? hi : 7, 3, 3}};
  const quantized_multiplier mults[] = {{1342177280, -1}, {1 << 30, 0}, {kMax, -31}, {1 << 30, 3}, {1717986918, -9}};
  // 3 * 64 + 1 covers 0 .. 3N + 1 for every target (N <= 16 int32 lanes on x86).
  for (std::size_t n = 0; n <= 3 * 64 + 1; ++n) {
    const auto acc = accumulators(n, 100 + n);
    for (const auto& rc : ranges) {
      const auto m = mults[n % std::size(mults)];
      const auto p = requant_params::per_tensor(m, rc.zp, rc.amin, rc.amax, r);
      check_against_reference<Code>(acc, p, n % 4, "n " + std::to_string(n));
    }
  }
}

TEST_P(RequantizeSimd, PerTensorLengthsRangesOffsets) {
  for (const auto r : {kDouble, kSingle}) {
    sweep_lengths_and_ranges<std::int8_t>(r);
    sweep_lengths_and_ranges<std::uint8_t>(r);
    sweep_lengths_and_ranges<std::int16_t>(r);
  }
}

// Channel multiplier sets that reach every kernel variant: all shifts negative, all zero, all positive,
// and mixed signs.
std::vector<quantized_multiplier> channel_multipliers(std::size_t channels, int kind, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<std::int32_t> mult(1 << 30, kMax);
  std::vector<quantized_multiplier> m(channels);
  for (std::size_t c = 0; c < channels; ++c) {
    int s = 0;
    switch (kind) {
      case 0: s = -1 - static_cast<int>(rng() % 31); break;  // -31 .. -1
      case 1: s = 0; break;
      case 2: s = 1 + static_cast<int>(rng() % 30); break;  // 1 .. 30
      default: s = static_cast<int>(rng() % 62) - 31; break;  // -31 .. 30
    }
    const std::int32_t special[] = {0, 1 << 30, kMax};
    m[c] = {rng() % 4 == 0 ? special[rng() % 3] : mult(rng), s};
  }
  if (kind == 3 && channels >= 3) {  // make sure zero, negative and positive shifts all appear
    m[0].shift = 0;
    m[1].shift = -5;
    m[2].shift = 7;
  }
  return m;
}

template <class Code>
void sweep_per_channel(requant_rounding r) {
  constexpr std::int32_t lo = code_limits<Code>::lo, hi = code_limits<Code>::hi;
  for (const std::size_t channels : {1u, 3u, 16u, 17u}) {
    for (int kind = 0; kind < 4; ++kind) {
      const auto m = channel_multipliers(channels, kind, channels * 10 + static_cast<std::uint64_t>(kind));
      for (const std::size_t rows : {0u, 1u, 2u, 5u, 33u}) {
        const auto acc = accumulators(rows * channels, rows + channels);
        const auto p = requant_params::per_channel(m, rows % 2 ? hi : lo, lo, hi, r);
        check_against_reference<Code>(acc, p, rows % 3,
                                      "channels " + std::to_string(channels) + " kind " + std::to_string(kind) +
                                          " rows " + std::to_string(rows));
        const std::int32_t mid = (lo + hi) / 2;
        const auto q = requant_params::per_channel(m, mid, mid - 3, mid + 5, r);
        check_against_reference<Code>(acc, q, 1, "narrow range, channels " + std::to_string(channels));
      }
    }
  }
}

TEST_P(RequantizeSimd, PerChannel) {
  for (const auto r : {kDouble, kSingle}) {
    sweep_per_channel<std::int8_t>(r);
    sweep_per_channel<std::uint8_t>(r);
    sweep_per_channel<std::int16_t>(r);
  }
}

TEST_P(RequantizeSimd, LargeRandom) {
  const auto acc = accumulators(100003, 99);
  for (const auto r : {kDouble, kSingle}) {
    for (int shift : {-31, -20, -9, -1, 0, 1, 12, 30}) {
      const auto p = requant_params::per_tensor({1518500250, shift}, -3, -128, 127, r);
      check_against_reference<std::int8_t>(acc, p, 0, "large, shift " + std::to_string(shift));
    }
  }
}

std::string target_param_name(const ::testing::TestParamInfo<std::int64_t>& info) {
  return lowbit::detail::target_name(info.param);
}

INSTANTIATE_TEST_SUITE_P(Targets, RequantizeSimd, ::testing::ValuesIn(lowbit::detail::available_targets()),
                         target_param_name);

TEST(RequantizeSimdTarget, NamesTheActiveTarget) {
  EXPECT_STRNE(lowbit::fxp::requantize_simd_target(), "");
  EXPECT_STREQ(lowbit::fxp::requantize_simd_target(), lowbit::detail::active_target_name());
}

}  // namespace
