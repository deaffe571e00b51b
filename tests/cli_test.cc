// The `lowbit` command-line tool, run as a user runs it: results equal the library's, bad input gives
// one line on stderr and a non-zero exit status.
#include <sys/stat.h>
#include <sys/wait.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <limits>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "lowbit/calibrate.h"
#include "lowbit/io/npy.h"
#include "lowbit/io/params_json.h"
#include "lowbit/uniform.h"

namespace lowbit {
namespace {

namespace fs = std::filesystem;

struct result {
  int status = -1;
  std::string out;  // stdout
  std::string err;  // stderr
};

std::string slurp(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
}

class Cli : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("lowbit_cli_test_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  fs::path path(const std::string& name) const { return dir_ / name; }

  // Runs `lowbit <args>` with stdout and stderr captured to files (so neither is a terminal).
  result run(const std::string& args) const {
    const fs::path out = path("stdout.txt"), err = path("stderr.txt");
    const std::string cmd = std::string(LOWBIT_CLI_PATH) + " " + args + " >" + out.string() + " 2>" + err.string();
    const int raw = std::system(cmd.c_str());
    result r;
    r.status = WIFEXITED(raw) ? WEXITSTATUS(raw) : -1;
    r.out = slurp(out);
    r.err = slurp(err);
    return r;
  }

  // Asserts a clean failure: non-zero status, nothing on stdout, exactly one line on stderr that
  // contains `what`.
  void expect_error(const std::string& args, const std::string& what) const {
    const result r = run(args);
    EXPECT_NE(r.status, 0) << args;
    EXPECT_NE(r.status, -1) << args << ": killed by a signal";
    ASSERT_FALSE(r.err.empty()) << args;
    EXPECT_EQ(r.err.find('\n'), r.err.size() - 1) << args << ": not one line: " << r.err;
    EXPECT_NE(r.err.find(what), std::string::npos) << args << ": " << r.err;
  }

  std::vector<float> weights(std::size_t n) const {
    std::mt19937 rng(7);
    std::normal_distribution<float> g(0.0f, 0.3f);
    std::vector<float> w(n);
    for (auto& v : w) v = g(rng);
    return w;
  }

  fs::path dir_;
};

TEST_F(Cli, CalibrateQuantizeDequantizeMatchTheLibrary) {
  const std::vector<std::int64_t> shape = {8, 40};
  const auto w = weights(320);
  io::write_npy<float>(path("w.npy"), w, shape);

  const result cal = run("calibrate --in " + path("w.npy").string() +
                         " --axis 0 --calibrator mse --bits 4 --symmetric --narrow --params " + path("p.json").string());
  ASSERT_EQ(cal.status, 0) << cal.err;
  EXPECT_NE(cal.out.find("8 channel(s)"), std::string::npos) << cal.out;

  // The saved parameters are the library's.
  observer obs(calibrator_spec::parse("mse"), 0);
  obs.observe(w, shape);
  const quant_params expected = obs.compute_params(code_format::int4(true), true, profile::onnx, shape);
  const quant_params saved = io::load_params(path("p.json"));
  EXPECT_TRUE(std::ranges::equal(saved.scales(), expected.scales()));
  EXPECT_TRUE(std::ranges::equal(saved.zero_points(), expected.zero_points()));
  EXPECT_EQ(saved.axis(), 0);

  ASSERT_EQ(run("quantize --in " + path("w.npy").string() + " --params " + path("p.json").string() + " --out " +
                path("q.npy").string()).status, 0);
  const io::npy_array q = io::read_npy(path("q.npy"));
  ASSERT_EQ(q.type, io::dtype::i8);  // int4 codes are stored one per int8
  EXPECT_EQ(q.shape, shape);
  std::vector<std::int8_t> q_lib(w.size());
  quantize<std::int8_t>(w, expected, q_lib);
  const auto qv = q.values<std::int8_t>();
  EXPECT_TRUE(std::equal(qv.begin(), qv.end(), q_lib.begin(), q_lib.end()));

  ASSERT_EQ(run("dequantize --in " + path("q.npy").string() + " --params " + path("p.json").string() + " --out " +
                path("y.npy").string()).status, 0);
  const io::npy_array y = io::read_npy(path("y.npy"));
  std::vector<float> y_lib(w.size());
  dequantize<std::int8_t>(q_lib, expected, y_lib);
  const auto yv = y.values<float>();
  EXPECT_TRUE(std::equal(yv.begin(), yv.end(), y_lib.begin(), y_lib.end()));
}

TEST_F(Cli, QuantizeWithExplicitScale) {
  const std::vector<float> x = {-1.0f, -0.25f, 0.0f, 0.125f, 0.375f, 1.0f, 100.0f};
  const std::vector<std::int64_t> shape = {7};
  io::write_npy<float>(path("x.npy"), x, shape);
  // 0.125 / 0.25 = 0.5 and 0.375 / 0.25 = 1.5: ties, to even in onnx, away from zero in tflite.
  for (const auto& [prof, expect] : std::vector<std::pair<std::string, std::vector<std::uint8_t>>>{
           {"onnx", {6, 9, 10, 10, 12, 14, 255}}, {"tflite", {6, 9, 10, 11, 12, 14, 255}}}) {
    const result r = run("quantize --in " + path("x.npy").string() + " --scale 0.25 --zero-point 10 --dtype uint8 --profile " +
                         prof + " --out " + path("q.npy").string());
    ASSERT_EQ(r.status, 0) << r.err;
    const auto q = io::read_npy(path("q.npy"));
    const auto v = q.values<std::uint8_t>();
    EXPECT_EQ(std::vector<std::uint8_t>(v.begin(), v.end()), expect) << prof;
  }
}

TEST_F(Cli, ReportPrintsEveryCalibratorForEveryWidth) {
  io::write_npy<float>(path("w.npy"), std::span<const float>(weights(2000)), std::vector<std::int64_t>{20, 100});
  const result r = run("report " + path("w.npy").string() + " --bits 4,8 --axis 0");
  ASSERT_EQ(r.status, 0) << r.err;
  for (const char* c : {"minmax", "percentile:99.99", "topk:10", "mse", "entropy", "sqnr", "channel(0)", "tensor", "pwlq",
                        "exact", "gaussian", "laplacian", "grid", "exact k=3"}) {
    EXPECT_NE(r.out.find(c), std::string::npos) << c << "\n" << r.out;
  }
  // Header; per width: 2 code kinds x 2 granularities x 6 calibrators, and PWLQ: 2 granularities x
  // (4 breakpoint methods + exact with 2 and 3 breakpoints); footnote.
  EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 1 + 2 * (2 * 2 * 6 + 2 * 6) + 1) << r.out;
  EXPECT_EQ(r.out.find('\r'), std::string::npos) << "no progress bar when not on a terminal";
}

TEST_F(Cli, ReportHilbertReadsTheTensorAsADepthMap) {
  std::vector<float> depth = weights(3000);
  for (float& d : depth) d = 5.0f + 4.0f * d;
  depth[17] = std::numeric_limits<float>::quiet_NaN();
  io::write_npy<float>(path("d.npy"), std::span<const float>(depth), std::vector<std::int64_t>{30, 100});
  const result r = run("report " + path("d.npy").string() + " --hilbert --range 0,10");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("2999 values (1 NaN/Inf left out), range [0, 10] (given)"), std::string::npos) << r.out;
  // Both layouts x widths 4/6/8 x orders 1..4 x noise 0..4 LSB.
  EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '|'), 14 * (2 + 2 * 3 * 4 * 5)) << r.out;
  EXPECT_NE(r.out.find("| full_range  | 2 |  5.000 |    8 |   0.0 |"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("Recommended order"), std::string::npos) << r.out;
  const result own = run("report " + path("d.npy").string() + " --hilbert");
  ASSERT_EQ(own.status, 0) << own.err;
  EXPECT_NE(own.out.find("(the tensor's min and max), 0 values outside it"), std::string::npos) << own.out;
  // A given range says how many values it clamps.
  const auto outside = std::count_if(depth.begin(), depth.end(), [](float d) { return d < 4.0f || d > 6.0f; });
  ASSERT_GT(outside, 100);
  const result narrow = run("report " + path("d.npy").string() + " --hilbert --range 4,6");
  ASSERT_EQ(narrow.status, 0) << narrow.err;
  EXPECT_NE(narrow.out.find("(given), " + std::to_string(outside) + " values outside it"), std::string::npos)
      << narrow.out;
}

TEST_F(Cli, HelpEverywhere) {
  for (const char* sub : {"", "calibrate ", "quantize ", "dequantize ", "report ", "demo "}) {
    const result r = run(std::string(sub) + "--help");
    EXPECT_EQ(r.status, 0) << sub;
    EXPECT_NE(r.out.find("Usage"), std::string::npos) << sub << r.out;
  }
}

TEST_F(Cli, BadInputIsOneLineAndNonZeroStatus) {
  io::write_npy<float>(path("x.npy"), std::span<const float>(weights(12)), std::vector<std::int64_t>{3, 4});
  io::write_npy<float>(path("other.npy"), std::span<const float>(weights(12)), std::vector<std::int64_t>{4, 3});
  const std::string x = path("x.npy").string();
  {
    std::ofstream(path("bad.npy"), std::ios::binary) << "not a numpy file at all";
    std::ofstream(path("bad.json")) << "{\"schema\": \"lowbit.quant_params\", \"version\": 1";
  }
  ASSERT_EQ(run("calibrate --in " + x + " --axis 1 --params " + path("p.json").string()).status, 0);

  expect_error("calibrate --in " + path("missing.npy").string() + " --params " + path("p2.json").string(), "io_failure");
  expect_error("calibrate --in " + path("bad.npy").string() + " --params " + path("p2.json").string(), "corrupt_data");
  expect_error("calibrate --in " + x + " --calibrator median --params " + path("p2.json").string(), "invalid_argument");
  expect_error("calibrate --in " + x + " --bits 17 --params " + path("p2.json").string(), "unsupported_width");
  expect_error("calibrate --in " + x + " --axis 5 --params " + path("p2.json").string(), "invalid_axis");
  expect_error("calibrate --in " + x + " --profile numpy --params " + path("p2.json").string(), "profile");
  expect_error("quantize --in " + x + " --scale 0 --out " + path("q.npy").string(), "invalid_scale");
  expect_error("quantize --in " + x + " --scale nan --out " + path("q.npy").string(), "scale");
  expect_error("quantize --in " + x + " --scale 0.1 --zero-point 300 --dtype int8 --out " + path("q.npy").string(),
               "invalid_zero_point");
  expect_error("quantize --in " + x + " --scale 0.1 --dtype int3 --out " + path("q.npy").string(), "dtype");
  expect_error("quantize --in " + x + " --params " + path("bad.json").string() + " --out " + path("q.npy").string(),
               "corrupt_data");
  expect_error("quantize --in " + path("other.npy").string() + " --params " + path("p.json").string() + " --out " +
                   path("q.npy").string(), "invalid_shape");
  expect_error("quantize --in " + x + " --out " + path("q.npy").string(), "--params or --scale");
  expect_error("dequantize --in " + x + " --params " + path("p.json").string() + " --out " + path("y.npy").string(),
               "type_mismatch");  // float32 data where int8 codes are expected
  expect_error("report " + path("missing.npy").string(), "io_failure");
  expect_error("report " + x + " --range 0,1", "needs --hilbert");
  expect_error("report " + x + " --hilbert --range 1,1", "invalid_range");
  // An argument the table cannot use prints the error and no part of the table.
  for (const auto& [args, what] : {std::pair<std::string, std::string>{" --axis 5", "invalid_axis"},
                                   {" --bits 8,1", "unsupported_width"}, {" --bits 17", "unsupported_width"}}) {
    expect_error("report " + x + args, what);
    EXPECT_EQ(run("report " + x + args).out, "") << args;
  }
  {
    const std::vector<float> constant(6, 2.5f);
    io::write_npy<float>(path("c.npy"), std::span<const float>(constant), std::vector<std::int64_t>{6});
  }
  expect_error("report " + path("c.npy").string() + " --hilbert", "constant");
  expect_error("frobnicate", "frobnicate");
  expect_error("calibrate --in " + x, "--params");  // a required option
  // A message names its errc once.
  const result twice = run("calibrate --in " + x + " --calibrator percentile:50 --params " + path("p2.json").string());
  EXPECT_EQ(twice.err.find("lowbit:", 1), std::string::npos) << twice.err;
  // Codes outside a narrower format than their storage (4-bit codes in uint8) are refused.
  {
    const std::vector<std::uint8_t> codes = {0, 5, 15, 16};
    io::write_npy<std::uint8_t>(path("q4.npy"), std::span<const std::uint8_t>(codes), std::vector<std::int64_t>{4});
    io::save_params(path("p4.json"), quant_params::per_tensor(code_format::uint4(), 0.2f, 0));
  }
  expect_error("dequantize --in " + path("q4.npy").string() + " --params " + path("p4.json").string() + " --out " +
                   path("y4.npy").string(), "code 16 at index 3 is outside the 4-bit code range [0, 15]");
  EXPECT_FALSE(fs::exists(path("y4.npy")));
  // Output that cannot be written to the standard output is a failure.
  const int full = std::system((std::string(LOWBIT_CLI_PATH) + " report " + x + " --bits 8 >/dev/full 2>/dev/null").c_str());
  EXPECT_TRUE(WIFEXITED(full) && WEXITSTATUS(full) == 1) << full;
}

// Outputs are written to a temporary file and renamed over the target: an output that replaces its
// own input works, and a failed write leaves no partial or temporary file behind.
TEST_F(Cli, OutputsReplaceTheTargetWhole) {
  io::write_npy<float>(path("x.npy"), std::span<const float>(weights(12)), std::vector<std::int64_t>{3, 4});
  const std::string x = path("x.npy").string();
  ASSERT_EQ(run("quantize --in " + x + " --scale 0.01 --dtype int16 --out " + x).status, 0);
  const io::npy_array q = io::read_npy(path("x.npy"));
  EXPECT_EQ(q.type, io::dtype::i16);
  EXPECT_EQ(q.shape, (std::vector<std::int64_t>{3, 4}));
  std::size_t files = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator(dir_)) ++files;
  EXPECT_EQ(files, 3u);  // x.npy, stdout.txt, stderr.txt: no temporary left
  expect_error("quantize --in " + x + " --scale 0.01 --dtype int16 --out " + path("missing_dir/q.npy").string(),
               "io_failure");
}

// An output that is not a regular file (a FIFO, a device) or is the caller's descriptor (/dev/stdout) is
// written into, not replaced by a file.
TEST_F(Cli, OutputsIntoAFifoOrADescriptorAreWrittenInPlace) {
  io::write_npy<float>(path("x.npy"), std::span<const float>(weights(12)), std::vector<std::int64_t>{3, 4});
  const fs::path fifo = path("pipe"), got = path("got.npy");
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  // The reader gives up after 20 s (a tool that replaced the FIFO would never write into it).
  const std::string cmd = "timeout 20 cat " + fifo.string() + " > " + got.string() + " & reader=$!; " +
                          std::string(LOWBIT_CLI_PATH) + " quantize --in " + path("x.npy").string() +
                          " --scale 0.01 --out " + fifo.string() + "; status=$?; wait $reader && exit $status";
  const int raw = std::system(("sh -c '" + cmd + "'").c_str());
  ASSERT_TRUE(WIFEXITED(raw) && WEXITSTATUS(raw) == 0) << raw;
  EXPECT_TRUE(fs::is_fifo(fifo));
  const io::npy_array q = io::read_npy(got);  // the codes came through the pipe
  EXPECT_EQ(q.shape, (std::vector<std::int64_t>{3, 4}));
  expect_error("quantize --in " + path("x.npy").string() + " --scale 0.01 --out " + dir_.string(), "io_failure");
  // /dev/stdout is the caller's descriptor: the codes go down it, into a file the shell opened for
  // appending after what it held (a rename through /proc/self/fd/1 would have replaced that file).
  const result piped = run("quantize --in " + path("x.npy").string() + " --scale 0.01 --out /dev/stdout");
  ASSERT_EQ(piped.status, 0) << piped.err;
  EXPECT_EQ(piped.out.rfind("\x93NUMPY", 0), 0u);
  std::ofstream(path("log.txt")) << "kept\n";
  ASSERT_EQ(std::system((std::string(LOWBIT_CLI_PATH) + " quantize --in " + path("x.npy").string() +
                         " --scale 0.01 --out /dev/stdout >> " + path("log.txt").string()).c_str()), 0);
  const std::string log = slurp(path("log.txt"));
  EXPECT_EQ(log.rfind("kept\n\x93NUMPY", 0), 0u);
  EXPECT_EQ(log.size(), 5 + piped.out.size());
}

// calibrate observes the whole tensor once, as a program calling observer::observe once does: a
// histogram calibrator fed in chunks would re-bin as the range grows and give another scale, and ema
// would average per chunk.
TEST_F(Cli, CalibrateSeesTheTensorAsOneBatch) {
  std::vector<float> v(std::size_t{2} << 20);
  std::mt19937 rng(3);
  std::normal_distribution<float> g(0.0f, 1.0f);
  for (std::size_t i = 0; i < v.size(); ++i) v[i] = g(rng) * (i < v.size() / 2 ? 1.0f : 1.7f);  // wider midway
  const std::vector<std::int64_t> shape = {static_cast<std::int64_t>(v.size())};
  io::write_npy<float>(path("big.npy"), std::span<const float>(v), shape);
  const std::string big = path("big.npy").string();
  for (const char* spec : {"minmax", "ema:0.5", "percentile:99.9", "mse", "entropy"}) {
    ASSERT_EQ(run("calibrate --in " + big + " --calibrator " + spec + " --params " + path("p.json").string()).status, 0)
        << spec;
    observer obs(calibrator_spec::parse(spec));
    obs.observe(std::span<const float>(v));
    EXPECT_EQ(io::load_params(path("p.json")), obs.compute_params(code_format::int8(), false, profile::onnx, shape))
        << spec;
  }
}

}  // namespace
}  // namespace lowbit
