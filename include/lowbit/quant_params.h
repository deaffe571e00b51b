// lowbit — frozen, validated parameters of uniform affine quantization.
// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "lowbit/error.h"
#include "lowbit/profile.h"

namespace lowbit {

/// The integer codes of a uniform quantizer: `bits` in 2..16, signed or unsigned, full or narrow range.
///   signed:   qmin = -2^(bits-1) (+1 if narrow),  qmax = 2^(bits-1) - 1
///   unsigned: qmin = 0 (1 if narrow),             qmax = 2^bits - 1
/// Narrow range drops the lowest code, so that a signed symmetric grid is symmetric (-127..127).
struct code_format {
  int bits = 8;
  bool is_signed = true;
  bool narrow = false;

  constexpr std::int32_t qmin() const noexcept {
    return (is_signed ? -(std::int32_t{1} << (bits - 1)) : 0) + (narrow ? 1 : 0);
  }
  constexpr std::int32_t qmax() const noexcept {
    return is_signed ? (std::int32_t{1} << (bits - 1)) - 1 : (std::int32_t{1} << bits) - 1;
  }
  constexpr bool operator==(const code_format&) const = default;

  static constexpr code_format int8(bool narrow = false) noexcept { return {8, true, narrow}; }
  static constexpr code_format uint8(bool narrow = false) noexcept { return {8, false, narrow}; }
  static constexpr code_format int16(bool narrow = false) noexcept { return {16, true, narrow}; }
  static constexpr code_format uint16(bool narrow = false) noexcept { return {16, false, narrow}; }
  static constexpr code_format int4(bool narrow = false) noexcept { return {4, true, narrow}; }
  static constexpr code_format uint4(bool narrow = false) noexcept { return {4, false, narrow}; }
};

/// How parameters map onto the elements of a tensor.
enum class granularity : std::uint8_t {
  per_tensor,   ///< one scale and zero point for every element
  per_channel,  ///< one per index along `axis` (ONNX QuantizeLinear with axis)
  per_block,    ///< one per `block_size` consecutive indices along `axis`, for every position of the
                ///< other axes (ONNX blocked quantization; INT4 weight groups: shape [C, K], axis 1)
};

namespace detail {
/// The element count of a C-order shape. Throws lowbit::error(invalid_shape) for a negative
/// dimension or a count whose float32 bytes would overflow size_t.
inline std::size_t checked_element_count(std::span<const std::int64_t> shape) {
  std::size_t count = 1;
  for (std::size_t i = 0; i < shape.size(); ++i) {
    if (shape[i] < 0) {
      throw error(errc::invalid_shape, "shape[" + std::to_string(i) + "] = " + std::to_string(shape[i]) + " is negative");
    }
    const auto d = static_cast<std::size_t>(shape[i]);
    if (d != 0 && count > std::numeric_limits<std::size_t>::max() / 4 / d) {
      throw error(errc::invalid_shape, "the element count of the shape overflows");
    }
    count *= d;
  }
  return count;
}

/// `axis` of a tensor of `rank` dimensions, negative counting from the end, as an index in [0, rank).
/// Throws lowbit::error(invalid_axis) outside [-rank, rank).
inline int checked_axis(int axis, std::size_t rank) {
  const int r = static_cast<int>(rank);
  if (axis < -r || axis >= r) {
    throw error(errc::invalid_axis, "axis " + std::to_string(axis) + " is outside [-rank, rank) for rank " + std::to_string(r));
  }
  return axis < 0 ? axis + r : axis;
}

/// The product of the dimensions after `axis` (an index from checked_axis): the elements one step
/// along that axis spans in C order. For a shape checked_element_count accepted.
inline std::size_t inner_count(std::span<const std::int64_t> shape, std::size_t axis) {
  std::size_t inner = 1;
  for (std::size_t i = axis + 1; i < shape.size(); ++i) inner *= static_cast<std::size_t>(shape[i]);
  return inner;
}
}  // namespace detail

/// Frozen, validated parameters. Only the factories below make one, and each checks every rule,
/// throwing lowbit::error with the errc named in its comment. A quant_params value is immutable.
class quant_params {
 public:
  /// An immutable value whose copies share its arrays: copying is cheap and cannot throw, and moves
  /// copy, so a moved-from quant_params keeps its parameters and no function meets one without them.
  quant_params(const quant_params&) noexcept = default;
  quant_params& operator=(const quant_params&) noexcept = default;
  ~quant_params() = default;

  /// One scale / zero point for the whole tensor (any element count).
  /// Throws: unsupported_width, invalid_argument (a profile value outside the enum), invalid_scale
  /// (<= 0, NaN, Inf), invalid_zero_point (outside
  /// [qmin, qmax]).
  static quant_params per_tensor(code_format format, float scale, std::int32_t zero_point,
                                 profile numerics = profile::onnx) {
    quant_params p(format, numerics, granularity::per_tensor);
    arrays a;
    a.scales = {scale};
    a.zero_points = {zero_point};
    p.finish(std::move(a));
    return p;
  }

  /// One scale / zero point per index along `axis` of a C-order tensor of shape `shape`.
  /// `axis` may be negative (counted from the end). `zero_points` may be empty (all 0).
  /// Throws: as per_tensor, and invalid_shape, invalid_axis, count_mismatch (scales.size() or
  /// zero_points.size() != shape[axis]).
  static quant_params per_channel(code_format format, std::span<const std::int64_t> shape, int axis,
                                  std::span<const float> scales,
                                  std::span<const std::int32_t> zero_points = {},
                                  profile numerics = profile::onnx) {
    quant_params p(format, numerics, granularity::per_channel);
    arrays a;
    p.set_shape(a, shape, axis);
    p.set_values(a, scales, zero_points, static_cast<std::size_t>(shape[static_cast<std::size_t>(p.axis_)]));
    p.finish(std::move(a));
    return p;
  }

  /// One scale / zero point per block of `block_size` consecutive indices along `axis`. The
  /// parameters are laid out as a C-order tensor of `shape` with shape[axis] replaced by
  /// shape[axis] / block_size (ONNX's blocked layout): for a [C, K] weight with axis 1 that is
  /// [C, K / block_size], one group of block_size input features per output channel.
  /// Throws: as per_channel, and invalid_block_size (block_size <= 0 or not dividing shape[axis]).
  static quant_params per_block(code_format format, std::span<const std::int64_t> shape, int axis,
                                std::int64_t block_size, std::span<const float> scales,
                                std::span<const std::int32_t> zero_points = {},
                                profile numerics = profile::onnx) {
    quant_params p(format, numerics, granularity::per_block);
    arrays a;
    p.set_shape(a, shape, axis);
    const std::int64_t d = shape[static_cast<std::size_t>(p.axis_)];
    if (block_size <= 0 || d % block_size != 0) {
      throw error(errc::invalid_block_size, "block size " + std::to_string(block_size) +
                                                " does not divide shape[" + std::to_string(p.axis_) +
                                                "] = " + std::to_string(d));
    }
    p.block_size_ = block_size;
    p.set_values(a, scales, zero_points, p.element_count_ / static_cast<std::size_t>(block_size));
    p.finish(std::move(a));
    return p;
  }

  code_format format() const noexcept { return format_; }
  profile numerics() const noexcept { return numerics_; }
  lowbit::granularity granularity() const noexcept { return granularity_; }
  /// The tensor shape (empty for per_tensor).
  std::span<const std::int64_t> shape() const noexcept { return a_->shape; }
  /// The channel / block axis, normalised to [0, rank) (-1 for per_tensor).
  int axis() const noexcept { return axis_; }
  /// Block size along axis (0 unless per_block).
  std::int64_t block_size() const noexcept { return block_size_; }
  /// Element count of the shape (0 for per_tensor, which accepts any count).
  std::size_t element_count() const noexcept { return element_count_; }
  std::span<const float> scales() const noexcept { return a_->scales; }
  std::span<const std::int32_t> zero_points() const noexcept { return a_->zero_points; }
  /// 1.0f / scale for each scale (float32 division): the multiplier of the pytorch profile.
  std::span<const float> inv_scales() const noexcept { return a_->inv_scales; }
  /// The zero points as float (exact).
  std::span<const float> zero_points_f() const noexcept { return a_->zero_points_f; }

  bool operator==(const quant_params& o) const noexcept {
    return format_ == o.format_ && numerics_ == o.numerics_ && granularity_ == o.granularity_ &&
           a_->shape == o.a_->shape && axis_ == o.axis_ && block_size_ == o.block_size_ &&
           std::equal(a_->scales.begin(), a_->scales.end(), o.a_->scales.begin(), o.a_->scales.end(),
                      [](float a, float b) { return std::bit_cast<std::uint32_t>(a) ==
                                                    std::bit_cast<std::uint32_t>(b); }) &&
           a_->zero_points == o.a_->zero_points;
  }

  /// True when `o` maps every element to the parameter with the same index (same granularity,
  /// shape, axis and block size): the layout part of the parameters, not their values.
  bool same_layout(const quant_params& o) const noexcept {
    return granularity_ == o.granularity_ && a_->shape == o.a_->shape && axis_ == o.axis_ &&
           block_size_ == o.block_size_;
  }

 private:
  // The per-element arrays, built once by a factory and shared by every copy.
  struct arrays {
    std::vector<std::int64_t> shape;
    std::vector<float> scales;
    std::vector<std::int32_t> zero_points;
    std::vector<float> inv_scales;
    std::vector<float> zero_points_f;
  };

  quant_params(code_format f, profile n, lowbit::granularity g) : format_(f), numerics_(n), granularity_(g) {
    if (f.bits < 2 || f.bits > 16) {
      throw error(errc::unsupported_width,
                  "bit width " + std::to_string(f.bits) + " is outside the supported 2..16");
    }
    if (n != profile::onnx && n != profile::pytorch && n != profile::tflite) {
      throw error(errc::invalid_argument, "profile " + std::to_string(static_cast<int>(n)) + " is not one of onnx, pytorch, tflite");
    }
  }

  void set_shape(arrays& a, std::span<const std::int64_t> shape, int axis) {
    axis_ = detail::checked_axis(axis, shape.size());
    element_count_ = detail::checked_element_count(shape);
    a.shape.assign(shape.begin(), shape.end());
  }

  static void set_values(arrays& a, std::span<const float> scales, std::span<const std::int32_t> zero_points,
                         std::size_t expected) {
    if (scales.size() != expected) {
      throw error(errc::count_mismatch, std::to_string(scales.size()) + " scales given, the shape needs " +
                                            std::to_string(expected));
    }
    if (!zero_points.empty() && zero_points.size() != expected) {
      throw error(errc::count_mismatch, std::to_string(zero_points.size()) +
                                            " zero points given, the shape needs " + std::to_string(expected));
    }
    a.scales.assign(scales.begin(), scales.end());
    if (zero_points.empty()) {
      a.zero_points.assign(expected, 0);
    } else {
      a.zero_points.assign(zero_points.begin(), zero_points.end());
    }
  }

  // Validates the values of `a` and freezes them into this object.
  void finish(arrays&& a) {
    const std::int32_t qmin = format_.qmin(), qmax = format_.qmax();
    a.inv_scales.resize(a.scales.size());
    a.zero_points_f.resize(a.scales.size());
    for (std::size_t i = 0; i < a.scales.size(); ++i) {
      const float s = a.scales[i];
      if (!(s > 0.0f) || std::isinf(s)) {
        throw error(errc::invalid_scale, "scale[" + std::to_string(i) + "] = " + detail::float_text(s) +
                                             " must be finite and > 0");
      }
      const std::int32_t z = a.zero_points[i];
      if (z < qmin || z > qmax) {
        throw error(errc::invalid_zero_point, "zero_point[" + std::to_string(i) + "] = " + std::to_string(z) +
                                                  " is outside the code range [" + std::to_string(qmin) +
                                                  ", " + std::to_string(qmax) + "]");
      }
      a.inv_scales[i] = 1.0f / s;
      a.zero_points_f[i] = static_cast<float>(z);
    }
    a_ = std::make_shared<const arrays>(std::move(a));
  }

  code_format format_;
  profile numerics_;
  lowbit::granularity granularity_;
  int axis_ = -1;
  std::int64_t block_size_ = 0;
  std::size_t element_count_ = 0;
  std::shared_ptr<const arrays> a_;  // never null: every factory ends in finish()
};

namespace detail {
/// The largest scale <= s whose levels (q - zp) * s, q in [qmin, qmax], are all finite floats: s
/// itself unless the grid reaches past FLT_MAX (ranges within one step of it: the zero point's rounding
/// moves the grid by up to half a step, a symmetric signed grid has one code more below zero).
inline float finite_grid_scale(float s, std::int32_t zp, code_format f) noexcept {
  const double far = std::max(std::abs(static_cast<double>(f.qmin()) - zp), std::abs(static_cast<double>(f.qmax()) - zp));
  constexpr double kMax = std::numeric_limits<float>::max();
  if (static_cast<double>(s) * far <= kMax) return s;
  float t = static_cast<float>(kMax / far);
  while (static_cast<double>(t) * far > kMax) t = std::nextafter(t, 0.0f);
  return t;
}
}  // namespace detail

/// Parameters that map the range [min, max] (widened to include 0) onto the code format:
///   asymmetric: scale = (max' - min') / (qmax - qmin), zero_point = qmin - round_half_even(min' / scale),
///               clamped to [qmin, qmax];  min' = min(min, 0), max' = max(max, 0)
///   symmetric:  a = max(|min|, |max|); signed: zero_point = 0, scale = a / qmax;
///               unsigned: zero_point = (qmin + qmax + 1) / 2, scale = a / (qmax - zero_point)
/// A zero-width range (all zeros) gets scale 1; a scale below FLT_MIN is raised to FLT_MIN; a scale
/// whose extreme levels would overflow float (ranges reaching within one step of FLT_MAX) is
/// lowered until they are finite (detail::finite_grid_scale), so no finite value dequantizes to ±Inf.
/// Throws: invalid_range (NaN, Inf or min > max) and what per_tensor throws.
/// (Calibrators that choose min and max — percentile, MSE, entropy — are a separate layer.)
inline quant_params params_from_range(float min, float max, code_format format, bool symmetric,
                                      profile numerics = profile::onnx) {
  if (!std::isfinite(min) || !std::isfinite(max) || min > max) {
    throw error(errc::invalid_range, "range [" + detail::float_text(min) + ", " + detail::float_text(max) +
                                         "] is not a finite, ordered range");
  }
  if (format.bits < 2 || format.bits > 16) {
    throw error(errc::unsupported_width,
                "bit width " + std::to_string(format.bits) + " is outside the supported 2..16");
  }
  const float lo = std::min(min, 0.0f), hi = std::max(max, 0.0f);
  const float qmin = static_cast<float>(format.qmin()), qmax = static_cast<float>(format.qmax());
  const auto finish_scale = [](float s) {
    if (s == 0.0f) return 1.0f;
    return std::max(s, std::numeric_limits<float>::min());
  };
  if (symmetric) {
    const float a = std::max(-lo, hi);
    const std::int32_t zp = format.is_signed ? 0 : (format.qmin() + format.qmax() + 1) / 2;
    const float s = finish_scale(a / (qmax - static_cast<float>(zp)));
    return quant_params::per_tensor(format, detail::finite_grid_scale(s, zp, format), zp, numerics);
  }
  // hi - lo overflows for ranges wider than FLT_MAX (as params_for_range does, divide first then).
  const float width = hi - lo, steps = qmax - qmin;
  const float scale = finish_scale(std::isinf(width) ? hi / steps - lo / steps : width / steps);
  const float z = qmin - std::nearbyint(lo / scale);
  const auto zp = static_cast<std::int32_t>(std::min(std::max(z, qmin), qmax));
  return quant_params::per_tensor(format, detail::finite_grid_scale(scale, zp, format), zp, numerics);
}

}  // namespace lowbit
