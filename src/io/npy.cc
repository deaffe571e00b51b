// lowbit — NumPy .npy files: a strict reader and a writer that produces NumPy's own bytes.
// SPDX-License-Identifier: Apache-2.0
//
// Reading accepts format versions 1.0 (uint16 header length), 2.0 and 3.0 (uint32 header length; 3.0
// has a UTF-8 header, which changes nothing here: every token lowbit accepts is ASCII). The header is a
// Python dict literal; it is parsed by a small recursive-descent parser of the literals NumPy writes
// (strings, True / False / None, integers, tuples, lists), with keys in any order, any whitespace and
// trailing commas, and Python's rule that `(5)` is the integer 5 while `(5,)` is a 1-tuple.
// Decisions beyond NumPy's own reader:
//   - byte order: '<' is little endian; '=' (native) and '|' (not applicable) and no prefix are read as
//     little endian, which the host is (static_assert below); '>' is refused for multi-byte dtypes and
//     ignored for the 1-byte ones;
//   - bytes after the declared data are refused (corrupt_data): NumPy never writes them, and a file with
//     them is most likely a header that lies about its shape;
//   - duplicated keys and keys other than 'descr', 'fortran_order' and 'shape' are refused
//     (NumPy refuses the latter too).
// Writing follows numpy.lib.format._write_array_header of NumPy >= 1.24 byte for byte: sorted keys,
// repr() of the shape, the spare spaces for growing axis 0 (GROWTH_AXIS_MAX_DIGITS = 21), then spaces and
// a final '\n' so that the data starts at a multiple of 64 bytes (always at least one space), version
// 1.0 unless the header needs more than 65535 bytes (then 2.0).
#include "lowbit/io/npy.h"

#include <algorithm>
#include <array>
#include <bit>
#include <cstring>
#include <limits>
#include <string>
#include <utility>

#include "lowbit/error.h"
#include "src/io/file.h"

static_assert(std::endian::native == std::endian::little, "lowbit's .npy code assumes a little-endian host");

namespace lowbit::io {
namespace {

constexpr std::array<unsigned char, 6> kMagic = {0x93, 'N', 'U', 'M', 'P', 'Y'};
constexpr std::size_t kArrayAlign = 64;
constexpr std::size_t kGrowthAxisMaxDigits = 21;
constexpr int kMaxNesting = 32;  // tuples / lists inside the header (NumPy needs 2 for a structured dtype)

const char* descr_of(dtype t) noexcept {
  switch (t) {
    case dtype::f32: return "<f4";
    case dtype::f16: return "<f2";
    case dtype::i8: return "|i1";
    case dtype::u8: return "|u1";
    case dtype::i16: return "<i2";
    case dtype::u16: return "<u2";
    case dtype::i32: return "<i4";
  }
  return nullptr;
}

std::string shape_repr(std::span<const std::int64_t> shape) {
  // Python's repr of a tuple: (), (5,), (2, 3)
  std::string s = "(";
  for (std::size_t i = 0; i < shape.size(); ++i) {
    if (i != 0) s += ", ";
    s += std::to_string(shape[i]);
  }
  if (shape.size() == 1) s += ",";
  return s + ")";
}

// Printable excerpt of untrusted text for an error message.
std::string excerpt(std::string_view text, std::size_t max = 40) {
  std::string out;
  for (std::size_t i = 0; i < text.size() && i < max; ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c >= 0x20 && c < 0x7f) {
      out += static_cast<char>(c);
    } else {
      static constexpr char kHex[] = "0123456789abcdef";
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  if (text.size() > max) out += "...";
  return out;
}

// ----------------------------------------------------------------------------------------------------
// The header dictionary: a Python literal.

struct py_value {
  enum class kind : std::uint8_t { string, boolean, none, integer, tuple, list };
  kind k = kind::none;
  std::string str;
  bool flag = false;
  std::int64_t integer = 0;
  std::vector<py_value> items;
};

const char* kind_name(py_value::kind k) {
  switch (k) {
    case py_value::kind::string: return "a string";
    case py_value::kind::boolean: return "a bool";
    case py_value::kind::none: return "None";
    case py_value::kind::integer: return "an integer";
    case py_value::kind::tuple: return "a tuple";
    case py_value::kind::list: return "a list";
  }
  return "a value";
}

using py_dict = std::vector<std::pair<std::string, py_value>>;

class header_parser {
 public:
  header_parser(std::string_view text, const std::string& source) : text_(text), source_(source) {}

  py_dict parse() {
    skip_space();
    expect('{', "the header must be a dict starting with '{'");
    py_dict dict;
    skip_space();
    if (!eat('}')) {
      for (;;) {
        skip_space();
        if (!at_quote()) fail("expected a quoted key");
        std::string key = parse_string();
        skip_space();
        expect(':', "expected ':' after a key");
        skip_space();
        py_value v = parse_value(0);
        dict.emplace_back(std::move(key), std::move(v));
        skip_space();
        if (eat('}')) break;
        expect(',', "expected ',' or '}'");
        skip_space();
        if (eat('}')) break;  // trailing comma
      }
    }
    skip_space();
    if (pos_ != text_.size()) fail("unexpected text after the dict");
    return dict;
  }

 private:
  [[noreturn]] void fail(const std::string& what) const {
    throw error(errc::corrupt_data, source_ + ": bad header dictionary: " + what + " at offset " +
                                        std::to_string(pos_) + " (\"" + excerpt(text_.substr(pos_)) +
                                        "\" in \"" + excerpt(text_, 100) + "\")");
  }
  bool done() const { return pos_ >= text_.size(); }
  char peek() const { return done() ? '\0' : text_[pos_]; }
  bool eat(char c) {
    if (!done() && text_[pos_] == c) {
      ++pos_;
      return true;
    }
    return false;
  }
  void expect(char c, const char* what) {
    if (!eat(c)) fail(what);
  }
  void skip_space() {
    while (!done() && (text_[pos_] == ' ' || text_[pos_] == '\t' || text_[pos_] == '\n' ||
                       text_[pos_] == '\r' || text_[pos_] == '\f' || text_[pos_] == '\v')) {
      ++pos_;
    }
  }
  bool at_quote() const {
    const char c = peek();
    if (c == '\'' || c == '"') return true;
    // u'...' (a Python 2 unicode literal)
    return (c == 'u' || c == 'U') && pos_ + 1 < text_.size() && (text_[pos_ + 1] == '\'' || text_[pos_ + 1] == '"');
  }
  static bool is_digit(char c) { return c >= '0' && c <= '9'; }
  static bool is_ident(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || is_digit(c); }

  std::string parse_string() {
    if (peek() == 'u' || peek() == 'U') ++pos_;
    const char quote = text_[pos_++];
    std::string s;
    for (;;) {
      if (done()) fail("unterminated string");
      const char c = text_[pos_++];
      if (c == quote) return s;
      if (c == '\n') fail("newline inside a string");
      if (c == '\\') {
        if (done()) fail("unterminated string");
        s += text_[pos_++];  // the escapes NumPy could write (\\, \', \") stand for themselves
        continue;
      }
      s += c;
    }
  }

  py_value parse_value(int depth) {
    if (depth > kMaxNesting) fail("nesting deeper than " + std::to_string(kMaxNesting));
    py_value v;
    const char c = peek();
    if (at_quote()) {
      v.k = py_value::kind::string;
      v.str = parse_string();
    } else if (c == '(' || c == '[') {
      ++pos_;
      const char close = c == '(' ? ')' : ']';
      v.k = c == '(' ? py_value::kind::tuple : py_value::kind::list;
      bool trailing_comma = false;
      skip_space();
      while (!eat(close)) {
        v.items.push_back(parse_value(depth + 1));
        skip_space();
        trailing_comma = false;
        if (eat(close)) break;
        if (!eat(',')) fail(std::string("expected ',' or '") + close + "'");
        trailing_comma = true;
        skip_space();
      }
      // Python: (x) is x, not a tuple; (x,) and (x, y) are tuples.
      if (v.k == py_value::kind::tuple && v.items.size() == 1 && !trailing_comma) {
        py_value inner = std::move(v.items.front());
        return inner;
      }
    } else if (c == '-' || c == '+' || is_digit(c)) {
      v.k = py_value::kind::integer;
      v.integer = parse_integer();
    } else if (is_ident(c)) {
      const std::size_t start = pos_;
      while (!done() && is_ident(text_[pos_])) ++pos_;
      const std::string_view word = text_.substr(start, pos_ - start);
      if (word == "True" || word == "False") {
        v.k = py_value::kind::boolean;
        v.flag = word == "True";
      } else if (word == "None") {
        v.k = py_value::kind::none;
      } else {
        pos_ = start;
        fail("unknown name '" + excerpt(word) + "'");
      }
    } else {
      fail("expected a value");
    }
    return v;
  }

  std::int64_t parse_integer() {
    bool negative = false;
    if (peek() == '-' || peek() == '+') {
      negative = text_[pos_++] == '-';
      skip_space();
    }
    if (!is_digit(peek())) fail("expected digits");
    std::uint64_t magnitude = 0;
    const std::uint64_t limit = negative ? std::uint64_t{1} << 63 : (std::uint64_t{1} << 63) - 1;
    while (is_digit(peek())) {
      const auto d = static_cast<std::uint64_t>(text_[pos_] - '0');
      if (magnitude > (limit - d) / 10) fail("integer does not fit 64 bits");
      magnitude = magnitude * 10 + d;
      ++pos_;
    }
    if (peek() == 'L' || peek() == 'l') ++pos_;  // Python 2 long, e.g. (3L, 4L)
    if (peek() == '.' || peek() == 'e' || peek() == 'E' || peek() == 'x' || peek() == '_' || is_ident(peek())) {
      fail("expected an integer");
    }
    if (negative) return magnitude == (std::uint64_t{1} << 63) ? std::numeric_limits<std::int64_t>::min()
                                                                : -static_cast<std::int64_t>(magnitude);
    return static_cast<std::int64_t>(magnitude);
  }

  std::string_view text_;
  const std::string& source_;
  std::size_t pos_ = 0;
};

// ----------------------------------------------------------------------------------------------------
// Header interpretation

struct header_info {
  dtype type = dtype::f32;
  std::vector<std::int64_t> shape;
  std::size_t bytes = 0;  // of the data
};

dtype parse_descr(const py_value& v, const std::string& source) {
  if (v.k == py_value::kind::list) {
    throw error(errc::unsupported_format,
                source + ": structured dtypes (a list 'descr') are not supported; lowbit reads plain "
                         "float32, float16, int8, uint8, int16, uint16 and int32 arrays");
  }
  if (v.k != py_value::kind::string) {
    throw error(errc::corrupt_data,
                source + ": the header's 'descr' must be a string, found " + kind_name(v.k));
  }
  const std::string& d = v.str;
  char order = '\0';
  std::string_view code = d;
  if (!code.empty() && (code[0] == '<' || code[0] == '>' || code[0] == '|' || code[0] == '=')) {
    order = code[0];
    code.remove_prefix(1);
  }
  static constexpr std::pair<std::string_view, dtype> kCodes[] = {
      {"f4", dtype::f32}, {"f2", dtype::f16}, {"i1", dtype::i8},  {"u1", dtype::u8},
      {"i2", dtype::i16}, {"u2", dtype::u16}, {"i4", dtype::i32},
  };
  for (const auto& [name, t] : kCodes) {
    if (code != name) continue;
    if (order == '>' && dtype_size(t) > 1) {
      throw error(errc::unsupported_format,
                  source + ": big-endian dtype '" + excerpt(d) + "' is not supported (store it little endian, "
                           "e.g. a.astype('<" + std::string(name) + "') in NumPy)");
    }
    return t;
  }
  if (!code.empty() && code[0] == 'O') {
    throw error(errc::unsupported_format,
                source + ": object arrays (dtype '" + excerpt(d) + "') are not supported");
  }
  throw error(errc::unsupported_format,
              source + ": dtype '" + excerpt(d) + "' is not supported; lowbit reads '<f4' (float32), '<f2' "
                       "(float16), '|i1' (int8), '|u1' (uint8), '<i2' (int16), '<u2' (uint16), '<i4' (int32)");
}

header_info interpret_header(const py_dict& dict, const std::string& source) {
  const py_value* descr = nullptr;
  const py_value* fortran = nullptr;
  const py_value* shape = nullptr;
  for (const auto& [key, value] : dict) {
    const py_value** slot = key == "descr" ? &descr : key == "fortran_order" ? &fortran : key == "shape" ? &shape : nullptr;
    if (slot == nullptr) {
      throw error(errc::corrupt_data, source + ": unexpected key '" + excerpt(key) +
                                          "' in the header (a .npy header has exactly 'descr', "
                                          "'fortran_order' and 'shape')");
    }
    if (*slot != nullptr) throw error(errc::corrupt_data, source + ": key '" + key + "' appears twice in the header");
    *slot = &value;
  }
  for (const auto& [p, name] : {std::pair{descr, "descr"}, std::pair{fortran, "fortran_order"}, std::pair{shape, "shape"}}) {
    if (p == nullptr) throw error(errc::corrupt_data, source + ": the header has no '" + name + "' key");
  }

  // Structure first (corrupt_data), then what lowbit supports (unsupported_format).
  if (fortran->k != py_value::kind::boolean) {
    throw error(errc::corrupt_data, source + ": the header's 'fortran_order' must be True or False, found " +
                                        kind_name(fortran->k));
  }
  if (shape->k != py_value::kind::tuple) {
    throw error(errc::corrupt_data, source + ": the header's 'shape' must be a tuple, found " + kind_name(shape->k));
  }
  header_info info;
  std::uint64_t count = 1;
  for (std::size_t i = 0; i < shape->items.size(); ++i) {
    const py_value& d = shape->items[i];
    if (d.k != py_value::kind::integer) {
      throw error(errc::corrupt_data, source + ": shape[" + std::to_string(i) + "] must be an integer, found " +
                                          kind_name(d.k));
    }
    if (d.integer < 0) {
      throw error(errc::corrupt_data, source + ": shape[" + std::to_string(i) + "] = " + std::to_string(d.integer) +
                                          " is negative");
    }
    info.shape.push_back(d.integer);
  }
  // Element count, with overflow detected even when a later dimension is 0 would make it 0.
  bool overflow = false;
  for (const std::int64_t d : info.shape) {
    const auto u = static_cast<std::uint64_t>(d);
    if (u != 0 && count > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()) / u) overflow = true;
    count *= u;
    if (overflow) break;
  }
  const bool empty = std::find(info.shape.begin(), info.shape.end(), 0) != info.shape.end();
  if (overflow && !empty) {
    throw error(errc::corrupt_data, source + ": the element count of shape " + shape_repr(info.shape) +
                                        " overflows 64 bits");
  }
  if (empty) count = 0;

  info.type = parse_descr(*descr, source);
  if (fortran->flag) {
    throw error(errc::unsupported_format,
                source + ": Fortran-order arrays are not supported (save a C-order array, e.g. "
                         "np.ascontiguousarray(a))");
  }
  const std::uint64_t size = dtype_size(info.type);
  if (count > std::numeric_limits<std::size_t>::max() / size) {
    throw error(errc::corrupt_data, source + ": shape " + shape_repr(info.shape) + " of " +
                                        std::string(dtype_name(info.type)) + " has more bytes than memory can address");
  }
  info.bytes = static_cast<std::size_t>(count * size);
  return info;
}

// ----------------------------------------------------------------------------------------------------
// The preamble: magic, version, header length.

struct preamble {
  int major = 1;
  std::size_t header_start = 10;  // offset of the header text
  std::size_t header_len = 0;
};

constexpr std::size_t kMaxPreamble = 12;

preamble parse_preamble(std::span<const std::byte> first, std::uint64_t total, const std::string& source) {
  const std::size_t n = first.size();
  for (std::size_t i = 0; i < kMagic.size() && i < n; ++i) {
    if (std::to_integer<unsigned char>(first[i]) != kMagic[i]) {
      std::string found;
      for (std::size_t j = 0; j < std::min<std::size_t>(n, kMagic.size()); ++j) {
        found += excerpt(std::string(1, static_cast<char>(first[j])));
      }
      throw error(errc::corrupt_data,
                  source + ": not a .npy file (the magic string \\x93NUMPY is missing; found \"" + found + "\")");
    }
  }
  if (n < 8) {
    throw error(errc::truncated_data, source + ": " + std::to_string(total) +
                                          " bytes, shorter than the .npy preamble (magic and version)");
  }
  preamble p;
  p.major = std::to_integer<int>(first[6]);
  const int minor = std::to_integer<int>(first[7]);
  if (p.major < 1 || p.major > 3 || minor != 0) {
    throw error(errc::unsupported_format, source + ": .npy format version " + std::to_string(p.major) + "." +
                                              std::to_string(minor) + " is not supported (1.0, 2.0 and 3.0 are)");
  }
  const std::size_t len_bytes = p.major == 1 ? 2 : 4;
  p.header_start = 8 + len_bytes;
  if (n < p.header_start) {
    throw error(errc::truncated_data, source + ": " + std::to_string(total) + " bytes, shorter than the .npy " +
                                          std::to_string(p.major) + ".0 preamble");
  }
  if (p.major == 1) {
    std::uint16_t len = 0;
    std::memcpy(&len, first.data() + 8, sizeof len);
    p.header_len = len;
  } else {
    std::uint32_t len = 0;
    std::memcpy(&len, first.data() + 8, sizeof len);
    p.header_len = len;
  }
  if (p.header_len > total - p.header_start) {
    throw error(errc::truncated_data, source + ": the header declares " + std::to_string(p.header_len) +
                                          " bytes, only " + std::to_string(total - p.header_start) + " follow");
  }
  return p;
}

void check_data_size(const header_info& info, std::uint64_t available, const std::string& source) {
  const std::string what = "shape " + shape_repr(info.shape) + " of " + std::string(dtype_name(info.type)) +
                           " needs " + std::to_string(info.bytes) + " data bytes";
  if (available < info.bytes) {
    throw error(errc::truncated_data, source + ": " + what + ", the file has only " + std::to_string(available));
  }
  if (available > info.bytes) {
    throw error(errc::corrupt_data, source + ": " + what + ", the file has " +
                                        std::to_string(available - info.bytes) + " more bytes after them");
  }
}

std::uint32_t f16_to_f32_bits(std::uint16_t h) noexcept {
  const std::uint32_t sign = static_cast<std::uint32_t>(h & 0x8000u) << 16;
  const std::uint32_t exp = (h >> 10) & 0x1fu;
  const std::uint32_t man = h & 0x3ffu;
  if (exp == 0x1f) return sign | 0x7f800000u | (man << 13);          // Inf, NaN (payload and quiet bit kept)
  if (exp != 0) return sign | ((exp + (127 - 15)) << 23) | (man << 13);  // normal
  if (man == 0) return sign;                                          // ±0
  // Subnormal man * 2^-24: normalise so that the leading 1 moves to bit 10 (the implicit bit).
  const auto w = static_cast<std::uint32_t>(std::bit_width(man));    // 1..10
  return sign | ((w + 102) << 23) | (((man << (11 - w)) & 0x3ffu) << 13);
}

template <class T>
void append_as_float(std::span<const std::byte> data, std::vector<float>& out) {
  for (std::size_t i = 0; i < out.size(); ++i) {
    T v;
    std::memcpy(&v, data.data() + i * sizeof(T), sizeof(T));
    out[i] = static_cast<float>(v);
  }
}

}  // namespace

// ----------------------------------------------------------------------------------------------------

std::size_t dtype_size(dtype t) noexcept {
  switch (t) {
    case dtype::f32: return 4;
    case dtype::f16: return 2;
    case dtype::i8: return 1;
    case dtype::u8: return 1;
    case dtype::i16: return 2;
    case dtype::u16: return 2;
    case dtype::i32: return 4;
  }
  return 0;
}

std::string_view dtype_name(dtype t) noexcept {
  switch (t) {
    case dtype::f32: return "float32";
    case dtype::f16: return "float16";
    case dtype::i8: return "int8";
    case dtype::u8: return "uint8";
    case dtype::i16: return "int16";
    case dtype::u16: return "uint16";
    case dtype::i32: return "int32";
  }
  return "unknown";
}

std::size_t npy_array::element_count() const {
  for (const std::int64_t d : shape) {
    if (d < 0) throw error(errc::invalid_shape, "npy: negative dimension in shape " + shape_repr(shape));
  }
  if (std::find(shape.begin(), shape.end(), 0) != shape.end()) return 0;
  std::size_t n = 1;
  for (const std::int64_t d : shape) {
    if (n > std::numeric_limits<std::size_t>::max() / static_cast<std::size_t>(d)) {
      throw error(errc::invalid_shape, "npy: the element count of shape " + shape_repr(shape) + " overflows");
    }
    n *= static_cast<std::size_t>(d);
  }
  return n;
}

template <class T>
std::span<const T> npy_array::values() const {
  if (type != dtype_of<T>()) {
    throw error(errc::type_mismatch, "the array holds " + std::string(dtype_name(type)) + ", not " +
                                         std::string(dtype_name(dtype_of<T>())) +
                                         (type == dtype::f16 ? " (use to_float for float16)" : ""));
  }
  if (data.size() % sizeof(T) != 0 || data.size() / sizeof(T) != element_count()) {
    throw error(errc::size_mismatch, std::to_string(data.size()) + " data bytes do not hold the " +
                                         std::to_string(element_count()) + " elements of shape " + shape_repr(shape));
  }
  // operator new aligns the vector's storage for every fundamental type.
  return {reinterpret_cast<const T*>(data.data()), data.size() / sizeof(T)};
}

template std::span<const float> npy_array::values<float>() const;
template std::span<const std::int8_t> npy_array::values<std::int8_t>() const;
template std::span<const std::uint8_t> npy_array::values<std::uint8_t>() const;
template std::span<const std::int16_t> npy_array::values<std::int16_t>() const;
template std::span<const std::uint16_t> npy_array::values<std::uint16_t>() const;
template std::span<const std::int32_t> npy_array::values<std::int32_t>() const;

std::vector<float> to_float(const npy_array& a) {
  const std::size_t size = dtype_size(a.type);
  if (size == 0) throw error(errc::invalid_argument, "unknown dtype " + std::to_string(static_cast<int>(a.type)));
  if (a.data.size() % size != 0 || a.data.size() / size != a.element_count()) {
    throw error(errc::size_mismatch, std::to_string(a.data.size()) + " data bytes do not hold the " +
                                         std::to_string(a.element_count()) + " " + std::string(dtype_name(a.type)) +
                                         " elements of shape " + shape_repr(a.shape));
  }
  std::vector<float> out(a.data.size() / size);
  switch (a.type) {
    case dtype::f32: append_as_float<float>(a.data, out); break;
    case dtype::i8: append_as_float<std::int8_t>(a.data, out); break;
    case dtype::u8: append_as_float<std::uint8_t>(a.data, out); break;
    case dtype::i16: append_as_float<std::int16_t>(a.data, out); break;
    case dtype::u16: append_as_float<std::uint16_t>(a.data, out); break;
    case dtype::i32: append_as_float<std::int32_t>(a.data, out); break;
    case dtype::f16:
      for (std::size_t i = 0; i < out.size(); ++i) {
        std::uint16_t h;
        std::memcpy(&h, a.data.data() + 2 * i, 2);
        out[i] = std::bit_cast<float>(f16_to_f32_bits(h));
      }
      break;
  }
  return out;
}

namespace {

// The header of a whole .npy file, checked against the bytes present; `source` names it in errors.
struct parsed_header {
  header_info info;
  std::size_t data_start;
};
parsed_header parse_header(std::span<const std::byte> file, const std::string& source) {
  const preamble p = parse_preamble(file.first(std::min(file.size(), kMaxPreamble)), file.size(), source);
  const auto* text = reinterpret_cast<const char*>(file.data() + p.header_start);
  const header_info info = interpret_header(header_parser({text, p.header_len}, source).parse(), source);
  const std::size_t data_start = p.header_start + p.header_len;
  check_data_size(info, file.size() - data_start, source);
  return {info, data_start};
}

}  // namespace

npy_array parse_npy(std::span<const std::byte> file) {
  const parsed_header h = parse_header(file, ".npy data");
  npy_array a;
  a.type = h.info.type;
  a.shape = h.info.shape;
  a.data.assign(file.begin() + static_cast<std::ptrdiff_t>(h.data_start), file.end());
  return a;
}

npy_array read_npy(const std::filesystem::path& path) {
  std::vector<std::byte> file = detail::read_file(path);
  std::string source = path.string();  // (not "'" + ...: GCC 12 warns -Wrestrict on that)
  source.insert(source.begin(), '\'');
  source.push_back('\'');
  const parsed_header h = parse_header(file, source);
  npy_array a;
  a.type = h.info.type;
  a.shape = h.info.shape;
  file.erase(file.begin(), file.begin() + static_cast<std::ptrdiff_t>(h.data_start));  // no second copy
  a.data = std::move(file);
  return a;
}

std::vector<std::byte> serialize_npy(const npy_array& a) {
  const char* descr = descr_of(a.type);
  if (descr == nullptr) throw error(errc::invalid_argument, "unknown dtype " + std::to_string(static_cast<int>(a.type)));
  std::uint64_t count = 1;
  bool overflow = false;
  for (std::size_t i = 0; i < a.shape.size(); ++i) {
    if (a.shape[i] < 0) {
      throw error(errc::invalid_shape, "shape[" + std::to_string(i) + "] = " + std::to_string(a.shape[i]) + " is negative");
    }
    const auto d = static_cast<std::uint64_t>(a.shape[i]);
    if (d != 0 && count > std::numeric_limits<std::size_t>::max() / dtype_size(a.type) / d) overflow = true;
    count *= d;
  }
  if (std::find(a.shape.begin(), a.shape.end(), 0) != a.shape.end()) {
    count = 0;
  } else if (overflow) {
    throw error(errc::invalid_shape, "the element count of shape " + shape_repr(a.shape) + " overflows");
  }
  if (a.data.size() != count * dtype_size(a.type)) {
    throw error(errc::size_mismatch, std::to_string(a.data.size()) + " data bytes given, shape " + shape_repr(a.shape) +
                                         " of " + std::string(dtype_name(a.type)) + " needs " +
                                         std::to_string(count * dtype_size(a.type)));
  }

  std::string header = std::string("{'descr': '") + descr + "', 'fortran_order': False, 'shape': " +
                       shape_repr(a.shape) + ", }";
  if (!a.shape.empty()) header.append(kGrowthAxisMaxDigits - std::to_string(a.shape[0]).size(), ' ');
  // NumPy: hlen = len(header) + 1; padlen = 64 - (prefix + hlen) % 64 (1..64 spaces).
  const std::size_t hlen = header.size() + 1;
  int major = 1;
  std::size_t prefix = 10;
  std::size_t padlen = kArrayAlign - (prefix + hlen) % kArrayAlign;
  if (hlen + padlen > 0xffff) {
    major = 2;
    prefix = 12;
    padlen = kArrayAlign - (prefix + hlen) % kArrayAlign;
    if (hlen + padlen > 0xffffffffu) throw error(errc::invalid_shape, "the .npy header of this shape is too long");
  }
  header.append(padlen, ' ');
  header += '\n';

  std::vector<std::byte> out;
  out.reserve(prefix + header.size() + a.data.size());
  for (const unsigned char c : kMagic) out.push_back(std::byte{c});
  out.push_back(static_cast<std::byte>(major));
  out.push_back(std::byte{0});
  const std::size_t len = header.size();
  for (std::size_t i = 0; i < prefix - 8; ++i) out.push_back(static_cast<std::byte>((len >> (8 * i)) & 0xff));
  for (const char c : header) out.push_back(static_cast<std::byte>(c));
  out.insert(out.end(), a.data.begin(), a.data.end());
  return out;
}

void write_npy(const std::filesystem::path& path, const npy_array& a) {
  detail::write_file(path, serialize_npy(a));
}

template <class T>
void write_npy(const std::filesystem::path& path, std::span<const T> values, std::span<const std::int64_t> shape) {
  npy_array a;
  a.type = dtype_of<T>();
  a.shape.assign(shape.begin(), shape.end());
  a.data.resize(values.size_bytes());
  if (!values.empty()) std::memcpy(a.data.data(), values.data(), values.size_bytes());
  write_npy(path, a);
}

template void write_npy<float>(const std::filesystem::path&, std::span<const float>, std::span<const std::int64_t>);
template void write_npy<std::int8_t>(const std::filesystem::path&, std::span<const std::int8_t>,
                                     std::span<const std::int64_t>);
template void write_npy<std::uint8_t>(const std::filesystem::path&, std::span<const std::uint8_t>,
                                      std::span<const std::int64_t>);
template void write_npy<std::int16_t>(const std::filesystem::path&, std::span<const std::int16_t>,
                                      std::span<const std::int64_t>);
template void write_npy<std::uint16_t>(const std::filesystem::path&, std::span<const std::uint16_t>,
                                       std::span<const std::int64_t>);
template void write_npy<std::int32_t>(const std::filesystem::path&, std::span<const std::int32_t>,
                                      std::span<const std::int64_t>);

}  // namespace lowbit::io
