// lowbit — integer inference with PWLQ weights (see lowbit/pwlq_dense.h for the numerics).
// SPDX-License-Identifier: Apache-2.0
#include "lowbit/pwlq_dense.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <type_traits>
#include <utility>

#include "lowbit/uniform.h"

namespace lowbit::fxp {
namespace {

__extension__ typedef __int128 i128;
__extension__ typedef unsigned __int128 u128;

[[noreturn]] void fail(errc code, const std::string& what, const std::string& message) {
  throw error(code, what + ": " + message);
}

std::string str(std::int64_t v) { return std::to_string(v); }


template <class Code>
void check_code(code_format f, const char* what, const char* which) {
  static_assert(std::is_same_v<Code, std::int8_t> || std::is_same_v<Code, std::uint8_t>, "int8_t or uint8_t codes");
  if (f.is_signed != std::is_signed_v<Code>) {
    fail(errc::type_mismatch, what,
         std::string(which) + " codes are " + (f.is_signed ? "int8" : "uint8") + " but the span holds " +
             (std::is_signed_v<Code> ? "int8_t" : "uint8_t"));
  }
}

// f = mantissa * 2^exponent with |mantissa| < 2^24 (exact for every finite float).
struct split_float {
  std::int64_t mantissa = 0;
  int exponent = 0;
};
split_float split(float f) noexcept {
  if (f == 0.0f) return {};
  int e = 0;
  const float fr = std::frexp(f, &e);  // |fr| in [0.5, 1), 24 significant bits at most
  return {static_cast<std::int64_t>(std::ldexp(static_cast<double>(fr), 24)), e - 24};
}

// An unsigned integer of 40 32-bit limbs (1280 bits), little endian. Every value the exact combine
// forms stays below 2^720 (see combine_exact).
struct big_uint {
  static constexpr int limbs = 40;
  std::uint32_t w[limbs] = {};

  void add_shifted(u128 v, int shift) noexcept {  // += v << shift, v < 2^82
    int i = shift / 32;
    u128 x = v << (shift % 32);
    std::uint64_t carry = 0;
    while ((x != 0 || carry != 0) && i < limbs) {
      const std::uint64_t s = static_cast<std::uint64_t>(w[i]) + static_cast<std::uint32_t>(x) + carry;
      w[i] = static_cast<std::uint32_t>(s);
      carry = s >> 32;
      x >>= 32;
      ++i;
    }
  }
  int compare(const big_uint& o) const noexcept {
    for (int i = limbs - 1; i >= 0; --i) {
      if (w[i] != o.w[i]) return w[i] < o.w[i] ? -1 : 1;
    }
    return 0;
  }
  void subtract(const big_uint& o) noexcept {  // requires *this >= o
    std::int64_t borrow = 0;
    for (int i = 0; i < limbs; ++i) {
      const std::int64_t d = static_cast<std::int64_t>(w[i]) - o.w[i] - borrow;
      borrow = d < 0 ? 1 : 0;
      w[i] = static_cast<std::uint32_t>(d + (borrow << 32));
    }
  }
  bool is_zero() const noexcept {
    for (std::uint32_t x : w) {
      if (x != 0) return false;
    }
    return true;
  }
  void shift_left(int s) noexcept {  // s >= 0, no bit reaches the top limb (callers bound it)
    const int q = s / 32, r = s % 32;
    for (int i = limbs - 1; i >= 0; --i) {
      const std::uint64_t hi = i - q >= 0 ? w[i - q] : 0;
      const std::uint64_t lo = i - q - 1 >= 0 ? w[i - q - 1] : 0;
      w[i] = static_cast<std::uint32_t>(r == 0 ? hi : ((hi << r) | (lo >> (32 - r))));
    }
  }
  void shift_right(int s) noexcept {
    const int q = s / 32, r = s % 32;
    for (int i = 0; i < limbs; ++i) {
      const std::uint64_t lo = i + q < limbs ? w[i + q] : 0;
      const std::uint64_t hi = i + q + 1 < limbs ? w[i + q + 1] : 0;
      w[i] = static_cast<std::uint32_t>(r == 0 ? lo : ((lo >> r) | (hi << (32 - r))));
    }
  }
  std::uint32_t divide(std::uint32_t d) noexcept {  // *this /= d, returns the remainder
    std::uint64_t rem = 0;
    for (int i = limbs - 1; i >= 0; --i) {
      const std::uint64_t cur = (rem << 32) | w[i];
      w[i] = static_cast<std::uint32_t>(cur / d);
      rem = cur % d;
    }
    return static_cast<std::uint32_t>(rem);
  }
  bool bit(int i) const noexcept { return ((w[i / 32] >> (i % 32)) & 1u) != 0; }
  bool any_below(int i) const noexcept {  // a set bit at a position < i
    for (int l = 0; l < i / 32; ++l) {
      if (w[l] != 0) return true;
    }
    return i % 32 != 0 && (w[i / 32] & ((1u << (i % 32)) - 1u)) != 0;
  }
  bool fits(std::uint64_t limit) const noexcept {  // value < limit (limit < 2^64)
    for (int i = 2; i < limbs; ++i) {
      if (w[i] != 0) return false;
    }
    return ((static_cast<std::uint64_t>(w[1]) << 32) | w[0]) < limit;
  }
  std::uint64_t low64() const noexcept { return (static_cast<std::uint64_t>(w[1]) << 32) | w[0]; }
};

constexpr std::int64_t kSaturate = std::int64_t{1} << 40;  // |u| beyond this saturates every output format

std::int32_t clamp_code(std::int64_t v, std::int32_t zp, clamp_range c) noexcept {
  const std::int64_t r = v + zp;
  return static_cast<std::int32_t>(r < c.min ? c.min : (r > c.max ? c.max : r));
}

// The real level of a code (the decode formula without float rounding), in double: one rounding at
// most (q c and j t are exact in double).
double exact_level(pwlq_code code, const ref::pwlq_run& r) noexcept {
  if (r.zero) return 0.0;
  const double q = code.q;
  if (code.region == 0) return q * static_cast<double>(r.centre_step);
  const int reg = code.region > r.k ? r.k : code.region;
  const double lo = r.edge[reg - 1], hi = r.edge[reg], t = r.tail_step[reg - 1];
  if (r.variant == pwlq_variant::reference) return code.q >= 0 ? q * t + lo : (q + r.half) * t - hi;
  const double j = code.q >= 0 ? q : -1.0 - q;
  const double v = lo + j * t;
  return code.q >= 0 ? v : -v;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// The kernel
// ---------------------------------------------------------------------------------------------

template <class In>
pwlq_accumulators pwlq_dot(std::span<const In> x, std::int32_t zx, const pwlq_channel_lists& w) noexcept {
  pwlq_accumulators a;
  const In* px = x.data();
  {
    const std::uint32_t* idx = w.centre_index.data();
    const std::int8_t* v = w.centre_value.data();
    std::int32_t acc = 0;
    for (std::size_t i = 0, n = w.centre_index.size(); i < n; ++i) {
      acc += (static_cast<std::int32_t>(px[idx[i]]) - zx) * v[i];
    }
    a.centre = acc;
  }
  for (int r = 0; r < ref::pwlq_max_breakpoints; ++r) {
    std::int32_t pj = 0, ps = 0, nj = 0, ns = 0;
    const std::uint32_t* pi = w.positive_index[r].data();
    const std::int8_t* pv = w.positive_value[r].data();
    for (std::size_t i = 0, n = w.positive_index[r].size(); i < n; ++i) {
      const std::int32_t d = static_cast<std::int32_t>(px[pi[i]]) - zx;
      pj += d * pv[i];
      ps += d;
    }
    const std::uint32_t* ni = w.negative_index[r].data();
    const std::int8_t* nv = w.negative_value[r].data();
    for (std::size_t i = 0, n = w.negative_index[r].size(); i < n; ++i) {
      const std::int32_t d = static_cast<std::int32_t>(px[ni[i]]) - zx;
      nj += d * nv[i];
      ns += d;
    }
    a.tail[r] = pj - nj;
    a.tail_sum[r] = ps - ns;
    a.tail_negative[r] = ns;
  }
  return a;
}

template pwlq_accumulators pwlq_dot<std::int8_t>(std::span<const std::int8_t>, std::int32_t,
                                                 const pwlq_channel_lists&) noexcept;
template pwlq_accumulators pwlq_dot<std::uint8_t>(std::span<const std::uint8_t>, std::int32_t,
                                                  const pwlq_channel_lists&) noexcept;

// ---------------------------------------------------------------------------------------------
// The layer
// ---------------------------------------------------------------------------------------------

pwlq_fully_connected::pwlq_fully_connected(int in_features, int out_features, std::vector<pwlq_code> codes,
                                           pwlq_params params, std::span<const float> bias,
                                           const activation_quant& input, const activation_quant& output,
                                           std::optional<clamp_range> clamp)
    : params_(std::move(params)) {
  const char* what = "pwlq_fully_connected";
  if (in_features < 1 || in_features > pwlq_dense_max_in_features) {
    fail(errc::invalid_shape, what,
         "in_features " + str(in_features) + " is outside 1.." + str(pwlq_dense_max_in_features) +
             " (the int32 accumulator bound)");
  }
  if (out_features < 1) fail(errc::invalid_shape, what, "out_features " + str(out_features) + " must be >= 1");
  const auto I = static_cast<std::size_t>(in_features), O = static_cast<std::size_t>(out_features);
  if (codes.size() != I * O) {
    fail(errc::size_mismatch, what,
         "codes has " + str(static_cast<std::int64_t>(codes.size())) + " entries, out * in = " +
             str(static_cast<std::int64_t>(I * O)));
  }
  if (!bias.empty() && bias.size() != O) {
    fail(errc::size_mismatch, what,
         "bias has " + str(static_cast<std::int64_t>(bias.size())) + " entries, out_features = " + str(out_features));
  }
  if (params_.granularity() != granularity::per_tensor) {
    if (params_.axis() != 0) {
      fail(errc::invalid_axis, what, "PWLQ params must be per output channel (axis 0), not axis " + str(params_.axis()));
    }
    const auto shape = params_.shape();
    if (shape.size() != 2 || shape[0] != out_features || shape[1] != in_features) {
      fail(errc::size_mismatch, what, "PWLQ params are not for a [" + str(out_features) + "][" + str(in_features) +
                                          "] weight tensor");
    }
  }
  if (params_.channels() != 1 && params_.channels() != O) {
    fail(errc::count_mismatch, what, "PWLQ params have " + str(static_cast<std::int64_t>(params_.channels())) +
                                         " channels, out_features = " + str(out_features));
  }
  validate_activation(input, what, "input");
  validate_activation(output, what, "output");
  const clamp_range c = clamp.value_or(clamp_range{output.format.qmin(), output.format.qmax()});
  if (c.min > c.max || c.min < output.format.qmin() || c.max > output.format.qmax()) {
    fail(errc::invalid_argument, what,
         "clamp [" + str(c.min) + ", " + str(c.max) + "] is not an ordered range inside the output codes [" +
             str(output.format.qmin()) + ", " + str(output.format.qmax()) + "]");
  }
  bias_.assign(O, 0.0f);
  for (std::size_t o = 0; o < bias.size(); ++o) {
    if (!std::isfinite(bias[o])) {
      fail(errc::invalid_argument, what, "bias[" + str(static_cast<std::int64_t>(o)) + "] is not finite");
    }
    bias_[o] = bias[o];
  }
  const int b = params_.bits(), k = params_.breakpoint_count();
  const int qmin = -(1 << (b - 1)), qmax = (1 << (b - 1)) - 1;
  for (std::size_t i = 0; i < codes.size(); ++i) {
    if (codes[i].q < qmin || codes[i].q > qmax || codes[i].region > k) {
      fail(errc::invalid_argument, what,
           "code " + str(static_cast<std::int64_t>(i)) + " {q " + str(codes[i].q) + ", region " +
               str(codes[i].region) + "} is outside the " + str(b) + "-bit, " + str(k) + "-breakpoint format");
    }
  }
  in_ = in_features;
  out_ = out_features;
  k_ = k;
  codes_ = std::move(codes);
  input_ = input;
  output_ = output;
  clamp_ = c;

  // The lists: per channel centre, then per region positive and negative.
  const std::size_t lists = lists_per_channel();
  offset_.assign(O * lists + 1, 0);
  index_.reserve(codes_.size());
  value_.reserve(codes_.size());
  for (std::size_t o = 0; o < O; ++o) {
    const pwlq_code* row = codes_.data() + o * I;
    for (std::size_t l = 0; l < lists; ++l) {
      offset_[o * lists + l] = index_.size();
      const int region = l == 0 ? 0 : static_cast<int>((l + 1) / 2);
      const bool negative = l != 0 && l % 2 == 0;
      for (std::size_t i = 0; i < I; ++i) {
        const pwlq_code cd = row[i];
        if (cd.region != region) continue;
        if (region == 0) {
          index_.push_back(static_cast<std::uint32_t>(i));
          value_.push_back(cd.q);
        } else if ((cd.q < 0) == negative) {
          index_.push_back(static_cast<std::uint32_t>(i));
          value_.push_back(static_cast<std::int8_t>(cd.q < 0 ? -1 - cd.q : cd.q));  // j
        }
      }
    }
  }
  offset_[O * lists] = index_.size();

  // The fixed-point constants.
  fixed_.assign(O, pwlq_fixed_channel{});
  const double sx = input_.scale, so = output_.scale;
  for (std::size_t o = 0; o < O; ++o) {
    std::int64_t Iz[pwlq_fixed_channel::max_terms] = {};
    float K[pwlq_fixed_channel::max_terms] = {};
    const int n = terms(pwlq_accumulators{}, o, Iz, K);
    double r[pwlq_fixed_channel::max_terms] = {};
    double rmax = 0.0;
    for (int t = 0; t < n; ++t) {
      r[t] = (sx * static_cast<double>(K[t])) / so;  // the product is exact, one rounding
      rmax = std::max(rmax, r[t]);
    }
    if (!(rmax < 1073741824.0)) {
      fail(errc::invalid_scale, what,
           "output channel " + str(static_cast<std::int64_t>(o)) + ": the multiplier s_x K / s_out = " +
               detail::float_text(rmax) + " reaches 2^30");
    }
    pwlq_fixed_channel& f = fixed_[o];
    if (rmax > 0.0) {
      int e = 0;
      static_cast<void>(std::frexp(rmax, &e));
      f.shift = std::min(31 - e, 62);
    } else {
      f.shift = 62;
    }
    for (int t = 0; t < n; ++t) f.multiplier[t] = static_cast<std::int64_t>(std::nearbyint(std::ldexp(r[t], f.shift)));
    const double beta = std::nearbyint(std::ldexp(static_cast<double>(bias_[o]) / so, f.shift));
    const double lim = 1267650600228229401496703205376.0;  // 2^100
    f.bias = beta > lim ? lim : (beta < -lim ? -lim : beta);
  }
}

pwlq_fully_connected pwlq_fully_connected::from_float(std::span<const float> weights, std::span<const float> bias,
                                                      int in_features, int out_features,
                                                      const pwlq_options& options, const activation_quant& input,
                                                      const activation_quant& output,
                                                      std::optional<clamp_range> clamp) {
  const char* what = "pwlq_fully_connected::from_float";
  if (in_features < 1 || out_features < 1) {
    fail(errc::invalid_shape, what, "features " + str(in_features) + " x " + str(out_features) + " must be >= 1");
  }
  const std::size_t n = static_cast<std::size_t>(in_features) * static_cast<std::size_t>(out_features);
  if (weights.size() != n) {
    fail(errc::size_mismatch, what,
         "weights has " + str(static_cast<std::int64_t>(weights.size())) + " values, out * in = " +
             str(static_cast<std::int64_t>(n)));
  }
  const std::int64_t shape[2] = {out_features, in_features};
  pwlq_params p = pwlq_calibrate(weights, shape, 0, options);
  std::vector<pwlq_code> codes(n);
  pwlq_quantize(weights, p, codes);
  return pwlq_fully_connected(in_features, out_features, std::move(codes), std::move(p), bias, input, output, clamp);
}

pwlq_channel_lists pwlq_fully_connected::channel_lists(std::size_t o) const noexcept {
  const std::size_t lists = lists_per_channel(), base = o * lists;
  auto idx = [&](std::size_t l) {
    return std::span<const std::uint32_t>(index_.data() + offset_[base + l], offset_[base + l + 1] - offset_[base + l]);
  };
  auto val = [&](std::size_t l) {
    return std::span<const std::int8_t>(value_.data() + offset_[base + l], offset_[base + l + 1] - offset_[base + l]);
  };
  pwlq_channel_lists w;
  w.centre_index = idx(0);
  w.centre_value = val(0);
  for (int r = 0; r < k_; ++r) {
    const auto l = static_cast<std::size_t>(1 + 2 * r);
    w.positive_index[r] = idx(l);
    w.positive_value[r] = val(l);
    w.negative_index[r] = idx(l + 1);
    w.negative_value[r] = val(l + 1);
  }
  return w;
}

// The terms I_k K_k of D (header): [0] = (A_c, c); per region r, at 1 + 3(r-1):
//   reference: (A_r + L N_r, t_r), (S_r + N_r, e[r-1]), (-N_r, e[r])
//   paper:     (A_r, t_r), (S_r, e[r-1]), (0, 0)
int pwlq_fully_connected::terms(const pwlq_accumulators& a, std::size_t o, std::int64_t* I, float* K) const noexcept {
  const ref::pwlq_run& r = channel_run(o);
  const int n = 1 + 3 * k_;
  I[0] = a.centre;
  K[0] = r.centre_step;
  const auto L = static_cast<std::int64_t>(r.levels);
  for (int g = 0; g < k_; ++g) {
    std::int64_t* i = I + 1 + 3 * g;
    float* kk = K + 1 + 3 * g;
    kk[0] = r.tail_step[g];
    kk[1] = r.edge[g];
    if (r.variant == pwlq_variant::reference) {
      i[0] = static_cast<std::int64_t>(a.tail[g]) + L * a.tail_negative[g];
      i[1] = static_cast<std::int64_t>(a.tail_sum[g]) + a.tail_negative[g];
      i[2] = -static_cast<std::int64_t>(a.tail_negative[g]);
      kk[2] = r.edge[g + 1];
    } else {
      i[0] = a.tail[g];
      i[1] = a.tail_sum[g];
      i[2] = 0;
      kk[2] = 0.0f;
    }
  }
  if (r.zero) {
    for (int t = 0; t < n; ++t) K[t] = 0.0f;
  }
  return n;
}

// u = (s_x sum_k I_k K_k + b) / s_out exactly: every term is an integer times a power of two,
//   I_k K_k s_x = (I_k m_K m_x) 2^(e_K + e_x), |I_k m_K m_x| < 2^33 2^24 2^24 = 2^81, e in [-344, 208]
//   b = m_b 2^e_b, e_b in [-172, 104]
// so with f = the least exponent, P and M (the positive and negative terms) hold sum |term| 2^(e - f) < 2^638.
// u = D 2^g / m_out with D = P - M and g = f - e_out in [-448, 380]; for g >= 64 and D != 0 |u| > 2^40
// (saturated); else D << g < 2^702, or for g < 0 D / m_out and then the shift right by -g with the
// dropped bits compared to one half. Round half to even at the end, sign restored (rhe is odd).
std::int32_t pwlq_fully_connected::combine_exact(const pwlq_accumulators& a, std::size_t o) const noexcept {
  std::int64_t I[pwlq_fixed_channel::max_terms] = {};
  float K[pwlq_fixed_channel::max_terms] = {};
  const int n = terms(a, o, I, K);
  const split_float sx = split(input_.scale), so = split(output_.scale), sb = split(bias_[o]);

  struct term {
    u128 mag;
    bool negative;
    int exp;
  };
  term t[pwlq_fixed_channel::max_terms + 1];
  int count = 0;
  for (int k = 0; k < n; ++k) {
    const split_float sk = split(K[k]);
    if (I[k] == 0 || sk.mantissa == 0) continue;
    const auto ai = static_cast<u128>(I[k] < 0 ? -I[k] : I[k]);
    t[count++] = {ai * static_cast<u128>(sk.mantissa) * static_cast<u128>(sx.mantissa), I[k] < 0,
                  sk.exponent + sx.exponent};
  }
  if (sb.mantissa != 0) {
    t[count++] = {static_cast<u128>(sb.mantissa < 0 ? -sb.mantissa : sb.mantissa), sb.mantissa < 0, sb.exponent};
  }
  if (count == 0) return clamp_code(0, output_.zero_point, clamp_);
  int f = t[0].exp;
  for (int k = 1; k < count; ++k) f = std::min(f, t[k].exp);
  big_uint pos, neg;
  for (int k = 0; k < count; ++k) (t[k].negative ? neg : pos).add_shifted(t[k].mag, t[k].exp - f);
  const int c = pos.compare(neg);
  if (c == 0) return clamp_code(0, output_.zero_point, clamp_);
  const bool negative = c < 0;
  big_uint& d = negative ? neg : pos;
  d.subtract(negative ? pos : neg);
  const int g = f - so.exponent;
  const auto m_out = static_cast<std::uint32_t>(so.mantissa);
  std::int64_t q;
  if (g >= 64) {
    q = kSaturate;
  } else {
    bool up = false;
    if (g >= 0) {
      d.shift_left(g);
      const std::uint32_t rem = d.divide(m_out);
      const bool odd = (d.w[0] & 1u) != 0;
      up = 2ull * rem > m_out || (2ull * rem == m_out && odd);
    } else {
      const int s = -g;
      const std::uint32_t rem = d.divide(m_out);
      const bool half_bit = d.bit(s - 1), below = d.any_below(s - 1);
      d.shift_right(s);
      const bool odd = (d.w[0] & 1u) != 0;
      // fraction = ((d mod 2^s) + rem / m_out) / 2^s compared to 1/2
      up = half_bit && (below || rem != 0 || odd);
    }
    if (!d.fits(static_cast<std::uint64_t>(kSaturate))) {
      q = kSaturate;
    } else {
      q = static_cast<std::int64_t>(d.low64()) + (up ? 1 : 0);
    }
  }
  return clamp_code(negative ? -q : q, output_.zero_point, clamp_);
}

std::int32_t pwlq_fully_connected::combine_fixed(const pwlq_accumulators& a, std::size_t o) const noexcept {
  std::int64_t I[pwlq_fixed_channel::max_terms] = {};
  float K[pwlq_fixed_channel::max_terms] = {};
  const int n = terms(a, o, I, K);
  const pwlq_fixed_channel& f = fixed_[o];
  i128 T = static_cast<i128>(f.bias);  // an integer-valued double, |B| <= 2^100: exact
  for (int k = 0; k < n; ++k) T += static_cast<i128>(f.multiplier[k]) * I[k];  // |M I| < 2^64
  i128 q = T >> f.shift;  // floor (arithmetic shift, C++20)
  if (f.shift > 0) {
    const i128 rem = T - q * (static_cast<i128>(1) << f.shift);
    const i128 half = static_cast<i128>(1) << (f.shift - 1);
    if (rem > half || (rem == half && (q & 1) != 0)) q += 1;
  }
  const std::int64_t v = q > kSaturate ? kSaturate : (q < -kSaturate ? -kSaturate : static_cast<std::int64_t>(q));
  return clamp_code(v, output_.zero_point, clamp_);
}

std::int32_t pwlq_fully_connected::output_code(double v) const noexcept {
  if (std::isnan(v)) return clamp_code(0, output_.zero_point, clamp_);
  const double lim = static_cast<double>(kSaturate);
  const double r = std::nearbyint(v > lim ? lim : (v < -lim ? -lim : v));
  return clamp_code(static_cast<std::int64_t>(r), output_.zero_point, clamp_);
}

template <class In>
std::size_t pwlq_fully_connected::check_run(std::span<const In> input, std::size_t out_size, const char* what) const {
  check_code<In>(input_.format, what, "input");
  const auto I = static_cast<std::size_t>(in_), O = static_cast<std::size_t>(out_);
  if (input.size() % I != 0) {
    fail(errc::size_mismatch, what,
         "input has " + str(static_cast<std::int64_t>(input.size())) + " codes, not a multiple of in_features " +
             str(in_));
  }
  const std::size_t batch = input.size() / I;
  if (out_size != batch * O) {
    fail(errc::size_mismatch, what,
         "output has " + str(static_cast<std::int64_t>(out_size)) + " entries, batch * out_features = " +
             str(static_cast<std::int64_t>(batch * O)));
  }
  return batch;
}

template <class In, class Out>
void pwlq_fully_connected::run(std::span<const In> input, std::span<Out> output, pwlq_combine combine) const {
  const char* what = "pwlq_fully_connected::run";
  check_code<Out>(output_.format, what, "output");
  if (combine != pwlq_combine::exact && combine != pwlq_combine::fixed_point) {
    fail(errc::invalid_argument, what, "unknown combine");
  }
  const std::size_t batch = check_run(input, output.size(), what);
  const auto I = static_cast<std::size_t>(in_), O = static_cast<std::size_t>(out_);
  for (std::size_t b = 0; b < batch; ++b) {
    const std::span<const In> row = input.subspan(b * I, I);
    for (std::size_t o = 0; o < O; ++o) {
      const pwlq_accumulators a = pwlq_dot(row, input_.zero_point, channel_lists(o));
      const std::int32_t v = combine == pwlq_combine::exact ? combine_exact(a, o) : combine_fixed(a, o);
      output[b * O + o] = static_cast<Out>(v);
    }
  }
}

template <class In>
void pwlq_fully_connected::accumulate(std::span<const In> input, std::span<pwlq_accumulators> acc) const {
  const std::size_t batch = check_run(input, acc.size(), "pwlq_fully_connected::accumulate");
  const auto I = static_cast<std::size_t>(in_), O = static_cast<std::size_t>(out_);
  for (std::size_t b = 0; b < batch; ++b) {
    for (std::size_t o = 0; o < O; ++o) acc[b * O + o] = pwlq_dot(input.subspan(b * I, I), input_.zero_point, channel_lists(o));
  }
}

template <class In>
void pwlq_fully_connected::run_float_reference(std::span<const In> input, std::span<double> y,
                                               pwlq_levels levels) const {
  const std::size_t batch = check_run(input, y.size(), "pwlq_fully_connected::run_float_reference");
  const auto I = static_cast<std::size_t>(in_), O = static_cast<std::size_t>(out_);
  const double sx = input_.scale;
  for (std::size_t b = 0; b < batch; ++b) {
    for (std::size_t o = 0; o < O; ++o) {
      const ref::pwlq_run& r = channel_run(o);
      double acc = 0.0;
      for (std::size_t i = 0; i < I; ++i) {
        const pwlq_code c = codes_[o * I + i];
        const double w = levels == pwlq_levels::decoded ? static_cast<double>(ref::pwlq_decode_value(c, r))
                                                        : exact_level(c, r);
        acc += (sx * (static_cast<double>(input[b * I + i]) - input_.zero_point)) * w;
      }
      y[b * O + o] = acc + static_cast<double>(bias_[o]);
    }
  }
}

template <class In>
void pwlq_fully_connected::reference_tolerance(std::span<const In> input, std::span<double> delta,
                                               pwlq_levels levels) const {
  const char* what = "pwlq_fully_connected::reference_tolerance";
  const std::size_t batch = check_run(input, delta.size(), what);
  std::vector<double> y(delta.size());
  run_float_reference(input, std::span<double>(y), levels);
  const auto I = static_cast<std::size_t>(in_), O = static_cast<std::size_t>(out_);
  const double sx = input_.scale, so = output_.scale;
  const double per_weight = levels == pwlq_levels::decoded ? std::ldexp(1.0, -22) : std::ldexp(1.0, -52);
  for (std::size_t b = 0; b < batch; ++b) {
    double sumd = 0.0;
    for (std::size_t i = 0; i < I; ++i) sumd += std::abs(static_cast<double>(input[b * I + i]) - input_.zero_point);
    for (std::size_t o = 0; o < O; ++o) {
      const ref::pwlq_run& r = channel_run(o);
      const double m = r.edge[r.k];
      const double data = sx * per_weight * m * sumd;
      const double sum = 2.0 * static_cast<double>(I + 2) * std::ldexp(1.0, -53) *
                         (sx * m * (1.0 + std::ldexp(1.0, -20)) * sumd + std::abs(static_cast<double>(bias_[o])));
      const double d = (data + sum) / so + std::ldexp(1.0, -52) * std::abs(y[b * O + o] / so);
      delta[b * O + o] = d * (1.0 + 1e-9) + 1e-300;
    }
  }
}

template <class In>
void pwlq_fully_connected::fixed_point_tolerance(std::span<const In> input, std::span<double> delta) const {
  const std::size_t batch = check_run(input, delta.size(), "pwlq_fully_connected::fixed_point_tolerance");
  const auto I = static_cast<std::size_t>(in_), O = static_cast<std::size_t>(out_);
  for (std::size_t b = 0; b < batch; ++b) {
    for (std::size_t o = 0; o < O; ++o) {
      const pwlq_accumulators a = pwlq_dot(input.subspan(b * I, I), input_.zero_point, channel_lists(o));
      std::int64_t Iv[pwlq_fixed_channel::max_terms] = {};
      float K[pwlq_fixed_channel::max_terms] = {};
      const int n = terms(a, o, Iv, K);
      double s = 0.0;
      for (int k = 0; k < n; ++k) s += std::abs(static_cast<double>(Iv[k]));
      const int sh = fixed_[o].shift;
      const double d = std::ldexp((0.5 + std::ldexp(1.0, -22)) * s + 0.5, -sh) +
                       std::ldexp(1.0, -52) * std::abs(static_cast<double>(bias_[o]) / output_.scale);
      delta[b * O + o] = d * (1.0 + 1e-9);
    }
  }
}

#define LOWBIT_PWLQ_DENSE_IN(In)                                                                                 \
  template void pwlq_fully_connected::accumulate<In>(std::span<const In>, std::span<pwlq_accumulators>) const;    \
  template void pwlq_fully_connected::run_float_reference<In>(std::span<const In>, std::span<double>, pwlq_levels) \
      const;                                                                                                     \
  template void pwlq_fully_connected::reference_tolerance<In>(std::span<const In>, std::span<double>, pwlq_levels) \
      const;                                                                                                     \
  template void pwlq_fully_connected::fixed_point_tolerance<In>(std::span<const In>, std::span<double>) const;   \
  template void pwlq_fully_connected::run<In, std::int8_t>(std::span<const In>, std::span<std::int8_t>,          \
                                                           pwlq_combine) const;                                  \
  template void pwlq_fully_connected::run<In, std::uint8_t>(std::span<const In>, std::span<std::uint8_t>,        \
                                                            pwlq_combine) const;
LOWBIT_PWLQ_DENSE_IN(std::int8_t)
LOWBIT_PWLQ_DENSE_IN(std::uint8_t)
#undef LOWBIT_PWLQ_DENSE_IN

// ---------------------------------------------------------------------------------------------
// Float bridge error report
// ---------------------------------------------------------------------------------------------

namespace {

template <class In, class Out>
std::vector<float> run_dequantized(const pwlq_fully_connected& layer, std::span<const float> input,
                                   pwlq_combine combine) {
  std::vector<In> qin(input.size());
  quantize(input, layer.input().params(), std::span<In>(qin));
  const std::size_t batch = input.size() / static_cast<std::size_t>(layer.in_features());
  std::vector<Out> qout(batch * static_cast<std::size_t>(layer.out_features()));
  layer.run(std::span<const In>(qin), std::span<Out>(qout), combine);
  std::vector<float> y(qout.size());
  const activation_quant& oq = layer.output();
  for (std::size_t i = 0; i < y.size(); ++i) {
    y[i] = static_cast<float>(static_cast<std::int32_t>(qout[i]) - oq.zero_point) * oq.scale;
  }
  return y;
}

}  // namespace

layer_error_report compare_with_float(const pwlq_fully_connected& layer, std::span<const float> input,
                                      std::span<const float> weights, std::span<const float> bias,
                                      pwlq_combine combine) {
  const char* what = "compare_with_float";
  const auto K = static_cast<std::size_t>(layer.in_features()), O = static_cast<std::size_t>(layer.out_features());
  if (weights.size() != K * O) {
    fail(errc::size_mismatch, what, "weights has " + str(static_cast<std::int64_t>(weights.size())) +
                                        " values, out * in = " + str(static_cast<std::int64_t>(K * O)));
  }
  if (!bias.empty() && bias.size() != O) {
    fail(errc::size_mismatch, what, "bias has " + str(static_cast<std::int64_t>(bias.size())) + " values");
  }
  if (input.size() % K != 0) {
    fail(errc::size_mismatch, what, "input has " + str(static_cast<std::int64_t>(input.size())) +
                                        " values, not a multiple of in_features " + str(layer.in_features()));
  }
  const std::size_t batch = input.size() / K;
  std::vector<double> want(batch * O);
  for (std::size_t b = 0; b < batch; ++b) {
    for (std::size_t o = 0; o < O; ++o) {
      double s = bias.empty() ? 0.0 : bias[o];
      for (std::size_t k = 0; k < K; ++k) s += static_cast<double>(input[b * K + k]) * weights[o * K + k];
      want[b * O + o] = s;
    }
  }
  const bool si = layer.input().format.is_signed, so = layer.output().format.is_signed;
  std::vector<float> got;
  if (si && so) got = run_dequantized<std::int8_t, std::int8_t>(layer, input, combine);
  else if (si) got = run_dequantized<std::int8_t, std::uint8_t>(layer, input, combine);
  else if (so) got = run_dequantized<std::uint8_t, std::int8_t>(layer, input, combine);
  else got = run_dequantized<std::uint8_t, std::uint8_t>(layer, input, combine);
  const activation_quant& oq = layer.output();
  const float lo = static_cast<float>(layer.clamp().min - oq.zero_point) * oq.scale;
  const float hi = static_cast<float>(layer.clamp().max - oq.zero_point) * oq.scale;
  return compare_outputs(got, want, lo, hi);
}

}  // namespace lowbit::fxp
