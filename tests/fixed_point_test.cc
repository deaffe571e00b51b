// lowbit — tests of lowbit/fixed_point.h: Q-format numbers, integer primitives, ETSI basic operators.
// SPDX-License-Identifier: Apache-2.0
//
// Known answers are hand-computed; property tests compare with exact arithmetic done another way
// (double, whose scaling by powers of two is exact here, or int64 floor division). The gemmlowp
// functions are checked against gemmlowp itself in gemmlowp_conformance_test.cc.
#include "lowbit/fixed_point.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <vector>

namespace {

namespace fxp = lowbit::fxp;
using fxp::overflow_flag;
using fxp::rounding;

constexpr std::int32_t kMin32 = std::numeric_limits<std::int32_t>::min();
constexpr std::int32_t kMax32 = std::numeric_limits<std::int32_t>::max();
constexpr std::int16_t kMin16 = std::numeric_limits<std::int16_t>::min();
constexpr std::int16_t kMax16 = std::numeric_limits<std::int16_t>::max();

constexpr rounding kModes[] = {rounding::half_even, rounding::half_away, rounding::half_up, rounding::toward_zero,
                               rounding::toward_neg_inf};

// Rounds an exactly representable double to an integer under `mode` (the test's independent oracle).
double round_by(double v, rounding mode) {
  const double fl = std::floor(v);
  const double frac = v - fl;  // exact
  switch (mode) {
    case rounding::half_even: return std::nearbyint(v);  // default FE_TONEAREST
    case rounding::half_away: return std::round(v);
    case rounding::half_up: return frac >= 0.5 ? fl + 1 : fl;
    case rounding::toward_zero: return std::trunc(v);
    case rounding::toward_neg_inf: return fl;
  }
  return v;
}

// ---------------------------------------------------------------------------------------------
// Compile-time use
// ---------------------------------------------------------------------------------------------

using q3_4 = fxp::fixed<3, 4, std::int8_t>;
static_assert(q3_4::raw_min == -128 && q3_4::raw_max == 127 && q3_4::total_bits == 8);
static_assert(q3_4::from_float(1.5, rounding::half_even).raw() == 24);
static_assert(fxp::saturating_rounding_doubling_high_mul(kMin32, kMin32) == kMax32);
static_assert(fxp::rounding_divide_by_pot(-5, 1) == -3);
static_assert(fxp::saturating_rounding_multiply_by_pot<3>(std::int32_t{1} << 29) == kMax32);
static_assert(fxp::count_leading_sign_bits(std::int32_t{-1}) == 31);
static_assert(fxp::etsi::norm_s(-1) == 15 && fxp::etsi::norm_l(-1) == 31);
static_assert(fxp::etsi::L_mult(kMin16, kMin16) == kMax32);
static_assert(fxp::exp_on_negative_values<5>(0) == kMax32);
static_assert(fxp::logistic<5>(0) == (1 << 30) && fxp::tanh<5>(0) == 0);

// ---------------------------------------------------------------------------------------------
// Q-format conversions
// ---------------------------------------------------------------------------------------------

template <class Q>
class FixedConversion : public ::testing::Test {};

using Formats = ::testing::Types<fxp::fixed<3, 4, std::int8_t>, fxp::fixed<0, 7, std::int8_t>, fxp::fixed<7, 8, std::int16_t>,
                                 fxp::fixed<2, 4, std::int16_t>,  // 7 bits in int16: saturates at its own bounds
                                 fxp::fixed<15, 16, std::int32_t>, fxp::fixed<0, 31, std::int32_t>,
                                 fxp::fixed<31, 32, std::int64_t>, fxp::fixed<20, 10, std::int64_t>>;
TYPED_TEST_SUITE(FixedConversion, Formats);

TYPED_TEST(FixedConversion, TiesUnderEveryMode) {
  using Q = TypeParam;
  const double lsb = std::ldexp(1.0, -Q::fraction_bits);
  struct row {
    double x_lsb;  // the value in LSB units
    std::int64_t half_even, half_away, half_up, toward_zero, toward_neg_inf;
  };
  const row rows[] = {
      {0.5, 0, 1, 1, 0, 0},      {1.5, 2, 2, 2, 1, 1},      {2.5, 2, 3, 3, 2, 2},
      {-0.5, 0, -1, 0, 0, -1},   {-1.5, -2, -2, -1, -1, -2}, {-2.5, -2, -3, -2, -2, -3},
      {0.25, 0, 0, 0, 0, 0},     {-0.25, 0, 0, 0, 0, -1},   {2.75, 3, 3, 3, 2, 2},
      {-2.75, -3, -3, -3, -2, -3}, {3.0, 3, 3, 3, 3, 3},      {-3.0, -3, -3, -3, -3, -3},
  };
  for (const row& r : rows) {
    const double v = r.x_lsb * lsb;
    overflow_flag of;
    EXPECT_EQ(Q::from_float(v, rounding::half_even, of).raw(), r.half_even) << r.x_lsb;
    EXPECT_EQ(Q::from_float(v, rounding::half_away, of).raw(), r.half_away) << r.x_lsb;
    EXPECT_EQ(Q::from_float(v, rounding::half_up, of).raw(), r.half_up) << r.x_lsb;
    EXPECT_EQ(Q::from_float(v, rounding::toward_zero, of).raw(), r.toward_zero) << r.x_lsb;
    EXPECT_EQ(Q::from_float(v, rounding::toward_neg_inf, of).raw(), r.toward_neg_inf) << r.x_lsb;
    EXPECT_FALSE(of.is_set()) << r.x_lsb;
  }
}

TYPED_TEST(FixedConversion, SaturationNanInf) {
  using Q = TypeParam;
  const double lsb = std::ldexp(1.0, -Q::fraction_bits);
  const double top = std::ldexp(1.0, Q::integer_bits);  // 2^I, one LSB above the maximum
  for (rounding m : kModes) {
    overflow_flag of;
    // Exact bounds: no overflow.
    EXPECT_EQ(Q::from_float(-top, m, of).raw(), Q::raw_min);
    EXPECT_FALSE(of.is_set());
    if (Q::total_bits <= 53) {
      EXPECT_EQ(Q::from_float(top - lsb, m, of).raw(), Q::raw_max);
      EXPECT_FALSE(of.is_set());
    }
    // Beyond the bounds: saturate and raise.
    EXPECT_EQ(Q::from_float(top, m, of).raw(), Q::raw_max);
    EXPECT_TRUE(of.is_set());
    of.clear();
    EXPECT_EQ(Q::from_float(-top - 2 * lsb * top, m, of).raw(), Q::raw_min);
    EXPECT_TRUE(of.is_set());
    of.clear();
    EXPECT_EQ(Q::from_float(1e300, m, of).raw(), Q::raw_max);
    EXPECT_TRUE(of.is_set());
    of.clear();
    EXPECT_EQ(Q::from_float(-1e300, m, of).raw(), Q::raw_min);
    EXPECT_TRUE(of.is_set());
    of.clear();
    EXPECT_EQ(Q::from_float(std::numeric_limits<double>::infinity(), m, of).raw(), Q::raw_max);
    EXPECT_TRUE(of.is_set());
    of.clear();
    EXPECT_EQ(Q::from_float(-std::numeric_limits<double>::infinity(), m, of).raw(), Q::raw_min);
    EXPECT_TRUE(of.is_set());
    of.clear();
    // NaN -> 0, not an overflow. -0.0 -> 0.
    EXPECT_EQ(Q::from_float(std::numeric_limits<double>::quiet_NaN(), m, of).raw(), 0);
    EXPECT_EQ(Q::from_float(-0.0, m, of).raw(), 0);
    EXPECT_FALSE(of.is_set());
  }
  if (Q::total_bits <= 53) {
    // A value that rounds up onto raw_max + 1 saturates only under the modes that round it up.
    const double just_above = (static_cast<double>(Q::raw_max) + 0.5) * lsb;
    overflow_flag of;
    EXPECT_EQ(Q::from_float(just_above, rounding::toward_zero, of).raw(), Q::raw_max);
    EXPECT_FALSE(of.is_set());
    EXPECT_EQ(Q::from_float(just_above, rounding::half_away, of).raw(), Q::raw_max);
    EXPECT_TRUE(of.is_set());
    // And below raw_min: -2^I - 0.5 LSB rounds onto raw_min under half_up, toward_zero and half_even.
    const double just_below = (static_cast<double>(Q::raw_min) - 0.5) * lsb;
    of.clear();
    EXPECT_EQ(Q::from_float(just_below, rounding::half_up, of).raw(), Q::raw_min);
    EXPECT_FALSE(of.is_set());
    EXPECT_EQ(Q::from_float(just_below, rounding::half_even, of).raw(), Q::raw_min);  // raw_min is even
    EXPECT_FALSE(of.is_set());
    EXPECT_EQ(Q::from_float(just_below, rounding::half_away, of).raw(), Q::raw_min);
    EXPECT_TRUE(of.is_set());
  }
}

TYPED_TEST(FixedConversion, RoundTripAndRandomValues) {
  using Q = TypeParam;
  using S = typename Q::storage_type;
  std::mt19937_64 rng(42);
  for (int i = 0; i < 20000; ++i) {
    // Every representable raw survives to_double -> from_float under every mode.
    const auto raw = static_cast<S>(static_cast<std::int64_t>(rng()) >> (64 - Q::total_bits));
    const Q q = Q::from_raw(raw);
    ASSERT_EQ(q.raw(), raw);
    for (rounding m : kModes) {
      if (Q::total_bits <= 53) {
        ASSERT_EQ(Q::from_float(q.to_double(), m).raw(), raw);
      }
    }
    if (Q::total_bits <= 24) {
      ASSERT_EQ(static_cast<double>(q.to_float()), q.to_double());
    }
    // A random double in range rounds as the oracle says, and saturates as the oracle says.
    const double v = std::ldexp(static_cast<double>(static_cast<std::int32_t>(rng())), Q::integer_bits - 31) * 1.0625;
    const double scaled = std::ldexp(v, Q::fraction_bits);
    for (rounding m : kModes) {
      const double want = std::fmin(std::fmax(round_by(scaled, m), static_cast<double>(Q::raw_min)),
                                    static_cast<double>(Q::raw_max));
      if (Q::total_bits <= 53) {
        ASSERT_EQ(static_cast<double>(Q::from_float(v, m).raw()), want) << v;
      }
    }
  }
}

TEST(FixedConversionKnown, ToFloatRoundsOnceHalfToEven) {
  using q = fxp::fixed<0, 31, std::int32_t>;
  // raw = 2^24 + 1 (needs 25 bits): halfway between two floats, ties to even -> 2^24.
  EXPECT_EQ(q::from_raw((1 << 24) + 1).to_float(), std::ldexp(1.0f, 24 - 31));
  EXPECT_EQ(q::from_raw((1 << 24) + 3).to_float(), std::ldexp(static_cast<float>((1 << 24) + 4), -31));
  EXPECT_EQ(q::from_raw(kMin32).to_double(), -1.0);
  using q64 = fxp::fixed<0, 63, std::int64_t>;
  EXPECT_EQ(q64::from_float(-1.0, rounding::half_even).raw(), std::numeric_limits<std::int64_t>::min());
  overflow_flag of;
  EXPECT_EQ(q64::from_float(1.0, rounding::half_even, of).raw(), std::numeric_limits<std::int64_t>::max());
  EXPECT_TRUE(of.is_set());
  EXPECT_EQ(q64::from_float(0.5, rounding::half_even).raw(), std::int64_t{1} << 62);
}

TEST(FixedConversionKnown, FromRawSaturatesToFormatBounds) {
  using q = fxp::fixed<2, 4, std::int16_t>;  // raw in [-64, 63]
  overflow_flag of;
  EXPECT_EQ(q::from_raw(63, of).raw(), 63);
  EXPECT_FALSE(of.is_set());
  EXPECT_EQ(q::from_raw(64, of).raw(), 63);
  EXPECT_TRUE(of.is_set());
  EXPECT_EQ(q::from_raw(-1000).raw(), -64);
  EXPECT_EQ(q::min().to_double(), -4.0);
  EXPECT_EQ(q::max().to_double(), 4.0 - 1.0 / 16);
}

TEST(FixedConversionKnown, ConvertBetweenFormats) {
  using q7_8 = fxp::fixed<7, 8, std::int16_t>;
  using q3_4f = fxp::fixed<3, 4, std::int8_t>;
  // 8 -> 4 fraction bits: ties at 0x08 (0.5 LSB of the destination).
  EXPECT_EQ(fxp::convert<q3_4f>(q7_8::from_raw(0x18), rounding::half_even).raw(), 2);  // 1.5 -> 2
  EXPECT_EQ(fxp::convert<q3_4f>(q7_8::from_raw(0x28), rounding::half_even).raw(), 2);  // 2.5 -> 2
  EXPECT_EQ(fxp::convert<q3_4f>(q7_8::from_raw(0x28), rounding::half_away).raw(), 3);
  EXPECT_EQ(fxp::convert<q3_4f>(q7_8::from_raw(-0x28), rounding::half_up).raw(), -2);
  EXPECT_EQ(fxp::convert<q3_4f>(q7_8::from_raw(-0x28), rounding::toward_neg_inf).raw(), -3);
  overflow_flag of;
  EXPECT_EQ(fxp::convert<q3_4f>(q7_8::from_float(8.0, rounding::half_even), rounding::half_even, of).raw(), 127);
  EXPECT_TRUE(of.is_set());
  // 4 -> 8 fraction bits: exact.
  for (int r = -128; r <= 127; ++r) {
    const auto x = q3_4f::from_raw(static_cast<std::int8_t>(r));
    EXPECT_EQ(fxp::convert<q7_8>(x, rounding::toward_zero).to_double(), x.to_double());
  }
}

// ---------------------------------------------------------------------------------------------
// Q-format arithmetic and the sticky flag
// ---------------------------------------------------------------------------------------------

TEST(FixedArithmetic, SaturatingVersusWrapping) {
  const q3_4 max = q3_4::max(), min = q3_4::min(), lsb = q3_4::from_raw(1);
  overflow_flag of;
  EXPECT_EQ(fxp::saturating_add(max, lsb, of), max);
  EXPECT_TRUE(of.is_set());
  of.clear();
  EXPECT_EQ(fxp::wrapping_add(max, lsb, of), min);
  EXPECT_TRUE(of.is_set());
  of.clear();
  EXPECT_EQ(fxp::saturating_sub(min, lsb, of), min);
  EXPECT_TRUE(of.is_set());
  of.clear();
  EXPECT_EQ(fxp::wrapping_sub(min, lsb, of), max);
  EXPECT_TRUE(of.is_set());
  of.clear();
  // In range: identical, no flag.
  EXPECT_EQ(fxp::saturating_add(max, fxp::wrapping_sub(q3_4{}, lsb), of).raw(), 126);
  EXPECT_EQ(fxp::wrapping_add(lsb, lsb, of).raw(), 2);
  EXPECT_FALSE(of.is_set());

  // A 7-bit format in int16 wraps modulo 2^7.
  using q2_4 = fxp::fixed<2, 4, std::int16_t>;
  EXPECT_EQ(fxp::wrapping_add(q2_4::max(), q2_4::from_raw(1)).raw(), -64);
  EXPECT_EQ(fxp::saturating_add(q2_4::max(), q2_4::from_raw(1)).raw(), 63);
  EXPECT_EQ(fxp::wrapping_sub(q2_4::from_raw(-64), q2_4::from_raw(2)).raw(), 62);
}

TEST(FixedArithmetic, MultiplyRoundsOnceAndSaturates) {
  const q3_4 half = q3_4::from_float(0.5, rounding::half_even);
  // 1 LSB * 0.5 = 0.5 LSB; 3 LSB * 0.5 = 1.5 LSB; and negatives.
  const struct {
    int a;
    std::int8_t even, away, up, zero, floor;
  } rows[] = {{1, 0, 1, 1, 0, 0}, {3, 2, 2, 2, 1, 1}, {5, 2, 3, 3, 2, 2}, {-1, 0, -1, 0, 0, -1},
              {-3, -2, -2, -1, -1, -2}, {-5, -2, -3, -2, -2, -3}};
  for (const auto& r : rows) {
    const q3_4 a = q3_4::from_raw(static_cast<std::int8_t>(r.a));
    EXPECT_EQ(fxp::saturating_mul(a, half, rounding::half_even).raw(), r.even) << r.a;
    EXPECT_EQ(fxp::saturating_mul(a, half, rounding::half_away).raw(), r.away) << r.a;
    EXPECT_EQ(fxp::saturating_mul(a, half, rounding::half_up).raw(), r.up) << r.a;
    EXPECT_EQ(fxp::saturating_mul(a, half, rounding::toward_zero).raw(), r.zero) << r.a;
    EXPECT_EQ(fxp::saturating_mul(a, half, rounding::toward_neg_inf).raw(), r.floor) << r.a;
  }
  overflow_flag of;
  const q3_4 three = q3_4::from_float(3.0, rounding::half_even);
  EXPECT_EQ(fxp::saturating_mul(three, three, rounding::half_even, of), q3_4::max());  // 9 > 7.9375
  EXPECT_TRUE(of.is_set());
  of.clear();
  EXPECT_EQ(fxp::wrapping_mul(three, three, rounding::half_even, of).raw(), static_cast<std::int8_t>(144));  // 144 - 256
  EXPECT_TRUE(of.is_set());
  of.clear();
  EXPECT_EQ(fxp::saturating_mul(q3_4::min(), q3_4::from_float(-1.0, rounding::half_even), rounding::half_even, of),
            q3_4::max());  // 8 is not representable
  EXPECT_TRUE(of.is_set());
  // int64 storage multiplies in 128 bits.
  using q31_32 = fxp::fixed<31, 32, std::int64_t>;
  const q31_32 big = q31_32::from_float(40000.5, rounding::half_even);
  EXPECT_EQ(fxp::saturating_mul(big, big, rounding::half_even).to_double(), 40000.5 * 40000.5);
  EXPECT_EQ(fxp::saturating_mul(q31_32::from_float(65536.0, rounding::half_even), q31_32::from_float(32768.0, rounding::half_even),
                                rounding::half_even),
            q31_32::max());
}

TEST(FixedArithmetic, PropertiesAgainstExactArithmetic) {
  using q = fxp::fixed<4, 10, std::int16_t>;  // 15 bits: raw in [-16384, 16383]
  std::mt19937 rng(7);
  std::uniform_int_distribution<int> dist(q::raw_min, q::raw_max);
  for (int i = 0; i < 200000; ++i) {
    const q a = q::from_raw(static_cast<std::int16_t>(dist(rng))), b = q::from_raw(static_cast<std::int16_t>(dist(rng)));
    const long sum = long{a.raw()} + b.raw();
    const bool out = sum < q::raw_min || sum > q::raw_max;
    overflow_flag of1, of2;
    ASSERT_EQ(fxp::saturating_add(a, b, of1).raw(), std::clamp<long>(sum, q::raw_min, q::raw_max));
    ASSERT_EQ(of1.is_set(), out);
    const long wrapped = ((sum - q::raw_min) % 32768 + 32768) % 32768 + q::raw_min;
    ASSERT_EQ(fxp::wrapping_add(a, b, of2).raw(), wrapped);
    ASSERT_EQ(of2.is_set(), out);
    for (rounding m : kModes) {
      const double exact = std::ldexp(static_cast<double>(a.raw()) * b.raw(), -q::fraction_bits);  // exact
      const double want = std::clamp(round_by(exact, m), double{q::raw_min}, double{q::raw_max});
      overflow_flag of3;
      ASSERT_EQ(fxp::saturating_mul(a, b, m, of3).raw(), want);
      ASSERT_EQ(of3.is_set(), round_by(exact, m) != want);
    }
  }
}

TEST(OverflowFlag, StickyAndPerContext) {
  overflow_flag a, b;
  EXPECT_FALSE(a.is_set());
  EXPECT_FALSE(static_cast<bool>(a));
  (void)fxp::etsi::add(1, 2, a);
  EXPECT_FALSE(a.is_set());                  // no overflow, not raised
  (void)fxp::etsi::add(kMax16, 1, a);      // overflow
  EXPECT_TRUE(a.is_set());
  EXPECT_FALSE(b.is_set());                  // another context is untouched
  (void)fxp::etsi::add(1, 2, a);
  (void)fxp::saturating_add(q3_4{}, q3_4{}, a);
  EXPECT_TRUE(a.is_set());                   // stays set through later in-range operations
  a.raise_if(false);
  EXPECT_TRUE(a.is_set());
  a.clear();
  EXPECT_FALSE(a.is_set());
  a.raise_if(true);
  EXPECT_TRUE(a);
}

// ---------------------------------------------------------------------------------------------
// Primitives: known answers
// ---------------------------------------------------------------------------------------------

TEST(Primitives, SaturatingRoundingDoublingHighMul) {
  using fxp::saturating_rounding_doubling_high_mul;
  EXPECT_EQ(saturating_rounding_doubling_high_mul(kMin32, kMin32), kMax32);
  EXPECT_EQ(saturating_rounding_doubling_high_mul(kMin32, kMax32), -kMax32);
  EXPECT_EQ(saturating_rounding_doubling_high_mul(kMax32, kMax32), kMax32 - 1);
  EXPECT_EQ(saturating_rounding_doubling_high_mul(1 << 30, 1 << 30), 1 << 29);  // 0.5 * 0.5
  // Ties (a * b = k * 2^30, i.e. (k/2) LSB) go toward +infinity.
  EXPECT_EQ(saturating_rounding_doubling_high_mul(1 << 15, 1 << 15), 1);       //  0.5 ->  1
  EXPECT_EQ(saturating_rounding_doubling_high_mul(-(1 << 15), 1 << 15), 0);    // -0.5 ->  0
  EXPECT_EQ(saturating_rounding_doubling_high_mul(3 << 15, 1 << 15), 2);       //  1.5 ->  2
  EXPECT_EQ(saturating_rounding_doubling_high_mul(-(3 << 15), 1 << 15), -1);  // -1.5 -> -1
  EXPECT_EQ(saturating_rounding_doubling_high_mul(5 << 15, 1 << 15), 3);       //  2.5 ->  3
  EXPECT_EQ(saturating_rounding_doubling_high_mul(-(5 << 15), 1 << 15), -2);  // -2.5 -> -2
  EXPECT_EQ(saturating_rounding_doubling_high_mul(0, kMin32), 0);
  // int16
  EXPECT_EQ(saturating_rounding_doubling_high_mul(kMin16, kMin16), kMax16);
  EXPECT_EQ(saturating_rounding_doubling_high_mul(std::int16_t{1 << 14}, std::int16_t{1 << 14}), 1 << 13);
  EXPECT_EQ(saturating_rounding_doubling_high_mul(std::int16_t{1 << 7}, std::int16_t{1 << 7}), 1);
  EXPECT_EQ(saturating_rounding_doubling_high_mul(std::int16_t{-(1 << 7)}, std::int16_t{1 << 7}), 0);
  EXPECT_EQ(saturating_rounding_doubling_high_mul(std::int16_t{-(3 << 7)}, std::int16_t{1 << 7}), -1);
  // Property: floor(a*b / 2^31 + 1/2) for random pairs (exact in long double? use int64 floor division).
  std::mt19937_64 rng(3);
  for (int i = 0; i < 200000; ++i) {
    const auto a = static_cast<std::int32_t>(rng()), b = static_cast<std::int32_t>(rng());
    if (a == kMin32 && b == kMin32) continue;
    const std::int64_t num = std::int64_t{a} * b + (std::int64_t{1} << 30);
    const std::int64_t q = num / (std::int64_t{1} << 31) - ((num % (std::int64_t{1} << 31) != 0 && num < 0) ? 1 : 0);
    ASSERT_EQ(saturating_rounding_doubling_high_mul(a, b), q) << a << " " << b;
  }
}

TEST(Primitives, RoundingDivideByPot) {
  using fxp::rounding_divide_by_pot;
  EXPECT_EQ(rounding_divide_by_pot(5, 1), 3);
  EXPECT_EQ(rounding_divide_by_pot(-5, 1), -3);
  EXPECT_EQ(rounding_divide_by_pot(3, 1), 2);
  EXPECT_EQ(rounding_divide_by_pot(-3, 1), -2);
  EXPECT_EQ(rounding_divide_by_pot(1, 1), 1);
  EXPECT_EQ(rounding_divide_by_pot(-1, 1), -1);
  EXPECT_EQ(rounding_divide_by_pot(-1, 2), 0);  // -0.25
  EXPECT_EQ(rounding_divide_by_pot(kMin32, 0), kMin32);
  EXPECT_EQ(rounding_divide_by_pot(kMax32, 0), kMax32);
  EXPECT_EQ(rounding_divide_by_pot(kMin32, 31), -1);
  EXPECT_EQ(rounding_divide_by_pot(kMax32, 31), 1);
  EXPECT_EQ(rounding_divide_by_pot(1 << 30, 31), 1);      //  0.5 ->  1
  EXPECT_EQ(rounding_divide_by_pot(-(1 << 30), 31), -1);  // -0.5 -> -1
  EXPECT_EQ(rounding_divide_by_pot((1 << 30) - 1, 31), 0);
  EXPECT_EQ(rounding_divide_by_pot(std::int16_t{-3}, 1), -2);
  EXPECT_EQ(rounding_divide_by_pot(kMin16, 15), -1);
  EXPECT_EQ(rounding_divide_by_pot(std::numeric_limits<std::int64_t>::min(), 63), -1);
  EXPECT_EQ(rounding_divide_by_pot(std::int64_t{-5}, 1), -3);
  // Property: equals the exact rational x / 2^e rounded half away from zero (std::round on the
  // exactly representable double), for every exponent.
  std::mt19937_64 rng(4);
  for (int i = 0; i < 20000; ++i) {
    const auto x = static_cast<std::int32_t>(rng() >> (rng() % 33));
    const auto x64 = static_cast<std::int64_t>(rng() >> (rng() % 64));
    for (int e = 0; e <= 31; ++e) {
      ASSERT_EQ(rounding_divide_by_pot(x, e), std::round(std::ldexp(double(x), -e))) << x << " " << e;
    }
    for (int e = 0; e <= 63; ++e) {
      const fxp::fixed_detail::int128 exact2 = (fxp::fixed_detail::int128{x64} * 2) >> e;  // floor(2x / 2^e)
      // Half away from zero: sign(x) * floor((|x| + 2^(e-1)) / 2^e), in 128 bits.
      const fxp::fixed_detail::int128 ax = x64 < 0 ? -fxp::fixed_detail::int128{x64} : fxp::fixed_detail::int128{x64};
      const fxp::fixed_detail::int128 mag = e == 0 ? ax : (ax + (fxp::fixed_detail::int128{1} << (e - 1))) >> e;
      (void)exact2;
      ASSERT_TRUE(rounding_divide_by_pot(x64, e) == (x64 < 0 ? -mag : mag)) << x64 << " " << e;
    }
  }
  for (int x = kMin16; x <= kMax16; ++x) {
    for (int e = 0; e <= 15; ++e) {
      ASSERT_EQ(rounding_divide_by_pot(static_cast<std::int16_t>(x), e), std::round(std::ldexp(double(x), -e)));
    }
  }
}

TEST(Primitives, SaturatingRoundingMultiplyByPot) {
  using fxp::saturating_rounding_multiply_by_pot;
  EXPECT_EQ(saturating_rounding_multiply_by_pot<1>(1 << 29), 1 << 30);
  EXPECT_EQ(saturating_rounding_multiply_by_pot<1>(1 << 30), kMax32);
  EXPECT_EQ(saturating_rounding_multiply_by_pot<1>(-(1 << 30)), kMin32);  // exact, also the bound
  EXPECT_EQ(saturating_rounding_multiply_by_pot<1>(-(1 << 30) - 1), kMin32);
  EXPECT_EQ(saturating_rounding_multiply_by_pot<31>(1), kMax32);
  EXPECT_EQ(saturating_rounding_multiply_by_pot<31>(-1), kMin32);
  EXPECT_EQ(saturating_rounding_multiply_by_pot<31>(0), 0);
  EXPECT_EQ(saturating_rounding_multiply_by_pot<-1>(-3), -2);
  EXPECT_EQ(saturating_rounding_multiply_by_pot<-31>(kMin32), -1);
  EXPECT_EQ(saturating_rounding_multiply_by_pot<0>(kMin32), kMin32);
  EXPECT_EQ(saturating_rounding_multiply_by_pot<15>(std::int16_t{1}), kMax16);
  EXPECT_EQ(saturating_rounding_multiply_by_pot<2>(std::int16_t{-8192}), kMin16);
  EXPECT_EQ(saturating_rounding_multiply_by_pot<-2>(std::int16_t{-6}), -2);  // -1.5 -> -2
}

TEST(Primitives, ShiftsUnderEveryMode) {
  // rounding_shift_right against the double oracle, every mode, every shift, int32 and int64.
  std::mt19937_64 rng(5);
  for (int i = 0; i < 5000; ++i) {
    const auto x = static_cast<std::int32_t>(rng() >> (rng() % 33));
    for (int n = 0; n <= 40; ++n) {
      for (rounding m : kModes) {
        ASSERT_EQ(fxp::rounding_shift_right(x, n, m), round_by(std::ldexp(double(x), -n), m)) << x << " " << n;
      }
    }
    const auto x8 = static_cast<std::int8_t>(rng());
    for (int n = 0; n <= 9; ++n) {
      for (rounding m : kModes) {
        ASSERT_EQ(fxp::rounding_shift_right(x8, n, m), round_by(std::ldexp(double(x8), -n), m));
      }
    }
  }
  EXPECT_EQ(fxp::rounding_shift_right(std::int64_t{-3}, 1, rounding::half_even), -2);
  EXPECT_EQ(fxp::rounding_shift_right(std::numeric_limits<std::int64_t>::min(), 64, rounding::half_even), 0);
  EXPECT_EQ(fxp::rounding_shift_right(std::numeric_limits<std::int64_t>::min(), 64, rounding::half_away), -1);
  EXPECT_EQ(fxp::rounding_shift_right(std::numeric_limits<std::int64_t>::min(), 64, rounding::half_up), 0);
  // Ties, hand-computed: -5 / 2 = -2.5.
  EXPECT_EQ(fxp::rounding_shift_right(-5, 1, rounding::half_even), -2);
  EXPECT_EQ(fxp::rounding_shift_right(-5, 1, rounding::half_away), -3);
  EXPECT_EQ(fxp::rounding_shift_right(-5, 1, rounding::half_up), -2);
  EXPECT_EQ(fxp::rounding_shift_right(-5, 1, rounding::toward_zero), -2);
  EXPECT_EQ(fxp::rounding_shift_right(-5, 1, rounding::toward_neg_inf), -3);

  // saturating_shift_left: known answers, flags, and the inverse law where exact.
  overflow_flag of;
  EXPECT_EQ(fxp::saturating_shift_left(1, 30, of), 1 << 30);
  EXPECT_FALSE(of.is_set());
  EXPECT_EQ(fxp::saturating_shift_left(-1, 31, of), kMin32);
  EXPECT_FALSE(of.is_set());
  EXPECT_EQ(fxp::saturating_shift_left(1, 31, of), kMax32);
  EXPECT_TRUE(of.is_set());
  EXPECT_EQ(fxp::saturating_shift_left(-2, 31), kMin32);
  EXPECT_EQ(fxp::saturating_shift_left(0, 64), 0);
  EXPECT_EQ(fxp::saturating_shift_left(std::int64_t{3}, 62), std::numeric_limits<std::int64_t>::max());
  EXPECT_EQ(fxp::saturating_shift_left(std::int8_t{-3}, 5), -96);
  EXPECT_EQ(fxp::saturating_shift_left(std::int8_t{-5}, 5), -128);
  EXPECT_EQ(fxp::saturating_rounding_shift(-5, -1), -3);
  EXPECT_EQ(fxp::saturating_rounding_shift(5, 2), 20);
  EXPECT_EQ(fxp::saturating_rounding_shift(kMax32, 1), kMax32);
  EXPECT_EQ(fxp::saturating_rounding_shift(kMin32, std::numeric_limits<int>::min()), 0);  // clamped, no UB
  EXPECT_EQ(fxp::saturating_rounding_shift(5, std::numeric_limits<int>::max()), kMax32);
  EXPECT_EQ(fxp::rounding_shift_right(kMin32, std::numeric_limits<int>::max(), rounding::toward_neg_inf), -1);
  for (int i = 0; i < 20000; ++i) {
    const auto x = static_cast<std::int32_t>(rng());
    for (int k = 0; k <= 31; ++k) {
      overflow_flag f;
      const std::int32_t up = fxp::saturating_rounding_shift(x, k, f);
      const double exact = std::ldexp(double(x), k);
      ASSERT_EQ(up, std::clamp(exact, double{kMin32}, double{kMax32}));
      ASSERT_EQ(f.is_set(), exact < kMin32 || exact > kMax32);
      if (!f.is_set()) {
        for (rounding m : kModes) ASSERT_EQ(fxp::rounding_shift_right(up, k, m), x);  // exact inverse
        ASSERT_EQ(fxp::saturating_rounding_shift(up, -k), x);
      }
    }
  }
}

TEST(Primitives, CountLeadingSignBits) {
  using fxp::count_leading_sign_bits;
  EXPECT_EQ(count_leading_sign_bits(std::int32_t{0}), 31);
  EXPECT_EQ(count_leading_sign_bits(std::int32_t{-1}), 31);
  EXPECT_EQ(count_leading_sign_bits(std::int32_t{1}), 30);
  EXPECT_EQ(count_leading_sign_bits(std::int32_t{-2}), 30);
  EXPECT_EQ(count_leading_sign_bits(kMax32), 0);
  EXPECT_EQ(count_leading_sign_bits(kMin32), 0);
  EXPECT_EQ(count_leading_sign_bits(std::int32_t{-(1 << 30)}), 1);
  EXPECT_EQ(count_leading_sign_bits(std::int32_t{1 << 30}), 0);
  EXPECT_EQ(count_leading_sign_bits(std::int8_t{-1}), 7);
  EXPECT_EQ(count_leading_sign_bits(std::int8_t{63}), 1);
  EXPECT_EQ(count_leading_sign_bits(std::int16_t{0}), 15);
  EXPECT_EQ(count_leading_sign_bits(std::int64_t{1}), 62);
  // Property: the largest k such that x * 2^k still fits.
  for (int x = kMin16; x <= kMax16; ++x) {
    int k = 0;
    while (k < 15 && x * (1 << (k + 1)) >= kMin16 && x * (1 << (k + 1)) <= kMax16) ++k;
    ASSERT_EQ(count_leading_sign_bits(static_cast<std::int16_t>(x)), k) << x;
  }
}

TEST(Primitives, SaturateNarrow) {
  using fxp::saturate_narrow;
  EXPECT_EQ(saturate_narrow<std::int8_t>(127), 127);
  EXPECT_EQ(saturate_narrow<std::int8_t>(128), 127);
  EXPECT_EQ(saturate_narrow<std::int8_t>(-129), -128);
  EXPECT_EQ(saturate_narrow<std::int16_t>(std::int64_t{1} << 40), kMax16);
  EXPECT_EQ(saturate_narrow<std::int32_t>(std::numeric_limits<std::int64_t>::min()), kMin32);
  EXPECT_EQ(saturate_narrow<std::uint8_t>(-1), 0);
  EXPECT_EQ(saturate_narrow<std::uint8_t>(300), 255);
  EXPECT_EQ(saturate_narrow<std::int8_t>(std::uint32_t{0xffffffffu}), 127);
  overflow_flag of;
  EXPECT_EQ(saturate_narrow<std::int16_t>(-32768, of), kMin16);
  EXPECT_FALSE(of.is_set());
  EXPECT_EQ(saturate_narrow<std::int16_t>(-32769, of), kMin16);
  EXPECT_TRUE(of.is_set());
}

// ---------------------------------------------------------------------------------------------
// ETSI / ITU-T G.191 basic operators
// ---------------------------------------------------------------------------------------------

namespace etsi = fxp::etsi;

TEST(Etsi, AddSubSaturate) {
  overflow_flag of;
  EXPECT_EQ(etsi::add(100, 200, of), 300);
  EXPECT_EQ(etsi::sub(-100, 200, of), -300);
  EXPECT_FALSE(of.is_set());
  EXPECT_EQ(etsi::add(kMax16, 1, of), kMax16);
  EXPECT_TRUE(of.is_set());
  of.clear();
  EXPECT_EQ(etsi::add(kMin16, -1, of), kMin16);
  EXPECT_TRUE(of.is_set());
  of.clear();
  EXPECT_EQ(etsi::sub(0, kMin16, of), kMax16);
  EXPECT_TRUE(of.is_set());
  of.clear();
  EXPECT_EQ(etsi::sub(kMin16, 1, of), kMin16);
  EXPECT_TRUE(of.is_set());
  of.clear();
  EXPECT_EQ(etsi::L_add(kMax32, 1, of), kMax32);
  EXPECT_TRUE(of.is_set());
  of.clear();
  EXPECT_EQ(etsi::L_sub(kMin32, 1, of), kMin32);
  EXPECT_TRUE(of.is_set());
  EXPECT_EQ(etsi::negate(kMin16), kMax16);
  EXPECT_EQ(etsi::abs_s(kMin16), kMax16);
  EXPECT_EQ(etsi::L_negate(kMin32), kMax32);
  EXPECT_EQ(etsi::L_abs(kMin32), kMax32);
  EXPECT_EQ(etsi::extract_h(0x12345678), 0x1234);
  EXPECT_EQ(etsi::extract_l(0x12348765), static_cast<std::int16_t>(0x8765));
  EXPECT_EQ(etsi::L_deposit_h(-2), -131072);
  EXPECT_EQ(etsi::L_deposit_l(-2), -2);
}

TEST(Etsi, MultiplyAccumulate) {
  overflow_flag of;
  EXPECT_EQ(etsi::L_mult(2, 3, of), 12);
  EXPECT_EQ(etsi::L_mult(kMin16, kMax16, of), -2147418112);
  EXPECT_FALSE(of.is_set());
  EXPECT_EQ(etsi::L_mult(kMin16, kMin16, of), 0x7fffffff);
  EXPECT_TRUE(of.is_set());
  // L_mac saturates the product, then the sum: the results differ from the exact 2^31 + L3.
  of.clear();
  EXPECT_EQ(etsi::L_mac(-1, kMin16, kMin16, of), 0x7ffffffe);  // exact would be 0x7fffffff
  EXPECT_TRUE(of.is_set());
  of.clear();
  EXPECT_EQ(etsi::L_mac(kMin32, kMin16, kMin16, of), -1);  // exact would be 0
  EXPECT_TRUE(of.is_set());
  of.clear();
  EXPECT_EQ(etsi::L_mac(kMax32, kMin16, kMin16, of), kMax32);  // both saturations
  EXPECT_TRUE(of.is_set());
  of.clear();
  EXPECT_EQ(etsi::L_mac(kMax32, 1, 1, of), kMax32);  // the sum's saturation alone
  EXPECT_TRUE(of.is_set());
  of.clear();
  EXPECT_EQ(etsi::L_mac(10, 3, 4, of), 34);
  EXPECT_EQ(etsi::L_msu(10, 3, 4, of), -14);
  EXPECT_FALSE(of.is_set());
  EXPECT_EQ(etsi::L_msu(0, kMin16, kMin16, of), -kMax32);  // exact would be INT32_MIN
  EXPECT_TRUE(of.is_set());
  of.clear();
  EXPECT_EQ(etsi::L_msu(kMin32, 1, 1, of), kMin32);
  EXPECT_TRUE(of.is_set());
  // mult truncates toward -inf, mult_r rounds ties toward +inf; both saturate -1 * -1.
  of.clear();
  EXPECT_EQ(etsi::mult(-1, 1, of), -1);
  EXPECT_EQ(etsi::mult_r(16384, 16384, of), 8192);
  EXPECT_EQ(etsi::mult_r(1, 16384, of), 1);    //  0.5 LSB ->  1
  EXPECT_EQ(etsi::mult_r(-1, 16384, of), 0);   // -0.5 LSB ->  0
  EXPECT_EQ(etsi::mult_r(3, 16384, of), 2);    //  1.5 LSB ->  2
  EXPECT_EQ(etsi::mult_r(-3, 16384, of), -1);  // -1.5 LSB -> -1
  EXPECT_EQ(etsi::mult_r(-5, 16384, of), -2);  // -2.5 LSB -> -2
  EXPECT_FALSE(of.is_set());
  EXPECT_EQ(etsi::mult_r(kMin16, kMin16, of), kMax16);
  EXPECT_TRUE(of.is_set());
  of.clear();
  EXPECT_EQ(etsi::mult(kMin16, kMin16, of), kMax16);
  EXPECT_TRUE(of.is_set());
}

TEST(Etsi, Shifts) {
  overflow_flag of;
  EXPECT_EQ(etsi::shr_r(3, 1, of), 2);    //  1.5 -> 2
  EXPECT_EQ(etsi::shr_r(-3, 1, of), -1);  // -1.5 -> -1
  EXPECT_EQ(etsi::shr_r(1, 1, of), 1);
  EXPECT_EQ(etsi::shr_r(-1, 1, of), 0);
  EXPECT_EQ(etsi::shr_r(kMin16, 15, of), -1);
  EXPECT_EQ(etsi::shr_r(-16384, 15, of), 0);
  EXPECT_EQ(etsi::shr_r(16384, 15, of), 1);
  EXPECT_EQ(etsi::shr_r(kMax16, 16, of), 0);
  EXPECT_EQ(etsi::shr_r(1, -3, of), 8);
  EXPECT_EQ(etsi::shr(-1, 20, of), -1);
  EXPECT_EQ(etsi::shl(-1, 15, of), kMin16);
  EXPECT_FALSE(of.is_set());
  EXPECT_EQ(etsi::shr_r(20000, -1, of), kMax16);
  EXPECT_TRUE(of.is_set());
  of.clear();
  EXPECT_EQ(etsi::shl(1, 16, of), kMax16);
  EXPECT_TRUE(of.is_set());
  of.clear();
  EXPECT_EQ(etsi::shl(0, 100, of), 0);
  EXPECT_FALSE(of.is_set());

  EXPECT_EQ(etsi::L_shr_r(3, 1, of), 2);
  EXPECT_EQ(etsi::L_shr_r(-3, 1, of), -1);
  EXPECT_EQ(etsi::L_shr_r(kMin32, 31, of), -1);
  EXPECT_EQ(etsi::L_shr_r(0x40000000, 31, of), 1);
  EXPECT_EQ(etsi::L_shr_r(-0x40000000, 31, of), 0);
  EXPECT_EQ(etsi::L_shr_r(kMax32, 32, of), 0);
  EXPECT_EQ(etsi::L_shr_r(1, -2, of), 4);
  EXPECT_EQ(etsi::L_shl(1, 30, of), 1 << 30);
  EXPECT_EQ(etsi::L_shl(-1, 31, of), kMin32);
  EXPECT_EQ(etsi::L_shl(5, -1, of), 2);
  EXPECT_EQ(etsi::L_shl(-5, -1, of), -3);
  EXPECT_EQ(etsi::L_shl(-5, -100, of), -1);
  EXPECT_EQ(etsi::L_shl(0, 100, of), 0);
  EXPECT_FALSE(of.is_set());
  EXPECT_EQ(etsi::L_shl(1, 31, of), kMax32);
  EXPECT_TRUE(of.is_set());
  of.clear();
  EXPECT_EQ(etsi::L_shl(-2, 31, of), kMin32);
  EXPECT_TRUE(of.is_set());
  of.clear();
  EXPECT_EQ(etsi::L_shl(0x40000000, 1, of), kMax32);
  EXPECT_TRUE(of.is_set());
  of.clear();
  EXPECT_EQ(etsi::L_shr(0x40000000, -1, of), kMax32);
  EXPECT_TRUE(of.is_set());
}

TEST(Etsi, NormAndRound) {
  EXPECT_EQ(etsi::norm_s(0), 0);
  EXPECT_EQ(etsi::norm_s(-1), 15);
  EXPECT_EQ(etsi::norm_s(1), 14);
  EXPECT_EQ(etsi::norm_s(0x4000), 0);
  EXPECT_EQ(etsi::norm_s(kMin16), 0);
  EXPECT_EQ(etsi::norm_s(-16384), 1);
  EXPECT_EQ(etsi::norm_s(16383), 1);
  EXPECT_EQ(etsi::norm_l(0), 0);
  EXPECT_EQ(etsi::norm_l(-1), 31);
  EXPECT_EQ(etsi::norm_l(1), 30);
  EXPECT_EQ(etsi::norm_l(kMin32), 0);
  EXPECT_EQ(etsi::norm_l(0x40000000), 0);
  EXPECT_EQ(etsi::norm_l(-0x40000000), 1);
  overflow_flag of;
  EXPECT_EQ(etsi::round(0x12348000, of), 0x1235);
  EXPECT_EQ(etsi::round(0x12347fff, of), 0x1234);
  EXPECT_EQ(etsi::round(-0x8000, of), 0);  // -0.5 -> 0: ties toward +inf
  EXPECT_EQ(etsi::round(-0x18000, of), -1);
  EXPECT_EQ(etsi::round(kMin32, of), kMin16);
  EXPECT_FALSE(of.is_set());
  EXPECT_EQ(etsi::round(0x7fff8000, of), kMax16);
  EXPECT_TRUE(of.is_set());
  EXPECT_EQ(etsi::round_fx(0x7fff7fff), kMax16);
  EXPECT_EQ(etsi::div_s(1, 2), 16384);
  EXPECT_EQ(etsi::div_s(1, 3), 10922);
  EXPECT_EQ(etsi::div_s(5, 5), kMax16);
  EXPECT_EQ(etsi::div_s(0, 7), 0);
  of.clear();
  EXPECT_EQ(etsi::div_s(3, 2, of), 0);
  EXPECT_TRUE(of.is_set());
}

// The reference algorithms of basicop2.c, transcribed with their loops (the header uses closed
// forms), checked on every int16 input / random int32 inputs.
namespace g191 {
std::int16_t norm_s(std::int16_t v) {
  if (v == 0) return 0;
  if (v == -1) return 15;
  if (v < 0) v = static_cast<std::int16_t>(~v);
  std::int16_t n = 0;
  for (; v < 0x4000; ++n) v = static_cast<std::int16_t>(v * 2);
  return n;
}
std::int16_t norm_l(std::int32_t v) {
  if (v == 0) return 0;
  if (v == -1) return 31;
  if (v < 0) v = ~v;
  std::int16_t n = 0;
  for (; v < 0x40000000; ++n) v *= 2;
  return n;
}
std::int32_t L_shl(std::int32_t v, int n, bool& ov) {
  if (n <= 0) {
    if (n < -32) n = -32;
    n = -n;
    return n >= 31 ? (v < 0 ? -1 : 0) : v >> n;
  }
  std::int32_t out = v;
  for (; n > 0; --n) {
    if (v > 0x3fffffff) {
      ov = true;
      return kMax32;
    }
    if (v < -0x40000000) {
      ov = true;
      return kMin32;
    }
    v *= 2;
    out = v;
  }
  return out;
}
std::int16_t mult_r(std::int16_t a, std::int16_t b, bool& ov) {
  std::int32_t p = std::int32_t{a} * b + 0x4000;
  p = p >= 0 ? p >> 15 : ~((~p) >> 15);
  if (p > kMax16) {
    ov = true;
    return kMax16;
  }
  return static_cast<std::int16_t>(p);
}
}  // namespace g191

TEST(Etsi, MatchesTheReferenceLoops) {
  for (int x = kMin16; x <= kMax16; ++x) {
    ASSERT_EQ(etsi::norm_s(static_cast<std::int16_t>(x)), g191::norm_s(static_cast<std::int16_t>(x))) << x;
  }
  std::mt19937_64 rng(6);
  for (int i = 0; i < 200000; ++i) {
    const auto v = static_cast<std::int32_t>(rng() >> (rng() % 33));
    ASSERT_EQ(etsi::norm_l(v), g191::norm_l(v)) << v;
    const int n = static_cast<int>(rng() % 80) - 40;
    bool ov_ref = false;
    overflow_flag of;
    ASSERT_EQ(etsi::L_shl(v, static_cast<std::int16_t>(n), of), g191::L_shl(v, n, ov_ref)) << v << " " << n;
    ASSERT_EQ(of.is_set(), ov_ref) << v << " " << n;
    const auto a = static_cast<std::int16_t>(rng()), b = static_cast<std::int16_t>(rng());
    bool ov2 = false;
    overflow_flag of2;
    ASSERT_EQ(etsi::mult_r(a, b, of2), g191::mult_r(a, b, ov2));
    ASSERT_EQ(of2.is_set(), ov2);
  }
}

}  // namespace
