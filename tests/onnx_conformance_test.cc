// Conformance against ONNX's own operator test vectors (Debian's libonnx-testdata): every node test
// whose name contains "quantizelinear" — QuantizeLinear, DequantizeLinear, DynamicQuantizeLinear and
// their *_expanded function-body variants — is read from its protobuf files and run through lowbit's
// onnx profile; codes must be equal and floats bit-equal to ONNX's expected outputs. A case lowbit
// cannot express (a float8 type, a float16 scale, ...) is reported as unsupported with its reason.
// The data comes from `cmake -P cmake/fetch_data.cmake`; the test fails (not skips) without it.
//
// Also: unit tests of the protobuf reader in tests/support/onnx_proto.h on malformed bytes.
#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <map>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "lowbit/calibrate.h"
#include "lowbit/quant_params.h"
#include "lowbit/uniform.h"
#include "support/onnx_proto.h"

#ifndef LOWBIT_DATA_DIR
#error "LOWBIT_DATA_DIR must be defined (the directory cmake/fetch_data.cmake fills)"
#endif

namespace {

namespace fs = std::filesystem;
using onnx_proto::data_type;
using onnx_proto::tensor;

fs::path node_test_dir() { return fs::path(LOWBIT_DATA_DIR) / "root/usr/share/libonnx-testdata/data/node"; }

// The node tests of ONNX 1.12 (Debian bookworm's libonnx-testdata); each must pass, not merely be
// reported unsupported. Newer test data may add more cases, which are discovered by name.
const std::set<std::string>& required_cases() {
  static const std::set<std::string> names = {
      "test_dequantizelinear",
      "test_dequantizelinear_axis",
      "test_dynamicquantizelinear",
      "test_dynamicquantizelinear_expanded",
      "test_dynamicquantizelinear_max_adjusted",
      "test_dynamicquantizelinear_max_adjusted_expanded",
      "test_dynamicquantizelinear_min_adjusted",
      "test_dynamicquantizelinear_min_adjusted_expanded",
      "test_quantizelinear",
      "test_quantizelinear_axis",
  };
  return names;
}

// ---------------------------------------------------------------------------------------------
// Running one case
// ---------------------------------------------------------------------------------------------

// Thrown when a case needs something lowbit does not do; the reason is printed.
struct unsupported_case {
  std::string reason;
};
// Thrown when a case's files are not what its operator needs (a test-data or reader problem).
struct bad_case {
  std::string reason;
};

std::string hex_float(float v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.9g (%a, bits 0x%08x)", static_cast<double>(v), static_cast<double>(v),
                std::bit_cast<std::uint32_t>(v));
  return buf;
}

std::string shape_string(const std::vector<std::int64_t>& dims) {
  std::string s = "[";
  for (std::size_t i = 0; i < dims.size(); ++i) {
    if (i) s += ',';
    s += std::to_string(dims[i]);
  }
  return s + "]";
}

// Records mismatches of one case as test failures (the first few in full) and counts them.
class mismatch_log {
 public:
  explicit mismatch_log(std::string case_name) : case_name_(std::move(case_name)) {}
  void add(const std::string& message) {
    if (count_ < 16) ADD_FAILURE() << case_name_ << ": " << message;
    ++count_;
  }
  int count() const { return count_; }

 private:
  std::string case_name_;
  int count_ = 0;
};

// The lowbit code format of an ONNX integer type, and which storage type holds it.
enum class storage { s8, u8, s16, u16 };
struct code_type {
  lowbit::code_format format;
  storage store;
};

code_type code_type_of(data_type t, const char* role) {
  switch (t) {
    case data_type::int8: return {lowbit::code_format::int8(), storage::s8};
    case data_type::uint8: return {lowbit::code_format::uint8(), storage::u8};
    case data_type::int16: return {lowbit::code_format::int16(), storage::s16};
    case data_type::uint16: return {lowbit::code_format::uint16(), storage::u16};
    case data_type::int4: return {lowbit::code_format::int4(), storage::s8};
    case data_type::uint4: return {lowbit::code_format::uint4(), storage::u8};
    case data_type::int2: return {lowbit::code_format{2, true, false}, storage::s8};
    case data_type::uint2: return {lowbit::code_format{2, false, false}, storage::u8};
    default: break;
  }
  std::string why = std::string(role) + " type " + onnx_proto::to_string(t) + ": ";
  switch (t) {
    case data_type::float8e4m3fn:
    case data_type::float8e4m3fnuz:
    case data_type::float8e5m2:
    case data_type::float8e5m2fnuz:
    case data_type::float8e8m0:
    case data_type::float4e2m1: why += "a floating-point code, lowbit's codes are integers"; break;
    case data_type::int32:
    case data_type::uint32:
    case data_type::int64:
    case data_type::uint64: why += "lowbit's codes are 2..16-bit integers"; break;
    default: why += "not an integer code type"; break;
  }
  throw unsupported_case{why};
}

template <class F>
void with_storage(storage s, F&& f) {
  switch (s) {
    case storage::s8: f(std::int8_t{}); return;
    case storage::u8: f(std::uint8_t{}); return;
    case storage::s16: f(std::int16_t{}); return;
    case storage::u16: f(std::uint16_t{}); return;
  }
}

void require_float32(const tensor& t, const char* role) {
  if (t.type != data_type::float32) {
    throw unsupported_case{std::string(role) + " type " + onnx_proto::to_string(t.type) +
                           ": lowbit computes in float32"};
  }
}

std::int64_t int_attribute(const onnx_proto::node& n, const char* name, std::int64_t fallback) {
  const onnx_proto::attribute* a = n.find(name);
  if (a == nullptr) return fallback;
  if (!a->has_i) throw bad_case{std::string("attribute ") + name + " is not an INT"};
  return a->i;
}

// Per-tensor, per-axis or blocked parameters, as ONNX's QuantizeLinear / DequantizeLinear define them:
// a scalar or 1-element scale is per-tensor; a 1-D scale is per-axis along `axis` (default 1);
// block_size > 0 makes the scale a tensor of the data's rank with shape[axis] / block_size along axis.
lowbit::quant_params make_params(const onnx_proto::node& n, const code_type& ct, const tensor& data,
                                 const tensor& scale, const tensor* zero_point) {
  require_float32(scale, "scale");
  std::vector<std::int32_t> zps;
  if (zero_point != nullptr) {
    if (zero_point->size() > 1 && zero_point->dims != scale.dims) {
      throw bad_case{"zero point shape " + shape_string(zero_point->dims) + " differs from scale shape " +
                     shape_string(scale.dims)};
    }
    if (zero_point->size() != scale.size()) throw bad_case{"zero point and scale counts differ"};
    for (const std::int64_t z : zero_point->ints) zps.push_back(static_cast<std::int32_t>(z));
  }
  const std::int64_t axis = int_attribute(n, "axis", 1);
  const std::int64_t block_size = int_attribute(n, "block_size", 0);
  if (block_size > 0) {
    const auto rank = static_cast<std::int64_t>(data.dims.size());
    const std::int64_t a = axis < 0 ? axis + rank : axis;
    if (a < 0 || a >= rank) throw bad_case{"axis " + std::to_string(axis) + " out of range"};
    const std::int64_t d = data.dims[static_cast<std::size_t>(a)];
    if (d % block_size != 0) {
      throw unsupported_case{"block size " + std::to_string(block_size) + " does not divide the axis extent " +
                             std::to_string(d) + " (ONNX allows a partial last block, lowbit does not)"};
    }
    return lowbit::quant_params::per_block(ct.format, data.dims, static_cast<int>(axis), block_size, scale.f32,
                                           zps, lowbit::profile::onnx);
  }
  if (scale.size() == 1 && scale.dims.size() <= 1) {
    return lowbit::quant_params::per_tensor(ct.format, scale.f32[0], zps.empty() ? 0 : zps[0],
                                            lowbit::profile::onnx);
  }
  if (scale.dims.size() != 1) {
    throw bad_case{"scale of shape " + shape_string(scale.dims) + " without block_size"};
  }
  return lowbit::quant_params::per_channel(ct.format, data.dims, static_cast<int>(axis), scale.f32, zps,
                                           lowbit::profile::onnx);
}

// The tensors of one test_data_set: inputs by graph input name, outputs by graph output name.
struct bound_data {
  std::map<std::string, tensor> values;

  const tensor& get(const std::string& name, const char* role) const {
    const auto it = values.find(name);
    if (it == values.end()) throw bad_case{std::string(role) + " '" + name + "' is not in the test data"};
    return it->second;
  }
  const tensor* optional(const std::vector<std::string>& names, std::size_t i) const {
    if (i >= names.size() || names[i].empty()) return nullptr;
    return &get(names[i], "optional input");
  }
};

std::size_t count_files(const fs::path& dir, const std::string& prefix) {
  std::size_t n = 0;
  for (const auto& e : fs::directory_iterator(dir)) {
    const std::string f = e.path().filename().string();
    if (f.rfind(prefix, 0) == 0 && f.size() > 3 && f.substr(f.size() - 3) == ".pb") ++n;
  }
  return n;
}

bound_data bind(const onnx_proto::graph& g, const fs::path& set_dir) {
  bound_data b;
  std::set<std::string> initialized;
  for (const tensor& t : g.initializers) {
    initialized.insert(t.name);
    b.values[t.name] = t;
  }
  std::size_t k = 0;
  for (const std::string& name : g.inputs) {
    if (initialized.count(name) != 0) continue;
    b.values[name] = onnx_proto::read_tensor_file(set_dir / ("input_" + std::to_string(k++) + ".pb"));
  }
  if (count_files(set_dir, "input_") != k) {
    throw bad_case{set_dir.filename().string() + " has " + std::to_string(count_files(set_dir, "input_")) +
                   " input files, the graph has " + std::to_string(k) + " inputs"};
  }
  if (count_files(set_dir, "output_") != g.outputs.size()) {
    throw bad_case{set_dir.filename().string() + " has " + std::to_string(count_files(set_dir, "output_")) +
                   " output files, the graph has " + std::to_string(g.outputs.size()) + " outputs"};
  }
  for (std::size_t i = 0; i < g.outputs.size(); ++i) {
    if (b.values.count(g.outputs[i]) != 0) throw bad_case{"output '" + g.outputs[i] + "' is also an input"};
    b.values[g.outputs[i]] = onnx_proto::read_tensor_file(set_dir / ("output_" + std::to_string(i) + ".pb"));
  }
  return b;
}

template <class Code>
void compare_codes(const std::vector<Code>& got, const tensor& expected, const std::vector<float>* x,
                   mismatch_log& log) {
  for (std::size_t i = 0; i < got.size(); ++i) {
    if (static_cast<std::int64_t>(got[i]) != expected.ints[i]) {
      log.add("element " + std::to_string(i) + (x ? ": x = " + hex_float((*x)[i]) : std::string()) +
              ", ONNX code " + std::to_string(expected.ints[i]) + ", lowbit code " +
              std::to_string(static_cast<std::int64_t>(got[i])));
    }
  }
}

// Returns a one-line description of what was checked.
std::string run_quantize_linear(const onnx_proto::node& n, const bound_data& b, mismatch_log& log) {
  if (n.inputs.size() < 2 || n.outputs.size() != 1) throw bad_case{"QuantizeLinear needs 2-3 inputs, 1 output"};
  const tensor& x = b.get(n.inputs[0], "input");
  const tensor& scale = b.get(n.inputs[1], "input");
  const tensor* zp = b.optional(n.inputs, 2);
  const tensor& y = b.get(n.outputs[0], "output");
  require_float32(x, "input x");
  const code_type ct = code_type_of(y.type, "output y");
  if (zp != nullptr && zp->type != y.type) throw bad_case{"zero point type differs from the output type"};
  const std::int64_t output_dtype = int_attribute(n, "output_dtype", 0);
  if (output_dtype != 0 && output_dtype != static_cast<std::int64_t>(y.type)) {
    throw bad_case{"output_dtype attribute disagrees with the expected output"};
  }
  if (x.dims != y.dims) throw bad_case{"x and y shapes differ"};
  const lowbit::quant_params p = make_params(n, ct, x, scale, zp);
  with_storage(ct.store, [&]<class Code>(Code) {
    std::vector<Code> q(x.f32.size());
    lowbit::quantize<Code>(x.f32, p, q);
    compare_codes(q, y, &x.f32, log);
  });
  return std::to_string(x.size()) + " float -> " + onnx_proto::to_string(y.type) + ", shape " +
         shape_string(x.dims) + ", " + std::to_string(p.scales().size()) + " scale(s)";
}

std::string run_dequantize_linear(const onnx_proto::node& n, const bound_data& b, mismatch_log& log) {
  if (n.inputs.size() < 2 || n.outputs.size() != 1) throw bad_case{"DequantizeLinear needs 2-3 inputs, 1 output"};
  const tensor& x = b.get(n.inputs[0], "input");
  const tensor& scale = b.get(n.inputs[1], "input");
  const tensor* zp = b.optional(n.inputs, 2);
  const tensor& y = b.get(n.outputs[0], "output");
  const code_type ct = code_type_of(x.type, "input x");
  require_float32(y, "output y");
  if (zp != nullptr && zp->type != x.type) throw bad_case{"zero point type differs from the input type"};
  if (x.dims != y.dims) throw bad_case{"x and y shapes differ"};
  const lowbit::quant_params p = make_params(n, ct, x, scale, zp);
  with_storage(ct.store, [&]<class Code>(Code) {
    std::vector<Code> q;
    for (const std::int64_t v : x.ints) q.push_back(static_cast<Code>(v));
    std::vector<float> out(q.size());
    lowbit::dequantize<Code>(q, p, out);
    for (std::size_t i = 0; i < out.size(); ++i) {
      if (std::bit_cast<std::uint32_t>(out[i]) != std::bit_cast<std::uint32_t>(y.f32[i])) {
        log.add("element " + std::to_string(i) + ": code " + std::to_string(x.ints[i]) + ", ONNX " +
                hex_float(y.f32[i]) + ", lowbit " + hex_float(out[i]));
      }
    }
  });
  return std::to_string(x.size()) + " " + onnx_proto::to_string(x.type) + " -> float, shape " +
         shape_string(x.dims) + ", " + std::to_string(p.scales().size()) + " scale(s)";
}

// DynamicQuantizeLinear: uint8, range [min(x, 0), max(x, 0)], scale = range / 255, zero point
// round_half_even(clamp(0 - min / scale, 0, 255)), y = QuantizeLinear(x, scale, zero point).
// lowbit: a min-max observer, asymmetric uint8 parameters in the onnx profile.
std::string run_dynamic_quantize_linear(const onnx_proto::node& n, const bound_data& b, mismatch_log& log) {
  if (n.inputs.size() != 1 || n.outputs.size() != 3) {
    throw bad_case{"DynamicQuantizeLinear needs 1 input, 3 outputs"};
  }
  const tensor& x = b.get(n.inputs[0], "input");
  const tensor& y = b.get(n.outputs[0], "output");
  const tensor& y_scale = b.get(n.outputs[1], "output");
  const tensor& y_zp = b.get(n.outputs[2], "output");
  require_float32(x, "input x");
  require_float32(y_scale, "output y_scale");
  if (y.type != data_type::uint8 || y_zp.type != data_type::uint8) {
    throw bad_case{"DynamicQuantizeLinear outputs must be UINT8"};
  }
  if (y_scale.size() != 1 || y_zp.size() != 1 || x.dims != y.dims) throw bad_case{"output shapes"};

  lowbit::observer obs(lowbit::calibrator_spec{lowbit::calibrator::min_max});
  obs.observe(x.f32);
  const lowbit::quant_params p = obs.compute_params(lowbit::code_format::uint8(), /*symmetric=*/false,
                                                    lowbit::profile::onnx);
  const float scale = p.scales()[0];
  const std::int32_t zero_point = p.zero_points()[0];
  if (std::bit_cast<std::uint32_t>(scale) != std::bit_cast<std::uint32_t>(y_scale.f32[0])) {
    log.add("y_scale: ONNX " + hex_float(y_scale.f32[0]) + ", lowbit " + hex_float(scale));
  }
  if (zero_point != y_zp.ints[0]) {
    log.add("y_zero_point: ONNX " + std::to_string(y_zp.ints[0]) + ", lowbit " + std::to_string(zero_point));
  }
  std::vector<std::uint8_t> q(x.f32.size());
  lowbit::quantize<std::uint8_t>(x.f32, p, q);
  compare_codes(q, y, &x.f32, log);
  return std::to_string(x.size()) + " float -> UINT8, scale " + hex_float(scale) + ", zero point " +
         std::to_string(zero_point);
}

bool is_quantize_op(const onnx_proto::node& n) {
  const bool default_domain = n.domain.empty() || n.domain == "ai.onnx";
  return default_domain && (n.op_type == "QuantizeLinear" || n.op_type == "DequantizeLinear" ||
                            n.op_type == "DynamicQuantizeLinear");
}

enum class outcome { passed, failed, unsupported };
struct case_result {
  outcome status = outcome::failed;
  std::string detail;
};

case_result run_case(const fs::path& dir) {
  const std::string name = dir.filename().string();
  mismatch_log log(name);
  case_result r;
  try {
    const onnx_proto::model m = onnx_proto::read_model_file(dir / "model.onnx");
    // The operator: the single node of the model, or, for an *_expanded variant whose graph is the
    // operator's function body, the node of the plain test it expands (same inputs and outputs).
    onnx_proto::node op;
    std::int64_t opset = m.opset_version();
    std::string via;
    const auto& nodes = m.main_graph.nodes;
    if (nodes.size() == 1 && is_quantize_op(nodes[0])) {
      op = nodes[0];
    } else {
      const std::string suffix = "_expanded";
      if (name.size() <= suffix.size() || name.compare(name.size() - suffix.size(), suffix.size(), suffix) != 0) {
        std::string ops;
        for (const auto& nd : nodes) ops += (ops.empty() ? "" : ",") + nd.op_type;
        throw unsupported_case{"graph is not a single (De)QuantizeLinear node: " + ops};
      }
      const std::string base = name.substr(0, name.size() - suffix.size());
      const fs::path base_model = dir.parent_path() / base / "model.onnx";
      if (!fs::exists(base_model)) throw unsupported_case{"expanded variant without its base test " + base};
      const onnx_proto::model bm = onnx_proto::read_model_file(base_model);
      if (bm.main_graph.nodes.size() != 1 || !is_quantize_op(bm.main_graph.nodes[0])) {
        throw unsupported_case{"base test " + base + " is not a single (De)QuantizeLinear node"};
      }
      if (bm.main_graph.inputs != m.main_graph.inputs || bm.main_graph.outputs != m.main_graph.outputs) {
        throw bad_case{"expanded graph's inputs/outputs differ from " + base + "'s"};
      }
      op = bm.main_graph.nodes[0];
      opset = bm.opset_version();
      via = ", operator from " + base + ", function body of " + std::to_string(nodes.size()) + " nodes";
    }

    std::vector<fs::path> sets;
    for (const auto& e : fs::directory_iterator(dir)) {
      if (e.is_directory() && e.path().filename().string().rfind("test_data_set_", 0) == 0) sets.push_back(e.path());
    }
    std::sort(sets.begin(), sets.end());
    if (sets.empty()) throw bad_case{"no test_data_set_* directory"};
    std::string what;
    for (const fs::path& set : sets) {
      const bound_data b = bind(m.main_graph, set);
      if (op.op_type == "QuantizeLinear") {
        what = run_quantize_linear(op, b, log);
      } else if (op.op_type == "DequantizeLinear") {
        what = run_dequantize_linear(op, b, log);
      } else {
        what = run_dynamic_quantize_linear(op, b, log);
      }
    }
    r.detail = op.op_type + " (opset " + std::to_string(opset) + "), " + std::to_string(sets.size()) +
               " data set(s): " + what + via;
    if (log.count() == 0) {
      r.status = outcome::passed;
    } else {
      r.status = outcome::failed;
      r.detail += "; " + std::to_string(log.count()) + " mismatching value(s)";
    }
  } catch (const unsupported_case& u) {
    r.status = outcome::unsupported;
    r.detail = u.reason;
  } catch (const bad_case& e) {
    ADD_FAILURE() << name << ": " << e.reason;
    r.status = outcome::failed;
    r.detail = "bad test data: " + e.reason;
  } catch (const std::exception& e) {  // onnx_proto::parse_error, lowbit::error
    ADD_FAILURE() << name << ": " << e.what();
    r.status = outcome::failed;
    r.detail = std::string("exception: ") + e.what();
  }
  return r;
}

TEST(OnnxConformance, QuantizeNodeTests) {
  const fs::path dir = node_test_dir();
  ASSERT_TRUE(fs::is_directory(dir))
      << "ONNX node test data not found at " << dir
      << ". Run `cmake -P cmake/fetch_data.cmake` (after apt-get update) to unpack libonnx-testdata there.";
  std::vector<fs::path> cases;
  for (const auto& e : fs::directory_iterator(dir)) {
    if (e.is_directory() && e.path().filename().string().find("quantizelinear") != std::string::npos) {
      cases.push_back(e.path());
    }
  }
  std::sort(cases.begin(), cases.end());

  int passed = 0, unsupported = 0, failed = 0;
  std::set<std::string> passed_names;
  std::ostringstream out;
  for (const fs::path& c : cases) {
    const case_result r = run_case(c);
    const std::string name = c.filename().string();
    const char* tag = r.status == outcome::passed ? "pass" : r.status == outcome::unsupported ? "UNSUPPORTED" : "FAIL";
    out << "  [" << tag << "] " << name << ": " << r.detail << "\n";
    if (r.status == outcome::passed) ++passed, passed_names.insert(name);
    if (r.status == outcome::unsupported) ++unsupported;
    if (r.status == outcome::failed) ++failed;
  }
  const int found = static_cast<int>(cases.size());
  out << "ONNX node tests: " << found << " found, " << passed << " passed, " << unsupported << " unsupported, "
      << failed << " failed\n";
  std::fputs(out.str().c_str(), stdout);
  std::fflush(stdout);

  EXPECT_EQ(found, passed + unsupported) << "every case must pass or be reported unsupported with a reason";
  EXPECT_EQ(failed, 0);
  EXPECT_GE(found, 10);
  for (const std::string& name : required_cases()) {
    EXPECT_EQ(passed_names.count(name), 1u) << name << " (ONNX 1.12) must be found and pass";
  }
}

// The reader against one real file, decoded by hand from its bytes.
TEST(OnnxConformance, ReaderDecodesQuantizeLinearFiles) {
  const fs::path dir = node_test_dir() / "test_quantizelinear";
  ASSERT_TRUE(fs::is_directory(dir)) << dir << " missing: run `cmake -P cmake/fetch_data.cmake`";
  const onnx_proto::model m = onnx_proto::read_model_file(dir / "model.onnx");
  EXPECT_EQ(m.opset_version(), 13);
  ASSERT_EQ(m.main_graph.nodes.size(), 1u);
  EXPECT_EQ(m.main_graph.nodes[0].op_type, "QuantizeLinear");
  EXPECT_EQ(m.main_graph.nodes[0].inputs, (std::vector<std::string>{"x", "y_scale", "y_zero_point"}));
  EXPECT_EQ(m.main_graph.outputs, (std::vector<std::string>{"y"}));
  const tensor x = onnx_proto::read_tensor_file(dir / "test_data_set_0/input_0.pb");
  EXPECT_EQ(x.name, "x");
  EXPECT_EQ(x.type, data_type::float32);
  EXPECT_EQ(x.dims, (std::vector<std::int64_t>{6}));
  EXPECT_EQ(x.f32, (std::vector<float>{0.0f, 2.0f, 3.0f, 1000.0f, -254.0f, -1000.0f}));
  const tensor s = onnx_proto::read_tensor_file(dir / "test_data_set_0/input_1.pb");
  EXPECT_TRUE(s.dims.empty());
  EXPECT_EQ(s.size(), 1u);
  EXPECT_EQ(s.f32, (std::vector<float>{2.0f}));
  const tensor y = onnx_proto::read_tensor_file(dir / "test_data_set_0/output_0.pb");
  EXPECT_EQ(y.type, data_type::uint8);
  EXPECT_EQ(y.ints, (std::vector<std::int64_t>{128, 129, 130, 255, 1, 0}));
}

// ---------------------------------------------------------------------------------------------
// The wire reader on hand-made and malformed bytes
// ---------------------------------------------------------------------------------------------

using bytes = std::vector<std::uint8_t>;

void put_varint(bytes& b, std::uint64_t v) {
  while (v >= 0x80) {
    b.push_back(static_cast<std::uint8_t>(v | 0x80));
    v >>= 7;
  }
  b.push_back(static_cast<std::uint8_t>(v));
}
void put_key(bytes& b, std::uint32_t number, int wire) { put_varint(b, (std::uint64_t{number} << 3) | wire); }
void put_varint_field(bytes& b, std::uint32_t number, std::uint64_t v) {
  put_key(b, number, 0);
  put_varint(b, v);
}
void put_bytes_field(bytes& b, std::uint32_t number, const bytes& payload) {
  put_key(b, number, 2);
  put_varint(b, payload.size());
  b.insert(b.end(), payload.begin(), payload.end());
}
void put_fixed32_field(bytes& b, std::uint32_t number, float f) {
  put_key(b, number, 5);
  const auto u = std::bit_cast<std::uint32_t>(f);
  for (int i = 0; i < 4; ++i) b.push_back(static_cast<std::uint8_t>(u >> (8 * i)));
}

template <class F>
std::string parse_error_of(F&& f) {
  try {
    f();
  } catch (const onnx_proto::parse_error& e) {
    return e.what();
  }
  ADD_FAILURE() << "no parse_error thrown";
  return {};
}

TEST(OnnxProto, Varints) {
  const auto decode = [](const bytes& b) {
    std::size_t pos = 0;
    const std::uint64_t v = onnx_proto::read_varint(b, pos);
    EXPECT_EQ(pos, b.size());
    return v;
  };
  EXPECT_EQ(decode({0x00}), 0u);
  EXPECT_EQ(decode({0x7f}), 127u);
  EXPECT_EQ(decode({0xac, 0x02}), 300u);
  EXPECT_EQ(decode({0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}), UINT64_MAX);
  // Truncated: the continuation bit promises a byte that is not there.
  EXPECT_NE(parse_error_of([&] { decode({0x80}); }).find("truncated"), std::string::npos);
  EXPECT_NE(parse_error_of([&] { decode({0xff, 0xff, 0xff}); }).find("truncated"), std::string::npos);
  EXPECT_NE(parse_error_of([&] { decode({}); }).find("truncated"), std::string::npos);
  // Over-long: an 11th byte, or a 10th byte carrying bits above 64.
  EXPECT_FALSE(parse_error_of([&] { decode(bytes(10, 0xff)); }).empty());
  EXPECT_FALSE(parse_error_of([&] { decode({0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02}); }).empty());
}

TEST(OnnxProto, WireReaderRejectsMalformedFraming) {
  const auto read_all = [](const bytes& b) {
    onnx_proto::wire_reader rd(b);
    while (!rd.at_end()) rd.next();
  };
  // Length beyond the end: field 1, length 5, 2 bytes present.
  EXPECT_NE(parse_error_of([&] { read_all({0x0a, 0x05, 'a', 'b'}); }).find("past the end"), std::string::npos);
  // A huge length (2^63) must not wrap around.
  EXPECT_FALSE(parse_error_of([&] {
                 read_all({0x0a, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01});
               }).empty());
  EXPECT_FALSE(parse_error_of([&] { read_all({0x0d, 0x01, 0x02}); }).empty());        // fixed32 truncated
  EXPECT_FALSE(parse_error_of([&] { read_all({0x09, 1, 2, 3, 4, 5, 6, 7}); }).empty());  // fixed64 truncated
  EXPECT_FALSE(parse_error_of([&] { read_all({0x08}); }).empty());                     // varint value missing
  EXPECT_FALSE(parse_error_of([&] { read_all({0x0b}); }).empty());                     // start group
  EXPECT_FALSE(parse_error_of([&] { read_all({0x0c}); }).empty());                     // end group
  EXPECT_FALSE(parse_error_of([&] { read_all({0x0e, 0x00}); }).empty());               // wire type 6
  EXPECT_FALSE(parse_error_of([&] { read_all({0x0f, 0x00}); }).empty());               // wire type 7
  EXPECT_FALSE(parse_error_of([&] { read_all({0x00, 0x00}); }).empty());               // field number 0
  // Well-formed: every wire type, ending exactly at the end.
  const bytes ok = {0x08, 0x96, 0x01, 0x11, 1, 2, 3, 4, 5, 6, 7, 8, 0x1a, 0x02, 'h', 'i', 0x25, 1, 2, 3, 4};
  onnx_proto::wire_reader rd(ok);
  EXPECT_EQ(rd.next().value, 150u);
  EXPECT_EQ(rd.next().value, 0x0807060504030201u);
  const onnx_proto::field s = rd.next();
  EXPECT_EQ(s.type, onnx_proto::wire_type::length_delimited);
  EXPECT_EQ(std::string(s.bytes.begin(), s.bytes.end()), "hi");
  EXPECT_EQ(rd.next().value, 0x04030201u);
  EXPECT_TRUE(rd.at_end());
}

TEST(OnnxProto, TensorPackedAndUnpackedFields) {
  // float_data packed and unpacked, dims unpacked and packed: the same tensor.
  bytes packed, unpacked;
  put_bytes_field(packed, 1, {2, 1});  // dims [2, 1], packed
  put_varint_field(packed, 2, 1);
  bytes floats;
  for (float f : {1.5f, -2.0f}) {
    const auto u = std::bit_cast<std::uint32_t>(f);
    for (int i = 0; i < 4; ++i) floats.push_back(static_cast<std::uint8_t>(u >> (8 * i)));
  }
  put_bytes_field(packed, 4, floats);
  put_varint_field(unpacked, 1, 2);
  put_varint_field(unpacked, 1, 1);
  put_varint_field(unpacked, 2, 1);
  put_fixed32_field(unpacked, 4, 1.5f);
  put_fixed32_field(unpacked, 4, -2.0f);
  for (const bytes* b : {&packed, &unpacked}) {
    const tensor t = onnx_proto::parse_tensor(*b);
    EXPECT_EQ(t.dims, (std::vector<std::int64_t>{2, 1}));
    EXPECT_EQ(t.f32, (std::vector<float>{1.5f, -2.0f}));
  }
  // INT8 in int32_data: negative values are 10-byte sign-extended varints; packed and unpacked.
  bytes i8;
  put_varint_field(i8, 1, 3);
  put_varint_field(i8, 2, 3);
  bytes run;
  put_varint(run, static_cast<std::uint64_t>(std::int64_t{-128}));
  put_varint(run, 127);
  put_bytes_field(i8, 5, run);
  put_varint_field(i8, 5, static_cast<std::uint64_t>(std::int64_t{-1}));
  EXPECT_EQ(onnx_proto::parse_tensor(i8).ints, (std::vector<std::int64_t>{-128, 127, -1}));
  // INT8 / INT16 / UINT16 in raw_data, little endian.
  bytes r8, r16;
  put_varint_field(r8, 1, 2);
  put_varint_field(r8, 2, 3);
  put_bytes_field(r8, 9, {0x80, 0x7f});
  EXPECT_EQ(onnx_proto::parse_tensor(r8).ints, (std::vector<std::int64_t>{-128, 127}));
  put_varint_field(r16, 1, 2);
  put_varint_field(r16, 2, 5);
  put_bytes_field(r16, 9, {0x00, 0x80, 0xff, 0x7f});
  EXPECT_EQ(onnx_proto::parse_tensor(r16).ints, (std::vector<std::int64_t>{-32768, 32767}));
  // INT4 packed two per byte, first element in the low nibble; odd count.
  bytes i4;
  put_varint_field(i4, 1, 3);
  put_varint_field(i4, 2, static_cast<std::uint64_t>(data_type::int4));
  put_bytes_field(i4, 9, {0x78, 0x01});
  EXPECT_EQ(onnx_proto::parse_tensor(i4).ints, (std::vector<std::int64_t>{-8, 7, 1}));
  // A scalar (no dims) has one element.
  bytes scalar;
  put_varint_field(scalar, 2, 2);
  put_bytes_field(scalar, 9, {200});
  const tensor sc = onnx_proto::parse_tensor(scalar);
  EXPECT_EQ(sc.size(), 1u);
  EXPECT_EQ(sc.ints, (std::vector<std::int64_t>{200}));
}

TEST(OnnxProto, TensorRejectsMalformedContent) {
  const auto tensor_of = [](std::uint64_t type, const std::vector<std::uint64_t>& dims, std::uint32_t data_field,
                            const bytes& payload) {
    bytes b;
    for (const auto d : dims) put_varint_field(b, 1, d);
    put_varint_field(b, 2, type);
    put_bytes_field(b, data_field, payload);
    return b;
  };
  // raw_data length that is not count x width.
  EXPECT_NE(parse_error_of([&] { onnx_proto::parse_tensor(tensor_of(1, {2}, 9, {0, 0, 0, 0, 0})); })
                .find("raw_data"),
            std::string::npos);
  EXPECT_FALSE(parse_error_of([&] { onnx_proto::parse_tensor(tensor_of(2, {3}, 9, {1, 2})); }).empty());
  EXPECT_FALSE(parse_error_of([&] { onnx_proto::parse_tensor(tensor_of(22, {4}, 9, {1})); }).empty());
  // Element count disagreeing with dims in a typed field.
  EXPECT_FALSE(parse_error_of([&] { onnx_proto::parse_tensor(tensor_of(6, {3}, 5, {1, 2})); }).empty());
  // A packed float run that is not a multiple of 4 bytes.
  EXPECT_FALSE(parse_error_of([&] { onnx_proto::parse_tensor(tensor_of(1, {1}, 4, {0, 0, 0})); }).empty());
  // A packed varint run ending in the middle of a varint.
  EXPECT_FALSE(parse_error_of([&] { onnx_proto::parse_tensor(tensor_of(6, {1}, 5, {0x80})); }).empty());
  // UINT8 value out of range in int32_data.
  EXPECT_FALSE(parse_error_of([&] { onnx_proto::parse_tensor(tensor_of(2, {1}, 5, {0x80, 0x02})); }).empty());
  // The wrong typed field for the type (int64_data for FLOAT).
  EXPECT_FALSE(parse_error_of([&] { onnx_proto::parse_tensor(tensor_of(1, {1}, 7, {1})); }).empty());
  // Wrong wire type: data_type sent length-delimited; dims sent as fixed32.
  bytes wrong;
  put_bytes_field(wrong, 2, {1});
  EXPECT_NE(parse_error_of([&] { onnx_proto::parse_tensor(wrong); }).find("wire type"), std::string::npos);
  bytes wrong_dims;
  put_fixed32_field(wrong_dims, 1, 1.0f);
  EXPECT_NE(parse_error_of([&] { onnx_proto::parse_tensor(wrong_dims); }).find("wire type"), std::string::npos);
  // Two storage fields at once; data with no data_type; negative dims; external data.
  bytes two = tensor_of(1, {1}, 9, {0, 0, 0, 0});
  put_fixed32_field(two, 4, 1.0f);
  EXPECT_FALSE(parse_error_of([&] { onnx_proto::parse_tensor(two); }).empty());
  bytes untyped;
  put_bytes_field(untyped, 9, {0, 0, 0, 0});
  EXPECT_FALSE(parse_error_of([&] { onnx_proto::parse_tensor(untyped); }).empty());
  bytes negative_dim;
  put_varint_field(negative_dim, 1, static_cast<std::uint64_t>(std::int64_t{-1}));
  put_varint_field(negative_dim, 2, 1);
  EXPECT_FALSE(parse_error_of([&] { onnx_proto::parse_tensor(negative_dim); }).empty());
  bytes external = tensor_of(1, {1}, 9, {0, 0, 0, 0});
  put_varint_field(external, 14, 1);
  EXPECT_FALSE(parse_error_of([&] { onnx_proto::parse_tensor(external); }).empty());
  // Huge dims with no data: rejected without allocating for them.
  EXPECT_FALSE(parse_error_of([&] {
                 onnx_proto::parse_tensor(tensor_of(1, {1u << 30, 1u << 30, 1u << 30}, 9, {0, 0, 0, 0}));
               }).empty());
}

TEST(OnnxProto, ModelRejectsMalformedContent) {
  bytes n;
  put_bytes_field(n, 1, {'x'});
  put_bytes_field(n, 2, {'y'});
  put_bytes_field(n, 4, {'Q'});
  bytes attr;
  put_bytes_field(attr, 1, {'a', 'x', 'i', 's'});
  put_varint_field(attr, 3, static_cast<std::uint64_t>(std::int64_t{-1}));
  put_varint_field(attr, 20, 2);
  put_bytes_field(n, 5, attr);
  bytes g;
  put_bytes_field(g, 1, n);
  bytes m;
  put_varint_field(m, 1, 8);
  put_bytes_field(m, 7, g);
  const onnx_proto::model ok = onnx_proto::parse_model(m);
  ASSERT_EQ(ok.main_graph.nodes.size(), 1u);
  ASSERT_NE(ok.main_graph.nodes[0].find("axis"), nullptr);
  EXPECT_EQ(ok.main_graph.nodes[0].find("axis")->i, -1);
  EXPECT_EQ(ok.main_graph.nodes[0].find("block_size"), nullptr);

  EXPECT_FALSE(parse_error_of([] { onnx_proto::parse_model(bytes{}); }).empty());  // no graph
  bytes bad_node;  // op_type as a varint
  put_varint_field(bad_node, 4, 1);
  bytes bad_graph;
  put_bytes_field(bad_graph, 1, bad_node);
  bytes bad_model;
  put_bytes_field(bad_model, 7, bad_graph);
  EXPECT_NE(parse_error_of([&] { onnx_proto::parse_model(bad_model); }).find("wire type"), std::string::npos);
  // A nested length that runs past its parent's end (the node claims 100 bytes inside a 3-byte graph).
  EXPECT_FALSE(parse_error_of([] { onnx_proto::parse_model(bytes{0x3a, 0x03, 0x0a, 0x64, 0x00}); }).empty());
}

// Every truncation and many random corruptions of real files either parse or throw parse_error:
// never a crash or an out-of-bounds read (the sanitizer build checks the latter).
TEST(OnnxProto, CorruptedRealFilesFailCleanly) {
  const fs::path dir = node_test_dir();
  ASSERT_TRUE(fs::is_directory(dir)) << dir << " missing: run `cmake -P cmake/fetch_data.cmake`";
  std::mt19937 rng(12345);
  int parsed = 0, rejected = 0;
  for (const char* rel : {"test_dequantizelinear_axis/model.onnx", "test_dynamicquantizelinear_expanded/model.onnx",
                          "test_dequantizelinear_axis/test_data_set_0/input_0.pb",
                          "test_dequantizelinear_axis/test_data_set_0/output_0.pb"}) {
    const bytes original = onnx_proto::read_file(dir / rel);
    const bool is_model = std::string(rel).find("model.onnx") != std::string::npos;
    const auto attempt = [&](const bytes& b) {
      try {
        if (is_model) {
          onnx_proto::parse_model(b);
        } else {
          onnx_proto::parse_tensor(b);
        }
        ++parsed;
      } catch (const onnx_proto::parse_error&) {
        ++rejected;
      }
    };
    for (std::size_t len = 0; len < original.size(); ++len) {
      attempt(bytes(original.begin(), original.begin() + static_cast<std::ptrdiff_t>(len)));
    }
    for (int trial = 0; trial < 2000; ++trial) {
      bytes b = original;
      std::uniform_int_distribution<std::size_t> pos(0, b.size() - 1);
      std::uniform_int_distribution<int> val(0, 255);
      for (int k = 0; k < 1 + trial % 3; ++k) b[pos(rng)] = static_cast<std::uint8_t>(val(rng));
      attempt(b);
    }
  }
  EXPECT_GT(rejected, 0);
  std::printf("corrupted ONNX files: %d parsed, %d rejected with parse_error\n", parsed, rejected);
}

}  // namespace
