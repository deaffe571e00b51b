// A small, strict reader of the protobuf wire format and of the few ONNX messages the conformance
// test needs: TensorProto (the input_N.pb / output_N.pb files of ONNX's node tests) and ModelProto ->
// GraphProto -> NodeProto -> AttributeProto (model.onnx: op type, attributes, input / output names).
//
// Test-support code only, never part of the library. Every read is bounds-checked: malformed bytes
// (a truncated varint, a length beyond the end, a wire type a field cannot have, element counts that
// disagree with the shape) throw onnx_proto::parse_error and never read outside the buffer. Fields
// this reader does not need are skipped after their framing is checked, as protobuf allows.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace onnx_proto {

/// Malformed or unsupported protobuf / ONNX bytes.
class parse_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// ---------------------------------------------------------------------------------------------
// Wire format
// ---------------------------------------------------------------------------------------------

enum class wire_type : std::uint8_t {
  varint = 0,
  fixed64 = 1,
  length_delimited = 2,
  start_group = 3,  ///< deprecated groups: ONNX uses none, the reader rejects them
  end_group = 4,
  fixed32 = 5,
};

/// One field as it appears on the wire.
struct field {
  std::uint32_t number = 0;
  wire_type type = wire_type::varint;
  std::uint64_t value = 0;               ///< varint value, or the raw bits of fixed32 / fixed64
  std::span<const std::uint8_t> bytes;   ///< the payload of a length-delimited field (inside the buffer)
};

/// Reads the fields of one message, front to back.
class wire_reader {
 public:
  explicit wire_reader(std::span<const std::uint8_t> data) noexcept : data_(data) {}

  bool at_end() const noexcept { return pos_ == data_.size(); }
  std::size_t position() const noexcept { return pos_; }

  /// Reads the next field. Throws parse_error on: a truncated or over-long varint (more than 10 bytes,
  /// or a 10th byte above 1), a field number of 0 or above 2^29 - 1, a group or unknown wire type, a
  /// fixed32 / fixed64 / length-delimited payload that runs past the end of the buffer.
  field next();

 private:
  std::uint64_t read_varint();

  std::span<const std::uint8_t> data_;
  std::size_t pos_ = 0;
};

/// Decodes a varint from the front of `bytes`, advancing `pos`. Throws parse_error as wire_reader::next.
std::uint64_t read_varint(std::span<const std::uint8_t> bytes, std::size_t& pos);

// Typed views of one field. Each throws parse_error naming `what` if the wire type is wrong or the
// value does not fit the declared type.
std::uint64_t as_uint64(const field& f, std::string_view what);  ///< varint
std::int64_t as_int64(const field& f, std::string_view what);    ///< varint, two's complement
std::int32_t as_int32(const field& f, std::string_view what);    ///< varint, must fit in int32
float as_float(const field& f, std::string_view what);           ///< fixed32
std::string as_string(const field& f, std::string_view what);    ///< length-delimited

// Repeated scalar fields: a packed run (length-delimited) or one unpacked element. Appends to `out`.
void append_varints(const field& f, std::vector<std::uint64_t>& out, std::string_view what);
void append_fixed32(const field& f, std::vector<std::uint32_t>& out, std::string_view what);
void append_fixed64(const field& f, std::vector<std::uint64_t>& out, std::string_view what);

// ---------------------------------------------------------------------------------------------
// ONNX
// ---------------------------------------------------------------------------------------------

/// TensorProto.DataType (onnx.proto).
enum class data_type : std::int32_t {
  undefined = 0,
  float32 = 1,
  uint8 = 2,
  int8 = 3,
  uint16 = 4,
  int16 = 5,
  int32 = 6,
  int64 = 7,
  string = 8,
  boolean = 9,
  float16 = 10,
  float64 = 11,
  uint32 = 12,
  uint64 = 13,
  complex64 = 14,
  complex128 = 15,
  bfloat16 = 16,
  float8e4m3fn = 17,
  float8e4m3fnuz = 18,
  float8e5m2 = 19,
  float8e5m2fnuz = 20,
  uint4 = 21,
  int4 = 22,
  float4e2m1 = 23,
  float8e8m0 = 24,
  uint2 = 25,
  int2 = 26,
};

/// The ONNX spelling ("FLOAT", "UINT8", "FLOAT8E4M3FN", ...), or "data type N" for an unknown value.
std::string to_string(data_type t);

/// A decoded TensorProto. Exactly one of the value vectors is filled, by type:
///   FLOAT -> f32;  DOUBLE -> f64;  STRING -> strings;
///   INT8/16/32/64, UINT8/16/32/64 (<= INT64_MAX), BOOL, INT4, UINT4, INT2, UINT2 -> ints (the values);
///   FLOAT16, BFLOAT16, FLOAT8*, FLOAT4E2M1 -> ints (the bit patterns, zero-extended).
/// Other types (complex) are not decoded: `decoded` is false and the vectors are empty.
struct tensor {
  std::string name;
  data_type type = data_type::undefined;
  std::vector<std::int64_t> dims;  ///< empty for a scalar
  bool decoded = false;
  std::vector<float> f32;
  std::vector<double> f64;
  std::vector<std::int64_t> ints;
  std::vector<std::string> strings;

  /// The element count: the product of dims (1 for a scalar).
  std::size_t size() const;
};

/// Parses a serialized TensorProto. Throws parse_error on malformed bytes, on values that disagree
/// with the shape (wrong count, a raw_data length that is not count x width, an int32_data value
/// outside the type's range, two storage fields at once), and on segments or external data.
tensor parse_tensor(std::span<const std::uint8_t> bytes);

struct attribute {
  std::string name;
  std::int32_t type = 0;  ///< AttributeProto.AttributeType: FLOAT=1, INT=2, STRING=3, TENSOR=4, ...,
                          ///< FLOATS=6, INTS=7, STRINGS=8
  bool has_f = false, has_i = false, has_s = false;
  float f = 0.0f;
  std::int64_t i = 0;
  std::string s;
  std::vector<float> floats;
  std::vector<std::int64_t> ints;
  std::vector<std::string> strings;
};

struct node {
  std::string name;
  std::string op_type;
  std::string domain;
  std::vector<std::string> inputs;   ///< "" marks an omitted optional input
  std::vector<std::string> outputs;
  std::vector<attribute> attributes;

  /// The attribute called `attr_name`, or nullptr.
  const attribute* find(std::string_view attr_name) const;
};

struct graph {
  std::string name;
  std::vector<node> nodes;
  std::vector<std::string> inputs;   ///< names of GraphProto.input (ValueInfoProto.name)
  std::vector<std::string> outputs;  ///< names of GraphProto.output
  std::vector<tensor> initializers;
};

struct opset {
  std::string domain;  ///< "" is the default domain ai.onnx
  std::int64_t version = 0;
};

struct model {
  std::int64_t ir_version = 0;
  std::vector<opset> opsets;
  graph main_graph;

  /// The imported version of `domain` ("" and "ai.onnx" are the same domain), or 0 if not imported.
  std::int64_t opset_version(std::string_view domain = "") const;
};

/// Parses a serialized ModelProto. Throws parse_error on malformed bytes or a model without a graph.
/// Graph-valued attributes (subgraphs) and tensor-valued attributes are skipped, not parsed.
model parse_model(std::span<const std::uint8_t> bytes);

/// Reads a whole file. Throws parse_error if it cannot be opened or read.
std::vector<std::uint8_t> read_file(const std::filesystem::path& path);

inline tensor read_tensor_file(const std::filesystem::path& path) { return parse_tensor(read_file(path)); }
inline model read_model_file(const std::filesystem::path& path) { return parse_model(read_file(path)); }

}  // namespace onnx_proto
