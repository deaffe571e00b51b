// lowbit — scalar reference ("oracle") of integer requantization: int32 accumulators scaled by a
// fixed-point multiplier, as TFLite, gemmlowp and CMSIS-NN do it.
// SPDX-License-Identifier: Apache-2.0
//
// These functions define lowbit's integer requantization numerics. The SIMD kernels in src/cpu/ must
// agree with them bit for bit (tests/integer_requantize_test.cc checks every compiled target).
// They never throw, never allocate, and are defined (no undefined behaviour) for every input.
#pragma once

#include <cstdint>
#include <limits>

#include "lowbit/fixed_point.h"  // saturating_rounding_doubling_high_mul, rounding_divide_by_pot

namespace lowbit::fxp {

/// real ≈ multiplier * 2^(shift - 31); multiplier in [2^30, 2^31) (or 0 for real == 0), as TFLite's
/// QuantizeMultiplier. shift > 0 is a left shift, shift < 0 a right shift. The functions below accept
/// any multiplier in [0, 2^31) and clamp shift into [-31, 30] (the range TFLite supports).
struct quantized_multiplier {
  std::int32_t multiplier = 0;
  int shift = 0;
  friend constexpr bool operator==(const quantized_multiplier&, const quantized_multiplier&) = default;
};

/// How multiply_by_quantized_multiplier(int32) rounds.
enum class requant_rounding : std::uint8_t {
  /// TFLite's default (reference and optimized kernels), gemmlowp, CMSIS-NN:
  ///   RoundingDivideByPOT(SaturatingRoundingDoublingHighMul(x << max(shift, 0), m), max(-shift, 0)).
  /// The left shift is an int32 shift that wraps modulo 2^32 (as TFLite's and CMSIS-NN's kernels
  /// behave on every target; only huge accumulators with shift > 0 can wrap).
  /// SaturatingRoundingDoublingHighMul(a, b) = floor((a*b + 2^30) / 2^31): round half up (toward
  /// +inf; identical to gemmlowp's nudge-and-truncate and to ARM's VQRDMULH), INT32_MIN*INT32_MIN
  /// saturates to INT32_MAX. RoundingDivideByPOT(v, e) = v / 2^e rounded half away from zero.
  double_rounding,
  /// TFLITE_SINGLE_ROUNDING (TFLite Micro's default since 2022): one rounding of x * m / 2^(31 - shift),
  /// half up (toward +inf): (int64(x)*m + 2^(30-shift)) >> (31 - shift) in int64, the result
  /// saturated to int32 (TFLite only DCHECKs that it fits).
  single_rounding,
};

namespace requant_detail {

inline constexpr std::int32_t k_int32_min = std::numeric_limits<std::int32_t>::min();
inline constexpr std::int32_t k_int32_max = std::numeric_limits<std::int32_t>::max();

constexpr int clamp_shift(int shift) noexcept { return shift < -31 ? -31 : (shift > 30 ? 30 : shift); }

constexpr std::int32_t saturate_to_int32(std::int64_t v) noexcept {
  return v < k_int32_min ? k_int32_min : (v > k_int32_max ? k_int32_max : static_cast<std::int32_t>(v));
}

/// x << s as an int32 shift that wraps modulo 2^32, s in [0, 31].
constexpr std::int32_t wrapping_shift_left(std::int32_t x, int s) noexcept {
  return static_cast<std::int32_t>(static_cast<std::uint32_t>(x) << s);  // C++20: modular conversion
}

}  // namespace requant_detail

/// x * real, with real = m.multiplier * 2^(m.shift - 31), rounded as `r` says (see requant_rounding).
/// Defined for every x; m.shift is clamped into [-31, 30].
constexpr std::int32_t multiply_by_quantized_multiplier(std::int32_t x, quantized_multiplier m,
                                                        requant_rounding r) noexcept {
  const int shift = requant_detail::clamp_shift(m.shift);
  if (r == requant_rounding::single_rounding) {
    const int total_shift = 31 - shift;  // 1 .. 62
    const std::int64_t round = std::int64_t{1} << (total_shift - 1);
    // |x * m| <= 2^62 and round <= 2^61: the sum fits in int64.
    const std::int64_t result = (static_cast<std::int64_t>(x) * m.multiplier + round) >> total_shift;
    return requant_detail::saturate_to_int32(result);
  }
  const int left_shift = shift > 0 ? shift : 0;
  const int right_shift = shift > 0 ? 0 : -shift;
  return rounding_divide_by_pot(
      saturating_rounding_doubling_high_mul(requant_detail::wrapping_shift_left(x, left_shift),
                                                            m.multiplier),
      right_shift);
}

/// TFLite's int64-input variant, used by the 16x8 kernels (int16 activations, int64 accumulators).
/// TFLite uses ONE formula for it in both builds (the default double-rounding build and
/// TFLITE_SINGLE_ROUNDING alike), so `r` does not change the result: the multiplier is first reduced to
/// 16 bits, rm = m < 0x7FFF0000 ? (m + 2^15) >> 16 : 0x7FFF, then a single rounding half up:
///   (x * rm + 2^(14 - shift)) >> (15 - shift)
/// computed exactly (TFLite assumes |x| < 2^47 and shift < 8; here any x is fine and shift in [-31, 30],
/// a shift above 14 being an exact left shift), the result saturated to int32.
constexpr std::int32_t multiply_by_quantized_multiplier(std::int64_t x, quantized_multiplier m,
                                                        requant_rounding r) noexcept {
  static_cast<void>(r);
  const int shift = requant_detail::clamp_shift(m.shift);
  const std::int32_t reduced = m.multiplier < 0x7FFF0000 ? ((m.multiplier + (1 << 15)) >> 16) : 0x7FFF;
  __extension__ typedef __int128 wide;  // |x * reduced| < 2^79; with the left shifts below < 2^94
  const wide product = static_cast<wide>(x) * reduced;
  const int total_shift = 15 - shift;  // -15 .. 46
  wide result;
  if (total_shift > 0) {
    result = (product + (static_cast<wide>(1) << (total_shift - 1))) >> total_shift;
  } else {
    result = product * (static_cast<wide>(1) << -total_shift);
  }
  return result < requant_detail::k_int32_min
             ? requant_detail::k_int32_min
             : (result > requant_detail::k_int32_max ? requant_detail::k_int32_max
                                                     : static_cast<std::int32_t>(result));
}

/// One requantized code, as an int32: clamp(multiply_by_quantized_multiplier(acc, m, r) + zero_point,
/// act_min, act_max), the addition done without overflow (in int64). Requires act_min <= act_max.
constexpr std::int32_t requantize_value(std::int32_t acc, quantized_multiplier m, requant_rounding r,
                                        std::int32_t zero_point, std::int32_t act_min,
                                        std::int32_t act_max) noexcept {
  const std::int64_t v = static_cast<std::int64_t>(multiply_by_quantized_multiplier(acc, m, r)) + zero_point;
  return static_cast<std::int32_t>(v < act_min ? act_min : (v > act_max ? act_max : v));
}

}  // namespace lowbit::fxp
