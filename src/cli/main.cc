// lowbit — the command-line tool: calibrate, quantize, dequantize, report, demo.
// SPDX-License-Identifier: Apache-2.0
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <optional>
#include <random>
#include <span>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "lowbit/calibrate.h"
#include "lowbit/io/gnubg.h"
#include "lowbit/io/npy.h"
#include "lowbit/io/params_json.h"
#include "lowbit/uniform.h"
#include "src/cli/codes.h"
#include "src/cli/progress.h"
#include "src/cli/report.h"

namespace lowbit::cli {
namespace {

namespace fs = std::filesystem;

// Work is done in chunks of this many elements so that the progress bar moves.
constexpr std::size_t kChunk = std::size_t{1} << 20;

profile parse_profile(const std::string& name) {
  if (const auto p = profile_from_string(name)) return *p;
  throw error(errc::invalid_argument, "unknown profile '" + name + "' (onnx, pytorch or tflite)");
}

code_format parse_dtype(const std::string& name) {
  if (name == "int8") return code_format::int8();
  if (name == "uint8") return code_format::uint8();
  if (name == "int16") return code_format::int16();
  if (name == "uint16") return code_format::uint16();
  if (name == "int4") return code_format::int4();
  if (name == "uint4") return code_format::uint4();
  throw error(errc::invalid_argument, "unknown dtype '" + name + "' (int8, uint8, int16, uint16, int4, uint4)");
}

// The float values of a .npy file of any supported dtype.
struct float_tensor {
  std::vector<float> values;
  std::vector<std::int64_t> shape;
};

float_tensor read_floats(const fs::path& path) {
  const io::npy_array a = io::read_npy(path);
  return {io::to_float(a), a.shape};
}

// Per-channel and per-block parameters carry the shape they were made for: the tensor must have it.
void check_shape(const quant_params& p, std::span<const std::int64_t> shape, const fs::path& path) {
  if (p.granularity() == granularity::per_tensor) return;
  if (!std::equal(p.shape().begin(), p.shape().end(), shape.begin(), shape.end())) {
    throw error(errc::invalid_shape, path.string() + " does not have the shape the parameters were calibrated for");
  }
}

// quantize / dequantize of a whole tensor; per-tensor parameters go chunk by chunk (for the progress bar).
template <class Code>
void quantize_all(std::span<const float> x, const quant_params& p, std::span<Code> q) {
  const std::size_t chunk = p.granularity() == granularity::per_tensor ? kChunk : x.size();
  progress bar("quantize", x.size());
  for (std::size_t i = 0; i < x.size(); i += chunk) {
    const std::size_t n = std::min(chunk, x.size() - i);
    quantize<Code>(x.subspan(i, n), p, q.subspan(i, n));
    bar.update(i + n);
  }
}

template <class Code>
void dequantize_all(std::span<const Code> q, const quant_params& p, std::span<float> y) {
  const std::size_t chunk = p.granularity() == granularity::per_tensor ? kChunk : q.size();
  progress bar("dequantize", q.size());
  for (std::size_t i = 0; i < q.size(); i += chunk) {
    const std::size_t n = std::min(chunk, q.size() - i);
    dequantize<Code>(q.subspan(i, n), p, y.subspan(i, n));
    bar.update(i + n);
  }
}

void run_quantize(const fs::path& in, const quant_params& p, const fs::path& out) {
  const float_tensor x = read_floats(in);
  check_shape(p, x.shape, in);
  with_code_type(p.format(), [&]<class Code>() {
    std::vector<Code> q(x.values.size());
    quantize_all<Code>(x.values, p, q);
    io::write_npy<Code>(out, q, x.shape);
  });
}

void run_dequantize(const fs::path& in, const quant_params& p, const fs::path& out) {
  const io::npy_array a = io::read_npy(in);
  check_shape(p, a.shape, in);
  with_code_type(p.format(), [&]<class Code>() {
    const std::span<const Code> q = a.values<Code>();  // throws type_mismatch for another dtype
    const code_format f = p.format();
    for (std::size_t i = 0; i < q.size(); ++i) {  // narrower formats (int4, 12 bits, ...) in wider storage
      if (q[i] < f.qmin() || q[i] > f.qmax()) {
        throw error(errc::invalid_argument, in.string() + ": code " + std::to_string(+q[i]) + " at index " +
                                                std::to_string(i) + " is outside the " + std::to_string(f.bits) +
                                                "-bit code range [" + std::to_string(f.qmin()) + ", " +
                                                std::to_string(f.qmax()) + "]");
      }
    }
    std::vector<float> y(q.size());
    dequantize_all<Code>(q, p, y);
    io::write_npy<float>(out, y, a.shape);
  });
}

void run_calibrate(const fs::path& in, std::optional<int> axis, const std::string& calibrator, int bits,
                   bool is_signed, bool symmetric, bool narrow, const std::string& prof, const fs::path& params) {
  const calibrator_spec spec = calibrator_spec::parse(calibrator);
  const code_format format{bits, is_signed, narrow};
  const profile numerics = parse_profile(prof);
  const float_tensor x = read_floats(in);
  // The tensor is one batch, observed once: fed in chunks, a histogram calibrator would re-bin as the
  // range grows (another scale than the library's for the same tensor), and ema would average per chunk.
  observer obs = axis ? observer(spec, *axis) : observer(spec);
  if (axis) obs.observe(x.values, x.shape);
  else obs.observe(std::span<const float>(x.values));
  const quant_params p = obs.compute_params(format, symmetric, numerics, x.shape);
  io::save_params(params, p);
  std::printf("%s: %zu finite values (%llu NaN/Inf skipped), %s, %zu channel(s)", in.string().c_str(),
              static_cast<std::size_t>(obs.finite_count()), static_cast<unsigned long long>(obs.nonfinite_count()),
              spec.to_string().c_str(), p.scales().size());
  if (p.scales().size() == 1) std::printf(": scale %.9g, zero point %d", static_cast<double>(p.scales()[0]), p.zero_points()[0]);
  std::printf(" -> %s\n", params.string().c_str());
}

// Conv-like weights [64, 576] as trained networks have them: per output channel a Laplacian with its
// own scale (channel ranges differ by up to 1000x), and a few large outliers.
float_tensor generated_weights() {
  constexpr std::int64_t kOut = 64, kIn = 576;
  std::mt19937 rng(2026);
  std::exponential_distribution<float> magnitude(1.0f);
  std::uniform_real_distribution<float> decade(-3.0f, 0.0f);
  float_tensor w{std::vector<float>(static_cast<std::size_t>(kOut * kIn)), {kOut, kIn}};
  for (std::int64_t o = 0; o < kOut; ++o) {
    const float s = 0.05f * std::pow(10.0f, decade(rng));
    for (std::int64_t i = 0; i < kIn; ++i) {
      const float m = magnitude(rng);
      w.values[static_cast<std::size_t>(o * kIn + i)] = s * (rng() % 2 ? m : -m);
    }
  }
  return w;
}

// A depth-like network output [256, 256] in metres: a ground plane seen by a level camera (depth
// ~ 1 / (row below the horizon), 1.5 m at the bottom row, capped at 30 m), two boxes facing the camera
// (constant depth), and a strip of invalid pixels (NaN, as stereo occlusions are marked).
std::vector<float> generated_depth_map() {
  constexpr int kSide = 256;
  constexpr double kFar = 30.0, kNear = 1.5, kHorizon = 64.0;
  std::vector<float> d(static_cast<std::size_t>(kSide) * kSide);
  for (int r = 0; r < kSide; ++r) {
    for (int c = 0; c < kSide; ++c) {
      const double below = static_cast<double>(r) + 1.0 - kHorizon;
      double z = below > 0 ? std::min(kFar, kNear * (kSide - kHorizon) / below) : kFar;
      if (r >= 120 && r < 200 && c >= 40 && c < 100) z = 4.0;    // near box
      if (r >= 90 && r < 140 && c >= 160 && c < 230) z = 11.5;   // far box
      if (c >= 100 && c < 104 && r >= 120) z = std::nan("");      // occlusion strip
      d[static_cast<std::size_t>(r) * kSide + static_cast<std::size_t>(c)] = static_cast<float>(z);
    }
  }
  return d;
}

// gnubg's weights: $LOWBIT_DATA_DIR (or the build's data directory) as unpacked by
// cmake/fetch_data.cmake, else an installed gnubg.
std::optional<fs::path> find_gnubg_weights() {
  std::vector<fs::path> candidates;
  if (const char* dir = std::getenv("LOWBIT_DATA_DIR")) candidates.emplace_back(fs::path(dir) / "root/usr/lib/gnubg/gnubg.wd");
  candidates.emplace_back(fs::path(LOWBIT_DATA_DIR) / "root/usr/lib/gnubg/gnubg.wd");
  candidates.emplace_back("/usr/lib/gnubg/gnubg.wd");
  for (const auto& c : candidates) {
    std::error_code ec;
    if (fs::is_regular_file(c, ec)) return c;
  }
  return std::nullopt;
}

void run_demo() {
  const std::vector<int> bits = {4, 8};
  std::printf("lowbit demo (SIMD target %s)\n\n", simd_target());
  const float_tensor w = generated_weights();
  std::printf("== generated conv-like weight [64, 576]: per-channel Laplacians, channel scales over 3 decades\n");
  print_report(w.values, w.shape, bits, 0);

  if (const auto path = find_gnubg_weights()) {
    const std::vector<io::gnubg_network> nets = io::read_gnubg_weights(*path);
    const io::gnubg_network& net = nets.front();
    // [hidden, inputs]: out-features by in-features, so that channel axis 0 is the hidden unit.
    const std::vector<float> w_out_in = net.hidden_weights_out_in();
    const std::vector<std::int64_t> shape = {net.hidden, net.inputs};
    std::printf("\n== gnubg '%s' network, hidden-layer weights [%d, %d] (trained; %s)\n", net.name.c_str(),
                net.hidden, net.inputs, path->string().c_str());
    print_report(w_out_in, shape, bits, 0);
  } else {
    std::printf("\n(gnubg's trained weights not found: run `cmake -P cmake/fetch_data.cmake` to add them)\n");
  }

  std::printf("\n== generated depth map [256, 256] (ground plane 1.5..30 m, two boxes, a NaN occlusion strip) "
              "read as a network's depth output (`lowbit report --hilbert`)\n");
  print_hilbert_report(generated_depth_map(), std::nullopt);
}

}  // namespace

int run(int argc, char** argv) {
  CLI::App app{"lowbit: low-bit quantization of float tensors (.npy) — calibrate, quantize, dequantize, report"};
  app.require_subcommand(1);
  // Usage errors in one line, as every other error.
  app.failure_message([](const CLI::App*, const CLI::Error& e) {
    return "lowbit: " + std::string(e.what()) + " (run with --help for usage)\n";
  });

  std::string in, out, params, calibrator = "minmax", prof = "onnx", dtype;
  std::optional<int> axis;
  int bits = 8;
  bool is_unsigned = false, symmetric = false, narrow = false;
  std::optional<float> scale;
  std::optional<std::int32_t> zero_point;
  std::vector<int> report_bits = {4, 8};

  CLI::App* cal = app.add_subcommand("calibrate", "Choose quantization parameters for a tensor and save them as JSON");
  cal->add_option("--in", in, "Input tensor (.npy, any supported dtype)")->required();
  cal->add_option("--axis", axis, "Per-channel along this axis (default: per tensor)");
  cal->add_option("--calibrator", calibrator,
                  "minmax | ema[:momentum] | percentile[:p] | topk[:k] | mse | entropy | sqnr")->capture_default_str();
  cal->add_option("--bits", bits, "Code width, 2..16")->capture_default_str();
  cal->add_flag("--unsigned", is_unsigned, "Unsigned codes (default: signed)");
  cal->add_flag("--symmetric", symmetric, "Symmetric range (zero point 0, or mid-range for unsigned codes)");
  cal->add_flag("--narrow", narrow, "Narrow range: drop the lowest code (-127..127 for 8 bits)");
  cal->add_option("--profile", prof, "Numerics: onnx | pytorch | tflite")->capture_default_str();
  cal->add_option("--params", params, "Output parameters (.json)")->required();
  cal->callback([&] {
    run_calibrate(in, axis, calibrator, bits, !is_unsigned, symmetric, narrow, prof, params);
  });

  CLI::App* quant = app.add_subcommand("quantize", "Quantize a float tensor to integer codes");
  quant->add_option("--in", in, "Input tensor (.npy)")->required();
  quant->add_option("--out", out, "Output codes (.npy: int8, uint8, int16 or uint16)")->required();
  auto* with_params = quant->add_option("--params", params, "Parameters (.json) from `lowbit calibrate`");
  auto* with_scale = quant->add_option("--scale", scale, "Per-tensor scale (instead of --params)");
  quant->add_option("--zero-point", zero_point, "Per-tensor zero point (with --scale; default 0)")->needs(with_scale);
  quant->add_option("--dtype", dtype, "Codes with --scale: int8 | uint8 | int16 | uint16 | int4 | uint4")->needs(with_scale);
  quant->add_option("--profile", prof, "Numerics with --scale: onnx | pytorch | tflite")->needs(with_scale);
  with_params->excludes(with_scale);
  quant->callback([&] {
    if (params.empty() && !scale) throw CLI::ValidationError("quantize", "give --params or --scale");
    const quant_params p = !params.empty()
        ? io::load_params(params)
        : quant_params::per_tensor(parse_dtype(dtype.empty() ? "int8" : dtype), *scale, zero_point.value_or(0),
                                   parse_profile(prof));
    run_quantize(in, p, out);
  });

  CLI::App* deq = app.add_subcommand("dequantize", "Dequantize integer codes back to float32");
  deq->add_option("--in", in, "Input codes (.npy)")->required();
  deq->add_option("--params", params, "Parameters (.json)")->required();
  deq->add_option("--out", out, "Output tensor (.npy, float32)")->required();
  deq->callback([&] { run_dequantize(in, io::load_params(params), out); });

  CLI::App* rep = app.add_subcommand("report", "Error and time of every quantizer and calibrator on a tensor");
  rep->add_option("tensor", in, "Input tensor (.npy)")->required();
  rep->add_option("--bits", report_bits, "Code widths, comma separated")->delimiter(',')->capture_default_str();
  rep->add_option("--axis", axis, "Also per channel along this axis");
  bool hilbert = false;
  std::vector<double> hilbert_range;
  rep->add_flag("--hilbert", hilbert,
                "Read the tensor as a depth-like network output: Hilbert output head vs direct quantization "
                "(instead of the weight tables)");
  rep->add_option("--range", hilbert_range, "With --hilbert: the value range lo,hi (default: min,max)")
      ->delimiter(',')
      ->expected(2);
  rep->callback([&] {
    const float_tensor x = read_floats(in);
    if (!hilbert_range.empty() && !hilbert) throw CLI::ValidationError("--range", "needs --hilbert");
    if (hilbert) {
      print_hilbert_report(x.values, hilbert_range.empty()
                                         ? std::nullopt
                                         : std::optional(std::pair(hilbert_range[0], hilbert_range[1])));
    } else {
      print_report(x.values, x.shape, report_bits, axis);
    }
  });

  app.add_subcommand("demo", "The README demo: the report on generated and on real (gnubg) weights")
      ->callback([] { run_demo(); });

  // CLI11 would only say "A subcommand is required" for a mistyped command.
  if (argc > 1 && argv[1][0] != '-') {
    try {
      app.get_subcommand(argv[1]);
    } catch (const CLI::OptionNotFound&) {
      std::fprintf(stderr, "lowbit: unknown command '%s' (calibrate, quantize, dequantize, report, demo; --help for usage)\n",
                   argv[1]);
      return 2;
    }
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const error& e) {
    std::fprintf(stderr, "%s\n", e.what());  // "lowbit: <errc>: <what was wrong>"
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "lowbit: error: %s\n", e.what());
    return 1;
  }
  // Output lost on a full disk or a closed pipe is a failure too.
  if (std::fflush(stdout) != 0 || std::ferror(stdout)) {
    std::fprintf(stderr, "lowbit: io_failure: cannot write the standard output\n");
    return 1;
  }
  return 0;
}

}  // namespace lowbit::cli

int main(int argc, char** argv) { return lowbit::cli::run(argc, argv); }
