// lowbit — piecewise-linear quantization (PWLQ, Fang et al., ECCV 2020): parameters, breakpoint
// selection, the quantizer, a packed storage format and bias correction.
// SPDX-License-Identifier: Apache-2.0
//
// A PWLQ channel splits the symmetric range [-m, m] at k breakpoints 0 < p1 < ... < pk < m (k = 1..3)
// into a centre region |x| < p1 and k tail regions p_r <= |x| < p_{r+1} (the last one up to m), and
// quantizes each region with its own uniform grid of b-bit codes (b = 2..8): a b-bit multiplier plus
// a region index that selects the accumulator (2k + 1 accumulators for an integer dot product). The
// per-value numerics (float32, round half to even, the two grid variants, the code layout, NaN / Inf /
// all-zero behaviour) are defined by the scalar oracle in lowbit/ref/pwlq.h; a SIMD kernel must match
// it bit for bit.
//
// Breakpoints are chosen per channel from the data (pwlq_calibrate):
//   exact      the breakpoint with the least true empirical MSE (the float32 quantizer run on the
//              finite values, errors summed in double; ties go to the smaller p), searched on the
//              lattice p = fl(j * m / 16384), j = 1..16383 (spacing 6.1e-5 m, finer than 1e-4 m), then
//              refined: 63 more breakpoints evenly between the lattice neighbours of the best one.
//              Small channels (at most 1024 finite values, 2^-90 <= m <= 2^100): one sweep over the
//              lattice gives the MSE in real arithmetic at every lattice point (every level is linear in
//              p, so a value's error is a quadratic in p between the lattice points where its cell
//              changes: O(n 2^(b-1) + 16384), no per-point cost in 2^b) with a rigorous bound of its
//              distance to the float32 MSE (level rounding, the values whose float32 cell may differ
//              from the real one near a decision, the double arithmetic). Every lattice point whose lower
//              bound is below the least upper bound is a contender, scored by the oracle on the values,
//              best estimate first, until no one left has a lower bound below the best score (at most
//              max(256, 2^22 / n)): with fewer contenders the result is the global optimum on the lattice.
//              Larger channels, without running the quantizer thousands of times: a 16384-bin
//              histogram of |x| whose bins are the lattice intervals, with per-bin counts and exact sums
//              of |x| and x^2 per sign,
//              gives for a lattice p the exact error of every bin no rounding boundary crosses
//              (sum (x - l)^2 = S2 - 2 l S1 + l^2 S0 with the float32 level l) and, for the bins a
//              boundary crosses, an estimate (the bin split in proportion) with a rigorous bound (a
//              value there is off by at most 2 (level gap) (bin width)). Lattice points are estimated
//              every `stride` points (stride 1 up to 4 bits below 65536 values, 2^(b-4) above 4 bits;
//              from 65536 values 4 up to 4 bits, 2^(b-2) above) and every point within a stride of a
//              coarse point whose lower bound reaches the least upper bound. Every estimated point whose
//              lower bound is below the least upper bound is a contender; contenders are scored exactly,
//              best estimate first, until no one left has a lower bound below the best score (at most
//              256): the values of their boundary bins, gathered in one pass, go through the oracle and
//              the other bins are summed exactly. With stride 1 and fewer than 256 contenders the result
//              is the global optimum on the lattice; otherwise the coarse pass assumes the histogram MSE
//              varies smoothly over a stride (tests check it against brute force and grid).
//              O(n): two passes over the data and one gather pass, plus O(16384 * 2^b / stride).
//              k = 2, 3: dynamic programming over the chain of regions (the MSE is a sum of one term
//              per region, each depending on the region's two ends) on the lattice j * 64, with the
//              histogram MSE: the global optimum on that lattice; then coordinate descent on the full
//              lattice, each coordinate the best within 128 lattice steps of its current value (and
//              between its neighbours), until no coordinate moves. The histogram MSE is exact but for
//              the bins a rounding boundary crosses, which are split in proportion. Channels of at most
//              64 * 2^(b-1) finite values (2^-90 <= m <= 2^100) use instead the true MSE of each region
//              (the oracle's float32 arithmetic on the region's sorted values, summed in double), so
//              the dynamic programming gives the global optimum of the true MSE on the j * 64 lattice.
//              Scratch buffers are reused per thread (thread_local): no allocation per channel once warm,
//              no state shared between threads; about 1.5 MB stay allocated per thread that calibrated,
//              per-value buffers only up to 2^20 values (larger ones are released after the call).
//   gaussian   the authors' closed form in units of sigma: p = sigma * ln(0.8614 * m / sigma + 0.6079)
//   laplacian  p = sigma * (0.8030 * sqrt(m / sigma) - 0.3167)
//              sigma = the unbiased standard deviation of the finite values (double); p is computed in
//              double, rounded to float and clamped to the lattice [m / 16384, 16383 m / 16384]; with
//              fewer than 2 values or sigma == 0 (a constant channel) p = m / 2.
//   grid       the authors' coarse-to-fine search on r = p / m: r = 0.1 + 0.1 i (i = 0..8), then
//              r1 - 0.1 + 0.01 i (i = 0..19) around the best r1, then r2 - 0.01 + 0.001 i (i = 0..19)
//              around the best r2 (r in double as numpy.arange computes it, r outside (0, 1) skipped,
//              p = float(r * m)); each candidate scored by the true MSE; ties keep the earlier one.
// A channel with no finite value throws no_finite_data; a channel whose finite values all have
// |x| < 2^-100 (all zeros included) gets m = 0, which encodes every value to code {0, 0} (value 0).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <utility>
#include <vector>

#include "lowbit/error.h"
#include "lowbit/quant_params.h"
#include "lowbit/quantizer.h"
#include "lowbit/ref/pwlq.h"

namespace lowbit {

/// How pwlq_calibrate chooses the breakpoints (see the top of this file).
enum class pwlq_breakpoint : std::uint8_t { exact, gaussian, laplacian, grid };

/// "exact", "gaussian", "laplacian", "grid".
const char* to_string(pwlq_breakpoint method) noexcept;
/// "reference", "paper".
const char* to_string(pwlq_variant variant) noexcept;
/// Parses the names above. Throws lowbit::error(invalid_argument) naming the accepted names.
pwlq_breakpoint pwlq_breakpoint_from_string(std::string_view text);
pwlq_variant pwlq_variant_from_string(std::string_view text);

/// Frozen, validated PWLQ parameters: code width, variant, k breakpoints, and per channel (one for
/// per_tensor) the max |x| m and the breakpoints, with the derived steps (lowbit/ref/pwlq.h).
/// Rules checked by both factories (lowbit::error with this errc):
///   unsupported_width  bits outside 2..8
///   invalid_argument   k (breakpoints per channel) outside 1..3, a variant outside the enum
///   invalid_range      m NaN, Inf or < 0; for m > 0: breakpoints not finite and 0 < p1 < ... < pk < m,
///                      a derived step that is 0 (a subnormal range), or a code whose level lies beyond
///                      FLT_MAX (m within a few ulps of it, or a breakpoint p1 whose centre grid's code
///                      -2^(b-1) reaches past it: p1 above FLT_MAX / 2 for 2-bit paper codes);
///                      m == 0 is the all-zero channel (its breakpoints are ignored and stored as 0)
class pwlq_params {
 public:
  /// Moves copy, as quant_params's do: a moved-from pwlq_params keeps its parameters.
  pwlq_params(const pwlq_params&) = default;
  pwlq_params& operator=(const pwlq_params&) = default;
  ~pwlq_params() = default;

  /// One channel for the whole tensor (any element count). `breakpoints` holds p1 < ... < pk.
  static pwlq_params per_tensor(int bits, pwlq_variant variant, float max_abs,
                                std::span<const float> breakpoints);
  /// One channel per index along `axis` (negative counts from the end) of a C-order tensor of shape
  /// `shape`. `max_abs` has shape[axis] entries, `breakpoints` shape[axis] * k, channel-major
  /// (channel c's breakpoints at [c * k, c * k + k)), k = breakpoints.size() / max_abs.size().
  /// Throws as per_tensor, and invalid_shape, invalid_axis, count_mismatch (max_abs.size() !=
  /// shape[axis], or breakpoints.size() not a multiple of it).
  static pwlq_params per_channel(int bits, pwlq_variant variant, std::span<const std::int64_t> shape, int axis,
                                 std::span<const float> max_abs, std::span<const float> breakpoints);

  int bits() const noexcept { return bits_; }
  pwlq_variant variant() const noexcept { return variant_; }
  /// k, the breakpoints per channel (1..3).
  int breakpoint_count() const noexcept { return k_; }
  lowbit::granularity granularity() const noexcept { return granularity_; }
  /// The tensor shape (empty for per_tensor).
  std::span<const std::int64_t> shape() const noexcept { return shape_; }
  /// The channel axis in [0, rank) (-1 for per_tensor).
  int axis() const noexcept { return axis_; }
  /// Element count of the shape (0 for per_tensor, which accepts any count).
  std::size_t element_count() const noexcept { return element_count_; }
  /// Channels: shape[axis], or 1 for per_tensor.
  std::size_t channels() const noexcept { return max_abs_.size(); }
  /// m per channel.
  std::span<const float> max_abs() const noexcept { return max_abs_; }
  /// The breakpoints, channel-major: channel c's p1..pk at [c * k, c * k + k).
  std::span<const float> breakpoints() const noexcept { return breakpoints_; }
  /// The validated run parameters (derived steps) of channel c, as the oracle takes them.
  const ref::pwlq_run& run(std::size_t channel) const noexcept { return runs_[channel]; }
  /// Values per channel slice: the product of the dimensions after the axis (1 for per_tensor).
  std::size_t inner_size() const noexcept { return inner_; }

  /// Same bits, variant, layout and bit-identical m and breakpoints.
  bool operator==(const pwlq_params& o) const noexcept;

 private:
  pwlq_params() = default;
  void finish(std::span<const float> max_abs, std::span<const float> breakpoints);

  int bits_ = 4;
  pwlq_variant variant_ = pwlq_variant::reference;
  int k_ = 1;
  lowbit::granularity granularity_ = lowbit::granularity::per_tensor;
  std::vector<std::int64_t> shape_;
  int axis_ = -1;
  std::size_t element_count_ = 0;
  std::size_t inner_ = 1;
  std::vector<float> max_abs_;
  std::vector<float> breakpoints_;
  std::vector<ref::pwlq_run> runs_;
};

/// What pwlq_calibrate makes.
struct pwlq_options {
  int bits = 4;                                       ///< b, 2..8
  pwlq_variant variant = pwlq_variant::reference;     ///< the grids (reference: lower MSE)
  int breakpoints = 1;                                ///< k, 1..3 (2 and 3 only with method exact)
  pwlq_breakpoint method = pwlq_breakpoint::exact;    ///< how the breakpoints are chosen
};

/// Per-tensor parameters for the finite values of x: m = max |x| (at most 2^127: larger values clamp
/// there, so that every level is finite), breakpoints by options.method (see the top of this file).
/// NaN / ±Inf values are ignored.
/// Throws: no_finite_data (no finite value), unsupported_width, invalid_argument (k outside 1..3, or
/// k > 1 with a method other than exact, a method or variant outside its enum).
pwlq_params pwlq_calibrate(std::span<const float> x, const pwlq_options& options = {});

/// Per-channel parameters: channel c = index c along `axis` of the C-order tensor x of shape `shape`,
/// each channel calibrated independently as the per-tensor overload does.
/// Throws as the per-tensor overload (no_finite_data for any channel without a finite value), and
/// size_mismatch (x.size() != the shape's element count), invalid_shape, invalid_axis.
pwlq_params pwlq_calibrate(std::span<const float> x, std::span<const std::int64_t> shape, int axis,
                           const pwlq_options& options = {});

/// Encodes x with p (lowbit/ref/pwlq.h: ref::pwlq_encode_value with each element's channel).
/// Throws size_mismatch if codes.size() != x.size() or, unless per_tensor, x.size() != p.element_count().
void pwlq_quantize(std::span<const float> x, const pwlq_params& p, std::span<pwlq_code> codes);

/// Decodes codes with p: each value is exactly the float32 level its code stands for
/// (ref::pwlq_decode_value). Throws as pwlq_quantize.
void pwlq_dequantize(std::span<const pwlq_code> codes, const pwlq_params& p, std::span<float> y);

/// y = dequantize(quantize(x)) in one pass. y may alias x exactly. Throws as pwlq_quantize.
void pwlq_fake_quantize(std::span<const float> x, const pwlq_params& p, std::span<float> y);

/// The true empirical MSE of p on the finite values of x: the mean over them of
/// (fake_quantize(x) - x)^2, in double. 0 when there is none. Throws as pwlq_quantize.
double pwlq_mse(std::span<const float> x, const pwlq_params& p);

/// PWLQ as a lowbit::quantizer: one float -> one pwlq_code (b-bit q + region), bits() = b (the
/// multiplier width; the region index is extra: 1 bit for k = 1, 2 bits for k = 2, 3).
class pwlq_quantizer {
 public:
  using value_type = float;
  using code_type = pwlq_code;

  explicit pwlq_quantizer(pwlq_params params) : params_(std::move(params)) {}

  const pwlq_params& params() const noexcept { return params_; }
  static constexpr std::size_t codes_per_value() noexcept { return 1; }
  int bits() const noexcept { return params_.bits(); }
  void encode(std::span<const float> values, std::span<pwlq_code> codes) const {
    pwlq_quantize(values, params_, codes);
  }
  void decode(std::span<const pwlq_code> codes, std::span<float> values) const {
    pwlq_dequantize(codes, params_, values);
  }

 private:
  pwlq_params params_;
};

// ---- Packed storage -------------------------------------------------------------------------------
// A packed buffer of n codes is two bit planes, the code plane then the region plane:
//   code plane    ceil(n * b / 8) bytes: q of value i in two's complement, b bits, at bit offset i * b
//                 of the plane read as a little-endian bit stream (bit t is bit t % 8 of byte t / 8)
//   region plane  ceil(n * rb / 8) bytes, rb = 1 for k = 1, 2 for k = 2, 3: the region of value i at bit
//                 offset i * rb, same bit order
// Unused high bits of the last byte of each plane are 0. Splitting the planes keeps the b-bit codes
// contiguous for a b-bit multiplier and leaves the region plane (mostly zeros: ~90% of weights are in
// the centre) to an entropy coder.

/// Bytes of a packed buffer of `count` codes with p's b and k.
std::size_t pwlq_packed_size(std::size_t count, const pwlq_params& p) noexcept;

/// Packs codes into `packed`. Throws size_mismatch if packed.size() != pwlq_packed_size(codes.size(), p),
/// invalid_argument if a code is outside p's format (q outside [-2^(b-1), 2^(b-1) - 1] or region > k).
void pwlq_pack(std::span<const pwlq_code> codes, const pwlq_params& p, std::span<std::uint8_t> packed);

/// Unpacks codes.size() codes (sign-extending q). Throws size_mismatch as pwlq_pack, corrupt_data if a
/// region field holds a value > k.
void pwlq_unpack(std::span<const std::uint8_t> packed, const pwlq_params& p, std::span<pwlq_code> codes);

// ---- Bias correction ------------------------------------------------------------------------------

/// What pwlq_bias_correction corrects, per output channel c of p (the whole tensor for per_tensor).
enum class bias_correction_kind : std::uint8_t {
  mean,      ///< y' = fl(y + shift_c), shift_c = float(mean(x_c) - mean(y_c)): removes the mean shift
  mean_std,  ///< the authors': y' = fl(fl(y + shift_c) * gain_c), gain_c = float(std(x_c) / std(y_c))
             ///< (the ratio of the standard deviations; 1 when std(y_c) == 0 or the channel has < 2
             ///< finite values), restoring the mean and the spread
};

/// Per-channel correction of quantized weights y = fake_quantize(x) (apply with
/// pwlq_apply_bias_correction). Means and standard deviations in double over the channel's elements
/// whose x is finite.
struct pwlq_correction {
  bias_correction_kind kind = bias_correction_kind::mean_std;
  std::vector<float> shift;  ///< per channel
  std::vector<float> gain;   ///< per channel (all 1 for kind mean)
};

/// Computes the correction of p's quantization of x. Throws as pwlq_quantize.
pwlq_correction pwlq_bias_correction(std::span<const float> x, const pwlq_params& p,
                                     bias_correction_kind kind = bias_correction_kind::mean_std);

/// y'[i] = fl(fl(y[i] + shift_c) * gain_c) (kind mean: fl(y[i] + shift_c)) for each element's channel c,
/// in place. Throws size_mismatch as pwlq_quantize, count_mismatch if the correction has another
/// channel count.
void pwlq_apply_bias_correction(std::span<float> y, const pwlq_params& p, const pwlq_correction& correction);

}  // namespace lowbit
