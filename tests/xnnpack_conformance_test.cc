// lowbit's `pytorch` profile against XNNPACK's convert operators (Debian libxnnpack-dev), bit for bit.
// XNNPACK quantizes with x * (1.0f / scale), rounded half to even and clamped: the arithmetic of the
// profile (FBGEMM's formula). Its dequantize is (q - zero_point) * scale, as lowbit's in every profile.
// Inputs: exact ties (k + 0.5) * scale and their float neighbours, values far beyond the code range,
// ±Inf, ±0, subnormals, ±FLT_MAX and random values, for several scales, zero points and both clamps.
// NaN is left out: lowbit maps it to the zero point, XNNPACK to a clamp bound.
#include <gtest/gtest.h>

#include <xnnpack.h>

#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <memory>
#include <random>
#include <string>
#include <type_traits>
#include <vector>

#include "lowbit/quant_params.h"
#include "lowbit/uniform.h"
#include "support/random_data.h"

namespace lowbit {
namespace {

struct operator_deleter {
  void operator()(xnn_operator_t op) const { xnn_delete_operator(op); }
};
using operator_ptr = std::unique_ptr<xnn_operator, operator_deleter>;

class XnnpackConformance : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { ASSERT_EQ(xnn_initialize(nullptr), xnn_status_success); }
};

std::vector<float> Inputs(float scale, std::mt19937& rng) {
  constexpr float kInf = std::numeric_limits<float>::infinity();
  std::vector<float> x = {0.0f, -0.0f, kInf, -kInf, std::numeric_limits<float>::denorm_min(),
                          -std::numeric_limits<float>::denorm_min(), std::numeric_limits<float>::min(),
                          std::numeric_limits<float>::max(), -std::numeric_limits<float>::max()};
  for (int k = -300; k <= 300; ++k) test_data::push_tie_and_neighbours(x, static_cast<float>(k), scale);
  std::uniform_real_distribution<float> u(-400.0f, 400.0f);
  for (int i = 0; i < 20000; ++i) x.push_back(u(rng) * scale);
  return x;
}

const float kScales[] = {1.0f, 0.5f, 0.1f, 1.0f / 127, 0.37f, 3.3e-5f, 7.5f, 1e-30f};

template <class Code>
void CheckQuantize(std::mt19937& rng) {
  constexpr bool kSigned = std::is_signed_v<Code>;
  for (float scale : kScales) {
    const std::vector<float> x = Inputs(scale, rng);
    for (bool narrow : {false, true}) {
      const code_format format = kSigned ? code_format::int8(narrow) : code_format::uint8(narrow);
      for (std::int32_t zp : {format.qmin(), format.qmax(), kSigned ? 0 : 128, kSigned ? -5 : 3}) {
        xnn_operator_t raw = nullptr;
        xnn_status created;
        if constexpr (kSigned) {
          created = xnn_create_convert_nc_f32_qs8(1, 1, 1, scale, static_cast<std::int8_t>(zp),
                                                  static_cast<std::int8_t>(format.qmin()),
                                                  static_cast<std::int8_t>(format.qmax()), 0, &raw);
        } else {
          created = xnn_create_convert_nc_f32_qu8(1, 1, 1, scale, static_cast<std::uint8_t>(zp),
                                                  static_cast<std::uint8_t>(format.qmin()),
                                                  static_cast<std::uint8_t>(format.qmax()), 0, &raw);
        }
        ASSERT_EQ(created, xnn_status_success);
        const operator_ptr op(raw);
        std::vector<Code> theirs(x.size()), ours(x.size());
        if constexpr (kSigned) {
          ASSERT_EQ(xnn_setup_convert_nc_f32_qs8(op.get(), x.size(), x.data(), theirs.data(), nullptr),
                    xnn_status_success);
        } else {
          ASSERT_EQ(xnn_setup_convert_nc_f32_qu8(op.get(), x.size(), x.data(), theirs.data(), nullptr),
                    xnn_status_success);
        }
        ASSERT_EQ(xnn_run_operator(op.get(), nullptr), xnn_status_success);
        quantize<Code>(x, quant_params::per_tensor(format, scale, zp, profile::pytorch), ours);
        for (std::size_t i = 0; i < x.size(); ++i) {
          ASSERT_EQ(+ours[i], +theirs[i]) << "x=" << x[i] << " scale=" << scale << " zp=" << zp
                                          << " narrow=" << narrow;
        }
      }
    }
  }
}

template <class Code>
void CheckDequantize() {
  constexpr bool kSigned = std::is_signed_v<Code>;
  std::vector<Code> q;
  for (int v = std::numeric_limits<Code>::min(); v <= std::numeric_limits<Code>::max(); ++v) {
    q.push_back(static_cast<Code>(v));
  }
  const code_format format = kSigned ? code_format::int8() : code_format::uint8();
  for (float scale : kScales) {
    for (std::int32_t zp : {format.qmin(), format.qmax(), kSigned ? 0 : 128, kSigned ? -5 : 3}) {
      xnn_operator_t raw = nullptr;
      if constexpr (kSigned) {
        ASSERT_EQ(xnn_create_convert_nc_qs8_f32(1, 1, 1, scale, static_cast<std::int8_t>(zp), 0, &raw),
                  xnn_status_success);
      } else {
        ASSERT_EQ(xnn_create_convert_nc_qu8_f32(1, 1, 1, scale, static_cast<std::uint8_t>(zp), 0, &raw),
                  xnn_status_success);
      }
      const operator_ptr op(raw);
      std::vector<float> theirs(q.size()), ours(q.size());
      if constexpr (kSigned) {
        ASSERT_EQ(xnn_setup_convert_nc_qs8_f32(op.get(), q.size(), q.data(), theirs.data(), nullptr),
                  xnn_status_success);
      } else {
        ASSERT_EQ(xnn_setup_convert_nc_qu8_f32(op.get(), q.size(), q.data(), theirs.data(), nullptr),
                  xnn_status_success);
      }
      ASSERT_EQ(xnn_run_operator(op.get(), nullptr), xnn_status_success);
      for (profile prof : {profile::onnx, profile::pytorch, profile::tflite}) {
        dequantize<Code>(q, quant_params::per_tensor(format, scale, zp, prof), ours);
        for (std::size_t i = 0; i < q.size(); ++i) {
          ASSERT_EQ(std::bit_cast<std::uint32_t>(ours[i]), std::bit_cast<std::uint32_t>(theirs[i]))
              << "q=" << +q[i] << " scale=" << scale << " zp=" << zp;
        }
      }
    }
  }
}

TEST_F(XnnpackConformance, QuantizeF32ToS8EqualsPytorchProfile) {
  std::mt19937 rng(7);
  CheckQuantize<std::int8_t>(rng);
}
TEST_F(XnnpackConformance, QuantizeF32ToU8EqualsPytorchProfile) {
  std::mt19937 rng(8);
  CheckQuantize<std::uint8_t>(rng);
}
TEST_F(XnnpackConformance, DequantizeS8ToF32Equals) { CheckDequantize<std::int8_t>(); }
TEST_F(XnnpackConformance, DequantizeU8ToF32Equals) { CheckDequantize<std::uint8_t>(); }

}  // namespace
}  // namespace lowbit
