// lowbit — typed errors raised at the API boundary.
// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstddef>
#include <cstdio>
#include <stdexcept>
#include <string>

namespace lowbit {

/// What was wrong with the input of a public lowbit function.
enum class errc {
  invalid_scale,       ///< scale is <= 0, NaN or infinite
  invalid_zero_point,  ///< zero point outside the code range [qmin, qmax]
  unsupported_width,   ///< bit width outside 2..16
  invalid_axis,        ///< axis outside [-rank, rank)
  invalid_shape,       ///< a negative dimension, or an element count that overflows
  count_mismatch,      ///< number of scales / zero points does not match the shape
  invalid_block_size,  ///< block size <= 0 or not dividing the blocked dimension
  size_mismatch,       ///< input and output spans (or span and shape) disagree in size
  type_mismatch,       ///< code storage type cannot hold the code format
  invalid_range,       ///< a [min, max] range that is NaN, infinite or min > max
  no_finite_data,      ///< a calibrator saw no finite value (only NaN / Inf, or nothing)
  invalid_argument,    ///< another argument outside its documented domain (a percentile of 120, ...)
  io_failure,          ///< a file could not be opened, read or written
  corrupt_data,        ///< a file or stream that does not follow its format (bad magic, bad header)
  truncated_data,      ///< a file or stream that ends before the data its header declares
  unsupported_format,  ///< a well-formed file lowbit does not read (Fortran order, big endian, dtype)
};

/// Returns a short, stable name for `code` ("invalid_scale", ...).
constexpr const char* to_string(errc code) noexcept {
  switch (code) {
    case errc::invalid_scale: return "invalid_scale";
    case errc::invalid_zero_point: return "invalid_zero_point";
    case errc::unsupported_width: return "unsupported_width";
    case errc::invalid_axis: return "invalid_axis";
    case errc::invalid_shape: return "invalid_shape";
    case errc::count_mismatch: return "count_mismatch";
    case errc::invalid_block_size: return "invalid_block_size";
    case errc::size_mismatch: return "size_mismatch";
    case errc::type_mismatch: return "type_mismatch";
    case errc::invalid_range: return "invalid_range";
    case errc::no_finite_data: return "no_finite_data";
    case errc::invalid_argument: return "invalid_argument";
    case errc::io_failure: return "io_failure";
    case errc::corrupt_data: return "corrupt_data";
    case errc::truncated_data: return "truncated_data";
    case errc::unsupported_format: return "unsupported_format";
  }
  return "unknown";
}

/// The one exception type lowbit throws for bad input. `code()` says which rule was broken,
/// `what()` says it in words, with the offending values ("lowbit: invalid_scale: scale[3] = -0.5 ...").
class error : public std::invalid_argument {
 public:
  error(errc code, const std::string& message)
      : std::invalid_argument(std::string("lowbit: ") + to_string(code) + ": " + message), code_(code) {}
  errc code() const noexcept { return code_; }
  /// what() without its "lowbit: <errc>: " prefix, for wrapping the message in another error.
  const char* message() const noexcept { return what() + prefix_length(); }

 private:
  std::size_t prefix_length() const noexcept {
    return std::char_traits<char>::length("lowbit: ") + std::char_traits<char>::length(to_string(code_)) + 2;
  }
  errc code_;
};

namespace detail {
/// A real number for an error message: "%.9g", so that every float32 reads back exactly and a tiny
/// or negative scale shows as itself (std::to_string gives "-0.000000" for -1e-10).
inline std::string float_text(double v) {
  char text[32];
  std::snprintf(text, sizeof text, "%.9g", v);
  return text;
}
}  // namespace detail

}  // namespace lowbit
