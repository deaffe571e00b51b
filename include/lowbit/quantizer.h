// lowbit — the one `quantizer` concept every scheme models, and the algorithms written once against it.
// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <algorithm>
#include <cmath>
#include <concepts>
#include <cstddef>
#include <limits>
#include <string>
#include <span>
#include <type_traits>
#include <vector>

#include "lowbit/error.h"

namespace lowbit {

/// A quantizer turns each value into `codes_per_value()` integer codes of `bits()` bits, and back.
///
///   value_type          what is quantized (float for weights/activations/outputs, uint8 for pixels)
///   code_type           one code as stored unpacked (int8_t, uint8_t, int16_t, ...)
///   codes_per_value()   codes per value: 1 (uniform, piecewise-linear), 2 (Hilbert: the (x, y) of the
///                       point on the curve), d (pixel embedding: a d-vector per pixel)
///   bits()              the width of one code
///   encode(values, codes)   codes.size() == values.size() * codes_per_value(); the codes of value i
///                           are codes[i * k .. i * k + k)
///   decode(codes, values)   the reconstruction of each value from its codes:
///                           uniform -> (code - zero_point) * scale;
///                           piecewise-linear -> the level of the code's region;
///                           Hilbert -> the curve parameter of the point nearest to the decoded (x, y);
///                           pixel embedding -> the pixel whose embedding is nearest to the code vector.
/// Both throw lowbit::error(errc::size_mismatch) when the spans disagree in size.
template <class Q>
concept quantizer = requires(const Q& q, std::span<const typename Q::value_type> values,
                             std::span<typename Q::code_type> codes,
                             std::span<const typename Q::code_type> const_codes,
                             std::span<typename Q::value_type> out) {
  typename Q::value_type;
  typename Q::code_type;
  { q.codes_per_value() } -> std::convertible_to<std::size_t>;
  { q.bits() } -> std::convertible_to<int>;
  q.encode(values, codes);
  q.decode(const_codes, out);
};

/// Error of a quantizer on data, accumulated in double over the finite inputs.
struct error_stats {
  double mse = 0.0;            ///< mean of (decode(encode(x)) - x)^2
  double sqnr_db = 0.0;        ///< 10 log10(sum x^2 / sum e^2); +inf when the error is 0
  double max_abs_error = 0.0;  ///< max |decode(encode(x)) - x|
  std::size_t count = 0;       ///< finite inputs measured
  std::size_t non_finite = 0;  ///< NaN / ±Inf inputs, excluded from the statistics
};

/// decode(encode(in)) into out. The whole span is encoded at once (a per-channel quantizer needs the
/// whole tensor), with in.size() * codes_per_value() codes of scratch memory.
/// Throws: errc::size_mismatch if in.size() != out.size(); whatever q's encode/decode throw.
template <quantizer Q>
void round_trip(const Q& q, std::span<const typename Q::value_type> in, std::span<typename Q::value_type> out) {
  if (in.size() != out.size()) {
    throw error(errc::size_mismatch, "round_trip: input has " + std::to_string(in.size()) +
                                         " values, output " + std::to_string(out.size()));
  }
  std::vector<typename Q::code_type> codes(in.size() * q.codes_per_value());
  q.encode(in, std::span<typename Q::code_type>(codes));
  q.decode(std::span<const typename Q::code_type>(codes), out);
}

/// decode(encode(in)) as a new vector.
template <quantizer Q>
std::vector<typename Q::value_type> round_trip(const Q& q, std::span<const typename Q::value_type> in) {
  std::vector<typename Q::value_type> out(in.size());
  round_trip(q, in, std::span<typename Q::value_type>(out));
  return out;
}

/// MSE, SQNR and max |error| of q on data (see error_stats). Non-finite inputs are counted, not measured.
template <quantizer Q>
error_stats measure_error(const Q& q, std::span<const typename Q::value_type> data) {
  using V = typename Q::value_type;
  error_stats s;
  double signal = 0.0, noise = 0.0;
  const std::vector<V> out = round_trip(q, data);
  for (std::size_t j = 0; j < data.size(); ++j) {
    const double x = static_cast<double>(data[j]);
    if (!std::isfinite(x)) {
      ++s.non_finite;
      continue;
    }
    const double e = static_cast<double>(out[j]) - x;
    signal += x * x;
    noise += e * e;
    s.max_abs_error = std::max(s.max_abs_error, std::abs(e));
    ++s.count;
  }
  s.mse = s.count ? noise / static_cast<double>(s.count) : 0.0;
  s.sqnr_db = noise > 0.0 ? 10.0 * std::log10(signal / noise) : std::numeric_limits<double>::infinity();
  return s;
}

}  // namespace lowbit
