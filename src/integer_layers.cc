// lowbit — integer-only reference layers: validation, loops, dispatch to the dot-product kernels.
// SPDX-License-Identifier: Apache-2.0
#include "lowbit/integer_layers.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <initializer_list>
#include <limits>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "lowbit/detail/int8_dot_kernels.h"
#include "lowbit/fixed_point.h"
#include "lowbit/ref/int8_dot.h"
#include "lowbit/uniform.h"

namespace lowbit::fxp {
namespace {

constexpr std::int64_t kInt32Max = std::numeric_limits<std::int32_t>::max();
constexpr std::int64_t kInt32Min = std::numeric_limits<std::int32_t>::min();

[[noreturn]] void fail(errc code, const std::string& what, const std::string& message) {
  throw error(code, what + ": " + message);
}

std::string str(std::int64_t v) { return std::to_string(v); }

// Activation codes: full-range int8 or uint8 (a narrow range is not a format real pipelines use there).
bool is_8bit(code_format f) noexcept { return f.bits == 8 && !f.narrow; }

template <class Code>
constexpr bool is_code8 = std::is_same_v<Code, std::int8_t> || std::is_same_v<Code, std::uint8_t>;

template <class Code>
void check_code(code_format f, const char* what, const char* which) {
  static_assert(is_code8<Code>, "int8_t or uint8_t codes");
  if (f.is_signed != std::is_signed_v<Code>) {
    fail(errc::type_mismatch, what,
         std::string(which) + " codes are " + (f.is_signed ? "int8" : "uint8") + " but the span holds " +
             (std::is_signed_v<Code> ? "int8_t" : "uint8_t"));
  }
}


void check_clamp(clamp_range c, code_format f, const char* what) {
  if (c.min > c.max || c.min < f.qmin() || c.max > f.qmax()) {
    fail(errc::invalid_argument, what,
         "clamp [" + str(c.min) + ", " + str(c.max) + "] is not an ordered range inside the output codes [" +
             str(f.qmin()) + ", " + str(f.qmax()) + "]");
  }
}

template <class Code>
void check_clamp_code(clamp_range c, const char* what) {
  constexpr std::int32_t lo = std::numeric_limits<Code>::min(), hi = std::numeric_limits<Code>::max();
  if (c.min > c.max || c.min < lo || c.max > hi) {
    fail(errc::invalid_argument, what,
         "clamp [" + str(c.min) + ", " + str(c.max) + "] is not an ordered range inside [" + str(lo) + ", " +
             str(hi) + "]");
  }
}

void check_size(std::size_t got, std::size_t want, const char* what, const char* which) {
  if (got != want) {
    fail(errc::size_mismatch, what, std::string(which) + " has " + std::to_string(got) + " elements, " +
                                        std::to_string(want) + " expected");
  }
}

// The batch of an input of `total` elements made of items of `per_item` elements.
std::size_t batch_of(std::size_t total, std::size_t per_item, const char* what) {
  if (per_item == 0 || total % per_item != 0) {
    fail(errc::size_mismatch, what,
         "input has " + std::to_string(total) + " elements, not a multiple of " + std::to_string(per_item));
  }
  return total / per_item;
}

// The accumulator as int32 (the requantization input): sign-extended (bits <= 32) or clamped.
constexpr std::int32_t to_int32(std::int64_t acc) noexcept {
  return static_cast<std::int32_t>(std::clamp(acc, kInt32Min, kInt32Max));
}

// Scalar accumulator model of one output: bias first or last around `macs(acc) -> acc`.
template <class Macs>
std::int32_t model_output(const dsp_profile& p, std::int32_t bias, Macs&& macs) noexcept {
  std::int64_t acc = p.bias == bias_order::first ? ::lowbit::ref::fit_accumulator(bias, p.accumulator_bits, p.saturate) : 0;
  acc = macs(acc);
  if (p.bias == bias_order::last) acc = ::lowbit::ref::accumulator_add(acc, bias, p.accumulator_bits, p.saturate);
  return to_int32(acc);
}

// Requantizes one run of accumulators whose channel is (index % channels).
template <class Out>
void requantize_run(std::span<const std::int32_t> acc, const integer_layer_base& layer, std::span<Out> out) {
  const dsp_profile& p = layer.profile();
  if (p.mode == requant_mode::onnx_float) {
    requantize_onnx<Out>(acc, layer.float_multipliers(), layer.output().zero_point, layer.clamp(), out);
    return;
  }
  const auto params = requant_params::per_channel(layer.multipliers(), layer.output().zero_point, layer.clamp().min,
                                                  layer.clamp().max, p.rounding);
  requantize<Out>(acc, params, out);
}

float apply_float_activation(float y, activation act) noexcept {
  switch (act) {
    case activation::relu: return std::max(y, 0.0f);
    case activation::relu6: return std::min(std::max(y, 0.0f), 6.0f);
    case activation::none: break;
  }
  return y;
}

std::vector<std::int32_t> quantize_bias(std::span<const float> bias, float s_in, const weight_quant& wq,
                                        std::size_t oc, const char* what) {
  std::vector<std::int32_t> q;
  if (bias.empty()) return q;
  q.resize(oc);
  for (std::size_t c = 0; c < oc; ++c) {
    if (!std::isfinite(bias[c])) {
      fail(errc::invalid_argument, what, "bias[" + std::to_string(c) + "] = " + lowbit::detail::float_text(bias[c]) + " is not finite");
    }
    const double s = static_cast<double>(s_in) * static_cast<double>(wq.scales[wq.scales.size() == 1 ? 0 : c]);
    const double v = std::round(static_cast<double>(bias[c]) / s);
    q[c] = static_cast<std::int32_t>(std::clamp(v, static_cast<double>(kInt32Min), static_cast<double>(kInt32Max)));
  }
  return q;
}

std::vector<std::int8_t> quantize_weights(std::span<const float> w, const quant_params& p) {
  std::vector<std::int8_t> q(w.size());
  quantize<std::int8_t>(w, p, std::span<std::int8_t>(q));
  return q;
}

// Runs an integer layer on float input: quantize, run, dequantize.
template <class Layer, class In, class Out>
std::vector<float> run_dequantized(const Layer& layer, std::span<const float> input, std::size_t out_per_in,
                                   std::size_t in_per_item) {
  std::vector<In> qin(input.size());
  quantize<In>(input, layer.input().params(), std::span<In>(qin));
  const std::size_t batch = input.size() / in_per_item;
  std::vector<Out> qout(batch * out_per_in);
  layer.template run<In, Out>(std::span<const In>(qin), std::span<Out>(qout));
  std::vector<float> y(qout.size());
  dequantize<Out>(std::span<const Out>(qout), layer.output().params(), std::span<float>(y));
  return y;
}

template <class Layer>
std::vector<float> run_dequantized_any(const Layer& layer, std::span<const float> input, std::size_t out_per_item,
                                       std::size_t in_per_item) {
  const bool si = layer.input().format.is_signed, so = layer.output().format.is_signed;
  if (si && so) return run_dequantized<Layer, std::int8_t, std::int8_t>(layer, input, out_per_item, in_per_item);
  if (si) return run_dequantized<Layer, std::int8_t, std::uint8_t>(layer, input, out_per_item, in_per_item);
  if (so) return run_dequantized<Layer, std::uint8_t, std::int8_t>(layer, input, out_per_item, in_per_item);
  return run_dequantized<Layer, std::uint8_t, std::uint8_t>(layer, input, out_per_item, in_per_item);
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Profile, activations, quantization descriptions
// ---------------------------------------------------------------------------------------------

void validate(const dsp_profile& p) {
  const int b = p.accumulator_bits;
  if (b != 16 && b != 24 && b != 32 && b != 40 && b != 48 && b != 64) {
    fail(errc::invalid_argument, "dsp_profile", "accumulator_bits " + str(b) + " is not 16, 24, 32, 40, 48 or 64");
  }
  if (p.rounding != requant_rounding::double_rounding && p.rounding != requant_rounding::single_rounding) {
    fail(errc::invalid_argument, "dsp_profile", "unknown rounding");
  }
  if (p.bias != bias_order::first && p.bias != bias_order::last) {
    fail(errc::invalid_argument, "dsp_profile", "unknown bias order");
  }
  if (p.mode != requant_mode::fixed_point && p.mode != requant_mode::onnx_float) {
    fail(errc::invalid_argument, "dsp_profile", "unknown requantization mode");
  }
}

clamp_range activation_range(activation act, float scale, std::int32_t zero_point, code_format format) {
  const quant_params checked = quant_params::per_tensor(format, scale, zero_point);  // validates
  (void)checked;
  const std::int32_t qmin = format.qmin(), qmax = format.qmax();
  switch (act) {
    case activation::none: return {qmin, qmax};
    case activation::relu: return {std::max(qmin, zero_point), qmax};
    case activation::relu6: {
      const double six = std::round(static_cast<double>(6.0f / scale));
      const double hi = std::min(static_cast<double>(qmax), static_cast<double>(zero_point) + six);
      return {std::max(qmin, zero_point), static_cast<std::int32_t>(hi)};
    }
  }
  fail(errc::invalid_argument, "activation_range", "unknown activation");
}

activation_quant activation_quant::from(const quant_params& p) {
  if (p.granularity() != granularity::per_tensor) {
    fail(errc::invalid_argument, "activation_quant", "activations need per-tensor parameters");
  }
  if (!is_8bit(p.format())) {
    fail(errc::unsupported_width, "activation_quant",
         str(p.format().bits) + "-bit" + (p.format().narrow ? " narrow-range" : "") +
             " codes; full-range int8 or uint8 codes are needed");
  }
  return {p.scales()[0], p.zero_points()[0], p.format(), p.numerics()};
}

weight_quant weight_quant::from(const quant_params& p, int out_channel_axis) {
  if (p.format().bits != 8 || !p.format().is_signed) {
    fail(errc::type_mismatch, "weight_quant", "weights must be int8 codes");
  }
  if (p.granularity() == granularity::per_block ||
      (p.granularity() == granularity::per_channel &&
       p.axis() != (out_channel_axis < 0 ? out_channel_axis + static_cast<int>(p.shape().size()) : out_channel_axis))) {
    fail(errc::invalid_axis, "weight_quant",
         "weights must be per-tensor or per-channel along the output-channel axis " + str(out_channel_axis));
  }
  weight_quant w;
  w.scales.assign(p.scales().begin(), p.scales().end());
  w.zero_points.assign(p.zero_points().begin(), p.zero_points().end());
  return w;
}

padding2d padding2d::same(int in_h, int in_w, int kernel_h, int kernel_w, int stride_h, int stride_w,
                          int dilation_h, int dilation_w) {
  if (in_h < 1 || in_w < 1 || kernel_h < 1 || kernel_w < 1 || stride_h < 1 || stride_w < 1 || dilation_h < 1 ||
      dilation_w < 1) {
    fail(errc::invalid_shape, "padding2d::same", "sizes, strides and dilations must be >= 1");
  }
  // In 64 bits: (out - 1) * s + (k - 1) * d can exceed int for valid ints; the result must fit int.
  const auto total = [](std::int64_t in, std::int64_t k, std::int64_t s, std::int64_t d) {
    const std::int64_t out = (in + s - 1) / s;
    const std::int64_t t = std::max<std::int64_t>((out - 1) * s + (k - 1) * d + 1 - in, 0);
    if (t > std::numeric_limits<int>::max()) {
      fail(errc::invalid_shape, "padding2d::same", "the total padding " + std::to_string(t) + " overflows int");
    }
    return static_cast<int>(t);
  };
  const int th = total(in_h, kernel_h, stride_h, dilation_h), tw = total(in_w, kernel_w, stride_w, dilation_w);
  return {th / 2, tw / 2, th - th / 2, tw - tw / 2};
}

namespace {
int out_size(int in, int pa, int pb, int k, int s, int d) noexcept {
  const std::int64_t span = std::int64_t{in} + pa + pb, eff = std::int64_t{k - 1} * d + 1;
  if (s < 1 || span < eff) return 0;
  const std::int64_t out = (span - eff) / s + 1;
  return out > std::numeric_limits<int>::max() ? 0 : static_cast<int>(out);
}

// The window over an input of in_h x in_w: positive sizes, non-negative padding, and a padded input
// and a dilated kernel that fit int, so that every position and tap index below does too.
void check_window(const window2d& w, int in_h, int in_w, const char* what) {
  if (w.kernel_h < 1 || w.kernel_w < 1 || w.stride_h < 1 || w.stride_w < 1 || w.dilation_h < 1 ||
      w.dilation_w < 1) {
    fail(errc::invalid_shape, what, "kernel sizes, strides and dilations must be >= 1");
  }
  if (w.pad.top < 0 || w.pad.left < 0 || w.pad.bottom < 0 || w.pad.right < 0) {
    fail(errc::invalid_shape, what, "padding must be >= 0");
  }
  constexpr std::int64_t kMax = std::numeric_limits<int>::max();
  if (std::int64_t{in_h} + w.pad.top + w.pad.bottom > kMax || std::int64_t{in_w} + w.pad.left + w.pad.right > kMax) {
    fail(errc::invalid_shape, what, "the padded input overflows int");
  }
  if (std::int64_t{w.kernel_h - 1} * w.dilation_h + 1 > kMax || std::int64_t{w.kernel_w - 1} * w.dilation_w + 1 > kMax) {
    fail(errc::invalid_shape, what, "the dilated kernel overflows int");
  }
}

void check_dims(std::initializer_list<int> dims, const char* what) {
  for (int d : dims) {
    if (d < 1) fail(errc::invalid_shape, what, "dimension " + str(d) + " must be >= 1");
  }
}

// Valid kernel range [k0, k1) of output position o: taps with 0 <= o*s - pad + k*d < in.
// In 64 bits: o * s and pad + d stay below 2^32 for the windows check_window admits.
void tap_range(int o, int s, int pad, int d, int k, int in, int& k0, int& k1) noexcept {
  const std::int64_t origin = std::int64_t{o} * s - pad;
  const std::int64_t first = origin >= 0 ? 0 : (-origin + d - 1) / d;
  const std::int64_t last = in - 1 - origin;  // k*d <= last
  const std::int64_t end = last < 0 ? 0 : std::min<std::int64_t>(k, last / d + 1);
  k0 = static_cast<int>(std::min<std::int64_t>(first, k));
  k1 = static_cast<int>(std::max<std::int64_t>(end, k0));
}
}  // namespace

int window2d::out_h(int in_h) const noexcept {
  return out_size(in_h, pad.top, pad.bottom, kernel_h, stride_h, dilation_h);
}
int window2d::out_w(int in_w) const noexcept {
  return out_size(in_w, pad.left, pad.right, kernel_w, stride_w, dilation_w);
}

// ---------------------------------------------------------------------------------------------
// integer_layer_base
// ---------------------------------------------------------------------------------------------

void integer_layer_base::init(const activation_quant& in, const activation_quant& out, weight_quant wq,
                              clamp_range clamp, dsp_profile profile, std::vector<std::int8_t> weights,
                              std::vector<std::int32_t> bias, std::size_t oc, std::size_t weights_per_oc,
                              const char* what) {
  validate(profile);
  validate_activation(in, what, "input");
  validate_activation(out, what, "output");
  check_clamp(clamp, out.format, what);
  check_size(weights.size(), oc * weights_per_oc, what, "weights");
  if (!bias.empty()) check_size(bias.size(), oc, what, "bias");
  if (wq.scales.size() != 1 && wq.scales.size() != oc) {
    fail(errc::count_mismatch, what,
         std::to_string(wq.scales.size()) + " weight scales; 1 or " + std::to_string(oc) + " needed");
  }
  if (wq.zero_points.size() > 1 && wq.zero_points.size() != oc) {
    fail(errc::count_mismatch, what,
         std::to_string(wq.zero_points.size()) + " weight zero points; 0, 1 or " + std::to_string(oc) + " needed");
  }
  for (std::size_t i = 0; i < wq.scales.size(); ++i) {
    if (!(wq.scales[i] > 0.0f) || std::isinf(wq.scales[i])) {
      fail(errc::invalid_scale, what, "weight scale[" + std::to_string(i) + "] = " + lowbit::detail::float_text(wq.scales[i]) +
                                          " must be finite and > 0");
    }
  }
  for (std::size_t i = 0; i < wq.zero_points.size(); ++i) {
    if (wq.zero_points[i] < -128 || wq.zero_points[i] > 127) {
      fail(errc::invalid_zero_point, what, "weight zero point[" + std::to_string(i) + "] = " +
                                               str(wq.zero_points[i]) + " is outside [-128, 127]");
    }
  }
  input_ = in;
  output_ = out;
  wq_ = std::move(wq);
  clamp_ = clamp;
  profile_ = profile;
  weights_ = std::move(weights);
  bias_ = std::move(bias);
  zw_.assign(oc, 0);
  multipliers_.resize(oc);
  float_multipliers_.resize(oc);
  for (std::size_t c = 0; c < oc; ++c) {
    const std::size_t si = wq_.scales.size() == 1 ? 0 : c;
    if (!wq_.zero_points.empty()) zw_[c] = wq_.zero_points[wq_.zero_points.size() == 1 ? 0 : c];
    const double real = static_cast<double>(in.scale) * static_cast<double>(wq_.scales[si]) /
                        static_cast<double>(out.scale);
    multipliers_[c] = quantize_multiplier(real);
    float_multipliers_[c] = onnx_multiplier(in.scale, wq_.scales[si], out.scale);
    if (!(float_multipliers_[c] > 0.0f) || std::isinf(float_multipliers_[c])) {
      fail(errc::invalid_scale, what, "the output multiplier s_in * s_w / s_out of channel " + std::to_string(c) +
                                          " is not a finite positive float");
    }
  }
}

void integer_layer_base::compute_bound(std::size_t oc, std::size_t per_oc, std::size_t oc_stride,
                                       std::size_t k_stride) {
  const std::int64_t zx = input_.zero_point;
  const std::int64_t xmax = std::max<std::int64_t>(input_.format.qmax() - zx, zx - input_.format.qmin());
  std::int64_t bound = 0;
  for (std::size_t c = 0; c < oc; ++c) {
    std::int64_t l1 = 0;
    for (std::size_t k = 0; k < per_oc; ++k) l1 += std::abs(std::int64_t{weights_[c * oc_stride + k * k_stride]} - zw_[c]);
    const std::int64_t b = (bias_.empty() ? 0 : std::abs(std::int64_t{bias_[c]})) + xmax * l1;
    bound = std::max(bound, b);
  }
  bound_ = bound;
  const std::int64_t limit =
      profile_.accumulator_bits >= 32 ? kInt32Max : (std::int64_t{1} << (profile_.accumulator_bits - 1)) - 1;
  simd_exact_ = bound <= limit;
}

// ---------------------------------------------------------------------------------------------
// Fully connected
// ---------------------------------------------------------------------------------------------

quantized_fully_connected::quantized_fully_connected(int in_features, int out_features,
                                                     std::vector<std::int8_t> weights, std::vector<std::int32_t> bias,
                                                     const activation_quant& input, const weight_quant& weights_q,
                                                     const activation_quant& output, clamp_range clamp,
                                                     dsp_profile profile) {
  check_dims({in_features, out_features}, "quantized_fully_connected");
  in_ = in_features;
  out_ = out_features;
  const auto oc = static_cast<std::size_t>(out_features), k = static_cast<std::size_t>(in_features);
  init(input, output, weights_q, clamp, profile, std::move(weights), std::move(bias), oc, k,
       "quantized_fully_connected");
  compute_bound(oc, k, k, 1);
}

quantized_fully_connected quantized_fully_connected::from_float(std::span<const float> weights,
                                                                std::span<const float> bias, int in_features,
                                                                int out_features, const quant_params& input_q,
                                                                const quant_params& weights_q,
                                                                const quant_params& output_q, activation act,
                                                                dsp_profile profile) {
  const char* what = "quantized_fully_connected::from_float";
  check_dims({in_features, out_features}, what);
  const auto oc = static_cast<std::size_t>(out_features);
  check_size(weights.size(), oc * static_cast<std::size_t>(in_features), what, "weights");
  if (!bias.empty()) check_size(bias.size(), oc, what, "bias");
  const activation_quant in = activation_quant::from(input_q), out = activation_quant::from(output_q);
  weight_quant wq = weight_quant::from(weights_q, 0);
  if (wq.scales.size() != 1 && wq.scales.size() != oc) {
    fail(errc::count_mismatch, what, "weight parameters do not match the output features");
  }
  std::vector<std::int32_t> qb = quantize_bias(bias, in.scale, wq, oc, what);
  return quantized_fully_connected(in_features, out_features, quantize_weights(weights, weights_q), std::move(qb),
                                   in, wq, out, activation_range(act, out.scale, out.zero_point, out.format),
                                   profile);
}

template <class In>
void quantized_fully_connected::accumulate(std::span<const In> input, std::span<std::int32_t> acc) const {
  const char* what = "quantized_fully_connected";
  check_code<In>(input_.format, what, "input");
  const auto K = static_cast<std::size_t>(in_), O = static_cast<std::size_t>(out_);
  const std::size_t batch = input.empty() ? 0 : batch_of(input.size(), K, what);
  check_size(acc.size(), batch * O, what, "output");
  const std::int32_t zx = input_.zero_point;
  if (simd_exact_) {
    // Channel blocks outer, batch inner: a block of weights stays in L1 across the batch rows.
    const std::size_t block = std::max<std::size_t>(4, (std::size_t{32} << 10) / K / 4 * 4);
    for (std::size_t o0 = 0; o0 < O; o0 += block) {
      const std::size_t rows = std::min(block, O - o0);
      for (std::size_t b = 0; b < batch; ++b) {
        ::lowbit::detail::dot_rows(input.data() + b * K, zx, weights_.data() + o0 * K, K, zw_.data() + o0, rows, K, false,
                         acc.data() + b * O + o0);
      }
    }
    if (!bias_.empty()) {
      for (std::size_t b = 0; b < batch; ++b) {
        for (std::size_t o = 0; o < O; ++o) acc[b * O + o] += bias_[o];  // exact: |value| <= bound <= INT32_MAX
      }
    }
    return;
  }
  const dsp_profile& p = profile_;
  for (std::size_t b = 0; b < batch; ++b) {
    const In* x = input.data() + b * K;
    for (std::size_t o = 0; o < O; ++o) {
      acc[b * O + o] = model_output(p, bias_.empty() ? 0 : bias_[o], [&](std::int64_t a) {
        return ::lowbit::ref::accumulate_model(a, x, zx, weights_.data() + o * K, zw_[o], K, p.accumulator_bits, p.saturate);
      });
    }
  }
}

template <class In, class Out>
void quantized_fully_connected::run(std::span<const In> input, std::span<Out> output) const {
  const char* what = "quantized_fully_connected";
  check_code<In>(input_.format, what, "input");
  check_code<Out>(output_.format, what, "output");
  const auto K = static_cast<std::size_t>(in_), O = static_cast<std::size_t>(out_);
  const std::size_t batch = input.empty() ? 0 : batch_of(input.size(), K, what);
  check_size(output.size(), batch * O, what, "output");
  std::vector<std::int32_t> acc(batch * O);
  accumulate<In>(input, std::span<std::int32_t>(acc));
  requantize_run<Out>(std::span<const std::int32_t>(acc), *this, output);
}

// ---------------------------------------------------------------------------------------------
// Conv2d
// ---------------------------------------------------------------------------------------------

quantized_conv2d::quantized_conv2d(const conv2d_shape& shape, std::vector<std::int8_t> weights,
                                   std::vector<std::int32_t> bias, const activation_quant& input,
                                   const weight_quant& weights_q, const activation_quant& output, clamp_range clamp,
                                   dsp_profile profile) {
  const char* what = "quantized_conv2d";
  check_dims({shape.in_h, shape.in_w, shape.in_channels, shape.out_channels}, what);
  check_window(shape.window, shape.in_h, shape.in_w, what);
  if (shape.window.out_h(shape.in_h) < 1 || shape.window.out_w(shape.in_w) < 1) {
    fail(errc::invalid_shape, what, "the padded input is smaller than the dilated kernel: empty output");
  }
  shape_ = shape;
  const auto oc = static_cast<std::size_t>(shape.out_channels);
  const std::size_t per_oc = static_cast<std::size_t>(shape.window.kernel_h) *
                             static_cast<std::size_t>(shape.window.kernel_w) *
                             static_cast<std::size_t>(shape.in_channels);
  init(input, output, weights_q, clamp, profile, std::move(weights), std::move(bias), oc, per_oc, what);
  compute_bound(oc, per_oc, per_oc, 1);
}

quantized_conv2d quantized_conv2d::from_float(std::span<const float> weights, std::span<const float> bias,
                                              const conv2d_shape& shape, const quant_params& input_q,
                                              const quant_params& weights_q, const quant_params& output_q,
                                              activation act, dsp_profile profile) {
  const char* what = "quantized_conv2d::from_float";
  check_dims({shape.in_h, shape.in_w, shape.in_channels, shape.out_channels, shape.window.kernel_h,
              shape.window.kernel_w}, what);
  const auto oc = static_cast<std::size_t>(shape.out_channels);
  check_size(weights.size(),
             oc * static_cast<std::size_t>(shape.window.kernel_h) * static_cast<std::size_t>(shape.window.kernel_w) *
                 static_cast<std::size_t>(shape.in_channels),
             what, "weights");
  if (!bias.empty()) check_size(bias.size(), oc, what, "bias");
  const activation_quant in = activation_quant::from(input_q), out = activation_quant::from(output_q);
  weight_quant wq = weight_quant::from(weights_q, 0);
  if (wq.scales.size() != 1 && wq.scales.size() != oc) {
    fail(errc::count_mismatch, what, "weight parameters do not match the output channels");
  }
  std::vector<std::int32_t> qb = quantize_bias(bias, in.scale, wq, oc, what);
  return quantized_conv2d(shape, quantize_weights(weights, weights_q), std::move(qb), in, wq, out,
                          activation_range(act, out.scale, out.zero_point, out.format), profile);
}

template <class In>
void quantized_conv2d::accumulate_row(const In* input, int b, int oy, std::int32_t* acc) const {
  const conv2d_shape& s = shape_;
  const window2d& w = s.window;
  const int OW = out_w();
  const auto IC = static_cast<std::size_t>(s.in_channels), OC = static_cast<std::size_t>(s.out_channels);
  const std::size_t per_oc = static_cast<std::size_t>(w.kernel_h) * static_cast<std::size_t>(w.kernel_w) * IC;
  const std::int32_t zx = input_.zero_point;
  const In* image = input + static_cast<std::size_t>(b) * static_cast<std::size_t>(s.in_h) *
                                static_cast<std::size_t>(s.in_w) * IC;
  int ky0, ky1;
  tap_range(oy, w.stride_h, w.pad.top, w.dilation_h, w.kernel_h, s.in_h, ky0, ky1);
  for (int ox = 0; ox < OW; ++ox) {
    int kx0, kx1;
    tap_range(ox, w.stride_w, w.pad.left, w.dilation_w, w.kernel_w, s.in_w, kx0, kx1);
    std::int32_t* out = acc + static_cast<std::size_t>(ox) * OC;
    const auto pixel = [&](int ky, int kx) {
      const int iy = oy * w.stride_h - w.pad.top + ky * w.dilation_h;
      const int ix = ox * w.stride_w - w.pad.left + kx * w.dilation_w;
      return image + (static_cast<std::size_t>(iy) * static_cast<std::size_t>(s.in_w) + static_cast<std::size_t>(ix)) * IC;
    };
    const auto tap = [&](int ky, int kx) {
      return (static_cast<std::size_t>(ky) * static_cast<std::size_t>(w.kernel_w) + static_cast<std::size_t>(kx)) * IC;
    };
    if (simd_exact_) {
      for (std::size_t c = 0; c < OC; ++c) out[c] = bias_.empty() ? 0 : bias_[c];
      if (kx0 >= kx1) continue;
      for (int ky = ky0; ky < ky1; ++ky) {
        if (w.dilation_w == 1) {  // the taps kx0..kx1-1 are contiguous in input and weights
          ::lowbit::detail::dot_rows(pixel(ky, kx0), zx, weights_.data() + tap(ky, kx0), per_oc, zw_.data(), OC,
                           static_cast<std::size_t>(kx1 - kx0) * IC, true, out);
        } else {
          for (int kx = kx0; kx < kx1; ++kx) {
            ::lowbit::detail::dot_rows(pixel(ky, kx), zx, weights_.data() + tap(ky, kx), per_oc, zw_.data(), OC, IC, true, out);
          }
        }
      }
      continue;
    }
    const dsp_profile& p = profile_;
    for (std::size_t c = 0; c < OC; ++c) {
      out[c] = model_output(p, bias_.empty() ? 0 : bias_[c], [&](std::int64_t a) {
        for (int ky = ky0; ky < ky1; ++ky) {
          for (int kx = kx0; kx < kx1; ++kx) {
            a = ::lowbit::ref::accumulate_model(a, pixel(ky, kx), zx, weights_.data() + c * per_oc + tap(ky, kx), zw_[c], IC,
                                      p.accumulator_bits, p.saturate);
          }
        }
        return a;
      });
    }
  }
}

template <class In>
void quantized_conv2d::accumulate(std::span<const In> input, std::span<std::int32_t> acc) const {
  const char* what = "quantized_conv2d";
  check_code<In>(input_.format, what, "input");
  const std::size_t per_in = static_cast<std::size_t>(shape_.in_h) * static_cast<std::size_t>(shape_.in_w) *
                             static_cast<std::size_t>(shape_.in_channels);
  const std::size_t batch = input.empty() ? 0 : batch_of(input.size(), per_in, what);
  const std::size_t row = static_cast<std::size_t>(out_w()) * static_cast<std::size_t>(shape_.out_channels);
  check_size(acc.size(), batch * static_cast<std::size_t>(out_h()) * row, what, "output");
  for (std::size_t b = 0; b < batch; ++b) {
    for (int oy = 0; oy < out_h(); ++oy) {
      accumulate_row(input.data(), static_cast<int>(b), oy,
                     acc.data() + (b * static_cast<std::size_t>(out_h()) + static_cast<std::size_t>(oy)) * row);
    }
  }
}

template <class In, class Out>
void quantized_conv2d::run(std::span<const In> input, std::span<Out> output) const {
  const char* what = "quantized_conv2d";
  check_code<In>(input_.format, what, "input");
  check_code<Out>(output_.format, what, "output");
  const std::size_t per_in = static_cast<std::size_t>(shape_.in_h) * static_cast<std::size_t>(shape_.in_w) *
                             static_cast<std::size_t>(shape_.in_channels);
  const std::size_t batch = input.empty() ? 0 : batch_of(input.size(), per_in, what);
  const std::size_t row = static_cast<std::size_t>(out_w()) * static_cast<std::size_t>(shape_.out_channels);
  check_size(output.size(), batch * static_cast<std::size_t>(out_h()) * row, what, "output");
  std::vector<std::int32_t> acc(row);
  for (std::size_t b = 0; b < batch; ++b) {
    for (int oy = 0; oy < out_h(); ++oy) {
      accumulate_row(input.data(), static_cast<int>(b), oy, acc.data());
      const std::size_t at = (b * static_cast<std::size_t>(out_h()) + static_cast<std::size_t>(oy)) * row;
      requantize_run<Out>(std::span<const std::int32_t>(acc), *this, output.subspan(at, row));
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Depthwise conv2d
// ---------------------------------------------------------------------------------------------

quantized_depthwise_conv2d::quantized_depthwise_conv2d(const depthwise_shape& shape, std::vector<std::int8_t> weights,
                                                       std::vector<std::int32_t> bias, const activation_quant& input,
                                                       const weight_quant& weights_q,
                                                       const activation_quant& output, clamp_range clamp,
                                                       dsp_profile profile) {
  const char* what = "quantized_depthwise_conv2d";
  check_dims({shape.in_h, shape.in_w, shape.in_channels, shape.depth_multiplier}, what);
  if (std::int64_t{shape.in_channels} * shape.depth_multiplier > std::numeric_limits<int>::max()) {
    fail(errc::invalid_shape, what, "in_channels * depth_multiplier overflows int");
  }
  check_window(shape.window, shape.in_h, shape.in_w, what);
  if (shape.window.out_h(shape.in_h) < 1 || shape.window.out_w(shape.in_w) < 1) {
    fail(errc::invalid_shape, what, "the padded input is smaller than the dilated kernel: empty output");
  }
  shape_ = shape;
  const auto oc = static_cast<std::size_t>(shape.out_channels());
  const std::size_t taps = static_cast<std::size_t>(shape.window.kernel_h) * static_cast<std::size_t>(shape.window.kernel_w);
  // init() checks weights.size() == oc * taps, which is the size of [1][kh][kw][oc].
  init(input, output, weights_q, clamp, profile, std::move(weights), std::move(bias), oc, taps, what);
  compute_bound(oc, taps, 1, oc);
}

template <class In>
void quantized_depthwise_conv2d::accumulate(std::span<const In> input, std::span<std::int32_t> acc) const {
  const char* what = "quantized_depthwise_conv2d";
  check_code<In>(input_.format, what, "input");
  const depthwise_shape& s = shape_;
  const window2d& w = s.window;
  const auto IC = static_cast<std::size_t>(s.in_channels), OC = static_cast<std::size_t>(s.out_channels());
  const auto M = static_cast<std::size_t>(s.depth_multiplier);
  const std::size_t per_in = static_cast<std::size_t>(s.in_h) * static_cast<std::size_t>(s.in_w) * IC;
  const std::size_t batch = input.empty() ? 0 : batch_of(input.size(), per_in, what);
  const int OH = out_h(), OW = out_w();
  check_size(acc.size(), batch * static_cast<std::size_t>(OH) * static_cast<std::size_t>(OW) * OC, what, "output");
  const std::int32_t zx = input_.zero_point;
  const dsp_profile& p = profile_;
  std::int32_t* out = acc.data();
  for (std::size_t b = 0; b < batch; ++b) {
    const In* image = input.data() + b * per_in;
    for (int oy = 0; oy < OH; ++oy) {
      int ky0, ky1;
      tap_range(oy, w.stride_h, w.pad.top, w.dilation_h, w.kernel_h, s.in_h, ky0, ky1);
      for (int ox = 0; ox < OW; ++ox, out += OC) {
        int kx0, kx1;
        tap_range(ox, w.stride_w, w.pad.left, w.dilation_w, w.kernel_w, s.in_w, kx0, kx1);
        for (std::size_t oc = 0; oc < OC; ++oc) {
          const std::size_t ic = oc / M;
          out[oc] = model_output(p, bias_.empty() ? 0 : bias_[oc], [&](std::int64_t a) {
            for (int ky = ky0; ky < ky1; ++ky) {
              const int iy = oy * w.stride_h - w.pad.top + ky * w.dilation_h;
              for (int kx = kx0; kx < kx1; ++kx) {
                const int ix = ox * w.stride_w - w.pad.left + kx * w.dilation_w;
                const std::int32_t xv = image[(static_cast<std::size_t>(iy) * static_cast<std::size_t>(s.in_w) +
                                               static_cast<std::size_t>(ix)) * IC + ic];
                const std::int32_t wv =
                    weights_[(static_cast<std::size_t>(ky) * static_cast<std::size_t>(w.kernel_w) +
                              static_cast<std::size_t>(kx)) * OC + oc];
                a = ::lowbit::ref::accumulator_add(a, std::int64_t{(xv - zx) * (wv - zw_[oc])}, p.accumulator_bits, p.saturate);
              }
            }
            return a;
          });
        }
      }
    }
  }
}

template <class In, class Out>
void quantized_depthwise_conv2d::run(std::span<const In> input, std::span<Out> output) const {
  const char* what = "quantized_depthwise_conv2d";
  check_code<In>(input_.format, what, "input");
  check_code<Out>(output_.format, what, "output");
  const std::size_t per_in = static_cast<std::size_t>(shape_.in_h) * static_cast<std::size_t>(shape_.in_w) *
                             static_cast<std::size_t>(shape_.in_channels);
  const std::size_t batch = input.empty() ? 0 : batch_of(input.size(), per_in, what);
  check_size(output.size(),
             batch * static_cast<std::size_t>(out_h()) * static_cast<std::size_t>(out_w()) *
                 static_cast<std::size_t>(shape_.out_channels()),
             what, "output");
  std::vector<std::int32_t> acc(output.size());
  accumulate<In>(input, std::span<std::int32_t>(acc));
  requantize_run<Out>(std::span<const std::int32_t>(acc), *this, output);
}

// ---------------------------------------------------------------------------------------------
// Pooling
// ---------------------------------------------------------------------------------------------

namespace {
template <class Code, class Reduce>
void pool(const pool_shape& s, std::span<const Code> input, std::span<Code> output, clamp_range clamp,
          const char* what, Reduce reduce) {
  check_dims({s.in_h, s.in_w, s.channels}, what);
  check_window(s.window, s.in_h, s.in_w, what);
  if (s.window.dilation_h != 1 || s.window.dilation_w != 1) fail(errc::invalid_shape, what, "dilation must be 1");
  check_clamp_code<Code>(clamp, what);
  const window2d& w = s.window;
  const int OH = w.out_h(s.in_h), OW = w.out_w(s.in_w);
  if (OH < 1 || OW < 1) fail(errc::invalid_shape, what, "empty output");
  // Every window must hold at least one input position.
  for (int oy = 0; oy < OH; ++oy) {
    int k0, k1;
    tap_range(oy, w.stride_h, w.pad.top, 1, w.kernel_h, s.in_h, k0, k1);
    if (k0 >= k1) fail(errc::invalid_shape, what, "a pooling window lies entirely in the padding");
  }
  for (int ox = 0; ox < OW; ++ox) {
    int k0, k1;
    tap_range(ox, w.stride_w, w.pad.left, 1, w.kernel_w, s.in_w, k0, k1);
    if (k0 >= k1) fail(errc::invalid_shape, what, "a pooling window lies entirely in the padding");
  }
  const auto C = static_cast<std::size_t>(s.channels);
  const std::size_t per_in = static_cast<std::size_t>(s.in_h) * static_cast<std::size_t>(s.in_w) * C;
  const std::size_t batch = input.empty() ? 0 : batch_of(input.size(), per_in, what);
  check_size(output.size(), batch * static_cast<std::size_t>(OH) * static_cast<std::size_t>(OW) * C, what, "output");
  Code* out = output.data();
  for (std::size_t b = 0; b < batch; ++b) {
    const Code* image = input.data() + b * per_in;
    for (int oy = 0; oy < OH; ++oy) {
      int ky0, ky1;
      tap_range(oy, w.stride_h, w.pad.top, 1, w.kernel_h, s.in_h, ky0, ky1);
      for (int ox = 0; ox < OW; ++ox, out += C) {
        int kx0, kx1;
        tap_range(ox, w.stride_w, w.pad.left, 1, w.kernel_w, s.in_w, kx0, kx1);
        const int y0 = oy * w.stride_h - w.pad.top, x0 = ox * w.stride_w - w.pad.left;
        for (std::size_t c = 0; c < C; ++c) {
          const std::int32_t v = reduce(image, c, y0 + ky0, y0 + ky1, x0 + kx0, x0 + kx1);
          out[c] = static_cast<Code>(std::clamp(v, clamp.min, clamp.max));
        }
      }
    }
  }
}
}  // namespace

template <class Code>
void average_pool(const pool_shape& s, std::span<const Code> input, std::span<Code> output, clamp_range clamp) {
  const auto C = static_cast<std::size_t>(s.channels);
  pool(s, input, output, clamp, "average_pool", [&](const Code* image, std::size_t c, int ya, int yb, int xa, int xb) {
    // In 64 bits: a window of more than 2^31 / 255 positions (8-bit codes) overflows an int32 sum
    // (TFLite's reference sums in int32, which such windows would make undefined; smaller ones agree).
    std::int64_t sum = 0;
    for (int y = ya; y < yb; ++y) {
      for (int x = xa; x < xb; ++x) {
        sum += image[(static_cast<std::size_t>(y) * static_cast<std::size_t>(s.in_w) + static_cast<std::size_t>(x)) * C + c];
      }
    }
    const std::int64_t n = std::int64_t{yb - ya} * (xb - xa);
    return static_cast<std::int32_t>(sum >= 0 ? (sum + n / 2) / n : (sum - n / 2) / n);  // within the codes' range
  });
}

template <class Code>
void max_pool(const pool_shape& s, std::span<const Code> input, std::span<Code> output, clamp_range clamp) {
  const auto C = static_cast<std::size_t>(s.channels);
  pool(s, input, output, clamp, "max_pool", [&](const Code* image, std::size_t c, int ya, int yb, int xa, int xb) {
    std::int32_t m = std::numeric_limits<std::int32_t>::min();
    for (int y = ya; y < yb; ++y) {
      for (int x = xa; x < xb; ++x) {
        m = std::max<std::int32_t>(
            m, image[(static_cast<std::size_t>(y) * static_cast<std::size_t>(s.in_w) + static_cast<std::size_t>(x)) * C + c]);
      }
    }
    return m;
  });
}

// ---------------------------------------------------------------------------------------------
// Add
// ---------------------------------------------------------------------------------------------

quantized_add::quantized_add(const activation_quant& input1, const activation_quant& input2,
                             const activation_quant& output, clamp_range clamp, dsp_profile profile) {
  const char* what = "quantized_add";
  validate(profile);
  validate_activation(input1, what, "input1");
  validate_activation(input2, what, "input2");
  validate_activation(output, what, "output");
  if (input1.format.is_signed != output.format.is_signed || input2.format.is_signed != output.format.is_signed) {
    fail(errc::type_mismatch, what, "inputs and output must all be int8 or all uint8");
  }
  check_clamp(clamp, output.format, what);
  in1_ = input1;
  in2_ = input2;
  out_ = output;
  clamp_ = clamp;
  profile_ = profile;
  const double twice_max = 2.0 * static_cast<double>(std::max(input1.scale, input2.scale));
  m1_ = quantize_multiplier(static_cast<double>(input1.scale) / twice_max);
  m2_ = quantize_multiplier(static_cast<double>(input2.scale) / twice_max);
  mo_ = quantize_multiplier(twice_max / (static_cast<double>(1 << left_shift) * static_cast<double>(output.scale)));
  // |mbqm(a, M1) + mbqm(b, M2)| <= 2^28 (each input multiplier is <= 1/2), so the output multiply's
  // left shift stays inside int32 only for shift <= 2, i.e. twice_max / s_out < 2^22.
  if (mo_.shift > 2) {
    fail(errc::invalid_scale, what, "the output scale is too small for the input scales (2 * max(s1, s2) / s_out >= 2^22)");
  }
}

template <class Code>
void quantized_add::run(std::span<const Code> input1, std::span<const Code> input2, std::span<Code> output) const {
  const char* what = "quantized_add";
  check_code<Code>(out_.format, what, "output");
  check_size(input2.size(), input1.size(), what, "input2");
  check_size(output.size(), input1.size(), what, "output");
  const requant_rounding r = profile_.rounding;
  for (std::size_t i = 0; i < input1.size(); ++i) {
    const std::int32_t a = (std::int32_t{input1[i]} - in1_.zero_point) * (1 << left_shift);
    const std::int32_t b = (std::int32_t{input2[i]} - in2_.zero_point) * (1 << left_shift);
    const std::int32_t sum = multiply_by_quantized_multiplier(a, m1_, r) + multiply_by_quantized_multiplier(b, m2_, r);
    const std::int32_t v = multiply_by_quantized_multiplier(sum, mo_, r) + out_.zero_point;
    output[i] = static_cast<Code>(std::clamp(v, clamp_.min, clamp_.max));
  }
}

// ---------------------------------------------------------------------------------------------
// Logistic / tanh
// ---------------------------------------------------------------------------------------------

quantized_lut_activation::quantized_lut_activation(lut_activation kind, const activation_quant& input,
                                                   dsp_profile profile)
    : kind_(kind), in_(input), profile_(profile) {
  if (kind != lut_activation::logistic && kind != lut_activation::tanh) {
    fail(errc::invalid_argument, "quantized_lut_activation",
         "kind " + str(static_cast<int>(kind)) + " is not logistic or tanh");
  }
  const char* what = kind == lut_activation::logistic ? "logistic" : "tanh";
  validate(profile);
  validate_activation(input, what, "input");
  constexpr int kInputIntegerBits = 4;
  const double real = static_cast<double>(input.scale) * static_cast<double>(1 << (31 - kInputIntegerBits));
  int exponent = 0;
  (void)std::frexp(real, &exponent);
  if (exponent >= 31) {  // s_in >= 8: the radius below is 0, every input saturates; no multiply happens
    m_ = {0, 0};
    radius_ = 0;
    return;
  }
  m_ = quantize_multiplier(real);
  // CalculateInputRadius(4, shift, 31) = floor(15 * 2^27 / 2^shift).
  const double radius = std::floor(15.0 * static_cast<double>(1 << (31 - kInputIntegerBits)) / std::ldexp(1.0, m_.shift));
  radius_ = static_cast<std::int32_t>(std::min(radius, 1024.0));  // |x - zx| <= 255 anyway
}

activation_quant quantized_lut_activation::output() const noexcept {
  activation_quant q;
  q.format = in_.format;
  q.numerics = in_.numerics;
  if (kind_ == lut_activation::logistic) {
    q.scale = 1.0f / 256.0f;
    q.zero_point = in_.format.is_signed ? -128 : 0;
  } else {
    q.scale = 1.0f / 128.0f;
    q.zero_point = in_.format.is_signed ? 0 : 128;
  }
  return q;
}

template <class Code>
void quantized_lut_activation::run(std::span<const Code> input, std::span<Code> output) const {
  const char* what = kind_ == lut_activation::logistic ? "logistic" : "tanh";
  check_code<Code>(in_.format, what, "input");
  check_size(output.size(), input.size(), what, "output");
  constexpr bool kSigned = std::is_signed_v<Code>;
  constexpr std::int32_t lo = std::numeric_limits<Code>::min(), hi = std::numeric_limits<Code>::max();
  for (std::size_t i = 0; i < input.size(); ++i) {
    const std::int32_t d = std::int32_t{input[i]} - in_.zero_point;
    std::int32_t v;
    if (d <= -radius_) {
      v = lo;
    } else if (d >= radius_) {
      v = hi;
    } else {
      const std::int32_t q4 = multiply_by_quantized_multiplier(d, m_, profile_.rounding);
      if (kind_ == lut_activation::logistic) {
        const std::int32_t r = rounding_divide_by_pot(logistic<4>(q4), 23);
        v = kSigned ? std::clamp(r - 128, lo, hi) : std::min(r, hi);
      } else {
        const std::int32_t r = rounding_divide_by_pot(tanh<4>(q4), 24);
        v = kSigned ? std::clamp(r, lo, hi) : std::min(r + 128, hi);
      }
    }
    output[i] = static_cast<Code>(v);
  }
}

template <class Code>
void logistic(std::span<const Code> input, const activation_quant& input_q, std::span<Code> output,
              dsp_profile profile) {
  quantized_lut_activation(lut_activation::logistic, input_q, profile).run(input, output);
}
template <class Code>
void tanh(std::span<const Code> input, const activation_quant& input_q, std::span<Code> output, dsp_profile profile) {
  quantized_lut_activation(lut_activation::tanh, input_q, profile).run(input, output);
}

// ---------------------------------------------------------------------------------------------
// ONNX requantization, float comparison
// ---------------------------------------------------------------------------------------------

template <class Code>
void requantize_onnx(std::span<const std::int32_t> acc, std::span<const float> multipliers, std::int32_t zero_point,
                     clamp_range act, std::span<Code> out) {
  const char* what = "requantize_onnx";
  check_size(out.size(), acc.size(), what, "output");
  if (multipliers.empty()) fail(errc::invalid_argument, what, "no multipliers");
  check_clamp_code<Code>(act, what);
  for (std::size_t c = 0; c < multipliers.size(); ++c) {
    if (!(multipliers[c] > 0.0f) || std::isinf(multipliers[c])) {
      fail(errc::invalid_scale, what, "multiplier[" + std::to_string(c) + "] is not a finite positive float");
    }
  }
  const std::size_t n = multipliers.size();
  for (std::size_t i = 0; i < acc.size(); ++i) {
    const float v = static_cast<float>(acc[i]) * multipliers[i % n];
    const float r = std::nearbyint(v) + static_cast<float>(zero_point);  // half to even (default rounding mode)
    const float c = std::min(std::max(r, static_cast<float>(act.min)), static_cast<float>(act.max));
    out[i] = static_cast<Code>(static_cast<std::int32_t>(c));
  }
}

layer_error_report compare_with_float(const quantized_fully_connected& layer, std::span<const float> input,
                                      std::span<const float> weights, std::span<const float> bias, activation act) {
  const char* what = "compare_with_float";
  const auto K = static_cast<std::size_t>(layer.in_features()), O = static_cast<std::size_t>(layer.out_features());
  check_size(weights.size(), K * O, what, "weights");
  if (!bias.empty()) check_size(bias.size(), O, what, "bias");
  const std::size_t batch = input.empty() ? 0 : batch_of(input.size(), K, what);
  std::vector<float> want(batch * O);
  for (std::size_t b = 0; b < batch; ++b) {
    for (std::size_t o = 0; o < O; ++o) {
      double s = bias.empty() ? 0.0 : bias[o];
      for (std::size_t k = 0; k < K; ++k) s += static_cast<double>(input[b * K + k]) * weights[o * K + k];
      want[b * O + o] = apply_float_activation(static_cast<float>(s), act);
    }
  }
  const std::vector<float> got = run_dequantized_any(layer, input, O, K);
  const activation_quant& oq = layer.output();
  const float lo = (static_cast<float>(layer.clamp().min - oq.zero_point)) * oq.scale;
  const float hi = (static_cast<float>(layer.clamp().max - oq.zero_point)) * oq.scale;
  return compare_outputs(got, std::vector<double>(want.begin(), want.end()), lo, hi);
}

layer_error_report compare_with_float(const quantized_conv2d& layer, std::span<const float> input,
                                      std::span<const float> weights, std::span<const float> bias, activation act) {
  const char* what = "compare_with_float";
  const conv2d_shape& s = layer.shape();
  const window2d& w = s.window;
  const auto IC = static_cast<std::size_t>(s.in_channels), OC = static_cast<std::size_t>(s.out_channels);
  const std::size_t per_oc = static_cast<std::size_t>(w.kernel_h) * static_cast<std::size_t>(w.kernel_w) * IC;
  check_size(weights.size(), OC * per_oc, what, "weights");
  if (!bias.empty()) check_size(bias.size(), OC, what, "bias");
  const std::size_t per_in = static_cast<std::size_t>(s.in_h) * static_cast<std::size_t>(s.in_w) * IC;
  const std::size_t batch = input.empty() ? 0 : batch_of(input.size(), per_in, what);
  const int OH = layer.out_h(), OW = layer.out_w();
  std::vector<float> want(batch * static_cast<std::size_t>(OH) * static_cast<std::size_t>(OW) * OC);
  std::size_t at = 0;
  for (std::size_t b = 0; b < batch; ++b) {
    for (int oy = 0; oy < OH; ++oy) {
      for (int ox = 0; ox < OW; ++ox) {
        for (std::size_t oc = 0; oc < OC; ++oc) {
          double acc = bias.empty() ? 0.0 : bias[oc];
          for (int ky = 0; ky < w.kernel_h; ++ky) {
            const int iy = oy * w.stride_h - w.pad.top + ky * w.dilation_h;
            if (iy < 0 || iy >= s.in_h) continue;
            for (int kx = 0; kx < w.kernel_w; ++kx) {
              const int ix = ox * w.stride_w - w.pad.left + kx * w.dilation_w;
              if (ix < 0 || ix >= s.in_w) continue;
              for (std::size_t ic = 0; ic < IC; ++ic) {
                acc += static_cast<double>(input[b * per_in + (static_cast<std::size_t>(iy * s.in_w + ix)) * IC + ic]) *
                       weights[oc * per_oc + static_cast<std::size_t>(ky * w.kernel_w + kx) * IC + ic];
              }
            }
          }
          want[at++] = apply_float_activation(static_cast<float>(acc), act);
        }
      }
    }
  }
  const std::vector<float> got = run_dequantized_any(layer, input, static_cast<std::size_t>(OH) * static_cast<std::size_t>(OW) * OC, per_in);
  const activation_quant& oq = layer.output();
  const float lo = (static_cast<float>(layer.clamp().min - oq.zero_point)) * oq.scale;
  const float hi = (static_cast<float>(layer.clamp().max - oq.zero_point)) * oq.scale;
  return compare_outputs(got, std::vector<double>(want.begin(), want.end()), lo, hi);
}

// ---------------------------------------------------------------------------------------------
// Instantiations
// ---------------------------------------------------------------------------------------------

#define LOWBIT_LAYER_IO(In, Out)                                                                               \
  template void quantized_fully_connected::run<In, Out>(std::span<const In>, std::span<Out>) const;          \
  template void quantized_conv2d::run<In, Out>(std::span<const In>, std::span<Out>) const;                   \
  template void quantized_depthwise_conv2d::run<In, Out>(std::span<const In>, std::span<Out>) const;
LOWBIT_LAYER_IO(std::int8_t, std::int8_t)
LOWBIT_LAYER_IO(std::int8_t, std::uint8_t)
LOWBIT_LAYER_IO(std::uint8_t, std::int8_t)
LOWBIT_LAYER_IO(std::uint8_t, std::uint8_t)
#undef LOWBIT_LAYER_IO

#define LOWBIT_LAYER_CODE(Code)                                                                                \
  template void quantized_fully_connected::accumulate<Code>(std::span<const Code>, std::span<std::int32_t>)   \
      const;                                                                                                   \
  template void quantized_conv2d::accumulate<Code>(std::span<const Code>, std::span<std::int32_t>) const;     \
  template void quantized_depthwise_conv2d::accumulate<Code>(std::span<const Code>, std::span<std::int32_t>)  \
      const;                                                                                                   \
  template void average_pool<Code>(const pool_shape&, std::span<const Code>, std::span<Code>, clamp_range);    \
  template void max_pool<Code>(const pool_shape&, std::span<const Code>, std::span<Code>, clamp_range);        \
  template void quantized_add::run<Code>(std::span<const Code>, std::span<const Code>, std::span<Code>) const; \
  template void quantized_lut_activation::run<Code>(std::span<const Code>, std::span<Code>) const;            \
  template void logistic<Code>(std::span<const Code>, const activation_quant&, std::span<Code>, dsp_profile);  \
  template void tanh<Code>(std::span<const Code>, const activation_quant&, std::span<Code>, dsp_profile);      \
  template void requantize_onnx<Code>(std::span<const std::int32_t>, std::span<const float>, std::int32_t,     \
                                      clamp_range, std::span<Code>);
LOWBIT_LAYER_CODE(std::int8_t)
LOWBIT_LAYER_CODE(std::uint8_t)
#undef LOWBIT_LAYER_CODE

layer_error_report compare_outputs(std::span<const float> got, std::span<const double> want, float lo, float hi) {
  if (got.size() != want.size()) {
    throw error(errc::size_mismatch, "compare_outputs: " + std::to_string(got.size()) + " outputs against " +
                                         std::to_string(want.size()) + " reference values");
  }
  layer_error_report r;
  double signal = 0.0, noise = 0.0;
  for (std::size_t i = 0; i < got.size(); ++i) {
    const double y = want[i], e = static_cast<double>(got[i]) - y;
    if (!std::isfinite(y)) {
      ++r.error.non_finite;
      continue;
    }
    signal += y * y;
    noise += e * e;
    r.error.max_abs_error = std::max(r.error.max_abs_error, std::abs(e));
    ++r.error.count;
    if ((got[i] == lo && y < lo) || (got[i] == hi && y > hi)) ++r.clipped;
  }
  r.error.mse = r.error.count ? noise / static_cast<double>(r.error.count) : 0.0;
  r.error.sqnr_db = noise > 0.0 ? 10.0 * std::log10(signal / noise) : std::numeric_limits<double>::infinity();
  return r;
}

void validate_activation(const activation_quant& q, const char* what, const char* which) {
  if (!is_8bit(q.format)) {
    fail(errc::unsupported_width, what,
         std::string(which) + " format has " + str(q.format.bits) + " bits" + (q.format.narrow ? ", narrow range" : "") +
             "; full-range int8 or uint8 codes are needed");
  }
  if (!(q.scale > 0.0f) || std::isinf(q.scale)) {
    fail(errc::invalid_scale, what, std::string(which) + " scale " + lowbit::detail::float_text(q.scale) + " must be finite and > 0");
  }
  if (q.zero_point < q.format.qmin() || q.zero_point > q.format.qmax()) {
    fail(errc::invalid_zero_point, what,
         std::string(which) + " zero point " + str(q.zero_point) + " is outside [" + str(q.format.qmin()) + ", " +
             str(q.format.qmax()) + "]");
  }
}

}  // namespace lowbit::fxp
