// lowbit — uniform affine quantization: quantize, dequantize, fake-quantize, requantize.
// SPDX-License-Identifier: Apache-2.0
//
// Numerics (the README's "Numerics" section derives them; lowbit/ref/uniform.h is the executable
// definition). For an element x with parameters (scale, zero_point) of format [qmin, qmax]:
//   v    = x / scale                  profiles onnx, tflite (float32 division)
//   v    = x * (1.0f / scale)         profile pytorch (float32 reciprocal, float32 multiply)
//   code = clamp(round(v) + zero_point, qmin, qmax)
//          round: half to even (onnx, pytorch), half away from zero (tflite)
//          NaN -> zero_point;  +Inf -> qmax;  -Inf -> qmin;  finite overflow saturates
//   value = float32(code - zero_point) * scale   (one float32 multiply, no FMA)
// Every function validates at the boundary and throws lowbit::error; the kernels behind them are SIMD
// (Highway, runtime dispatch) for int8 / uint8 / int16 codes and the scalar reference otherwise.
#pragma once

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <type_traits>
#include <utility>

#include "lowbit/quant_params.h"
#include "lowbit/quantizer.h"

namespace lowbit {

/// Unpacked storage of one code.
template <class T>
concept code_storage = std::same_as<T, std::int8_t> || std::same_as<T, std::uint8_t> ||
                       std::same_as<T, std::int16_t> || std::same_as<T, std::uint16_t>;

namespace detail {
/// Throws errc::type_mismatch unless Code holds p's codes (same signedness, bits <= storage bits).
template <code_storage Code>
void check_code_storage(const quant_params& p, const char* what) {
  const code_format f = p.format();
  if (f.is_signed != std::is_signed_v<Code> || f.bits > static_cast<int>(8 * sizeof(Code))) {
    throw error(errc::type_mismatch, std::string(what) + ": a " + std::to_string(8 * sizeof(Code)) + "-bit " +
                                         (std::is_signed_v<Code> ? "signed" : "unsigned") +
                                         " storage cannot hold " + std::to_string(f.bits) + "-bit " +
                                         (f.is_signed ? "signed" : "unsigned") + " codes");
  }
}
}  // namespace detail

/// Quantizes x with p into q (numerics above, p.numerics() chooses the profile).
/// Throws errc::type_mismatch if Code cannot hold p.format() (signedness must match, bits <= storage
/// bits), errc::size_mismatch if q.size() != x.size() or, unless per_tensor, x.size() !=
/// p.element_count(). x and q are in C order of p.shape(); they must not overlap.
template <code_storage Code>
void quantize(std::span<const float> x, const quant_params& p, std::span<Code> q);

/// Dequantizes q with p into y: y = float32(q - zero_point) * scale. Throws as quantize.
template <code_storage Code>
void dequantize(std::span<const Code> q, const quant_params& p, std::span<float> y);

/// y = dequantize(quantize(x)) in one pass, for any code format of p (no storage type involved).
/// NaN -> 0.0f; ±Inf -> the extreme levels. Throws errc::size_mismatch. y may alias x exactly.
void fake_quantize(std::span<const float> x, const quant_params& p, std::span<float> y);

/// Requantizes codes of `from` into codes of `to`: out = quantize_to(dequantize_from(q)), each step with
/// the float32 numerics above (to.numerics() rounds). `from` and `to` may differ in every respect but
/// the element count. SIMD when both have the same layout (granularity, shape, axis, block size).
/// Throws errc::type_mismatch, errc::size_mismatch as quantize, for each side.
template <code_storage In, code_storage Out>
void requantize(std::span<const In> q, const quant_params& from, const quant_params& to, std::span<Out> out);

/// Bytes needed to pack `count` codes of at most 4 bits: (count + 1) / 2.
constexpr std::size_t packed4_size(std::size_t count) noexcept { return (count + 1) / 2; }

/// Quantizes x into 4-bit-or-narrower codes packed two per byte. Nibble order (as ONNX INT4/UINT4):
/// element 2i in the low nibble (bits 0..3) of byte i, element 2i+1 in the high nibble; an odd count
/// leaves the last high nibble 0. Signed codes are stored in two's complement (-8 = 0x8).
/// Throws errc::type_mismatch if p.format().bits > 4, errc::size_mismatch if packed.size() !=
/// packed4_size(x.size()) (and as quantize).
void quantize_packed4(std::span<const float> x, const quant_params& p, std::span<std::uint8_t> packed);

/// Unpacks and dequantizes y.size() codes written by quantize_packed4. Throws as quantize_packed4.
void dequantize_packed4(std::span<const std::uint8_t> packed, const quant_params& p, std::span<float> y);

/// The uniform affine quantizer as a lowbit::quantizer: one float -> one Code.
/// encode = quantize, decode = dequantize, with the numerics above.
template <code_storage Code>
class uniform_quantizer {
 public:
  using value_type = float;
  using code_type = Code;

  /// Throws errc::type_mismatch if Code cannot hold params.format().
  explicit uniform_quantizer(quant_params params) : params_(std::move(params)) {
    detail::check_code_storage<Code>(params_, "uniform_quantizer");
  }

  const quant_params& params() const noexcept { return params_; }
  static constexpr std::size_t codes_per_value() noexcept { return 1; }
  int bits() const noexcept { return params_.format().bits; }
  void encode(std::span<const float> values, std::span<Code> codes) const { quantize(values, params_, codes); }
  void decode(std::span<const Code> codes, std::span<float> values) const { dequantize(codes, params_, values); }

 private:
  quant_params params_;
};

/// The name of the SIMD target the kernels run on ("AVX3", "AVX2", ..., or "reference").
const char* simd_target() noexcept;

}  // namespace lowbit
