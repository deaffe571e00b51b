// lowbit — scalar reference ("oracle") of piecewise-linear quantization (PWLQ).
// SPDX-License-Identifier: Apache-2.0
//
// These functions define lowbit's PWLQ numerics value by value. A SIMD kernel must reproduce
// pwlq_encode_value / pwlq_decode_value bit for bit. They take already-validated parameters
// (make_pwlq_run of a pwlq_params channel): they never throw and never allocate. Every operation is
// one float32 operation in the order written (no FMA: lowbit builds with -ffp-contract=off).
//
// Notation for one channel with k breakpoints (k = 1..3) and code width b (2..8):
//   e[0] < e[1] < ... < e[k-1]  the breakpoints p1 < ... < pk,  e[k] = m (the channel's max |x|)
//   L = 2^(b-1) - 1 (the largest (b-1)-bit magnitude),  H = 2^(b-1)
//   region 0 (centre)  |x| < e[0]
//   region r (1..k)    e[r-1] <= |x| < e[r]   (region k also takes |x| >= m: it clamps to ±m)
//   tail step  t[r]  = fl(fl(e[r] - e[r-1]) / L)                          (float32 sub, float32 div)
//   centre step c    = reference: float32(2 * e[0] / (2^b - 1)), the real quotient rounded once
//                      paper:     fl(e[0] / L)
// The `reference` variant is the grid of the authors' published code (pw_opt = 2), the `paper`
// variant the paper's equation 3 (sign + (b-1)-bit magnitude in every region):
//   reference, centre:  q = clamp(rhe(fl(x / c)), -H, L)              value fl(q * c)
//   reference, tail r:  x > 0: q = clamp(rhe(fl(fl(min(x, e[r]) - e[r-1]) / t[r])), 0, L)
//                              value fl(fl(q * t[r]) + e[r-1])          (levels e[r-1] + j t[r])
//                       x < 0: j = clamp(rhe(fl(fl(max(x, -e[r]) + e[r]) / t[r])), 0, L), q = j - H
//                              value fl(fl((q + H) * t[r]) - e[r])      (levels -e[r] + j t[r],
//                              anchored at -e[r] as the authors' code: Q(-x) may differ from -Q(x)
//                              by a few ulp)
//   paper, centre:      j = min(rhe(fl(|x| / c)), L), q = sign(x) * j   value fl(q * c)
//   paper, tail r:      j = clamp(rhe(fl(fl(min(|x|, e[r]) - e[r-1]) / t[r])), 0, L)
//                       q = j (x > 0) or ~j = -1 - j (x < 0)            value ±fl(e[r-1] + fl(j * t[r]))
// rhe = round half to even. NaN -> the code {q = 0, region 0} (value +0). ±Inf -> ±m's code (region k,
// the top level). A channel with m == 0 (all zeros) encodes every value to {0, 0} and decodes every
// code to 0 (its steps are 0).
//
// The code (pwlq_code): `q` is a b-bit two's complement integer (range [-2^(b-1), 2^(b-1) - 1]) and
// `region` the region index 0..k. In a tail q >= 0 is the magnitude index j of a positive value and
// q < 0 is ~j (one's complement) of a negative one, so sign = (q < 0) and j = q ^ (q >> 7); in the
// reference variant ~j = j' - H where j' counts the negative levels up from -e[r], i.e. the tail
// codes are ordered as their values. A b-bit multiplier takes q (or sign and j); the region selects
// the accumulator (1 region bit for k = 1, 2 bits for k = 2, 3).
#pragma once

#include <cstdint>

#include "lowbit/ref/uniform.h"

namespace lowbit {

/// Which grids a PWLQ quantizer uses (see the numerics in lowbit/ref/pwlq.h).
enum class pwlq_variant : std::uint8_t {
  reference,  ///< the authors' published code: b-bit signed centre grid on (-p, p) with step
              ///< 2p / (2^b - 1), (b-1)-bit tails anchored at p (positive) and at -m (negative)
  paper,      ///< the paper's equation 3: sign + (b-1)-bit magnitude, centre step p / (2^(b-1) - 1),
              ///< tails p + j (m - p) / (2^(b-1) - 1), exactly symmetric
};

/// One unpacked PWLQ code: a b-bit two's complement `q` and the region index (0 = centre, 1..k the
/// tails, innermost first). Two bytes, `q` first (the layout of a little-endian int16
/// q | region << 8). See lowbit/ref/pwlq.h for what q means in each region and variant.
struct pwlq_code {
  std::int8_t q = 0;
  std::uint8_t region = 0;
  friend constexpr bool operator==(pwlq_code, pwlq_code) noexcept = default;
};

}  // namespace lowbit

namespace lowbit::ref {

/// Round half to even for |v| < 2^22 (and only there): (v + 1.5 * 2^23) - 1.5 * 2^23 in float32 under the
/// default rounding mode, which equals round_half_even(v) up to the sign of a zero result. Branch-free,
/// which a SIMD kernel can copy. Every argument the PWLQ oracle rounds is in [-2^7 - 1, 2^7 + 1].
constexpr float pwlq_round_small(float v) noexcept {
  constexpr float magic = 12582912.0f;  // 1.5 * 2^23
  return (v + magic) - magic;
}

/// The most breakpoints a PWLQ channel has.
inline constexpr int pwlq_max_breakpoints = 3;

/// Validated parameters of one PWLQ channel, with the derived steps (make_pwlq_run).
struct pwlq_run {
  float edge[pwlq_max_breakpoints + 1] = {};  ///< e[0..k-1] = breakpoints, e[k] = m; unused = m
  float centre_step = 0.0f;                   ///< c
  float tail_step[pwlq_max_breakpoints] = {}; ///< t[1..k] stored at [0..k-1]
  float half = 0.0f;                          ///< H = 2^(b-1)
  float levels = 0.0f;                        ///< L = 2^(b-1) - 1
  int k = 1;                                  ///< breakpoints
  int bits = 4;                               ///< b
  pwlq_variant variant = pwlq_variant::reference;
  bool zero = false;                          ///< m == 0: every value encodes to {0, 0}
};

/// The derived parameters of a channel: breakpoints bp[0..k-1], max |x| m, b bits (the numerics at the
/// top of this file). m == 0 gives the all-zero channel (breakpoints ignored, every step 0). No check:
/// lowbit::pwlq_params validates (0 < p1 < ... < pk < m, finite, every step > 0).
constexpr pwlq_run make_pwlq_run(int bits, pwlq_variant variant, float m, const float* bp, int k) noexcept {
  pwlq_run r;
  r.k = k;
  r.bits = bits;
  r.variant = variant;
  r.half = static_cast<float>(1 << (bits - 1));
  r.levels = r.half - 1.0f;
  if (m == 0.0f) {
    r.zero = true;
    return r;  // every edge and step 0
  }
  for (int i = 0; i < pwlq_max_breakpoints + 1; ++i) r.edge[i] = i < k ? bp[i] : m;
  if (variant == pwlq_variant::reference) {
    // float32(2p / (2^b - 1)): the double quotient is the real one rounded, and rounding it again to
    // float gives the correctly rounded float quotient (double rounding is innocuous for division).
    r.centre_step = static_cast<float>(2.0 * static_cast<double>(bp[0]) /
                                       static_cast<double>((1 << bits) - 1));
  } else {
    r.centre_step = bp[0] / r.levels;
  }
  for (int i = 0; i < k; ++i) r.tail_step[i] = (r.edge[i + 1] - r.edge[i]) / r.levels;
  return r;
}

/// The code of one value (numerics at the top of this file).
constexpr pwlq_code pwlq_encode_value(float x, const pwlq_run& r) noexcept {
  if (r.zero || x != x) return {};
  const float ax = x < 0.0f ? -x : x;
  if (ax < r.edge[0]) {
    if (r.variant == pwlq_variant::reference) {
      const float c = pwlq_round_small(x / r.centre_step);
      const float q = c < -r.half ? -r.half : (c > r.levels ? r.levels : c);
      return {static_cast<std::int8_t>(q), 0};
    }
    const float j0 = pwlq_round_small(ax / r.centre_step);
    const float j = j0 > r.levels ? r.levels : j0;
    return {static_cast<std::int8_t>(x < 0.0f ? -j : j), 0};
  }
  int reg = 1;
  while (reg < r.k && ax >= r.edge[reg]) ++reg;
  const float lo = r.edge[reg - 1], hi = r.edge[reg], s = r.tail_step[reg - 1];
  float t;
  if (r.variant == pwlq_variant::reference) {
    if (x > 0.0f) {
      const float xc = x < hi ? x : hi;
      t = (xc - lo) / s;
    } else {
      const float xc = x > -hi ? x : -hi;
      t = (xc + hi) / s;
    }
  } else {
    const float ac = ax < hi ? ax : hi;
    t = (ac - lo) / s;
  }
  const float j0 = pwlq_round_small(t);
  const float j = j0 < 0.0f ? 0.0f : (j0 > r.levels ? r.levels : j0);
  const float q = x > 0.0f ? j : (r.variant == pwlq_variant::reference ? j - r.half : -1.0f - j);
  return {static_cast<std::int8_t>(q), static_cast<std::uint8_t>(reg)};
}

/// The value of one code: the level it stands for (numerics at the top of this file). A region above
/// k is read as k; q is used as given (codes from pwlq_encode_value are always in range).
constexpr float pwlq_decode_value(pwlq_code code, const pwlq_run& r) noexcept {
  const float q = static_cast<float>(code.q);
  if (code.region == 0) return q * r.centre_step;
  const int reg = code.region > r.k ? r.k : code.region;
  const float lo = r.edge[reg - 1], hi = r.edge[reg], s = r.tail_step[reg - 1];
  if (r.variant == pwlq_variant::reference) {
    return code.q >= 0 ? q * s + lo : (q + r.half) * s - hi;
  }
  const float j = code.q >= 0 ? q : -1.0f - q;
  const float v = lo + j * s;
  return code.q >= 0 ? v : -v;
}

/// decode(encode(x)) for one value.
constexpr float pwlq_fake_quantize_value(float x, const pwlq_run& r) noexcept {
  return pwlq_decode_value(pwlq_encode_value(x, r), r);
}

}  // namespace lowbit::ref
