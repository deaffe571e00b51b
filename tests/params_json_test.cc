// Quantization parameters as JSON: exact round trips (every granularity, profile and code format, random
// float bit patterns) and every malformed document refused with its errc.
#include "lowbit/io/params_json.h"

#include <gtest/gtest.h>

#include "support/lowbit_error.h"
#include <nlohmann/json.hpp>

#include <bit>
#include <cfloat>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include <unistd.h>

#include "lowbit/error.h"

namespace lowbit::io {
namespace {

using json = nlohmann::ordered_json;


std::uint32_t bits(float f) { return std::bit_cast<std::uint32_t>(f); }

// Every field equal, scales bit for bit (quant_params::operator== compares scale bits).
void expect_same(const quant_params& a, const quant_params& b) {
  EXPECT_TRUE(a == b);
  EXPECT_EQ(a.format(), b.format());
  EXPECT_EQ(a.numerics(), b.numerics());
  EXPECT_EQ(a.granularity(), b.granularity());
  EXPECT_EQ(std::vector<std::int64_t>(a.shape().begin(), a.shape().end()),
            std::vector<std::int64_t>(b.shape().begin(), b.shape().end()));
  EXPECT_EQ(a.axis(), b.axis());
  EXPECT_EQ(a.block_size(), b.block_size());
  ASSERT_EQ(a.scales().size(), b.scales().size());
  for (std::size_t i = 0; i < a.scales().size(); ++i) EXPECT_EQ(bits(a.scales()[i]), bits(b.scales()[i])) << i;
  EXPECT_EQ(std::vector<std::int32_t>(a.zero_points().begin(), a.zero_points().end()),
            std::vector<std::int32_t>(b.zero_points().begin(), b.zero_points().end()));
}

quant_params round_trip(const quant_params& p) {
  const quant_params q = params_from_json(params_to_json(p));
  expect_same(p, q);
  return q;
}

constexpr code_format kFormats[] = {
    code_format::int8(),  code_format::int8(true),  code_format::uint8(),  code_format::uint8(true),
    code_format::int4(),  code_format::int4(true),  code_format::uint4(),  code_format{2, true, false},
    code_format::int16(), code_format::uint16(),    code_format::uint16(true), code_format{12, false, true},
};
constexpr profile kProfiles[] = {profile::onnx, profile::pytorch, profile::tflite};

TEST(ParamsJson, DocumentLayout) {
  const std::int64_t shape[] = {2, 3};
  const float scales[] = {0.0123f, 0.5f};
  const std::int32_t zps[] = {-3, 4};
  const auto p = quant_params::per_channel(code_format::int8(true), shape, 0, scales, zps, profile::pytorch);
  const std::string text = params_to_json(p);
  const json doc = json::parse(text);
  const std::vector<std::string> keys = {"schema", "version", "scheme", "profile", "format", "granularity",
                                         "shape", "axis", "block_size", "scales", "zero_points"};
  std::vector<std::string> got;
  for (const auto& [k, v] : doc.items()) got.push_back(k);
  EXPECT_EQ(got, keys);
  EXPECT_EQ(doc["schema"], "lowbit.quant_params");
  EXPECT_EQ(doc["version"], 1);
  EXPECT_EQ(doc["scheme"], "uniform");
  EXPECT_EQ(doc["profile"], "pytorch");
  EXPECT_EQ(doc["format"], json::parse(R"({"bits": 8, "signed": true, "narrow": true})"));
  EXPECT_EQ(doc["granularity"], "per_channel");
  EXPECT_EQ(doc["shape"], json::parse("[2, 3]"));
  EXPECT_EQ(doc["axis"], 0);
  EXPECT_EQ(doc["block_size"], 0);
  EXPECT_EQ(doc["zero_points"], json::parse("[-3, 4]"));
  // Scales print as the shortest decimal of the float, and the text is indented by two spaces.
  EXPECT_NE(text.find("0.0123"), std::string::npos) << text;
  EXPECT_EQ(text.find("0.01229999"), std::string::npos) << text;
  EXPECT_NE(text.find("\n  \"schema\": \"lowbit.quant_params\""), std::string::npos) << text;

  const auto t = quant_params::per_tensor(code_format::uint8(), 0.25f, 128, profile::tflite);
  const json d = json::parse(params_to_json(t));
  EXPECT_EQ(d["granularity"], "per_tensor");
  EXPECT_EQ(d["shape"], json::array());
  EXPECT_EQ(d["axis"], -1);
  EXPECT_EQ(d["scales"], json::parse("[0.25]"));
  EXPECT_EQ(d["zero_points"], json::parse("[128]"));
}

TEST(ParamsJson, RoundTripPerTensorEveryFormatAndProfile) {
  for (const code_format f : kFormats) {
    for (const profile n : kProfiles) {
      SCOPED_TRACE(std::to_string(f.bits) + (f.is_signed ? "s" : "u") + (f.narrow ? "n " : " ") + to_string(n));
      round_trip(quant_params::per_tensor(f, 0.1f, f.qmin(), n));
      round_trip(quant_params::per_tensor(f, 3.0e-7f, f.qmax(), n));
      round_trip(quant_params::per_tensor(f, FLT_MAX, 0 >= f.qmin() ? 0 : f.qmin(), n));
    }
  }
}

TEST(ParamsJson, RoundTripPerChannel) {
  const std::int64_t shape[] = {4, 3, 2};
  const float scales[] = {0.5f, 1e-40f, 7.0f};
  const std::int32_t zps[] = {-128, 0, 127};
  for (const profile n : kProfiles) {
    // A negative axis is normalised by the factory and written normalised.
    const auto p = quant_params::per_channel(code_format::int8(), shape, -2, scales, zps, n);
    EXPECT_EQ(p.axis(), 1);
    const quant_params q = round_trip(p);
    EXPECT_EQ(q.axis(), 1);
  }
  // A document with a negative axis reads as the normalised one.
  const auto p = quant_params::per_channel(code_format::int8(), shape, 1, scales, zps);
  json doc = json::parse(params_to_json(p));
  doc["axis"] = -2;
  expect_same(params_from_json(doc.dump()), p);
  // Zero points absent from the document ([]) mean all zero, as in the factory.
  doc["zero_points"] = json::array();
  const quant_params z = params_from_json(doc.dump());
  EXPECT_EQ(std::vector<std::int32_t>(z.zero_points().begin(), z.zero_points().end()), (std::vector<std::int32_t>{0, 0, 0}));
}

TEST(ParamsJson, RoundTripPerBlock) {
  const std::int64_t shape[] = {3, 8};  // [C, K], groups of 4 along K
  std::vector<float> scales;
  std::vector<std::int32_t> zps;
  for (int i = 0; i < 6; ++i) {
    scales.push_back(0.01f * static_cast<float>(i + 1));
    zps.push_back(i - 3);
  }
  for (const profile n : kProfiles) {
    const quant_params q = round_trip(quant_params::per_block(code_format::int4(), shape, 1, 4, scales, zps, n));
    EXPECT_EQ(q.block_size(), 4);
  }
  round_trip(quant_params::per_block(code_format::uint16(), shape, -2, 3, std::vector<float>(8, 2.5f), {}));
}

TEST(ParamsJson, ScalesReadBackBitExactly) {
  // Random positive finite float bit patterns (normal and subnormal) and the extremes.
  std::mt19937 rng(20240611);
  std::vector<float> scales = {1e-40f, std::numeric_limits<float>::denorm_min(), FLT_MIN, std::nextafter(FLT_MIN, 0.0f),
                               FLT_MAX, std::nextafter(FLT_MAX, 0.0f), 0.1f, 1.0f / 3.0f, 16777216.0f, 16777218.0f,
                               std::nextafter(1.0f, 2.0f), 1e-45f, 3.4e38f, 0.0123f};
  while (scales.size() < 20000) {
    const std::uint32_t b = rng() & 0x7fffffffu;
    const float f = std::bit_cast<float>(b);
    if (std::isfinite(f) && f > 0.0f) scales.push_back(f);
  }
  // And many subnormals.
  for (int i = 0; i < 2000; ++i) scales.push_back(std::bit_cast<float>(static_cast<std::uint32_t>(1 + rng() % 0x7fffffu)));
  const std::int64_t shape[] = {static_cast<std::int64_t>(scales.size())};
  const auto p = quant_params::per_channel(code_format::uint8(), shape, 0, scales, {}, profile::onnx);
  round_trip(p);
}

TEST(ParamsJson, SaveAndLoad) {
  const auto path = std::filesystem::temp_directory_path() / ("lowbit_params_test_" + std::to_string(::getpid()) + ".json");
  const std::int64_t shape[] = {2, 4};
  const float scales[] = {0.5f, 0.25f, 0.125f, 1e-40f};
  const auto p = quant_params::per_channel(code_format::uint4(), shape, 1, scales, std::vector<std::int32_t>{0, 1, 2, 15},
                                           profile::tflite);
  save_params(path, p);
  expect_same(load_params(path), p);
  {
    std::ofstream out(path, std::ios::trunc);
    out << R"({"schema": "lowbit.quant_params", "version": 1)";
  }
  EXPECT_EQ(error_of([&] { load_params(path); }, path.string()), errc::corrupt_data);
  {
    std::ofstream out(path, std::ios::trunc);
    json doc = json::parse(params_to_json(p));
    doc["scales"][1] = -1.0;
    out << doc.dump();
  }
  EXPECT_EQ(error_of([&] { load_params(path); }, path.string() + "': scale[1]"), errc::invalid_scale);
  std::filesystem::remove(path);

  EXPECT_EQ(error_of([&] { load_params(path); }, path.string()), errc::io_failure);
  const auto bad_dir = path / "no" / "x.json";
  EXPECT_EQ(error_of([&] { save_params(bad_dir, p); }, bad_dir.string()), errc::io_failure);
  EXPECT_EQ(error_of([&] { load_params(std::filesystem::temp_directory_path()); }), errc::io_failure);
}

// ---- Malformed documents -------------------------------------------------------------------------------

json valid_doc() {
  const std::int64_t shape[] = {2, 6};
  const float scales[] = {0.5f, 0.25f, 0.125f, 2.0f};
  const std::int32_t zps[] = {1, 2, 3, 4};
  return json::parse(params_to_json(quant_params::per_block(code_format::uint8(), shape, 1, 3, scales, zps)));
}

errc doc_error(const json& doc, std::string_view needle = {}) {
  return error_of([&] { params_from_json(doc.dump()); }, needle);
}

TEST(ParamsJsonMalformed, NotJson) {
  const std::string text = params_to_json(quant_params::per_tensor(code_format::int8(), 0.5f, 3));
  // Every truncation of a valid document.
  for (std::size_t n = 0; n < text.size(); ++n) {
    EXPECT_EQ(error_of([&] { params_from_json(std::string_view(text).substr(0, n)); }, "malformed JSON"),
              errc::corrupt_data)
        << n;
  }
  EXPECT_EQ(error_of([&] { params_from_json("{\"schema\": 'lowbit.quant_params'}"); }, "malformed JSON"),
            errc::corrupt_data);
  EXPECT_EQ(error_of([&] { params_from_json(text + "}"); }, "malformed JSON"), errc::corrupt_data);
  EXPECT_EQ(error_of([&] { params_from_json("[]"); }, "JSON object"), errc::corrupt_data);
  EXPECT_EQ(error_of([&] { params_from_json("null"); }, "JSON object"), errc::corrupt_data);
  // Deep nesting is rejected before parsing (nlohmann recurses on nested values and a deep enough
  // document overflows the stack); brackets inside strings do not count.
  EXPECT_EQ(error_of([&] { params_from_json(std::string(100000, '[')); }, "nested deeper"), errc::corrupt_data);
  json deep = valid_doc();
  deep["extra"] = json::parse(std::string(100, '[') + std::string(100, ']'));
  EXPECT_EQ(error_of([&] { params_from_json(deep.dump()); }, "nested deeper"), errc::corrupt_data);
  std::string nested = std::string(100000, '[') + std::string(100000, ']');
  const std::string hostile = "{\"extra\": " + nested + ", " + text.substr(1);
  EXPECT_EQ(error_of([&] { params_from_json(hostile); }, "nested deeper"), errc::corrupt_data);
  json brackets_in_string = valid_doc();
  brackets_in_string["note"] = std::string(1000, '[') + "\"\\";
  EXPECT_NO_THROW(params_from_json(brackets_in_string.dump()));
}

TEST(ParamsJsonMalformed, SchemaVersionScheme) {
  json d = valid_doc();
  d["schema"] = "lowbit.pwlq_params";
  EXPECT_EQ(doc_error(d, "field 'schema'"), errc::corrupt_data);
  for (const json& v : {json(2), json(0), json(-1), json("1"), json(1.0), json(nullptr), json(18446744073709551615ull)}) {
    d = valid_doc();
    d["version"] = v;
    EXPECT_EQ(doc_error(d, "field 'version'"), errc::corrupt_data) << v.dump();
  }
  d = valid_doc();
  d["scheme"] = "pwlq";
  EXPECT_EQ(doc_error(d, "field 'scheme'"), errc::corrupt_data);
  d = valid_doc();
  d["profile"] = "tensorrt";
  EXPECT_EQ(doc_error(d, "field 'profile'"), errc::corrupt_data);
  d = valid_doc();
  d["granularity"] = "per_row";
  EXPECT_EQ(doc_error(d, "field 'granularity'"), errc::corrupt_data);
}

TEST(ParamsJsonMalformed, MissingFields) {
  for (const char* f : {"schema", "version", "scheme", "profile", "format", "granularity", "shape", "axis", "block_size",
                        "scales", "zero_points"}) {
    json d = valid_doc();
    d.erase(f);
    EXPECT_EQ(doc_error(d, std::string("missing field '") + f + "'"), errc::corrupt_data) << f;
  }
  for (const char* f : {"bits", "signed", "narrow"}) {
    json d = valid_doc();
    d["format"].erase(f);
    EXPECT_EQ(doc_error(d, std::string("'") + (f == std::string("bits") ? "format.bits" : f) + "'"), errc::corrupt_data)
        << f;
  }
}

TEST(ParamsJsonMalformed, MistypedFields) {
  const std::pair<const char*, json> cases[] = {
      {"schema", json(1)},          {"scheme", json::array()},  {"profile", json(0)},
      {"format", json("int8")},     {"granularity", json(true)}, {"shape", json(12)},
      {"shape", json::parse(R"(["2", 6])")},                   {"shape", json::parse("[2.0, 6]")},
      {"axis", json("1")},          {"axis", json(1.5)},         {"block_size", json(nullptr)},
      {"scales", json(0.5)},        {"scales", json::parse(R"([0.5, "0.25", 1, 2])")},
      {"scales", json::parse("[0.5, null, 1, 2]")},            {"zero_points", json::parse("[1, 2, 3.5, 4]")},
      {"zero_points", json::parse("[1, 2, true, 4]")},          {"zero_points", json("1 2 3 4")},
  };
  for (const auto& [field, value] : cases) {
    json d = valid_doc();
    d[field] = value;
    EXPECT_EQ(doc_error(d, std::string("field '") + field), errc::corrupt_data) << field << " = " << value.dump();
  }
  for (const auto& [field, value] : {std::pair{"bits", json("8")}, std::pair{"bits", json(8.0)},
                                     std::pair{"signed", json(1)}, std::pair{"narrow", json("false")}}) {
    json d = valid_doc();
    d["format"][field] = value;
    EXPECT_EQ(doc_error(d, std::string("field 'format.") + field + "'"), errc::corrupt_data) << field;
  }
}

TEST(ParamsJsonMalformed, LayoutFieldsMustAgreeWithGranularity) {
  json t = json::parse(params_to_json(quant_params::per_tensor(code_format::int8(), 0.5f, 0)));
  json d = t;
  d["shape"] = json::parse("[4]");
  EXPECT_EQ(doc_error(d, "field 'shape'"), errc::corrupt_data);
  d = t;
  d["axis"] = 0;
  EXPECT_EQ(doc_error(d, "field 'axis'"), errc::corrupt_data);
  d = t;
  d["block_size"] = 2;
  EXPECT_EQ(doc_error(d, "field 'block_size'"), errc::corrupt_data);
  d = valid_doc();
  d["granularity"] = "per_channel";
  EXPECT_EQ(doc_error(d, "field 'block_size'"), errc::corrupt_data);
}

TEST(ParamsJsonMalformed, ValuesBreakingParameterRules) {
  json d = valid_doc();
  d["scales"][2] = 0;
  EXPECT_EQ(doc_error(d, "scale[2]"), errc::invalid_scale);
  d = valid_doc();
  d["scales"][0] = -0.5;
  EXPECT_EQ(doc_error(d, "scale[0]"), errc::invalid_scale);
  d = valid_doc();
  d["scales"][3] = 1e300;  // beyond float: Inf
  EXPECT_EQ(doc_error(d, "scale[3]"), errc::invalid_scale);
  d = valid_doc();
  d["scales"][3] = 1e-50;  // below the smallest subnormal: 0
  EXPECT_EQ(doc_error(d, "scale[3]"), errc::invalid_scale);
  d = valid_doc();
  d["zero_points"][1] = 256;
  EXPECT_EQ(doc_error(d, "zero_point[1]"), errc::invalid_zero_point);
  d = valid_doc();
  d["zero_points"][1] = 10000000000LL;
  EXPECT_EQ(doc_error(d, "zero_points[1]"), errc::invalid_zero_point);
  d = valid_doc();
  d["zero_points"][1] = -10000000000LL;
  EXPECT_EQ(doc_error(d, "zero_points[1]"), errc::invalid_zero_point);
  d = valid_doc();
  d["scales"].push_back(1.0);
  EXPECT_EQ(doc_error(d, "5 scales"), errc::count_mismatch);
  d = valid_doc();
  d["zero_points"].erase(0);
  EXPECT_EQ(doc_error(d, "3 zero points"), errc::count_mismatch);
  d = valid_doc();
  d["axis"] = 2;
  EXPECT_EQ(doc_error(d, "axis 2"), errc::invalid_axis);
  d = valid_doc();
  d["axis"] = 4294967297LL;
  EXPECT_EQ(doc_error(d, "'axis'"), errc::invalid_axis);
  d = valid_doc();
  d["shape"][0] = -2;
  EXPECT_EQ(doc_error(d, "shape[0] = -2"), errc::invalid_shape);
  d = valid_doc();
  d["shape"][0] = 18446744073709551615ull;
  EXPECT_EQ(doc_error(d, "shape[0]"), errc::invalid_shape);
  d = valid_doc();
  d["shape"] = json::parse("[4611686018427387904, 4611686018427387904]");
  EXPECT_EQ(doc_error(d, "overflows"), errc::invalid_shape);
  d = valid_doc();
  d["shape"] = json::parse("[999999999, 999999999]");  // a huge shape with 4 scales: no allocation
  EXPECT_EQ(doc_error(d, "4 scales"), errc::count_mismatch);
  d = valid_doc();
  d["block_size"] = 4;
  EXPECT_EQ(doc_error(d, "block size 4"), errc::invalid_block_size);
  d = valid_doc();
  d["block_size"] = -3;
  EXPECT_EQ(doc_error(d), errc::invalid_block_size);
  for (const json& b : {json(1), json(17), json(0), json(10000000000LL), json(-5)}) {
    d = valid_doc();
    d["format"]["bits"] = b;
    EXPECT_EQ(doc_error(d), errc::unsupported_width) << b.dump();
  }
  json t = json::parse(params_to_json(quant_params::per_tensor(code_format::int8(), 0.5f, 0)));
  t["scales"] = json::array();
  EXPECT_EQ(doc_error(t, "0 scales"), errc::count_mismatch);
  t["scales"] = json::parse("[1, 2]");
  EXPECT_EQ(doc_error(t, "2 scales"), errc::count_mismatch);
}

TEST(ParamsJsonMalformed, UnknownFieldsAreIgnored) {
  json d = valid_doc();
  d["comment"] = "calibrated on 512 images";
  const quant_params p = params_from_json(d.dump());
  EXPECT_EQ(p.granularity(), granularity::per_block);
}

}  // namespace
}  // namespace lowbit::io
