// lowbit — integer requantization: validation at the API boundary, dispatch to the kernels.
// SPDX-License-Identifier: Apache-2.0
#include "lowbit/integer_requantize.h"

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <sstream>
#include <string>

#include "lowbit/detail/integer_requantize_kernels.h"

namespace lowbit::fxp {

namespace {

std::string describe(double v) {
  std::ostringstream s;
  s.precision(17);
  s << v;
  return s.str();
}

void check_multiplier(quantized_multiplier m, std::size_t c) {
  if (m.multiplier < 0 || m.shift < -31 || m.shift > 30) {
    throw error(errc::invalid_scale, "multiplier[" + std::to_string(c) + "] = {" + std::to_string(m.multiplier) +
                                         ", shift " + std::to_string(m.shift) +
                                         "}: the multiplier must be >= 0 and the shift in [-31, 30]");
  }
}

void check_range(std::int32_t act_min, std::int32_t act_max) {
  if (act_min > act_max) {
    throw error(errc::invalid_range, "activation range [" + std::to_string(act_min) + ", " +
                                         std::to_string(act_max) + "] has min > max");
  }
}

}  // namespace

quantized_multiplier quantize_multiplier(double real) {
  if (!std::isfinite(real) || real < 0.0) {
    throw error(errc::invalid_scale, "real multiplier " + describe(real) + " must be finite and >= 0");
  }
  if (real == 0.0) return {0, 0};
  int shift = 0;
  const double q = std::frexp(real, &shift);  // q in [0.5, 1)
  auto q_fixed = static_cast<std::int64_t>(std::round(q * static_cast<double>(std::int64_t{1} << 31)));
  if (q_fixed == (std::int64_t{1} << 31)) {
    q_fixed /= 2;
    ++shift;
  }
  if (shift < -31) return {0, 0};  // flushed to zero, as TFLite
  if (shift > 30) {
    throw error(errc::invalid_scale, "real multiplier " + describe(real) +
                                         " is too large: its shift " + std::to_string(shift) + " exceeds 30");
  }
  return {static_cast<std::int32_t>(q_fixed), shift};
}

double dequantize_multiplier(quantized_multiplier m) noexcept {
  return std::ldexp(static_cast<double>(m.multiplier), m.shift - 31);
}

requant_params requant_params::per_channel(std::span<const quantized_multiplier> m, std::int32_t zero_point,
                                           std::int32_t act_min, std::int32_t act_max, requant_rounding r) {
  if (m.empty()) throw error(errc::count_mismatch, "requant_params: no multiplier given");
  for (std::size_t c = 0; c < m.size(); ++c) check_multiplier(m[c], c);
  check_range(act_min, act_max);
  if (r != requant_rounding::double_rounding && r != requant_rounding::single_rounding) {
    throw error(errc::invalid_argument, "requant_params: unknown rounding");
  }
  requant_params p;
  p.multipliers_.assign(m.begin(), m.end());
  const std::size_t channels = m.size();
  const std::size_t len = channels + ::lowbit::detail::k_requant_pad;
  p.tables_.resize(3 * len);
  p.min_shift_ = m[0].shift;
  p.max_shift_ = m[0].shift;
  for (std::size_t j = 0; j < len; ++j) {
    const quantized_multiplier q = m[j % channels];
    p.tables_[j] = q.multiplier;
    p.tables_[len + j] = q.shift > 0 ? q.shift : 0;
    p.tables_[2 * len + j] = q.shift < 0 ? -q.shift : 0;
    p.min_shift_ = q.shift < p.min_shift_ ? q.shift : p.min_shift_;
    p.max_shift_ = q.shift > p.max_shift_ ? q.shift : p.max_shift_;
  }
  p.zero_point_ = zero_point;
  p.act_min_ = act_min;
  p.act_max_ = act_max;
  p.rounding_ = r;
  return p;
}

requant_params requant_params::per_tensor(quantized_multiplier m, std::int32_t zero_point, std::int32_t act_min,
                                          std::int32_t act_max, requant_rounding r) {
  return per_channel(std::span<const quantized_multiplier>(&m, 1), zero_point, act_min, act_max, r);
}

requant_params requant_params::from_scales(float input_scale, std::span<const float> weight_scales,
                                           float output_scale, std::int32_t zero_point, std::int32_t act_min,
                                           std::int32_t act_max, requant_rounding r) {
  const auto check_scale = [](float s, const std::string& what) {
    if (!std::isfinite(s) || !(s > 0.0f)) {
      throw error(errc::invalid_scale, what + " = " + describe(s) + " must be finite and > 0");
    }
  };
  check_scale(input_scale, "input_scale");
  check_scale(output_scale, "output_scale");
  if (weight_scales.empty()) throw error(errc::count_mismatch, "requant_params: no weight scale given");
  std::vector<quantized_multiplier> m(weight_scales.size());
  for (std::size_t c = 0; c < weight_scales.size(); ++c) {
    check_scale(weight_scales[c], "weight_scale[" + std::to_string(c) + "]");
    m[c] = quantize_multiplier(static_cast<double>(input_scale) * static_cast<double>(weight_scales[c]) /
                               static_cast<double>(output_scale));
  }
  return per_channel(m, zero_point, act_min, act_max, r);
}

::lowbit::detail::requant_kernel_params make_kernel_params(const requant_params& p) noexcept {
  const std::size_t len = p.channels() + ::lowbit::detail::k_requant_pad;
  return {p.tables_.data(), p.tables_.data() + len, p.tables_.data() + 2 * len, p.channels(), p.zero_point_,
          p.act_min_, p.act_max_, p.rounding_, p.min_shift_, p.max_shift_};
}

namespace {

template <class Code>
void check_call(std::size_t n_acc, const requant_params& p, std::size_t n_out) {
  constexpr std::int32_t lo = std::numeric_limits<Code>::min();
  constexpr std::int32_t hi = std::numeric_limits<Code>::max();
  const std::string type = std::string(std::is_signed_v<Code> ? "int" : "uint") + std::to_string(8 * sizeof(Code));
  if (p.act_min() < lo || p.act_max() > hi) {
    throw error(errc::type_mismatch, "requantize: activation range [" + std::to_string(p.act_min()) + ", " +
                                         std::to_string(p.act_max()) + "] does not fit " + type + " codes");
  }
  if (p.zero_point() < lo || p.zero_point() > hi) {
    throw error(errc::invalid_zero_point, "requantize: zero point " + std::to_string(p.zero_point()) +
                                              " outside the " + type + " range");
  }
  if (n_acc != n_out) {
    throw error(errc::size_mismatch, "requantize: " + std::to_string(n_acc) + " accumulators but " +
                                         std::to_string(n_out) + " outputs");
  }
  if (n_acc % p.channels() != 0) {
    throw error(errc::size_mismatch, "requantize: " + std::to_string(n_acc) + " accumulators are not a whole number of " +
                                         std::to_string(p.channels()) + "-channel rows");
  }
}

}  // namespace

template <requant_code Code>
void requantize(std::span<const std::int32_t> acc, const requant_params& p, std::span<Code> out) {
  check_call<Code>(acc.size(), p, out.size());
  if (acc.empty()) return;
  const ::lowbit::detail::requant_kernel_params k = make_kernel_params(p);
  ::lowbit::detail::requantize_s32(acc.data(), acc.size(), k, out.data());
}

template <requant_code Code>
void requantize(std::span<const std::int64_t> acc, const requant_params& p, std::span<Code> out) {
  check_call<Code>(acc.size(), p, out.size());
  const std::size_t channels = p.channels();
  std::size_t c = 0;
  for (std::size_t i = 0; i < acc.size(); ++i) {
    const std::int64_t v =
        static_cast<std::int64_t>(multiply_by_quantized_multiplier(acc[i], p.multipliers()[c], p.rounding())) +
        p.zero_point();
    out[i] = static_cast<Code>(v < p.act_min() ? p.act_min() : (v > p.act_max() ? p.act_max() : v));
    if (++c == channels) c = 0;
  }
}

template void requantize<std::int8_t>(std::span<const std::int32_t>, const requant_params&, std::span<std::int8_t>);
template void requantize<std::uint8_t>(std::span<const std::int32_t>, const requant_params&, std::span<std::uint8_t>);
template void requantize<std::int16_t>(std::span<const std::int32_t>, const requant_params&, std::span<std::int16_t>);
template void requantize<std::int8_t>(std::span<const std::int64_t>, const requant_params&, std::span<std::int8_t>);
template void requantize<std::uint8_t>(std::span<const std::int64_t>, const requant_params&, std::span<std::uint8_t>);
template void requantize<std::int16_t>(std::span<const std::int64_t>, const requant_params&, std::span<std::int16_t>);

const char* requantize_simd_target() noexcept { return ::lowbit::detail::requantize_active_target_name(); }

}  // namespace lowbit::fxp
