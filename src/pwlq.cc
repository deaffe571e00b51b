// lowbit — piecewise-linear quantization: validation, per-channel walking, breakpoint search,
// packing and bias correction. The per-value numerics are lowbit/ref/pwlq.h.
// SPDX-License-Identifier: Apache-2.0
#include "lowbit/pwlq.h"

#include <algorithm>
#include <array>
#include <cstdio>
#include <bit>
#include <cassert>
#include <cfloat>
#include <cmath>
#include <cstdint>
#include <limits>
#include <numeric>
#include <string>
#include <vector>

#include "lowbit/detail/pwlq_kernels.h"

namespace lowbit {

// ---- names ------------------------------------------------------------------------------------------

const char* to_string(pwlq_breakpoint method) noexcept {
  switch (method) {
    case pwlq_breakpoint::exact: return "exact";
    case pwlq_breakpoint::gaussian: return "gaussian";
    case pwlq_breakpoint::laplacian: return "laplacian";
    case pwlq_breakpoint::grid: return "grid";
  }
  return "unknown";
}

const char* to_string(pwlq_variant variant) noexcept {
  switch (variant) {
    case pwlq_variant::reference: return "reference";
    case pwlq_variant::paper: return "paper";
  }
  return "unknown";
}

pwlq_breakpoint pwlq_breakpoint_from_string(std::string_view text) {
  for (auto m : {pwlq_breakpoint::exact, pwlq_breakpoint::gaussian, pwlq_breakpoint::laplacian, pwlq_breakpoint::grid}) {
    if (text == to_string(m)) return m;
  }
  throw error(errc::invalid_argument, "PWLQ breakpoint method '" + std::string(text) +
                                          "' is not one of exact, gaussian, laplacian, grid");
}

pwlq_variant pwlq_variant_from_string(std::string_view text) {
  for (auto v : {pwlq_variant::reference, pwlq_variant::paper}) {
    if (text == to_string(v)) return v;
  }
  throw error(errc::invalid_argument, "PWLQ variant '" + std::string(text) + "' is not one of reference, paper");
}

// ---- parameters -------------------------------------------------------------------------------------

namespace {

void check_bits(int bits) {
  if (bits < 2 || bits > 8) {
    throw error(errc::unsupported_width, "PWLQ bit width " + std::to_string(bits) + " is outside the supported 2..8");
  }
}

void check_variant(pwlq_variant variant) {
  if (variant != pwlq_variant::reference && variant != pwlq_variant::paper) {
    throw error(errc::invalid_argument,
                "PWLQ variant " + std::to_string(static_cast<int>(variant)) + " is not one of reference, paper");
  }
}

void check_k(int k) {
  if (k < 1 || k > ref::pwlq_max_breakpoints) {
    throw error(errc::invalid_argument,
                "PWLQ needs 1..3 breakpoints per channel, " + std::to_string(k) + " given");
  }
}

}  // namespace

pwlq_params pwlq_params::per_tensor(int bits, pwlq_variant variant, float max_abs,
                                    std::span<const float> breakpoints) {
  check_bits(bits);
  check_variant(variant);
  check_k(static_cast<int>(breakpoints.size()));
  pwlq_params p;
  p.bits_ = bits;
  p.variant_ = variant;
  p.k_ = static_cast<int>(breakpoints.size());
  p.granularity_ = lowbit::granularity::per_tensor;
  const float m[1] = {max_abs};
  p.finish(m, breakpoints);
  return p;
}

pwlq_params pwlq_params::per_channel(int bits, pwlq_variant variant, std::span<const std::int64_t> shape, int axis,
                                     std::span<const float> max_abs, std::span<const float> breakpoints) {
  check_bits(bits);
  check_variant(variant);
  pwlq_params p;
  p.axis_ = detail::checked_axis(axis, shape.size());
  const std::size_t count = detail::checked_element_count(shape);
  const std::size_t inner = detail::inner_count(shape, static_cast<std::size_t>(p.axis_));
  const auto channels = static_cast<std::size_t>(shape[static_cast<std::size_t>(p.axis_)]);
  if (max_abs.size() != channels) {
    throw error(errc::count_mismatch, std::to_string(max_abs.size()) + " max |x| values given, shape[" +
                                          std::to_string(p.axis_) + "] = " + std::to_string(channels));
  }
  if (channels == 0 ? !breakpoints.empty() : breakpoints.size() % channels != 0) {
    throw error(errc::count_mismatch, std::to_string(breakpoints.size()) +
                                          " breakpoints given, not a multiple of the " + std::to_string(channels) +
                                          " channels");
  }
  const int k = channels == 0 ? 1 : static_cast<int>(breakpoints.size() / channels);
  check_k(k);
  p.bits_ = bits;
  p.variant_ = variant;
  p.k_ = k;
  p.granularity_ = lowbit::granularity::per_channel;
  p.shape_.assign(shape.begin(), shape.end());
  p.element_count_ = count;
  p.inner_ = inner;
  p.finish(max_abs, breakpoints);
  return p;
}

void pwlq_params::finish(std::span<const float> max_abs, std::span<const float> breakpoints) {
  const std::size_t k = static_cast<std::size_t>(k_);
  max_abs_.assign(max_abs.begin(), max_abs.end());
  breakpoints_.assign(breakpoints.begin(), breakpoints.end());
  runs_.resize(max_abs.size());
  for (std::size_t c = 0; c < max_abs.size(); ++c) {
    const float m = max_abs[c];
    const std::string where = max_abs.size() == 1 ? std::string() : " (channel " + std::to_string(c) + ")";
    if (!(m >= 0.0f) || std::isinf(m)) {
      throw error(errc::invalid_range, "max |x| = " + detail::float_text(m) + where + " must be finite and >= 0");
    }
    float* bp = breakpoints_.data() + c * k;
    if (m == 0.0f) {
      std::fill(bp, bp + k, 0.0f);
    } else {
      float prev = 0.0f;
      for (std::size_t i = 0; i < k; ++i) {
        if (!(bp[i] > prev) || !(bp[i] < m)) {
          std::string list;
          for (std::size_t t = 0; t < k; ++t) list += (t ? ", " : "") + detail::float_text(bp[t]);
          throw error(errc::invalid_range, "breakpoints [" + list + "]" + where +
                                               " must satisfy 0 < p1 < ... < pk < max |x| = " + detail::float_text(m));
        }
        prev = bp[i];
      }
    }
    runs_[c] = ref::make_pwlq_run(bits_, variant_, m, bp, k_);
    if (m > 0.0f) {
      bool ok = runs_[c].centre_step > 0.0f;
      for (std::size_t i = 0; i < k; ++i) ok = ok && runs_[c].tail_step[i] > 0.0f;
      if (!ok) {
        throw error(errc::invalid_range, "max |x| = " + detail::float_text(m) + where +
                                             " and its breakpoints give a step that underflows to 0");
      }
      // Every level finite: in each region the levels are monotone in the magnitude index, so its
      // extremes are the codes q = L and q = -H (the reference centre reaches -H * c, beyond -p1).
      const auto top = static_cast<std::int8_t>(runs_[c].levels), bottom = static_cast<std::int8_t>(-runs_[c].half);
      for (std::uint8_t reg = 0; reg <= static_cast<std::uint8_t>(k_); ++reg) {
        for (const std::int8_t q : {top, bottom}) {
          if (!std::isfinite(ref::pwlq_decode_value(pwlq_code{q, reg}, runs_[c]))) {
            throw error(errc::invalid_range, "max |x| = " + detail::float_text(m) + where +
                                                 " and its breakpoints give a level beyond FLT_MAX");
          }
        }
      }
    }
  }
}

bool pwlq_params::operator==(const pwlq_params& o) const noexcept {
  const auto same = [](std::span<const float> a, std::span<const float> b) {
    return std::equal(a.begin(), a.end(), b.begin(), b.end(), [](float x, float y) {
      return std::bit_cast<std::uint32_t>(x) == std::bit_cast<std::uint32_t>(y);
    });
  };
  return bits_ == o.bits_ && variant_ == o.variant_ && k_ == o.k_ && granularity_ == o.granularity_ &&
         shape_ == o.shape_ && axis_ == o.axis_ && same(max_abs_, o.max_abs_) && same(breakpoints_, o.breakpoints_);
}

// ---- channel walking --------------------------------------------------------------------------------

namespace {

void check_sizes(std::size_t x, std::size_t out, const pwlq_params& p, const char* what) {
  if (x != out) {
    throw error(errc::size_mismatch, std::string(what) + ": input has " + std::to_string(x) + " values, output " +
                                         std::to_string(out));
  }
  if (p.granularity() != granularity::per_tensor && x != p.element_count()) {
    throw error(errc::size_mismatch, std::string(what) + ": " + std::to_string(x) +
                                         " values given, the shape of the parameters has " +
                                         std::to_string(p.element_count()));
  }
}

// Calls f(run, offset, count) for each contiguous run of elements sharing a channel.
template <class F>
void for_each_run(std::size_t n, const pwlq_params& p, F&& f) {
  if (p.granularity() == granularity::per_tensor) {
    f(p.run(0), std::size_t{0}, n);
    return;
  }
  const std::size_t channels = p.channels(), inner = p.inner_size();
  if (channels == 0 || inner == 0) return;
  const std::size_t outer = n / (channels * inner);
  for (std::size_t o = 0; o < outer; ++o) {
    for (std::size_t c = 0; c < channels; ++c) f(p.run(c), (o * channels + c) * inner, inner);
  }
}

// The k = 1 reference encoder written branch-free (both regions computed, then selected with min /
// max and integer selects), for speed. Identical to ref::pwlq_encode_value for k = 1, variant
// reference, on every input (tests check it bit for bit, NaN and ±Inf included).
struct ref1_consts {
  float p, m, c, s, half, levels, neg_m, zero;  // zero: a 0.0f the compiler cannot fold (keeps maxss)
};

inline ref1_consts ref1_of(const ref::pwlq_run& r) noexcept {
  return {r.edge[0], r.edge[1], r.centre_step, r.tail_step[0], r.half, r.levels, -r.edge[1], r.edge[0] - r.edge[0]};
}

inline pwlq_code encode_ref1(float v, const ref1_consts& k) noexcept {
  const std::uint32_t bits = std::bit_cast<std::uint32_t>(v);
  const std::uint32_t neg = bits >> 31;                 // 1 for negative (and -0, NaN with sign)
  const std::uint32_t mask = 0u - neg;
  const float av = std::bit_cast<float>(bits & 0x7fffffffu);
  // centre: clamp(rhe(v / c), -H, L)
  float cq = ref::pwlq_round_small(v / k.c);  // |v / c| < 2^22 wherever the centre is selected
  cq = cq > -k.half ? cq : -k.half;  // NaN -> -H (finite; replaced by 0 below)
  cq = cq < k.levels ? cq : k.levels;
  // tail: clamp to [-m, m], anchor p (positive) or -m (negative)
  float vc = v < k.m ? v : k.m;
  vc = vc > k.neg_m ? vc : k.neg_m;
  const float anchor = std::bit_cast<float>((std::bit_cast<std::uint32_t>(k.p) & ~mask) |
                                            (std::bit_cast<std::uint32_t>(k.neg_m) & mask));
  float tj = ref::pwlq_round_small((vc - anchor) / k.s);
  tj = tj > k.zero ? tj : k.zero;  // t is finite here
  tj = tj < k.levels ? tj : k.levels;
  const int qc = static_cast<int>(cq);
  const int qt = static_cast<int>(tj) - static_cast<int>(neg) * static_cast<int>(k.half);
  const int tail = av >= k.p ? 1 : 0;   // 0 for NaN
  const int keep = av == av ? 1 : 0;     // 0 for NaN
  const int q = (qc + (qt - qc) * tail) * keep;  // arithmetic selects: no data-dependent branch
  return {static_cast<std::int8_t>(q), static_cast<std::uint8_t>(tail)};
}

// decode(encode_ref1(v)) with branch-free selects; equals ref::pwlq_fake_quantize_value (k = 1, reference).
inline float fake_ref1(float v, const ref1_consts& k) noexcept {
  const pwlq_code c = encode_ref1(v, k);
  const float q = static_cast<float>(c.q);
  const float centre = q * k.c;
  const float pos = q * k.s + k.p;
  const float neg = (q + k.half) * k.s - k.m;
  const std::uint32_t tail = 0u - static_cast<std::uint32_t>(c.region);
  const std::uint32_t negm = 0u - static_cast<std::uint32_t>(c.q < 0 ? 1 : 0);
  const std::uint32_t tv = (std::bit_cast<std::uint32_t>(pos) & ~negm) | (std::bit_cast<std::uint32_t>(neg) & negm);
  return std::bit_cast<float>((std::bit_cast<std::uint32_t>(centre) & ~tail) | (tv & tail));
}

void encode_run_ref1(const float* x, std::size_t n, const ref::pwlq_run& r, pwlq_code* out) noexcept {
  const ref1_consts k = ref1_of(r);
  for (std::size_t i = 0; i < n; ++i) out[i] = encode_ref1(x[i], k);
}

void encode_run(const float* x, std::size_t n, const ref::pwlq_run& r, pwlq_code* out) noexcept {
  if (!r.zero && r.k == 1 && r.variant == pwlq_variant::reference) {
    encode_run_ref1(x, n, r, out);
    return;
  }
  for (std::size_t i = 0; i < n; ++i) out[i] = ref::pwlq_encode_value(x[i], r);
}

}  // namespace

void pwlq_quantize(std::span<const float> x, const pwlq_params& p, std::span<pwlq_code> codes) {
  check_sizes(x.size(), codes.size(), p, "pwlq_quantize");
  for_each_run(x.size(), p, [&](const ref::pwlq_run& r, std::size_t off, std::size_t n) {
    if (detail::pwlq_use_kernels(n)) {
      detail::pwlq_quantize_run(x.data() + off, n, r, codes.data() + off);
      return;
    }
    encode_run(x.data() + off, n, r, codes.data() + off);
  });
}

void pwlq_dequantize(std::span<const pwlq_code> codes, const pwlq_params& p, std::span<float> y) {
  check_sizes(codes.size(), y.size(), p, "pwlq_dequantize");
  for_each_run(codes.size(), p, [&](const ref::pwlq_run& r, std::size_t off, std::size_t n) {
    if (detail::pwlq_use_kernels(n)) {
      detail::pwlq_dequantize_run(codes.data() + off, n, r, y.data() + off);
      return;
    }
    for (std::size_t i = 0; i < n; ++i) y[off + i] = ref::pwlq_decode_value(codes[off + i], r);
  });
}

void pwlq_fake_quantize(std::span<const float> x, const pwlq_params& p, std::span<float> y) {
  check_sizes(x.size(), y.size(), p, "pwlq_fake_quantize");
  for_each_run(x.size(), p, [&](const ref::pwlq_run& r, std::size_t off, std::size_t n) {
    if (detail::pwlq_use_kernels(n)) {  // y + off may alias x + off exactly: the kernel allows it
      detail::pwlq_fake_quantize_run(x.data() + off, n, r, y.data() + off);
      return;
    }
    if (!r.zero && r.k == 1 && r.variant == pwlq_variant::reference) {
      const ref1_consts k = ref1_of(r);
      for (std::size_t i = 0; i < n; ++i) y[off + i] = fake_ref1(x[off + i], k);
      return;
    }
    for (std::size_t i = 0; i < n; ++i) y[off + i] = ref::pwlq_fake_quantize_value(x[off + i], r);
  });
}

double pwlq_mse(std::span<const float> x, const pwlq_params& p) {
  check_sizes(x.size(), x.size(), p, "pwlq_mse");
  double sum = 0.0;
  std::size_t count = 0;
  for_each_run(x.size(), p, [&](const ref::pwlq_run& r, std::size_t off, std::size_t n) {
    if (detail::pwlq_use_kernels(n)) {
      // The kernel fake-quantizes a block into a buffer; the sum runs in the same order as below.
      std::array<float, 1024> buf;
      for (std::size_t b = 0; b < n; b += buf.size()) {
        const std::size_t m = std::min(buf.size(), n - b);
        detail::pwlq_fake_quantize_run(x.data() + off + b, m, r, buf.data());
        for (std::size_t i = 0; i < m; ++i) {
          const float v = x[off + b + i];
          if (!(std::fabs(v) <= FLT_MAX)) continue;
          const double e = static_cast<double>(buf[i]) - static_cast<double>(v);
          sum += e * e;
          ++count;
        }
      }
      return;
    }
    const bool fast = !r.zero && r.k == 1 && r.variant == pwlq_variant::reference;
    const ref1_consts k = ref1_of(r);
    for (std::size_t i = 0; i < n; ++i) {
      const float v = x[off + i];
      if (!(std::fabs(v) <= FLT_MAX)) continue;
      const float y = fast ? fake_ref1(v, k) : ref::pwlq_fake_quantize_value(v, r);
      const double e = static_cast<double>(y) - static_cast<double>(v);
      sum += e * e;
      ++count;
    }
  });
  return count ? sum / static_cast<double>(count) : 0.0;
}

// ---- breakpoint search ------------------------------------------------------------------------------

namespace {

constexpr int kBins = 16384;            // histogram bins = breakpoint lattice intervals
constexpr int kRefine = 64;
constexpr std::size_t kMaxScored = 256;  // lattice breakpoints scored exactly at most             // sub-steps of the refinement between two lattice neighbours
constexpr float kZeroBelow = 0x1p-100f;  // a channel with max |x| below this is all zero
constexpr float kLargestMaxAbs = 0x1p127f;  // calibrated m is capped here (see calibrate_channel)

// Coordinate descent on the lattice indices js[0] < ... < js[k-1] of k breakpoints: each breakpoint in
// turn moves to the index within 2 * step of it (between its neighbours) that minimises
// cost(r, js) + cost(r + 1, js), the costs of the two regions it bounds; at most 20 sweeps, ending early
// when a sweep moves nothing. Ties keep the current index, then the lowest.
template <class RegionCost>
void refine_breakpoints(int* js, int k, int step, RegionCost cost) {
  for (int sweep = 0; sweep < 20; ++sweep) {
    bool moved = false;
    for (int r = 0; r < k; ++r) {
      const int lo = r == 0 ? 1 : js[r - 1] + 1, hi = r + 1 < k ? js[r + 1] - 1 : kBins - 1;
      const int from = std::max(lo, js[r] - 2 * step), to = std::min(hi, js[r] + 2 * step);
      int tmp[ref::pwlq_max_breakpoints];
      std::copy(js, js + k, tmp);
      double bc = cost(r, js) + cost(r + 1, js);
      int bj = js[r];
      for (int j = from; j <= to; ++j) {
        tmp[r] = j;
        const double c = cost(r, tmp) + cost(r + 1, tmp);
        if (c < bc) {
          bc = c;
          bj = j;
        }
      }
      if (bj != js[r]) {
        js[r] = bj;
        moved = true;
      }
    }
    if (!moved) break;
  }
}

struct scan_result {
  float m = 0.0f;
  std::size_t finite = 0;
};

scan_result scan(std::span<const float> v) {
  // Four independent lanes (the loop-carried max would otherwise serialise on its latency).
  float m4[4] = {0.0f, 0.0f, 0.0f, 0.0f};
  std::size_t n4[4] = {0, 0, 0, 0};
  const std::size_t n = v.size();
  std::size_t i = 0;
  for (; i + 4 <= n; i += 4) {
    for (int l = 0; l < 4; ++l) {
      const float a = std::fabs(v[i + static_cast<std::size_t>(l)]);
      const bool fin = a <= FLT_MAX;  // false for NaN and Inf
      const float am = fin ? a : 0.0f;
      m4[l] = m4[l] > am ? m4[l] : am;
      n4[l] += fin ? 1u : 0u;
    }
  }
  for (; i < n; ++i) {
    const float a = std::fabs(v[i]);
    const bool fin = a <= FLT_MAX;
    const float am = fin ? a : 0.0f;
    m4[0] = m4[0] > am ? m4[0] : am;
    n4[0] += fin ? 1u : 0u;
  }
  return {std::max(std::max(m4[0], m4[1]), std::max(m4[2], m4[3])), n4[0] + n4[1] + n4[2] + n4[3]};
}

double true_mse(std::span<const float> v, const ref::pwlq_run& r) {
  double sum = 0.0;
  std::size_t n = 0;
  const bool fast = !r.zero && r.k == 1 && r.variant == pwlq_variant::reference;
  const ref1_consts k = ref1_of(r);
  for (const float x : v) {
    if (!(std::fabs(x) <= FLT_MAX)) continue;
    const float y = fast ? fake_ref1(x, k) : ref::pwlq_fake_quantize_value(x, r);
    const double e = static_cast<double>(y) - static_cast<double>(x);
    sum += e * e;
    ++n;
  }
  return n ? sum / static_cast<double>(n) : 0.0;
}

struct hist_bin {
  double s1[2] = {0.0, 0.0};  // sum |x| of the positive [0] / negative [1] values
  double s2 = 0.0;            // sum x^2
  std::uint32_t c[2] = {0, 0};
};

template <class T>
struct prefix_t {
  T s2 = 0, s1p = 0, s1n = 0, cp = 0, cn = 0;
};

using prefix = prefix_t<double>;
using prefixl = prefix_t<long double>;

// The levels of one region: cell i has magnitude level lp[i] for positive, ln[i] for negative values;
// decision d[i] (real) separates cell i from cell i + 1.
struct cellset {
  int n = 0;
  double lp[130];
  double ln[130];
  double d[130];
};

class searcher {
 public:
  // The per-value buffers keep at most 2^20 values' worth between calls, so a thread that once
  // calibrated a huge tensor does not hold that memory for the rest of its life.
  ~searcher() {
    constexpr std::size_t kKeep = std::size_t{1} << 20;
    if (ws_.bin_of.capacity() > kKeep) std::vector<std::uint16_t>().swap(ws_.bin_of);
    if (ws_.gathered.capacity() > kKeep) std::vector<float>().swap(ws_.gathered);
  }
  searcher(const searcher&) = delete;
  searcher& operator=(const searcher&) = delete;
  searcher(std::span<const float> v, float m, std::size_t finite, int bits, pwlq_variant variant)
      : v_(v), m_(m), count_(finite), bits_(bits), variant_(variant) {
    L_ = (1 << (bits - 1)) - 1;
    H_ = 1 << (bits - 1);
    edge_.resize(kBins + 1);
    edged_.resize(kBins + 1);
    for (int j = 0; j < kBins; ++j) {
      edge_[j] = static_cast<float>(static_cast<double>(j) * static_cast<double>(m) / kBins);
      edged_[j] = edge_[j];
    }
    edge_[kBins] = std::numeric_limits<float>::infinity();
    edged_[kBins] = m;
    inv_w_ = static_cast<float>(kBins / static_cast<double>(m));
    w_ = static_cast<double>(m) / kBins;
    inv_wd_ = kBins / static_cast<double>(m);
    md_ = m;
    eps_ = static_cast<double>(m) * 0x1p-20;
    build();
  }

  // The bin of ax in [0, m]: the edges are recomputed in registers (the same float as edge_[j]), which
  // keeps the 64 KiB edge table out of the histogram pass.
  // y = fl(ax fl(16384 / m)) is within 2.1 u 16384 < 0.003 of the real ax 16384 / m, and edge j within
  // j u < 0.001 of j in those units: away from the integers (fraction in [1/64, 63/64]) floor(y) is the
  // bin, and only the rest (about 3%) goes through the exact comparisons.
  int index(float ax) const noexcept {
    const float y = ax * inv_w_;
    const int b0 = static_cast<int>(y);
    const float f = y - static_cast<float>(b0);  // exact
    if (f >= 0.015625f && f <= 0.984375f && b0 < kBins) return b0;
    return index_exact(ax, b0);
  }

  int index_exact(float ax, int b) const noexcept {
    b = b > kBins - 1 ? kBins - 1 : b;
    const float e0 = static_cast<float>(static_cast<double>(b) * md_ / kBins);
    b -= ax < e0 ? 1 : 0;
    const float e1 = static_cast<float>(static_cast<double>(b + 1) * md_ / kBins);
    b += ax >= e1 && b + 1 < kBins ? 1 : 0;
    return b;
  }

  float edge(int j) const { return j >= kBins ? m_ : edge_[static_cast<std::size_t>(j)]; }

  // The bin holding the real number d (clamped to [0, kBins)).
  int locate(double d) const noexcept {
    if (!(d > 0.0)) return 0;
    const double t0 = d * inv_wd_;
    int t = t0 >= kBins ? kBins - 1 : static_cast<int>(t0);
    while (t > 0 && d < edged_[static_cast<std::size_t>(t)]) --t;
    while (t < kBins - 1 && d >= edged_[static_cast<std::size_t>(t) + 1]) ++t;
    return t;
  }

  // Cells of the centre region for breakpoint p (float).
  void centre_cells(float p, cellset& cs) const noexcept {
    const float bp[1] = {p};
    const ref::pwlq_run r = ref::make_pwlq_run(bits_, variant_, m_, bp, 1);
    const float c = r.centre_step;
    cs.n = L_ + 1;
    for (int q = 0; q <= L_; ++q) {
      const float l = static_cast<float>(q) * c;
      cs.lp[q] = l;
      cs.ln[q] = l;
      if (q < L_) cs.d[q] = (q + 0.5) * static_cast<double>(c);
    }
    if (variant_ == pwlq_variant::reference) {
      // values at the top (x / c == -(L + 0.5) exactly) may go to the extra level -H c
      cs.d[L_] = (L_ + 0.5) * static_cast<double>(c);
      cs.lp[L_ + 1] = cs.lp[L_];
      cs.ln[L_ + 1] = static_cast<float>(H_) * c;
      cs.n = L_ + 2;
    }
  }

  // Cells of a tail region [lo, hi) (floats).
  void tail_cells(float lo, float hi, cellset& cs) const noexcept {
    const float s = (hi - lo) / static_cast<float>(L_);
    cs.n = L_ + 1;
    for (int j = 0; j <= L_; ++j) {
      const float lp = static_cast<float>(j) * s + lo;
      cs.lp[j] = lp;
      cs.ln[j] = variant_ == pwlq_variant::reference ? -(static_cast<float>(L_ - j) * s - hi) : lp;
      if (j < L_) cs.d[j] = static_cast<double>(lo) + (j + 0.5) * static_cast<double>(s);
    }
  }

  double bins_count(int a, int b) const noexcept {  // values in bins [a, b]
    const auto& x = pre_[static_cast<std::size_t>(b) + 1];
    const auto& y = pre_[static_cast<std::size_t>(a)];
    return (x.cp - y.cp) + (x.cn - y.cn);
  }

  // Histogram estimate of the squared error of region bins [b0, b1) with cells cs; adds its error
  // bound to *bound.
  double estimate(const cellset& cs, int b0, int b1, double* bound) const noexcept {
    if (b1 <= b0) return 0.0;
    double est = 0.0, del = 0.0;
    const double lo_edge = edged_[static_cast<std::size_t>(b0)], hi_edge = edged_[static_cast<std::size_t>(b1)];
    prefix prev = pre_[static_cast<std::size_t>(b0)];
    for (int i = 0; i < cs.n; ++i) {
      prefix cur = pre_[static_cast<std::size_t>(b1)];
      if (i < cs.n - 1) {
        const double d = cs.d[i];
        if (d <= lo_edge) {
          cur = pre_[static_cast<std::size_t>(b0)];
        } else if (d < hi_edge) {
          const int t = locate(d);
          const auto ut = static_cast<std::size_t>(t);
          const prefix& a = pre_[ut];
          const prefix& b = pre_[ut + 1];
          const double f = (d - edged_[ut]) / (edged_[ut + 1] - edged_[ut]);
          cur = {a.s2 + f * (b.s2 - a.s2), a.s1p + f * (b.s1p - a.s1p), a.s1n + f * (b.s1n - a.s1n),
                 a.cp + f * (b.cp - a.cp), a.cn + f * (b.cn - a.cn)};
          // the bins within eps of d (almost always t alone)
          int t0 = t, t1 = t;
          while (t0 > b0 && d - eps_ < edged_[static_cast<std::size_t>(t0)]) --t0;
          while (t1 < b1 - 1 && d + eps_ >= edged_[static_cast<std::size_t>(t1) + 1]) ++t1;
          const double gap = std::max(std::fabs(cs.lp[i + 1] - cs.lp[i]), std::fabs(cs.ln[i + 1] - cs.ln[i]));
          del += bins_count(t0, t1) * 2.0 * gap * (w_ + 4.0 * eps_);
        } else if (d - eps_ < hi_edge) {
          const double gap = std::max(std::fabs(cs.lp[i + 1] - cs.lp[i]), std::fabs(cs.ln[i + 1] - cs.ln[i]));
          del += bins_count(b1 - 1, b1 - 1) * 2.0 * gap * (w_ + 4.0 * eps_);
        }
        if (d > lo_edge && d <= lo_edge + eps_) {
          const double gap = std::max(std::fabs(cs.lp[i + 1] - cs.lp[i]), std::fabs(cs.ln[i + 1] - cs.ln[i]));
          del += bins_count(b0, b0) * 2.0 * gap * (w_ + 4.0 * eps_);
        } else if (d <= lo_edge && d + eps_ >= lo_edge) {
          const double gap = std::max(std::fabs(cs.lp[i + 1] - cs.lp[i]), std::fabs(cs.ln[i + 1] - cs.ln[i]));
          del += bins_count(b0, b0) * 2.0 * gap * (w_ + 4.0 * eps_);
        }
      }
      const double s2 = cur.s2 - prev.s2, s1p = cur.s1p - prev.s1p, s1n = cur.s1n - prev.s1n;
      const double cp = cur.cp - prev.cp, cn = cur.cn - prev.cn;
      const double lp = cs.lp[i], ln = cs.ln[i];
      est += s2 - 2.0 * (lp * s1p + ln * s1n) + lp * lp * cp + ln * ln * cn;
      prev = cur;
    }
    *bound += del + 1e-12 * std::fabs(est);
    return est;
  }

  // Histogram estimate (and bound) of the total squared error with lattice breakpoints js[0..k-1].
  double estimate_all(const int* js, int k, double* bound) const {
    cellset cs;
    centre_cells(edge(js[0]), cs);
    double e = estimate(cs, 0, js[0], bound);
    for (int r = 0; r < k; ++r) {
      const int hi = r + 1 < k ? js[r + 1] : kBins;
      tail_cells(edge(js[r]), edge(hi), cs);
      e += estimate(cs, js[r], hi, bound);
    }
    return e;
  }

  // ---- the exact score of k = 1 candidates ----
  // Marks in `flag` the bins a rounding boundary of the cells may cross (within eps), in [b0, b1).
  void mark_boundaries(const cellset& cs, int b0, int b1, std::vector<std::uint8_t>& flag) const {
    for (int i = 0; i + 1 < cs.n; ++i) {
      const int t0 = std::max(locate(cs.d[i] - eps_), b0), t1 = std::min(locate(cs.d[i] + eps_), b1 - 1);
      for (int t = t0; t <= t1; ++t) flag[static_cast<std::size_t>(t)] = 1;
    }
  }

  void gather(const std::vector<std::uint8_t>& flag) {
    flag_ = flag;
    offset_.assign(kBins + 1, 0);
    for (int t = 0; t < kBins; ++t) {
      const auto& b = bins_[static_cast<std::size_t>(t)];
      offset_[static_cast<std::size_t>(t) + 1] =
          offset_[static_cast<std::size_t>(t)] + (flag[static_cast<std::size_t>(t)] ? b.c[0] + b.c[1] : 0);
    }
    gathered_.resize(offset_[kBins]);
    std::vector<std::size_t>& pos = ws_.pos;
    pos.assign(offset_.begin(), offset_.end() - 1);
    // The bin of every value was kept by the histogram pass (kNoBin for NaN / Inf).
    const std::size_t n = v_.size();
    const std::uint16_t* const bin_of = bin_of_.data();
    const std::uint8_t* const fl = flag.data();
    std::size_t* const ps = pos.data();
    float* const out = gathered_.data();
    for (std::size_t i = 0; i < n; ++i) {
      const std::uint16_t t = bin_of[i];
      if (t != kNoBin && fl[t]) out[ps[t]++] = v_[i];
    }
  }

  // Exact squared error of region bins [b0, b1) with cells cs, for the run r (whole candidate).
  long double exact_region(const cellset& cs, int b0, int b1, const ref::pwlq_run& r) const {
    if (b1 <= b0) return 0.0L;
    long double err = 0.0L;
    const auto add_range = [&](int a, int b, int cell) {
      if (b <= a) return;
      const auto& x = prel_[static_cast<std::size_t>(b)];
      const auto& y = prel_[static_cast<std::size_t>(a)];
      const long double lp = cs.lp[cell], ln = cs.ln[cell];
      err += (x.s2 - y.s2) - 2.0L * (lp * (x.s1p - y.s1p) + ln * (x.s1n - y.s1n)) + lp * lp * (x.cp - y.cp) +
             ln * ln * (x.cn - y.cn);
    };
    const auto add_bin = [&](int t) { err += oracle_bin(t, r); };
    int cur = b0;
    for (int i = 0; i + 1 < cs.n; ++i) {
      const int t0 = std::max(locate(cs.d[i] - eps_), b0), t1 = std::min(locate(cs.d[i] + eps_), b1 - 1);
      if (t1 < t0) {
        // the boundary lies outside the region: the cell boundary is outside [b0, b1)
        if (cs.d[i] + eps_ < edged_[static_cast<std::size_t>(b0)]) continue;  // below: cell i is empty
        add_range(cur, b1, i);  // above: everything left is in cell i
        return err;
      }
      if (t0 > cur) add_range(cur, t0, i);
      for (int t = std::max(cur, t0); t <= t1; ++t) add_bin(t);
      cur = std::max(cur, t1 + 1);
    }
    add_range(cur, b1, cs.n - 1);
    return err;
  }

  // ---- methods ----

  float exact1() {
    const int nc = kBins - 1;
    std::vector<double>& est = ws_.est;
    std::vector<double>& del = ws_.del;
    std::vector<std::uint8_t>& done = ws_.done;
    est.assign(static_cast<std::size_t>(nc) + 1, std::numeric_limits<double>::infinity());
    del.assign(static_cast<std::size_t>(nc) + 1, 0.0);
    done.assign(static_cast<std::size_t>(nc) + 1, 0);
    double ub = std::numeric_limits<double>::infinity();
    const auto eval = [&](int j) {
      if (done[static_cast<std::size_t>(j)]) return;
      done[static_cast<std::size_t>(j)] = 1;
      double bound = 0.0;
      const double e = estimate_all(&j, 1, &bound);
      est[static_cast<std::size_t>(j)] = e;
      del[static_cast<std::size_t>(j)] = bound;
      ub = std::min(ub, e + bound);
    };
    // Every stride-th lattice point first, then every point within a stride of a coarse point whose
    // lower bound reaches the least upper bound (the histogram MSE is continuous in p and smooth on
    // that scale). The cost per point grows as 2^b; the curve is smoother the more values per bin:
    // stride 2^max(0, b-4) below 65536 values (every point up to 4 bits), 2^max(2, b-2) from there.
    const int stride = count_ < 65536 ? (bits_ <= 4 ? 1 : 1 << (bits_ - 4)) : (bits_ <= 4 ? 4 : 1 << (bits_ - 2));
    for (int j = stride; j <= nc; j += stride) eval(j);
    if (stride > 1) {
      std::vector<int> coarse;
      for (int j = stride; j <= nc; j += stride) {
        if (est[static_cast<std::size_t>(j)] - del[static_cast<std::size_t>(j)] <= ub) coarse.push_back(j);
      }
      for (const int j : coarse) {
        for (int t = std::max(1, j - stride + 1); t <= std::min(nc, j + stride - 1); ++t) eval(t);
      }
    }
    std::vector<int> cand;
    for (int j = 1; j <= nc; ++j) {
      if (done[static_cast<std::size_t>(j)] && est[static_cast<std::size_t>(j)] - del[static_cast<std::size_t>(j)] <= ub) {
        cand.push_back(j);
      }
    }
    // Scored in the order of the estimate (the likely best first); scoring stops when no candidate
    // left has a lower bound below the best score, or after kMaxScored.
    std::sort(cand.begin(), cand.end(), [&](int a, int b) {
      const double ea = est[static_cast<std::size_t>(a)], eb = est[static_cast<std::size_t>(b)];
      return ea < eb || (ea == eb && a < b);
    });
    if (cand.size() > kMaxScored) cand.resize(kMaxScored);
    contenders_ = cand.size();
    // Gather, in one pass, the values of every bin a rounding boundary may cross for any breakpoint
    // between the lattice neighbours of a contender (the refinement below scores breakpoints there).
    std::vector<std::uint8_t>& flag = ws_.flag;
    flag.assign(kBins, 0);
    cellset lo_cs, hi_cs;
    for (const int j : cand) {
      const float plo = edge(std::max(j - 1, 1)), phi = edge(std::min(j + 1, kBins - 1));
      centre_cells(plo, lo_cs);
      centre_cells(phi, hi_cs);
      mark_swept(lo_cs, hi_cs, 0, locate(phi) + 1, flag);
      tail_cells(plo, m_, lo_cs);
      tail_cells(phi, m_, hi_cs);
      mark_swept(lo_cs, hi_cs, locate(plo), kBins, flag);
      for (int t = locate(plo); t <= locate(phi); ++t) flag[static_cast<std::size_t>(t)] = 1;
    }
    gather(flag);
    long double best = std::numeric_limits<long double>::infinity();
    int best_j = cand.front();
    std::vector<double> rest_lb(cand.size() + 1, std::numeric_limits<double>::infinity());
    for (std::size_t i = cand.size(); i-- > 0;) {
      const auto j = static_cast<std::size_t>(cand[i]);
      rest_lb[i] = std::min(rest_lb[i + 1], est[j] - del[j]);
    }
    for (std::size_t i = 0; i < cand.size(); ++i) {
      const int j = cand[i];
      if (static_cast<long double>(rest_lb[i]) > best) break;
      const long double e = score(edge(j));
      ++scored_;
      if (e < best || (e == best && j < best_j)) {
        best = e;
        best_j = j;
      }
    }
    // Refine between the lattice neighbours of the best: 63 more breakpoints, each scored exactly.
    float best_p = edge(best_j);
    const float plo = edge(std::max(best_j - 1, 1)), phi = edge(std::min(best_j + 1, kBins - 1));
    for (int t = 1; t < kRefine; ++t) {
      const float p = static_cast<float>(static_cast<double>(plo) +
                                         (static_cast<double>(phi) - static_cast<double>(plo)) * t / kRefine);
      if (!(p > plo && p < phi) || p == best_p) continue;
      const long double e = score(p);
      if (e < best || (e == best && p < best_p)) {
        best = e;
        best_p = p;
      }
    }
    return best_p;
  }

  // Marks the bins a boundary of the cells may cross while the breakpoint moves from the one of
  // `a` to the one of `b` (every decision moves monotonically with the breakpoint), in [b0, b1).
  void mark_swept(const cellset& a, const cellset& b, int b0, int b1, std::vector<std::uint8_t>& flag) const {
    b1 = std::min(b1, kBins);
    for (int i = 0; i + 1 < a.n; ++i) {
      const double d0 = std::min(a.d[i], b.d[i]), d1 = std::max(a.d[i], b.d[i]);
      const int t0 = std::max(locate(d0 - eps_), b0), t1 = std::min(locate(d1 + eps_), b1 - 1);
      for (int t = t0; t <= t1; ++t) flag[static_cast<std::size_t>(t)] = 1;
    }
  }

  // The exact squared error with breakpoint p (any float in (0, m)): the bin holding p and every
  // boundary bin through the oracle, the other bins by their exact sums. Their values must be gathered.
  long double score(float p) const {
    const float bp[1] = {p};
    const ref::pwlq_run r = ref::make_pwlq_run(bits_, variant_, m_, bp, 1);
    const int jp = locate(p);
    cellset cs;
    centre_cells(p, cs);
    long double e = exact_region(cs, 0, jp, r);
    tail_cells(p, m_, cs);
    e += exact_region(cs, jp + 1, kBins, r);
    return e + oracle_bin(jp, r);
  }

  long double oracle_bin(int t, const ref::pwlq_run& r) const {
    assert(flag_[static_cast<std::size_t>(t)] ||
           bins_[static_cast<std::size_t>(t)].c[0] + bins_[static_cast<std::size_t>(t)].c[1] == 0);
    double e2 = 0.0;
    const std::size_t a = offset_[static_cast<std::size_t>(t)], b = offset_[static_cast<std::size_t>(t) + 1];
    if (r.k == 1 && r.variant == pwlq_variant::reference) {
      const ref1_consts k = ref1_of(r);
      for (std::size_t i = a; i < b; ++i) {
        const float x = gathered_[i];
        const double e = static_cast<double>(fake_ref1(x, k)) - static_cast<double>(x);
        e2 += e * e;
      }
      return e2;
    }
    for (std::size_t i = a; i < b; ++i) {
      const float x = gathered_[i];
      const double e = static_cast<double>(ref::pwlq_fake_quantize_value(x, r)) - static_cast<double>(x);
      e2 += e * e;
    }
    return e2;
  }

  // k = 2, 3: dynamic programming on the coarse lattice, then coordinate descent on the fine one.
  std::vector<float> exact_multi(int k) {
    constexpr int G = 256, S = kBins / G;
    // seg[g][h]: tail region from coarse point g to h (h == G: m); centre[g].
    std::vector<double> seg(static_cast<std::size_t>(G + 1) * (G + 1), std::numeric_limits<double>::infinity());
    std::vector<double> centre(G + 1, std::numeric_limits<double>::infinity());
    cellset cs;
    double dummy = 0.0;
    for (int g = 1; g < G; ++g) {
      centre_cells(edge(g * S), cs);
      centre[static_cast<std::size_t>(g)] = estimate(cs, 0, g * S, &dummy);
      for (int h = g + 1; h <= G; ++h) {
        tail_cells(edge(g * S), edge(h * S), cs);
        seg[static_cast<std::size_t>(g) * (G + 1) + static_cast<std::size_t>(h)] = estimate(cs, g * S, h * S, &dummy);
      }
    }
    // T[r][g]: the least error of tails r..k-1 when breakpoint r sits at g; arg for reconstruction.
    std::vector<std::vector<double>> T(static_cast<std::size_t>(k), std::vector<double>(G + 1, std::numeric_limits<double>::infinity()));
    std::vector<std::vector<int>> arg(static_cast<std::size_t>(k), std::vector<int>(G + 1, G));
    for (int g = 1; g < G; ++g) T[static_cast<std::size_t>(k - 1)][static_cast<std::size_t>(g)] = seg[static_cast<std::size_t>(g) * (G + 1) + G];
    for (int r = k - 2; r >= 0; --r) {
      for (int g = 1; g < G; ++g) {
        double best = std::numeric_limits<double>::infinity();
        int bh = G;
        for (int h = g + 1; h < G; ++h) {
          const double c = seg[static_cast<std::size_t>(g) * (G + 1) + static_cast<std::size_t>(h)] + T[static_cast<std::size_t>(r + 1)][static_cast<std::size_t>(h)];
          if (c < best) {
            best = c;
            bh = h;
          }
        }
        T[static_cast<std::size_t>(r)][static_cast<std::size_t>(g)] = best;
        arg[static_cast<std::size_t>(r)][static_cast<std::size_t>(g)] = bh;
      }
    }
    double best = std::numeric_limits<double>::infinity();
    int g0 = 1;
    for (int g = 1; g < G; ++g) {
      const double c = centre[static_cast<std::size_t>(g)] + T[0][static_cast<std::size_t>(g)];
      if (c < best) {
        best = c;
        g0 = g;
      }
    }
    int js[ref::pwlq_max_breakpoints];
    js[0] = g0;
    for (int r = 1; r < k; ++r) js[r] = arg[static_cast<std::size_t>(r - 1)][static_cast<std::size_t>(js[r - 1])];
    for (int r = 0; r < k; ++r) js[r] *= S;
    // Coordinate descent on the fine lattice.
    const auto region_cost = [&](int r, const int* j) {  // region r: 0 centre, r >= 1 tail r
      cellset c2;
      double b = 0.0;
      if (r == 0) {
        centre_cells(edge(j[0]), c2);
        return estimate(c2, 0, j[0], &b);
      }
      const int lo = j[r - 1], hi = r < k ? j[r] : kBins;
      tail_cells(edge(lo), edge(hi), c2);
      return estimate(c2, lo, hi, &b);
    };
    refine_breakpoints(js, k, S, [&](int r, const int* b) { return region_cost(r, b); });
    std::vector<float> out(static_cast<std::size_t>(k));
    for (int r = 0; r < k; ++r) out[static_cast<std::size_t>(r)] = edge(js[r]);
    return out;
  }

  std::size_t contenders_ = 0, scored_ = 0;

 private:
  void build() {
    bins_.assign(kBins, hist_bin{});
    const std::size_t n = v_.size();
    bin_of_.resize(n);
    const float* const v = v_.data();
    std::uint16_t* const bin_of = bin_of_.data();
    hist_bin* const bins = bins_.data();
    for (std::size_t i = 0; i < n; ++i) {
      const float x = v[i];
      const float ax = std::fabs(x);
      if (!(ax <= m_)) {
        bin_of[i] = kNoBin;
        continue;
      }
      const int t = index(ax);
      bin_of[i] = static_cast<std::uint16_t>(t);
      hist_bin& b = bins[t];
      const double d = ax;
      const int sg = std::signbit(x) ? 1 : 0;
      b.s1[sg] += d;
      b.s2 += d * d;
      ++b.c[sg];
    }
    pre_.resize(kBins + 1);
    prel_.resize(kBins + 1);
    prefix a;
    prefixl al;
    pre_[0] = a;
    prel_[0] = al;
    for (int t = 0; t < kBins; ++t) {
      const hist_bin& b = bins_[static_cast<std::size_t>(t)];
      a.s2 += b.s2;
      a.s1p += b.s1[0];
      a.s1n += b.s1[1];
      a.cp += b.c[0];
      a.cn += b.c[1];
      al.s2 += b.s2;
      al.s1p += b.s1[0];
      al.s1n += b.s1[1];
      al.cp += b.c[0];
      al.cn += b.c[1];
      pre_[static_cast<std::size_t>(t) + 1] = a;
      prel_[static_cast<std::size_t>(t) + 1] = al;
    }
  }

  std::span<const float> v_;
  float m_;
  std::size_t count_;
  int bits_;
  pwlq_variant variant_;
  int L_ = 7, H_ = 8;
  // Buffers reused across calls on one thread (search_ws): no allocation per call, no state shared
  // between threads.
  struct search_ws {
    std::vector<float> edge, gathered;
    std::vector<double> edged, est, del;
    std::vector<hist_bin> bins;
    std::vector<prefix> pre;
    std::vector<prefixl> prel;
    std::vector<std::size_t> offset, pos;
    std::vector<std::uint8_t> flag_gathered, flag, done;
    std::vector<std::uint16_t> bin_of;
  };
  static search_ws& workspace() {
    thread_local search_ws w;
    return w;
  }
  search_ws& ws_ = workspace();
  std::vector<float>& edge_ = ws_.edge;
  std::vector<double>& edged_ = ws_.edged;
  float inv_w_ = 0.0f;
  double w_ = 0.0, inv_wd_ = 0.0, eps_ = 0.0, md_ = 0.0;
  std::vector<hist_bin>& bins_ = ws_.bins;
  std::vector<prefix>& pre_ = ws_.pre;
  std::vector<prefixl>& prel_ = ws_.prel;
  std::vector<std::size_t>& offset_ = ws_.offset;
  std::vector<std::uint8_t>& flag_ = ws_.flag_gathered;
  std::vector<std::uint16_t>& bin_of_ = ws_.bin_of;  // the bin of each value (kNoBin: not finite)
  static constexpr std::uint16_t kNoBin = 0xffff;
  std::vector<float>& gathered_ = ws_.gathered;
};

// ---- small channels: exact searches on the values themselves ----
// Below kSmallN finite values (and for a range where float32 steps stay normal) the histogram's fixed
// O(16384 * 2^b) lattice cost dominates, so the search works on the values: k = 1 sweeps the lattice
// once with the MSE in real arithmetic (every level is linear in p, so each value's error is a
// quadratic in p between the lattice points where its cell changes: O(n (2^(b-1) + 128) + 16384)),
// with a rigorous bound of the float32 deviation, then scores the contenders with the oracle on the
// values; k = 2, 3 evaluate every region cost exactly (the float32 oracle's arithmetic on the region's
// sorted values).

constexpr std::size_t kSmallN = 1024;
constexpr int kBlock = 512;                 // lattice points per re-anchored block of the sweep
constexpr double kU = 0x1p-24;              // float32 unit roundoff

// k = 1: below kSmallN values. k = 2, 3 (cost ~ 10^4 n value evaluations against the histogram's
// ~ 3 * 10^4 2^(b-1) cell evaluations): below 64 * 2^(b-1) values.
bool small_ok(std::size_t n, float m, int bits, int k) {
  const std::size_t limit = k == 1 ? kSmallN : std::size_t{64} << (bits - 1);
  return n <= limit && m >= 0x1p-90f && m <= 0x1p100f;  // float32 steps stay normal
}

// Scratch reused across calls on one thread (no state shared between threads).
struct small_ws {
  std::vector<float> x;                     // finite values, data order
  std::vector<double> pj;                   // lattice p_j = fl(j m / 16384), j = 0..16384 (p_16384 = m)
  std::vector<double> dA, dB, dC;           // per-block difference arrays of the quadratic coefficients
  std::vector<std::int32_t> dflag, dneg;    // difference arrays: flagged values, negative tail values
  std::vector<double> TA, TB, TC;           // per-block totals of |terms| (rounding bound)
  std::vector<double> S, bound;
  std::vector<float> sx;                    // values sorted by |x|
  std::vector<std::uint32_t> pos;           // pos[j]: values with |x| < p_j
};

small_ws& small_workspace() {
  thread_local small_ws ws;
  return ws;
}

void make_lattice(float m, std::vector<double>& pj) {
  pj.resize(kBins + 1);
  for (int j = 0; j < kBins; ++j) {
    pj[static_cast<std::size_t>(j)] = static_cast<float>(static_cast<double>(j) * static_cast<double>(m) / kBins);
  }
  pj[kBins] = m;
}

// The first lattice index j in [lo, hi] with p_j > p (hi if none).
int first_above(const std::vector<double>& pj, double p, int lo, int hi, double inv_w) {
  double t0 = p * inv_w;
  int j = t0 < lo ? lo : (t0 > hi ? hi : static_cast<int>(t0));
  while (j > lo && pj[static_cast<std::size_t>(j) - 1] > p) --j;
  while (j < hi && !(pj[static_cast<std::size_t>(j)] > p)) ++j;
  return j;
}

// Sum of squared errors of the oracle with breakpoint p over the finite values (data order, double).
double score_k1(const std::vector<float>& x, float m, int bits, pwlq_variant variant, float p) {
  const float bp[1] = {p};
  const ref::pwlq_run r = ref::make_pwlq_run(bits, variant, m, bp, 1);
  double sum = 0.0;
  if (variant == pwlq_variant::reference) {
    const ref1_consts k = ref1_of(r);
    for (const float v : x) {
      const double e = static_cast<double>(fake_ref1(v, k)) - static_cast<double>(v);
      sum += e * e;
    }
  } else {
    for (const float v : x) {
      const double e = static_cast<double>(ref::pwlq_fake_quantize_value(v, r)) - static_cast<double>(v);
      sum += e * e;
    }
  }
  return sum;
}

// k = 1 on a small channel: the sweep, then the oracle on the contenders, then the refinement.
class sweep1 {
 public:
  sweep1(small_ws& ws, float m, int bits, pwlq_variant variant)
      : ws_(ws), x_(ws.x), m_(m), md_(m), bits_(bits), variant_(variant) {
    L_ = (1 << (bits - 1)) - 1;
    Ld_ = L_;
    w_ = md_ / kBins;
    inv_w_ = kBins / md_;
  }

  float run() {
    make_lattice(m_, ws_.pj);
    const std::size_t nb = kBins / kBlock;
    for (auto* d : {&ws_.dA, &ws_.dB, &ws_.dC}) d->assign(kBins + 1, 0.0);
    ws_.dflag.assign(kBins + 1, 0);
    ws_.dneg.assign(kBins + 1, 0);
    for (auto* d : {&ws_.TA, &ws_.TB, &ws_.TC}) d->assign(nb, 0.0);
    double Q = 0.0;
    for (const float v : x_) {
      Q += static_cast<double>(v) * static_cast<double>(v);
      add_value(v);
    }
    // The scan: the real-arithmetic sum of squared errors S(j) and a bound of |true - S(j)|.
    ws_.S.resize(kBins);
    ws_.bound.resize(kBins);
    const double n = static_cast<double>(x_.size());
    const double Lg = md_ / Ld_ * 1.01;                     // the largest gap between adjacent levels
    const double dmax = 8.0 * kU * md_;                     // the largest float32 deviation of a level
    const double tau = 32.0 * kU * (Ld_ + 3.0);             // float32 vs real position, in gaps
    const double flip = dmax * (3.0 * Lg + dmax) + 2.0 * Lg * Lg * tau;
    double ub = std::numeric_limits<double>::infinity();
    int flags = 0, neg = 0;
    const double sqQ = std::sqrt(Q), u2 = kU * kU, negc = 18.0 * kU * kU * md_ * md_;
    for (std::size_t b = 0; b < nb; ++b) {
      double A = 0.0, B = 0.0, C = 0.0;
      const double TA = ws_.TA[b], TB = ws_.TB[b], TC = ws_.TC[b], TCn = md_ * std::sqrt(n * TC);
      const int j0 = static_cast<int>(b) * kBlock;
      const double p0 = ws_.pj[static_cast<std::size_t>(j0)];
      for (int j = j0; j < j0 + kBlock; ++j) {
        const auto uj = static_cast<std::size_t>(j);
        A += ws_.dA[uj];
        B += ws_.dB[uj];
        C += ws_.dC[uj];
        flags += ws_.dflag[uj];
        neg += ws_.dneg[uj];
        if (j == 0) continue;
        const double d = ws_.pj[uj] - p0;
        const double s = std::max(0.0, (A * d + 2.0 * B) * d + C);
        const double sq = sqQ + std::sqrt(s);
        const double D = 50.0 * u2 * sq * sq + negc * neg;
        const double num = 0x1p-30 * (TA * d * d + 2.0 * TB * d + TC + TCn + md_ * n * d);
        const double bd = 2.0 * std::sqrt(D * s) + D + flags * flip + num + 0x1p-30 * s + 1e-300;
        ws_.S[uj] = s;
        ws_.bound[uj] = bd;
        ub = std::min(ub, s + bd);
      }
    }
    std::vector<int>& cand = cand_;
    cand.clear();
    for (int j = 1; j < kBins; ++j) {
      if (ws_.S[static_cast<std::size_t>(j)] - ws_.bound[static_cast<std::size_t>(j)] <= ub) cand.push_back(j);
    }
    std::sort(cand.begin(), cand.end(), [&](int a, int b) {
      const double ea = ws_.S[static_cast<std::size_t>(a)], eb = ws_.S[static_cast<std::size_t>(b)];
      return ea < eb || (ea == eb && a < b);
    });
    const std::size_t cap = std::max<std::size_t>(256, (std::size_t{1} << 22) / std::max<std::size_t>(x_.size(), 1));
    if (cand.size() > cap) cand.resize(cap);
    contenders_ = cand.size();
    rest_lb_.assign(cand.size() + 1, std::numeric_limits<double>::infinity());
    for (std::size_t i = cand.size(); i-- > 0;) {
      const auto j = static_cast<std::size_t>(cand[i]);
      rest_lb_[i] = std::min(rest_lb_[i + 1], ws_.S[j] - ws_.bound[j]);
    }
    double best = std::numeric_limits<double>::infinity();
    int best_j = cand.empty() ? kBins / 2 : cand.front();
    for (std::size_t i = 0; i < cand.size(); ++i) {
      const int j = cand[i];
      if (rest_lb_[i] > best) break;
      // (the true sum is >= 0: a contender whose bound cannot beat the best, nor tie it with a
      // smaller p, is skipped)
      const double lb = std::max(0.0, ws_.S[static_cast<std::size_t>(j)] - ws_.bound[static_cast<std::size_t>(j)]);
      if (lb > best || (lb == best && j > best_j)) continue;
      const double e = score(edge(j));
      ++scored_;
      if (e < best || (e == best && j < best_j)) {
        best = e;
        best_j = j;
      }
    }
    float best_p = edge(best_j);
    if (!(best < std::numeric_limits<double>::infinity())) best = score(best_p);
    const float plo = edge(std::max(best_j - 1, 1)), phi = edge(std::min(best_j + 1, kBins - 1));
    for (int t = 1; t < kRefine; ++t) {
      const float p = static_cast<float>(static_cast<double>(plo) +
                                         (static_cast<double>(phi) - static_cast<double>(plo)) * t / kRefine);
      if (!(p > plo && p < phi) || p == best_p) continue;
      const double e = score(p);
      if (e < best || (e == best && p < best_p)) {
        best = e;
        best_p = p;
      }
    }
    return best_p;
  }

  std::size_t contenders_ = 0, scored_ = 0;

 private:
  float edge(int j) const { return static_cast<float>(ws_.pj[static_cast<std::size_t>(j)]); }
  double score(float p) const { return score_k1(x_, m_, bits_, variant_, p); }

  // Adds the error of value v as a piece (cell with magnitude level beta p + alpha) on [js, je).
  void add_piece(double a, int js, int je, double beta, double alpha) {
    if (je <= js) return;
    const std::size_t b0 = static_cast<std::size_t>(js / kBlock), b1 = static_cast<std::size_t>((je - 1) / kBlock);
    for (std::size_t b = b0; b <= b1; ++b) {
      const int bs = static_cast<int>(b) * kBlock, be = bs + kBlock;
      const auto jb = static_cast<std::size_t>(std::max(js, bs));
      const double g = beta * ws_.pj[static_cast<std::size_t>(bs)] + alpha - a;
      const double ta = beta * beta, tb = beta * g, tc = g * g;
      ws_.dA[jb] += ta;
      ws_.dB[jb] += tb;
      ws_.dC[jb] += tc;
      if (je < be) {
        const auto ue = static_cast<std::size_t>(je);
        ws_.dA[ue] -= ta;
        ws_.dB[ue] -= tb;
        ws_.dC[ue] -= tc;
      }
      ws_.TA[b] += 2.0 * ta;
      ws_.TB[b] += 2.0 * std::fabs(tb);
      ws_.TC[b] += 2.0 * tc;
    }
  }

  // Flags the lattice points in [lo, hi) where the float32 cell may differ from the real one near the
  // crossing t = h: those with |t(p) - h| <= tau (t monotone: between tinv(h - tau) and tinv(h + tau)).
  template <class Tinv>
  void flag(Tinv tinv, double h, int lo, int hi) {
    const double tau = 32.0 * kU * (h + 1.0);
    double pa = tinv(h - tau), pb = tinv(h + tau);
    if (pa > pb) std::swap(pa, pb);
    if (!(pa == pa) || !(pb == pb)) return;
    pa -= 8.0 * kU * std::fabs(pa);
    pb += 8.0 * kU * std::fabs(pb);
    if (pb < 0.0 || pa > md_) return;
    int a = first_above(ws_.pj, pa, lo, hi, inv_w_);
    if (a > lo && ws_.pj[static_cast<std::size_t>(a) - 1] >= pa) --a;
    const int b = first_above(ws_.pj, pb, lo, hi, inv_w_);
    if (b > a) {
      ws_.dflag[static_cast<std::size_t>(a)] += 1;
      ws_.dflag[static_cast<std::size_t>(b)] -= 1;
    }
  }

  // One monotone piece family: t(p) over lattice [j0, j1), cell k = clamp(rhe(t), 0, kmax); on each
  // cell the level is beta(k) p + alpha(k). tinv(h) = the p where t = h.
  template <class T, class Tinv, class Lev>
  void family(double a, int j0, int j1, bool decreasing, int kmax, T t, Tinv tinv, Lev lev, int extra_top) {
    if (j1 <= j0) return;
    const double t0 = t(ws_.pj[static_cast<std::size_t>(j0)]);
    int k = static_cast<int>(std::nearbyint(std::min(std::max(t0, 0.0), static_cast<double>(kmax))));
    // the crossing just behind j0 (flags only)
    {
      const double h = decreasing ? k + 0.5 : k - 0.5;
      if (h > 0.0 && h < kmax + (extra_top ? 1.0 : 0.0)) {
        flag(tinv, h, j0, j1);
      }
    }
    int js = j0;
    for (;;) {
      const double h = decreasing ? k - 0.5 : k + 0.5;
      const bool valid = decreasing ? k >= 1 : k < kmax;
      if (!valid) break;
      const double pe = tinv(h);
      flag(tinv, h, j0, j1);
      const int je = std::max(js, first_above(ws_.pj, pe, j0, j1, inv_w_));
      if (je >= j1) break;
      double beta, alpha;
      lev(k, beta, alpha);
      add_piece(a, js, je, beta, alpha);
      js = je;
      k += decreasing ? -1 : 1;
    }
    double beta, alpha;
    lev(k, beta, alpha);
    add_piece(a, js, j1, beta, alpha);
  }

  void add_value(float v) {
    const double a = std::fabs(static_cast<double>(v));
    const bool negv = std::signbit(v);
    const double L = Ld_, m = md_;
    // region switch: the centre from the first p_j > |x|
    const int jc = first_above(ws_.pj, a, 1, kBins, inv_w_);
    // tail, j in [1, jc)
    if (jc > 1) {
      if (negv && variant_ == pwlq_variant::reference) {
        ws_.dneg[1] += 1;
        ws_.dneg[static_cast<std::size_t>(jc)] -= 1;
        family(a, 1, jc, false, L_,
               [&](double p) { return L * (m - a) / (m - p); },
               [&](double h) { return m - L * (m - a) / h; },
               [&](int k, double& beta, double& alpha) { beta = k / L; alpha = m * (1.0 - k / L); }, 0);
      } else {
        family(a, 1, jc, true, L_,
               [&](double p) { return L * (a - p) / (m - p); },
               [&](double h) { return (a * L - h * m) / (L - h); },
               [&](int k, double& beta, double& alpha) { beta = 1.0 - k / L; alpha = k * m / L; }, 0);
      }
    }
    // centre, j in [jc, 16384)
    if (jc < kBins) {
      if (variant_ == pwlq_variant::reference) {
        const double f = (2.0 * L + 1.0) / 2.0;
        family(a, jc, kBins, true, L_,
               [&](double p) { return a * f / p; },
               [&](double h) { return a * f / h; },
               [&](int k, double& beta, double& alpha) { beta = k / f; alpha = 0.0; }, negv ? 1 : 0);
      } else {
        family(a, jc, kBins, true, L_,
               [&](double p) { return a * L / p; },
               [&](double h) { return a * L / h; },
               [&](int k, double& beta, double& alpha) { beta = k / L; alpha = 0.0; }, 0);
      }
    }
  }

  small_ws& ws_;
  const std::vector<float>& x_;
  float m_;
  double md_;
  int bits_;
  pwlq_variant variant_;
  int L_ = 7;
  double Ld_ = 7.0, w_ = 0.0, inv_w_ = 0.0;
  std::vector<int> cand_;
  std::vector<double> rest_lb_;
};

// k = 2, 3 on a small channel: region costs by the oracle's float32 arithmetic on sorted values.
class multi_small {
 public:
  multi_small(small_ws& ws, float m, int bits, pwlq_variant variant)
      : ws_(ws), m_(m), bits_(bits), variant_(variant) {
    L_ = static_cast<float>((1 << (bits - 1)) - 1);
    H_ = L_ + 1.0f;
    make_lattice(m, ws_.pj);
    // magnitudes of the positive values, then of the others (zeros included), each sorted
    ws_.sx.clear();
    for (const float v : ws_.x) {
      if (v > 0.0f) ws_.sx.push_back(v);
    }
    np_ = ws_.sx.size();
    for (const float v : ws_.x) {
      if (!(v > 0.0f)) ws_.sx.push_back(-v);
    }
    std::sort(ws_.sx.begin(), ws_.sx.begin() + static_cast<std::ptrdiff_t>(np_));
    std::sort(ws_.sx.begin() + static_cast<std::ptrdiff_t>(np_), ws_.sx.end());
    ws_.pos.resize(2 * (kBins + 1));
    for (int side = 0; side < 2; ++side) {
      const std::size_t b = side ? np_ : 0, e = side ? ws_.sx.size() : np_;
      std::uint32_t* pos = ws_.pos.data() + side * (kBins + 1);
      std::size_t i = b;
      for (int j = 0; j < kBins; ++j) {
        const double p = ws_.pj[static_cast<std::size_t>(j)];
        while (i < e && static_cast<double>(ws_.sx[i]) < p) ++i;
        pos[j] = static_cast<std::uint32_t>(i);
      }
      pos[kBins] = static_cast<std::uint32_t>(e);
    }
  }

  float edge(int j) const { return j >= kBins ? m_ : static_cast<float>(ws_.pj[static_cast<std::size_t>(j)]); }

  // [begin, end) of the magnitudes of one sign (0 positive, 1 the others) with |x| in [p_jl, p_jh).
  std::size_t at(int side, int j) const { return ws_.pos[static_cast<std::size_t>(side * (kBins + 1) + j)]; }

  // Centre region with breakpoint index j: the values |x| < p_j. A negative value's magnitude level
  // is fl(q c) with q up to H in the reference variant (its extra level), up to L otherwise.
  double centre(int j) const {
    const float p = edge(j);
    const float bp[1] = {p};
    const ref::pwlq_run r = ref::make_pwlq_run(bits_, variant_, m_, bp, 1);
    const float c = r.centre_step;
    const float* a = ws_.sx.data();
    double s0 = 0.0, s1 = 0.0;
    for (int side = 0; side < 2; ++side) {
      const float top = side == 1 && variant_ == pwlq_variant::reference ? H_ : L_;
      const std::size_t b = side ? np_ : 0, e = at(side, j);
      std::size_t i = b;
      for (; i + 2 <= e; i += 2) {
        float q0 = ref::pwlq_round_small(a[i] / c), q1 = ref::pwlq_round_small(a[i + 1] / c);
        q0 = q0 > top ? top : q0;
        q1 = q1 > top ? top : q1;
        const double e0 = static_cast<double>(q0 * c) - static_cast<double>(a[i]);
        const double e1 = static_cast<double>(q1 * c) - static_cast<double>(a[i + 1]);
        s0 += e0 * e0;
        s1 += e1 * e1;
      }
      if (i < e) {
        float q0 = ref::pwlq_round_small(a[i] / c);
        q0 = q0 > top ? top : q0;
        const double e0 = static_cast<double>(q0 * c) - static_cast<double>(a[i]);
        s0 += e0 * e0;
      }
    }
    return s0 + s1;
  }

  // Tail region between lattice indices jl < jh (jh == 16384: up to m). Positive values (and every
  // value in the paper variant) have levels lo + j s, the reference variant's negative ones hi - j s.
  double tail(int jl, int jh) const {
    const float lo = edge(jl), hi = edge(jh);
    const float s = (hi - lo) / L_;
    const float* a = ws_.sx.data();
    double s0 = 0.0, s1 = 0.0;
    const auto up = [&](float v) {
      float j = ref::pwlq_round_small(((v < hi ? v : hi) - lo) / s);
      j = j < 0.0f ? 0.0f : (j > L_ ? L_ : j);
      return static_cast<double>(j * s + lo) - static_cast<double>(v);
    };
    const auto down = [&](float v) {
      float j = ref::pwlq_round_small((hi - (v < hi ? v : hi)) / s);
      j = j < 0.0f ? 0.0f : (j > L_ ? L_ : j);
      return static_cast<double>(hi - j * s) - static_cast<double>(v);
    };
    // Squared errors of a[i..e) summed into two accumulators (even and odd positions).
    const auto add_squares = [&](std::size_t i, std::size_t e, const auto& err) {
      for (; i + 2 <= e; i += 2) {
        const double e0 = err(a[i]), e1 = err(a[i + 1]);
        s0 += e0 * e0;
        s1 += e1 * e1;
      }
      if (i < e) {
        const double e0 = err(a[i]);
        s0 += e0 * e0;
      }
    };
    for (int side = 0; side < 2; ++side) {
      const std::size_t b = at(side, jl), e = at(side, jh);
      if (side == 1 && variant_ == pwlq_variant::reference) {
        add_squares(b, e, down);
      } else {
        add_squares(b, e, up);
      }
    }
    return s0 + s1;
  }

  double region(int r, const int* js, int k) const {
    if (r == 0) return centre(js[0]);
    return tail(js[r - 1], r < k ? js[r] : kBins);
  }

  std::vector<float> run(int k) {
    constexpr int G = 256, S = kBins / G;
    // seg(g, h): the tail from coarse point g to h (h == G: m), computed on demand. Every cost is >= 0,
    // so a candidate whose other terms already reach the best is skipped without computing it.
    seg_.assign(static_cast<std::size_t>(G + 1) * (G + 1), -1.0);
    const auto seg = [&](int g, int h) {
      double& c = seg_[static_cast<std::size_t>(g) * (G + 1) + static_cast<std::size_t>(h)];
      if (c < 0.0) c = tail(g * S, h == G ? kBins : h * S);
      return c;
    };
    const double inf = std::numeric_limits<double>::infinity();
    std::vector<std::vector<double>> T(static_cast<std::size_t>(k), std::vector<double>(G + 1, inf));
    std::vector<std::vector<int>> arg(static_cast<std::size_t>(k), std::vector<int>(G + 1, G));
    for (int g = 1; g < G; ++g) T[static_cast<std::size_t>(k - 1)][static_cast<std::size_t>(g)] = seg(g, G);
    std::vector<int> order;
    // T[r][g] = min over h > g of seg(g, h) + T[r + 1][h] (ties: the smaller h), h in ascending T[r + 1].
    const auto row = [&](int r, int g) {
      const auto& next = T[static_cast<std::size_t>(r + 1)];
      double best = inf;
      int bh = G;
      for (const int h : order) {
        const double t = next[static_cast<std::size_t>(h)];
        if (t > best) break;
        if (h <= g) continue;
        const double c = seg(g, h) + t;
        if (c < best || (c == best && h < bh)) {
          best = c;
          bh = h;
        }
      }
      T[static_cast<std::size_t>(r)][static_cast<std::size_t>(g)] = best;
      arg[static_cast<std::size_t>(r)][static_cast<std::size_t>(g)] = bh;
    };
    const auto sort_order = [&](int r) {
      const auto& next = T[static_cast<std::size_t>(r + 1)];
      order.clear();
      for (int h = 2; h < G; ++h) order.push_back(h);
      std::sort(order.begin(), order.end(), [&](int x, int y) {
        const double a = next[static_cast<std::size_t>(x)], b = next[static_cast<std::size_t>(y)];
        return a < b || (a == b && x < y);
      });
    };
    for (int r = k - 2; r >= 1; --r) {
      sort_order(r);
      for (int g = 1; g < G; ++g) row(r, g);
    }
    // The centre point g0, in ascending centre cost: row 0 only where it can still win.
    std::vector<double> cen(G + 1, inf);
    std::vector<int> gs;
    for (int g = 1; g < G; ++g) {
      cen[static_cast<std::size_t>(g)] = centre(g * S);
      gs.push_back(g);
    }
    std::sort(gs.begin(), gs.end(), [&](int x, int y) {
      const double a = cen[static_cast<std::size_t>(x)], b = cen[static_cast<std::size_t>(y)];
      return a < b || (a == b && x < y);
    });
    if (k >= 2) sort_order(0);
    double best = inf;
    int g0 = 1;
    for (const int g : gs) {
      if (cen[static_cast<std::size_t>(g)] > best) break;
      if (k >= 2) row(0, g);
      const double c = cen[static_cast<std::size_t>(g)] + T[0][static_cast<std::size_t>(g)];
      if (c < best || (c == best && g < g0)) {
        best = c;
        g0 = g;
      }
    }
    int js[ref::pwlq_max_breakpoints];
    js[0] = g0;
    for (int r = 1; r < k; ++r) js[r] = arg[static_cast<std::size_t>(r - 1)][static_cast<std::size_t>(js[r - 1])];
    for (int r = 0; r < k; ++r) js[r] *= S;
    refine_breakpoints(js, k, S, [&](int r, const int* b) { return region(r, b, k); });
    std::vector<float> out(static_cast<std::size_t>(k));
    for (int r = 0; r < k; ++r) out[static_cast<std::size_t>(r)] = edge(js[r]);
    return out;
  }

 private:
  small_ws& ws_;
  float m_;
  int bits_;
  pwlq_variant variant_;
  float L_ = 7.0f, H_ = 8.0f;
  std::size_t np_ = 0;  // positive values: sx[0, np_), the others after
  std::vector<double> seg_;
};

float clamp_to_lattice(double p, float m) {
  const float lo = static_cast<float>(static_cast<double>(m) / kBins);
  const float hi = static_cast<float>(static_cast<double>(m) * (kBins - 1) / kBins);
  float f = static_cast<float>(p);
  if (!(f >= lo)) f = lo;  // NaN too
  if (f > hi) f = hi;
  return f;
}

float distribution_breakpoint(std::span<const float> v, float m, std::size_t n, pwlq_breakpoint method) {
  if (n < 2) return clamp_to_lattice(0.5 * static_cast<double>(m), m);
  double sum = 0.0;
  for (const float x : v) {
    if (std::fabs(x) <= FLT_MAX) sum += x;
  }
  const double mean = sum / static_cast<double>(n);
  double ss = 0.0;
  for (const float x : v) {
    if (std::fabs(x) <= FLT_MAX) ss += (x - mean) * (x - mean);
  }
  const double sigma = std::sqrt(ss / static_cast<double>(n - 1));
  if (!(sigma > 0.0)) return clamp_to_lattice(0.5 * static_cast<double>(m), m);
  const double ms = static_cast<double>(m) / sigma;
  const double p = method == pwlq_breakpoint::gaussian ? sigma * std::log(0.8614 * ms + 0.6079)
                                                       : sigma * (0.8030 * std::sqrt(ms) - 0.3167);
  return clamp_to_lattice(p, m);
}

float grid_breakpoint(std::span<const float> v, float m, int bits, pwlq_variant variant) {
  double best_r = 0.0, best = std::numeric_limits<double>::infinity();
  const auto score = [&](double r) {
    if (!(r > 0.0 && r < 1.0)) return;
    const float p = static_cast<float>(r * static_cast<double>(m));
    if (!(p > 0.0f && p < m)) return;
    const float bp[1] = {p};
    const ref::pwlq_run run = ref::make_pwlq_run(bits, variant, m, bp, 1);
    if (!(run.centre_step > 0.0f && run.tail_step[0] > 0.0f)) return;
    const double e = true_mse(v, run);
    if (e < best) {
      best = e;
      best_r = r;
    }
  };
  for (int i = 1; i <= 9; ++i) score(0.1 + (i - 1) * 0.1);
  const double r1 = best_r;
  for (int i = 0; i < 20; ++i) score(r1 - 0.1 + i * 0.01);
  const double r2 = best_r;
  for (int i = 0; i < 20; ++i) score(r2 - 0.01 + i * 0.001);
  if (!(best_r > 0.0)) return clamp_to_lattice(0.5 * static_cast<double>(m), m);
  return static_cast<float>(best_r * static_cast<double>(m));
}

// m and the breakpoints of one channel (k values appended to bps).
float calibrate_channel(std::span<const float> v, const pwlq_options& o, std::vector<float>& bps,
                        const std::string& where) {
  scan_result s = scan(v);
  if (s.finite == 0) {
    throw error(errc::no_finite_data, "pwlq_calibrate: no finite value" + where);
  }
  // m at most 2^127 (half of FLT_MAX): no level exceeds 4/3 m (the 2-bit reference centre's -H * c)
  // by more than a few ulps, so every level stays finite; larger values clamp to 2^127.
  s.m = std::min(s.m, kLargestMaxAbs);
  if (s.finite > std::numeric_limits<std::uint32_t>::max()) {
    throw error(errc::invalid_argument, "pwlq_calibrate: more than 2^32 - 1 values in one channel" + where);
  }
  if (s.m < kZeroBelow) {
    bps.insert(bps.end(), static_cast<std::size_t>(o.breakpoints), 0.0f);
    return 0.0f;
  }
  switch (o.method) {
    case pwlq_breakpoint::exact: {
      if (small_ok(s.finite, s.m, o.bits, o.breakpoints)) {
        small_ws& ws = small_workspace();
        ws.x.clear();
        for (const float x : v) {
          if (std::fabs(x) <= FLT_MAX) ws.x.push_back(x);
        }
        if (o.breakpoints == 1) {
          sweep1 sw(ws, s.m, o.bits, o.variant);
          bps.push_back(sw.run());
        } else {
          multi_small ms(ws, s.m, o.bits, o.variant);
          const std::vector<float> b = ms.run(o.breakpoints);
          bps.insert(bps.end(), b.begin(), b.end());
        }
        break;
      }
      searcher se(v, s.m, s.finite, o.bits, o.variant);
      if (o.breakpoints == 1) {
        bps.push_back(se.exact1());
      } else {
        const std::vector<float> b = se.exact_multi(o.breakpoints);
        bps.insert(bps.end(), b.begin(), b.end());
      }
      break;
    }
    case pwlq_breakpoint::gaussian:
    case pwlq_breakpoint::laplacian: bps.push_back(distribution_breakpoint(v, s.m, s.finite, o.method)); break;
    case pwlq_breakpoint::grid: bps.push_back(grid_breakpoint(v, s.m, o.bits, o.variant)); break;
  }
  return s.m;
}

void check_options(const pwlq_options& o) {
  check_bits(o.bits);
  check_variant(o.variant);
  if (o.method != pwlq_breakpoint::exact && o.method != pwlq_breakpoint::gaussian &&
      o.method != pwlq_breakpoint::laplacian && o.method != pwlq_breakpoint::grid) {
    throw error(errc::invalid_argument, "pwlq_calibrate: breakpoint method " + std::to_string(static_cast<int>(o.method)) +
                                            " is not one of exact, gaussian, laplacian, grid");
  }
  check_k(o.breakpoints);
  if (o.breakpoints > 1 && o.method != pwlq_breakpoint::exact) {
    throw error(errc::invalid_argument, std::string("pwlq_calibrate: ") + to_string(o.method) +
                                            " chooses one breakpoint; 2 and 3 need the exact method");
  }
}

}  // namespace

pwlq_params pwlq_calibrate(std::span<const float> x, const pwlq_options& options) {
  check_options(options);
  std::vector<float> bps;
  const float m = calibrate_channel(x, options, bps, "");
  return pwlq_params::per_tensor(options.bits, options.variant, m, bps);
}

pwlq_params pwlq_calibrate(std::span<const float> x, std::span<const std::int64_t> shape, int axis,
                           const pwlq_options& options) {
  check_options(options);
  const auto ax = static_cast<std::size_t>(detail::checked_axis(axis, shape.size()));
  // The element count first, so that a shape that does not match x allocates nothing.
  const std::size_t count = detail::checked_element_count(shape);
  if (x.size() != count) {
    throw error(errc::size_mismatch,
                "pwlq_calibrate: " + std::to_string(x.size()) + " values given, the shape has " + std::to_string(count));
  }
  const auto channels = static_cast<std::size_t>(shape[ax]);
  if (count == 0 && channels != 0) {
    throw error(errc::no_finite_data, "pwlq_calibrate: no finite value (the tensor is empty)");
  }
  const std::size_t inner = detail::inner_count(shape, ax);
  const std::size_t outer = channels && inner ? x.size() / (channels * inner) : 0;
  std::vector<float> ms(channels), bps, buf(outer * inner);
  for (std::size_t c = 0; c < channels; ++c) {
    for (std::size_t o = 0; o < outer; ++o) {
      std::copy_n(x.data() + (o * channels + c) * inner, inner, buf.data() + o * inner);
    }
    ms[c] = calibrate_channel(buf, options, bps, " in channel " + std::to_string(c));
  }
  return pwlq_params::per_channel(options.bits, options.variant, shape, axis, ms, bps);
}

// ---- packing ----------------------------------------------------------------------------------------

namespace {
int region_bits(const pwlq_params& p) { return p.breakpoint_count() == 1 ? 1 : 2; }
std::size_t plane_bytes(std::size_t count, int bits) { return (count * static_cast<std::size_t>(bits) + 7) / 8; }

void put_bits(std::uint8_t* plane, std::size_t bitpos, unsigned value, int bits) {
  for (int i = 0; i < bits; ++i, ++bitpos) {
    if ((value >> i) & 1u) plane[bitpos / 8] |= static_cast<std::uint8_t>(1u << (bitpos % 8));
  }
}

unsigned get_bits(const std::uint8_t* plane, std::size_t bitpos, int bits) {
  unsigned v = 0;
  for (int i = 0; i < bits; ++i, ++bitpos) v |= ((plane[bitpos / 8] >> (bitpos % 8)) & 1u) << i;
  return v;
}

void check_packed(std::size_t packed, std::size_t count, const pwlq_params& p, const char* what) {
  const std::size_t need = pwlq_packed_size(count, p);
  if (packed != need) {
    throw error(errc::size_mismatch, std::string(what) + ": " + std::to_string(count) + " codes need " +
                                         std::to_string(need) + " packed bytes, " + std::to_string(packed) + " given");
  }
}
}  // namespace

std::size_t pwlq_packed_size(std::size_t count, const pwlq_params& p) noexcept {
  return plane_bytes(count, p.bits()) + plane_bytes(count, region_bits(p));
}

void pwlq_pack(std::span<const pwlq_code> codes, const pwlq_params& p, std::span<std::uint8_t> packed) {
  check_packed(packed.size(), codes.size(), p, "pwlq_pack");
  const int b = p.bits(), rb = region_bits(p);
  const int qmin = -(1 << (b - 1)), qmax = (1 << (b - 1)) - 1;
  for (std::size_t i = 0; i < codes.size(); ++i) {
    if (codes[i].q < qmin || codes[i].q > qmax || codes[i].region > p.breakpoint_count()) {
      throw error(errc::invalid_argument, "pwlq_pack: code " + std::to_string(i) + " (q = " +
                                              std::to_string(codes[i].q) + ", region " +
                                              std::to_string(codes[i].region) + ") is outside the " +
                                              std::to_string(b) + "-bit format with " +
                                              std::to_string(p.breakpoint_count()) + " breakpoints");
    }
  }
  std::fill(packed.begin(), packed.end(), std::uint8_t{0});
  std::uint8_t* cp = packed.data();
  std::uint8_t* rp = packed.data() + plane_bytes(codes.size(), b);
  const unsigned mask = (1u << b) - 1u;
  for (std::size_t i = 0; i < codes.size(); ++i) {
    put_bits(cp, i * static_cast<std::size_t>(b), static_cast<unsigned>(codes[i].q) & mask, b);
    put_bits(rp, i * static_cast<std::size_t>(rb), codes[i].region, rb);
  }
}

void pwlq_unpack(std::span<const std::uint8_t> packed, const pwlq_params& p, std::span<pwlq_code> codes) {
  check_packed(packed.size(), codes.size(), p, "pwlq_unpack");
  const int b = p.bits(), rb = region_bits(p);
  const std::uint8_t* cp = packed.data();
  const std::uint8_t* rp = packed.data() + plane_bytes(codes.size(), b);
  for (std::size_t i = 0; i < codes.size(); ++i) {
    const unsigned raw = get_bits(cp, i * static_cast<std::size_t>(b), b);
    const int q = static_cast<int>(raw) - ((raw >> (b - 1)) & 1u ? (1 << b) : 0);
    const unsigned reg = get_bits(rp, i * static_cast<std::size_t>(rb), rb);
    if (static_cast<int>(reg) > p.breakpoint_count()) {
      throw error(errc::corrupt_data, "pwlq_unpack: code " + std::to_string(i) + " has region " +
                                          std::to_string(reg) + ", the parameters have " +
                                          std::to_string(p.breakpoint_count()) + " breakpoints");
    }
    codes[i] = {static_cast<std::int8_t>(q), static_cast<std::uint8_t>(reg)};
  }
}

// ---- bias correction --------------------------------------------------------------------------------

pwlq_correction pwlq_bias_correction(std::span<const float> x, const pwlq_params& p, bias_correction_kind kind) {
  check_sizes(x.size(), x.size(), p, "pwlq_bias_correction");
  const std::size_t channels = p.channels();
  std::vector<double> n(channels), sx(channels), sy(channels), sxx(channels), syy(channels);
  std::vector<float> y(x.size());
  pwlq_fake_quantize(x, p, y);
  const std::size_t inner = p.granularity() == granularity::per_tensor ? x.size() : p.inner_size();
  for (std::size_t i = 0; i < x.size(); ++i) {
    if (!std::isfinite(x[i])) continue;
    const std::size_t c = channels == 1 ? 0 : (i / inner) % channels;
    n[c] += 1.0;
    sx[c] += x[i];
    sy[c] += y[i];
  }
  pwlq_correction out;
  out.kind = kind;
  out.shift.assign(channels, 0.0f);
  out.gain.assign(channels, 1.0f);
  std::vector<double> mx(channels), my(channels);
  for (std::size_t c = 0; c < channels; ++c) {
    mx[c] = n[c] > 0 ? sx[c] / n[c] : 0.0;
    my[c] = n[c] > 0 ? sy[c] / n[c] : 0.0;
    out.shift[c] = static_cast<float>(mx[c] - my[c]);
  }
  if (kind == bias_correction_kind::mean_std) {
    for (std::size_t i = 0; i < x.size(); ++i) {
      if (!std::isfinite(x[i])) continue;
      const std::size_t c = channels == 1 ? 0 : (i / inner) % channels;
      sxx[c] += (x[i] - mx[c]) * (x[i] - mx[c]);
      syy[c] += (y[i] - my[c]) * (y[i] - my[c]);
    }
    for (std::size_t c = 0; c < channels; ++c) {
      if (n[c] >= 2 && syy[c] > 0.0) out.gain[c] = static_cast<float>(std::sqrt(sxx[c] / syy[c]));
    }
  }
  return out;
}

void pwlq_apply_bias_correction(std::span<float> y, const pwlq_params& p, const pwlq_correction& corr) {
  check_sizes(y.size(), y.size(), p, "pwlq_apply_bias_correction");
  if (corr.shift.size() != p.channels() || corr.gain.size() != p.channels()) {
    throw error(errc::count_mismatch, "pwlq_apply_bias_correction: the correction has " +
                                          std::to_string(corr.shift.size()) + " channels, the parameters " +
                                          std::to_string(p.channels()));
  }
  const std::size_t channels = p.channels();
  const std::size_t inner = p.granularity() == granularity::per_tensor ? y.size() : p.inner_size();
  for (std::size_t i = 0; i < y.size(); ++i) {
    const std::size_t c = channels == 1 ? 0 : (i / inner) % channels;
    const float s = y[i] + corr.shift[c];
    y[i] = corr.kind == bias_correction_kind::mean ? s : s * corr.gain[c];
  }
}

}  // namespace lowbit
