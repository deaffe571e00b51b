// lowbit — bit-exact conformance of lowbit::fxp with gemmlowp's SCALAR fixed-point reference.
// SPDX-License-Identifier: Apache-2.0
//
// gemmlowp (Debian libgemmlowp-dev, header-only) is the oracle. Its fixedpoint.h holds the generic
// scalar implementations; fixedpoint_sse.h / _avx.h / _neon.h, included only under GEMMLOWP_SSE4 /
// GEMMLOWP_AVX2 / GEMMLOWP_NEON, add overloads for SIMD register types (__m128i, int16x8_m128i,
// int32x4_t, ...) and never replace the std::int32_t / std::int16_t ones. Every call below passes
// std::int32_t, std::int16_t or gemmlowp::FixedPoint<std::int32_t|std::int16_t, N>, so the scalar
// path is what is compared against, whatever the compiler flags (its SIMD paths are known to differ:
// they return INT32_MIN for SaturatingRoundingDoublingHighMul(INT32_MIN, INT32_MIN)).
//
// Inputs: a fixed-seed mix of uniform int32 bit patterns, values near 0, values near ±2^k and near
// INT32_MIN / INT32_MAX, plus explicit edge cases; the int16 functions are checked exhaustively.
// The number of inputs checked per function is printed and recorded as a test property.
#include <gemmlowp/fixedpoint/fixedpoint.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <iostream>
#include <limits>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "lowbit/fixed_point.h"

namespace {

namespace fxp = lowbit::fxp;

static_assert(gemmlowp::FixedPointRawTypeTraits<std::int32_t>::kLanes == 1, "scalar raw type expected");
static_assert(gemmlowp::FixedPointRawTypeTraits<std::int16_t>::kLanes == 1, "scalar raw type expected");

constexpr std::int32_t kMin32 = std::numeric_limits<std::int32_t>::min();
constexpr std::int32_t kMax32 = std::numeric_limits<std::int32_t>::max();
constexpr std::int16_t kMin16 = std::numeric_limits<std::int16_t>::min();
constexpr std::int16_t kMax16 = std::numeric_limits<std::int16_t>::max();
constexpr std::uint64_t kSeed = 0x6c6f776269744650ull;  // "lowbitFP"
constexpr int kRandomCount = 1000000;

void report(const std::string& what, std::uint64_t count) {
  std::cout << "[ checked  ] " << what << ": " << count << " inputs\n";
  ::testing::Test::RecordProperty(what, std::to_string(count));
}

// The edge cases every int32 function sees: 0, ±1, the ends, and ±2^k + {-1, 0, 1}.
std::vector<std::int32_t> edge_values32() {
  std::vector<std::int32_t> v = {0, 1, -1, 2, -2, 3, -3, kMin32, kMin32 + 1, kMin32 + 2, kMax32, kMax32 - 1};
  for (int k = 0; k < 31; ++k) {
    const std::int64_t p = std::int64_t{1} << k;
    for (std::int64_t d = -1; d <= 1; ++d) {
      for (std::int64_t s : {p + d, -p + d}) {
        if (s >= kMin32 && s <= kMax32) v.push_back(static_cast<std::int32_t>(s));
      }
    }
  }
  return v;
}

// One pseudo-random int32 of the documented mix: 40% uniform bit patterns, 20% near 0, 30% near ±2^k,
// 10% near INT32_MIN / INT32_MAX.
class input_source {
 public:
  explicit input_source(std::uint64_t seed) : rng_(seed) {}
  std::int32_t next() {
    const std::uint32_t kind = static_cast<std::uint32_t>(rng_() % 10);
    const std::uint64_t r = rng_();
    if (kind < 4) return static_cast<std::int32_t>(static_cast<std::uint32_t>(r));
    const std::int64_t small = static_cast<std::int64_t>(r % 2049) - 1024;
    std::int64_t v = 0;
    if (kind < 6) {
      v = small;
    } else if (kind < 9) {
      const int k = static_cast<int>((r >> 32) % 32);
      const std::int64_t p = std::int64_t{1} << k;
      v = ((r >> 40) & 1) != 0 ? -p + small : p + small;
    } else {
      v = ((r >> 40) & 1) != 0 ? std::int64_t{kMin32} + (small < 0 ? -small : small)
                               : std::int64_t{kMax32} - (small < 0 ? -small : small);
    }
    if (v < kMin32) v = kMin32;
    if (v > kMax32) v = kMax32;
    return static_cast<std::int32_t>(v);
  }
  std::int16_t next16() {
    const std::int32_t v = next();
    // Mix the low half (uniform and near-0 values) with the high half (near ±2^k for k >= 16).
    return static_cast<std::int16_t>(static_cast<std::uint16_t>((rng_() & 1) != 0 ? static_cast<std::uint32_t>(v)
                                                                               : static_cast<std::uint32_t>(v) >> 16));
  }

 private:
  std::mt19937_64 rng_;
};

// Inputs for an int32 function: the edge values, then kRandomCount from the mix.
std::vector<std::int32_t> inputs32(std::uint64_t seed) {
  std::vector<std::int32_t> v = edge_values32();
  input_source src(seed);
  for (int i = 0; i < kRandomCount; ++i) v.push_back(src.next());
  return v;
}

// ---------------------------------------------------------------------------------------------
// Primitives
// ---------------------------------------------------------------------------------------------

TEST(GemmlowpConformance, SaturatingRoundingDoublingHighMulInt32) {
  // The headline edge: gemmlowp's scalar path saturates -1 * -1 to INT32_MAX.
  EXPECT_EQ(gemmlowp::SaturatingRoundingDoublingHighMul(kMin32, kMin32), kMax32);
  EXPECT_EQ(fxp::saturating_rounding_doubling_high_mul(kMin32, kMin32), kMax32);
  std::uint64_t count = 0;
  const std::vector<std::int32_t> edges = edge_values32();
  for (std::int32_t a : edges) {
    for (std::int32_t b : edges) {
      ASSERT_EQ(fxp::saturating_rounding_doubling_high_mul(a, b), gemmlowp::SaturatingRoundingDoublingHighMul(a, b))
          << a << " * " << b;
      ++count;
    }
  }
  input_source src(kSeed + 1);
  for (int i = 0; i < kRandomCount; ++i) {
    const std::int32_t a = src.next(), b = src.next();
    ASSERT_EQ(fxp::saturating_rounding_doubling_high_mul(a, b), gemmlowp::SaturatingRoundingDoublingHighMul(a, b))
        << a << " * " << b;
    ++count;
  }
  report("SaturatingRoundingDoublingHighMul<int32>", count);
}

TEST(GemmlowpConformance, SaturatingRoundingDoublingHighMulInt16) {
  EXPECT_EQ(gemmlowp::SaturatingRoundingDoublingHighMul(kMin16, kMin16), kMax16);
  EXPECT_EQ(fxp::saturating_rounding_doubling_high_mul(kMin16, kMin16), kMax16);
  std::uint64_t count = 0;
  // Every a against a spread of b (every 521st value plus the ends), then random pairs.
  std::vector<std::int16_t> bs = {kMin16, static_cast<std::int16_t>(kMin16 + 1), -1, 0, 1, kMax16};
  for (int b = kMin16; b <= kMax16; b += 521) bs.push_back(static_cast<std::int16_t>(b));
  for (int a = kMin16; a <= kMax16; ++a) {
    for (std::int16_t b : bs) {
      const auto a16 = static_cast<std::int16_t>(a);
      ASSERT_EQ(fxp::saturating_rounding_doubling_high_mul(a16, b), gemmlowp::SaturatingRoundingDoublingHighMul(a16, b))
          << a << " * " << b;
      ++count;
    }
  }
  input_source src(kSeed + 2);
  for (int i = 0; i < kRandomCount; ++i) {
    const std::int16_t a = src.next16(), b = src.next16();
    ASSERT_EQ(fxp::saturating_rounding_doubling_high_mul(a, b), gemmlowp::SaturatingRoundingDoublingHighMul(a, b))
        << a << " * " << b;
    ++count;
  }
  report("SaturatingRoundingDoublingHighMul<int16>", count);
}

TEST(GemmlowpConformance, RoundingDivideByPOTEveryExponent) {
  const std::vector<std::int32_t> xs = inputs32(kSeed + 3);
  std::uint64_t total = 0;
  for (int e = 0; e <= 31; ++e) {
    for (std::int32_t x : xs) {
      ASSERT_EQ(fxp::rounding_divide_by_pot(x, e), gemmlowp::RoundingDivideByPOT(x, e)) << x << " / 2^" << e;
    }
    total += xs.size();
  }
  report("RoundingDivideByPOT<int32> (per exponent 0..31)", xs.size());
  report("RoundingDivideByPOT<int32> (all exponents)", total);
}

TEST(GemmlowpConformance, RoundingDivideByPOTInt16EveryExponent) {
  std::uint64_t total = 0;
  for (int e = 0; e <= 15; ++e) {
    for (int x = kMin16; x <= kMax16; ++x) {
      const auto x16 = static_cast<std::int16_t>(x);
      ASSERT_EQ(fxp::rounding_divide_by_pot(x16, e), gemmlowp::RoundingDivideByPOT(x16, e)) << x << " / 2^" << e;
      ++total;
    }
  }
  report("RoundingDivideByPOT<int16> (exhaustive, exponents 0..15)", total);
}

template <int E>
std::uint64_t check_srmpot32(const std::vector<std::int32_t>& xs) {
  for (std::int32_t x : xs) {
    EXPECT_EQ(fxp::saturating_rounding_multiply_by_pot<E>(x), gemmlowp::SaturatingRoundingMultiplyByPOT<E>(x))
        << x << " * 2^" << E;
    if (fxp::saturating_rounding_multiply_by_pot<E>(x) != gemmlowp::SaturatingRoundingMultiplyByPOT<E>(x)) return 0;
  }
  return xs.size();
}

template <int E>
std::uint64_t check_srmpot16() {
  for (int x = kMin16; x <= kMax16; ++x) {
    const auto x16 = static_cast<std::int16_t>(x);
    EXPECT_EQ(fxp::saturating_rounding_multiply_by_pot<E>(x16), gemmlowp::SaturatingRoundingMultiplyByPOT<E>(x16))
        << x << " * 2^" << E;
    if (fxp::saturating_rounding_multiply_by_pot<E>(x16) != gemmlowp::SaturatingRoundingMultiplyByPOT<E>(x16)) return 0;
  }
  return 65536;
}

TEST(GemmlowpConformance, SaturatingRoundingMultiplyByPOT) {
  const std::vector<std::int32_t> xs = inputs32(kSeed + 4);
  std::uint64_t n = 0;
  n += check_srmpot32<-31>(xs) + check_srmpot32<-30>(xs) + check_srmpot32<-17>(xs) + check_srmpot32<-8>(xs);
  n += check_srmpot32<-2>(xs) + check_srmpot32<-1>(xs) + check_srmpot32<0>(xs) + check_srmpot32<1>(xs);
  n += check_srmpot32<2>(xs) + check_srmpot32<5>(xs) + check_srmpot32<16>(xs) + check_srmpot32<30>(xs);
  n += check_srmpot32<31>(xs);
  report("SaturatingRoundingMultiplyByPOT<int32> (exponents -31,-30,-17,-8,-2,-1,0,1,2,5,16,30,31)", n);
  std::uint64_t n16 = 0;
  n16 += check_srmpot16<-15>() + check_srmpot16<-8>() + check_srmpot16<-1>() + check_srmpot16<0>();
  n16 += check_srmpot16<1>() + check_srmpot16<2>() + check_srmpot16<8>() + check_srmpot16<15>();
  report("SaturatingRoundingMultiplyByPOT<int16> (exhaustive, exponents -15,-8,-1,0,1,2,8,15)", n16);
}

// ---------------------------------------------------------------------------------------------
// exp, logistic, tanh
// ---------------------------------------------------------------------------------------------

template <class R, int I>
using F = gemmlowp::FixedPoint<R, I>;

template <int I, class R>
R ref_exp(R x) {
  return gemmlowp::exp_on_negative_values(F<R, I>::FromRaw(x)).raw();
}

// gemmlowp's logistic and tanh evaluate -x for every input (both arms of a select), which for
// int32 x = INT32_MIN is signed overflow (UB; UBSan reports it). For that single input the reference
// is computed by gemmlowp's own building blocks along the path its code takes, with the wrapped
// value -INT32_MIN == INT32_MIN written out:
//   logistic: abs_input = -x -> INT32_MIN (x is not positive); logistic_on_positive_values(abs_input)
//             = one_over_one_plus_x_for_x_in_0_1(exp_on_negative_values(-abs_input -> INT32_MIN));
//             result = One() - that (x is not positive and not zero).
//   tanh:     n = x (x is negative; the discarded -x is the overflow);
//             result = -neg_tanh_on_negative_values(n), and that negation cannot overflow
//             (neg_tanh_on_negative_values returns a value in [0, One()]).
// Every other input (and every int16 input: int16 arithmetic is done in int and converted back,
// no UB) goes through gemmlowp::logistic / gemmlowp::tanh themselves.
template <int I, class R>
R ref_logistic(R x) {
  if constexpr (std::is_same_v<R, std::int32_t>) {
    if (x == kMin32) {
      const auto e = gemmlowp::exp_on_negative_values(F<R, I>::FromRaw(kMin32));
      return (F<R, 0>::One() - gemmlowp::one_over_one_plus_x_for_x_in_0_1(e)).raw();
    }
  }
  return gemmlowp::logistic(F<R, I>::FromRaw(x)).raw();
}

template <int I, class R>
R ref_tanh(R x) {
  if constexpr (std::is_same_v<R, std::int32_t>) {
    if (x == kMin32) return (-gemmlowp::neg_tanh_on_negative_values(F<R, I>::FromRaw(kMin32))).raw();
  }
  return gemmlowp::tanh(F<R, I>::FromRaw(x)).raw();
}

// The interval ends and the points where gemmlowp's code changes branch, in Q(I) for int32:
// 0, -1 LSB, -1/4 and -1/4 ± 1 LSB, -2^k for every representable k, -32 ± 1 LSB (the clamp), INT32_MIN.
template <int I>
std::vector<std::int32_t> special_inputs32() {
  std::vector<std::int32_t> v = edge_values32();
  constexpr int frac = 31 - I;
  for (int k = -frac; k <= I; ++k) {
    const std::int64_t p = std::int64_t{1} << (frac + k);  // 2^k in Q(I)
    for (std::int64_t d = -1; d <= 1; ++d) {
      for (std::int64_t s : {-p + d, p + d}) {
        if (s >= kMin32 && s <= kMax32) v.push_back(static_cast<std::int32_t>(s));
      }
    }
  }
  return v;
}

template <int I>
void check_exp32(std::uint64_t seed, int random_count) {
  std::vector<std::int32_t> xs;
  for (std::int32_t x : special_inputs32<I>()) {
    if (x <= 0) xs.push_back(x);
  }
  input_source src(seed);
  for (int i = 0; i < random_count; ++i) {
    const std::int32_t x = src.next();
    xs.push_back(x <= 0 ? x : -x);  // fold onto [INT32_MIN, 0]
  }
  for (std::int32_t x : xs) {
    ASSERT_EQ(fxp::exp_on_negative_values<I>(x), ref_exp<I>(x)) << "exp_on_negative_values<" << I << ">(" << x << ")";
  }
  EXPECT_EQ(fxp::exp_on_negative_values<I>(0), kMax32);
  report("exp_on_negative_values<int32, " + std::to_string(I) + ">", xs.size());
}

template <int I, bool DoTanh = true>
void check_logistic_tanh32(std::uint64_t seed, int random_count) {
  std::vector<std::int32_t> xs = special_inputs32<I>();
  input_source src(seed);
  for (int i = 0; i < random_count; ++i) xs.push_back(src.next());
  for (std::int32_t x : xs) {
    ASSERT_EQ(fxp::logistic<I>(x), ref_logistic<I>(x)) << "logistic<" << I << ">(" << x << ")";
  }
  report("logistic<int32, " + std::to_string(I) + ">", xs.size());
  if constexpr (DoTanh) {
  for (std::int32_t x : xs) {
    ASSERT_EQ(fxp::tanh<I>(x), ref_tanh<I>(x)) << "tanh<" << I << ">(" << x << ")";
  }
  report("tanh<int32, " + std::to_string(I) + ">", xs.size());
  }
}

TEST(GemmlowpConformance, ExpOnNegativeValuesInt32) {
  // TFLite's softmax uses 5 integer bits: the full 10^6 random inputs there, and at 0 and 3;
  // fewer (each with every edge case) at the other widths.
  check_exp32<5>(kSeed + 10, kRandomCount);
  check_exp32<0>(kSeed + 11, kRandomCount);
  check_exp32<3>(kSeed + 12, kRandomCount);
  check_exp32<1>(kSeed + 13, kRandomCount / 10);
  check_exp32<2>(kSeed + 14, kRandomCount / 10);
  check_exp32<4>(kSeed + 15, kRandomCount / 10);
  check_exp32<6>(kSeed + 16, kRandomCount / 10);
  check_exp32<8>(kSeed + 17, kRandomCount / 10);
  check_exp32<12>(kSeed + 18, kRandomCount / 10);
  check_exp32<20>(kSeed + 19, kRandomCount / 10);
  check_exp32<29>(kSeed + 20, kRandomCount / 10);
}

TEST(GemmlowpConformance, ExpOnNegativeValuesInt32DenseNearZero) {
  // [-2^20, 0] exhaustively at 5 integer bits: the top of the range, where exp ~ 1 and the Taylor
  // polynomial is evaluated closest to its end point.
  std::uint64_t n = 0;
  for (std::int32_t x = -(1 << 20); x <= 0; ++x, ++n) {
    ASSERT_EQ(fxp::exp_on_negative_values<5>(x), ref_exp<5>(x)) << x;
  }
  report("exp_on_negative_values<int32, 5> on [-2^20, 0] (exhaustive)", n);
}

TEST(GemmlowpConformance, LogisticAndTanhInt32) {
  check_logistic_tanh32<0>(kSeed + 30, kRandomCount);
  check_logistic_tanh32<3>(kSeed + 31, kRandomCount);
  check_logistic_tanh32<4>(kSeed + 32, kRandomCount);
  check_logistic_tanh32<5>(kSeed + 33, kRandomCount);
  check_logistic_tanh32<1>(kSeed + 34, kRandomCount / 10);
  check_logistic_tanh32<2>(kSeed + 35, kRandomCount / 10);
  check_logistic_tanh32<6>(kSeed + 36, kRandomCount / 10);
  check_logistic_tanh32<12>(kSeed + 37, kRandomCount / 10);
  check_logistic_tanh32<28>(kSeed + 38, kRandomCount / 10);
  check_logistic_tanh32<29, false>(kSeed + 39, kRandomCount / 10);  // tanh needs I + 1 <= 29
}

TEST(GemmlowpConformance, Int32MinAndZero) {
  // The inputs whose reference needs care (see ref_logistic / ref_tanh), spelled out.
  EXPECT_EQ(fxp::logistic<5>(0), 1 << 30);
  EXPECT_EQ(fxp::tanh<5>(0), 0);
  EXPECT_EQ(fxp::logistic<5>(kMin32), ref_logistic<5>(kMin32));
  EXPECT_EQ(fxp::tanh<5>(kMin32), ref_tanh<5>(kMin32));
  EXPECT_EQ(fxp::logistic<0>(kMin32), ref_logistic<0>(kMin32));
  EXPECT_EQ(fxp::tanh<0>(kMin32), ref_tanh<0>(kMin32));
  // logistic(-32) in Q5: tiny but the reference's exact value; tanh(-32) ~ -1.
  EXPECT_LT(fxp::logistic<5>(kMin32), 16);
  EXPECT_LT(fxp::tanh<5>(kMin32), -kMax32 + 16);
}

// int16: exhaustive over every raw input, for every supported number of integer bits.
template <int I>
std::uint64_t check_int16_all() {
  std::uint64_t n = 0;
  for (int x = kMin16; x <= kMax16; ++x) {
    const auto x16 = static_cast<std::int16_t>(x);
    if (x16 <= 0) {
      EXPECT_EQ(fxp::exp_on_negative_values<I>(x16), ref_exp<I>(x16)) << "exp<" << I << ">(" << x << ")";
      ++n;
    }
    EXPECT_EQ(fxp::logistic<I>(x16), ref_logistic<I>(x16)) << "logistic<" << I << ">(" << x << ")";
    ++n;
    if constexpr (I <= 12) {
      EXPECT_EQ(fxp::tanh<I>(x16), ref_tanh<I>(x16)) << "tanh<" << I << ">(" << x << ")";
      ++n;
    }
  }
  return n;
}

TEST(GemmlowpConformance, ExpLogisticTanhInt16Exhaustive) {
  std::uint64_t n = 0;
  [&]<int... Is>(std::integer_sequence<int, Is...>) { ((n += check_int16_all<Is>()), ...); }
  (std::make_integer_sequence<int, 14>{});
  report("exp_on_negative_values / logistic / tanh <int16, 0..13> (exhaustive)", n);
  // TFLite int16 Logistic / Tanh use 3 integer bits: spot values.
  EXPECT_EQ(fxp::logistic<3>(std::int16_t{0}), 1 << 14);
  EXPECT_EQ(fxp::tanh<3>(std::int16_t{0}), 0);
}

}  // namespace
