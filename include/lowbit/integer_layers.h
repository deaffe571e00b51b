// lowbit — integer-only reference layers (TFLite's reference integer kernels, with a DSP accumulator
// model), the float bridge that builds them from float weights, and ONNX's QLinear* numerics.
// SPDX-License-Identifier: Apache-2.0
//
// Layout and conventions (TFLite's):
//   activations  NHWC (conv / pool / elementwise), [batch][features] (fully connected), int8 or uint8
//                codes with one scale and zero point per tensor: real = scale * (code - zero_point)
//   weights      int8 codes; fully connected [out][in]; conv2d OHWI [out][kh][kw][in];
//                depthwise [1][kh][kw][in * depth_multiplier]; one scale (per-tensor) or one scale per
//                output channel (per-channel), zero points 0 (TFLite) or any int8 value (ONNX)
//   bias         int32 with scale s_in * s_w[c] and zero point 0 (one per output channel)
//
// Numerics of the MAC layers (fully connected, conv2d, depthwise conv2d), for each output element of
// output channel c:
//   acc  = the accumulator model of dsp_profile (below) over the terms (x - zx) * (w - zw[c]) and bias[c]
//   a32  = acc as int32: acc itself for accumulators of <= 32 bits (sign extension), and
//          clamp(acc, INT32_MIN, INT32_MAX) for wider ones (the "extract with saturation" of a DSP)
//   out  = clamp(multiply_by_quantized_multiplier(a32, M[c], rounding) + z_out, act_min, act_max)
//          with M[c] = quantize_multiplier(double(s_in) * double(s_w[c]) / double(s_out)) (TFLite's
//          QuantizeMultiplier: M ~ real * 2^(31 - shift), rounded half away from zero), the rounding
//          variant of the profile (lowbit/integer_requantize.h defines both bit for bit).
//   or, for dsp_profile::onnx() (requant_mode::onnx_float): out = clamp(round_half_even(float(a32) *
//          m[c]) + z_out, act_min, act_max), m[c] = float32(float32(s_in * s_w[c]) / s_out) (ONNX
//          QLinearMatMul / QLinearConv as onnxruntime and the ONNX reference compute them).
// Every public function validates its arguments and throws lowbit::error; kernels run on validated
// parameters. The dot products run on SIMD kernels (Highway) when the accumulator model cannot differ
// from exact int32 arithmetic (proved per layer from the weights, see integer_layer_base::simd_exact()),
// and on the scalar accumulator model otherwise; both give identical results.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "lowbit/error.h"
#include "lowbit/integer_requantize.h"
#include "lowbit/quant_params.h"
#include "lowbit/quantizer.h"

namespace lowbit::fxp {

// ---------------------------------------------------------------------------------------------
// The DSP profile: requantization variant and accumulator model
// ---------------------------------------------------------------------------------------------

/// How the int32 accumulator becomes an output code.
enum class requant_mode : std::uint8_t {
  fixed_point,  ///< TFLite / CMSIS-NN: multiply_by_quantized_multiplier with dsp_profile::rounding
  onnx_float,   ///< ONNX QLinear* numerics: float32 multiplier, round half to even (see the file comment)
};

/// Where the bias enters the accumulator.
enum class bias_order : std::uint8_t {
  last,   ///< acc = 0; every MAC; acc += bias        (TFLite reference kernels)
  first,  ///< acc = bias; every MAC                  (CMSIS-NN: the accumulator is initialised with the bias)
};

/// The numerics of a DSP: requantization variant and accumulator model.
///
/// Accumulator model. The accumulator holds `accumulator_bits` bits (16, 24, 32, 40, 48 or 64), two's
/// complement. Each product (x - zx) * (w - zw) is exact (|product| <= 255 * 255). Starting from 0
/// (bias_order::last) or from fit(bias) (bias_order::first), after every single multiply-accumulate the
/// running sum is fitted into the accumulator: saturate ? clamp to [-2^(bits-1), 2^(bits-1) - 1] : wrap
/// (keep the low `bits` bits, sign-extended). With bias_order::last the bias is added at the end, also
/// followed by fit. The MAC order is: fully connected k = 0..in-1; conv2d ky, kx, ic (taps outside the
/// input skipped, as padding with the zero point contributes 0); depthwise ky, kx.
/// The value handed to requantization is the accumulator as int32: sign-extended when bits <= 32,
/// clamped to [INT32_MIN, INT32_MAX] when bits > 32.
/// With 32 bits and no overflow (every real model), saturate and wrap are the same and equal TFLite.
struct dsp_profile {
  requant_rounding rounding = requant_rounding::double_rounding;
  int accumulator_bits = 32;  ///< 16, 24, 32, 40, 48 or 64
  bool saturate = false;      ///< true: saturating accumulator; false: wrap-around
  bias_order bias = bias_order::last;
  requant_mode mode = requant_mode::fixed_point;

  /// TFLite's reference integer kernels: double rounding (SaturatingRoundingDoublingHighMul then
  /// RoundingDivideByPOT), int32 accumulator that wraps (as compiled int32 code does), bias last.
  static constexpr dsp_profile tflite() noexcept { return {}; }
  /// TFLite built with TFLITE_SINGLE_ROUNDING: one rounding shift of the 64-bit product.
  static constexpr dsp_profile tflite_single_rounding() noexcept {
    return {requant_rounding::single_rounding, 32, false, bias_order::last, requant_mode::fixed_point};
  }
  /// CMSIS-NN (Arm Cortex-M, SMLAD): double rounding (its default arm_nn_requantize), int32 wrapping
  /// accumulator initialised with the bias.
  static constexpr dsp_profile cmsis_nn() noexcept {
    return {requant_rounding::double_rounding, 32, false, bias_order::first, requant_mode::fixed_point};
  }
  /// ONNX QLinearMatMul / QLinearConv (onnxruntime): int32 accumulator, float32 requantization.
  static constexpr dsp_profile onnx() noexcept {
    return {requant_rounding::double_rounding, 32, false, bias_order::last, requant_mode::onnx_float};
  }
  /// A 16-bit saturating MAC (a narrow fixed-point DSP without guard bits).
  static constexpr dsp_profile dsp16_saturating() noexcept {
    return {requant_rounding::double_rounding, 16, true, bias_order::first, requant_mode::fixed_point};
  }
  /// A 16-bit accumulator that wraps.
  static constexpr dsp_profile dsp16_wrapping() noexcept {
    return {requant_rounding::double_rounding, 16, false, bias_order::first, requant_mode::fixed_point};
  }
  /// A 24-bit saturating accumulator (24-bit audio DSP class).
  static constexpr dsp_profile dsp24_saturating() noexcept {
    return {requant_rounding::double_rounding, 24, true, bias_order::first, requant_mode::fixed_point};
  }
  /// A 40-bit saturating accumulator (32 bits + 8 guard bits: TI C6000 / ADI Blackfin class).
  static constexpr dsp_profile dsp40() noexcept {
    return {requant_rounding::double_rounding, 40, true, bias_order::first, requant_mode::fixed_point};
  }
  /// A 48-bit wrapping accumulator (FPGA DSP48 slice class).
  static constexpr dsp_profile dsp48() noexcept {
    return {requant_rounding::double_rounding, 48, false, bias_order::first, requant_mode::fixed_point};
  }
  /// A 64-bit accumulator: exact for every layer lowbit accepts.
  static constexpr dsp_profile exact64() noexcept {
    return {requant_rounding::double_rounding, 64, true, bias_order::last, requant_mode::fixed_point};
  }

  constexpr bool operator==(const dsp_profile&) const = default;
};

/// Throws errc::invalid_argument unless accumulator_bits is one of 16, 24, 32, 40, 48, 64 and the
/// enums hold named values.
void validate(const dsp_profile& p);

// ---------------------------------------------------------------------------------------------
// Activations, clamps, tensor quantization
// ---------------------------------------------------------------------------------------------

/// A fused activation.
enum class activation : std::uint8_t { none, relu, relu6 };

/// Output code bounds [min, max] applied after requantization.
struct clamp_range {
  std::int32_t min = -128;
  std::int32_t max = 127;
  constexpr bool operator==(const clamp_range&) const = default;
};

/// The codes of a fused activation, as TFLite's CalculateActivationRangeQuantized:
///   none:  [qmin, qmax]
///   relu:  [max(qmin, zp + round(0 / scale)), qmax] = [max(qmin, zp), qmax]
///   relu6: [max(qmin, zp), min(qmax, zp + round(6 / scale))]   round: half away from zero (std::round,
///          computed in float32 as TFLite does: 6.0f / scale)
/// Throws errc::invalid_scale, invalid_zero_point (outside [qmin, qmax]) as quant_params does.
clamp_range activation_range(activation act, float scale, std::int32_t zero_point, code_format format);

/// Per-tensor quantization of an activation tensor: real = scale * (code - zero_point). `format` is
/// int8 or uint8 (full range); `numerics` is how the float bridge quantizes float input into it.
struct activation_quant {
  float scale = 1.0f;
  std::int32_t zero_point = 0;
  code_format format = code_format::int8();
  profile numerics = profile::tflite;

  /// From per-tensor quant_params of an 8-bit format. Throws errc::invalid_argument for another
  /// granularity, errc::unsupported_width for a format that is not full-range int8 / uint8.
  static activation_quant from(const quant_params& p);
  /// As quant_params (validates scale and zero point: throws as quant_params::per_tensor).
  quant_params params() const { return quant_params::per_tensor(format, scale, zero_point, numerics); }
};

/// Throws lowbit::error unless `q` can feed or leave an integer layer: an 8-bit format
/// (unsupported_width), a finite scale > 0 (invalid_scale), a zero point inside the code range
/// (invalid_zero_point). The message starts with `layer` and names the tensor as `which` ("input").
void validate_activation(const activation_quant& q, const char* layer, const char* which);

/// Quantization of int8 weights: one scale per tensor or one per output channel.
struct weight_quant {
  std::vector<float> scales;             ///< 1 (per-tensor) or out_channels (per-channel)
  std::vector<std::int32_t> zero_points;  ///< empty (all 0), 1, or out_channels; each in [-128, 127]

  /// From lowbit quant_params of int8 codes: per-tensor, or per-channel along the output-channel axis
  /// (axis 0 of [out][in] / OHWI, the last axis of depthwise [1][kh][kw][oc]).
  /// Throws errc::type_mismatch (not int8), errc::invalid_axis (another axis or granularity).
  static weight_quant from(const quant_params& p, int out_channel_axis);
};

/// Explicit padding of the two spatial axes (TFLite / ONNX pads: [top, left, bottom, right]).
struct padding2d {
  int top = 0, left = 0, bottom = 0, right = 0;

  /// No padding.
  static constexpr padding2d valid() noexcept { return {}; }
  /// TFLite SAME / ONNX SAME_UPPER: out = ceil(in / stride); total = max((out - 1) * stride +
  /// (k - 1) * dilation + 1 - in, 0); top/left = total / 2, bottom/right = the rest.
  static padding2d same(int in_h, int in_w, int kernel_h, int kernel_w, int stride_h = 1, int stride_w = 1,
                        int dilation_h = 1, int dilation_w = 1);
  constexpr bool operator==(const padding2d&) const = default;
};

/// The spatial geometry of a windowed layer (conv, depthwise, pool).
struct window2d {
  int kernel_h = 1, kernel_w = 1;
  int stride_h = 1, stride_w = 1;
  int dilation_h = 1, dilation_w = 1;
  padding2d pad;

  /// Output size along one axis: (in + pad_a + pad_b - ((k - 1) * dilation + 1)) / stride + 1
  /// (floor), or 0 when the padded input is smaller than the dilated kernel or the size does not
  /// fit int (the layers refuse such windows with errc::invalid_shape).
  int out_h(int in_h) const noexcept;
  int out_w(int in_w) const noexcept;
};

// ---------------------------------------------------------------------------------------------
// MAC layers
// ---------------------------------------------------------------------------------------------

/// What the MAC layers share: quantization, requantization, profile.
class integer_layer_base {
 public:
  const activation_quant& input() const noexcept { return input_; }
  const activation_quant& output() const noexcept { return output_; }
  const weight_quant& weights_quant() const noexcept { return wq_; }
  const clamp_range& clamp() const noexcept { return clamp_; }
  const dsp_profile& profile() const noexcept { return profile_; }
  std::span<const std::int32_t> bias() const noexcept { return bias_; }
  /// M[c] of each output channel (the fixed-point requantization multipliers).
  std::span<const quantized_multiplier> multipliers() const noexcept { return multipliers_; }
  /// m[c] of each output channel (the float32 multipliers of requant_mode::onnx_float).
  std::span<const float> float_multipliers() const noexcept { return float_multipliers_; }
  /// True when the accumulator model provably equals exact int32 arithmetic for this layer, so the
  /// SIMD dot products run. The proof: for every output channel c,
  ///   B[c] = |bias[c]| + X * sum_k |w_k - zw[c]|,   X = max(qmax_in - zx, zx - qmin_in)
  /// bounds |every partial sum| (in any order, bias first or last) since |x - zx| <= X. If
  /// max_c B[c] <= min(2^(bits-1) - 1, 2^31 - 1), no fit() ever changes a value and no int32 wraps.
  bool simd_exact() const noexcept { return simd_exact_; }
  /// max_c B[c] above (the accumulator bound of the proof).
  std::int64_t accumulator_bound() const noexcept { return bound_; }

 protected:
  integer_layer_base() = default;
  // Validates the common parts and derives multipliers and the bound (weights are [oc][per_oc] for
  // `weights_per_oc` > 0, or depthwise when `depthwise_stride` > 0).
  void init(const activation_quant& in, const activation_quant& out, weight_quant wq, clamp_range clamp,
            dsp_profile profile, std::vector<std::int8_t> weights, std::vector<std::int32_t> bias,
            std::size_t out_channels, std::size_t weights_per_oc, const char* what);
  void compute_bound(std::size_t out_channels, std::size_t weights_per_oc, std::size_t oc_stride,
                     std::size_t k_stride);

  activation_quant input_, output_;
  weight_quant wq_;
  clamp_range clamp_;
  dsp_profile profile_;
  std::vector<std::int8_t> weights_;
  std::vector<std::int32_t> bias_;
  std::vector<std::int32_t> zw_;  // per output channel
  std::vector<quantized_multiplier> multipliers_;
  std::vector<float> float_multipliers_;
  bool simd_exact_ = false;
  std::int64_t bound_ = 0;
};

/// Fully connected: out[b][o] = requantize(acc over k of (in[b][k] - zx) * (W[o][k] - zw[o]), bias[o]).
class quantized_fully_connected : public integer_layer_base {
 public:
  /// weights: [out_features][in_features] int8; bias: empty (0) or out_features int32.
  /// Throws errc::invalid_shape (features < 1), size_mismatch (weights / bias sizes), count_mismatch
  /// (weight scales / zero points not 1 or out_features), invalid_zero_point (zw outside int8, zx / z_out
  /// outside their format), invalid_scale, unsupported_width (formats not int8 / uint8),
  /// invalid_argument (clamp outside the output format or min > max, or a bad profile).
  quantized_fully_connected(int in_features, int out_features, std::vector<std::int8_t> weights,
                            std::vector<std::int32_t> bias, const activation_quant& input,
                            const weight_quant& weights_q, const activation_quant& output, clamp_range clamp,
                            dsp_profile profile = dsp_profile::tflite());

  /// The float bridge: quantizes `weights` ([out][in] float) with `weights_q` (int8; per-tensor or
  /// per-channel along axis 0, e.g. from lowbit's observers) through lowbit::quantize, and the bias as
  /// bias_q[c] = clamp(round_half_away(double(b[c]) / (double(s_in) * double(s_w[c]))), INT32 range)
  /// (TFLite's converter). The clamp comes from `act` and `output_q` (activation_range).
  /// Throws as the constructor, and errc::size_mismatch for the float spans.
  static quantized_fully_connected from_float(std::span<const float> weights, std::span<const float> bias,
                                              int in_features, int out_features, const quant_params& input_q,
                                              const quant_params& weights_q, const quant_params& output_q,
                                              activation act = activation::none,
                                              dsp_profile profile = dsp_profile::tflite());

  int in_features() const noexcept { return in_; }
  int out_features() const noexcept { return out_; }
  std::span<const std::int8_t> weights() const noexcept { return weights_; }

  /// out = the layer on `input` ([batch][in] codes), batch = input.size() / in_features.
  /// In / Out are int8_t or uint8_t and must match input().format / output().format.
  /// Throws errc::type_mismatch, errc::size_mismatch (input not a multiple of in_features, output not
  /// batch * out_features).
  template <class In, class Out>
  void run(std::span<const In> input, std::span<Out> output) const;

  /// The raw accumulators a32 (before requantization), [batch][out]: ONNX MatMulInteger's output when
  /// the bias is empty. Throws as run.
  template <class In>
  void accumulate(std::span<const In> input, std::span<std::int32_t> acc) const;

 private:
  int in_ = 0, out_ = 0;
};

/// Conv2d geometry.
struct conv2d_shape {
  int in_h = 1, in_w = 1, in_channels = 1, out_channels = 1;
  window2d window;
};

/// 2-D convolution, NHWC input, OHWI weights [out][kh][kw][in].
class quantized_conv2d : public integer_layer_base {
 public:
  /// Throws as quantized_fully_connected's constructor, and errc::invalid_shape for a dimension,
  /// kernel size, stride or dilation < 1, a negative padding, or an empty output.
  quantized_conv2d(const conv2d_shape& shape, std::vector<std::int8_t> weights, std::vector<std::int32_t> bias,
                   const activation_quant& input, const weight_quant& weights_q, const activation_quant& output,
                   clamp_range clamp, dsp_profile profile = dsp_profile::tflite());

  /// The float bridge (as quantized_fully_connected::from_float; weights OHWI float, per-channel axis 0).
  static quantized_conv2d from_float(std::span<const float> weights, std::span<const float> bias,
                                     const conv2d_shape& shape, const quant_params& input_q,
                                     const quant_params& weights_q, const quant_params& output_q,
                                     activation act = activation::none, dsp_profile profile = dsp_profile::tflite());

  const conv2d_shape& shape() const noexcept { return shape_; }
  int out_h() const noexcept { return shape_.window.out_h(shape_.in_h); }
  int out_w() const noexcept { return shape_.window.out_w(shape_.in_w); }
  std::span<const std::int8_t> weights() const noexcept { return weights_; }

  /// input [batch][in_h][in_w][in_channels], output [batch][out_h][out_w][out_channels];
  /// batch = input.size() / (in_h * in_w * in_channels). Throws as quantized_fully_connected::run.
  template <class In, class Out>
  void run(std::span<const In> input, std::span<Out> output) const;
  /// The raw accumulators a32 (ONNX ConvInteger), [batch][out_h][out_w][out_channels].
  template <class In>
  void accumulate(std::span<const In> input, std::span<std::int32_t> acc) const;

 private:
  template <class In>
  void accumulate_row(const In* input, int b, int oy, std::int32_t* acc) const;
  conv2d_shape shape_;
};

/// Depthwise conv2d geometry: out_channels = in_channels * depth_multiplier.
struct depthwise_shape {
  int in_h = 1, in_w = 1, in_channels = 1, depth_multiplier = 1;
  window2d window;
  int out_channels() const noexcept { return in_channels * depth_multiplier; }
};

/// Depthwise 2-D convolution: output channel oc = ic * depth_multiplier + m reads input channel ic only.
/// Weights [1][kh][kw][out_channels] (TFLite). The MACs run on the scalar accumulator model.
class quantized_depthwise_conv2d : public integer_layer_base {
 public:
  /// Throws as quantized_conv2d's constructor.
  quantized_depthwise_conv2d(const depthwise_shape& shape, std::vector<std::int8_t> weights,
                             std::vector<std::int32_t> bias, const activation_quant& input,
                             const weight_quant& weights_q, const activation_quant& output, clamp_range clamp,
                             dsp_profile profile = dsp_profile::tflite());

  const depthwise_shape& shape() const noexcept { return shape_; }
  int out_h() const noexcept { return shape_.window.out_h(shape_.in_h); }
  int out_w() const noexcept { return shape_.window.out_w(shape_.in_w); }

  /// As quantized_conv2d::run with out_channels = in_channels * depth_multiplier.
  template <class In, class Out>
  void run(std::span<const In> input, std::span<Out> output) const;
  template <class In>
  void accumulate(std::span<const In> input, std::span<std::int32_t> acc) const;

 private:
  depthwise_shape shape_;
};

// ---------------------------------------------------------------------------------------------
// Pooling, add, logistic, tanh
// ---------------------------------------------------------------------------------------------

/// Pool geometry (NHWC; input and output share scale and zero point, as TFLite requires).
/// window.dilation must be 1.
struct pool_shape {
  int in_h = 1, in_w = 1, channels = 1;
  window2d window;
};

/// Average pool (TFLite reference_integer_ops::AveragePool): over the window positions inside the
/// input (padding excluded from the count n), avg = sum >= 0 ? (sum + n/2) / n : (sum - n/2) / n
/// (C division: round half away from zero), then clamp to [clamp.min, clamp.max]. Code = int8_t /
/// uint8_t. Throws errc::invalid_shape (dimensions < 1, dilation != 1, a window entirely in the
/// padding), size_mismatch, invalid_argument (clamp outside Code or min > max).
template <class Code>
void average_pool(const pool_shape& shape, std::span<const Code> input, std::span<Code> output,
                  clamp_range clamp);

/// Max pool: max over the window positions inside the input, clamped. Throws as average_pool.
template <class Code>
void max_pool(const pool_shape& shape, std::span<const Code> input, std::span<Code> output, clamp_range clamp);

/// TFLite's quantized Add (reference_integer_ops::Add, left_shift = 20). Prepared in double:
///   twice_max = 2 * max(s1, s2); M1 = quantize_multiplier(s1 / twice_max); M2 likewise;
///   M_out = quantize_multiplier(twice_max / (2^20 * s_out))
/// and per element:
///   a = (x1 - z1) * 2^20; b = (x2 - z2) * 2^20
///   out = clamp(mbqm(mbqm(a, M1) + mbqm(b, M2), M_out) + z_out, clamp.min, clamp.max)
/// with mbqm = multiply_by_quantized_multiplier in the rounding of `profile` (double in TFLite).
class quantized_add {
 public:
  /// All three formats must be the same 8-bit format. Throws errc::invalid_scale,
  /// invalid_zero_point, unsupported_width, type_mismatch (formats differ), invalid_argument (clamp).
  quantized_add(const activation_quant& input1, const activation_quant& input2, const activation_quant& output,
                clamp_range clamp, dsp_profile profile = dsp_profile::tflite());

  /// Elementwise (no broadcasting). Throws errc::size_mismatch, type_mismatch.
  template <class Code>
  void run(std::span<const Code> input1, std::span<const Code> input2, std::span<Code> output) const;

  quantized_multiplier input1_multiplier() const noexcept { return m1_; }
  quantized_multiplier input2_multiplier() const noexcept { return m2_; }
  quantized_multiplier output_multiplier() const noexcept { return mo_; }
  static constexpr int left_shift = 20;

 private:
  activation_quant in1_, in2_, out_;
  clamp_range clamp_;
  dsp_profile profile_;
  quantized_multiplier m1_{}, m2_{}, mo_{};
};

/// The fixed-output-scale activations of TFLite.
enum class lut_activation : std::uint8_t { logistic, tanh };

/// TFLite's quantized logistic / tanh (reference_integer_ops::Logistic / Tanh for int8, reference_ops
/// for uint8), on gemmlowp's fixed-point logistic / tanh (lowbit/fixed_point.h). Prepared:
///   M = quantize_multiplier(double(s_in) * 2^27)   (input rescaled into Q4.27; shift >= 0 expected)
///   radius = floor(15 * 2^27 / 2^shift)            (CalculateInputRadius(4, shift, 31))
/// Per element, d = x - z_in:
///   d <= -radius -> lowest code; d >= radius -> highest code (int8: -128 / 127, uint8: 0 / 255)
///   else r = logistic/tanh<4>(mbqm(d, M)) (Q0.31) and
///     int8  logistic: clamp(rounding_divide_by_pot(r, 23) - 128, -128, 127)    output scale 1/256, zp -128
///     uint8 logistic: rounding_divide_by_pot(r, 23), 256 -> 255                output scale 1/256, zp 0
///     int8  tanh:     clamp(rounding_divide_by_pot(r, 24), -128, 127)          output scale 1/128, zp 0
///     uint8 tanh:     rounding_divide_by_pot(r, 24) + 128, 256 -> 255          output scale 1/128, zp 128
/// mbqm uses the profile's rounding (TFLite: double).
class quantized_lut_activation {
 public:
  /// Throws errc::invalid_scale, invalid_zero_point, unsupported_width (not int8 / uint8),
  /// invalid_argument (a kind that is not one of the enumerators).
  quantized_lut_activation(lut_activation kind, const activation_quant& input,
                           dsp_profile profile = dsp_profile::tflite());
  /// Throws errc::size_mismatch, type_mismatch.
  template <class Code>
  void run(std::span<const Code> input, std::span<Code> output) const;
  /// The fixed output quantization (scale 1/256 or 1/128, zero point as above, the input's format).
  activation_quant output() const noexcept;
  quantized_multiplier input_multiplier() const noexcept { return m_; }
  std::int32_t input_range_radius() const noexcept { return radius_; }

 private:
  lut_activation kind_;
  activation_quant in_;
  dsp_profile profile_;
  quantized_multiplier m_{};
  std::int32_t radius_ = 0;
};

/// Convenience: one-shot logistic / tanh (builds quantized_lut_activation and runs it).
template <class Code>
void logistic(std::span<const Code> input, const activation_quant& input_q, std::span<Code> output,
              dsp_profile profile = dsp_profile::tflite());
template <class Code>
void tanh(std::span<const Code> input, const activation_quant& input_q, std::span<Code> output,
          dsp_profile profile = dsp_profile::tflite());

// ---------------------------------------------------------------------------------------------
// ONNX QLinear* numerics, float bridge error report
// ---------------------------------------------------------------------------------------------

/// ONNX QLinear* requantization of int32 accumulators (element i uses multiplier[i % size]):
///   out[i] = clamp(round_half_even(float32(acc[i]) * multiplier[i % n]) + zero_point, act.min, act.max)
/// with multiplier[c] = onnx_multiplier(s_a, s_b[c], s_y). Throws errc::size_mismatch, invalid_argument
/// (empty multipliers, clamp outside Code), invalid_scale (a multiplier <= 0 or not finite).
template <class Code>
void requantize_onnx(std::span<const std::int32_t> acc, std::span<const float> multipliers,
                     std::int32_t zero_point, clamp_range act, std::span<Code> out);
/// float32((float32(s_a * s_b)) / s_y): onnxruntime's QLinearMatMul / QLinearConv output scale.
constexpr float onnx_multiplier(float s_a, float s_b, float s_y) noexcept { return (s_a * s_b) / s_y; }

/// The error of an integer layer against its float layer on the same float input:
/// `error` compares dequantize(integer output) with the float output (lowbit::error_stats: MSE,
/// SQNR = 10 log10(sum y_float^2 / sum e^2), max |e|, count); the float layer accumulates in double
/// and applies the same activation in float (relu: max(y, 0), relu6: min(max(y, 0), 6)).
struct layer_error_report {
  error_stats error;
  std::size_t clipped = 0;  ///< integer outputs at the clamp bounds where the float output is outside them
};

/// The report of dequantized integer outputs `got` against float outputs `want` (same size): error_stats
/// over the finite `want` (accumulated in double, as measure_error), and `clipped` = outputs equal to
/// `lo` (or `hi`) where `want` is below `lo` (above `hi`): the dequantized clamp bounds of the layer.
/// Throws errc::size_mismatch.
layer_error_report compare_outputs(std::span<const float> got, std::span<const double> want, float lo, float hi);

/// Quantizes `input` ([batch][in] float) with layer.input(), runs the integer layer, dequantizes with
/// layer.output(), and compares with the float layer y = act(input W^T + bias). Throws
/// errc::size_mismatch (spans vs the layer), errc::type_mismatch (activation formats are not 8-bit).
layer_error_report compare_with_float(const quantized_fully_connected& layer, std::span<const float> input,
                                      std::span<const float> weights, std::span<const float> bias,
                                      activation act);
/// The same for conv2d (input NHWC float, weights OHWI float).
layer_error_report compare_with_float(const quantized_conv2d& layer, std::span<const float> input,
                                      std::span<const float> weights, std::span<const float> bias,
                                      activation act);

}  // namespace lowbit::fxp
