// The division profiles' codes (onnx: ties to even, tflite: ties away from zero) are round(x / scale)
// with IEEE float32 division. The AVX-512 one-byte kernel
// (src/cpu/uniform-inl.h, PackedBytes) does not divide: it corrects the reciprocal product,
//   q0 = x * r, e = fma(-q0, scale, x), q = fma(e, r, q0), r = 1 / scale rounded,
// and relies on q rounding to the same integer as x / scale. That can fail only where x / scale lies
// within 2^-22 ulp of a midpoint between two floats adjacent to a half-integer m (the kernel's comment
// says why), so only the two floats nearest to midpoint * scale need checking, for each m that
// separates two one-byte codes (|m| <= 255.5), and only scales in [1, 2): the step scales exactly with
// powers of two. These tests check those inputs (and their neighbours) for a sample of the 2^23 scale
// mantissas, the formula itself and then the kernels on every compiled target; LOWBIT_FULL_SWEEP=1 runs
// the formula over all 2^23 mantissas (5 minutes on two cores; run 2026-11-24: 3.4e10 inputs,
// no difference, while the plain product x * r rounds to another integer at 6.6% of them). A kernel
// using the plain product fails the kernel test below at once.
#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <limits>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "lowbit/detail/uniform_kernels.h"
#include "lowbit/quant_params.h"
#include "support/test_scale.h"

namespace lowbit {
namespace {

constexpr float kInf = std::numeric_limits<float>::infinity();

// The kernel's quotient, written out in scalar code (std::fma rounds once, as vfmadd does).
float corrected_quotient(float x, float scale, float r) {
  const float q0 = x * r;
  return std::fma(std::fma(-q0, scale, x), r, q0);
}

// The scale 1 + mantissa * 2^-23.
float scale_of(std::uint32_t mantissa) { return std::bit_cast<float>(0x3F800000u | mantissa); }

// For one scale, the inputs that decide codes: for each half-integer m with |m| <= 255.5 and each
// midpoint b between m and a neighbouring float, the float nearest to b * scale (exact in double) and
// its neighbours -1, +1, +2 ulps (so both floats around b * scale are always included).
void push_boundary_inputs(float scale, std::vector<float>& x) {
  x.clear();
  for (int k = -256; k < 256; ++k) {
    const float m = static_cast<float>(k) + 0.5f;
    for (const float neighbour : {std::nextafter(m, -kInf), std::nextafter(m, kInf)}) {
      const double product = (static_cast<double>(m) + neighbour) / 2 * scale;  // 25 x 24 bits: exact
      float v = std::nextafter(static_cast<float>(product), -kInf);
      for (int i = 0; i < 4; ++i, v = std::nextafter(v, kInf)) x.push_back(v);
    }
  }
}

struct sweep_result {
  std::uint64_t checked = 0, differ = 0, plain_rounds_differently = 0;
};

// Mantissas first, first + stride, ... below 2^23, on `threads` threads.
sweep_result sweep(std::uint32_t stride, unsigned threads) {
  std::vector<sweep_result> part(threads);
  std::vector<std::thread> pool;
  for (unsigned t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] {
      std::vector<float> x;
      sweep_result& res = part[t];
      for (std::uint32_t mant = t * stride; mant < (1u << 23); mant += threads * stride) {
        const float s = scale_of(mant), r = 1.0f / s;
        push_boundary_inputs(s, x);
        for (const float v : x) {
          const float want = v / s;
          res.differ += std::bit_cast<std::uint32_t>(corrected_quotient(v, s, r)) != std::bit_cast<std::uint32_t>(want);
          res.plain_rounds_differently += std::nearbyint(v * r) != std::nearbyint(want);
        }
        res.checked += x.size();
      }
    });
  }
  for (auto& th : pool) th.join();
  sweep_result total;
  for (const auto& p : part) {
    total.checked += p.checked;
    total.differ += p.differ;
    total.plain_rounds_differently += p.plain_rounds_differently;
  }
  return total;
}

TEST(CorrectedQuotient, CorrectedProductEqualsDivisionAtEveryCodeBoundary) {
  const char* full = std::getenv("LOWBIT_FULL_SWEEP");
  const bool all = full != nullptr && std::string(full) == "1";
  // 509 is prime: the sample spreads over every mantissa bit. Slow (sanitized) builds take every 8th.
  const std::uint32_t slow = static_cast<std::uint32_t>(std::min<std::size_t>(test::kSlowBuildDivisor, 8));
  const std::uint32_t stride = all ? 1 : 509 * slow;
  const sweep_result r = sweep(stride, all ? std::max(1u, std::thread::hardware_concurrency()) : 1);
  const std::uint64_t scales = ((1u << 23) + stride - 1) / stride;
  EXPECT_EQ(r.checked, scales * 512 * 2 * 4);
  EXPECT_EQ(r.differ, 0u);
  // The inputs are the discriminating ones: the uncorrected product rounds many of them elsewhere.
  EXPECT_GT(r.plain_rounds_differently, r.checked / 100);
  if (all) std::printf("checked %llu inputs of %llu scales: %llu differ (plain product: %llu)\n",
                       static_cast<unsigned long long>(r.checked), static_cast<unsigned long long>(scales),
                       static_cast<unsigned long long>(r.differ),
                       static_cast<unsigned long long>(r.plain_rounds_differently));
}

// Quantizes x with p on the active target and with the reference; fails at the first difference. The
// output is 64-byte aligned, so that on AVX-512 every code comes from the packed path (an unaligned
// head would go through the per-vector path, which divides).
template <class Code>
void expect_reference_codes(const std::vector<float>& x, const ref::run_params& p) {
  constexpr std::size_t kCount = 512 * 2 * 4;  // push_boundary_inputs
  ASSERT_EQ(x.size(), kCount);
  alignas(64) Code got[kCount];
  std::vector<Code> want(kCount);
  detail::quantize_run(x.data(), x.size(), p, got);
  ref::quantize_run(x.data(), x.size(), p, want.data());
  for (std::size_t i = 0; i < x.size(); ++i) {
    ASSERT_EQ(got[i], want[i]) << to_string(p.numerics) << " x=" << x[i] << " scale=" << p.scale
                               << " zp=" << p.zero_point;
  }
}

class CorrectedQuotientKernel : public ::testing::TestWithParam<std::int64_t> {
 protected:
  void SetUp() override { detail::force_target(GetParam()); }
  void TearDown() override { detail::force_target(0); }
};

// The kernels at those inputs, for formats whose codes together need every boundary |m| <= 255.5:
// uint8 with zero point 0 and 255, int8 with zero point -128, 0, 127 (narrow too). Scales: sampled
// mantissas at exponents inside the corrected range [2^-60, 2^60], at its ends and just outside.
TEST_P(CorrectedQuotientKernel, ByteCodesEqualTheReferenceAtEveryCodeBoundary) {
  struct format {
    bool is_signed;
    float zp, qmin, qmax;
  };
  const format formats[] = {{false, 0, 0, 255},       {false, 255, 0, 255},  {true, -128, -128, 127},
                            {true, 0, -128, 127},     {true, 127, -128, 127}, {true, 0, -127, 127}};
  std::mt19937 rng(7);
  const int exponents[] = {0, -7, 13, -60, 59, 60, -61, 61, -100, 100};
  const std::uint32_t stride = 8191 * static_cast<std::uint32_t>(std::min<std::size_t>(test::kSlowBuildDivisor, 8));
  std::vector<float> x;
  std::size_t checked = 0, scales = 0;
  for (std::uint32_t mant = 0; mant < (1u << 23); mant += stride, ++scales) {
    const float s = std::ldexp(scale_of(mant), exponents[scales % std::size(exponents)]);
    push_boundary_inputs(s, x);
    // Specials among the boundary inputs (every third scale): their lanes are divided, the others in
    // the same vectors and groups are not.
    if (scales % 3 == 0) {
      for (const float v : {kInf, -kInf, std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::max(),
                            -std::numeric_limits<float>::max()}) {
        x[rng() % x.size()] = v;
      }
    }
    for (const format& f : formats) {
      for (const profile prof : {profile::onnx, profile::tflite}) {
        const ref::run_params p{s, 1.0f / s, f.zp, f.qmin, f.qmax, prof};
        if (f.is_signed) {
          ASSERT_NO_FATAL_FAILURE(expect_reference_codes<std::int8_t>(x, p));
        } else {
          ASSERT_NO_FATAL_FAILURE(expect_reference_codes<std::uint8_t>(x, p));
        }
        checked += x.size();
      }
    }
  }
  EXPECT_EQ(scales, ((1u << 23) + stride - 1) / stride);
  EXPECT_EQ(checked, scales * std::size(formats) * 2 * 4096);
}

std::string TargetName(const ::testing::TestParamInfo<std::int64_t>& info) {
  return detail::target_name(info.param);
}
INSTANTIATE_TEST_SUITE_P(AllTargets, CorrectedQuotientKernel, ::testing::ValuesIn(detail::available_targets()),
                         TargetName);

}  // namespace
}  // namespace lowbit
