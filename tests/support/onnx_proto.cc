// A small, strict protobuf wire-format reader for ONNX TensorProto / ModelProto (see onnx_proto.h).
#include "onnx_proto.h"

#include <bit>
#include <fstream>
#include <iterator>
#include <limits>
#include <utility>

namespace onnx_proto {
namespace {

[[noreturn]] void fail(std::string_view what, std::string_view why) {
  throw parse_error(std::string(what) + ": " + std::string(why));
}

const char* wire_name(wire_type t) {
  switch (t) {
    case wire_type::varint: return "varint";
    case wire_type::fixed64: return "fixed64";
    case wire_type::length_delimited: return "length-delimited";
    case wire_type::start_group: return "start-group";
    case wire_type::end_group: return "end-group";
    case wire_type::fixed32: return "fixed32";
  }
  return "unknown";
}

void expect_wire(const field& f, wire_type t, std::string_view what) {
  if (f.type != t) {
    fail(what, "field " + std::to_string(f.number) + " has wire type " + wire_name(f.type) + ", expected " +
                   wire_name(t));
  }
}

std::uint32_t load_le32(const std::uint8_t* p) noexcept {
  return static_cast<std::uint32_t>(p[0]) | static_cast<std::uint32_t>(p[1]) << 8 |
         static_cast<std::uint32_t>(p[2]) << 16 | static_cast<std::uint32_t>(p[3]) << 24;
}

std::uint64_t load_le(const std::uint8_t* p, std::size_t width) noexcept {
  std::uint64_t v = 0;
  for (std::size_t i = 0; i < width; ++i) v |= static_cast<std::uint64_t>(p[i]) << (8 * i);
  return v;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Wire format
// ---------------------------------------------------------------------------------------------

std::uint64_t read_varint(std::span<const std::uint8_t> bytes, std::size_t& pos) {
  std::uint64_t v = 0;
  for (int i = 0; i < 10; ++i) {
    if (pos >= bytes.size()) fail("varint", "truncated at byte " + std::to_string(pos));
    const std::uint8_t b = bytes[pos++];
    if (i == 9 && b > 1) fail("varint", "more than 64 bits at byte " + std::to_string(pos - 1));
    v |= static_cast<std::uint64_t>(b & 0x7f) << (7 * i);
    if ((b & 0x80) == 0) return v;
  }
  fail("varint", "longer than 10 bytes at byte " + std::to_string(pos));
}

std::uint64_t wire_reader::read_varint() { return onnx_proto::read_varint(data_, pos_); }

field wire_reader::next() {
  const std::size_t start = pos_;
  const std::uint64_t key = read_varint();
  const std::uint64_t number = key >> 3;
  if (number == 0 || number > (std::uint64_t{1} << 29) - 1) {
    fail("protobuf", "invalid field number " + std::to_string(number) + " at byte " + std::to_string(start));
  }
  field f;
  f.number = static_cast<std::uint32_t>(number);
  const auto remaining = [&] { return data_.size() - pos_; };
  switch (key & 7) {
    case 0:
      f.type = wire_type::varint;
      f.value = read_varint();
      break;
    case 1:
      f.type = wire_type::fixed64;
      if (remaining() < 8) fail("protobuf", "fixed64 field " + std::to_string(number) + " truncated");
      f.value = load_le(data_.data() + pos_, 8);
      pos_ += 8;
      break;
    case 2: {
      f.type = wire_type::length_delimited;
      const std::uint64_t len = read_varint();
      if (len > remaining()) {
        fail("protobuf", "length " + std::to_string(len) + " of field " + std::to_string(number) +
                             " runs past the end (" + std::to_string(remaining()) + " bytes left)");
      }
      f.bytes = data_.subspan(pos_, static_cast<std::size_t>(len));
      pos_ += static_cast<std::size_t>(len);
      break;
    }
    case 5:
      f.type = wire_type::fixed32;
      if (remaining() < 4) fail("protobuf", "fixed32 field " + std::to_string(number) + " truncated");
      f.value = load_le32(data_.data() + pos_);
      pos_ += 4;
      break;
    case 3:
    case 4:
      fail("protobuf", "groups are not supported (field " + std::to_string(number) + ")");
    default:
      fail("protobuf", "invalid wire type " + std::to_string(key & 7) + " of field " + std::to_string(number));
  }
  return f;
}

std::uint64_t as_uint64(const field& f, std::string_view what) {
  expect_wire(f, wire_type::varint, what);
  return f.value;
}

std::int64_t as_int64(const field& f, std::string_view what) {
  return static_cast<std::int64_t>(as_uint64(f, what));
}

std::int32_t as_int32(const field& f, std::string_view what) {
  const std::int64_t v = as_int64(f, what);
  if (v < std::numeric_limits<std::int32_t>::min() || v > std::numeric_limits<std::int32_t>::max()) {
    fail(what, "value " + std::to_string(v) + " does not fit in int32");
  }
  return static_cast<std::int32_t>(v);
}

float as_float(const field& f, std::string_view what) {
  expect_wire(f, wire_type::fixed32, what);
  return std::bit_cast<float>(static_cast<std::uint32_t>(f.value));
}

std::string as_string(const field& f, std::string_view what) {
  expect_wire(f, wire_type::length_delimited, what);
  return std::string(f.bytes.begin(), f.bytes.end());
}

void append_varints(const field& f, std::vector<std::uint64_t>& out, std::string_view what) {
  if (f.type == wire_type::varint) {
    out.push_back(f.value);
    return;
  }
  expect_wire(f, wire_type::length_delimited, what);
  std::size_t pos = 0;
  while (pos < f.bytes.size()) out.push_back(read_varint(f.bytes, pos));
}

void append_fixed32(const field& f, std::vector<std::uint32_t>& out, std::string_view what) {
  if (f.type == wire_type::fixed32) {
    out.push_back(static_cast<std::uint32_t>(f.value));
    return;
  }
  expect_wire(f, wire_type::length_delimited, what);
  if (f.bytes.size() % 4 != 0) {
    fail(what, "packed fixed32 run of " + std::to_string(f.bytes.size()) + " bytes is not a multiple of 4");
  }
  for (std::size_t i = 0; i < f.bytes.size(); i += 4) out.push_back(load_le32(f.bytes.data() + i));
}

void append_fixed64(const field& f, std::vector<std::uint64_t>& out, std::string_view what) {
  if (f.type == wire_type::fixed64) {
    out.push_back(f.value);
    return;
  }
  expect_wire(f, wire_type::length_delimited, what);
  if (f.bytes.size() % 8 != 0) {
    fail(what, "packed fixed64 run of " + std::to_string(f.bytes.size()) + " bytes is not a multiple of 8");
  }
  for (std::size_t i = 0; i < f.bytes.size(); i += 8) out.push_back(load_le(f.bytes.data() + i, 8));
}

// ---------------------------------------------------------------------------------------------
// TensorProto
// ---------------------------------------------------------------------------------------------

std::string to_string(data_type t) {
  switch (t) {
    case data_type::undefined: return "UNDEFINED";
    case data_type::float32: return "FLOAT";
    case data_type::uint8: return "UINT8";
    case data_type::int8: return "INT8";
    case data_type::uint16: return "UINT16";
    case data_type::int16: return "INT16";
    case data_type::int32: return "INT32";
    case data_type::int64: return "INT64";
    case data_type::string: return "STRING";
    case data_type::boolean: return "BOOL";
    case data_type::float16: return "FLOAT16";
    case data_type::float64: return "DOUBLE";
    case data_type::uint32: return "UINT32";
    case data_type::uint64: return "UINT64";
    case data_type::complex64: return "COMPLEX64";
    case data_type::complex128: return "COMPLEX128";
    case data_type::bfloat16: return "BFLOAT16";
    case data_type::float8e4m3fn: return "FLOAT8E4M3FN";
    case data_type::float8e4m3fnuz: return "FLOAT8E4M3FNUZ";
    case data_type::float8e5m2: return "FLOAT8E5M2";
    case data_type::float8e5m2fnuz: return "FLOAT8E5M2FNUZ";
    case data_type::uint4: return "UINT4";
    case data_type::int4: return "INT4";
    case data_type::float4e2m1: return "FLOAT4E2M1";
    case data_type::float8e8m0: return "FLOAT8E8M0";
    case data_type::uint2: return "UINT2";
    case data_type::int2: return "INT2";
  }
  return "data type " + std::to_string(static_cast<std::int32_t>(t));
}

std::size_t tensor::size() const {
  std::size_t n = 1;
  for (const std::int64_t d : dims) n *= static_cast<std::size_t>(d);  // validated by parse_tensor
  return n;
}

namespace {

// How an integer-like type is stored: its width in bits, whether its values are signed, and which
// typed field may hold it (5 = int32_data, 7 = int64_data, 11 = uint64_data).
struct int_layout {
  int bits;
  bool is_signed;
  int typed_field;
};

bool int_layout_of(data_type t, int_layout& out) {
  switch (t) {
    case data_type::uint8: out = {8, false, 5}; return true;
    case data_type::int8: out = {8, true, 5}; return true;
    case data_type::uint16: out = {16, false, 5}; return true;
    case data_type::int16: out = {16, true, 5}; return true;
    case data_type::int32: out = {32, true, 5}; return true;
    case data_type::int64: out = {64, true, 7}; return true;
    case data_type::boolean: out = {8, false, 5}; return true;
    case data_type::float16: out = {16, false, 5}; return true;
    case data_type::uint32: out = {32, false, 11}; return true;
    case data_type::uint64: out = {64, false, 11}; return true;
    case data_type::bfloat16: out = {16, false, 5}; return true;
    case data_type::float8e4m3fn:
    case data_type::float8e4m3fnuz:
    case data_type::float8e5m2:
    case data_type::float8e5m2fnuz:
    case data_type::float8e8m0: out = {8, false, 5}; return true;
    case data_type::uint4: out = {4, false, 5}; return true;
    case data_type::int4: out = {4, true, 5}; return true;
    case data_type::float4e2m1: out = {4, false, 5}; return true;
    case data_type::uint2: out = {2, false, 5}; return true;
    case data_type::int2: out = {2, true, 5}; return true;
    default: return false;
  }
}

std::int64_t sign_extend(std::uint64_t v, int bits) {
  if (bits >= 64) return static_cast<std::int64_t>(v);
  const std::uint64_t sign = std::uint64_t{1} << (bits - 1);
  const std::uint64_t mask = (std::uint64_t{1} << bits) - 1;
  v &= mask;
  return static_cast<std::int64_t>((v ^ sign) - sign);
}

// Unpacks `count` sub-byte elements (bits = 2 or 4, first element in the least significant bits) from
// `bytes` holding ceil(count * bits / 8) packed bytes.
void unpack_sub_byte(const std::vector<std::uint8_t>& bytes, std::size_t count, const int_layout& l,
                     std::vector<std::int64_t>& out) {
  const std::size_t per_byte = static_cast<std::size_t>(8 / l.bits);
  const std::uint64_t mask = (std::uint64_t{1} << l.bits) - 1;
  out.reserve(count);
  for (std::size_t k = 0; k < count; ++k) {
    const std::uint64_t v = (bytes[k / per_byte] >> ((k % per_byte) * static_cast<std::size_t>(l.bits))) & mask;
    out.push_back(l.is_signed ? sign_extend(v, l.bits) : static_cast<std::int64_t>(v));
  }
}

struct raw_tensor_fields {
  std::vector<std::uint32_t> float_data;
  std::vector<std::uint64_t> int32_data;
  std::vector<std::string> string_data;
  std::vector<std::uint64_t> int64_data;
  bool has_raw = false;
  std::span<const std::uint8_t> raw_data;
  std::vector<std::uint64_t> double_data;
  std::vector<std::uint64_t> uint64_data;
};

void decode_ints(const raw_tensor_fields& r, const int_layout& l, std::size_t count, const std::string& tname,
                 std::vector<std::int64_t>& out) {
  const std::string what = "TensorProto " + tname;
  const std::size_t packed_count =
      l.bits < 8 ? (count + static_cast<std::size_t>(8 / l.bits) - 1) / static_cast<std::size_t>(8 / l.bits)
                 : count;
  const std::vector<std::uint64_t>* typed =
      l.typed_field == 5 ? &r.int32_data : l.typed_field == 7 ? &r.int64_data : &r.uint64_data;
  if (r.has_raw) {
    if (l.bits < 8) {
      if (r.raw_data.size() != packed_count) {
        fail(what, "raw_data has " + std::to_string(r.raw_data.size()) + " bytes, " + std::to_string(count) +
                       " packed elements need " + std::to_string(packed_count));
      }
      unpack_sub_byte(std::vector<std::uint8_t>(r.raw_data.begin(), r.raw_data.end()), count, l, out);
      return;
    }
    const std::size_t width = static_cast<std::size_t>(l.bits / 8);
    if (r.raw_data.size() / width != count || r.raw_data.size() % width != 0) {
      fail(what, "raw_data has " + std::to_string(r.raw_data.size()) + " bytes, " + std::to_string(count) +
                     " elements of " + std::to_string(width) + " bytes need " + std::to_string(count * width));
    }
    out.reserve(count);
    for (std::size_t k = 0; k < count; ++k) {
      const std::uint64_t v = load_le(r.raw_data.data() + k * width, width);
      if (l.is_signed) {
        out.push_back(sign_extend(v, l.bits));
      } else {
        if (v > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
          fail(what, "UINT64 value above INT64_MAX is not supported");
        }
        out.push_back(static_cast<std::int64_t>(v));
      }
    }
    return;
  }
  if (typed->size() != packed_count) {
    fail(what, "typed data has " + std::to_string(typed->size()) + " values, the shape needs " +
                   std::to_string(packed_count));
  }
  if (l.typed_field == 5) {
    // int32_data: varints of int32 values (negative ones sign-extended to 64 bits).
    const int stored_bits = l.bits < 8 ? 8 : l.bits;
    const bool stored_signed = l.bits < 8 ? false : l.is_signed;
    const std::int64_t lo = stored_signed ? -(std::int64_t{1} << (stored_bits - 1)) : 0;
    const std::int64_t hi = stored_signed ? (std::int64_t{1} << (stored_bits - 1)) - 1
                                          : (std::int64_t{1} << stored_bits) - 1;
    std::vector<std::uint8_t> packed;
    for (const std::uint64_t u : *typed) {
      const auto v = static_cast<std::int64_t>(u);
      if (v < lo || v > hi) {
        fail(what, "int32_data value " + std::to_string(v) + " is outside [" + std::to_string(lo) + ", " +
                       std::to_string(hi) + "] for " + std::to_string(stored_bits) + "-bit storage");
      }
      if (l.bits < 8) {
        packed.push_back(static_cast<std::uint8_t>(v));
      } else {
        out.push_back(v);
      }
    }
    if (l.bits < 8) unpack_sub_byte(packed, count, l, out);
    return;
  }
  for (const std::uint64_t u : *typed) {
    if (l.typed_field == 11 && l.bits == 32 && u > 0xffffffffu) {
      fail(what, "uint64_data value " + std::to_string(u) + " does not fit in UINT32");
    }
    if (l.typed_field == 11 && u > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
      fail(what, "UINT64 value above INT64_MAX is not supported");
    }
    out.push_back(static_cast<std::int64_t>(u));
  }
}

}  // namespace

tensor parse_tensor(std::span<const std::uint8_t> bytes) {
  tensor t;
  raw_tensor_fields r;
  bool has_type = false;
  std::int32_t type = 0;
  wire_reader rd(bytes);
  while (!rd.at_end()) {
    const field f = rd.next();
    switch (f.number) {
      case 1: {  // dims
        std::vector<std::uint64_t> v;
        append_varints(f, v, "TensorProto.dims");
        for (const std::uint64_t d : v) {
          const auto s = static_cast<std::int64_t>(d);
          if (s < 0) fail("TensorProto.dims", "negative dimension " + std::to_string(s));
          t.dims.push_back(s);
        }
        break;
      }
      case 2: type = as_int32(f, "TensorProto.data_type"); has_type = true; break;
      case 3: fail("TensorProto", "segments are not supported");
      case 4: append_fixed32(f, r.float_data, "TensorProto.float_data"); break;
      case 5: {
        const std::size_t before = r.int32_data.size();
        append_varints(f, r.int32_data, "TensorProto.int32_data");
        for (std::size_t i = before; i < r.int32_data.size(); ++i) {
          const auto v = static_cast<std::int64_t>(r.int32_data[i]);
          if (v < std::numeric_limits<std::int32_t>::min() || v > std::numeric_limits<std::int32_t>::max()) {
            fail("TensorProto.int32_data", "value " + std::to_string(v) + " does not fit in int32");
          }
        }
        break;
      }
      case 6: r.string_data.push_back(as_string(f, "TensorProto.string_data")); break;
      case 7: append_varints(f, r.int64_data, "TensorProto.int64_data"); break;
      case 8: t.name = as_string(f, "TensorProto.name"); break;
      case 9:
        expect_wire(f, wire_type::length_delimited, "TensorProto.raw_data");
        r.has_raw = true;
        r.raw_data = f.bytes;  // a repeated singular field: the last one wins, as in protobuf
        break;
      case 10: append_fixed64(f, r.double_data, "TensorProto.double_data"); break;
      case 11: append_varints(f, r.uint64_data, "TensorProto.uint64_data"); break;
      case 12: as_string(f, "TensorProto.doc_string"); break;
      case 13: fail("TensorProto", "external data is not supported");
      case 14:
        if (as_int32(f, "TensorProto.data_location") != 0) fail("TensorProto", "external data is not supported");
        break;
      default: break;  // unknown fields (metadata_props, ...) are skipped
    }
  }
  const std::string what = "TensorProto " + t.name;
  if (!has_type || type == 0) fail(what, "data_type is missing or UNDEFINED");
  t.type = static_cast<data_type>(type);

  // The element count, guarded against overflow (no allocation is sized by dims alone).
  std::size_t count = 1;
  for (const std::int64_t d : t.dims) {
    const auto u = static_cast<std::uint64_t>(d);
    if (u != 0 && count > (std::uint64_t{1} << 40) / u) fail(what, "element count overflows");
    count *= static_cast<std::size_t>(u);
  }

  const int sources = (r.has_raw ? 1 : 0) + !r.float_data.empty() + !r.int32_data.empty() +
                      !r.string_data.empty() + !r.int64_data.empty() + !r.double_data.empty() +
                      !r.uint64_data.empty();
  if (sources > 1) fail(what, "more than one data field is set");
  if (sources == 0 && count != 0) fail(what, "no data for " + std::to_string(count) + " elements");
  const auto only = [&](bool present_ok, const char* field_name) {
    if (!present_ok) fail(what, std::string(field_name) + " cannot hold " + to_string(t.type));
  };

  switch (t.type) {
    case data_type::float32:
      only(r.int32_data.empty() && r.string_data.empty() && r.int64_data.empty() && r.double_data.empty() &&
               r.uint64_data.empty(),
           "this data field");
      if (r.has_raw) {
        if (r.raw_data.size() % 4 != 0 || r.raw_data.size() / 4 != count) {
          fail(what, "raw_data has " + std::to_string(r.raw_data.size()) + " bytes, " + std::to_string(count) +
                         " floats need " + std::to_string(4 * count));
        }
        t.f32.reserve(count);
        for (std::size_t k = 0; k < count; ++k) {
          t.f32.push_back(std::bit_cast<float>(load_le32(r.raw_data.data() + 4 * k)));
        }
      } else {
        if (r.float_data.size() != count) {
          fail(what, "float_data has " + std::to_string(r.float_data.size()) + " values, the shape needs " +
                         std::to_string(count));
        }
        for (const std::uint32_t u : r.float_data) t.f32.push_back(std::bit_cast<float>(u));
      }
      t.decoded = true;
      break;
    case data_type::float64:
      only(r.int32_data.empty() && r.string_data.empty() && r.int64_data.empty() && r.float_data.empty() &&
               r.uint64_data.empty(),
           "this data field");
      if (r.has_raw) {
        if (r.raw_data.size() % 8 != 0 || r.raw_data.size() / 8 != count) {
          fail(what, "raw_data has " + std::to_string(r.raw_data.size()) + " bytes, " + std::to_string(count) +
                         " doubles need " + std::to_string(8 * count));
        }
        for (std::size_t k = 0; k < count; ++k) {
          t.f64.push_back(std::bit_cast<double>(load_le(r.raw_data.data() + 8 * k, 8)));
        }
      } else {
        if (r.double_data.size() != count) fail(what, "double_data count does not match the shape");
        for (const std::uint64_t u : r.double_data) t.f64.push_back(std::bit_cast<double>(u));
      }
      t.decoded = true;
      break;
    case data_type::string:
      only(sources == 0 || !r.string_data.empty(), "only string_data");
      if (r.string_data.size() != count) fail(what, "string_data count does not match the shape");
      t.strings = r.string_data;
      t.decoded = true;
      break;
    default: {
      int_layout l{};
      if (!int_layout_of(t.type, l)) break;  // complex or an unknown type: not decoded
      const std::vector<std::uint64_t>& typed =
          l.typed_field == 5 ? r.int32_data : l.typed_field == 7 ? r.int64_data : r.uint64_data;
      only(sources == 0 || r.has_raw || !typed.empty(),
           l.typed_field == 5 ? "only int32_data or raw_data" : l.typed_field == 7 ? "only int64_data or raw_data"
                                                                                  : "only uint64_data or raw_data");
      decode_ints(r, l, count, t.name, t.ints);
      if (t.type == data_type::boolean) {
        for (const std::int64_t v : t.ints) {
          if (v != 0 && v != 1) fail(what, "BOOL value " + std::to_string(v) + " is not 0 or 1");
        }
      }
      t.decoded = true;
      break;
    }
  }
  return t;
}

// ---------------------------------------------------------------------------------------------
// ModelProto
// ---------------------------------------------------------------------------------------------

const attribute* node::find(std::string_view attr_name) const {
  for (const attribute& a : attributes) {
    if (a.name == attr_name) return &a;
  }
  return nullptr;
}

std::int64_t model::opset_version(std::string_view domain) const {
  const auto is_default = [](std::string_view d) { return d.empty() || d == "ai.onnx"; };
  for (const opset& o : opsets) {
    if (o.domain == domain || (is_default(o.domain) && is_default(domain))) return o.version;
  }
  return 0;
}

namespace {

attribute parse_attribute(std::span<const std::uint8_t> bytes) {
  attribute a;
  wire_reader rd(bytes);
  while (!rd.at_end()) {
    const field f = rd.next();
    switch (f.number) {
      case 1: a.name = as_string(f, "AttributeProto.name"); break;
      case 2: a.f = as_float(f, "AttributeProto.f"); a.has_f = true; break;
      case 3: a.i = as_int64(f, "AttributeProto.i"); a.has_i = true; break;
      case 4: a.s = as_string(f, "AttributeProto.s"); a.has_s = true; break;
      case 7: {
        std::vector<std::uint32_t> v;
        append_fixed32(f, v, "AttributeProto.floats");
        for (const std::uint32_t u : v) a.floats.push_back(std::bit_cast<float>(u));
        break;
      }
      case 8: {
        std::vector<std::uint64_t> v;
        append_varints(f, v, "AttributeProto.ints");
        for (const std::uint64_t u : v) a.ints.push_back(static_cast<std::int64_t>(u));
        break;
      }
      case 9: a.strings.push_back(as_string(f, "AttributeProto.strings")); break;
      case 20: a.type = as_int32(f, "AttributeProto.type"); break;
      default: break;  // t, g, tensors, graphs, doc_string, ...: framing checked, content skipped
    }
  }
  return a;
}

node parse_node(std::span<const std::uint8_t> bytes) {
  node n;
  wire_reader rd(bytes);
  while (!rd.at_end()) {
    const field f = rd.next();
    switch (f.number) {
      case 1: n.inputs.push_back(as_string(f, "NodeProto.input")); break;
      case 2: n.outputs.push_back(as_string(f, "NodeProto.output")); break;
      case 3: n.name = as_string(f, "NodeProto.name"); break;
      case 4: n.op_type = as_string(f, "NodeProto.op_type"); break;
      case 5:
        expect_wire(f, wire_type::length_delimited, "NodeProto.attribute");
        n.attributes.push_back(parse_attribute(f.bytes));
        break;
      case 7: n.domain = as_string(f, "NodeProto.domain"); break;
      default: break;
    }
  }
  if (n.op_type.empty()) fail("NodeProto " + n.name, "op_type is missing");
  return n;
}

std::string parse_value_info_name(std::span<const std::uint8_t> bytes) {
  std::string name;
  wire_reader rd(bytes);
  while (!rd.at_end()) {
    const field f = rd.next();
    if (f.number == 1) name = as_string(f, "ValueInfoProto.name");
  }
  return name;
}

graph parse_graph(std::span<const std::uint8_t> bytes) {
  graph g;
  wire_reader rd(bytes);
  while (!rd.at_end()) {
    const field f = rd.next();
    switch (f.number) {
      case 1:
        expect_wire(f, wire_type::length_delimited, "GraphProto.node");
        g.nodes.push_back(parse_node(f.bytes));
        break;
      case 2: g.name = as_string(f, "GraphProto.name"); break;
      case 5:
        expect_wire(f, wire_type::length_delimited, "GraphProto.initializer");
        g.initializers.push_back(parse_tensor(f.bytes));
        break;
      case 11:
        expect_wire(f, wire_type::length_delimited, "GraphProto.input");
        g.inputs.push_back(parse_value_info_name(f.bytes));
        break;
      case 12:
        expect_wire(f, wire_type::length_delimited, "GraphProto.output");
        g.outputs.push_back(parse_value_info_name(f.bytes));
        break;
      default: break;
    }
  }
  return g;
}

opset parse_opset(std::span<const std::uint8_t> bytes) {
  opset o;
  wire_reader rd(bytes);
  while (!rd.at_end()) {
    const field f = rd.next();
    if (f.number == 1) o.domain = as_string(f, "OperatorSetIdProto.domain");
    if (f.number == 2) o.version = as_int64(f, "OperatorSetIdProto.version");
  }
  return o;
}

}  // namespace

model parse_model(std::span<const std::uint8_t> bytes) {
  model m;
  bool has_graph = false;
  wire_reader rd(bytes);
  while (!rd.at_end()) {
    const field f = rd.next();
    switch (f.number) {
      case 1: m.ir_version = as_int64(f, "ModelProto.ir_version"); break;
      case 7:
        expect_wire(f, wire_type::length_delimited, "ModelProto.graph");
        if (has_graph) fail("ModelProto", "more than one graph");
        m.main_graph = parse_graph(f.bytes);
        has_graph = true;
        break;
      case 8:
        expect_wire(f, wire_type::length_delimited, "ModelProto.opset_import");
        m.opsets.push_back(parse_opset(f.bytes));
        break;
      default: break;
    }
  }
  if (!has_graph) fail("ModelProto", "no graph");
  return m;
}

std::vector<std::uint8_t> read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw parse_error("cannot open " + path.string());
  std::vector<std::uint8_t> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) throw parse_error("cannot read " + path.string());
  return bytes;
}

}  // namespace onnx_proto
