// The public API: every granularity and layout against a per-element oracle that computes each
// element's parameter index from its coordinates; packed 4-bit; requantize; errors at the boundary.
#include "lowbit/uniform.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <vector>

#include "lowbit/ref/uniform.h"

namespace lowbit {
namespace {

// The parameter index of element `e` of a C-order tensor, straight from the definition.
std::size_t param_index(const quant_params& p, std::size_t e) {
  if (p.granularity() == granularity::per_tensor) return 0;
  const auto shape = p.shape();
  std::vector<std::size_t> coord(shape.size());
  for (std::size_t d = shape.size(); d-- > 0;) {
    coord[d] = e % static_cast<std::size_t>(shape[d]);
    e /= static_cast<std::size_t>(shape[d]);
  }
  const auto a = static_cast<std::size_t>(p.axis());
  if (p.granularity() == granularity::per_channel) return coord[a];
  // per_block: index into the parameter tensor of shape[a] / block_size along a.
  std::size_t idx = 0;
  for (std::size_t d = 0; d < shape.size(); ++d) {
    const auto extent = static_cast<std::size_t>(d == a ? shape[d] / p.block_size() : shape[d]);
    const std::size_t c = d == a ? coord[d] / static_cast<std::size_t>(p.block_size()) : coord[d];
    idx = idx * extent + c;
  }
  return idx;
}

float oracle_code(float x, const quant_params& p, std::size_t e) {
  const std::size_t k = param_index(p, e);
  const code_format f = p.format();
  return ref::quantize_value(x, p.scales()[k], 1.0f / p.scales()[k], static_cast<float>(p.zero_points()[k]),
                             static_cast<float>(f.qmin()), static_cast<float>(f.qmax()), p.numerics());
}

std::vector<float> random_data(std::size_t n, std::mt19937& rng, float range = 3.0f) {
  std::uniform_real_distribution<float> u(-range, range);
  std::vector<float> x(n);
  for (auto& v : x) v = u(rng);
  if (n > 3) x[0] = std::numeric_limits<float>::quiet_NaN(), x[1] = std::numeric_limits<float>::infinity(), x[2] = 0.5f;
  return x;
}

std::vector<float> random_scales(std::size_t n, std::mt19937& rng) {
  std::uniform_real_distribution<float> u(0.005f, 0.05f);
  std::vector<float> s(n);
  for (auto& v : s) v = u(rng);
  return s;
}

std::vector<std::int32_t> random_zps(std::size_t n, code_format f, std::mt19937& rng) {
  std::uniform_int_distribution<std::int32_t> u(f.qmin(), f.qmax());
  std::vector<std::int32_t> z(n);
  for (auto& v : z) v = u(rng);
  return z;
}

template <class Code>
void check_all_ops(const quant_params& p, const std::vector<float>& x) {
  const std::size_t n = x.size();
  std::vector<Code> q(n);
  quantize<Code>(x, p, q);
  std::vector<float> y(n), fq(n);
  dequantize<Code>(q, p, y);
  fake_quantize(x, p, fq);
  for (std::size_t e = 0; e < n; ++e) {
    const float c = oracle_code(x[e], p, e);
    ASSERT_EQ(+q[e], static_cast<int>(c)) << "element " << e;
    const std::size_t k = param_index(p, e);
    const float v = ref::dequantize_value(c, p.scales()[k], static_cast<float>(p.zero_points()[k]));
    ASSERT_EQ(y[e], v) << "element " << e;
    ASSERT_EQ(fq[e], v) << "element " << e;
  }
}

TEST(UniformApi, PerTensorAnyLength) {
  std::mt19937 rng(1);
  for (profile prof : {profile::onnx, profile::pytorch, profile::tflite}) {
    const auto p = quant_params::per_tensor(code_format::int8(), 0.02f, -3, prof);
    for (std::size_t n : {0u, 1u, 17u, 1000u}) check_all_ops<std::int8_t>(p, random_data(n, rng));
  }
  check_all_ops<std::uint16_t>(quant_params::per_tensor(code_format::uint16(), 1e-4f, 30000), random_data(999, rng));
  check_all_ops<std::int16_t>(quant_params::per_tensor(code_format{12, true, false}, 1e-3f, 5), random_data(999, rng));
  check_all_ops<std::uint8_t>(quant_params::per_tensor(code_format{3, false, false}, 1.0f, 4), random_data(99, rng));
}

// Every axis of 3-D and 4-D shapes, with inner sizes below and above the walker's run threshold.
TEST(UniformApi, PerChannelEveryAxis) {
  std::mt19937 rng(2);
  const std::vector<std::vector<std::int64_t>> shapes = {{2, 3, 40}, {5, 17, 3}, {64, 3}, {3, 64}, {2, 3, 4, 5},
                                                         {1, 1, 1}, {7}, {2, 0, 3}};
  for (const auto& shape : shapes) {
    std::size_t n = 1;
    for (auto d : shape) n *= static_cast<std::size_t>(d);
    for (int axis = 0; axis < static_cast<int>(shape.size()); ++axis) {
      const auto c = static_cast<std::size_t>(shape[static_cast<std::size_t>(axis)]);
      for (profile prof : {profile::onnx, profile::tflite}) {
        const auto f = code_format::uint8();
        const auto p = quant_params::per_channel(f, shape, axis, random_scales(c, rng), random_zps(c, f, rng), prof);
        check_all_ops<std::uint8_t>(p, random_data(n, rng));
        const auto f16 = code_format::int16();
        const auto p16 = quant_params::per_channel(f16, shape, axis, random_scales(c, rng), {}, prof);
        check_all_ops<std::int16_t>(p16, random_data(n, rng));
      }
    }
  }
}

TEST(UniformApi, PerBlockLayouts) {
  std::mt19937 rng(3);
  struct blk {
    std::vector<std::int64_t> shape;
    int axis;
    std::int64_t block;
  };
  // Last axis with long blocks (runs), short blocks (gathered), and inner axes (rows / gathered).
  const blk cases[] = {{{4, 128}, 1, 32}, {{4, 24}, 1, 4}, {{3, 8, 40}, 1, 2}, {{3, 8, 5}, 1, 4},
                       {{16, 6}, 0, 8}, {{2, 6, 2, 3}, 1, 3}, {{5, 7}, 1, 7}};
  for (const auto& c : cases) {
    std::size_t n = 1;
    for (auto d : c.shape) n *= static_cast<std::size_t>(d);
    const std::size_t count = n / static_cast<std::size_t>(c.block);
    const auto f = code_format::int8(true);
    const auto p = quant_params::per_block(f, c.shape, c.axis, c.block, random_scales(count, rng),
                                           random_zps(count, f, rng), profile::pytorch);
    check_all_ops<std::int8_t>(p, random_data(n, rng));
  }
}

TEST(UniformApi, Packed4NibbleOrder) {
  const auto p = quant_params::per_tensor(code_format::int4(), 1.0f, 0);
  const std::vector<float> x = {1, -1, 7, -8, 100, -3, 2};
  std::vector<std::uint8_t> packed(packed4_size(x.size()));
  quantize_packed4(x, p, packed);
  ASSERT_EQ(packed.size(), 4u);
  EXPECT_EQ(packed[0], 0xF1);  // 1 low, -1 (0xF) high
  EXPECT_EQ(packed[1], 0x87);  // 7 low, -8 high
  EXPECT_EQ(packed[2], 0xD7);  // saturated 7 low, -3 high
  EXPECT_EQ(packed[3], 0x02);  // odd count: high nibble 0
  std::vector<float> y(x.size());
  dequantize_packed4(packed, p, y);
  EXPECT_EQ(y, (std::vector<float>{1, -1, 7, -8, 7, -3, 2}));

  const auto u = quant_params::per_tensor(code_format::uint4(), 0.5f, 8);
  std::vector<float> xu = {0.0f, 3.5f, -4.0f, 10.0f};
  std::vector<std::uint8_t> pu(2);
  quantize_packed4(xu, u, pu);
  EXPECT_EQ(pu[0], 0xF8);  // 8 low, 15 high
  EXPECT_EQ(pu[1], 0xF0);  // 0 low, 15 (saturated) high
}

TEST(UniformApi, Packed4PerBlockMatchesUnpacked) {
  std::mt19937 rng(4);
  const std::vector<std::int64_t> shape = {8, 64};
  const auto f = code_format::int4();
  const auto p = quant_params::per_block(f, shape, 1, 32, random_scales(16, rng), random_zps(16, f, rng));
  const auto x = random_data(512, rng, 0.3f);
  std::vector<std::int8_t> q(512);
  quantize<std::int8_t>(x, p, q);
  std::vector<std::uint8_t> packed(256);
  quantize_packed4(x, p, packed);
  for (std::size_t i = 0; i < 512; ++i) {
    const int nib = (packed[i / 2] >> (4 * (i % 2))) & 0xF;
    ASSERT_EQ(nib >= 8 ? nib - 16 : nib, q[i]) << i;
  }
  std::vector<float> a(512), b(512);
  dequantize<std::int8_t>(q, p, a);
  dequantize_packed4(packed, p, b);
  EXPECT_EQ(a, b);
}

template <class In, class Out>
void check_requantize(const quant_params& from, const quant_params& to, std::mt19937& rng) {
  const std::size_t n = from.granularity() == granularity::per_tensor ? 777 : from.element_count();
  std::uniform_int_distribution<int> u(from.format().qmin(), from.format().qmax());
  std::vector<In> q(n);
  for (auto& v : q) v = static_cast<In>(u(rng));
  std::vector<Out> out(n);
  requantize<In, Out>(q, from, to, out);
  for (std::size_t e = 0; e < n; ++e) {
    const std::size_t k = param_index(from, e);
    const float v = ref::dequantize_value(static_cast<float>(q[e]), from.scales()[k],
                                          static_cast<float>(from.zero_points()[k]));
    ASSERT_EQ(+out[e], static_cast<int>(oracle_code(v, to, e))) << e;
  }
}

TEST(UniformApi, RequantizeSameAndDifferentLayouts) {
  std::mt19937 rng(5);
  const std::vector<std::int64_t> shape = {6, 40};
  const auto s8 = code_format::int8(), u8 = code_format::uint8(), s16 = code_format::int16();
  const auto pt_a = quant_params::per_tensor(s8, 0.03f, 2);
  const auto pt_b = quant_params::per_tensor(u8, 0.05f, 120, profile::tflite);
  check_requantize<std::int8_t, std::uint8_t>(pt_a, pt_b, rng);
  const auto pc_a = quant_params::per_channel(s8, shape, 0, random_scales(6, rng), random_zps(6, s8, rng));
  const auto pc_b = quant_params::per_channel(s16, shape, 0, random_scales(6, rng), {}, profile::pytorch);
  check_requantize<std::int8_t, std::int16_t>(pc_a, pc_b, rng);
  const auto pc_last = quant_params::per_channel(u8, shape, 1, random_scales(40, rng), random_zps(40, u8, rng));
  check_requantize<std::int8_t, std::uint8_t>(pc_a, pc_last, rng);  // different axes
  const auto pb = quant_params::per_block(u8, shape, 1, 8, random_scales(30, rng), random_zps(30, u8, rng));
  check_requantize<std::uint8_t, std::int8_t>(pb, pc_a, rng);
  const auto u16 = quant_params::per_tensor(code_format::uint16(), 1e-3f, 32768);
  check_requantize<std::uint16_t, std::int8_t>(u16, pt_a, rng);
  check_requantize<std::int8_t, std::uint16_t>(pt_a, u16, rng);
}

TEST(UniformApi, ErrorsAtTheBoundary) {
  const auto p8 = quant_params::per_tensor(code_format::int8(), 0.1f, 0);
  const auto pu8 = quant_params::per_tensor(code_format::uint8(), 0.1f, 0);
  const auto p16 = quant_params::per_tensor(code_format::int16(), 0.1f, 0);
  std::vector<float> x(10), y(9);
  std::vector<std::int8_t> q8(10), q8short(9);
  std::vector<std::uint8_t> u8(10);
  const auto code_of = [](auto&& f) {
    try {
      f();
    } catch (const error& e) {
      return e.code();
    }
    return errc::invalid_range;  // "no throw" marker, never expected below
  };
  EXPECT_EQ(code_of([&] { quantize<std::int8_t>(x, p8, q8short); }), errc::size_mismatch);
  EXPECT_EQ(code_of([&] { quantize<std::uint8_t>(x, p8, u8); }), errc::type_mismatch);
  EXPECT_EQ(code_of([&] { quantize<std::int8_t>(x, p16, q8); }), errc::type_mismatch);
  EXPECT_EQ(code_of([&] { dequantize<std::int8_t>(q8, pu8, y); }), errc::type_mismatch);
  EXPECT_EQ(code_of([&] { fake_quantize(x, p8, y); }), errc::size_mismatch);
  const std::vector<std::int64_t> shape = {2, 4};
  const std::vector<float> s = {0.1f, 0.2f};
  const auto pc = quant_params::per_channel(code_format::int8(), shape, 0, s);
  EXPECT_EQ(code_of([&] { quantize<std::int8_t>(x, pc, q8); }), errc::size_mismatch);  // 10 != 8
  EXPECT_EQ(code_of([&] { requantize<std::int8_t, std::uint8_t>(q8, p8, p8, u8); }), errc::type_mismatch);
  std::vector<std::uint8_t> packed(4);
  EXPECT_EQ(code_of([&] { quantize_packed4(x, quant_params::per_tensor(code_format::int4(), 1.0f, 0), packed); }),
            errc::size_mismatch);
  std::vector<std::uint8_t> packed5(5);
  EXPECT_EQ(code_of([&] { quantize_packed4(x, p8, packed5); }), errc::type_mismatch);
  EXPECT_THROW(uniform_quantizer<std::int8_t>{pu8}, error);
}

TEST(UniformApi, InPlaceFakeQuantize) {
  const auto p = quant_params::per_tensor(code_format::int8(), 0.25f, 0);
  std::vector<float> x = {0.1f, 0.125f, 0.375f, -100.0f};
  fake_quantize(x, p, x);
  EXPECT_EQ(x, (std::vector<float>{0.0f, 0.0f, 0.5f, -32.0f}));
}

}  // namespace
}  // namespace lowbit
