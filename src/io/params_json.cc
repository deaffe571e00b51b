// lowbit — quantization parameters as JSON (schema "lowbit.quant_params", version 1).
// SPDX-License-Identifier: Apache-2.0
//
// Floats round-trip bit for bit: each scale is written as the shortest decimal that reads back (as a
// double, then rounded to float) to the same float, and when no such short decimal exists (a double
// rounding case) as the float's exact value widened to double, which nlohmann prints with enough digits
// to read back exactly. A reader thus gets every float written by params_to_json exactly; a decimal typed
// by hand is read as the nearest double rounded to float.
// Reading: unknown fields are ignored (room for later versions of the schema); every listed field is
// required and type-checked (corrupt_data, naming the field); the values are then handed to the
// quant_params factories, whose own errc surfaces (invalid_scale, count_mismatch, ...).
#include "lowbit/io/params_json.h"

#include <nlohmann/json.hpp>

#include <charconv>
#include <cmath>
#include <limits>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "lowbit/error.h"
#include "src/io/file.h"

namespace lowbit::io {
namespace {

using json = nlohmann::ordered_json;

constexpr const char* kSchema = "lowbit.quant_params";
constexpr std::int64_t kVersion = 1;
constexpr const char* kScheme = "uniform";

const char* granularity_name(granularity g) {
  switch (g) {
    case granularity::per_tensor: return "per_tensor";
    case granularity::per_channel: return "per_channel";
    case granularity::per_block: return "per_block";
  }
  return "unknown";
}

// The double to store for `f`: the shortest decimal of f when it reads back to f through a double.
double json_number_of(float f) {
  char buf[64];
  const auto r = std::to_chars(buf, buf + sizeof buf, f);
  double d = 0.0;
  if (r.ec == std::errc{} && std::from_chars(buf, r.ptr, d).ec == std::errc{} && std::isfinite(d) &&
      std::fabs(d) < 0x1p128 && std::bit_cast<std::uint32_t>(static_cast<float>(d)) == std::bit_cast<std::uint32_t>(f)) {
    return d;
  }
  return static_cast<double>(f);
}

// double -> float, round to nearest even; beyond the float range (where the cast would be undefined)
// the result is ±Inf.
float to_float(double d) {
  if (std::isfinite(d) && std::fabs(d) >= 0x1p128) return d > 0 ? std::numeric_limits<float>::infinity()
                                                                 : -std::numeric_limits<float>::infinity();
  return static_cast<float>(d);
}

[[noreturn]] void corrupt(const std::string& message) { throw error(errc::corrupt_data, message); }

std::string type_of(const json& j) {
  if (j.is_number_integer()) return "an integer";
  if (j.is_number_float()) return "a number with a fraction or exponent";
  return std::string("a JSON ") + j.type_name();
}

const json& field(const json& doc, const char* name) {
  const auto it = doc.find(name);
  if (it == doc.end()) corrupt(std::string("missing field '") + name + "'");
  return *it;
}

std::string get_string(const json& doc, const char* name) {
  const json& j = field(doc, name);
  if (!j.is_string()) corrupt(std::string("field '") + name + "' must be a string, found " + type_of(j));
  return j.get<std::string>();
}

bool get_bool(const json& doc, const char* name, const char* where = "") {
  const json& j = field(doc, name);
  if (!j.is_boolean()) corrupt(std::string("field '") + where + name + "' must be true or false, found " + type_of(j));
  return j.get<bool>();
}

// An integer field; `out_of_range` is the errc for an integer outside [lo, hi].
std::int64_t get_int(const json& j, const std::string& name, std::int64_t lo, std::int64_t hi, errc out_of_range) {
  if (!j.is_number_integer()) corrupt("field '" + name + "' must be an integer, found " + type_of(j));
  if (j.is_number_unsigned()) {
    const auto u = j.get<std::uint64_t>();
    if (u > static_cast<std::uint64_t>(hi)) throw error(out_of_range, "field '" + name + "' = " + std::to_string(u) + " is out of range");
    return static_cast<std::int64_t>(u);
  }
  const auto v = j.get<std::int64_t>();
  if (v < lo || v > hi) throw error(out_of_range, "field '" + name + "' = " + std::to_string(v) + " is out of range");
  return v;
}

const json& get_array(const json& doc, const char* name) {
  const json& j = field(doc, name);
  if (!j.is_array()) corrupt(std::string("field '") + name + "' must be an array, found " + type_of(j));
  return j;
}

// The parameter schema nests three levels deep. nlohmann builds, copies and destroys values
// recursively, so a hostile file nested 10^5 levels deep would overflow the stack: reject deep
// nesting before parsing (brackets inside strings do not count).
constexpr int kMaxNesting = 64;

void check_nesting(std::string_view text) {
  int depth = 0;
  bool in_string = false, escaped = false;
  for (const char c : text) {
    if (in_string) {
      if (escaped) escaped = false;
      else if (c == '\\') escaped = true;
      else if (c == '"') in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > kMaxNesting) corrupt("JSON nested deeper than " + std::to_string(kMaxNesting) + " levels");
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
}

quant_params parse_document(std::string_view text) {
  check_nesting(text);
  json doc;
  try {
    doc = json::parse(text.begin(), text.end());
  } catch (const json::exception& e) {
    corrupt(std::string("malformed JSON: ") + e.what());
  }
  if (!doc.is_object()) corrupt("the document must be a JSON object, found " + type_of(doc));

  const std::string schema = get_string(doc, "schema");
  if (schema != kSchema) corrupt("field 'schema' is \"" + schema + "\", expected \"" + kSchema + "\"");
  const json& version = field(doc, "version");
  const bool version_ok = version.is_number_unsigned()  ? version.get<std::uint64_t>() == static_cast<std::uint64_t>(kVersion)
                          : version.is_number_integer() ? version.get<std::int64_t>() == kVersion
                                                        : false;
  if (!version_ok) {
    corrupt("field 'version' is " + version.dump() + ", this lowbit reads version " + std::to_string(kVersion));
  }
  const std::string scheme = get_string(doc, "scheme");
  if (scheme != kScheme) corrupt("field 'scheme' is \"" + scheme + "\", this lowbit reads \"" + kScheme + "\"");

  const std::string profile_name = get_string(doc, "profile");
  const std::optional<profile> parsed_profile = profile_from_string(profile_name);
  if (!parsed_profile) {
    corrupt("field 'profile' is \"" + profile_name + "\", expected \"onnx\", \"pytorch\" or \"tflite\"");
  }
  const profile numerics = *parsed_profile;

  const json& fmt = field(doc, "format");
  if (!fmt.is_object()) corrupt("field 'format' must be an object, found " + type_of(fmt));
  code_format format;
  {
    const auto it = fmt.find("bits");
    if (it == fmt.end()) corrupt("missing field 'format.bits'");
    // The range 2..16 is the factory's check (unsupported_width).
    format.bits = static_cast<int>(get_int(*it, "format.bits", std::numeric_limits<int>::min(),
                                           std::numeric_limits<int>::max(), errc::unsupported_width));
  }
  format.is_signed = get_bool(fmt, "signed", "format.");
  format.narrow = get_bool(fmt, "narrow", "format.");

  const std::string gran_name = get_string(doc, "granularity");
  granularity gran = granularity::per_tensor;
  if (gran_name == "per_tensor") gran = granularity::per_tensor;
  else if (gran_name == "per_channel") gran = granularity::per_channel;
  else if (gran_name == "per_block") gran = granularity::per_block;
  else corrupt("field 'granularity' is \"" + gran_name + "\", expected \"per_tensor\", \"per_channel\" or \"per_block\"");

  std::vector<std::int64_t> shape;
  {
    const json& arr = get_array(doc, "shape");
    for (std::size_t i = 0; i < arr.size(); ++i) {
      shape.push_back(get_int(arr[i], "shape[" + std::to_string(i) + "]", std::numeric_limits<std::int64_t>::min(),
                              std::numeric_limits<std::int64_t>::max(), errc::invalid_shape));
    }
  }
  const auto axis = static_cast<int>(get_int(field(doc, "axis"), "axis", std::numeric_limits<int>::min(),
                                             std::numeric_limits<int>::max(), errc::invalid_axis));
  const std::int64_t block_size = get_int(field(doc, "block_size"), "block_size", std::numeric_limits<std::int64_t>::min(),
                                          std::numeric_limits<std::int64_t>::max(), errc::invalid_block_size);

  std::vector<float> scales;
  {
    const json& arr = get_array(doc, "scales");
    scales.reserve(arr.size());
    for (std::size_t i = 0; i < arr.size(); ++i) {
      if (!arr[i].is_number()) corrupt("field 'scales[" + std::to_string(i) + "]' must be a number, found " + type_of(arr[i]));
      scales.push_back(to_float(arr[i].get<double>()));
    }
  }
  std::vector<std::int32_t> zero_points;
  {
    const json& arr = get_array(doc, "zero_points");
    zero_points.reserve(arr.size());
    for (std::size_t i = 0; i < arr.size(); ++i) {
      zero_points.push_back(static_cast<std::int32_t>(
          get_int(arr[i], "zero_points[" + std::to_string(i) + "]", std::numeric_limits<std::int32_t>::min(),
                  std::numeric_limits<std::int32_t>::max(), errc::invalid_zero_point)));
    }
  }

  switch (gran) {
    case granularity::per_tensor:
      if (!shape.empty()) corrupt("field 'shape' must be [] for per_tensor parameters");
      if (axis != -1) corrupt("field 'axis' must be -1 for per_tensor parameters, found " + std::to_string(axis));
      if (block_size != 0) corrupt("field 'block_size' must be 0 for per_tensor parameters");
      if (scales.size() != 1) {
        throw error(errc::count_mismatch, std::to_string(scales.size()) + " scales given, per_tensor needs 1");
      }
      if (zero_points.size() > 1) {
        throw error(errc::count_mismatch, std::to_string(zero_points.size()) + " zero points given, per_tensor needs 1");
      }
      return quant_params::per_tensor(format, scales[0], zero_points.empty() ? 0 : zero_points[0], numerics);
    case granularity::per_channel:
      if (block_size != 0) corrupt("field 'block_size' must be 0 for per_channel parameters");
      return quant_params::per_channel(format, shape, axis, scales, zero_points, numerics);
    case granularity::per_block:
      return quant_params::per_block(format, shape, axis, block_size, scales, zero_points, numerics);
  }
  corrupt("unknown granularity");
}

}  // namespace

std::string params_to_json(const quant_params& p) {
  json doc;
  doc["schema"] = kSchema;
  doc["version"] = kVersion;
  doc["scheme"] = kScheme;
  doc["profile"] = to_string(p.numerics());
  doc["format"] = {{"bits", p.format().bits}, {"signed", p.format().is_signed}, {"narrow", p.format().narrow}};
  doc["granularity"] = granularity_name(p.granularity());
  doc["shape"] = json::array();
  for (const std::int64_t d : p.shape()) doc["shape"].push_back(d);
  doc["axis"] = p.axis();
  doc["block_size"] = p.block_size();
  doc["scales"] = json::array();
  for (const float s : p.scales()) doc["scales"].push_back(json_number_of(s));
  doc["zero_points"] = json::array();
  for (const std::int32_t z : p.zero_points()) doc["zero_points"].push_back(z);
  return doc.dump(2);
}

quant_params params_from_json(std::string_view json_text) {
  return parse_document(json_text);
}

void save_params(const std::filesystem::path& path, const quant_params& p) {
  const std::string text = params_to_json(p) + "\n";
  detail::write_file(path, std::as_bytes(std::span(text)));
}

quant_params load_params(const std::filesystem::path& path) {
  const std::vector<std::byte> bytes = detail::read_file(path);
  try {
    return parse_document(std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
  } catch (const error& e) {
    detail::rethrow_naming(e, path);
  }
}

}  // namespace lowbit::io
