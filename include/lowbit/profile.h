// lowbit — numerics profiles: which runtime's rounding a uniform quantizer reproduces.
// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace lowbit {

/// The numerics of uniform quantization, each bit-exact to the runtime it names. In all three,
/// code = clamp(round(v) + zero_point, qmin, qmax), NaN -> zero_point, ±Inf saturate; they differ in v
/// and in the tie rule:
enum class profile : std::uint8_t {
  onnx,     ///< v = x / scale (float32 division), ties to even. ONNX QuantizeLinear. The default.
  pytorch,  ///< v = x * (1.0f / scale) (float32 reciprocal, then multiply), ties to even. FBGEMM.
  tflite,   ///< v = x / scale (float32 division), ties away from zero. TFLite reference Quantize.
};

constexpr const char* to_string(profile p) noexcept {
  switch (p) {
    case profile::onnx: return "onnx";
    case profile::pytorch: return "pytorch";
    case profile::tflite: return "tflite";
  }
  return "unknown";
}

/// The profile named `name` ("onnx", "pytorch", "tflite"), or nullopt.
constexpr std::optional<profile> profile_from_string(std::string_view name) noexcept {
  for (const profile p : {profile::onnx, profile::pytorch, profile::tflite}) {
    if (name == to_string(p)) return p;
  }
  return std::nullopt;
}

}  // namespace lowbit
