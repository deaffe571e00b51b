// Every SIMD kernel against the scalar reference, bit for bit, on every compiled target: the edge-case
// matrix of STYLE.md (sizes 0..k*N+1, unaligned pointers, a guard element after the output, ties,
// near-ties, ±0, ±Inf, NaN, denormals, saturation, scale extremes, zero points at their bounds) for
// all three profiles. With LOWBIT_SIMD=OFF the only "target" is the reference, and the test still runs.
#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <type_traits>
#include <vector>

#include "lowbit/detail/uniform_kernels.h"
#include "lowbit/quant_params.h"
#include "support/random_data.h"

namespace lowbit {
namespace {

using ref::row_params;
using ref::run_params;

constexpr float kInf = std::numeric_limits<float>::infinity();
constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();
constexpr float kDenormMin = std::numeric_limits<float>::denorm_min();
constexpr float kMax = std::numeric_limits<float>::max();
constexpr profile kProfiles[] = {profile::onnx, profile::pytorch, profile::tflite};

// Lengths: 0..33 cover every tail for vectors of up to 32 lanes, then k*N +- 1 for N = 4..16 and large.
std::vector<std::size_t> Lengths() {
  std::vector<std::size_t> n;
  for (std::size_t i = 0; i <= 33; ++i) n.push_back(i);
  for (std::size_t i : {47, 48, 49, 63, 64, 65, 127, 128, 129, 255, 256, 257, 1000, 4099}) n.push_back(i);
  return n;
}

std::uint32_t Bits(float f) { return std::bit_cast<std::uint32_t>(f); }

template <class Code>
constexpr float QMin(bool narrow) {
  return static_cast<float>(std::numeric_limits<Code>::min()) + (narrow ? 1.0f : 0.0f);
}
template <class Code>
constexpr float QMax() {
  return static_cast<float>(std::numeric_limits<Code>::max());
}

// Inputs for one scale: edge values, exact ties (k + 0.5) * scale, near-ties a few ulps away,
// and random values spanning the code range and beyond.
std::vector<float> Inputs(float scale, float qspan, std::mt19937& rng, std::size_t random_count) {
  std::vector<float> x = {0.0f, -0.0f, kInf, -kInf, kNaN, -kNaN, kDenormMin, -kDenormMin, 1e-40f, -1e-40f,
                          std::numeric_limits<float>::min(), kMax, -kMax, 1.0f, -1.0f, 0.5f, -0.5f, 1.5f,
                          -1.5f, 2.5f, -2.5f};
  for (float k : {0.0f, 1.0f, 2.0f, -1.0f, -2.0f, -3.0f, 5.0f, 126.0f, 127.0f, -128.0f, -129.0f, 254.0f, 255.0f,
                  32766.0f, -32768.0f, 65534.0f, 1e6f}) {
    test_data::push_tie_and_neighbours(x, k, scale);
    x.push_back(-(k + 0.5f) * scale);
  }
  std::uniform_real_distribution<float> u(-1.2f * qspan, 1.2f * qspan);
  for (std::size_t i = 0; i < random_count; ++i) x.push_back(u(rng) * scale);
  std::shuffle(x.begin(), x.end(), rng);
  return x;
}

// Scales from tiny (reciprocal overflows to Inf) to huge (reciprocal is subnormal).
const float kScales[] = {1.0f, 0.5f, 0.1f, 1.0f / 127, 0.0078125f, 3.3e-5f, 1e-30f, kDenormMin, 1e30f, 3e38f};

class UniformSimd : public ::testing::TestWithParam<std::int64_t> {
 protected:
  void SetUp() override { detail::force_target(GetParam()); }
  void TearDown() override { detail::force_target(0); }
  std::mt19937 rng_{12345};
};

// Runs `kernel(in + off, n, out + off)` against `oracle` for every length and offset 0..3, with a
// guard element after the output.
template <class In, class Out, class Kernel, class Oracle>
void Compare(const std::vector<In>& data, Kernel kernel, Oracle oracle, const std::string& what) {
  for (std::size_t n : Lengths()) {
    if (n > data.size()) break;
    for (std::size_t off = 0; off < 4; ++off) {
      std::vector<In> in(n + off);
      std::copy(data.begin(), data.begin() + static_cast<std::ptrdiff_t>(n), in.begin() + static_cast<std::ptrdiff_t>(off));
      std::vector<Out> got(n + off + 1), want(n);
      const Out guard = static_cast<Out>(0x5A);
      got[n + off] = guard;
      kernel(in.data() + off, n, got.data() + off);
      oracle(in.data() + off, n, want.data());
      for (std::size_t i = 0; i < n; ++i) {
        if constexpr (std::is_same_v<Out, float>) {
          ASSERT_EQ(Bits(got[off + i]), Bits(want[i]))
              << what << " n=" << n << " off=" << off << " i=" << i << " in=" << +in[off + i] << " got=" << got[off + i]
              << " want=" << want[i];
        } else {
          ASSERT_EQ(+got[off + i], +want[i])
              << what << " n=" << n << " off=" << off << " i=" << i << " in=" << +in[off + i];
        }
      }
      ASSERT_EQ(+got[n + off], +guard) << what << ": wrote past the end, n=" << n << " off=" << off;
    }
  }
}

template <class Code>
void QuantizeMatrix(std::mt19937& rng) {
  for (float scale : kScales) {
    const auto x = Inputs(scale, QMax<Code>(), rng, 4200);
    for (profile prof : kProfiles) {
      for (bool narrow : {false, true}) {
        const float qmin = QMin<Code>(narrow), qmax = QMax<Code>();
        for (float zp : {qmin, qmax, 0.0f < qmin ? qmin : 0.0f, std::floor((qmin + qmax) / 2)}) {
          const run_params p{scale, 1.0f / scale, zp, qmin, qmax, prof};
          const std::string what = std::string("quantize ") + to_string(prof) + " scale=" + std::to_string(scale) +
                                   " zp=" + std::to_string(zp);
          Compare<float, Code>(
              x, [&](const float* in, std::size_t n, Code* out) { detail::quantize_run(in, n, p, out); },
              [&](const float* in, std::size_t n, Code* out) { ref::quantize_run(in, n, p, out); }, what);
          Compare<float, float>(
              x, [&](const float* in, std::size_t n, float* out) { detail::fake_quantize_run(in, n, p, out); },
              [&](const float* in, std::size_t n, float* out) { ref::fake_quantize_run(in, n, p, out); },
              "fake_" + what);
        }
      }
    }
  }
}

TEST_P(UniformSimd, QuantizeS8) { QuantizeMatrix<std::int8_t>(rng_); }
TEST_P(UniformSimd, QuantizeU8) { QuantizeMatrix<std::uint8_t>(rng_); }
TEST_P(UniformSimd, QuantizeS16) { QuantizeMatrix<std::int16_t>(rng_); }

template <class Code>
void DequantizeMatrix(std::mt19937& rng) {
  std::vector<Code> q;
  for (int v : {0, 1, -1, 127, -128, 255, 32767, -32768}) q.push_back(static_cast<Code>(v));
  std::uniform_int_distribution<int> u(std::numeric_limits<Code>::min(), std::numeric_limits<Code>::max());
  while (q.size() < 4200) q.push_back(static_cast<Code>(u(rng)));
  for (float scale : kScales) {
    for (float zp : {QMin<Code>(false), QMax<Code>(), 0.0f, 3.0f}) {
      const run_params p{scale, 1.0f / scale, zp, QMin<Code>(false), QMax<Code>(), profile::onnx};
      Compare<Code, float>(
          q, [&](const Code* in, std::size_t n, float* out) { detail::dequantize_run(in, n, p, out); },
          [&](const Code* in, std::size_t n, float* out) { ref::dequantize_run(in, n, p, out); },
          "dequantize scale=" + std::to_string(scale));
    }
  }
}

TEST_P(UniformSimd, DequantizeS8) { DequantizeMatrix<std::int8_t>(rng_); }
TEST_P(UniformSimd, DequantizeU8) { DequantizeMatrix<std::uint8_t>(rng_); }
TEST_P(UniformSimd, DequantizeS16) { DequantizeMatrix<std::int16_t>(rng_); }

// Per-element parameters: random scales (including the extremes) and zero points per lane.
struct RowArrays {
  std::vector<float> scale, inv, zp;
  row_params params(float qmin, float qmax, profile prof) const {
    return {scale.data(), inv.data(), zp.data(), qmin, qmax, prof};
  }
};

RowArrays RandomRow(std::size_t n, float qmin, float qmax, std::mt19937& rng) {
  RowArrays r;
  std::uniform_int_distribution<int> pick(0, static_cast<int>(std::size(kScales)) - 1);
  std::uniform_real_distribution<float> z(qmin, qmax);
  for (std::size_t i = 0; i < n; ++i) {
    const float s = (i % 3 == 0) ? kScales[pick(rng)] : std::ldexp(1.0f + static_cast<float>(i % 7) / 7, -static_cast<int>(i % 9));
    r.scale.push_back(s);
    r.inv.push_back(1.0f / s);
    r.zp.push_back(i % 5 == 0 ? qmin : (i % 5 == 1 ? qmax : std::floor(z(rng))));
  }
  return r;
}

template <class Code>
void RowMatrix(std::mt19937& rng) {
  const std::size_t n_max = 4099 + 4;
  const float qmin = QMin<Code>(false), qmax = QMax<Code>();
  const RowArrays row = RandomRow(n_max, qmin, qmax, rng);
  // Inputs scaled per element so that ties and near-ties land on each lane's own scale.
  std::vector<float> x = Inputs(1.0f, qmax, rng, n_max);
  x.resize(n_max);
  for (std::size_t i = 0; i < n_max; ++i) x[i] *= row.scale[i];
  std::vector<Code> q(n_max);
  std::uniform_int_distribution<int> u(std::numeric_limits<Code>::min(), std::numeric_limits<Code>::max());
  for (auto& c : q) c = static_cast<Code>(u(rng));
  // The row kernels index parameters by element, so the offset must apply to the parameters too:
  // compare on the aligned data only (offsets are covered by the run kernels; here lengths matter).
  for (profile prof : kProfiles) {
    const row_params p = row.params(qmin, qmax, prof);
    for (std::size_t n : Lengths()) {
      std::vector<Code> got(n + 1), want(n);
      got[n] = static_cast<Code>(0x5A);
      detail::quantize_row(x.data(), n, p, got.data());
      ref::quantize_row(x.data(), n, p, want.data());
      for (std::size_t i = 0; i < n; ++i) ASSERT_EQ(+got[i], +want[i]) << to_string(prof) << " n=" << n << " i=" << i;
      ASSERT_EQ(+got[n], 0x5A);
      std::vector<float> fg(n + 1), fw(n);
      fg[n] = 42.0f;
      detail::fake_quantize_row(x.data(), n, p, fg.data());
      ref::fake_quantize_row(x.data(), n, p, fw.data());
      for (std::size_t i = 0; i < n; ++i) ASSERT_EQ(Bits(fg[i]), Bits(fw[i])) << "fake n=" << n << " i=" << i;
      ASSERT_EQ(fg[n], 42.0f);
      detail::dequantize_row(q.data(), n, p, fg.data());
      ref::dequantize_row(q.data(), n, p, fw.data());
      for (std::size_t i = 0; i < n; ++i) ASSERT_EQ(Bits(fg[i]), Bits(fw[i])) << "dequantize n=" << n << " i=" << i;
      ASSERT_EQ(fg[n], 42.0f);
    }
  }
}

TEST_P(UniformSimd, RowS8) { RowMatrix<std::int8_t>(rng_); }
TEST_P(UniformSimd, RowU8) { RowMatrix<std::uint8_t>(rng_); }
TEST_P(UniformSimd, RowS16) { RowMatrix<std::int16_t>(rng_); }

template <class In, class Out>
void RequantizeMatrix(std::mt19937& rng) {
  std::vector<In> q;
  std::uniform_int_distribution<int> u(std::numeric_limits<In>::min(), std::numeric_limits<In>::max());
  for (int v : {0, 1, -1, 127, -128, 255}) q.push_back(static_cast<In>(v));
  while (q.size() < 4200) q.push_back(static_cast<In>(u(rng)));
  const float fmin = QMin<In>(false), fmax = QMax<In>(), tmin = QMin<Out>(false), tmax = QMax<Out>();
  // Ratios of scales that make exact ties (0.5, 2) and near-ties (0.1 vs 0.3), and extremes.
  const std::pair<float, float> scales[] = {{1.0f, 2.0f}, {0.25f, 0.5f}, {0.1f, 0.3f}, {0.1f, 0.2f},
                                            {1.0f / 127, 1.0f / 255}, {1e-30f, kDenormMin}, {3e38f, 1e-3f}};
  for (const auto& [sa, sb] : scales) {
    for (profile prof : kProfiles) {
      for (float zb : {tmin, tmax, std::floor((tmin + tmax) / 2)}) {
        const run_params a{sa, 1.0f / sa, fmin < 0 ? 0.0f : 128.0f, fmin, fmax, profile::onnx};
        const run_params b{sb, 1.0f / sb, zb, tmin, tmax, prof};
        Compare<In, Out>(
            q, [&](const In* in, std::size_t n, Out* out) { detail::requantize_run(in, n, a, b, out); },
            [&](const In* in, std::size_t n, Out* out) { ref::requantize_run(in, n, a, b, out); },
            std::string("requantize ") + to_string(prof));
      }
    }
  }
  // Row variant with per-element parameters on both sides.
  const RowArrays ra = RandomRow(q.size(), fmin, fmax, rng), rb = RandomRow(q.size(), tmin, tmax, rng);
  for (profile prof : kProfiles) {
    const row_params a = ra.params(fmin, fmax, profile::onnx), b = rb.params(tmin, tmax, prof);
    for (std::size_t n : Lengths()) {
      std::vector<Out> got(n + 1), want(n);
      got[n] = static_cast<Out>(0x5A);
      detail::requantize_row(q.data(), n, a, b, got.data());
      ref::requantize_row(q.data(), n, a, b, want.data());
      for (std::size_t i = 0; i < n; ++i) ASSERT_EQ(+got[i], +want[i]) << "requantize_row n=" << n << " i=" << i;
      ASSERT_EQ(+got[n], 0x5A);
    }
  }
}

TEST_P(UniformSimd, RequantizeAllPairs) {
  RequantizeMatrix<std::int8_t, std::int8_t>(rng_);
  RequantizeMatrix<std::int8_t, std::uint8_t>(rng_);
  RequantizeMatrix<std::int8_t, std::int16_t>(rng_);
  RequantizeMatrix<std::uint8_t, std::int8_t>(rng_);
  RequantizeMatrix<std::uint8_t, std::uint8_t>(rng_);
  RequantizeMatrix<std::uint8_t, std::int16_t>(rng_);
  RequantizeMatrix<std::int16_t, std::int8_t>(rng_);
  RequantizeMatrix<std::int16_t, std::uint8_t>(rng_);
  RequantizeMatrix<std::int16_t, std::int16_t>(rng_);
}

// Byte codes at every output address modulo 64 (quantize, and requantize from int16 codes): per-tensor
// kernels store whole vectors up to the first 64-byte-aligned output address and four vectors (one
// 64-byte store, AVX-512) at a time after it, so every alignment gives a different split between the
// two, with guards on both sides.
template <class Code>
void EveryOutputAlignment(std::mt19937& rng) {
  const auto x = Inputs(0.1f, QMax<Code>(), rng, 400);
  constexpr std::size_t kGuard = 64, kMaxN = 330;
  alignas(64) Code buffer[kGuard + 64 + kMaxN + kGuard];
  std::vector<Code> want(kMaxN);
  for (profile prof : kProfiles) {
    for (bool narrow : {false, true}) {
      const float qmin = QMin<Code>(narrow), qmax = QMax<Code>();
      for (float zp : {qmin, qmax, std::floor((qmin + qmax) / 2)}) {
        const run_params p{0.1f, 1.0f / 0.1f, zp, qmin, qmax, prof};
        // Requantize to these codes from int16 codes of a finer scale (so that ties occur).
        const run_params from{0.025f, 1.0f / 0.025f, 0.0f, -32768.0f, 32767.0f, profile::onnx};
        std::vector<std::int16_t> codes16(kMaxN);
        ref::quantize_run(x.data(), kMaxN, from, codes16.data());
        std::vector<Code> want_requantized(kMaxN);
        for (std::size_t n : {0, 1, 15, 16, 17, 47, 63, 64, 65, 79, 80, 127, 128, 129, 191, 192, 193, 255, 256, 330}) {
          ref::quantize_run(x.data(), n, p, want.data());
          ref::requantize_run(codes16.data(), n, from, p, want_requantized.data());
          for (std::size_t off = 0; off < 64; ++off) {
            Code* out = buffer + kGuard + off;
            const auto check = [&](const std::vector<Code>& expected, const char* what) {
              ASSERT_EQ(std::memcmp(out, expected.data(), n), 0)
                  << what << " " << to_string(prof) << " zp=" << zp << " n=" << n << " offset=" << off;
              for (const Code* g = buffer; g < out; ++g) ASSERT_EQ(+*g, 0x5A) << what << " wrote before the output";
              for (const Code* g = out + n; g < std::end(buffer); ++g) ASSERT_EQ(+*g, 0x5A) << what << " wrote past the end";
            };
            std::memset(buffer, 0x5A, sizeof(buffer));
            detail::quantize_run(x.data(), n, p, out);
            check(want, "quantize");
            std::memset(buffer, 0x5A, sizeof(buffer));
            detail::requantize_run(codes16.data(), n, from, p, out);
            check(want_requantized, "requantize");
          }
        }
      }
    }
  }
}

TEST_P(UniformSimd, ByteCodesAtEveryOutputAlignment) {
  EveryOutputAlignment<std::int8_t>(rng_);
  EveryOutputAlignment<std::uint8_t>(rng_);
}

// Ties and values a few ulps from a tie, for many random scales and both division profiles (int16, so
// few saturate): the rounding boundary is where a kernel that forms x / scale any other way goes wrong.
TEST_P(UniformSimd, NearTiesForManyScales) {
  std::uniform_real_distribution<float> mant(1.0f, 2.0f);
  std::uniform_int_distribution<int> expo(-40, 20), k(-40000, 40000), ulps(-4, 4);
  constexpr std::size_t kCount = 1 << 16;
  std::vector<float> x(kCount);
  std::vector<std::int16_t> got(kCount), want(kCount);
  std::size_t checked = 0;
  for (int round = 0; round < 64; ++round) {
    const float scale = std::ldexp(mant(rng_), expo(rng_));
    for (auto& v : x) {
      v = (static_cast<float>(k(rng_)) + 0.5f) * scale;
      for (int u = ulps(rng_); u != 0; u += u > 0 ? -1 : 1) v = std::nextafter(v, u > 0 ? kInf : -kInf);
    }
    for (profile prof : {profile::onnx, profile::tflite}) {
      const run_params p{scale, 1.0f / scale, 0.0f, -32768.0f, 32767.0f, prof};
      detail::quantize_run(x.data(), kCount, p, got.data());
      ref::quantize_run(x.data(), kCount, p, want.data());
      for (std::size_t i = 0; i < kCount; ++i) {
        ASSERT_EQ(got[i], want[i]) << to_string(prof) << " x=" << x[i] << " scale=" << scale;
      }
      checked += kCount;
    }
  }
  EXPECT_EQ(checked, 64u * 2 * kCount);
}

// Large enough that quantize and dequantize stream their output past the caches (AVX-512), with an output that is
// not vector-aligned, so the aligned head, the streamed body and the tail all run.
TEST_P(UniformSimd, LargeUnalignedOutput) {
  constexpr std::size_t kN = 10'100'003, kOff = 3;
  std::vector<float> x(kN);
  std::uniform_real_distribution<float> u(-300.0f, 300.0f);
  for (auto& v : x) v = u(rng_);
  for (profile prof : kProfiles) {
    const run_params p{0.77f, 1.0f / 0.77f, -5.0f, -128.0f, 127.0f, prof};
    std::vector<std::int8_t> got(kN + kOff + 1, 0x5A), want(kN);
    detail::quantize_run(x.data(), kN, p, got.data() + kOff);
    ref::quantize_run(x.data(), kN, p, want.data());
    ASSERT_EQ(got[kN + kOff], 0x5A);
    ASSERT_EQ(got[kOff - 1], 0x5A);
    for (std::size_t i = 0; i < kN; ++i) ASSERT_EQ(got[kOff + i], want[i]) << to_string(prof) << " i=" << i;
  }
  // Dequantize streams its output too (a footprint of 5 bytes per element): every float offset of a
  // 64-byte vector is a different head before the first aligned store.
  const run_params p{0.77f, 1.0f / 0.77f, -5.0f, -128.0f, 127.0f, profile::onnx};
  std::vector<std::int8_t> codes(kN);
  ref::quantize_run(x.data(), kN, p, codes.data());
  std::vector<float> want(kN);
  ref::dequantize_run(codes.data(), kN, p, want.data());
  for (const std::size_t off : {std::size_t{0}, std::size_t{5}}) {
    constexpr float kGuard = -12345.5f;
    std::vector<float> got(kN + off + 1, kGuard);
    detail::dequantize_run(codes.data(), kN, p, got.data() + off);
    ASSERT_EQ(std::memcmp(got.data() + off, want.data(), kN * sizeof(float)), 0) << "offset " << off;
    ASSERT_EQ(Bits(got[kN + off]), Bits(kGuard));
    if (off > 0) {
      ASSERT_EQ(Bits(got[off - 1]), Bits(kGuard));
    }
  }
}

std::string TargetName(const ::testing::TestParamInfo<std::int64_t>& info) {
  return detail::target_name(info.param);
}

INSTANTIATE_TEST_SUITE_P(AllTargets, UniformSimd, ::testing::ValuesIn(detail::available_targets()), TargetName);

TEST(UniformSimdDispatch, ForcingATargetIsObserved) {
  for (std::int64_t t : detail::available_targets()) {
    detail::force_target(t);
    EXPECT_STREQ(detail::active_target_name(), detail::target_name(t));
  }
  detail::force_target(0);
}

}  // namespace
}  // namespace lowbit
