// Integer-only reference layers: hand-computed cases, every layer against a naive implementation
// written here from the documented numerics (random shapes, parameters and DSP profiles), the
// accumulator model at every width, the dot-product kernels on every compiled Highway target against
// the scalar oracle, the float bridge's error report, and the errors thrown at the boundary.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <type_traits>
#include <vector>

#include "lowbit/detail/int8_dot_kernels.h"
#include "lowbit/integer_layers.h"
#include "lowbit/ref/int8_dot.h"
#include "lowbit/ref/integer_requantize.h"
#include "support/lowbit_error.h"

namespace lowbit::fxp {
namespace {

using i8 = std::int8_t;
using u8 = std::uint8_t;

// ---------------------------------------------------------------------------------------------
// Naive implementations (independent of src/integer_layers.cc)
// ---------------------------------------------------------------------------------------------

std::int64_t naive_fit(std::int64_t v, int bits, bool sat) {
  if (bits == 64) return v;
  const std::int64_t hi = (std::int64_t{1} << (bits - 1)) - 1, lo = -hi - 1;
  if (sat) return std::min(std::max(v, lo), hi);
  const std::int64_t m = std::int64_t{1} << bits;
  std::int64_t r = ((v % m) + m) % m;
  return r > hi ? r - m : r;
}

// The accumulator model on an explicit list of terms.
std::int32_t naive_acc(const std::vector<std::int64_t>& terms, std::int32_t bias, const dsp_profile& p) {
  std::int64_t acc = p.bias == bias_order::first ? naive_fit(bias, p.accumulator_bits, p.saturate) : 0;
  for (std::int64_t t : terms) acc = naive_fit(acc + t, p.accumulator_bits, p.saturate);
  if (p.bias == bias_order::last) acc = naive_fit(acc + bias, p.accumulator_bits, p.saturate);
  return static_cast<std::int32_t>(std::min<std::int64_t>(std::max<std::int64_t>(acc, INT32_MIN), INT32_MAX));
}

struct naive_quant {
  float s_in, s_out;
  std::vector<float> s_w;  // per channel (expanded)
  std::int32_t z_in, z_out;
  std::vector<std::int32_t> z_w;  // per channel (expanded)
  clamp_range clamp;
  dsp_profile profile;
};

std::int32_t naive_requant(std::int32_t a, std::size_t c, const naive_quant& q) {
  std::int32_t v;
  if (q.profile.mode == requant_mode::onnx_float) {
    const float m = (q.s_in * q.s_w[c]) / q.s_out;
    v = static_cast<std::int32_t>(std::nearbyint(static_cast<float>(a) * m)) + q.z_out;
  } else {
    const quantized_multiplier m =
        quantize_multiplier(static_cast<double>(q.s_in) * static_cast<double>(q.s_w[c]) / static_cast<double>(q.s_out));
    v = multiply_by_quantized_multiplier(a, m, q.profile.rounding) + q.z_out;
  }
  return std::min(std::max(v, q.clamp.min), q.clamp.max);
}

// ---------------------------------------------------------------------------------------------
// Random parameters
// ---------------------------------------------------------------------------------------------

const dsp_profile kProfiles[] = {dsp_profile::tflite(),         dsp_profile::tflite_single_rounding(),
                                 dsp_profile::cmsis_nn(),       dsp_profile::onnx(),
                                 dsp_profile::dsp16_saturating(), dsp_profile::dsp16_wrapping(),
                                 dsp_profile::dsp24_saturating(), dsp_profile::dsp40(),
                                 dsp_profile::dsp48(),          dsp_profile::exact64()};

struct random_layer_params {
  activation_quant in, out;
  weight_quant wq;
  naive_quant nq;
};

template <class In, class Out>
random_layer_params random_params(std::mt19937& rng, std::size_t oc, const dsp_profile& profile) {
  random_layer_params r;
  std::uniform_real_distribution<float> scale(0.005f, 0.05f), ws(0.002f, 0.02f);
  const auto fmt = [](bool s) { return s ? code_format::int8() : code_format::uint8(); };
  r.in.format = fmt(std::is_signed_v<In>);
  r.out.format = fmt(std::is_signed_v<Out>);
  r.in.scale = scale(rng);
  r.out.scale = scale(rng) * 4.0f;
  r.in.zero_point = std::uniform_int_distribution<int>(r.in.format.qmin(), r.in.format.qmax())(rng);
  r.out.zero_point = std::uniform_int_distribution<int>(r.out.format.qmin(), r.out.format.qmax())(rng);
  const bool per_channel = rng() % 2;
  const int zw_kind = static_cast<int>(rng() % 3);  // 0: none, 1: per-tensor, 2: per-channel
  r.wq.scales.resize(per_channel ? oc : 1);
  for (float& s : r.wq.scales) s = ws(rng);
  std::uniform_int_distribution<int> zwd(-128, 127);
  if (zw_kind == 1) r.wq.zero_points = {zwd(rng)};
  if (zw_kind == 2) {
    r.wq.zero_points.resize(oc);
    for (auto& z : r.wq.zero_points) z = zwd(rng);
  }
  const std::int32_t qmin = r.out.format.qmin(), qmax = r.out.format.qmax();
  std::int32_t lo = std::uniform_int_distribution<int>(qmin, qmax)(rng), hi = std::uniform_int_distribution<int>(qmin, qmax)(rng);
  if (lo > hi) std::swap(lo, hi);
  const clamp_range clamp = rng() % 2 ? clamp_range{qmin, qmax} : clamp_range{lo, hi};
  r.nq = {r.in.scale, r.out.scale, {}, r.in.zero_point, r.out.zero_point, {}, clamp, profile};
  for (std::size_t c = 0; c < oc; ++c) {
    r.nq.s_w.push_back(r.wq.scales[per_channel ? c : 0]);
    r.nq.z_w.push_back(zw_kind == 0 ? 0 : r.wq.zero_points[zw_kind == 1 ? 0 : c]);
  }
  return r;
}

template <class T>
std::vector<T> random_codes(std::mt19937& rng, std::size_t n) {
  std::uniform_int_distribution<int> d(std::numeric_limits<T>::min(), std::numeric_limits<T>::max());
  std::vector<T> v(n);
  for (auto& x : v) x = static_cast<T>(d(rng));
  return v;
}

std::vector<std::int32_t> random_bias(std::mt19937& rng, std::size_t n, std::int32_t range) {
  if (rng() % 4 == 0) return {};
  std::uniform_int_distribution<std::int32_t> d(-range, range);
  std::vector<std::int32_t> b(n);
  for (auto& x : b) x = d(rng);
  return b;
}

// ---------------------------------------------------------------------------------------------
// Dot-product kernels on every compiled target
// ---------------------------------------------------------------------------------------------

class Int8DotSimd : public ::testing::TestWithParam<std::int64_t> {
 protected:
  void SetUp() override {
    detail::int8_dot_force_target(GetParam());
    // The variant asked for is the one that runs (AVX3_DL: the AVX3 kernels with VNNI).
    ASSERT_STREQ(detail::int8_dot_active_target(), detail::int8_dot_target_name(GetParam()));
  }
  void TearDown() override { detail::int8_dot_force_target(0); }
};

template <class X>
void check_dot_target(std::mt19937& rng) {
  // 3N + 1 for the widest vector (32 int16 lanes on AVX-512) and some longer ones.
  std::vector<std::size_t> lengths;
  for (std::size_t n = 0; n <= 3 * 32 + 1; ++n) lengths.push_back(n);
  for (std::size_t n : {127, 128, 129, 255, 256, 257, 1000, 4099}) lengths.push_back(n);
  constexpr int xlo = std::numeric_limits<X>::min(), xhi = std::numeric_limits<X>::max();
  const std::int32_t zxs[] = {xlo, xhi, 0, std::is_signed_v<X> ? -1 : 128};
  const std::int32_t zws[] = {-128, 127, 0, 5};
  for (const std::size_t n : lengths) {
    for (int pattern = 0; pattern < 3; ++pattern) {
      const std::size_t rows = 1 + (n + static_cast<std::size_t>(pattern)) % 6;
      const std::size_t stride = n + static_cast<std::size_t>(pattern) * 3;
      for (std::size_t off = 0; off < 4; ++off) {
        std::vector<X> xs(n + off);
        std::vector<i8> ws(rows * stride + off + 1);
        for (std::size_t i = 0; i < xs.size(); ++i) {
          xs[i] = pattern == 0 ? static_cast<X>(xlo) : pattern == 1 ? static_cast<X>(xhi)
                                                                     : static_cast<X>(std::uniform_int_distribution<int>(xlo, xhi)(rng));
        }
        for (std::size_t i = 0; i < ws.size(); ++i) {
          ws[i] = pattern == 0 ? i8{127} : pattern == 1 ? i8{-128}
                                                        : static_cast<i8>(std::uniform_int_distribution<int>(-128, 127)(rng));
        }
        std::vector<std::int32_t> zw(rows);
        for (std::size_t r = 0; r < rows; ++r) zw[r] = zws[(r + off) % 4];
        const std::int32_t zx = zxs[(n + off) % 4];
        for (const bool accumulate : {false, true}) {
          std::vector<std::int32_t> got(rows + 1, 77), want(rows, 77);
          got[rows] = 0x5A5A5A5A;
          detail::dot_rows(xs.data() + off, zx, ws.data() + off, stride, zw.data(), rows, n, accumulate, got.data());
          ref::dot_rows(xs.data() + off, zx, ws.data() + off, stride, zw.data(), rows, n, accumulate, want.data());
          for (std::size_t r = 0; r < rows; ++r) {
            ASSERT_EQ(got[r], want[r]) << "n=" << n << " off=" << off << " row=" << r << " pattern=" << pattern
                                       << " zx=" << zx << " zw=" << zw[r] << " acc=" << accumulate;
          }
          ASSERT_EQ(got[rows], 0x5A5A5A5A) << "wrote past the end, n=" << n;
        }
      }
    }
  }
}

TEST_P(Int8DotSimd, S8S8BitExactToOracle) {
  std::mt19937 rng(7);
  check_dot_target<i8>(rng);
}

TEST_P(Int8DotSimd, U8S8BitExactToOracle) {
  std::mt19937 rng(8);
  check_dot_target<u8>(rng);
}

TEST_P(Int8DotSimd, OracleIsTheExactSum) {
  // Extremes: (-128 - 127) * (127 - (-128)) = -65025 per term; 1000 terms fit in int32.
  std::vector<i8> x(1000, -128), w(1000, 127);
  const std::int32_t zw = -128;
  std::int32_t got = 0;
  detail::dot_rows(x.data(), 127, w.data(), 1000, &zw, 1, 1000, false, &got);
  EXPECT_EQ(got, -65025 * 1000);
  EXPECT_EQ(ref::dot(x.data(), 127, w.data(), -128, 1000), -65025 * 1000);
}

INSTANTIATE_TEST_SUITE_P(Targets, Int8DotSimd, ::testing::ValuesIn(detail::int8_dot_targets()),
                         [](const ::testing::TestParamInfo<std::int64_t>& info) {
                           return std::string(detail::int8_dot_target_name(info.param));
                         });

// ---------------------------------------------------------------------------------------------
// The accumulator model
// ---------------------------------------------------------------------------------------------

TEST(AccumulatorModel, FitSaturatesOrWraps) {
  EXPECT_EQ(ref::fit_accumulator(32768, 16, true), 32767);
  EXPECT_EQ(ref::fit_accumulator(-32769, 16, true), -32768);
  EXPECT_EQ(ref::fit_accumulator(32768, 16, false), -32768);
  EXPECT_EQ(ref::fit_accumulator(65536 + 5, 16, false), 5);
  EXPECT_EQ(ref::fit_accumulator(-(std::int64_t{1} << 23) - 1, 24, false), (std::int64_t{1} << 23) - 1);
  EXPECT_EQ(ref::fit_accumulator(std::int64_t{1} << 39, 40, true), (std::int64_t{1} << 39) - 1);
  EXPECT_EQ(ref::fit_accumulator(std::int64_t{1} << 47, 48, false), -(std::int64_t{1} << 47));
  EXPECT_EQ(ref::fit_accumulator(INT64_MIN, 64, true), INT64_MIN);
  EXPECT_EQ(ref::accumulator_add(INT64_MAX, 1, 64, true), INT64_MAX);
  for (int bits : {16, 24, 32, 40, 48}) {
    std::mt19937_64 rng(static_cast<unsigned>(bits));
    for (int i = 0; i < 1000; ++i) {
      const std::int64_t v = static_cast<std::int64_t>(rng() >> 4) - (std::int64_t{1} << 59);
      ASSERT_EQ(ref::fit_accumulator(v, bits, true), naive_fit(v, bits, true));
      ASSERT_EQ(ref::fit_accumulator(v, bits, false), naive_fit(v, bits, false));
    }
  }
}

// A 4-input layer whose products are 255 * 127 = 32385 each: a 16-bit accumulator overflows at the
// second MAC.
quantized_fully_connected overflow_layer(std::vector<i8> w, dsp_profile p) {
  activation_quant in{0.01f, -128, code_format::int8()}, out{1.0f, 0, code_format::int8()};
  const int k = static_cast<int>(w.size());
  return quantized_fully_connected(k, 1, std::move(w), {}, in, weight_quant{{0.01f}, {}}, out, {-128, 127}, p);
}

TEST(AccumulatorModel, Narrow16BitSaturatesOrWraps) {
  const std::vector<i8> x(4, 127);  // x - zx = 255
  std::int32_t acc = 0;
  overflow_layer({127, 127, 127, 127}, dsp_profile::dsp16_saturating()).accumulate<i8>(x, {&acc, 1});
  EXPECT_EQ(acc, 32767);  // 32385, then clipped at 32767 for good
  overflow_layer({127, 127, 127, 127}, dsp_profile::dsp16_wrapping()).accumulate<i8>(x, {&acc, 1});
  EXPECT_EQ(acc, 4 * 32385 - 2 * 65536);  // 129540 wrapped: -1532
  overflow_layer({127, 127, 127, 127}, dsp_profile::tflite()).accumulate<i8>(x, {&acc, 1});
  EXPECT_EQ(acc, 4 * 32385);
  // Saturation is not associative: +, +, -, - ends at -32003 instead of 0; wrapping ends at 0.
  overflow_layer({127, 127, -127, -127}, dsp_profile::dsp16_saturating()).accumulate<i8>(x, {&acc, 1});
  EXPECT_EQ(acc, 32767 - 2 * 32385);
  overflow_layer({127, 127, -127, -127}, dsp_profile::dsp16_wrapping()).accumulate<i8>(x, {&acc, 1});
  EXPECT_EQ(acc, 0);
  EXPECT_FALSE(overflow_layer({127, 127, 127, 127}, dsp_profile::dsp16_saturating()).simd_exact());
  EXPECT_TRUE(overflow_layer({127, 127, 127, 127}, dsp_profile::tflite()).simd_exact());
  EXPECT_EQ(overflow_layer({127, 127, 127, 127}, dsp_profile::tflite()).accumulator_bound(), 4 * 32385);
}

TEST(AccumulatorModel, Widths24To64) {
  // 300 terms of 32385 = 9715500 > 2^23 - 1.
  const std::vector<i8> x(300, 127), w(300, 127);
  std::int32_t acc = 0;
  overflow_layer(w, dsp_profile::dsp24_saturating()).accumulate<i8>(x, {&acc, 1});
  EXPECT_EQ(acc, (1 << 23) - 1);
  dsp_profile wrap24 = dsp_profile::dsp24_saturating();
  wrap24.saturate = false;
  overflow_layer(w, wrap24).accumulate<i8>(x, {&acc, 1});
  EXPECT_EQ(acc, 9715500 - (1 << 24));
  // 70000 terms: 2266950000 > INT32_MAX. 32-bit wraps; 40/48/64-bit hold it and the requantize input
  // is clamped to INT32_MAX.
  const std::vector<i8> xl(70000, 127), wl(70000, 127);
  const std::int64_t exact = std::int64_t{32385} * 70000;
  overflow_layer(wl, dsp_profile::tflite()).accumulate<i8>(xl, {&acc, 1});
  EXPECT_EQ(acc, static_cast<std::int32_t>(exact - (std::int64_t{1} << 32)));
  dsp_profile sat32 = dsp_profile::tflite();
  sat32.saturate = true;
  overflow_layer(wl, sat32).accumulate<i8>(xl, {&acc, 1});
  EXPECT_EQ(acc, INT32_MAX);
  for (const dsp_profile& p : {dsp_profile::dsp40(), dsp_profile::dsp48(), dsp_profile::exact64()}) {
    const auto layer = overflow_layer(wl, p);
    EXPECT_FALSE(layer.simd_exact());
    layer.accumulate<i8>(xl, {&acc, 1});
    EXPECT_EQ(acc, INT32_MAX) << p.accumulator_bits;
  }
  // 40 and 48 bits at their own limits (oracle, with a running value near the bound).
  const std::vector<i8> x4(4, 127), w4(4, 127);
  const std::int64_t top40 = (std::int64_t{1} << 39) - 1, top48 = (std::int64_t{1} << 47) - 1;
  EXPECT_EQ(ref::accumulate_model(top40 - 40000, x4.data(), -128, w4.data(), 0, 4, 40, true), top40);
  EXPECT_EQ(ref::accumulate_model(top40 - 40000, x4.data(), -128, w4.data(), 0, 4, 40, false),
            top40 - 40000 + 4 * 32385 - (std::int64_t{1} << 40));
  EXPECT_EQ(ref::accumulate_model(top48 - 40000, x4.data(), -128, w4.data(), 0, 4, 48, true), top48);
  EXPECT_EQ(ref::accumulate_model(top48 - 40000, x4.data(), -128, w4.data(), 0, 4, 48, false),
            top48 - 40000 + 4 * 32385 - (std::int64_t{1} << 48));
  // 64 bits: exact.
  EXPECT_EQ(ref::accumulate_model(top48, x4.data(), -128, w4.data(), 0, 4, 64, true), top48 + 4 * 32385);
}

TEST(AccumulatorModel, BiasFirstOrLast) {
  // Bias -20000, terms 32385, 32385 with a 16-bit saturating accumulator:
  //   first: -20000 + 32385 = 12385, + 32385 -> 32767;  last: 32385 -> 32767, -20000 -> 12767.
  activation_quant in{0.01f, -128, code_format::int8()}, out{1.0f, 0, code_format::int8()};
  const std::vector<i8> x(2, 127);
  dsp_profile p = dsp_profile::dsp16_saturating();
  std::int32_t acc = 0;
  for (const auto& [order, want] : {std::pair{bias_order::first, 32767}, std::pair{bias_order::last, 12767}}) {
    p.bias = order;
    quantized_fully_connected(2, 1, {127, 127}, {-20000}, in, {{0.01f}, {}}, out, {-128, 127}, p)
        .accumulate<i8>(x, {&acc, 1});
    EXPECT_EQ(acc, want);
  }
}

// ---------------------------------------------------------------------------------------------
// Hand-computed cases
// ---------------------------------------------------------------------------------------------

TEST(FullyConnected, HandComputed) {
  // s_in = 0.5, s_w = 0.25, s_out = 0.5: real multiplier 0.25 exactly.
  // x = [3, -1] (zx = 1 -> [2, -2]); W = [[4, 2], [-8, 0]]; bias = [10, 0].
  // acc0 = 8 - 4 + 10 = 14 -> 3.5 -> 4 (double rounding: SRDHM then RDPOT, half away) + zo 5 = 9
  // acc1 = -16 -> -4 + 5 = 1
  activation_quant in{0.5f, 1, code_format::int8()}, out{0.5f, 5, code_format::int8()};
  const quantized_fully_connected fc(2, 2, {4, 2, -8, 0}, {10, 0}, in, {{0.25f}, {}}, out, {-128, 127});
  const std::vector<i8> x = {3, -1};
  std::vector<i8> y(2);
  fc.run<i8, i8>(x, y);
  EXPECT_EQ(y[0], 9);
  EXPECT_EQ(y[1], 1);
  std::vector<std::int32_t> acc(2);
  fc.accumulate<i8>(x, acc);
  EXPECT_EQ(acc, (std::vector<std::int32_t>{14, -16}));
  // ReLU clamp at zo: y1 = max(1, 5) = 5.
  const quantized_fully_connected relu(2, 2, {4, 2, -8, 0}, {10, 0}, in, {{0.25f}, {}}, out,
                                       activation_range(activation::relu, 0.5f, 5, code_format::int8()));
  relu.run<i8, i8>(x, y);
  EXPECT_EQ(y[1], 5);
  // ONNX numerics: 14 * 0.25 = 3.5 -> 4 (half to even), -16 * 0.25 = -4.
  const quantized_fully_connected onnx(2, 2, {4, 2, -8, 0}, {10, 0}, in, {{0.25f}, {}}, out, {-128, 127},
                                       dsp_profile::onnx());
  onnx.run<i8, i8>(x, y);
  EXPECT_EQ(y[0], 9);
  // 2.5 -> 2 under ONNX (even), 3 under TFLite (away): acc 10 with bias 0.
  const quantized_fully_connected t(1, 1, {5}, {}, in, {{0.25f}, {}}, out, {-128, 127});
  const quantized_fully_connected o(1, 1, {5}, {}, in, {{0.25f}, {}}, out, {-128, 127}, dsp_profile::onnx());
  const std::vector<i8> x1 = {3};  // (3 - 1) * 5 = 10
  std::vector<i8> y1(1);
  t.run<i8, i8>(x1, y1);
  EXPECT_EQ(y1[0], 3 + 5);
  o.run<i8, i8>(x1, y1);
  EXPECT_EQ(y1[0], 2 + 5);
}

TEST(ActivationRange, TfliteRules) {
  EXPECT_EQ(activation_range(activation::none, 0.1f, 3, code_format::int8()), (clamp_range{-128, 127}));
  EXPECT_EQ(activation_range(activation::relu, 0.1f, 3, code_format::int8()), (clamp_range{3, 127}));
  EXPECT_EQ(activation_range(activation::relu6, 0.1f, -128, code_format::int8()), (clamp_range{-128, -68}));
  EXPECT_EQ(activation_range(activation::relu6, 0.01f, 0, code_format::uint8()), (clamp_range{0, 255}));
  EXPECT_EQ(activation_range(activation::relu6, 0.048f, 0, code_format::uint8()), (clamp_range{0, 125}));  // 125.0
}

TEST(Conv2d, HandComputed) {
  // 3x3 single-channel input 1..9 (zx = 0), 2x2 kernel of ones, stride 1, SAME padding (bottom/right
  // pad 1), s_in * s_w / s_out = 1.
  const conv2d_shape shape{3, 3, 1, 1, {2, 2, 1, 1, 1, 1, padding2d::same(3, 3, 2, 2)}};
  EXPECT_EQ(shape.window.pad, (padding2d{0, 0, 1, 1}));
  activation_quant in{1.0f, 0, code_format::int8()}, out{1.0f, 0, code_format::int8()};
  const quantized_conv2d conv(shape, {1, 1, 1, 1}, {}, in, {{1.0f}, {}}, out, {-128, 127});
  ASSERT_EQ(conv.out_h(), 3);
  ASSERT_EQ(conv.out_w(), 3);
  const std::vector<i8> x = {1, 2, 3, 4, 5, 6, 7, 8, 9};
  std::vector<i8> y(9);
  conv.run<i8, i8>(x, y);
  EXPECT_EQ(y, (std::vector<i8>{12, 16, 9, 24, 28, 15, 15, 17, 9}));
  // Stride 2, dilation 2, pads 1: output 2x2. Taps (iy, ix) = (2oy - 1 + 2ky, 2ox - 1 + 2kx).
  const conv2d_shape s2{3, 3, 1, 1, {2, 2, 2, 2, 2, 2, {1, 1, 1, 1}}};
  const quantized_conv2d c2(s2, {1, 1, 1, 1}, {}, in, {{1.0f}, {}}, out, {-128, 127});
  ASSERT_EQ(c2.out_h(), 2);
  std::vector<i8> y2(4);
  c2.run<i8, i8>(x, y2);
  // (0,0): taps (-1,-1),(-1,1),(1,-1),(1,1) -> x[1][1] = 5; (0,1): (-1,1),(-1,3),(1,1),(1,3) -> 5
  EXPECT_EQ(y2, (std::vector<i8>{5, 5, 5, 5}));
}

TEST(DepthwiseConv2d, HandComputed) {
  // 2 channels, multiplier 2 -> 4 outputs; 1x1 input, 1x1 kernel: out[ic*2+m] = x[ic] * w[ic*2+m].
  const depthwise_shape shape{1, 1, 2, 2, {}};
  activation_quant in{1.0f, 0, code_format::int8()}, out{1.0f, 0, code_format::int8()};
  const quantized_depthwise_conv2d dw(shape, {1, 2, 3, -4}, {0, 0, 0, 1}, in, {{1.0f}, {}}, out, {-128, 127});
  const std::vector<i8> x = {5, 7};
  std::vector<i8> y(4);
  dw.run<i8, i8>(x, y);
  EXPECT_EQ(y, (std::vector<i8>{5, 10, 21, -27}));
}

TEST(Pool, HandComputed) {
  // 2x2 input, 1 channel, 2x2 window, stride 1, SAME: windows clipped at the border.
  const pool_shape shape{2, 2, 1, {2, 2, 1, 1, 1, 1, padding2d::same(2, 2, 2, 2)}};
  const std::vector<i8> x = {1, 2, -4, -6};
  std::vector<i8> y(4);
  average_pool<i8>(shape, x, y, {-128, 127});
  // (1 + 2 - 4 - 6) = -7 / 4 = -1.75 -> -2; (2 - 6) / 2 = -2; (-4 - 6) / 2 = -5; -6
  EXPECT_EQ(y, (std::vector<i8>{-2, -2, -5, -6}));
  max_pool<i8>(shape, x, y, {-128, 127});
  EXPECT_EQ(y, (std::vector<i8>{2, 2, -4, -6}));
  max_pool<i8>(shape, x, y, {0, 127});  // ReLU
  EXPECT_EQ(y, (std::vector<i8>{2, 2, 0, 0}));
  const std::vector<u8> xu = {1, 2, 2, 0};  // 5 / 4 = 1.25 -> 1; (2 + 0) / 2 = 1; (2+0)/2; 0
  std::vector<u8> yu(4);
  average_pool<u8>(shape, xu, yu, {0, 255});
  EXPECT_EQ(yu, (std::vector<u8>{1, 1, 1, 0}));
  const std::vector<u8> xt = {1, 2, 0, 0};  // 3 / 4 = 0.75 -> 1; 2/2 = 1; 0; 0
  average_pool<u8>(shape, xt, yu, {0, 255});
  EXPECT_EQ(yu, (std::vector<u8>{1, 1, 0, 0}));
}

TEST(Pool, AverageOfAWindowBeyondAnInt32Sum) {
  // 3000 x 3000 codes of 255 sum to 2.3e9 > 2^31 - 1: the average is still 255 (an int32 sum overflowed).
  constexpr int n = 3000;
  const pool_shape shape{n, n, 1, {n, n, 1, 1, 1, 1, {}}};
  const std::vector<u8> x(static_cast<std::size_t>(n) * n, 255);
  std::vector<u8> y(1);
  average_pool<u8>(shape, x, y, {0, 255});
  EXPECT_EQ(y[0], 255);
  // 4200 x 4200 codes of -128 sum to -2.26e9 < -2^31.
  constexpr int m = 4200;
  const pool_shape signed_shape{m, m, 1, {m, m, 1, 1, 1, 1, {}}};
  const std::vector<i8> xs(static_cast<std::size_t>(m) * m, -128);
  std::vector<i8> ys(1);
  average_pool<i8>(signed_shape, xs, ys, {-128, 127});
  EXPECT_EQ(ys[0], -128);
}

TEST(Add, HandComputedAndNearFloat) {
  // Equal scales 0.1, zero points 0: out = x1 + x2 exactly (the multipliers are 1/2 and 2^20-scaled).
  activation_quant q{0.1f, 0, code_format::int8()};
  const quantized_add add(q, q, q, {-128, 127});
  const std::vector<i8> a = {1, 2, 100, -100}, b = {3, -5, 100, -100};
  std::vector<i8> y(4);
  add.run<i8>(a, b, y);
  EXPECT_EQ(y, (std::vector<i8>{4, -3, 127, -128}));
  // Different scales: within one code of the float sum.
  activation_quant q1{0.02f, -3, code_format::int8()}, q2{0.07f, 10, code_format::int8()}, qo{0.1f, -5, code_format::int8()};
  const quantized_add add2(q1, q2, qo, {-128, 127});
  std::vector<i8> x1(256), x2(256), yo(256);
  for (int i = 0; i < 256; ++i) {
    x1[static_cast<std::size_t>(i)] = static_cast<i8>(i - 128);
    x2[static_cast<std::size_t>(i)] = static_cast<i8>((i * 37) % 256 - 128);
  }
  add2.run<i8>(x1, x2, yo);
  for (std::size_t i = 0; i < 256; ++i) {
    const float real = 0.02f * static_cast<float>(x1[i] + 3) + 0.07f * static_cast<float>(x2[i] - 10);
    const float want = std::clamp(std::round(real / 0.1f) - 5.0f, -128.0f, 127.0f);
    EXPECT_NEAR(yo[i], want, 1.0f) << i;
  }
}

TEST(Add, NaiveTfliteFormula) {
  std::mt19937 rng(3);
  for (int trial = 0; trial < 50; ++trial) {
    std::uniform_real_distribution<float> sd(0.001f, 0.2f);
    activation_quant q1{sd(rng), std::uniform_int_distribution<int>(0, 255)(rng), code_format::uint8()};
    activation_quant q2{sd(rng), std::uniform_int_distribution<int>(0, 255)(rng), code_format::uint8()};
    activation_quant qo{sd(rng) * 2, std::uniform_int_distribution<int>(0, 255)(rng), code_format::uint8()};
    const dsp_profile p = trial % 2 ? dsp_profile::tflite() : dsp_profile::tflite_single_rounding();
    const quantized_add add(q1, q2, qo, {0, 255}, p);
    const auto a = random_codes<u8>(rng, 64), b = random_codes<u8>(rng, 64);
    std::vector<u8> y(64);
    add.run<u8>(a, b, y);
    const double tm = 2.0 * std::max(q1.scale, q2.scale);
    const auto m1 = quantize_multiplier(q1.scale / tm), m2 = quantize_multiplier(q2.scale / tm),
               mo = quantize_multiplier(tm / (1048576.0 * qo.scale));
    for (std::size_t i = 0; i < 64; ++i) {
      const std::int32_t s = multiply_by_quantized_multiplier((a[i] - q1.zero_point) * 1048576, m1, p.rounding) +
                             multiply_by_quantized_multiplier((b[i] - q2.zero_point) * 1048576, m2, p.rounding);
      const std::int32_t v = std::clamp(multiply_by_quantized_multiplier(s, mo, p.rounding) + qo.zero_point, 0, 255);
      ASSERT_EQ(y[i], v) << trial << " " << i;
    }
  }
}

template <class Code>
void check_lut(lut_activation kind, float s_in, std::int32_t z_in) {
  const activation_quant in{s_in, z_in, std::is_signed_v<Code> ? code_format::int8() : code_format::uint8()};
  const quantized_lut_activation f(kind, in);
  const activation_quant oq = f.output();
  std::vector<Code> x(256), y(256);
  for (int i = 0; i < 256; ++i) x[static_cast<std::size_t>(i)] = static_cast<Code>(i + std::numeric_limits<Code>::min());
  f.run<Code>(x, y);
  for (std::size_t i = 0; i < 256; ++i) {
    const double r = s_in * (x[i] - z_in);
    const double fr = kind == lut_activation::logistic ? 1.0 / (1.0 + std::exp(-r)) : std::tanh(r);
    const double want = std::clamp(std::round(fr / oq.scale) + oq.zero_point, double{std::numeric_limits<Code>::min()},
                                   double{std::numeric_limits<Code>::max()});
    ASSERT_NEAR(y[i], want, 1.0) << "x=" << +x[i] << " s_in=" << s_in;
  }
}

TEST(LogisticTanh, HandComputed) {
  // x = zx: logistic(0) = 1/2 -> Q0.31 2^30 -> 128 / 256: int8 0, uint8 128; tanh(0) = 0.
  const activation_quant q8{0.1f, 0, code_format::int8()}, qu{0.1f, 128, code_format::uint8()};
  std::vector<i8> y(3);
  const std::vector<i8> x = {0, 127, -128};
  logistic<i8>(x, q8, y);
  EXPECT_EQ(y, (std::vector<i8>{0, 127, -128}));  // 12.7 and -12.8 are beyond the radius 120? no: 120 -> saturate
  tanh<i8>(x, q8, y);
  EXPECT_EQ(y, (std::vector<i8>{0, 127, -128}));
  std::vector<u8> yu(1);
  const std::vector<u8> xu = {128};
  logistic<u8>(xu, qu, yu);
  EXPECT_EQ(yu[0], 128);
  tanh<u8>(xu, qu, yu);
  EXPECT_EQ(yu[0], 128);
  const quantized_lut_activation f(lut_activation::logistic, q8);
  EXPECT_EQ(f.input_range_radius(), 120);  // floor(15 * 2^27 / 2^24)
  EXPECT_EQ(f.input_multiplier().shift, 24);
  EXPECT_EQ(f.output().zero_point, -128);
  EXPECT_FLOAT_EQ(f.output().scale, 1.0f / 256);
}

TEST(LogisticTanh, NearTheFloatFunction) {
  for (float s : {0.001f, 0.02f, 0.1f, 0.5f}) {
    for (int z : {-128, -3, 50}) {
      check_lut<i8>(lut_activation::logistic, s, z);
      check_lut<i8>(lut_activation::tanh, s, z);
      check_lut<u8>(lut_activation::logistic, s, z + 128);
      check_lut<u8>(lut_activation::tanh, s, z + 128);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Every layer against its naive implementation
// ---------------------------------------------------------------------------------------------

template <class In, class Out>
void fc_against_naive(std::mt19937& rng, const dsp_profile& profile) {
  const int K = 1 + static_cast<int>(rng() % 70), O = 1 + static_cast<int>(rng() % 13), B = static_cast<int>(rng() % 4);
  const auto oc = static_cast<std::size_t>(O);
  auto r = random_params<In, Out>(rng, oc, profile);
  const auto w = random_codes<i8>(rng, oc * static_cast<std::size_t>(K));
  const auto bias = random_bias(rng, oc, profile.accumulator_bits == 16 ? 40000 : 2000000);
  const quantized_fully_connected fc(K, O, w, bias, r.in, r.wq, r.out, r.nq.clamp, profile);
  const auto x = random_codes<In>(rng, static_cast<std::size_t>(B * K));
  std::vector<Out> y(static_cast<std::size_t>(B) * oc);
  std::vector<std::int32_t> acc(y.size());
  fc.run<In, Out>(x, y);
  fc.accumulate<In>(x, acc);
  for (int b = 0; b < B; ++b) {
    for (std::size_t o = 0; o < oc; ++o) {
      std::vector<std::int64_t> terms;
      for (int k = 0; k < K; ++k) {
        terms.push_back(std::int64_t{x[static_cast<std::size_t>(b * K + k)] - r.in.zero_point} *
                        (w[o * static_cast<std::size_t>(K) + static_cast<std::size_t>(k)] - r.nq.z_w[o]));
      }
      const std::int32_t a = naive_acc(terms, bias.empty() ? 0 : bias[o], profile);
      const std::size_t i = static_cast<std::size_t>(b) * oc + o;
      ASSERT_EQ(acc[i], a) << "K=" << K << " bits=" << profile.accumulator_bits;
      ASSERT_EQ(+y[i], naive_requant(a, o, r.nq)) << "K=" << K;
    }
  }
}

TEST(FullyConnected, AgainstNaive) {
  std::mt19937 rng(11);
  for (int trial = 0; trial < 12; ++trial) {
    for (const dsp_profile& p : kProfiles) {
      fc_against_naive<i8, i8>(rng, p);
      fc_against_naive<u8, u8>(rng, p);
      fc_against_naive<u8, i8>(rng, p);
      fc_against_naive<i8, u8>(rng, p);
    }
  }
}

window2d random_window(std::mt19937& rng, int in_h, int in_w, bool allow_dilation) {
  window2d w;
  w.kernel_h = 1 + static_cast<int>(rng() % 3);
  w.kernel_w = 1 + static_cast<int>(rng() % 3);
  w.stride_h = 1 + static_cast<int>(rng() % 2);
  w.stride_w = 1 + static_cast<int>(rng() % 3);
  if (allow_dilation) {
    w.dilation_h = 1 + static_cast<int>(rng() % 2);
    w.dilation_w = 1 + static_cast<int>(rng() % 2);
  }
  if (rng() % 2) {
    w.pad = padding2d::same(in_h, in_w, w.kernel_h, w.kernel_w, w.stride_h, w.stride_w, w.dilation_h, w.dilation_w);
  } else {
    w.pad = {static_cast<int>(rng() % 2), static_cast<int>(rng() % 3), static_cast<int>(rng() % 2), 0};
  }
  return w;
}

template <class In, class Out>
void conv_against_naive(std::mt19937& rng, const dsp_profile& profile, bool depthwise) {
  const int H = 1 + static_cast<int>(rng() % 6), W = 1 + static_cast<int>(rng() % 7);
  const int IC = 1 + static_cast<int>(rng() % 9), M = 1 + static_cast<int>(rng() % 2);
  const int OC = depthwise ? IC * M : 1 + static_cast<int>(rng() % 7);
  const int B = 1 + static_cast<int>(rng() % 2);
  window2d win = random_window(rng, H, W, true);
  if (win.out_h(H) < 1 || win.out_w(W) < 1) win = window2d{};
  const auto oc = static_cast<std::size_t>(OC);
  auto r = random_params<In, Out>(rng, oc, profile);
  const std::size_t taps = static_cast<std::size_t>(win.kernel_h * win.kernel_w);
  const auto w = random_codes<i8>(rng, oc * taps * (depthwise ? 1 : static_cast<std::size_t>(IC)));
  const auto bias = random_bias(rng, oc, profile.accumulator_bits == 16 ? 40000 : 2000000);
  const auto x = random_codes<In>(rng, static_cast<std::size_t>(B * H * W * IC));
  const int OH = win.out_h(H), OW = win.out_w(W);
  std::vector<Out> y(static_cast<std::size_t>(B * OH * OW) * oc);
  std::vector<std::int32_t> acc(y.size());
  if (depthwise) {
    const quantized_depthwise_conv2d layer({H, W, IC, M, win}, w, bias, r.in, r.wq, r.out, r.nq.clamp, profile);
    ASSERT_EQ(layer.out_h(), OH);
    layer.run<In, Out>(x, y);
    layer.accumulate<In>(x, acc);
  } else {
    const quantized_conv2d layer({H, W, IC, OC, win}, w, bias, r.in, r.wq, r.out, r.nq.clamp, profile);
    layer.run<In, Out>(x, y);
    layer.accumulate<In>(x, acc);
  }
  std::size_t i = 0;
  for (int b = 0; b < B; ++b) {
    for (int oy = 0; oy < OH; ++oy) {
      for (int ox = 0; ox < OW; ++ox) {
        for (int c = 0; c < OC; ++c, ++i) {
          std::vector<std::int64_t> terms;
          for (int ky = 0; ky < win.kernel_h; ++ky) {
            for (int kx = 0; kx < win.kernel_w; ++kx) {
              const int iy = oy * win.stride_h - win.pad.top + ky * win.dilation_h;
              const int ix = ox * win.stride_w - win.pad.left + kx * win.dilation_w;
              if (iy < 0 || iy >= H || ix < 0 || ix >= W) continue;
              if (depthwise) {
                const int ic = c / M;
                const std::int64_t xv = x[static_cast<std::size_t>(((b * H + iy) * W + ix) * IC + ic)];
                const std::int64_t wv = w[static_cast<std::size_t>((ky * win.kernel_w + kx) * OC + c)];
                terms.push_back((xv - r.in.zero_point) * (wv - r.nq.z_w[static_cast<std::size_t>(c)]));
              } else {
                for (int ic = 0; ic < IC; ++ic) {
                  const std::int64_t xv = x[static_cast<std::size_t>(((b * H + iy) * W + ix) * IC + ic)];
                  const std::int64_t wv = w[static_cast<std::size_t>(((c * win.kernel_h + ky) * win.kernel_w + kx) * IC + ic)];
                  terms.push_back((xv - r.in.zero_point) * (wv - r.nq.z_w[static_cast<std::size_t>(c)]));
                }
              }
            }
          }
          const std::int32_t a = naive_acc(terms, bias.empty() ? 0 : bias[static_cast<std::size_t>(c)], profile);
          ASSERT_EQ(acc[i], a) << "depthwise=" << depthwise << " bits=" << profile.accumulator_bits;
          ASSERT_EQ(+y[i], naive_requant(a, static_cast<std::size_t>(c), r.nq));
        }
      }
    }
  }
}

TEST(Conv2d, AgainstNaive) {
  std::mt19937 rng(12);
  for (int trial = 0; trial < 6; ++trial) {
    for (const dsp_profile& p : kProfiles) {
      conv_against_naive<i8, i8>(rng, p, false);
      conv_against_naive<u8, u8>(rng, p, false);
      conv_against_naive<u8, i8>(rng, p, false);
    }
  }
}

TEST(DepthwiseConv2d, AgainstNaive) {
  std::mt19937 rng(13);
  for (int trial = 0; trial < 6; ++trial) {
    for (const dsp_profile& p : kProfiles) {
      conv_against_naive<i8, i8>(rng, p, true);
      conv_against_naive<u8, u8>(rng, p, true);
    }
  }
}

template <class Code>
void pool_against_naive(std::mt19937& rng) {
  const int H = 1 + static_cast<int>(rng() % 6), W = 1 + static_cast<int>(rng() % 6), C = 1 + static_cast<int>(rng() % 5);
  window2d win = random_window(rng, H, W, false);
  win.pad = padding2d::same(H, W, win.kernel_h, win.kernel_w, win.stride_h, win.stride_w);
  const pool_shape shape{H, W, C, win};
  const auto x = random_codes<Code>(rng, static_cast<std::size_t>(H * W * C));
  const int OH = win.out_h(H), OW = win.out_w(W);
  std::vector<Code> ya(static_cast<std::size_t>(OH * OW * C)), ym(ya.size());
  constexpr int lo = std::numeric_limits<Code>::min(), hi = std::numeric_limits<Code>::max();
  const clamp_range clamp{lo + 3, hi - 5};
  average_pool<Code>(shape, x, ya, clamp);
  max_pool<Code>(shape, x, ym, clamp);
  std::size_t i = 0;
  for (int oy = 0; oy < OH; ++oy) {
    for (int ox = 0; ox < OW; ++ox) {
      for (int c = 0; c < C; ++c, ++i) {
        int sum = 0, n = 0, mx = INT32_MIN;
        for (int ky = 0; ky < win.kernel_h; ++ky) {
          for (int kx = 0; kx < win.kernel_w; ++kx) {
            const int iy = oy * win.stride_h - win.pad.top + ky, ix = ox * win.stride_w - win.pad.left + kx;
            if (iy < 0 || iy >= H || ix < 0 || ix >= W) continue;
            const int v = x[static_cast<std::size_t>((iy * W + ix) * C + c)];
            sum += v;
            ++n;
            mx = std::max(mx, v);
          }
        }
        // Round half away from zero of sum / n, exactly.
        const int avg = static_cast<int>(std::round(static_cast<double>(sum) / n));
        ASSERT_EQ(+ya[i], std::clamp(avg, clamp.min, clamp.max));
        ASSERT_EQ(+ym[i], std::clamp(mx, clamp.min, clamp.max));
      }
    }
  }
}

TEST(Pool, AgainstNaive) {
  std::mt19937 rng(14);
  for (int trial = 0; trial < 100; ++trial) {
    pool_against_naive<i8>(rng);
    pool_against_naive<u8>(rng);
  }
}

// ---------------------------------------------------------------------------------------------
// Float bridge
// ---------------------------------------------------------------------------------------------

std::vector<float> normal(std::mt19937& rng, std::size_t n, float sigma) {
  std::normal_distribution<float> d(0.0f, sigma);
  std::vector<float> v(n);
  for (auto& x : v) x = d(rng);
  return v;
}

// Per-channel symmetric int8 weight parameters of a [oc][per_oc] tensor (absmax / 127, narrow).
quant_params weight_params(const std::vector<float>& w, std::vector<std::int64_t> shape) {
  const auto oc = static_cast<std::size_t>(shape[0]), per = w.size() / oc;
  std::vector<float> scales(oc);
  for (std::size_t c = 0; c < oc; ++c) {
    float m = 0.0f;
    for (std::size_t k = 0; k < per; ++k) m = std::max(m, std::abs(w[c * per + k]));
    scales[c] = m / 127.0f;
  }
  return quant_params::per_channel(code_format::int8(true), shape, 0, scales, {}, profile::tflite);
}

TEST(FloatBridge, FullyConnectedErrorIsSmall) {
  std::mt19937 rng(21);
  const int K = 256, O = 64, B = 16;
  const auto w = normal(rng, static_cast<std::size_t>(K * O), 1.0f / 16.0f);
  const auto bias = normal(rng, static_cast<std::size_t>(O), 0.1f);
  std::vector<float> x(static_cast<std::size_t>(B * K));
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  for (auto& v : x) v = u(rng);
  const quant_params in = params_from_range(-1.0f, 1.0f, code_format::int8(), false, profile::tflite);
  const quant_params out = params_from_range(-3.0f, 3.0f, code_format::int8(), false, profile::tflite);
  const quant_params wq = weight_params(w, {O, K});
  for (const auto& [prof, min_sqnr] : {std::pair{dsp_profile::tflite(), 30.0}, std::pair{dsp_profile::onnx(), 30.0},
                                      std::pair{dsp_profile::tflite_single_rounding(), 30.0}}) {
    const auto fc = quantized_fully_connected::from_float(w, bias, K, O, in, wq, out, activation::none, prof);
    EXPECT_TRUE(fc.simd_exact());
    const layer_error_report r = compare_with_float(fc, x, w, bias, activation::none);
    std::printf("float bridge FC %dx%d batch %d (%s): SQNR %.2f dB, MSE %.3g, max|err| %.4f, clipped %zu\n", K, O, B,
                prof.mode == requant_mode::onnx_float ? "onnx" : prof.rounding == requant_rounding::single_rounding ? "tflite single rounding" : "tflite", r.error.sqnr_db, r.error.mse,
                r.error.max_abs_error, r.clipped);
    EXPECT_GT(r.error.sqnr_db, min_sqnr);
    EXPECT_EQ(r.error.count, static_cast<std::size_t>(B * O));
    EXPECT_LT(r.error.max_abs_error, 0.2);
  }
  // ReLU6 and a narrow 16-bit saturating DSP: the narrow accumulator costs accuracy.
  const auto relu = quantized_fully_connected::from_float(w, bias, K, O, in, wq, out, activation::relu6);
  EXPECT_GT(compare_with_float(relu, x, w, bias, activation::relu6).error.sqnr_db, 30.0);
  const auto narrow = quantized_fully_connected::from_float(w, bias, K, O, in, wq, out, activation::none,
                                                            dsp_profile::dsp16_saturating());
  EXPECT_FALSE(narrow.simd_exact());
  const auto rn = compare_with_float(narrow, x, w, bias, activation::none);
  std::printf("float bridge FC with a 16-bit saturating accumulator: SQNR %.2f dB, max|err| %.4f\n", rn.error.sqnr_db,
              rn.error.max_abs_error);
  EXPECT_LT(rn.error.sqnr_db, 30.0);
}

TEST(FloatBridge, Conv2dErrorIsSmall) {
  std::mt19937 rng(22);
  const conv2d_shape shape{8, 8, 8, 16, {3, 3, 1, 1, 1, 1, padding2d::same(8, 8, 3, 3)}};
  const auto w = normal(rng, 16 * 3 * 3 * 8, 1.0f / 8.0f);
  const auto bias = normal(rng, 16, 0.05f);
  std::vector<float> x(2 * 8 * 8 * 8);
  std::uniform_real_distribution<float> u(0.0f, 1.0f);
  for (auto& v : x) v = u(rng);
  const quant_params in = params_from_range(0.0f, 1.0f, code_format::uint8(), false, profile::tflite);
  const quant_params out = params_from_range(-4.0f, 4.0f, code_format::uint8(), false, profile::tflite);
  const auto conv = quantized_conv2d::from_float(w, bias, shape, in, weight_params(w, {16, 3, 3, 8}), out);
  const layer_error_report r = compare_with_float(conv, x, w, bias, activation::none);
  std::printf("float bridge conv2d 8x8x8 -> 16, 3x3: SQNR %.2f dB, MSE %.3g, max|err| %.4f\n", r.error.sqnr_db,
              r.error.mse, r.error.max_abs_error);
  EXPECT_GT(r.error.sqnr_db, 30.0);
  EXPECT_EQ(r.error.count, 2u * 8 * 8 * 16);
}

TEST(FloatBridge, BiasIsRoundedTfliteStyle) {
  // s_in = 0.5, s_w = 0.25: bias 0.3125 / 0.125 = 2.5 -> 3 (half away), -0.3125 -> -3.
  const quant_params in = quant_params::per_tensor(code_format::int8(), 0.5f, 0);
  const quant_params wq = quant_params::per_tensor(code_format::int8(), 0.25f, 0);
  const std::vector<float> w = {0.25f, -0.5f}, b = {0.3125f, -0.3125f};
  const auto fc = quantized_fully_connected::from_float(w, b, 1, 2, in, wq, in);
  EXPECT_EQ(std::vector<std::int32_t>(fc.bias().begin(), fc.bias().end()), (std::vector<std::int32_t>{3, -3}));
  EXPECT_EQ(std::vector<i8>(fc.weights().begin(), fc.weights().end()), (std::vector<i8>{1, -2}));
}

// ---------------------------------------------------------------------------------------------
// Errors at the boundary
// ---------------------------------------------------------------------------------------------

TEST(Errors, AtTheBoundary) {
  const activation_quant in{0.1f, 0, code_format::int8()}, out{0.1f, 0, code_format::int8()};
  const weight_quant wq{{0.1f}, {}};
  const auto fc = [&](int k, int o, std::vector<i8> w, std::vector<std::int32_t> b, activation_quant i,
                      weight_quant q, clamp_range c, dsp_profile p = dsp_profile::tflite()) {
    return quantized_fully_connected(k, o, std::move(w), std::move(b), i, q, out, c, p);
  };
  EXPECT_EQ(error_of([&] { fc(0, 1, {}, {}, in, wq, {}); }), errc::invalid_shape);
  EXPECT_EQ(error_of([&] { fc(2, 1, {1}, {}, in, wq, {}); }, "weights"), errc::size_mismatch);
  EXPECT_EQ(error_of([&] { fc(1, 1, {1}, {1, 2}, in, wq, {}); }, "bias"), errc::size_mismatch);
  EXPECT_EQ(error_of([&] { fc(1, 2, {1, 1}, {}, in, {{0.1f, 0.1f, 0.1f}, {}}, {}); }), errc::count_mismatch);
  EXPECT_EQ(error_of([&] { fc(1, 2, {1, 1}, {}, in, {{0.1f}, {1, 2, 3}}, {}); }), errc::count_mismatch);
  EXPECT_EQ(error_of([&] { fc(1, 1, {1}, {}, in, {{0.1f}, {128}}, {}); }), errc::invalid_zero_point);
  EXPECT_EQ(error_of([&] { fc(1, 1, {1}, {}, in, {{-0.1f}, {}}, {}); }), errc::invalid_scale);
  EXPECT_EQ(error_of([&] { fc(1, 1, {1}, {}, {0.1f, 200, code_format::int8()}, wq, {}); }), errc::invalid_zero_point);
  EXPECT_EQ(error_of([&] { fc(1, 1, {1}, {}, {0.0f, 0, code_format::int8()}, wq, {}); }), errc::invalid_scale);
  EXPECT_EQ(error_of([&] { fc(1, 1, {1}, {}, {0.1f, 0, code_format::int16()}, wq, {}); }), errc::unsupported_width);
  EXPECT_EQ(error_of([&] { fc(1, 1, {1}, {}, in, wq, {5, 4}); }, "clamp"), errc::invalid_argument);
  EXPECT_EQ(error_of([&] { fc(1, 1, {1}, {}, in, wq, {-129, 4}); }, "clamp"), errc::invalid_argument);
  dsp_profile bad = dsp_profile::tflite();
  bad.accumulator_bits = 33;
  EXPECT_EQ(error_of([&] { fc(1, 1, {1}, {}, in, wq, {}, bad); }, "accumulator_bits"), errc::invalid_argument);

  const auto layer = fc(3, 2, {1, 2, 3, 4, 5, 6}, {}, in, wq, {});
  std::vector<i8> x(7), y(4);
  std::vector<u8> xu(6);
  EXPECT_EQ(error_of([&] { layer.run<i8, i8>(x, y); }, "multiple of 3"), errc::size_mismatch);
  x.resize(6);
  y.resize(3);
  EXPECT_EQ(error_of([&] { layer.run<i8, i8>(x, y); }, "output"), errc::size_mismatch);
  y.resize(4);
  EXPECT_EQ(error_of([&] { layer.run<u8, i8>(xu, y); }, "input"), errc::type_mismatch);
  EXPECT_NO_THROW((layer.run<i8, i8>(x, y)));
  EXPECT_NO_THROW((layer.run<i8, i8>({}, {})));

  window2d big;
  big.kernel_h = big.kernel_w = 5;
  EXPECT_EQ(error_of([&] { quantized_conv2d({3, 3, 1, 1, big}, std::vector<i8>(25), {}, in, wq, out, {}); }, "empty"),
            errc::invalid_shape);
  window2d zero_stride;
  zero_stride.stride_h = 0;
  EXPECT_EQ(error_of([&] { quantized_conv2d({3, 3, 1, 1, zero_stride}, {1}, {}, in, wq, out, {}); }), errc::invalid_shape);
  window2d neg_pad;
  neg_pad.pad.left = -1;
  EXPECT_EQ(error_of([&] { quantized_conv2d({3, 3, 1, 1, neg_pad}, {1}, {}, in, wq, out, {}); }), errc::invalid_shape);
  EXPECT_EQ(error_of([&] { quantized_depthwise_conv2d({3, 3, 2, 2, {}}, {1, 2, 3}, {}, in, wq, out, {}); }),
            errc::size_mismatch);
  std::vector<i8> px(4), py(4);
  window2d dil;
  dil.dilation_h = 2;
  EXPECT_EQ(error_of([&] { max_pool<i8>({2, 2, 1, dil}, px, py, {}); }, "dilation"), errc::invalid_shape);
  window2d padded{1, 1, 1, 1, 1, 1, {2, 0, 0, 0}};
  EXPECT_EQ(error_of([&] { average_pool<i8>({2, 2, 1, padded}, px, py, {}); }, "padding"), errc::invalid_shape);
  // Windows whose positions or taps would overflow int are refused before anything runs.
  constexpr int kIntMax = std::numeric_limits<int>::max();
  window2d huge_pad;
  huge_pad.stride_h = kIntMax;
  huge_pad.pad.top = kIntMax;
  EXPECT_EQ(error_of([&] { quantized_conv2d({1, 1, 1, 1, huge_pad}, {1}, {}, in, wq, out, {}); }, "padded input"),
            errc::invalid_shape);
  std::vector<i8> one(1), one_out(1);
  EXPECT_EQ(error_of([&] { max_pool<i8>({1, 1, 1, huge_pad}, one, one_out, {}); }, "padded input"),
            errc::invalid_shape);
  EXPECT_EQ(error_of([&] { quantized_depthwise_conv2d({1, 1, 1, 1, huge_pad}, {1}, {}, in, wq, out, {}); },
                     "padded input"),
            errc::invalid_shape);
  window2d dilated;
  dilated.kernel_h = 3;
  dilated.dilation_h = 1 << 30;
  EXPECT_EQ(error_of([&] { quantized_conv2d({1, 1, 1, 1, dilated}, {1, 1, 1}, {}, in, wq, out, {}); }, "dilated kernel"),
            errc::invalid_shape);
  const window2d wide{1, 1, 1, 1, 1, 1, {kIntMax, 0, kIntMax - 3, 0}};
  EXPECT_EQ(wide.out_h(10), 0);  // 4294967301 does not fit int
  std::vector<u8> pu(4), pv(4);
  EXPECT_EQ(error_of([&] { average_pool<u8>({2, 2, 1, {}}, pu, pv, {-1, 255}); }),
            errc::invalid_argument);
  EXPECT_EQ(error_of([&] {
              quantized_add({0.1f, 0, code_format::int8()}, {0.1f, 0, code_format::uint8()}, out, {});
            }),
            errc::type_mismatch);
  EXPECT_EQ(error_of([&] { quantized_add(in, in, {1e-9f, 0, code_format::int8()}, {}); }), errc::invalid_scale);
  const quantized_add add(in, in, out, {});
  EXPECT_EQ(error_of([&] { std::vector<i8> a3(3), a2(2), o3(3);
    add.run<i8>(a3, a2, o3); }),
            errc::size_mismatch);
  EXPECT_EQ(error_of([&] { quantized_lut_activation(static_cast<lut_activation>(7), {0.1f, 0, code_format::int8()}); },
                     "kind 7"),
            errc::invalid_argument);
  EXPECT_EQ(error_of([&] { quantized_lut_activation(lut_activation::tanh, {0.1f, 0, code_format::int16()}); }),
            errc::unsupported_width);
  EXPECT_EQ(error_of([&] {
              std::vector<i8> a(3), b(2);
              requantize_onnx<i8>(std::vector<std::int32_t>(3), std::vector<float>{1.0f}, 0, {}, b);
            }),
            errc::size_mismatch);
  // Float bridge: weights per-channel along the wrong axis, bias of the wrong size.
  const quant_params qin = quant_params::per_tensor(code_format::int8(), 0.1f, 0);
  const std::vector<std::int64_t> shape = {2, 3};
  const quant_params wrong_axis =
      quant_params::per_channel(code_format::int8(), shape, 1, std::vector<float>{0.1f, 0.1f, 0.1f});
  const std::vector<float> fw(6, 0.1f), fb(2, 0.0f);
  EXPECT_EQ(error_of([&] { quantized_fully_connected::from_float(fw, fb, 3, 2, qin, wrong_axis, qin); }),
            errc::invalid_axis);
  EXPECT_EQ(error_of([&] { quantized_fully_connected::from_float(fw, std::vector<float>(3), 3, 2, qin, qin, qin); }),
            errc::size_mismatch);
  const quant_params u8q = quant_params::per_tensor(code_format::uint8(), 0.1f, 0);
  EXPECT_EQ(error_of([&] { quantized_fully_connected::from_float(fw, fb, 3, 2, qin, u8q, qin); }), errc::type_mismatch);
  // A non-finite float bias has no integer bias (converting NaN to int32 is undefined).
  for (const float b : {std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::infinity()}) {
    EXPECT_EQ(error_of([&] { quantized_fully_connected::from_float(fw, std::vector<float>{0.0f, b}, 3, 2, qin, qin, qin); },
                       "bias[1]"),
              errc::invalid_argument);
  }
  // Activations must be full-range 8-bit codes, as documented.
  const quant_params narrow = quant_params::per_tensor(code_format::int8(true), 0.1f, 0);
  EXPECT_EQ(error_of([&] { activation_quant::from(narrow); }, "narrow"), errc::unsupported_width);
  EXPECT_EQ(error_of([&] { fc(1, 1, {1}, {}, {0.1f, 0, code_format::int8(true)}, wq, {}); }, "narrow"),
            errc::unsupported_width);
  // Shapes whose derived sizes overflow int.
  EXPECT_EQ(error_of([&] { quantized_depthwise_conv2d({3, 3, 3, 1431655766, {}}, {1, 2}, {}, in, wq, out, {}); },
                     "overflows"),
            errc::invalid_shape);
  EXPECT_EQ(error_of([] { padding2d::same(10, 10, 3, 3, 1, 1, 1 << 30, 1); }, "overflows"), errc::invalid_shape);
  const padding2d p = padding2d::same(10, 10, 3, 3, 1, 1, 1 << 20, 1);
  EXPECT_EQ(p.top + p.bottom, 2 * (1 << 20));
}

}  // namespace
}  // namespace lowbit::fxp
