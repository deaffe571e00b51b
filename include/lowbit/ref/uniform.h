// lowbit — scalar reference ("oracle") of uniform affine quantization.
// SPDX-License-Identifier: Apache-2.0
//
// These functions define lowbit's uniform numerics. The SIMD kernels in src/cpu/ must agree with
// them bit for bit on every input (tests/uniform_simd_test.cc checks every compiled target).
// They take already-validated parameters: they never throw and never allocate.
#pragma once

#include <cstddef>
#include <cstdint>

#include "lowbit/profile.h"
#include "lowbit/quant_params.h"

namespace lowbit::ref {

/// Rounds to the nearest integer, ties to even (IEEE roundTiesToEven, as std::nearbyint under the
/// default floating-point environment). NaN, ±Inf and |v| >= 2^23 are returned unchanged.
constexpr float round_half_even(float v) noexcept {
  const float a = v < 0.0f ? -v : v;
  if (!(a < 8388608.0f)) return v;  // NaN, Inf, or already an integer
  const float t = static_cast<float>(static_cast<std::int32_t>(v));  // toward zero, exact
  const float d = v - t;                                             // exact, in (-1, 1)
  const float ad = d < 0.0f ? -d : d;
  const float away = t + (v < 0.0f ? -1.0f : 1.0f);
  // Below the tie keep t; above it go away; on an exact tie pick the even neighbour.
  const float r = ad < 0.5f ? t : (ad > 0.5f ? away : ((static_cast<std::int32_t>(t) % 2 == 0) ? t : away));
  return r == 0.0f ? (v < 0.0f ? -0.0f : 0.0f) : r;  // keep the sign of zero, as nearbyint does
}

/// Rounds to the nearest integer, ties away from zero (as std::round). NaN, ±Inf and
/// |v| >= 2^23 are returned unchanged.
constexpr float round_half_away(float v) noexcept {
  const float a = v < 0.0f ? -v : v;
  if (!(a < 8388608.0f)) return v;
  const float t = static_cast<float>(static_cast<std::int32_t>(v));
  const float d = v - t;
  const float ad = d < 0.0f ? -d : d;
  const float r = ad < 0.5f ? t : t + (v < 0.0f ? -1.0f : 1.0f);
  return r == 0.0f ? (v < 0.0f ? -0.0f : 0.0f) : r;  // keep the sign of zero, as std::round does
}

/// Validated per-tensor ("run") parameters of a kernel. `inv_scale` must equal 1.0f / scale
/// (float32 division); `zero_point`, `qmin`, `qmax` are integers held exactly as float.
struct run_params {
  float scale;
  float inv_scale;
  float zero_point;
  float qmin;
  float qmax;
  profile numerics;
};

/// The run parameters of parameter index k of validated parameters p (0 for per-tensor).
inline run_params run_params_of(const quant_params& p, std::size_t k = 0) noexcept {
  return {p.scales()[k], p.inv_scales()[k], p.zero_points_f()[k], static_cast<float>(p.format().qmin()),
          static_cast<float>(p.format().qmax()), p.numerics()};
}

/// Validated per-element ("row") parameters: element i uses scale[i], inv_scale[i], zero_point[i].
struct row_params {
  const float* scale;
  const float* inv_scale;
  const float* zero_point;
  float qmin;
  float qmax;
  profile numerics;
};

/// The code of one value, as a float holding an integer in [qmin, qmax]:
///   v = x / scale            (profiles onnx, tflite: float32 division)
///   v = x * inv_scale        (profile pytorch: float32 multiply by the float32 reciprocal)
///   NaN v -> zero_point; otherwise r = round(v) (half to even; half away for tflite),
///   code = clamp(r + zero_point, qmin, qmax). ±Inf saturate to qmin / qmax.
constexpr float quantize_value(float x, float scale, float inv_scale, float zero_point, float qmin,
                               float qmax, profile numerics) noexcept {
  const float v = numerics == profile::pytorch ? x * inv_scale : x / scale;
  if (v != v) return zero_point;
  const float r = numerics == profile::tflite ? round_half_away(v) : round_half_even(v);
  const float y = r + zero_point;
  return y < qmin ? qmin : (y > qmax ? qmax : y);
}

/// The value of one code: float32((code - zero_point)) * scale, one float32 multiply. (TFLite
/// computes it as double and rounds to float; since |code - zero_point| < 2^17 the product is exact
/// in double, so the result is the same float.)
constexpr float dequantize_value(float code, float scale, float zero_point) noexcept {
  return (code - zero_point) * scale;
}

template <class Code>
constexpr void quantize_run(const float* x, std::size_t n, const run_params& p, Code* q) noexcept {
  for (std::size_t i = 0; i < n; ++i) {
    q[i] = static_cast<Code>(quantize_value(x[i], p.scale, p.inv_scale, p.zero_point, p.qmin, p.qmax,
                                            p.numerics));
  }
}

template <class Code>
constexpr void quantize_row(const float* x, std::size_t n, const row_params& p, Code* q) noexcept {
  for (std::size_t i = 0; i < n; ++i) {
    q[i] = static_cast<Code>(quantize_value(x[i], p.scale[i], p.inv_scale[i], p.zero_point[i], p.qmin,
                                            p.qmax, p.numerics));
  }
}

template <class Code>
constexpr void dequantize_run(const Code* q, std::size_t n, const run_params& p, float* y) noexcept {
  for (std::size_t i = 0; i < n; ++i) {
    y[i] = dequantize_value(static_cast<float>(q[i]), p.scale, p.zero_point);
  }
}

template <class Code>
constexpr void dequantize_row(const Code* q, std::size_t n, const row_params& p, float* y) noexcept {
  for (std::size_t i = 0; i < n; ++i) {
    y[i] = dequantize_value(static_cast<float>(q[i]), p.scale[i], p.zero_point[i]);
  }
}

/// dequantize(quantize(x)) in one pass; NaN -> 0.0f, ±Inf -> the extreme levels.
constexpr void fake_quantize_run(const float* x, std::size_t n, const run_params& p, float* y) noexcept {
  for (std::size_t i = 0; i < n; ++i) {
    const float c = quantize_value(x[i], p.scale, p.inv_scale, p.zero_point, p.qmin, p.qmax, p.numerics);
    y[i] = dequantize_value(c, p.scale, p.zero_point);
  }
}

constexpr void fake_quantize_row(const float* x, std::size_t n, const row_params& p, float* y) noexcept {
  for (std::size_t i = 0; i < n; ++i) {
    const float c = quantize_value(x[i], p.scale[i], p.inv_scale[i], p.zero_point[i], p.qmin, p.qmax,
                                   p.numerics);
    y[i] = dequantize_value(c, p.scale[i], p.zero_point[i]);
  }
}

/// Requantize = quantize with `to` (and its profile) of the float32 dequantization with `from`.
template <class In, class Out>
constexpr void requantize_run(const In* q, std::size_t n, const run_params& from, const run_params& to,
                              Out* out) noexcept {
  for (std::size_t i = 0; i < n; ++i) {
    const float v = dequantize_value(static_cast<float>(q[i]), from.scale, from.zero_point);
    out[i] = static_cast<Out>(
        quantize_value(v, to.scale, to.inv_scale, to.zero_point, to.qmin, to.qmax, to.numerics));
  }
}

template <class In, class Out>
constexpr void requantize_row(const In* q, std::size_t n, const row_params& from, const row_params& to,
                              Out* out) noexcept {
  for (std::size_t i = 0; i < n; ++i) {
    const float v = dequantize_value(static_cast<float>(q[i]), from.scale[i], from.zero_point[i]);
    out[i] = static_cast<Out>(quantize_value(v, to.scale[i], to.inv_scale[i], to.zero_point[i], to.qmin,
                                             to.qmax, to.numerics));
  }
}

}  // namespace lowbit::ref
