// lowbit — the compiled Hilbert-curve decoding kernels (SIMD with runtime dispatch, or per-value loops
// of the scalar decoder when LOWBIT_SIMD=OFF). Internal: users call lowbit/hilbert.h. Arguments must
// come from hilbert_kernel_args / hilbert_lookup_args (valid curves and parameters).
// SPDX-License-Identifier: Apache-2.0
//
// Every kernel equals the per-point scalar decoder, hilbert_curve::decode (the oracle; itself equal to
// the brute force decode_reference), bit for bit on every input: NaN, ±Inf, out-of-range and subnormal
// coordinates, -0, lattice vertices and midpoints (ties), the ends of the curve
// (tests/hilbert_simd_test.cc, on every compiled target). The arithmetic is the oracle's: float64,
// the same operations in the same order, no contraction (the library compiles with -ffp-contract=off);
// src/cpu/hilbert-inl.h explains why its re-association of the candidate search is exact.
// Kernels never allocate and never throw. Outputs: exactly n values; `distance` may be null.
#pragma once

#include <cstddef>
#include <cstdint>

namespace lowbit {
class hilbert_curve;
class hilbert3_curve;
}

namespace lowbit::detail {

/// The bits of one corner entry (hilbert_curve::tables::corner, one int32 per lattice point (i, j) at
/// j * side + i): the vertex index d of the point C in bits 0..15 and the directions (axis, sign) from C
/// along its two candidate segments: forward, segment d (C its start, towards V_{d+1}), and backward,
/// segment d - 1 (C its end, from V_{d-1}). At the ends of the curve the missing slot copies the other's
/// direction: at d = 0 the backward slot (then evaluated with k = |d - 1| = 1, s >= 1, never below the
/// forward candidate of segment 0), at d = M - 1 the forward slot (k = M - 1, s >= M - 1, never below
/// segment M - 2's candidate); src/cpu/hilbert-inl.h shows that this leaves the minimum unchanged.
inline constexpr int hilbert_corner_flag_shift = 16;     ///< the flags start at this bit
inline constexpr unsigned hilbert_forward_axis_y = 1;    ///< flag: the forward segment is vertical
inline constexpr unsigned hilbert_forward_negative = 2;  ///< flag: it leaves C towards -x / -y
inline constexpr unsigned hilbert_backward_axis_y = 4;   ///< flag: the backward segment is vertical
inline constexpr unsigned hilbert_backward_negative = 8; ///< flag: its other end lies at -x / -y of C

/// The curve as the exact kernels see it.
struct hilbert_kernel_args {
  const std::int32_t* corner;  ///< side * side corner entries (see above)
  std::uint32_t order;
  std::uint32_t side;          ///< N = 2^order
  std::uint32_t vertices;      ///< M = 4^order
  double scale, offset;        ///< u = clamp(x, 0, 1) * scale + offset (lattice units)
  double lo, hi;               ///< the value range
  const hilbert_curve* curve;  ///< the oracle (used by the LOWBIT_SIMD=OFF build)
};

/// The kernel arguments of a curve (valid while that curve object lives: `curve` points to it; the
/// corner tables are shared by all curves of an order and never freed).
hilbert_kernel_args hilbert_kernel_args_of(const hilbert_curve& curve) noexcept;

/// t[i], distance[i] = curve.decode(x[i], y[i]) for i < n (planar: x and y in two arrays).
void hilbert_decode_planar_f32(const hilbert_kernel_args& a, const float* x, const float* y, std::size_t n,
                               float* t, float* distance) noexcept;
/// t[i], distance[i] = curve.decode(xy[2i], xy[2i + 1]) for i < n (interleaved pairs).
void hilbert_decode_interleaved_f32(const hilbert_kernel_args& a, const float* xy, std::size_t n, float* t,
                                    float* distance) noexcept;

/// A code-pair table of hilbert_quantizer (widths <= 8): entry (cx - qmin) << bits | (cy - qmin).
struct hilbert_lookup_args {
  const float* table;
  const float* distance_table;
  int bits;
  std::int32_t qmin, qmax;  ///< codes are clamped into [qmin, qmax] first
};

/// t[i] = table[idx(x[i * step], y[i * step])] (and distance[i] from distance_table when distance is
/// not null), step 1 (planar) or 2 (interleaved, y = x + 1), idx as hilbert_lookup_args.
void hilbert_lookup(const hilbert_lookup_args& a, const std::int8_t* x, const std::int8_t* y, std::size_t step,
                    std::size_t n, float* t, float* distance) noexcept;
void hilbert_lookup(const hilbert_lookup_args& a, const std::uint8_t* x, const std::uint8_t* y, std::size_t step,
                    std::size_t n, float* t, float* distance) noexcept;
void hilbert_lookup(const hilbert_lookup_args& a, const std::int16_t* x, const std::int16_t* y, std::size_t step,
                    std::size_t n, float* t, float* distance) noexcept;
void hilbert_lookup(const hilbert_lookup_args& a, const std::uint16_t* x, const std::uint16_t* y, std::size_t step,
                    std::size_t n, float* t, float* distance) noexcept;

/// Dequantization of one channel: x = (float(clamp(c, qmin, qmax)) - zero_point) * scale (float32,
/// ref::dequantize_value).
struct hilbert_dequant {
  float scale, zero_point;
  std::int32_t qmin, qmax;
};

/// The "computed" 8-bit decoder: no code-pair table; each planar uint8 code pair is dequantized and
/// decoded by the exact kernel. With `registers`, the corner entries of curves of order <= 3 (<= 64
/// lattice points) are held in registers (AVX-512: one vpermt2w per row of the lattice square instead
/// of a memory gather; other targets and orders gather). Bit-identical to the table (= curve.decode of
/// the dequantized pair) for every order.
void hilbert_decode_codes_computed_u8(const hilbert_kernel_args& a, const hilbert_dequant& qx,
                                      const hilbert_dequant& qy, const std::uint8_t* x, const std::uint8_t* y,
                                      std::size_t n, float* t, float* distance, bool registers = true) noexcept;

/// The 3-D curve as its exact kernels see it. corner: one entry per lattice point (i, j, k) at
/// (k * side + j) * side + i: the vertex index d in bits 0..23, and in bits 24..31 the two candidate
/// segments of d (hilbert3_curve::tables::corner: d - 1 in bits 24..27, d in bits 28..31; per nibble the
/// axis in bits 0-1, bit 2 set if the other end is at +1 on it, bit 3 set if the segment starts at d).
struct hilbert3_kernel_args {
  const std::uint32_t* corner;
  std::uint32_t order;
  std::uint32_t side;          ///< N = 2^order
  std::uint32_t vertices;      ///< M = 8^order
  double scale, offset;        ///< u = clamp(x, 0, 1) * scale + offset (lattice units)
  double lo, hi;               ///< the value range
  const hilbert3_curve* curve; ///< the oracle (used by the LOWBIT_SIMD=OFF build)
};

/// The kernel arguments of a 3-D curve (valid while that curve object lives).
hilbert3_kernel_args hilbert3_kernel_args_of(const hilbert3_curve& curve) noexcept;

/// t[i], distance[i] = curve.decode(x[i], y[i], z[i]) for i < n (planar: three arrays).
void hilbert3_decode_planar_f32(const hilbert3_kernel_args& a, const float* x, const float* y, const float* z,
                                std::size_t n, float* t, float* distance) noexcept;
/// t[i], distance[i] = curve.decode(xyz[3i], xyz[3i + 1], xyz[3i + 2]) for i < n (interleaved).
void hilbert3_decode_interleaved_f32(const hilbert3_kernel_args& a, const float* xyz, std::size_t n, float* t,
                                     float* distance) noexcept;

/// True when the kernels above are SIMD (LOWBIT_SIMD=ON); false in the reference build, where they
/// are loops over hilbert_curve::decode and the scalar lookup.
bool hilbert_kernels_simd() noexcept;

/// The target the Hilbert kernels dispatch to now ("AVX3", ..., "reference"). Target control is
/// shared with the uniform kernels (lowbit/detail/uniform_kernels.h: available_targets, force_target).
const char* hilbert_active_target_name() noexcept;

}  // namespace lowbit::detail
