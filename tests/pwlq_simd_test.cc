// The PWLQ kernels against the scalar oracle (lowbit/ref/pwlq.h), bit for bit, on every compiled
// target: quantize (codes), dequantize (any code) and fake-quantize for bits 2..8, k = 1, 2, 3, both
// variants, channels from tiny to FLT_MAX and the all-zero channel, with the edge-case matrix of
// STYLE.md (lengths 0..3N+1 and large, unaligned pointers, a guard element after the output, ±0, ±p,
// ±m and their float neighbours, grid ties and near-ties, NaN, ±Inf, subnormals, ±FLT_MAX, random
// data), then through the public API per tensor and per channel (several axes, m = 0 channels).
// With LOWBIT_SIMD=OFF the only "target" is the reference, and the test still runs.
#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <cfloat>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "lowbit/detail/pwlq_kernels.h"
#include "lowbit/detail/uniform_kernels.h"
#include "lowbit/pwlq.h"

namespace lowbit {
namespace {

constexpr float kInf = std::numeric_limits<float>::infinity();
constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();
constexpr float kDenormMin = std::numeric_limits<float>::denorm_min();

std::uint32_t Bits(float f) { return std::bit_cast<std::uint32_t>(f); }

// Lengths 0..3N+1 for vectors of up to 16 float lanes (every tail, 1..3 whole vectors and the 4x
// unrolled body), then a large one; each at the offsets below.
std::vector<std::size_t> Lengths() {
  std::vector<std::size_t> n;
  for (std::size_t i = 0; i <= 49; ++i) n.push_back(i);
  for (std::size_t i : {63, 64, 65, 127, 129, 4099}) n.push_back(i);
  return n;
}
constexpr std::size_t kOffsets[] = {0, 1, 3};

struct Config {
  float m;
  std::vector<float> bp;
};

// Channels per k: ordinary, awkward non-round values, huge (up to FLT_MAX), tiny, breakpoints a few
// ulps below m (tail steps of a few ulps), the all-zero channel, and subnormal ranges whose steps are
// a few denormals (rounded far from the real quotient: the clamps the kernels leave out for normal
// steps matter there). Configs a bit width rejects (a step underflowing to 0) are skipped.
std::vector<Config> Configs(int k) {
  const float below1 = std::nextafter(1.0f, 0.0f), below2 = std::nextafter(below1, 0.0f);
  const float d = kDenormMin;
  switch (k) {
    case 1:
      return {{1.0f, {0.3f}}, {3.7e-3f, {5.123e-4f}}, {FLT_MAX, {1e37f}}, {1e-30f, {4.1e-31f}},
              {1.0f, {below1}}, {0.0f, {0.0f}}, {15 * d, {4 * d}}, {40 * d, {20 * d}}, {300 * d, {11 * d}},
              {300 * d, {7 * d}}, {1e-40f, {3e-41f}}};
    case 2:
      return {{1.0f, {0.2f, 0.55f}}, {3.7e-3f, {5.123e-4f, 1.9e-3f}}, {FLT_MAX, {1e37f, 1e38f}},
              {1e-30f, {2e-31f, 6.3e-31f}}, {1.0f, {0.5f, below1}}, {0.0f, {0.0f, 0.0f}},
              {60 * d, {10 * d, 30 * d}}, {300 * d, {11 * d, 200 * d}}, {1e-40f, {1e-41f, 5e-41f}}};
    default:
      return {{1.0f, {0.1f, 0.4f, 0.7f}}, {3.7e-3f, {3.3e-4f, 1.1e-3f, 2.9e-3f}}, {FLT_MAX, {1e36f, 1e37f, 2e38f}},
              {1e-30f, {1e-31f, 3e-31f, 7e-31f}}, {1.0f, {0.5f, below2, below1}}, {0.0f, {0.0f, 0.0f, 0.0f}},
              {100 * d, {10 * d, 30 * d, 60 * d}}, {400 * d, {11 * d, 100 * d, 389 * d}},
              {1e-40f, {1e-41f, 3e-41f, 7e-41f}}};
  }
}

// Whether the kernels take their general path for a run (the condition of FastClampsExact in
// src/cpu/pwlq-inl.h, restated): the tests check that both paths are exercised.
bool GeneralPath(const ref::pwlq_run& r) {
  if (r.zero) return false;
  const float lo = r.edge[r.k - 1], m = r.edge[r.k], s = r.tail_step[r.k - 1];
  if (!((m - lo) / s > r.levels - 0.5f)) return true;
  return r.variant == pwlq_variant::reference &&
         !(-std::nextafter(r.edge[0], 0.0f) / r.centre_step >= -r.half - 0.5f);
}

void PushNeighbours(std::vector<float>& x, float v) {
  x.push_back(v);
  x.push_back(-v);
  float lo = v, hi = v;
  for (int u = 0; u < 2; ++u) {
    lo = std::nextafter(lo, -kInf);
    hi = std::nextafter(hi, kInf);
    for (float w : {lo, hi}) {
      x.push_back(w);
      x.push_back(-w);
    }
  }
}

// Edge values of one run: specials, every edge (breakpoints and m) and its neighbours, every centre
// and tail grid level and tie (midpoint) with neighbours, random values in and around [-m, m].
std::vector<float> Inputs(const ref::pwlq_run& r, float m, std::mt19937& rng) {
  std::vector<float> x = {0.0f, -0.0f, kNaN, -kNaN, kInf, -kInf, kDenormMin, -kDenormMin, 1e-40f, -1e-40f,
                          FLT_MIN, -FLT_MIN, FLT_MAX, -FLT_MAX, 1.0f, -1.0f};
  for (int i = 0; i <= r.k; ++i) PushNeighbours(x, r.edge[i]);
  const int H = static_cast<int>(r.half), L = static_cast<int>(r.levels);
  for (int j = -H - 1; j <= L + 1; ++j) {
    PushNeighbours(x, (static_cast<float>(j) + 0.5f) * r.centre_step);
    PushNeighbours(x, static_cast<float>(j) * r.centre_step);
  }
  for (int t = 0; t < r.k; ++t) {
    const float lo = r.edge[t], hi = r.edge[t + 1], s = r.tail_step[t];
    for (int j = 0; j <= L; ++j) {
      const float jf = static_cast<float>(j);
      PushNeighbours(x, lo + (jf + 0.5f) * s);  // positive ties (reference and paper)
      PushNeighbours(x, lo + jf * s);
      x.push_back(-hi + (jf + 0.5f) * s);  // negative ties of the reference grid (anchored at -hi)
      x.push_back(std::nextafter(-hi + (jf + 0.5f) * s, kInf));
      x.push_back(std::nextafter(-hi + (jf + 0.5f) * s, -kInf));
    }
  }
  std::uniform_real_distribution<float> u(-1.3f, 1.3f);
  std::normal_distribution<float> g(0.0f, 1.0f);
  const float p = r.edge[0] > 0.0f ? r.edge[0] : 1.0f;
  const float scale = m > 0.0f ? m : 1.0f;
  while (x.size() < 4099 + 8) {
    x.push_back(u(rng) * scale);
    x.push_back(g(rng) * p);
  }
  std::shuffle(x.begin(), x.end(), rng);
  return x;
}

std::string Describe(int bits, pwlq_variant v, int k, const Config& c) {
  std::string s = std::string(to_string(v)) + " bits=" + std::to_string(bits) + " k=" + std::to_string(k) +
                  " m=" + std::to_string(c.m) + " bp=";
  for (float b : c.bp) s += std::to_string(b) + ",";
  return s;
}

class PwlqSimd : public ::testing::TestWithParam<std::int64_t> {
 protected:
  void SetUp() override { detail::force_target(GetParam()); }
  void TearDown() override { detail::force_target(0); }
  std::mt19937 rng_{20240607};
};

// kernel(in + off, n, out + off) against oracle(in[i]) for every length and offset, with a guard
// element after the output.
template <class In, class Out, class Kernel, class Oracle, class Equal>
void Compare(const std::vector<In>& data, Kernel kernel, Oracle oracle, Equal equal, const std::string& what) {
  for (std::size_t n : Lengths()) {
    if (n > data.size()) break;
    for (std::size_t off : kOffsets) {
      if (n == 4099 && off != 1) continue;
      std::vector<In> in(n + off);
      std::copy_n(data.begin(), n, in.begin() + static_cast<std::ptrdiff_t>(off));
      std::vector<Out> got(n + off + 1);
      Out guard;
      std::memset(static_cast<void*>(&guard), 0x5A, sizeof guard);
      got[n + off] = guard;
      kernel(in.data() + off, n, got.data() + off);
      for (std::size_t i = 0; i < n; ++i) {
        const Out want = oracle(in[off + i]);
        ASSERT_TRUE(equal(got[off + i], want)) << what << " n=" << n << " off=" << off << " i=" << i;
      }
      ASSERT_EQ(std::memcmp(&got[n + off], &guard, sizeof guard), 0) << what << ": wrote past the end, n=" << n;
    }
  }
}

bool SameCode(pwlq_code a, pwlq_code b) { return a == b; }
bool SameFloat(float a, float b) { return Bits(a) == Bits(b); }

// Every kernel on every run shape: the matrix.
void KernelMatrix(pwlq_variant variant, int k, std::mt19937& rng) {
  int runs = 0, general = 0;
  for (int bits = 2; bits <= 8; ++bits) {
    for (const Config& c : Configs(k)) {
      std::vector<pwlq_params> holder;
      try {
        holder.push_back(pwlq_params::per_tensor(bits, variant, c.m, c.bp));
      } catch (const error&) {
        continue;  // a step underflows to 0 at this width
      }
      const pwlq_params& p = holder.front();
      const ref::pwlq_run& r = p.run(0);
      ++runs;
      general += GeneralPath(r) ? 1 : 0;
      const std::string what = Describe(bits, variant, k, c);
      const std::vector<float> x = Inputs(r, c.m, rng);
      // quantize: the codes; then the value of every input (including ±0, NaN) one by one too
      Compare<float, pwlq_code>(
          x, [&](const float* in, std::size_t n, pwlq_code* out) { detail::pwlq_quantize_run(in, n, r, out); },
          [&](float v) { return ref::pwlq_encode_value(v, r); }, SameCode, "quantize " + what);
      for (float v : x) {
        pwlq_code got;
        detail::pwlq_quantize_run(&v, 1, r, &got);
        ASSERT_EQ(got, ref::pwlq_encode_value(v, r)) << "quantize " << what << " x=" << v;
      }
      // fake-quantize, out of place and in place
      Compare<float, float>(
          x, [&](const float* in, std::size_t n, float* out) { detail::pwlq_fake_quantize_run(in, n, r, out); },
          [&](float v) { return ref::pwlq_fake_quantize_value(v, r); }, SameFloat, "fake_quantize " + what);
      std::vector<float> y = x;
      detail::pwlq_fake_quantize_run(y.data() + 1, y.size() - 1, r, y.data() + 1);
      ASSERT_EQ(Bits(y[0]), Bits(x[0]));
      for (std::size_t i = 1; i < x.size(); ++i) {
        ASSERT_EQ(Bits(y[i]), Bits(ref::pwlq_fake_quantize_value(x[i], r))) << "in place " << what << " i=" << i;
      }
      // dequantize: the codes of the inputs, then every (q, region) pair (q outside b bits, region > k)
      std::vector<pwlq_code> codes(x.size());
      for (std::size_t i = 0; i < x.size(); ++i) codes[i] = ref::pwlq_encode_value(x[i], r);
      for (int q = -128; q <= 127; ++q) {
        for (int reg : {0, 1, 2, 3, k + 1, 4, 255}) {
          codes.push_back({static_cast<std::int8_t>(q), static_cast<std::uint8_t>(reg)});
        }
      }
      std::shuffle(codes.begin() + static_cast<std::ptrdiff_t>(x.size()), codes.end(), rng);
      Compare<pwlq_code, float>(
          codes, [&](const pwlq_code* in, std::size_t n, float* out) { detail::pwlq_dequantize_run(in, n, r, out); },
          [&](pwlq_code q) { return ref::pwlq_decode_value(q, r); }, SameFloat, "dequantize " + what);
      std::vector<float> all(codes.size());
      detail::pwlq_dequantize_run(codes.data(), codes.size(), r, all.data());
      for (std::size_t i = 0; i < codes.size(); ++i) {
        ASSERT_EQ(Bits(all[i]), Bits(ref::pwlq_decode_value(codes[i], r)))
            << "dequantize " << what << " q=" << +codes[i].q << " region=" << +codes[i].region;
      }
    }
  }
  EXPECT_GE(runs, 7 * 6);
  EXPECT_GT(general, 0) << "no run takes the kernels' general path";
}

TEST_P(PwlqSimd, ReferenceK1) { KernelMatrix(pwlq_variant::reference, 1, rng_); }
TEST_P(PwlqSimd, ReferenceK2) { KernelMatrix(pwlq_variant::reference, 2, rng_); }
TEST_P(PwlqSimd, ReferenceK3) { KernelMatrix(pwlq_variant::reference, 3, rng_); }
TEST_P(PwlqSimd, PaperK1) { KernelMatrix(pwlq_variant::paper, 1, rng_); }
TEST_P(PwlqSimd, PaperK2) { KernelMatrix(pwlq_variant::paper, 2, rng_); }
TEST_P(PwlqSimd, PaperK3) { KernelMatrix(pwlq_variant::paper, 3, rng_); }

// Many random channels (random m over a wide exponent range, random sorted breakpoints): random data
// and the grid ties of each.
TEST_P(PwlqSimd, RandomChannels) {
  std::uniform_real_distribution<float> mant(1.0f, 2.0f), frac(0.001f, 0.999f);
  std::uniform_int_distribution<int> expo(-60, 60), bitsd(2, 8), kd(1, 3);
  for (int round = 0; round < 200; ++round) {
    const float m = std::ldexp(mant(rng_), expo(rng_));
    const int k = kd(rng_), bits = bitsd(rng_);
    std::vector<float> bp(static_cast<std::size_t>(k));
    for (float& b : bp) b = frac(rng_) * m;
    std::sort(bp.begin(), bp.end());
    if (std::adjacent_find(bp.begin(), bp.end()) != bp.end()) continue;
    const pwlq_variant variant = round % 2 ? pwlq_variant::paper : pwlq_variant::reference;
    const pwlq_params p = pwlq_params::per_tensor(bits, variant, m, bp);
    const ref::pwlq_run& r = p.run(0);
    const std::vector<float> x = Inputs(r, m, rng_);
    std::vector<pwlq_code> q(x.size());
    std::vector<float> y(x.size()), z(x.size());
    detail::pwlq_quantize_run(x.data(), x.size(), r, q.data());
    detail::pwlq_fake_quantize_run(x.data(), x.size(), r, y.data());
    detail::pwlq_dequantize_run(q.data(), q.size(), r, z.data());
    for (std::size_t i = 0; i < x.size(); ++i) {
      const pwlq_code want = ref::pwlq_encode_value(x[i], r);
      ASSERT_EQ(q[i], want) << "round " << round << " x=" << x[i];
      ASSERT_EQ(Bits(y[i]), Bits(ref::pwlq_fake_quantize_value(x[i], r))) << "round " << round << " x=" << x[i];
      ASSERT_EQ(Bits(z[i]), Bits(ref::pwlq_decode_value(want, r))) << "round " << round;
    }
  }
}

// The public API, which hands each channel run of >= pwlq_min_kernel_run values to the kernels and
// shorter ones to the scalar path: per tensor and per channel along every axis, m = 0 channels.
TEST_P(PwlqSimd, PublicApiPerChannel) {
  struct Layout {
    std::vector<std::int64_t> shape;
    int axis;
  };
  const Layout layouts[] = {{{5, 3, 37}, 0}, {{5, 3, 37}, 1}, {{5, 3, 37}, 2}, {{5, 3, 37}, -1},
                            {{2, 4, 300}, 1}, {{4, 1029}, 0}, {{6, 17}, 0}, {{3, 0, 7}, 0}};
  std::uniform_real_distribution<float> u(-1.0f, 1.0f), frac(0.05f, 0.95f);
  for (pwlq_variant variant : {pwlq_variant::reference, pwlq_variant::paper}) {
    for (int k = 1; k <= 3; ++k) {
      for (int bits : {2, 4, 8}) {
        for (const Layout& lay : layouts) {
          const std::size_t ax = static_cast<std::size_t>(lay.axis < 0 ? lay.axis + static_cast<int>(lay.shape.size())
                                                                       : lay.axis);
          const std::size_t channels = static_cast<std::size_t>(lay.shape[ax]);
          std::size_t count = 1, inner = 1;
          for (std::size_t i = 0; i < lay.shape.size(); ++i) {
            count *= static_cast<std::size_t>(lay.shape[i]);
            if (i > ax) inner *= static_cast<std::size_t>(lay.shape[i]);
          }
          std::vector<float> ms(channels), bps;
          for (std::size_t c = 0; c < channels; ++c) {
            ms[c] = c % 3 == 1 ? 0.0f : std::ldexp(1.0f + u(rng_) * 0.5f, static_cast<int>(c % 5) - 2);
            std::vector<float> b(static_cast<std::size_t>(k));
            for (std::size_t i = 0; i < b.size(); ++i) b[i] = ms[c] * (static_cast<float>(i) + frac(rng_)) / k;
            if (ms[c] == 0.0f) std::fill(b.begin(), b.end(), 0.0f);
            bps.insert(bps.end(), b.begin(), b.end());
          }
          const pwlq_params p = pwlq_params::per_channel(bits, variant, lay.shape, lay.axis, ms, bps);
          std::vector<float> x(count);
          for (std::size_t i = 0; i < count; ++i) {
            const std::size_t c = (i / inner) % channels;
            x[i] = u(rng_) * 1.2f * (ms[c] > 0.0f ? ms[c] : 1.0f);
            if (i % 97 == 3) x[i] = kNaN;
            if (i % 101 == 5) x[i] = -kInf;
            if (i % 103 == 7) x[i] = -0.0f;
          }
          std::vector<pwlq_code> q(count);
          std::vector<float> y(count), z(count);
          pwlq_quantize(x, p, q);
          pwlq_fake_quantize(x, p, y);
          pwlq_dequantize(q, p, z);
          double sum = 0.0;
          std::size_t finite = 0;
          for (std::size_t i = 0; i < count; ++i) {
            const ref::pwlq_run& r = p.run((i / inner) % channels);
            const pwlq_code want = ref::pwlq_encode_value(x[i], r);
            const float fq = ref::pwlq_fake_quantize_value(x[i], r);
            ASSERT_EQ(q[i], want) << "axis " << lay.axis << " i=" << i;
            ASSERT_EQ(Bits(y[i]), Bits(fq)) << "axis " << lay.axis << " i=" << i;
            ASSERT_EQ(Bits(z[i]), Bits(ref::pwlq_decode_value(want, r))) << "axis " << lay.axis << " i=" << i;
            if (std::fabs(x[i]) <= FLT_MAX) {
              const double e = static_cast<double>(fq) - static_cast<double>(x[i]);
              sum += e * e;
              ++finite;
            }
          }
          const double mse = finite ? sum / static_cast<double>(finite) : 0.0;
          ASSERT_EQ(pwlq_mse(x, p), mse) << "axis " << lay.axis;  // same values, same summation order
          std::vector<float> w = x;
          pwlq_fake_quantize(w, p, w);  // in place
          for (std::size_t i = 0; i < count; ++i) ASSERT_EQ(Bits(w[i]), Bits(y[i])) << "in place i=" << i;
        }
      }
    }
  }
}

// Large enough that quantize streams its output past the caches (AVX-512), at an output offset that
// is vector-misaligned (aligned head, streamed body, tail), one that is odd (no streaming) and 0.
TEST_P(PwlqSimd, LargeUnalignedOutput) {
  constexpr std::size_t kN = 8'500'003;
  const float bp[1] = {1.3f};
  const pwlq_params p = pwlq_params::per_tensor(4, pwlq_variant::reference, 4.5f, bp);
  const ref::pwlq_run& r = p.run(0);
  std::vector<float> x(kN);
  std::normal_distribution<float> g(0.0f, 1.0f);
  for (auto& v : x) v = g(rng_);
  std::vector<pwlq_code> want(kN);
  for (std::size_t i = 0; i < kN; ++i) want[i] = ref::pwlq_encode_value(x[i], r);
  std::vector<std::uint8_t> raw((kN + 8) * sizeof(pwlq_code) + 8, 0x5A);
  for (std::size_t byte_off : {0u, 1u, 6u}) {
    std::fill(raw.begin(), raw.end(), std::uint8_t{0x5A});
    auto* out = reinterpret_cast<pwlq_code*>(raw.data() + byte_off);
    detail::pwlq_quantize_run(x.data(), kN, r, out);
    ASSERT_EQ(std::memcmp(out, want.data(), kN * sizeof(pwlq_code)), 0) << "byte offset " << byte_off;
    const std::uint8_t* after = raw.data() + byte_off + kN * sizeof(pwlq_code);
    ASSERT_EQ(after[0], 0x5A);
    ASSERT_EQ(after[1], 0x5A);
    if (byte_off > 0) {
      ASSERT_EQ(raw[byte_off - 1], 0x5A);
    }
  }
}

std::string TargetName(const ::testing::TestParamInfo<std::int64_t>& info) {
  return detail::target_name(info.param);
}

INSTANTIATE_TEST_SUITE_P(AllTargets, PwlqSimd, ::testing::ValuesIn(detail::available_targets()), TargetName);

TEST(PwlqSimdDispatch, ForcingATargetIsObserved) {
  for (std::int64_t t : detail::available_targets()) {
    detail::force_target(t);
    EXPECT_STREQ(detail::pwlq_active_target_name(), detail::target_name(t));
  }
  detail::force_target(0);
}

}  // namespace
}  // namespace lowbit
