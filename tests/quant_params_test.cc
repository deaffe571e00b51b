// The parameter factories: every rule rejected with its errc, and the range helper.
#include "lowbit/quant_params.h"

#include <gtest/gtest.h>

#include "lowbit/uniform.h"
#include "support/lowbit_error.h"

#include <cmath>
#include <cstdint>
#include <limits>
#include <type_traits>
#include <utility>
#include <vector>

namespace lowbit {
namespace {


TEST(CodeFormat, Ranges) {
  EXPECT_EQ(code_format::int8().qmin(), -128);
  EXPECT_EQ(code_format::int8().qmax(), 127);
  EXPECT_EQ(code_format::int8(true).qmin(), -127);
  EXPECT_EQ(code_format::uint8().qmax(), 255);
  EXPECT_EQ(code_format::uint8(true).qmin(), 1);
  EXPECT_EQ(code_format::int16().qmin(), -32768);
  EXPECT_EQ(code_format::uint16().qmax(), 65535);
  EXPECT_EQ(code_format::int4().qmin(), -8);
  EXPECT_EQ(code_format::int4().qmax(), 7);
  EXPECT_EQ(code_format::uint4().qmax(), 15);
  EXPECT_EQ((code_format{2, true, false}.qmin()), -2);
  EXPECT_EQ((code_format{2, true, false}.qmax()), 1);
  EXPECT_EQ((code_format{12, false, false}.qmax()), 4095);
}

TEST(QuantParams, PerTensorRejects) {
  const float nan = std::numeric_limits<float>::quiet_NaN(), inf = std::numeric_limits<float>::infinity();
  for (float s : {0.0f, -0.0f, -1.0f, nan, inf, -inf}) {
    EXPECT_EQ(error_of([&] { quant_params::per_tensor(code_format::int8(), s, 0); }), errc::invalid_scale) << s;
  }
  EXPECT_EQ(error_of([] { quant_params::per_tensor(code_format::int8(), 1.0f, 128); }), errc::invalid_zero_point);
  EXPECT_EQ(error_of([] { quant_params::per_tensor(code_format::int8(true), 1.0f, -128); }),
            errc::invalid_zero_point);
  EXPECT_EQ(error_of([] { quant_params::per_tensor(code_format::uint8(), 1.0f, -1); }), errc::invalid_zero_point);
  for (int bits : {-1, 0, 1, 17, 32}) {
    EXPECT_EQ(error_of([&] { quant_params::per_tensor(code_format{bits, true, false}, 1.0f, 0); }),
              errc::unsupported_width);
  }
  // The message shows the scale as it is, however small (not std::to_string's "-0.000000").
  EXPECT_EQ(error_of([] { quant_params::per_tensor(code_format::int8(), -1e-10f, 0); }, "scale[0] = -1.00000001e-10 must"),
            errc::invalid_scale);
  // Every width 2..16 is accepted; a denormal scale is positive and finite, so it is valid.
  for (int bits = 2; bits <= 16; ++bits) {
    EXPECT_NO_THROW(quant_params::per_tensor(code_format{bits, false, false}, 1.0f, (1 << bits) - 1));
  }
  EXPECT_NO_THROW(quant_params::per_tensor(code_format::int8(), std::numeric_limits<float>::denorm_min(), 0));
  EXPECT_EQ(error_of([] { quant_params::per_tensor(code_format::int8(), 1.0f, 0, static_cast<profile>(7)); },
                     "profile"),
            errc::invalid_argument);
}

// Copies share the arrays (cheap, cannot throw) and moves copy: a moved-from object still holds its
// parameters and quantizes as before.
static_assert(std::is_nothrow_copy_constructible_v<quant_params> && std::is_nothrow_move_constructible_v<quant_params>);
TEST(QuantParams, MovedFromStaysValid) {
  const std::int64_t shape[] = {2, 2};
  quant_params a = quant_params::per_channel(code_format::int8(), shape, 0, std::vector<float>{0.5f, 0.25f});
  const quant_params copy = a;
  const quant_params b = std::move(a);
  EXPECT_EQ(b, copy);
  EXPECT_EQ(b.scales().data(), copy.scales().data());  // one array, shared
  EXPECT_EQ(a, copy);  // NOLINT(bugprone-use-after-move): the point of the test
  std::vector<std::int8_t> q(4);
  quantize<std::int8_t>(std::vector<float>{1.0f, -1.0f, 1.0f, -1.0f}, a, q);
  EXPECT_EQ(q, (std::vector<std::int8_t>{2, -2, 4, -4}));
}

// A range wider than FLT_MAX: hi - lo overflows, the scale does not (as in params_for_range).
TEST(QuantParams, FromRangeWiderThanFltMax) {
  const quant_params p = params_from_range(-3e38f, 3e38f, code_format::int8(), false);
  EXPECT_TRUE(std::isfinite(p.scales()[0]));
  EXPECT_NEAR(p.scales()[0], 6e38 / 255, 1e32);
}

// Ranges reaching FLT_MAX: the zero point's rounding (or the symmetric grid's extra negative code)
// would put the extreme level past FLT_MAX; the scale is lowered so that every level stays finite.
TEST(QuantParams, FromRangeAtFltMaxKeepsEveryLevelFinite) {
  constexpr float kMax = std::numeric_limits<float>::max();
  for (const code_format f : {code_format::uint8(), code_format::int8(), code_format::int8(true), code_format::int16(),
                              code_format::uint4()}) {
    for (const bool symmetric : {false, true}) {
      for (const auto& [lo, hi] : {std::pair{-kMax, kMax}, std::pair{0.0f, kMax}, std::pair{-kMax, 1.0f}}) {
        const quant_params p = params_from_range(lo, hi, f, symmetric);
        const double s = p.scales()[0], z = p.zero_points()[0];
        EXPECT_LE(std::abs((f.qmin() - z) * s), kMax);
        EXPECT_LE(std::abs((f.qmax() - z) * s), kMax);
        const std::vector<float> x = {lo, hi, -kMax, kMax, 0.0f};
        std::vector<float> y(x.size());
        fake_quantize(x, p, y);
        for (std::size_t i = 0; i < y.size(); ++i) {
          EXPECT_TRUE(std::isfinite(y[i])) << f.bits << (f.is_signed ? "s" : "u") << " sym=" << symmetric << " x=" << x[i];
        }
        // Lowering is the least that keeps the levels finite: the extreme level is within a step of FLT_MAX.
        EXPECT_GT(std::max(std::abs((f.qmin() - z) * s), std::abs((f.qmax() - z) * s)), kMax - 2 * s);
      }
    }
  }
  // Far from FLT_MAX nothing changes.
  EXPECT_EQ(params_from_range(-1.0f, 3.0f, code_format::uint8(), false).scales()[0], 4.0f / 255.0f);
}

TEST(QuantParams, PerChannelRejects) {
  const std::vector<std::int64_t> shape = {2, 3, 4};
  const std::vector<float> s3 = {1, 2, 3}, s2 = {1, 2};
  EXPECT_NO_THROW(quant_params::per_channel(code_format::int8(), shape, 1, s3));
  EXPECT_NO_THROW(quant_params::per_channel(code_format::int8(), shape, -2, s3));
  EXPECT_EQ(quant_params::per_channel(code_format::int8(), shape, -2, s3).axis(), 1);
  EXPECT_EQ(error_of([&] { quant_params::per_channel(code_format::int8(), shape, 3, s3); }), errc::invalid_axis);
  EXPECT_EQ(error_of([&] { quant_params::per_channel(code_format::int8(), shape, -4, s3); }), errc::invalid_axis);
  EXPECT_EQ(error_of([&] { quant_params::per_channel(code_format::int8(), shape, 1, s2); }), errc::count_mismatch);
  const std::vector<std::int32_t> z2 = {0, 0};
  EXPECT_EQ(error_of([&] { quant_params::per_channel(code_format::int8(), shape, 1, s3, z2); }),
            errc::count_mismatch);
  const std::vector<float> bad = {1, 0, 3};
  EXPECT_EQ(error_of([&] { quant_params::per_channel(code_format::int8(), shape, 1, bad); }), errc::invalid_scale);
  const std::vector<std::int32_t> zbad = {0, 200, 0};
  EXPECT_EQ(error_of([&] { quant_params::per_channel(code_format::int8(), shape, 1, s3, zbad); }),
            errc::invalid_zero_point);
  const std::vector<std::int64_t> negative = {2, -3};
  EXPECT_EQ(error_of([&] { quant_params::per_channel(code_format::int8(), negative, 0, s2); }), errc::invalid_shape);
  const std::vector<std::int64_t> scalar = {};
  EXPECT_EQ(error_of([&] { quant_params::per_channel(code_format::int8(), scalar, 0, s2); }), errc::invalid_axis);
}

TEST(QuantParams, PerBlockRejects) {
  const std::vector<std::int64_t> shape = {4, 64};
  const std::vector<float> s(4 * 2, 0.5f);
  const auto p = quant_params::per_block(code_format::int4(), shape, 1, 32, s);
  EXPECT_EQ(p.granularity(), granularity::per_block);
  EXPECT_EQ(p.element_count(), 256u);
  EXPECT_EQ(error_of([&] { quant_params::per_block(code_format::int4(), shape, 1, 48, s); }),
            errc::invalid_block_size);
  EXPECT_EQ(error_of([&] { quant_params::per_block(code_format::int4(), shape, 1, 0, s); }),
            errc::invalid_block_size);
  EXPECT_EQ(error_of([&] { quant_params::per_block(code_format::int4(), shape, 1, -32, s); }),
            errc::invalid_block_size);
  EXPECT_EQ(error_of([&] { quant_params::per_block(code_format::int4(), shape, 1, 16, s); }), errc::count_mismatch);
}

TEST(ParamsFromRange, AsymmetricAndSymmetric) {
  const auto a = params_from_range(-1.0f, 3.0f, code_format::uint8(), false);
  EXPECT_FLOAT_EQ(a.scales()[0], 4.0f / 255);
  EXPECT_EQ(a.zero_points()[0], 64);  // 0 - round(-1 / (4/255)) = round(63.75)
  const auto b = params_from_range(0.5f, 2.0f, code_format::int8(), false);  // widened to [0, 2]
  EXPECT_FLOAT_EQ(b.scales()[0], 2.0f / 255);
  EXPECT_EQ(b.zero_points()[0], -128);
  const auto c = params_from_range(-3.0f, 1.0f, code_format::int8(true), true);
  EXPECT_FLOAT_EQ(c.scales()[0], 3.0f / 127);
  EXPECT_EQ(c.zero_points()[0], 0);
  const auto d = params_from_range(-3.0f, 1.0f, code_format::uint8(), true);
  EXPECT_EQ(d.zero_points()[0], 128);
  EXPECT_FLOAT_EQ(d.scales()[0], 3.0f / 127);
  const auto z = params_from_range(0.0f, 0.0f, code_format::int8(), false);
  EXPECT_EQ(z.scales()[0], 1.0f);
  EXPECT_GE(params_from_range(0.0f, 1e-38f, code_format::int8(), false).scales()[0],
            std::numeric_limits<float>::min());
  EXPECT_EQ(error_of([] { params_from_range(1.0f, -1.0f, code_format::int8(), false); }), errc::invalid_range);
  EXPECT_EQ(error_of([] { params_from_range(std::numeric_limits<float>::quiet_NaN(), 1.0f, code_format::int8(), false); }),
            errc::invalid_range);
  EXPECT_EQ(error_of([] { params_from_range(0.0f, 1.0f, code_format{20, true, false}, false); }),
            errc::unsupported_width);
}

}  // namespace
}  // namespace lowbit
