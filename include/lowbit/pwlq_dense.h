// lowbit — integer inference with PWLQ weights: a fully connected (dense) layer and its dot-product
// kernel, with uint8 / int8 activations, 2k + 1 int32 accumulators per output (3k + 1 for the
// `reference` grid variant) and one requantization.
// SPDX-License-Identifier: Apache-2.0
//
// Conventions (lowbit/integer_layers.h): activations [batch][features], one scale s_x and zero point
// zx per tensor (real = s_x (x - zx)), int8 or uint8 full range (activation_quant); weights [out][in]
// float, quantized with PWLQ (lowbit/pwlq.h) per output channel (axis 0) or per tensor; a float bias
// per output channel; the output quantized with s_out, z_out into int8 / uint8, clamped to a
// clamp_range inside the output format.
//
// ---- The decomposition ---------------------------------------------------------------------------
// Notation of lowbit/ref/pwlq.h for the channel of output o: e[0] = p1 < ... < e[k] = m, centre step c,
// tail steps t_r (r = 1..k), L = 2^(b-1) - 1, H = 2^(b-1). All are float32 values. The "level" of a
// code below is the REAL number its decode formula stands for before any float rounding:
//   centre (both variants)      q c                          (q the code, signed)
//   paper, tail r               sign (e[r-1] + j t_r)        (j the magnitude index, q = j or ~j)
//   reference, tail r, q >= 0   e[r-1] + j t_r               (j = q)
//   reference, tail r, q < 0    -e[r] + (q + H) t_r  =  -(e[r-1] + j t_r) - delta_r
//                               with j = ~q = -1 - q in [0, L] (the distance from the top level, which
//                               is what makes the two halves of the tail look alike), and
//                               delta_r = e[r] - e[r-1] - L t_r, the residue of rounding t_r (the
//                               negative tail is anchored at -e[r], not at -(e[r-1] + L t_r)).
// pwlq_dequantize returns these levels rounded to float32 (one rounding for the centre, two for the
// tails); the difference is below 2^-22 m per weight (the tolerance functions below account for it).
//
// With d_i = x_i - zx (|d_i| <= 255) the accumulators of one output channel are (pwlq_accumulators)
//   A_c   = sum over centre weights of d_i q_i
//   A_r   = sum over tail-r weights of d_i sign_i j_i
//   S_r   = sum over tail-r weights of d_i sign_i
//   N_r   = sum over negative tail-r weights of d_i        (reference variant only: the anchor term)
// and the exact dot product with the levels is
//   D = c A_c + sum_r (t_r A_r + e[r-1] S_r - delta_r N_r)       (delta_r = 0 for the paper variant)
// which is the paper's P1 + P2 (its "P2 = s_x (s2 <Xq, Wq>_R2 + p <Xq, sign>_R2)"), plus the anchor term
// of the reference variant; the real output is y = s_x D + bias. Dropping N_r would move y by
// s_x |delta_r N_r| (delta_r is about 2^-24 m), which is why the reference variant keeps it. For the
// combine, delta_r is never formed: D is evaluated as the exactly representable
//   D = c A_c + sum_r [ t_r (A_r + L N_r) + e[r-1] (S_r + N_r) - e[r] N_r ]        (reference)
//   D = c A_c + sum_r [ t_r A_r + e[r-1] S_r ]                                      (paper)
// i.e. a sum of terms I_k K_k of int64 integers I_k (|I_k| < 2^33) and float32 constants K_k >= 0.
//
// ---- Accumulator bounds ----------------------------------------------------------------------------
// |d_i| <= 255, |q| <= 128, j <= 127, so every term of A_c, A_r is at most 255 * 128 = 32640 in
// magnitude and every partial sum of every accumulator (in any order) is at most 32640 * in_features.
// That fits int32 for in_features <= pwlq_dense_max_in_features = floor((2^31 - 1) / 32640) = 65793,
// which the layer enforces; the kernel never overflows on a layer lowbit accepts.
//
// ---- The two combines (pwlq_combine) ---------------------------------------------------------------
// u = y / s_out is the exact real output in code units (before the zero point).
//   exact        out = clamp(round_half_even(u) + z_out, clamp.min, clamp.max), u evaluated EXACTLY
//                (the float32 constants split into integer mantissas and exponents, the sum formed in a
//                1280-bit integer, divided by the mantissa of s_out with the remainder kept): one single
//                rounding of the true value, no other error. It equals round_half_even of the dequantized
//                float computation done in exact arithmetic with the levels above.
//   fixed_point  all-integer: per output channel the real multipliers r_k = s_x K_k / s_out (double,
//                one rounding) become integers M_k = round_half_even(r_k 2^sh) with one common exponent
//                sh = 31 - e (r_max = f 2^e, f in [0.5, 1), so max M_k is in [2^30, 2^31], as
//                quantize_multiplier normalises its mantissa), capped at sh <= 62; the bias becomes
//                B = round_half_even(double(b) / double(s_out) 2^sh), saturated to +-2^100. Then
//                T = sum_k M_k I_k + B in 128-bit integers (|T| < 2^101: no overflow) and
//                out = clamp(round_half_even(T / 2^sh) + z_out, clamp.min, clamp.max) (an integer shift
//                with the remainder compared to 2^(sh-1)). Error before the final rounding:
//                  |T / 2^sh - u| <= delta_fx = 2^-sh ((1/2 + 2^-22) sum_k |I_k| + 1/2) + 2^-52 |b / s_out|
//                (each |M_k 2^-sh - r_k| <= 2^-sh / 2 + 2^-53 r_k <= 2^-sh (1/2 + 2^-22), the bias
//                likewise), so out_fixed = out_exact unless u is within delta_fx of a half-integer, and
//                |out_fixed - out_exact| <= 1 whenever delta_fx < 1 (fixed_point_tolerance() returns it;
//                on layers of any realistic scale it is below 1e-6). The layer's requantization domain
//                is that of quantize_multiplier: r_max >= 2^30 throws invalid_scale.
//
// ---- The float reference and its bound -------------------------------------------------------------
// run_float_reference computes y_ref = sum_i (s_x (x_i - zx)) w_i + b in double, in index order, with
// w_i the float32 levels of pwlq_dequantize (pwlq_levels::decoded) or the real levels above evaluated
// in double (pwlq_levels::exact). reference_tolerance() returns, per output, delta with
// |u - y_ref / s_out| <= delta, proved as follows (u_eps = 2^-24 float, eps = 2^-53 double):
//   decoded levels: each float32 level differs from its real level by at most
//     u_eps (|a| + |w|) <= 2^-22 m  (a the intermediate product; |a|, |w| <= m (1 + 2^-20); centre: one
//     rounding of |q c| <= 1.004 p), so the data term is s_x 2^-22 m sum_i |d_i|;
//   exact levels: each double level has at most one rounding: 2^-52 m per weight;
//   the double sum of n + 1 products (s_x d_i exact, times w_i one rounding) plus the bias: at most
//     (n + 2) eps sum(|terms|) <= (n + 2) 2^-53 (s_x (m (1 + 2^-20)) sum_i |d_i| + |b|), doubled for margin;
//   divided by s_out, plus 2^-52 |y_ref / s_out| for the division itself.
// Hence, with round_half_even and the clamp monotone:
//   code(y_ref / s_out - delta) <= out_exact <= code(y_ref / s_out + delta),
// in particular out_exact == code(y_ref / s_out) unless y_ref / s_out is within delta of a half-integer,
// and |out_exact - round(y_ref / s_out) - z_out| <= 1 whenever delta < 1 (rhe(a) - rhe(b) < |a - b| + 1).
// For the exact levels delta is ~1e-12 relative: the exact combine equals round_half_even(float64
// reference) except within that distance of a tie.
//
// Every public function validates its arguments and throws lowbit::error; pwlq_dot (the kernel) takes
// validated lists and never throws or allocates.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "lowbit/error.h"
#include "lowbit/integer_layers.h"
#include "lowbit/pwlq.h"

namespace lowbit::fxp {

/// The largest in_features for which every accumulator provably fits int32 (see the file comment).
inline constexpr int pwlq_dense_max_in_features = 65793;

/// The int32 accumulators of one output channel (file comment): 2k + 1 for the paper variant,
/// 3k + 1 for the reference variant (the kernel fills tail_negative for both; the paper variant's
/// combine does not read it).
struct pwlq_accumulators {
  std::int32_t centre = 0;                                    ///< A_c = sum_centre d q
  std::int32_t tail[ref::pwlq_max_breakpoints] = {};          ///< A_r = sum_tail_r d sign j
  std::int32_t tail_sum[ref::pwlq_max_breakpoints] = {};      ///< S_r = sum_tail_r d sign
  std::int32_t tail_negative[ref::pwlq_max_breakpoints] = {}; ///< N_r = sum_{tail_r, q < 0} d
  friend constexpr bool operator==(const pwlq_accumulators&, const pwlq_accumulators&) = default;
};

/// The weights of one output channel split by region and sign, as the kernel reads them: for each
/// list an input index and an int8 multiplier. centre: (i, q); positive[r-1]: tail-r weights with
/// q >= 0, (i, j); negative[r-1]: tail-r weights with q < 0, (i, j = ~q). Lists of regions above k are
/// empty. Indices must be < the input row length.
struct pwlq_channel_lists {
  std::span<const std::uint32_t> centre_index;
  std::span<const std::int8_t> centre_value;
  std::span<const std::uint32_t> positive_index[ref::pwlq_max_breakpoints];
  std::span<const std::int8_t> positive_value[ref::pwlq_max_breakpoints];
  std::span<const std::uint32_t> negative_index[ref::pwlq_max_breakpoints];
  std::span<const std::int8_t> negative_value[ref::pwlq_max_breakpoints];
};

/// The dot-product kernel (scalar): the accumulators of one output channel for one input row x with
/// zero point zx. d = int32(x[i]) - zx; A_c = sum d q over centre; per region r: P = sum d j and
/// Ps = sum d over positive, Nj = sum d j and Ns = sum d over negative; A_r = P - Nj, S_r = Ps - Ns,
/// N_r = Ns. int32 arithmetic, exact under the bound of the file comment. In = int8_t or uint8_t.
/// Never throws, never allocates; the lists must be valid for x.
template <class In>
pwlq_accumulators pwlq_dot(std::span<const In> x, std::int32_t zx, const pwlq_channel_lists& w) noexcept;

/// How pwlq_fully_connected::run turns the accumulators into output codes (file comment).
enum class pwlq_combine : std::uint8_t {
  exact,        ///< the exact value rounded once (half to even)
  fixed_point,  ///< all-integer: common-exponent fixed-point multipliers, 128-bit sum, one rounding
};

/// Which weight levels run_float_reference uses.
enum class pwlq_levels : std::uint8_t {
  decoded,  ///< the float32 levels of pwlq_dequantize (the dequantized float computation)
  exact,    ///< the real levels of the decode formulas, evaluated in double
};

/// The per-channel constants of the all-integer combine (pwlq_combine::fixed_point).
struct pwlq_fixed_channel {
  static constexpr int max_terms = 1 + 3 * ref::pwlq_max_breakpoints;
  std::int64_t multiplier[max_terms] = {};  ///< M_k = round_half_even(r_k 2^shift), in [0, 2^31]
  int shift = 62;                           ///< sh, 0..62
  double bias = 0.0;                        ///< B as an integer-valued double, |B| <= 2^100
};

/// A dense layer with PWLQ weights: out[b][o] from in[b][0..in) (file comment for the numerics).
class pwlq_fully_connected {
 public:
  /// From PWLQ codes [out][in] (pwlq_quantize of the weights with `params`) and their parameters:
  /// per_tensor, or per_channel along axis 0 of shape {out_features, in_features}. bias: empty (0) or
  /// out_features finite floats. `clamp` defaults to the output format's full range.
  /// Throws errc::invalid_shape (in_features outside 1..pwlq_dense_max_in_features, out_features < 1),
  /// size_mismatch (codes / bias sizes, per-channel params for another shape than {out, in}),
/// invalid_axis (params per channel along another axis than 0),
  /// count_mismatch (params' channels), invalid_argument (a code outside params' format, a non-finite
  /// bias, clamp outside the output format or min > max), unsupported_width (activation formats not
  /// int8 / uint8), invalid_scale, invalid_zero_point (activation quantization; invalid_scale also when
  /// a fixed-point multiplier s_x K / s_out reaches 2^30).
  pwlq_fully_connected(int in_features, int out_features, std::vector<pwlq_code> codes, pwlq_params params,
                       std::span<const float> bias, const activation_quant& input, const activation_quant& output,
                       std::optional<clamp_range> clamp = std::nullopt);

  /// The float bridge: params = pwlq_calibrate(weights, {out, in}, axis 0, options) (per output channel),
  /// codes = pwlq_quantize(weights, params). Throws as the constructor, size_mismatch (weights), and
  /// what pwlq_calibrate throws (no_finite_data for a channel without a finite weight, ...).
  static pwlq_fully_connected from_float(std::span<const float> weights, std::span<const float> bias,
                                         int in_features, int out_features, const pwlq_options& options,
                                         const activation_quant& input, const activation_quant& output,
                                         std::optional<clamp_range> clamp = std::nullopt);

  int in_features() const noexcept { return in_; }
  int out_features() const noexcept { return out_; }
  const pwlq_params& params() const noexcept { return params_; }
  /// The weight codes [out][in].
  std::span<const pwlq_code> codes() const noexcept { return codes_; }
  /// The bias per output channel (0 when none was given).
  std::span<const float> bias() const noexcept { return bias_; }
  const activation_quant& input() const noexcept { return input_; }
  const activation_quant& output() const noexcept { return output_; }
  const clamp_range& clamp() const noexcept { return clamp_; }
  /// The PWLQ run parameters of output channel o's weights.
  const ref::pwlq_run& channel_run(std::size_t o) const noexcept {
    return params_.run(params_.channels() == 1 ? 0 : o);
  }
  /// Output channel o's weights split by region and sign (the kernel's input).
  pwlq_channel_lists channel_lists(std::size_t o) const noexcept;
  /// Output channel o's fixed-point requantization constants.
  const pwlq_fixed_channel& fixed_channel(std::size_t o) const noexcept { return fixed_[o]; }

  /// out = the layer on `input` ([batch][in] codes), batch = input.size() / in_features, written to
  /// `output` ([batch][out]). In / Out are int8_t or uint8_t and must match input().format /
  /// output().format. Throws errc::type_mismatch, errc::size_mismatch (input not a multiple of
  /// in_features, output not batch * out_features).
  template <class In, class Out>
  void run(std::span<const In> input, std::span<Out> output, pwlq_combine combine = pwlq_combine::exact) const;

  /// The accumulators [batch][out] (pwlq_dot per output channel). Throws as run.
  template <class In>
  void accumulate(std::span<const In> input, std::span<pwlq_accumulators> acc) const;

  /// The real output y [batch][out] of the dequantized float computation (file comment), in double.
  /// Throws as run.
  template <class In>
  void run_float_reference(std::span<const In> input, std::span<double> y,
                           pwlq_levels levels = pwlq_levels::decoded) const;

  /// delta [batch][out], in output code units: |u - y_ref / s_out| <= delta, y_ref from
  /// run_float_reference with the same `levels` (file comment). Throws as run.
  template <class In>
  void reference_tolerance(std::span<const In> input, std::span<double> delta,
                           pwlq_levels levels = pwlq_levels::decoded) const;

  /// delta_fx [batch][out]: |T / 2^sh - u| <= delta_fx for the fixed-point combine. Throws as run.
  template <class In>
  void fixed_point_tolerance(std::span<const In> input, std::span<double> delta) const;

  /// clamp(round_half_even(v) + z_out, clamp.min, clamp.max) for a real v in code units (v = y / s_out),
  /// in double (v beyond +-2^40 saturates; NaN gives z_out clamped).
  std::int32_t output_code(double v) const noexcept;

 private:
  std::size_t lists_per_channel() const noexcept { return 1 + 2 * static_cast<std::size_t>(k_); }
  int terms(const pwlq_accumulators& a, std::size_t o, std::int64_t* I, float* K) const noexcept;
  std::int32_t combine_exact(const pwlq_accumulators& a, std::size_t o) const noexcept;
  std::int32_t combine_fixed(const pwlq_accumulators& a, std::size_t o) const noexcept;
  template <class In>
  std::size_t check_run(std::span<const In> input, std::size_t out_size, const char* what) const;

  int in_ = 0, out_ = 0, k_ = 1;
  pwlq_params params_;
  std::vector<pwlq_code> codes_;
  std::vector<float> bias_;
  activation_quant input_, output_;
  clamp_range clamp_;
  std::vector<std::uint32_t> index_;  // all lists, channel-major: centre, pos 1, neg 1, ..., pos k, neg k
  std::vector<std::int8_t> value_;
  std::vector<std::size_t> offset_;   // out * lists_per_channel() + 1 list starts
  std::vector<pwlq_fixed_channel> fixed_;
};

/// The error of the PWLQ layer against the float layer on float input (as the integer layers'
/// compare_with_float): `input` ([batch][in] float) is quantized with layer.input() (lowbit::quantize),
/// run with `combine`, dequantized with layer.output(), and compared with y = input W^T + bias in
/// double (W the original float weights [out][in]), clamped to nothing: `clipped` counts integer outputs
/// at the clamp bounds whose float output lies outside them. Throws errc::size_mismatch.
layer_error_report compare_with_float(const pwlq_fully_connected& layer, std::span<const float> input,
                                      std::span<const float> weights, std::span<const float> bias,
                                      pwlq_combine combine = pwlq_combine::exact);

}  // namespace lowbit::fxp
