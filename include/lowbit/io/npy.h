// lowbit — NumPy .npy files (format versions 1.0, 2.0 and 3.0): read and write.
// SPDX-License-Identifier: Apache-2.0
//
// Only what a quantization tool exchanges with NumPy: C-order, little-endian arrays of float32,
// float16, int8, uint8, int16, uint16 and int32. Anything else is refused with a lowbit::error that
// says what was found: Fortran order, big endian, object or other dtypes (unsupported_format); a bad
// magic string, an unparsable header dictionary, a negative or overflowing shape (corrupt_data);
// fewer data bytes than the header declares (truncated_data); a file that cannot be opened (io_failure).
// A declared shape is checked against the bytes actually present before anything is allocated, so a
// header announcing a huge array cannot make the reader allocate it. Bytes after the declared data are
// refused (corrupt_data). The byte-order prefixes '=' (native) and '|' and none read as little endian
// (the host is); '>' is refused except for the one-byte dtypes, where byte order means nothing.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <span>
#include <string_view>
#include <vector>

namespace lowbit::io {

/// Element types of the .npy files lowbit reads and writes (NumPy descr in the comment).
enum class dtype : std::uint8_t {
  f32,  ///< '<f4'
  f16,  ///< '<f2' (IEEE binary16)
  i8,   ///< '|i1'
  u8,   ///< '|u1'
  i16,  ///< '<i2'
  u16,  ///< '<u2'
  i32,  ///< '<i4'
};

/// Bytes per element of `t`.
std::size_t dtype_size(dtype t) noexcept;
/// NumPy's name of `t` ("float32", "int8", ...).
std::string_view dtype_name(dtype t) noexcept;

/// The dtype of a C++ element type (float -> f32, std::int8_t -> i8, ...).
template <class T>
constexpr dtype dtype_of() noexcept;
template <> constexpr dtype dtype_of<float>() noexcept { return dtype::f32; }
template <> constexpr dtype dtype_of<std::int8_t>() noexcept { return dtype::i8; }
template <> constexpr dtype dtype_of<std::uint8_t>() noexcept { return dtype::u8; }
template <> constexpr dtype dtype_of<std::int16_t>() noexcept { return dtype::i16; }
template <> constexpr dtype dtype_of<std::uint16_t>() noexcept { return dtype::u16; }
template <> constexpr dtype dtype_of<std::int32_t>() noexcept { return dtype::i32; }

/// An array read from (or to be written to) a .npy file: C order, host (little-endian) byte order.
struct npy_array {
  dtype type = dtype::f32;
  std::vector<std::int64_t> shape;  ///< empty for a 0-d array (one element)
  std::vector<std::byte> data;      ///< element_count() * dtype_size(type) bytes

  /// Product of the shape (1 for a 0-d array). Throws lowbit::error(invalid_shape) for a negative
  /// dimension or a product that overflows size_t.
  std::size_t element_count() const;

  /// The elements as T. Throws lowbit::error(type_mismatch) when T is not the array's dtype.
  template <class T>
  std::span<const T> values() const;
};

/// The elements of `a` converted to float32: exact for every dtype (float16 included) except
/// int32 values beyond 2^24, which round to nearest even.
std::vector<float> to_float(const npy_array& a);

/// Parses the bytes of a whole .npy file. Throws lowbit::error as described at the top.
npy_array parse_npy(std::span<const std::byte> file);
/// Reads a .npy file. Throws lowbit::error as described at the top.
npy_array read_npy(const std::filesystem::path& path);

/// The bytes of a .npy file (format 1.0, or 2.0 when the header needs it) holding `a`.
/// Throws lowbit::error(size_mismatch) when a.data does not hold element_count() elements and
/// invalid_shape for a negative dimension.
std::vector<std::byte> serialize_npy(const npy_array& a);
/// Writes `a` to `path` (replacing it). Throws as serialize_npy, and io_failure.
void write_npy(const std::filesystem::path& path, const npy_array& a);

/// Writes `values`, a C-order array of shape `shape`, to `path`. Throws as write_npy.
template <class T>
void write_npy(const std::filesystem::path& path, std::span<const T> values, std::span<const std::int64_t> shape);

}  // namespace lowbit::io
