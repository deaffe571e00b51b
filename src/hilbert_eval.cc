// lowbit — evaluation of the Hilbert output head against direct quantization (lowbit/hilbert_eval.h).
// SPDX-License-Identifier: Apache-2.0
#include "lowbit/hilbert_eval.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <random>
#include <string>

#include "lowbit/ref/uniform.h"

namespace lowbit {
namespace {

void check_config(const hilbert_eval_config& c) {
  if (c.layouts.empty() || c.orders.empty() || c.bits.empty() || c.noise_lsb.empty()) {
    throw error(errc::invalid_argument, "evaluate_hilbert_head: empty layout, order, width or noise list");
  }
  for (const int order : c.orders) {
    if (order < hilbert_curve::min_order || order > hilbert_curve::max_order) {
      throw error(errc::invalid_argument, "evaluate_hilbert_head: order " + std::to_string(order) + " outside 1..8");
    }
  }
  for (const int bits : c.bits) {
    if (bits < 2 || bits > 8) {
      throw error(errc::unsupported_width, "evaluate_hilbert_head: width " + std::to_string(bits) + " outside 2..8");
    }
  }
  for (const double noise : c.noise_lsb) {
    if (!(noise >= 0.0) || !std::isfinite(noise)) {
      throw error(errc::invalid_argument, "evaluate_hilbert_head: noise must be finite and >= 0");
    }
  }
}

struct error_sums {
  double sum2 = 0.0, max = 0.0;
  void add(double e) noexcept {
    sum2 += e * e;
    max = std::max(max, std::abs(e));
  }
  double rms(std::size_t n) const noexcept { return std::sqrt(sum2 / static_cast<double>(n)); }
};

float quantize_one(float v, const ref::run_params& rp) noexcept {
  return ref::quantize_value(v, rp.scale, rp.inv_scale, rp.zero_point, rp.qmin, rp.qmax, rp.numerics);
}

}  // namespace

hilbert_eval_result evaluate_hilbert_head(std::span<const float> t, double lo, double hi,
                                          const hilbert_eval_config& config) {
  if (!(std::isfinite(lo) && std::isfinite(hi) && lo < hi)) {
    throw error(errc::invalid_range, "evaluate_hilbert_head: need finite lo < hi");
  }
  check_config(config);
  hilbert_eval_result result;
  result.lo = lo;
  result.hi = hi;
  // The truth: finite values clamped into [lo, hi] (what either head can represent).
  std::vector<float> truth;
  truth.reserve(t.size());
  for (const float v : t) {
    if (std::isfinite(v)) {
      const double inside = std::clamp(static_cast<double>(v), lo, hi);
      if (inside != static_cast<double>(v)) ++result.clamped;
      truth.push_back(static_cast<float>(inside));
    }
  }
  result.values = truth.size();
  result.skipped = t.size() - truth.size();
  if (truth.empty()) throw error(errc::no_finite_data, "evaluate_hilbert_head: no finite value");

  const std::size_t n = truth.size();
  const double range = hi - lo;
  std::vector<std::uint8_t> codes(2 * n);
  std::vector<float> decoded(n);
  for (const hilbert_layout layout : config.layouts) {
    for (const int bits : config.bits) {
      const quant_params params = hilbert_params(code_format{bits, false, false}, config.numerics);
      const ref::run_params rp = ref::run_params_of(params);
      const double lsb = static_cast<double>(rp.scale);
      for (const int order : config.orders) {
        const hilbert_curve curve(order, layout, lo, hi);
        const hilbert_quantizer<std::uint8_t> head(curve, params);
        const double jump_limit = 1.5 * range / static_cast<double>(curve.vertex_count() - 1);
        for (const double noise : config.noise_lsb) {
          std::seed_seq seq{config.seed, static_cast<std::uint32_t>(layout), static_cast<std::uint32_t>(bits),
                            static_cast<std::uint32_t>(order), static_cast<std::uint32_t>(std::lround(noise * 1024))};
          std::mt19937 rng(seq);
          std::normal_distribution<double> gauss(0.0, noise * lsb);
          const auto noisy = [&](double v) { return static_cast<float>(noise > 0.0 ? v + gauss(rng) : v); };
          error_sums direct;
          for (std::size_t i = 0; i < n; ++i) {
            const double w = static_cast<double>(static_cast<float>((truth[i] - lo) / range));
            const float wq = ref::dequantize_value(quantize_one(noisy(w), rp), rp.scale, rp.zero_point);
            const auto back = static_cast<float>(lo + range * static_cast<double>(wq));
            direct.add(static_cast<double>(back) - truth[i]);
            const hilbert_point p = curve.encode(truth[i]);
            codes[2 * i] = static_cast<std::uint8_t>(quantize_one(noisy(p.x), rp));
            codes[2 * i + 1] = static_cast<std::uint8_t>(quantize_one(noisy(p.y), rp));
          }
          head.decode(codes, decoded);
          error_sums hil;
          std::size_t jumps = 0;
          for (std::size_t i = 0; i < n; ++i) {
            const double e = static_cast<double>(decoded[i]) - truth[i];
            hil.add(e);
            jumps += std::abs(e) > jump_limit;
          }
          const hilbert_error_estimate model = predict_hilbert_error(curve, bits, noise);
          const double rd = direct.rms(n), rh = hil.rms(n);
          result.rows.push_back({layout, order, curve.length(), bits, noise, rd, rh, direct.max, hil.max,
                                 rh > 0.0 ? rd / rh : std::numeric_limits<double>::infinity(), model.gain,
                                 static_cast<double>(jumps) / static_cast<double>(n), model.jump_probability});
        }
      }
    }
  }
  return result;
}

std::string hilbert_eval_table(const hilbert_eval_result& result) {
  std::string out =
      "| layout      | n |      L | bits | noise | RMS direct | RMS hilbert | max direct | max hilbert |"
      "   gain | predicted | jumps % | pred. % |\n"
      "|-------------|---|--------|------|-------|------------|-------------|------------|-------------|"
      "--------|-----------|---------|---------|\n";
  char line[256];
  for (const hilbert_eval_row& r : result.rows) {
    std::snprintf(line, sizeof line,
                  "| %-11s | %d | %6.3f | %4d | %5.1f | %10.3e | %11.3e | %10.3e | %11.3e | %6.2f | %9.2f |"
                  " %7.4f | %7.4f |\n",
                  to_string(r.layout), r.order, r.length, r.bits, r.noise_lsb, r.rms_direct, r.rms_hilbert,
                  r.max_direct, r.max_hilbert, r.gain, r.predicted_gain, 100.0 * r.jump_rate,
                  100.0 * r.predicted_jump_rate);
    out += line;
  }
  return out;
}

}  // namespace lowbit
