// lowbit CLI — the report table.
// SPDX-License-Identifier: Apache-2.0
#include "src/cli/report.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <tuple>
#include <cstdio>
#include <string>
#include <vector>

#include "lowbit/calibrate.h"
#include "lowbit/hilbert_eval.h"
#include "lowbit/pwlq.h"
#include "lowbit/quantizer.h"
#include "lowbit/uniform.h"
#include "src/cli/codes.h"

namespace lowbit::cli {
namespace {

// The calibrators of the table. moving_average is left out: on one tensor seen as one batch it is
// min-max.
constexpr const char* kCalibrators[] = {"minmax", "percentile:99.99", "topk:10", "mse", "entropy", "sqnr"};

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

struct row {
  error_stats error;
  double calibrate_ms;
  double round_trip_ms;
};

// Times `make_quantizer()` (calibration), then one encode + decode of x, and measures the error.
template <class MakeQuantizer>
row measure(std::span<const float> x, MakeQuantizer&& make_quantizer) {
  const auto t0 = std::chrono::steady_clock::now();
  const auto q = make_quantizer();
  const double calibrate_s = seconds_since(t0);
  using Code = typename decltype(q)::code_type;
  std::vector<Code> codes(x.size());
  std::vector<float> y(x.size());
  const auto t1 = std::chrono::steady_clock::now();
  q.encode(x, std::span<Code>(codes));
  q.decode(std::span<const Code>(codes), std::span<float>(y));
  const double round_trip_s = seconds_since(t1);
  return row{measure_error(q, x), calibrate_s * 1e3, round_trip_s * 1e3};
}

row measure_uniform(std::span<const float> x, std::span<const std::int64_t> shape, std::optional<int> axis,
                    const calibrator_spec& spec, code_format format, bool symmetric) {
  return with_code_type(format, [&]<class Code>() {
    return measure(x, [&] {
      observer obs = axis ? observer(spec, *axis) : observer(spec);
      obs.observe(x, shape);
      return uniform_quantizer<Code>(obs.compute_params(format, symmetric, profile::onnx, shape));
    });
  });
}

row measure_pwlq(std::span<const float> x, std::span<const std::int64_t> shape, std::optional<int> axis,
                 const pwlq_options& options) {
  return measure(x, [&] {
    return pwlq_quantizer(axis ? pwlq_calibrate(x, shape, *axis, options) : pwlq_calibrate(x, options));
  });
}

// Appends one printf-formatted line to `table`.
template <class... Args>
void append_line(std::string& table, const char* format, Args... args) {
  char line[256];
  const int n = std::snprintf(line, sizeof line, format, args...);
  table.append(line, static_cast<std::size_t>(std::clamp(n, 0, static_cast<int>(sizeof line) - 1)));
}

void append_row(std::string& table, int bits, const std::string& codes, const std::string& gran,
                const std::string& name, const row& r) {
  append_line(table, "%-5d %-6s %-13s %-17s %12.4g %9.2f %12.4g %10.2f %10.2f\n", bits, codes.c_str(), gran.c_str(),
              name.c_str(), r.error.mse, r.error.sqnr_db, r.error.max_abs_error, r.calibrate_ms, r.round_trip_ms);
}

}  // namespace

void print_report(std::span<const float> x, std::span<const std::int64_t> shape, std::span<const int> bits,
                  std::optional<int> axis) {
  // The table is printed whole once every row is measured, so that an argument error (a width outside
  // 2..16, an axis outside the shape) prints nothing but the error.
  std::string table;
  append_line(table, "%-5s %-6s %-13s %-17s %12s %9s %12s %10s %10s\n", "bits", "codes", "granularity", "calibrator",
              "MSE", "SQNR dB", "max |err|", "calib ms", "q+dq ms");
  std::vector<std::optional<int>> axes = {std::nullopt};
  if (axis) axes.push_back(axis);
  for (const int b : bits) {
    for (const bool symmetric : {false, true}) {
      // Asymmetric ranges use unsigned codes; symmetric ones signed codes with the narrow range, so
      // that the grid is symmetric about 0.
      const code_format format{b, symmetric, symmetric};
      const std::string codes = std::string(symmetric ? "s" : "u") + std::to_string(b) + (symmetric ? "n" : "");
      for (const auto& a : axes) {
        const std::string gran = a ? "channel(" + std::to_string(*a) + ")" : "tensor";
        for (const char* name : kCalibrators) {
          append_row(table, b, codes, gran, name, measure_uniform(x, shape, a, calibrator_spec::parse(name), format, symmetric));
        }
      }
    }
    if (b < 2 || b > 8) continue;  // PWLQ's widths
    for (const auto& a : axes) {
      const std::string gran = a ? "channel(" + std::to_string(*a) + ")" : "tensor";
      for (const pwlq_breakpoint method : {pwlq_breakpoint::exact, pwlq_breakpoint::gaussian,
                                           pwlq_breakpoint::laplacian, pwlq_breakpoint::grid}) {
        append_row(table, b, "pwlq", gran, to_string(method), measure_pwlq(x, shape, a, {b, pwlq_variant::reference, 1, method}));
      }
      for (const int k : {2, 3}) {
        append_row(table, b, "pwlq", gran, "exact k=" + std::to_string(k),
                  measure_pwlq(x, shape, a, {b, pwlq_variant::reference, k, pwlq_breakpoint::exact}));
      }
    }
  }
  std::fputs(table.c_str(), stdout);
  std::printf("codes: uN = unsigned, asymmetric range; sNn = signed, symmetric, narrow range (onnx numerics); "
              "pwlq = piecewise-linear, N-bit codes + region, breakpoint method, k breakpoints (1 unless said). "
              "Times measured once, single thread.\n");
}

void print_hilbert_report(std::span<const float> t, std::optional<std::pair<double, double>> range) {
  double lo = 0.0, hi = 0.0;
  if (range) {
    std::tie(lo, hi) = *range;
  } else {
    bool any = false;
    for (const float v : t) {
      if (!std::isfinite(v)) continue;
      lo = any ? std::min(lo, static_cast<double>(v)) : v;
      hi = any ? std::max(hi, static_cast<double>(v)) : v;
      any = true;
    }
    if (!any) throw error(errc::no_finite_data, "report --hilbert: the tensor has no finite value");
    if (lo == hi) throw error(errc::invalid_range, "report --hilbert: the tensor is constant; give --range");
  }
  const auto t0 = std::chrono::steady_clock::now();
  const hilbert_eval_config config;
  const hilbert_eval_result r = evaluate_hilbert_head(t, lo, hi, config);
  std::printf("Hilbert output head vs direct quantization of this tensor as a depth-like output: %zu values "
              "(%zu NaN/Inf left out), range [%.6g, %.6g]%s, %zu values outside it evaluated as its nearer end.\n"
              "Unsigned codes over the range, onnx rounding; "
              "Gaussian model noise in LSB per channel; errors in the tensor's units; 'predicted' = the analytic\n"
              "model (lowbit::predict_hilbert_error), jumps = values decoded onto another branch. %.1f s.\n\n",
              r.values, r.skipped, lo, hi, range ? " (given)" : " (the tensor's min and max)", r.clamped,
              seconds_since(t0));
  std::fputs(hilbert_eval_table(r).c_str(), stdout);
  // Recommended among the orders of the table, so that the measured row of every recommendation is above.
  const int max_order = *std::max_element(config.orders.begin(), config.orders.end());
  std::printf("\nRecommended order (lowbit::best_hilbert_order, orders 1..%d) per layout and width, "
              "noise 0 / 0.5 / 1 / 2 / 4 LSB:\n", max_order);
  for (const hilbert_layout layout : config.layouts) {
    for (const int bits : config.bits) {
      std::printf("  %-11s %d bits:", to_string(layout), bits);
      for (const double noise : config.noise_lsb) std::printf(" %d", best_hilbert_order(layout, bits, noise, max_order));
      std::printf("\n");
    }
  }
}

}  // namespace lowbit::cli
