// lowbit — the compiled integer requantization kernels (SIMD with runtime dispatch, or the scalar
// reference when LOWBIT_SIMD=OFF). Internal: users call lowbit/integer_requantize.h. Parameters must
// already be valid (lowbit::fxp::requant_params validates them).
// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstddef>
#include <cstdint>

#include "lowbit/ref/integer_requantize.h"

namespace lowbit::detail {

/// Extra entries after the `channels` entries of each channel table: table[j] holds channel
/// j % channels for j < channels + k_requant_pad, so a vector of up to k_requant_pad lanes starting
/// at any channel reads its lanes' parameters with one unaligned load.
inline constexpr std::size_t k_requant_pad = 64;

/// Validated requantization parameters, as the kernels read them. Element i uses channel i % channels.
struct requant_kernel_params {
  const std::int32_t* multiplier;   ///< [channels + k_requant_pad], each in [0, 2^31)
  const std::int32_t* left_shift;   ///< max(shift, 0), in [0, 30]
  const std::int32_t* right_shift;  ///< max(-shift, 0), in [0, 31]
  std::size_t channels;             ///< >= 1 (1: per-tensor)
  std::int32_t zero_point;
  std::int32_t act_min;             ///< act_min <= act_max, both inside the output type's range
  std::int32_t act_max;
  fxp::requant_rounding rounding;
  int min_shift;                    ///< smallest and largest shift over the channels
  int max_shift;
};

/// The reference: out[i] = fxp::requantize_value(acc[i], channel i % channels ...).
template <class Code>
inline void requantize_s32_reference(const std::int32_t* acc, std::size_t n, const requant_kernel_params& p,
                                     Code* out) noexcept {
  std::size_t c = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const fxp::quantized_multiplier m{p.multiplier[c], p.left_shift[c] - p.right_shift[c]};
    out[i] = static_cast<Code>(fxp::requantize_value(acc[i], m, p.rounding, p.zero_point, p.act_min, p.act_max));
    if (++c == p.channels) c = 0;
  }
}

// int32 accumulators -> codes (S32ToS8, S32ToU8, S32ToS16), per-tensor and per-channel alike.
void requantize_s32(const std::int32_t* acc, std::size_t n, const requant_kernel_params& p, std::int8_t* out) noexcept;
void requantize_s32(const std::int32_t* acc, std::size_t n, const requant_kernel_params& p, std::uint8_t* out) noexcept;
void requantize_s32(const std::int32_t* acc, std::size_t n, const requant_kernel_params& p, std::int16_t* out) noexcept;

/// Target control of these kernels: the same Highway targets as the uniform kernels
/// (lowbit/detail/uniform_kernels.h: available_targets, force_target); this names the target the
/// requantization kernels dispatch to now ("AVX3", ..., "reference").
const char* requantize_active_target_name() noexcept;

}  // namespace lowbit::detail
