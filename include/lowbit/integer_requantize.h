// lowbit — requantization of int32 accumulators into int8 / uint8 / int16 codes with a fixed-point
// multiplier, bit-exact to TFLite (both roundings), gemmlowp and CMSIS-NN.
// SPDX-License-Identifier: Apache-2.0
//
// Numerics (lowbit/ref/integer_requantize.h is the executable definition):
//   real          = input_scale * weight_scale[c] / output_scale        (double)
//   {m, shift}    = quantize_multiplier(real):  real ≈ m * 2^(shift - 31), m in [2^30, 2^31)
//   y             = multiply_by_quantized_multiplier(acc, {m, shift}, rounding)
//                   double_rounding: RoundingDivideByPOT(SRDHM(acc << max(shift,0), m), max(-shift,0))
//                   single_rounding: (int64(acc) * m + 2^(30-shift)) >> (31-shift), saturated to int32
//   code          = clamp(y + zero_point, act_min, act_max)     (no overflow: the sum is exact)
// The kernels behind requantize() are SIMD (Highway, runtime dispatch) and equal the reference bit for
// bit on every target; parameters are validated once, when a requant_params is made.
#pragma once

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "lowbit/error.h"
#include "lowbit/ref/integer_requantize.h"

namespace lowbit::detail {
struct requant_kernel_params;
}

namespace lowbit::fxp {

/// TFLite's QuantizeMultiplier(double): q = frexp(real, &shift) (q in [0.5, 1)), m = std::round(q * 2^31)
/// (ties away from zero); m == 2^31 becomes 2^30 with shift + 1; shift < -31 flushes to {0, 0} (real
/// below ~2^-32); real == 0 gives {0, 0}. Throws lowbit::error(errc::invalid_scale) when real is NaN,
/// infinite, negative, or so large that shift > 30 (real >= 2^30 - 2^-2, about).
quantized_multiplier quantize_multiplier(double real);

/// The real number a quantized multiplier stands for: m * 2^(shift - 31) (exact in double).
double dequantize_multiplier(quantized_multiplier m) noexcept;

/// Validated parameters of int32 -> code requantization:
///   out[i] = clamp(multiply_by_quantized_multiplier(acc[i], m[c], rounding) + zero_point, act_min, act_max)
/// with c = i % channels(). Immutable once made; copies are cheap enough to pass around by reference.
class requant_params {
 public:
  /// One multiplier for every element. Throws errc::invalid_scale if m.multiplier < 0 or m.shift is
  /// outside [-31, 30]; errc::invalid_range if act_min > act_max.
  static requant_params per_tensor(quantized_multiplier m, std::int32_t zero_point, std::int32_t act_min,
                                   std::int32_t act_max, requant_rounding r = requant_rounding::double_rounding);
  /// One multiplier per channel; channel of element i = i % multipliers.size() (the innermost axis:
  /// NHWC / [batch, out_features]). Throws errc::count_mismatch if m is empty, and as per_tensor.
  static requant_params per_channel(std::span<const quantized_multiplier> m, std::int32_t zero_point,
                                    std::int32_t act_min, std::int32_t act_max,
                                    requant_rounding r = requant_rounding::double_rounding);
  /// From float scales, as TFLite does:
  ///   m[c] = quantize_multiplier(double(input_scale) * double(weight_scale[c]) / double(output_scale)).
  /// One weight scale makes it per-tensor. Throws errc::invalid_scale if a scale is not finite and > 0
  /// (or the multiplier is out of range), errc::count_mismatch if weight_scales is empty, as per_tensor.
  static requant_params from_scales(float input_scale, std::span<const float> weight_scales, float output_scale,
                                    std::int32_t zero_point, std::int32_t act_min, std::int32_t act_max,
                                    requant_rounding r = requant_rounding::double_rounding);

  std::span<const quantized_multiplier> multipliers() const noexcept { return multipliers_; }
  std::int32_t zero_point() const noexcept { return zero_point_; }
  std::int32_t act_min() const noexcept { return act_min_; }
  std::int32_t act_max() const noexcept { return act_max_; }
  requant_rounding rounding() const noexcept { return rounding_; }
  std::size_t channels() const noexcept { return multipliers_.size(); }
  bool is_per_tensor() const noexcept { return multipliers_.size() == 1; }

  /// The code of one accumulator of channel c (c < channels()): the scalar reference.
  std::int32_t apply(std::int32_t acc, std::size_t c = 0) const noexcept {
    return requantize_value(acc, multipliers_[c], rounding_, zero_point_, act_min_, act_max_);
  }

 private:
  requant_params() = default;
  friend ::lowbit::detail::requant_kernel_params make_kernel_params(const requant_params& p) noexcept;

  std::vector<quantized_multiplier> multipliers_;
  std::vector<std::int32_t> tables_;  // multiplier, left shift, right shift: channels + pad entries each
  std::int32_t zero_point_ = 0;
  std::int32_t act_min_ = 0;
  std::int32_t act_max_ = 0;
  requant_rounding rounding_ = requant_rounding::double_rounding;
  int min_shift_ = 0;
  int max_shift_ = 0;
};

/// Code types requantize writes.
template <class T>
concept requant_code = std::same_as<T, std::int8_t> || std::same_as<T, std::uint8_t> || std::same_as<T, std::int16_t>;

/// Requantizes accumulators into codes (numerics above), SIMD. Throws errc::type_mismatch if
/// act_min / act_max lie outside Code's range, errc::invalid_zero_point if zero_point does, and
/// errc::size_mismatch when acc.size() != out.size() or (per-channel) acc.size() % channels != 0.
/// acc and out must not overlap.
template <requant_code Code>
void requantize(std::span<const std::int32_t> acc, const requant_params& p, std::span<Code> out);

/// The int64-accumulator variant of TFLite's 16x8 kernels (scalar): out[i] =
/// clamp(multiply_by_quantized_multiplier(int64 acc[i], m[c]) + zero_point, act_min, act_max) (see the
/// int64 overload in lowbit/ref/integer_requantize.h: 16-bit reduced multiplier, one rounding half up).
/// Throws as the int32 requantize.
template <requant_code Code>
void requantize(std::span<const std::int64_t> acc, const requant_params& p, std::span<Code> out);

/// The name of the SIMD target the requantization kernels run on ("AVX3", "AVX2", ..., "reference").
const char* requantize_simd_target() noexcept;

}  // namespace lowbit::fxp
