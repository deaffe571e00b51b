// lowbit — Hilbert-curve output representation ("two heads", Uss et al. 2024): a scalar t in [lo, hi]
// is predicted as the point H(t) of a low-order 2-D Hilbert polyline in the unit square, each of the two
// channels quantized with lowbit's uniform quantizer; decoding takes the nearest point of the polyline.
// SPDX-License-Identifier: Apache-2.0
//
// The curve (order n = 1..8, N = 2^n, M = 4^n vertices). Vertex d = 0..M-1 is the lattice point
// (i, j) = hilbert_cell(n, d) of the standard bit algorithm (vertex 0 at (0, 0), vertex M-1 at
// (N-1, 0), consecutive vertices one lattice step apart). Its position in the unit square:
//   cell_centre:  ((i + 0.5) / N, (j + 0.5) / N)     L = (M - 1) / N       = 2^n - 2^-n
//   full_range:   (i / (N - 1), j / (N - 1))         L = (M - 1) / (N - 1) = 2^n + 1
// (L = polyline length; all M - 1 segments have length 1/N resp. 1/(N - 1); parallel branches of the
// curve are that far apart.)
//
// Numerics (all internal arithmetic in float64, results rounded once to float32):
//   encode   w = clamp((t - lo) / (hi - lo), 0, 1); s = w (M - 1) (arc length in segments);
//            k = min(floor(s), M - 2); f = s - k; P = V_k + f (V_{k+1} - V_k), mapped to the unit
//            square and rounded to float32. NaN t -> (NaN, NaN) (the uniform quantizer then gives
//            the zero point); ±Inf clamp to the ends.
//   decode   (x, y) clamped to [0, 1]^2 (±Inf included); the exact nearest point of the polyline
//            to the clamped point (distances in float64), ties -> the smallest arc length s;
//            t = lo + (hi - lo) s / (M - 1) rounded to float32 (always in [lo, hi]);
//            distance = Euclidean distance of the clamped point to the curve, unit-square units,
//            rounded to float32. A NaN coordinate -> t = NaN, distance = NaN.
//            The decoder checks only the segments that can be nearest (at most 8), never all M - 1;
//            src/hilbert.cc proves that this is exact; decode_reference is the brute-force oracle and
//            returns the same bits.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <utility>
#include <vector>

#include "lowbit/error.h"
#include "lowbit/profile.h"
#include "lowbit/quant_params.h"
#include "lowbit/quantizer.h"
#include "lowbit/uniform.h"

namespace lowbit {

/// Where the vertices of the curve sit in the unit square (see the top of this file).
enum class hilbert_layout : std::uint8_t {
  cell_centre,  ///< vertex (i, j) at ((i + 0.5) / 2^n, (j + 0.5) / 2^n); L = 2^n - 2^-n
  full_range,   ///< vertex (i, j) at (i / (2^n - 1), j / (2^n - 1)); L = 2^n + 1
};

/// "cell_centre", "full_range".
constexpr const char* to_string(hilbert_layout layout) noexcept {
  return layout == hilbert_layout::cell_centre ? "cell_centre" : "full_range";
}

/// How the two channels of a map of `batch` images of P pixels each are stored.
enum class hilbert_map_layout : std::uint8_t {
  planar,       ///< NCHW with C = 2: element (b, c, p) at b * 2P + c * P + p (c = 0: x, c = 1: y)
  interleaved,  ///< NHWC with C = 2: element (b, p, c) at (b * P + p) * 2 + c
};

/// The Hilbert index d in [0, 4^order) of lattice point (i, j), i, j in [0, 2^order) (the xy -> d bit
/// algorithm). Throws errc::invalid_argument for an order outside 1..8 or i, j outside the lattice.
std::uint32_t hilbert_index(int order, std::uint32_t i, std::uint32_t j);

/// The lattice point (i, j) of Hilbert index d (the d -> xy bit algorithm); inverse of hilbert_index.
/// Throws errc::invalid_argument for an order outside 1..8 or d >= 4^order.
std::pair<std::uint32_t, std::uint32_t> hilbert_cell(int order, std::uint32_t d);

/// A point of the unit square.
struct hilbert_point {
  float x;
  float y;
};

/// The result of decoding one point: the curve parameter and the distance to the curve.
struct hilbert_decoded {
  float t;         ///< lo + (hi - lo) s / (M - 1), s = arc length (in segments) of the nearest point
  float distance;  ///< distance of the (clamped) point to the curve, unit-square units
};

/// A Hilbert polyline of order 1..8 in one layout, with the value range [lo, hi] mapped linearly to
/// arc length. Immutable; copies share the vertex tables (4^n entries of (i, j) and of the inverse).
class hilbert_curve {
 public:
  static constexpr int min_order = 1;
  static constexpr int max_order = 8;

  /// Throws errc::invalid_argument for order outside 1..8 or a layout that is not one of the two;
  /// errc::invalid_range unless lo < hi and both are finite float values (|v| <= FLT_MAX).
  hilbert_curve(int order, hilbert_layout layout, double lo = 0.0, double hi = 1.0);

  int order() const noexcept { return order_; }
  hilbert_layout layout() const noexcept { return layout_; }
  double lo() const noexcept { return lo_; }
  double hi() const noexcept { return hi_; }
  /// 2^order: vertices per side of the lattice.
  std::uint32_t side() const noexcept { return std::uint32_t{1} << order_; }
  /// 4^order vertices (M); M - 1 segments.
  std::size_t vertex_count() const noexcept { return std::size_t{1} << (2 * order_); }
  /// Polyline length L in the unit square: 2^n - 2^-n (cell_centre), 2^n + 1 (full_range).
  double length() const noexcept;
  /// Length of one segment = distance of neighbouring parallel branches: 1 / 2^n (cell_centre),
  /// 1 / (2^n - 1) (full_range).
  double segment_length() const noexcept;
  /// The position of vertex d in the unit square (float64, exact: a dyadic or i / (2^n - 1) rounded).
  /// Throws errc::invalid_argument if d >= vertex_count().
  std::pair<double, double> vertex(std::size_t d) const;

  /// H(t), numerics at the top of this file. Never throws.
  hilbert_point encode(float t) const noexcept;
  /// H(t) in float64 before the final rounding (the same computation as encode).
  std::pair<double, double> encode_exact(double t) const noexcept;
  /// The nearest point of the curve: t and the distance (numerics at the top). O(1): the 8 segments at
  /// the 4 lattice vertices around the point, never a scan. Never throws.
  hilbert_decoded decode(float x, float y) const noexcept;
  /// Brute force over all M - 1 segments: the oracle of decode (bit-identical results). O(4^n).
  hilbert_decoded decode_reference(float x, float y) const noexcept;

  /// encode of each value into interleaved pairs: xy[2i] = x, xy[2i + 1] = y.
  /// Throws errc::size_mismatch unless xy.size() == 2 * t.size().
  void encode(std::span<const float> t, std::span<float> xy) const;
  /// decode of each interleaved pair into t (and, if not empty, distance).
  /// Throws errc::size_mismatch unless xy.size() == 2 * t.size() and distance is empty or t.size().
  void decode(std::span<const float> xy, std::span<float> t, std::span<float> distance = {}) const;

  /// encode of a map of `batch` images (t has batch * P values) into the two-channel map xy
  /// (2 * batch * P values) in `layout`. Throws errc::invalid_shape if batch does not divide t.size()
  /// (batch 0 only with empty maps), errc::size_mismatch unless xy.size() == 2 * t.size().
  /// Threads (all map APIs of this file): `threads` workers (0 = std::thread::hardware_concurrency())
  /// share the values in contiguous chunks (the calling thread runs the first; chunk ends on 64-byte
  /// boundaries of the output); maps too small to pay for a thread (under ~16K values per worker for
  /// the float paths, ~256K for code-pair table lookups) use fewer workers or the calling thread alone.
  /// Arguments are checked before any work starts; workers never throw. The results are bit-identical
  /// for every thread count. A worker that cannot be started (std::system_error) runs on the caller.
  /// Input and output spans must not overlap (no in-place maps): errc::invalid_argument.
  void encode_map(std::span<const float> t, std::size_t batch, hilbert_map_layout layout, std::span<float> xy,
                  unsigned threads = 1) const;
  /// decode of a two-channel map in `layout` into t (batch * P values) and optional distances, with
  /// `threads` workers as encode_map. SIMD (float64 lanes, bit-identical to decode(x, y)).
  /// Throws as encode_map, and errc::size_mismatch unless distance is empty or t.size().
  void decode_map(std::span<const float> xy, std::size_t batch, hilbert_map_layout layout, std::span<float> t,
                  std::span<float> distance = {}, unsigned threads = 1) const;

  struct tables;  ///< the vertex tables (internal)

 private:
  int order_;
  hilbert_layout layout_;
  double lo_, hi_;
  std::shared_ptr<const tables> tables_;
};

/// The two-channel training target of a ground-truth depth (or disparity) map: encode_map with the
/// curve (depth clamped to [lo, hi], NaN depth -> NaN target so the loss can mask invalid pixels).
/// Throws as hilbert_curve::encode_map.
void make_training_target(const hilbert_curve& curve, std::span<const float> depth, std::size_t batch,
                          hilbert_map_layout layout, std::span<float> target);

/// The uniform parameters that map [0, 1] onto the whole code range of `format` (both layouts use
/// the unit square): params_from_range(0, 1, format, false, numerics), e.g. uint8: scale = 1/255
/// (float32), zero point 0; int8: scale = 1/255, zero point -128.
quant_params hilbert_params(code_format format, profile numerics = profile::onnx);

/// The Hilbert head as a lowbit::quantizer: one float t -> two codes (x, y), each quantized by lowbit's
/// uniform quantizer (any width 2..16, any profile, per-tensor parameters; code pairs interleaved:
/// codes[2i] = x, codes[2i + 1] = y).
///   encode:  (x, y) = curve.encode(t); code = ref::quantize_value of each (bit-identical to
///            lowbit::quantize with the channel's parameters).
///   decode:  codes clamped to [qmin, qmax] (storage wider than the format); x = float32(cx - zp) * scale
///            (lowbit::dequantize) and likewise y; t = curve.decode(x, y).t.
///            Widths <= 8: a table of all 2^(2 bits) code pairs built at construction (index
///            (cx - qmin) << bits | (cy - qmin)), filled by the exact decoder: one lookup per value
///            (vector code loads, scalar table loads), bit-identical to the exact path. Wider codes:
///            the exact decoder per value (the SIMD kernel on blocks of dequantized codes,
///            bit-identical to curve.decode).
template <code_storage Code>
class hilbert_quantizer {
 public:
  using value_type = float;
  using code_type = Code;

  /// Both channels with `params`. Throws as the two-parameter constructor.
  hilbert_quantizer(hilbert_curve curve, quant_params params);
  /// Throws errc::invalid_argument unless both parameters are per_tensor with the same code_format;
  /// errc::type_mismatch if Code cannot hold the format (as uniform_quantizer).
  hilbert_quantizer(hilbert_curve curve, quant_params x_params, quant_params y_params);

  const hilbert_curve& curve() const noexcept { return curve_; }
  const quant_params& x_params() const noexcept { return px_; }
  const quant_params& y_params() const noexcept { return py_; }
  static constexpr std::size_t codes_per_value() noexcept { return 2; }
  int bits() const noexcept { return px_.format().bits; }
  /// The decode table (empty for widths > 8): 2^(2 bits) values t, index (cx - qmin) << bits | (cy - qmin);
  /// entries of code pairs outside a narrow range are unused.
  std::span<const float> table() const noexcept;
  /// The distance table matching table() (distance of the dequantized point to the curve).
  std::span<const float> distance_table() const noexcept;

  /// One code pair (clamped into range) -> t and distance. Table lookup for widths <= 8.
  hilbert_decoded decode_pair(Code cx, Code cy) const noexcept;

  /// Throws errc::size_mismatch unless codes.size() == 2 * values.size().
  void encode(std::span<const float> values, std::span<Code> codes) const;
  /// Throws errc::size_mismatch unless codes.size() == 2 * values.size().
  void decode(std::span<const Code> codes, std::span<float> values) const;
  /// decode, plus the distance of each decoded point to the curve (outlier flag). Throws as decode
  /// and errc::size_mismatch unless distance.size() == values.size().
  void decode(std::span<const Code> codes, std::span<float> values, std::span<float> distance) const;

  /// encode into a two-channel code map of `batch` images in `layout` (shapes as hilbert_curve::encode_map),
  /// with `threads` workers (0 = hardware concurrency) as hilbert_curve::encode_map.
  void encode_map(std::span<const float> t, std::size_t batch, hilbert_map_layout layout, std::span<Code> codes,
                  unsigned threads = 1) const;
  /// decode of a two-channel code map (NCHW planes or NHWC pairs) into t and optional distances, with
  /// `threads` workers as hilbert_curve::encode_map (identical results for any count). Widths <= 8: one
  /// table load per value; wider codes: blocks dequantized, then the SIMD exact decoder.
  /// Throws as hilbert_curve::decode_map.
  void decode_map(std::span<const Code> codes, std::size_t batch, hilbert_map_layout layout, std::span<float> t,
                  std::span<float> distance = {}, unsigned threads = 1) const;

 private:
  hilbert_curve curve_;
  quant_params px_, py_;
  std::shared_ptr<const std::vector<float>> table_, dist_table_;  // widths <= 8
};

extern template class hilbert_quantizer<std::int8_t>;
extern template class hilbert_quantizer<std::uint8_t>;
extern template class hilbert_quantizer<std::int16_t>;
extern template class hilbert_quantizer<std::uint16_t>;

static_assert(quantizer<hilbert_quantizer<std::uint8_t>>);

/// The analytic error model of a Hilbert head against direct quantization of t with the same codes.
/// Each channel carries e = u + g: u uniform quantization noise of width `step`, g Gaussian model
/// noise of standard deviation `noise` (both unit-square units; independent of each other):
///   rms_direct     = (hi - lo) sqrt(step^2 / 12 + noise^2)
///   along:         the component of e along the segment moves s, the perpendicular one does not:
///                  var_along = q^2 / 12 + sigma^2 in lattice units (q = step / h, sigma = noise / h;
///                  alone: gain = L).
///   turns:         near a vertex where the curve turns, a point whose perpendicular component wins
///                  decodes onto the next segment or the vertex; each turn adds turn_var, the same exact
///                  two-ray expectation as in lowbit/hilbert3.h (3.6 sigma^3 for Gaussian noise). The
///                  2-D curves turn at 0.8 of their vertices, so the gain is about L / sqrt(1 + 2.9 sigma)
///                  before any jump.
///   jumps:         a perpendicular error e (lattice units: branch spacing h = segment_length() = 1) moves
///                  the nearest point to the neighbours m rows away (m = 1, 2, ...; the last lattice row
///                  catches everything beyond it; nothing across the border). Row m is reached when
///                  e > m - 1/2 if its two neighbours (V_k + m p, V_{k+1} + m p) form a parallel branch,
///                  and when e > m - 1/2 + phi^2 / 2 (phi = min(f, 1 - f), f the position along the
///                  segment, averaged over f) if they are unconnected vertices; probabilities from the
///                  exact tail of u + g. A landing on row m costs error^2 = the mean of
///                  (d(V_k + m p) - k)^2 and (d(V_{k+1} + m p) - k - 1)^2 segments^2. Averaged over every
///                  segment k (t uniform) and both sides (p the unit normal).
///   rms_hilbert    = (hi - lo) / (M - 1) sqrt((1 - P_land) (var_along + turns / (M - 1) * turn_var)
///                    + E[jump error^2]) (segments -> value).
///   jump_probability = the probability of a landing more than 1.5 segments away along the curve.
/// An approximation. While jumps are impossible it is within 2% of measurement at 8 bits with 0.5..4 LSB
/// of noise (orders 1..4, both layouts, 200k uniform t; tests/hilbert_eval_test.cc checks four rows to
/// 3%). Without noise its turn term, O(q), puts it 0.1..2.3% below L at 8 bits (orders 1..4), where the
/// measurement is 0..1.6% below (no term at all was 0.6..15% high with noise). It tracks the
/// measured collapse within about 30% where jumps are frequent (>= 0.1%), and overestimates the
/// rare-jump rate (and so underestimates the gain) by up to ~4x in the transition, where a few
/// Gaussian-tail events dominate; it ignores diagonal and along-the-curve landings at corners, so for
/// noise of several branch spacings (a collapsed head) it underestimates the error. examples/hilbert_eval
/// prints the model beside measurements.
struct hilbert_error_estimate {
  double rms_direct;        ///< predicted RMS error of direct quantization of t (value units)
  double rms_hilbert;       ///< predicted RMS error of the Hilbert head (value units)
  double gain;              ///< rms_direct / rms_hilbert (= L for small noise)
  double jump_probability;  ///< predicted probability that a value decodes onto another branch
};

/// The model above with the quantization step and noise in unit-square units.
/// Throws errc::invalid_argument unless step > 0 and noise >= 0 (finite).
hilbert_error_estimate predict_hilbert_error(const hilbert_curve& curve, double step, double noise);

/// The model for `bits`-bit codes spanning the unit square (step = 1 / (2^bits - 1)) and Gaussian model
/// noise of `noise_lsb` steps per channel. Throws errc::unsupported_width outside 2..16 and as above.
hilbert_error_estimate predict_hilbert_error(const hilbert_curve& curve, int bits, double noise_lsb);

/// The order in 1..max_order whose predicted rms_hilbert is smallest for this layout, width and noise
/// among the orders with predicted jump_probability <= 1e-3 (where the model is reliable; ties -> the
/// lower order); 1 if no order qualifies. Throws as predict_hilbert_error and errc::invalid_argument for
/// max_order outside 1..8.
int best_hilbert_order(hilbert_layout layout, int bits, double noise_lsb, int max_order = 8);

}  // namespace lowbit
