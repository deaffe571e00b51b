// Conformance of lowbit's integer layers with ONNX's own node tests for the integer operators
// (Debian's libonnx-testdata): every directory whose name contains qlinearmatmul, qlinearconv,
// matmulinteger or convinteger is read (model.onnx attributes, test_data_set_*/ *.pb through
// tests/support/onnx_proto.h) and run through lowbit::fxp:
//   MatMulInteger -> quantized_fully_connected::accumulate (raw int32)
//   ConvInteger   -> quantized_conv2d::accumulate (raw int32)
//   QLinearMatMul -> quantized_fully_connected::run with dsp_profile::onnx() (float32 requantization)
//   QLinearConv   -> quantized_conv2d::run with dsp_profile::onnx()
// ONNX is NCHW / OIHW and MatMul's B is [K][N]; lowbit is NHWC / OHWI / [N][K]: the test transposes.
// uint8 weights become int8 exactly by subtracting 128 from the weights and their zero point
// ((w - 128) - (zw - 128) = w - zw). Outputs must be equal element for element.
// The data comes from `cmake -P cmake/fetch_data.cmake`; the test fails (not skips) without it.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "lowbit/integer_layers.h"
#include "support/onnx_proto.h"

#ifndef LOWBIT_DATA_DIR
#error "LOWBIT_DATA_DIR must be defined (the directory cmake/fetch_data.cmake fills)"
#endif

namespace {

namespace fs = std::filesystem;
namespace fxp = lowbit::fxp;
using onnx_proto::data_type;
using onnx_proto::tensor;

fs::path node_test_dir() { return fs::path(LOWBIT_DATA_DIR) / "root/usr/share/libonnx-testdata/data/node"; }

const std::set<std::string>& required_cases() {
  static const std::set<std::string> names = {
      "test_qlinearmatmul_2D",           "test_qlinearmatmul_3D", "test_qlinearconv", "test_matmulinteger",
      "test_convinteger_with_padding", "test_convinteger_without_padding", "test_basic_convinteger",
  };
  return names;
}

struct unsupported_case {
  std::string reason;
};
struct bad_case {
  std::string reason;
};

std::int64_t int_attr(const onnx_proto::node& n, const char* name, std::int64_t dflt) {
  const onnx_proto::attribute* a = n.find(name);
  return a ? a->i : dflt;
}
std::vector<std::int64_t> ints_attr(const onnx_proto::node& n, const char* name) {
  const onnx_proto::attribute* a = n.find(name);
  return a ? a->ints : std::vector<std::int64_t>{};
}
std::string string_attr(const onnx_proto::node& n, const char* name) {
  const onnx_proto::attribute* a = n.find(name);
  return a ? a->s : std::string("NOTSET");
}

// Inputs by name (graph inputs in order of input_k.pb, initializers), outputs by name.
std::map<std::string, tensor> bind(const onnx_proto::graph& g, const fs::path& set_dir) {
  std::map<std::string, tensor> v;
  std::set<std::string> init;
  for (const tensor& t : g.initializers) {
    init.insert(t.name);
    v[t.name] = t;
  }
  std::size_t k = 0;
  for (const std::string& name : g.inputs) {
    if (init.count(name) == 0) v[name] = onnx_proto::read_tensor_file(set_dir / ("input_" + std::to_string(k++) + ".pb"));
  }
  for (std::size_t i = 0; i < g.outputs.size(); ++i) {
    v[g.outputs[i]] = onnx_proto::read_tensor_file(set_dir / ("output_" + std::to_string(i) + ".pb"));
  }
  return v;
}

const tensor* input(const std::map<std::string, tensor>& v, const onnx_proto::node& n, std::size_t i) {
  if (i >= n.inputs.size() || n.inputs[i].empty()) return nullptr;
  const auto it = v.find(n.inputs[i]);
  if (it == v.end()) throw bad_case{"input '" + n.inputs[i] + "' has no data"};
  return &it->second;
}
const tensor& required(const std::map<std::string, tensor>& v, const onnx_proto::node& n, std::size_t i) {
  const tensor* t = input(v, n, i);
  if (t == nullptr) throw bad_case{"input " + std::to_string(i) + " is missing"};
  return *t;
}

bool is_8bit(data_type t) { return t == data_type::uint8 || t == data_type::int8; }

void require_8bit(const tensor& t, const char* what) {
  if (!is_8bit(t.type)) throw unsupported_case{std::string(what) + " is " + onnx_proto::to_string(t.type)};
}

// A per-tensor zero point (a scalar or a 1-element tensor), or 0 when absent.
std::int32_t scalar_zp(const tensor* t) {
  if (t == nullptr) return 0;
  require_8bit(*t, "a zero point");
  if (t->ints.size() != 1) throw unsupported_case{"a zero point with " + std::to_string(t->ints.size()) + " values"};
  return static_cast<std::int32_t>(t->ints[0]);
}
float scalar_scale(const tensor& t) {
  if (t.type != data_type::float32 || t.f32.size() != 1) throw unsupported_case{"a scale that is not one float32"};
  return t.f32[0];
}

// Weights as int8 with their zero points (per output channel, `oc` of them): uint8 shifted by -128.
struct int8_weights {
  std::vector<std::int8_t> w;  // filled by the caller in lowbit's layout
  std::vector<std::int32_t> zp;
  int shift = 0;
};
int8_weights weight_zero_points(const tensor& w, const tensor* zp, std::size_t oc) {
  require_8bit(w, "the weights");
  int8_weights r;
  r.shift = w.type == data_type::uint8 ? 128 : 0;
  if (zp != nullptr && zp->type != w.type) throw bad_case{"weight zero point type differs from the weights"};
  if (zp == nullptr) {
    r.zp.assign(oc, 0 - r.shift);
  } else if (zp->ints.size() == 1) {
    r.zp.assign(oc, static_cast<std::int32_t>(zp->ints[0]) - r.shift);
  } else if (zp->ints.size() == oc) {
    for (std::int64_t z : zp->ints) r.zp.push_back(static_cast<std::int32_t>(z) - r.shift);
  } else {
    throw bad_case{"weight zero point count"};
  }
  return r;
}

fxp::activation_quant act_q(data_type t, float scale, std::int32_t zp) {
  return {scale, zp, t == data_type::int8 ? lowbit::code_format::int8() : lowbit::code_format::uint8(),
          lowbit::profile::onnx};
}

fxp::clamp_range full_range(data_type t) {
  return t == data_type::int8 ? fxp::clamp_range{-128, 127} : fxp::clamp_range{0, 255};
}

template <class F>
void with_code(data_type t, F&& f) {
  if (t == data_type::int8) {
    f(std::int8_t{});
  } else {
    f(std::uint8_t{});
  }
}

// Runs `layer` on the codes `x` and returns raw accumulators (integer ops) or requantized codes.
template <class Layer>
std::vector<std::int64_t> run_layer(const Layer& layer, const tensor& x, std::size_t out_size, bool raw,
                                    data_type out_type) {
  std::vector<std::int64_t> result(out_size);
  with_code(x.type, [&]<class In>(In) {
    std::vector<In> xin;
    for (std::int64_t v : x.ints) xin.push_back(static_cast<In>(v));
    if (raw) {
      std::vector<std::int32_t> acc(out_size);
      layer.template accumulate<In>(xin, acc);
      std::copy(acc.begin(), acc.end(), result.begin());
    } else {
      with_code(out_type, [&]<class Out>(Out) {
        std::vector<Out> y(out_size);
        layer.template run<In, Out>(xin, y);
        std::copy(y.begin(), y.end(), result.begin());
      });
    }
  });
  return result;
}

// MatMulInteger (inputs A, B, a_zp, b_zp) and QLinearMatMul (a, a_scale, a_zp, b, b_scale, b_zp,
// y_scale, y_zp). A [..., M, K], B [..., K, N] or [K, N].
std::vector<std::int64_t> run_matmul(const onnx_proto::node& n, const std::map<std::string, tensor>& v,
                                     bool qlinear, data_type out_type) {
  const tensor& a = required(v, n, 0);
  const tensor& b = required(v, n, qlinear ? 3 : 1);
  require_8bit(a, "A");
  if (a.dims.size() < 2 || b.dims.size() < 2) throw unsupported_case{"MatMul of rank < 2"};
  const auto M = static_cast<std::size_t>(a.dims[a.dims.size() - 2]), K = static_cast<std::size_t>(a.dims.back());
  const auto N = static_cast<std::size_t>(b.dims.back());
  if (static_cast<std::size_t>(b.dims[b.dims.size() - 2]) != K) throw bad_case{"inner dimensions differ"};
  const std::size_t batches = a.ints.size() / (M * K), b_batches = b.ints.size() / (K * N);
  if (b_batches != 1 && b_batches != batches) throw unsupported_case{"MatMul broadcasting beyond a shared B"};
  const std::int32_t a_zp = scalar_zp(input(v, n, qlinear ? 2 : 2));
  const tensor* b_zp_t = input(v, n, qlinear ? 5 : 3);
  const float a_scale = qlinear ? scalar_scale(required(v, n, 1)) : 1.0f;
  std::vector<float> b_scales = {1.0f};
  if (qlinear) {
    const tensor& bs = required(v, n, 4);
    if (bs.type != data_type::float32) throw unsupported_case{"b_scale is not float32"};
    b_scales = bs.f32;
  }
  const float y_scale = qlinear ? scalar_scale(required(v, n, 6)) : 1.0f;
  const std::int32_t y_zp = qlinear ? scalar_zp(input(v, n, 7)) : 0;
  std::vector<std::int64_t> out;
  for (std::size_t bi = 0; bi < batches; ++bi) {
    int8_weights w = weight_zero_points(b, b_zp_t, N);
    const std::size_t boff = (b_batches == 1 ? 0 : bi) * K * N;
    w.w.resize(N * K);
    for (std::size_t k = 0; k < K; ++k) {
      for (std::size_t j = 0; j < N; ++j) {  // transpose [K][N] -> [N][K]
        w.w[j * K + k] = static_cast<std::int8_t>(b.ints[boff + k * N + j] - w.shift);
      }
    }
    const fxp::activation_quant in = act_q(a.type, a_scale, a_zp);
    const fxp::activation_quant oq = act_q(out_type, y_scale, y_zp);
    const fxp::quantized_fully_connected fc(static_cast<int>(K), static_cast<int>(N), w.w, {}, in,
                                            fxp::weight_quant{b_scales, w.zp}, oq, full_range(out_type),
                                            fxp::dsp_profile::onnx());
    tensor slice;
    slice.type = a.type;
    slice.ints.assign(a.ints.begin() + static_cast<std::ptrdiff_t>(bi * M * K),
                      a.ints.begin() + static_cast<std::ptrdiff_t>((bi + 1) * M * K));
    const auto r = run_layer(fc, slice, M * N, !qlinear, out_type);
    out.insert(out.end(), r.begin(), r.end());
  }
  return out;
}

// ConvInteger (x, w, x_zp, w_zp) and QLinearConv (x, x_scale, x_zp, w, w_scale, w_zp, y_scale, y_zp,
// B). 2-D, group 1.
std::vector<std::int64_t> run_conv(const onnx_proto::node& n, const std::map<std::string, tensor>& v, bool qlinear,
                                   data_type out_type) {
  const tensor& x = required(v, n, 0);
  const tensor& w = required(v, n, qlinear ? 3 : 1);
  require_8bit(x, "x");
  if (x.dims.size() != 4 || w.dims.size() != 4) throw unsupported_case{"Conv that is not 2-D"};
  if (int_attr(n, "group", 1) != 1) throw unsupported_case{"grouped Conv"};
  const int B = static_cast<int>(x.dims[0]), C = static_cast<int>(x.dims[1]), H = static_cast<int>(x.dims[2]),
            W = static_cast<int>(x.dims[3]);
  const int O = static_cast<int>(w.dims[0]), KH = static_cast<int>(w.dims[2]), KW = static_cast<int>(w.dims[3]);
  if (w.dims[1] != C) throw bad_case{"weight channels differ from the input channels"};
  fxp::window2d win;
  win.kernel_h = KH;
  win.kernel_w = KW;
  const auto strides = ints_attr(n, "strides"), dil = ints_attr(n, "dilations"), pads = ints_attr(n, "pads");
  if (!strides.empty()) {
    win.stride_h = static_cast<int>(strides[0]);
    win.stride_w = static_cast<int>(strides[1]);
  }
  if (!dil.empty()) {
    win.dilation_h = static_cast<int>(dil[0]);
    win.dilation_w = static_cast<int>(dil[1]);
  }
  const std::string auto_pad = string_attr(n, "auto_pad");
  if (auto_pad == "SAME_UPPER") {
    win.pad = fxp::padding2d::same(H, W, KH, KW, win.stride_h, win.stride_w, win.dilation_h, win.dilation_w);
  } else if (auto_pad == "SAME_LOWER") {
    const fxp::padding2d p = fxp::padding2d::same(H, W, KH, KW, win.stride_h, win.stride_w, win.dilation_h, win.dilation_w);
    win.pad = {p.bottom, p.right, p.top, p.left};
  } else if (!pads.empty()) {  // [top, left, bottom, right]
    win.pad = {static_cast<int>(pads[0]), static_cast<int>(pads[1]), static_cast<int>(pads[2]), static_cast<int>(pads[3])};
  }
  const std::int32_t x_zp = scalar_zp(input(v, n, 2));
  const tensor* w_zp_t = input(v, n, qlinear ? 5 : 3);
  const float x_scale = qlinear ? scalar_scale(required(v, n, 1)) : 1.0f;
  std::vector<float> w_scales = {1.0f};
  if (qlinear) {
    const tensor& ws = required(v, n, 4);
    if (ws.type != data_type::float32) throw unsupported_case{"w_scale is not float32"};
    w_scales = ws.f32;
  }
  const float y_scale = qlinear ? scalar_scale(required(v, n, 6)) : 1.0f;
  const std::int32_t y_zp = qlinear ? scalar_zp(input(v, n, 7)) : 0;
  std::vector<std::int32_t> bias;
  if (const tensor* bt = qlinear ? input(v, n, 8) : nullptr) {
    if (bt->type != data_type::int32) throw bad_case{"bias is not int32"};
    for (std::int64_t b : bt->ints) bias.push_back(static_cast<std::int32_t>(b));
  }
  int8_weights q = weight_zero_points(w, w_zp_t, static_cast<std::size_t>(O));
  q.w.resize(w.ints.size());
  for (int o = 0; o < O; ++o) {  // OIHW -> OHWI
    for (int c = 0; c < C; ++c) {
      for (int ky = 0; ky < KH; ++ky) {
        for (int kx = 0; kx < KW; ++kx) {
          q.w[static_cast<std::size_t>(((o * KH + ky) * KW + kx) * C + c)] =
              static_cast<std::int8_t>(w.ints[static_cast<std::size_t>(((o * C + c) * KH + ky) * KW + kx)] - q.shift);
        }
      }
    }
  }
  const fxp::conv2d_shape shape{H, W, C, O, win};
  const fxp::quantized_conv2d conv(shape, q.w, bias, act_q(x.type, x_scale, x_zp), fxp::weight_quant{w_scales, q.zp},
                                   act_q(out_type, y_scale, y_zp), full_range(out_type), fxp::dsp_profile::onnx());
  tensor nhwc;  // NCHW -> NHWC
  nhwc.type = x.type;
  nhwc.ints.resize(x.ints.size());
  for (int b = 0; b < B; ++b) {
    for (int c = 0; c < C; ++c) {
      for (int y = 0; y < H; ++y) {
        for (int xx = 0; xx < W; ++xx) {
          nhwc.ints[static_cast<std::size_t>(((b * H + y) * W + xx) * C + c)] =
              x.ints[static_cast<std::size_t>(((b * C + c) * H + y) * W + xx)];
        }
      }
    }
  }
  const int OH = conv.out_h(), OW = conv.out_w();
  const auto r = run_layer(conv, nhwc, static_cast<std::size_t>(B * OH * OW * O), !qlinear, out_type);
  std::vector<std::int64_t> out(r.size());  // NHWC -> NCHW
  for (int b = 0; b < B; ++b) {
    for (int o = 0; o < O; ++o) {
      for (int y = 0; y < OH; ++y) {
        for (int xx = 0; xx < OW; ++xx) {
          out[static_cast<std::size_t>(((b * O + o) * OH + y) * OW + xx)] =
              r[static_cast<std::size_t>(((b * OH + y) * OW + xx) * O + o)];
        }
      }
    }
  }
  return out;
}

// Runs every test_data_set of one case; returns "" on success or the first mismatch.
std::string run_case(const fs::path& dir) {
  const onnx_proto::model m = onnx_proto::read_model_file(dir / "model.onnx");
  if (m.main_graph.nodes.size() != 1) throw unsupported_case{"a graph of more than one node"};
  const onnx_proto::node& n = m.main_graph.nodes[0];
  std::size_t sets = 0;
  for (const auto& e : fs::directory_iterator(dir)) {
    if (!e.is_directory() || e.path().filename().string().rfind("test_data_set_", 0) != 0) continue;
    ++sets;
    const auto v = bind(m.main_graph, e.path());
    if (n.outputs.size() != 1) throw bad_case{"expected one output"};
    const tensor& want = v.at(n.outputs[0]);
    std::vector<std::int64_t> got;
    if (n.op_type == "MatMulInteger") {
      got = run_matmul(n, v, false, data_type::int32);
    } else if (n.op_type == "QLinearMatMul") {
      require_8bit(want, "the output");
      got = run_matmul(n, v, true, want.type);
    } else if (n.op_type == "ConvInteger") {
      got = run_conv(n, v, false, data_type::int32);
    } else if (n.op_type == "QLinearConv") {
      require_8bit(want, "the output");
      got = run_conv(n, v, true, want.type);
    } else {
      throw unsupported_case{"operator " + n.op_type};
    }
    if (got.size() != want.ints.size()) {
      return e.path().filename().string() + ": " + std::to_string(got.size()) + " outputs, ONNX has " +
             std::to_string(want.ints.size());
    }
    for (std::size_t i = 0; i < got.size(); ++i) {
      if (got[i] != want.ints[i]) {
        return e.path().filename().string() + ": element " + std::to_string(i) + ": ONNX " +
               std::to_string(want.ints[i]) + ", lowbit " + std::to_string(got[i]);
      }
    }
  }
  if (sets == 0) throw bad_case{"no test_data_set_*"};
  return "";
}

TEST(OnnxIntegerOps, NodeTests) {
  const fs::path root = node_test_dir();
  ASSERT_TRUE(fs::is_directory(root)) << root << " is missing: run `cmake -P cmake/fetch_data.cmake` to unpack "
                                      << "Debian's libonnx-testdata there";
  std::vector<fs::path> cases;
  for (const auto& e : fs::directory_iterator(root)) {
    const std::string name = e.path().filename().string();
    for (const char* key : {"qlinearmatmul", "qlinearconv", "matmulinteger", "convinteger"}) {
      if (name.find(key) != std::string::npos) {
        cases.push_back(e.path());
        break;
      }
    }
  }
  std::sort(cases.begin(), cases.end());
  std::size_t passed = 0, unsupported = 0, failed = 0;
  std::set<std::string> seen;
  for (const fs::path& dir : cases) {
    const std::string name = dir.filename().string();
    seen.insert(name);
    try {
      const std::string mismatch = run_case(dir);
      if (mismatch.empty()) {
        ++passed;
        std::printf("  pass         %s\n", name.c_str());
      } else {
        ++failed;
        ADD_FAILURE() << name << ": " << mismatch;
      }
    } catch (const unsupported_case& u) {
      ++unsupported;
      std::printf("  unsupported  %s: %s\n", name.c_str(), u.reason.c_str());
    } catch (const bad_case& b) {
      ++failed;
      ADD_FAILURE() << name << ": bad test case: " << b.reason;
    } catch (const std::exception& ex) {
      ++failed;
      ADD_FAILURE() << name << ": " << ex.what();
    }
  }
  std::printf("ONNX integer node tests: %zu found, %zu passed, %zu unsupported, %zu failed\n", cases.size(), passed,
              unsupported, failed);
  for (const std::string& r : required_cases()) EXPECT_EQ(seen.count(r), 1u) << "missing node test " << r;
  EXPECT_GE(cases.size(), 7u);
  EXPECT_EQ(passed, cases.size());
}

}  // namespace
