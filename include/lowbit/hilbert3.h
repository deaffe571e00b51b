// lowbit — the 3-D Hilbert-curve output representation ("three heads"): a scalar t in [lo, hi] is
// predicted as the point H(t) of a low-order 3-D Hilbert polyline in the unit cube, each of the three
// channels quantized with lowbit's uniform quantizer; decoding takes the nearest point of the polyline.
// The 3-D sibling of lowbit/hilbert.h: same layouts, numerics, map layouts and result types.
// SPDX-License-Identifier: Apache-2.0
//
// The curve (order n = 1..6, N = 2^n, M = 8^n vertices). Vertex d = 0..M-1 is the lattice point
// (i, j, k) = hilbert3_cell(n, d) of Skilling's transpose algorithm (vertex 0 at (0, 0, 0), vertex M-1
// at (N-1, 0, 0), consecutive vertices one lattice step apart). Its position in the unit cube:
//   cell_centre:  ((i + 0.5) / N, (j + 0.5) / N, (k + 0.5) / N)   L = (M - 1) / N
//   full_range:   (i / (N - 1), j / (N - 1), k / (N - 1))         L = (M - 1) / (N - 1)
// (L = polyline length: 3.5, 15.75, 63.875, ... resp. 7, 21, 73, ...; all M - 1 segments have length
// 1/N resp. 1/(N - 1); parallel branches of the curve are that far apart.)
//
// Numerics (all internal arithmetic in float64, results rounded once to float32):
//   encode   w = clamp((t - lo) / (hi - lo), 0, 1); s = w (M - 1) (arc length in segments);
//            k = min(floor(s), M - 2); f = s - k; P = V_k + f (V_{k+1} - V_k), mapped to the unit
//            cube and rounded to float32. NaN t -> (NaN, NaN, NaN) (the uniform quantizer then gives
//            the zero point); ±Inf clamp to the ends.
//   decode   (x, y, z) clamped to [0, 1]^3 (±Inf included); the exact nearest point of the polyline
//            to the clamped point (distances in float64), ties -> the smallest arc length s;
//            t = lo + (hi - lo) s / (M - 1) rounded to float32 (always in [lo, hi]);
//            distance = Euclidean distance of the clamped point to the curve, unit-cube units,
//            rounded to float32. A NaN coordinate -> t = NaN, distance = NaN.
//            The decoder checks only the segments that can be nearest (at most 16: those at the 8
//            lattice vertices of the lattice cube around the point), never all M - 1; src/hilbert3.cc
//            proves that this is exact; decode_reference is the brute-force oracle and returns the
//            same bits.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "lowbit/hilbert.h"
#include "lowbit/profile.h"
#include "lowbit/quant_params.h"
#include "lowbit/quantizer.h"
#include "lowbit/uniform.h"

namespace lowbit {

// The 3-D curve uses hilbert_layout, hilbert_decoded and hilbert_error_estimate of lowbit/hilbert.h.
// hilbert_map_layout with C = 3 channels:
//   planar       NCHW: element (b, c, p) at b * 3P + c * P + p  (c = 0: x, 1: y, 2: z)
//   interleaved  NHWC: element (b, p, c) at (b * P + p) * 3 + c

/// The Hilbert index d in [0, 8^order) of lattice point (i, j, k), each in [0, 2^order) (Skilling's
/// axes -> transpose -> index algorithm). Throws errc::invalid_argument for an order outside 1..6 or a
/// point outside the lattice.
std::uint32_t hilbert3_index(int order, std::uint32_t i, std::uint32_t j, std::uint32_t k);

/// The lattice point (i, j, k) of Hilbert index d; inverse of hilbert3_index.
/// Throws errc::invalid_argument for an order outside 1..6 or d >= 8^order.
std::array<std::uint32_t, 3> hilbert3_cell(int order, std::uint32_t d);

/// A point of the unit cube.
struct hilbert3_point {
  float x;
  float y;
  float z;
};

/// A 3-D Hilbert polyline of order 1..6 in one layout, with the value range [lo, hi] mapped linearly
/// to arc length. Immutable; copies share the vertex tables (8^n entries of (i, j, k) and the inverse).
class hilbert3_curve {
 public:
  static constexpr int min_order = 1;
  static constexpr int max_order = 6;

  /// Throws errc::invalid_argument for order outside 1..6 or a layout that is not one of the two;
  /// errc::invalid_range unless lo < hi and both are finite float values (|v| <= FLT_MAX).
  hilbert3_curve(int order, hilbert_layout layout, double lo = 0.0, double hi = 1.0);

  int order() const noexcept { return order_; }
  hilbert_layout layout() const noexcept { return layout_; }
  double lo() const noexcept { return lo_; }
  double hi() const noexcept { return hi_; }
  /// 2^order: vertices per side of the lattice.
  std::uint32_t side() const noexcept { return std::uint32_t{1} << order_; }
  /// 8^order vertices (M); M - 1 segments.
  std::size_t vertex_count() const noexcept { return std::size_t{1} << (3 * order_); }
  /// Polyline length L in the unit cube: (8^n - 1) / 2^n (cell_centre), (8^n - 1) / (2^n - 1) (full_range).
  double length() const noexcept;
  /// Length of one segment = distance of neighbouring parallel branches: 1 / 2^n (cell_centre),
  /// 1 / (2^n - 1) (full_range).
  double segment_length() const noexcept;
  /// The position of vertex d in the unit cube (float64: a dyadic, or i / (2^n - 1) rounded).
  /// Throws errc::invalid_argument if d >= vertex_count().
  std::array<double, 3> vertex(std::size_t d) const;

  /// H(t), numerics at the top of this file. Never throws.
  hilbert3_point encode(float t) const noexcept;
  /// H(t) in float64 before the final rounding (the same computation as encode).
  std::array<double, 3> encode_exact(double t) const noexcept;
  /// The nearest point of the curve: t and the distance (numerics at the top). O(1): the <= 16 segments
  /// at the 8 lattice vertices around the point, never a scan. Never throws.
  hilbert_decoded decode(float x, float y, float z) const noexcept;
  /// Brute force over all M - 1 segments: the oracle of decode (bit-identical results). O(8^n).
  hilbert_decoded decode_reference(float x, float y, float z) const noexcept;

  /// encode of each value into interleaved triples: xyz[3i] = x, xyz[3i + 1] = y, xyz[3i + 2] = z.
  /// Throws errc::size_mismatch unless xyz.size() == 3 * t.size().
  void encode(std::span<const float> t, std::span<float> xyz) const;
  /// decode of each interleaved triple into t (and, if not empty, distance).
  /// Throws errc::size_mismatch unless xyz.size() == 3 * t.size() and distance is empty or t.size().
  void decode(std::span<const float> xyz, std::span<float> t, std::span<float> distance = {}) const;

  /// encode of a map of `batch` images (t has batch * P values) into the three-channel map xyz
  /// (3 * batch * P values) in `layout`. Throws errc::invalid_shape if batch does not divide t.size()
  /// (batch 0 only with empty maps), errc::size_mismatch unless xyz.size() == 3 * t.size().
  /// Threads (all map APIs of this file), as hilbert_curve::encode_map: `threads` workers
  /// (0 = std::thread::hardware_concurrency()) share the values in contiguous chunks (the calling
  /// thread runs the first; chunk ends on 64-byte boundaries of the output); maps too small to pay for
  /// a thread (under ~16K values per worker for the float paths, ~256K for code-triple table lookups)
  /// use fewer workers or the calling thread alone. Arguments are checked before any work starts;
  /// workers never throw. The results are bit-identical for every thread count. A worker that cannot
  /// be started (std::system_error) runs on the caller. Input and output spans must not overlap (no
  /// in-place maps): errc::invalid_argument.
  void encode_map(std::span<const float> t, std::size_t batch, hilbert_map_layout layout, std::span<float> xyz,
                  unsigned threads = 1) const;
  /// decode of a three-channel map in `layout` into t (batch * P values) and optional distances, with
  /// `threads` workers as encode_map (the SIMD exact decoder, src/cpu/hilbert3-inl.h; bit-identical to
  /// decode(x, y, z) per value).
  /// Throws as encode_map, and errc::size_mismatch unless distance is empty or t.size().
  void decode_map(std::span<const float> xyz, std::size_t batch, hilbert_map_layout layout, std::span<float> t,
                  std::span<float> distance = {}, unsigned threads = 1) const;

  struct tables;  ///< the vertex tables (internal)

 private:
  int order_;
  hilbert_layout layout_;
  double lo_, hi_;
  std::shared_ptr<const tables> tables_;
};

/// The three-channel training target of a ground-truth map: encode_map with the curve (values clamped
/// to [lo, hi], NaN -> NaN target so the loss can mask invalid pixels). Throws as encode_map.
void make_training_target(const hilbert3_curve& curve, std::span<const float> depth, std::size_t batch,
                          hilbert_map_layout layout, std::span<float> target);

/// The 3-D Hilbert head as a lowbit::quantizer: one float t -> three codes (x, y, z), each quantized by
/// lowbit's uniform quantizer (any width 2..16, any profile, per-tensor parameters, e.g. hilbert_params;
/// code triples interleaved: codes[3i] = x, codes[3i + 1] = y, codes[3i + 2] = z).
///   encode:  (x, y, z) = curve.encode(t); code = ref::quantize_value of each with its channel's
///            parameters (bit-identical to lowbit::quantize).
///   decode:  codes clamped to [qmin, qmax] (storage wider than the format); x = float32(cx - zp) * scale
///            (lowbit::dequantize) and likewise y, z; t = curve.decode(x, y, z).t.
///            Widths <= 6: a table of all 2^(3 bits) code triples built at construction (index
///            ((cx - qmin) << 2 bits) | ((cy - qmin) << bits) | (cz - qmin); 262,144 entries at 6 bits),
///            filled by the exact decoder: one lookup per value, bit-identical to the exact path.
///            Wider codes: the SIMD exact decoder on the dequantized triples.
template <code_storage Code>
class hilbert3_quantizer {
 public:
  using value_type = float;
  using code_type = Code;
  /// The widest code format decoded by table.
  static constexpr int max_table_bits = 6;

  /// All three channels with `params`. Throws as the four-parameter constructor.
  hilbert3_quantizer(hilbert3_curve curve, quant_params params);
  /// Throws errc::invalid_argument unless all three parameters are per_tensor with the same code_format;
  /// errc::type_mismatch if Code cannot hold the format (as uniform_quantizer).
  hilbert3_quantizer(hilbert3_curve curve, quant_params x_params, quant_params y_params, quant_params z_params);

  const hilbert3_curve& curve() const noexcept { return curve_; }
  const quant_params& x_params() const noexcept { return px_; }
  const quant_params& y_params() const noexcept { return py_; }
  const quant_params& z_params() const noexcept { return pz_; }
  static constexpr std::size_t codes_per_value() noexcept { return 3; }
  int bits() const noexcept { return px_.format().bits; }
  /// The decode table (empty for widths > 6): 2^(3 bits) values t at the index above; entries of code
  /// triples outside a narrow range are unused.
  std::span<const float> table() const noexcept;
  /// The distance table matching table() (distance of the dequantized point to the curve).
  std::span<const float> distance_table() const noexcept;

  /// One code triple (clamped into range) -> t and distance. Table lookup for widths <= 6.
  hilbert_decoded decode_triple(Code cx, Code cy, Code cz) const noexcept;

  /// Throws errc::size_mismatch unless codes.size() == 3 * values.size().
  void encode(std::span<const float> values, std::span<Code> codes) const;
  /// Throws errc::size_mismatch unless codes.size() == 3 * values.size().
  void decode(std::span<const Code> codes, std::span<float> values) const;
  /// decode, plus the distance of each decoded point to the curve (outlier flag). Throws as decode
  /// and errc::size_mismatch unless distance.size() == values.size().
  void decode(std::span<const Code> codes, std::span<float> values, std::span<float> distance) const;

  /// encode into a three-channel code map of `batch` images in `layout` (shapes as
  /// hilbert3_curve::encode_map), with `threads` workers (0 = hardware concurrency) as
  /// hilbert3_curve::encode_map.
  void encode_map(std::span<const float> t, std::size_t batch, hilbert_map_layout layout, std::span<Code> codes,
                  unsigned threads = 1) const;
  /// decode of a three-channel code map (NCHW planes or NHWC triples) into t and optional distances, with
  /// `threads` workers as hilbert3_curve::encode_map (identical results for any count). Widths <= 6: one
  /// table load per value; wider codes: blocks of dequantized triples through the SIMD exact decoder
  /// (bit-identical to decode_triple).
  /// Throws as hilbert3_curve::decode_map.
  void decode_map(std::span<const Code> codes, std::size_t batch, hilbert_map_layout layout, std::span<float> t,
                  std::span<float> distance = {}, unsigned threads = 1) const;

 private:
  hilbert3_curve curve_;
  quant_params px_, py_, pz_;
  std::shared_ptr<const std::vector<float>> table_, dist_table_;  // widths <= 6
};

extern template class hilbert3_quantizer<std::int8_t>;
extern template class hilbert3_quantizer<std::uint8_t>;
extern template class hilbert3_quantizer<std::int16_t>;
extern template class hilbert3_quantizer<std::uint16_t>;

static_assert(quantizer<hilbert3_quantizer<std::uint8_t>>);

/// The analytic error model of a 3-D Hilbert head against direct quantization of t with the same codes.
/// Each channel carries e = u + g: u uniform quantization noise of width `step`, g Gaussian model noise
/// of standard deviation `noise` (both unit-cube units; independent of each other and across channels).
/// Lattice units below: branch spacing h = segment_length() = 1, q = step / h, sigma = noise / h.
///   rms_direct     = (hi - lo) sqrt(step^2 / 12 + noise^2)
///   along:         the component of e along the segment moves s, the two perpendicular ones do not:
///                  var_along = q^2 / 12 + sigma^2 (alone: gain = L).
///   turns:         near a vertex where the curve turns from direction a to b, a point whose b component
///                  wins decodes onto the next segment (arc-length error e_b + delta, delta = its distance
///                  to the vertex) or onto the vertex itself. Each turn adds 2 int_0^{1/2} E[E^2 - e_a^2]
///                  d delta (the exact expectation for the two rays at the vertex, numerically integrated
///                  over the density of e; 3.6 sigma^3 for Gaussian noise); the curves turn at 0.86..0.90
///                  of their vertices, so the gain is about L / sqrt(1 + 3.2 sigma) before any jump.
///   jumps:         each perpendicular component on its own moves the nearest point to the neighbours m
///                  rows away along its axis, exactly as in the 2-D model of lowbit/hilbert.h: row m is
///                  reached when e > m - 1/2 if its two neighbours (V_k + m p, V_{k+1} + m p) form a
///                  parallel branch, when e > m - 1/2 + phi^2 / 2 (phi = min(f, 1 - f), averaged over f)
///                  if they are not; the last row catches everything beyond it. A landing on row m costs
///                  the mean of (d(V_k + m p) - k)^2 and (d(V_{k+1} + m p) - k - 1)^2 segments^2. Summed
///                  over the four perpendicular directions p, averaged over every segment k (t uniform).
///   rms_hilbert    = (hi - lo) / (M - 1) sqrt((1 - P_jump) (var_along + turns / (M - 1) * turn_var)
///                    + E[jump error^2])
///   jump_probability = the probability of a landing more than 1.5 segments away along the curve.
/// An approximation. Measured at 8 bits, orders 1..3, 400k uniform t (tests/hilbert3_test.cc checks the
/// first two at order 2): while jumps are absent the predicted gain is within 3% of the measured one
/// (the turn term matters: without it the model is 5..20% high at a few LSB of noise); where jumps are
/// frequent (>= 1%) the predicted gain is 0..30% above the measured one and the predicted jump
/// probability 0..25% above the measured rate (the perpendicular axes are treated independently:
/// diagonal landings, both components beyond 1/2, are counted as two single-axis landings at the
/// single-axis cost); in the transition (jump rates below ~1e-3, a few Gaussian-tail events) measured
/// gains scatter and the model can be off by 2x either way. The model ignores the clamping at the ends
/// of [lo, hi] (for the direct path too).
hilbert_error_estimate predict_hilbert3_error(const hilbert3_curve& curve, double step, double noise);

/// The model for `bits`-bit codes spanning the unit cube (step = 1 / (2^bits - 1)) and Gaussian model
/// noise of `noise_lsb` steps per channel. Throws errc::unsupported_width outside 2..16 and as above.
hilbert_error_estimate predict_hilbert3_error(const hilbert3_curve& curve, int bits, double noise_lsb);

}  // namespace lowbit
