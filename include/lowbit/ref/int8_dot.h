// lowbit — scalar reference ("oracle") of the 8-bit dot products behind the integer dense / conv
// layers, and of the DSP accumulator model.
// SPDX-License-Identifier: Apache-2.0
//
// Two kinds of accumulation are defined here:
//
//  * dot_* : the exact int32 dot product the SIMD kernels compute (src/cpu/int8_dot-inl.h),
//      sum_k (x[k] - zx) * (w[k] - zw)   taken modulo 2^32 (two's-complement int32 wrap-around).
//    Every term is exact (|x - zx| <= 255, |w - zw| <= 255, so |term| <= 65025), and addition modulo
//    2^32 is associative, so the order of the terms does not change the result: whenever the true sum
//    fits in int32 the result IS the true sum, and otherwise it is the true sum wrapped, on every
//    target. The SIMD kernels must equal these functions bit for bit.
//
//  * accumulate_model : the accumulator of a DSP with `bits` bits (16..64), where after every single
//    addition the running value is saturated to, or wrapped into, [-2^(bits-1), 2^(bits-1) - 1].
//    Here the order matters (saturation is not associative); it is the order of k.
//
// Both take validated parameters: they never throw and never allocate.
#pragma once

#include <cstddef>
#include <cstdint>

namespace lowbit::ref {

/// Fits v into a two's-complement accumulator of `bits` bits (1 <= bits <= 64):
///   saturate: clamp(v, -2^(bits-1), 2^(bits-1) - 1)
///   wrap:     the unique value congruent to v modulo 2^bits in that range (sign extension of the
///             low `bits` bits of v).
constexpr std::int64_t fit_accumulator(std::int64_t v, int bits, bool saturate) noexcept {
  if (bits >= 64) return v;
  const std::int64_t hi = (std::int64_t{1} << (bits - 1)) - 1;
  const std::int64_t lo = -hi - 1;
  if (saturate) return v < lo ? lo : (v > hi ? hi : v);
  const auto u = static_cast<std::uint64_t>(v) << (64 - bits);
  return static_cast<std::int64_t>(u) >> (64 - bits);  // arithmetic shift: sign extension (C++20)
}

/// a + b in a `bits`-bit accumulator: fit_accumulator of the exact sum. For bits = 64 and saturate, the
/// sum saturates to the int64 range; for bits = 64 and wrap, it wraps modulo 2^64.
constexpr std::int64_t accumulator_add(std::int64_t a, std::int64_t b, int bits, bool saturate) noexcept {
  if (bits >= 64) {
    std::int64_t r = 0;
    if (__builtin_add_overflow(a, b, &r)) {
      if (!saturate) return static_cast<std::int64_t>(static_cast<std::uint64_t>(a) + static_cast<std::uint64_t>(b));
      return a < 0 ? INT64_MIN : INT64_MAX;
    }
    return r;
  }
  return fit_accumulator(a + b, bits, saturate);  // |a|, |b| < 2^63 / 2 for bits < 64: no overflow
}

/// sum_k (x[k] - zx) * (w[k] - zw), k in [0, n), modulo 2^32 (see above). X is int8_t or uint8_t;
/// zx and zw are the zero points (any value in the code range of their type).
template <class X>
constexpr std::int32_t dot(const X* x, std::int32_t zx, const std::int8_t* w, std::int32_t zw,
                           std::size_t n) noexcept {
  std::uint32_t acc = 0;
  for (std::size_t k = 0; k < n; ++k) {
    const std::int32_t term = (static_cast<std::int32_t>(x[k]) - zx) * (static_cast<std::int32_t>(w[k]) - zw);
    acc += static_cast<std::uint32_t>(term);
  }
  return static_cast<std::int32_t>(acc);
}

/// The batched form the kernels implement: for r in [0, rows),
///   out[r] = (accumulate ? out[r] : 0) + dot(x, zx, w + r * w_stride, zw[r], n)      (modulo 2^32)
template <class X>
constexpr void dot_rows(const X* x, std::int32_t zx, const std::int8_t* w, std::size_t w_stride,
                        const std::int32_t* zw, std::size_t rows, std::size_t n, bool accumulate,
                        std::int32_t* out) noexcept {
  for (std::size_t r = 0; r < rows; ++r) {
    const std::uint32_t d = static_cast<std::uint32_t>(dot(x, zx, w + r * w_stride, zw[r], n));
    const std::uint32_t base = accumulate ? static_cast<std::uint32_t>(out[r]) : 0u;
    out[r] = static_cast<std::int32_t>(base + d);
  }
}

/// The DSP accumulator model: starting from `acc`, for k = 0 .. n-1 in order,
///   acc = accumulator_add(acc, (x[k] - zx) * (w[k] - zw), bits, saturate)
/// (each product is exact; only the running sum is fitted). `acc` must already fit in `bits` bits.
template <class X>
constexpr std::int64_t accumulate_model(std::int64_t acc, const X* x, std::int32_t zx, const std::int8_t* w,
                                        std::int32_t zw, std::size_t n, int bits, bool saturate) noexcept {
  for (std::size_t k = 0; k < n; ++k) {
    const std::int64_t term =
        std::int64_t{(static_cast<std::int32_t>(x[k]) - zx) * (static_cast<std::int32_t>(w[k]) - zw)};
    acc = accumulator_add(acc, term, bits, saturate);
  }
  return acc;
}

}  // namespace lowbit::ref
