// .npy reading and writing: known-good files written by hand from the NPY format spec (as NumPy >= 1.24
// writes them), every malformed case refused with its errc, and round trips through files.
#include "lowbit/io/npy.h"

#include <gtest/gtest.h>

#include "support/lowbit_error.h"

#include <bit>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include <unistd.h>

#include "lowbit/error.h"

namespace lowbit::io {
namespace {

using namespace std::literals;

std::vector<std::byte> bytes_of(std::string_view s) {
  std::vector<std::byte> b(s.size());
  if (!s.empty()) std::memcpy(b.data(), s.data(), s.size());
  return b;
}

std::string string_of(const std::vector<std::byte>& b) {
  return std::string(reinterpret_cast<const char*>(b.data()), b.size());
}


// A .npy file with a given header text (not padded) and data, for malformed variants.
std::string npy_file(std::string_view header, std::string_view data = {}, int major = 1) {
  std::string f = "\x93NUMPY"s;
  f += static_cast<char>(major);
  f += '\0';
  const auto len = static_cast<std::uint32_t>(header.size());
  for (int i = 0; i < (major == 1 ? 2 : 4); ++i) f += static_cast<char>((len >> (8 * i)) & 0xff);
  f += header;
  f += data;
  return f;
}

npy_array parse(std::string_view file) { return parse_npy(bytes_of(file)); }

errc parse_error(std::string_view file, std::string_view needle = {}) {
  return error_of([&] { parse(file); }, needle);
}

std::string header_with(std::string_view descr, std::string_view shape, std::string_view fortran = "False") {
  return "{'descr': '" + std::string(descr) + "', 'fortran_order': " + std::string(fortran) +
         ", 'shape': " + std::string(shape) + ", }\n";
}

std::filesystem::path temp_path(const std::string& name) {
  return std::filesystem::temp_directory_path() / ("lowbit_npy_test_" + std::to_string(::getpid()) + "_" + name);
}

// ---- Known-good files, byte for byte as NumPy >= 1.24 np.save writes them --------------------------

// np.save(f, np.array([[1, 2, 3], [4, 5, 6]], dtype='<f4')): header length 0x76, data at byte 128.
constexpr std::string_view kF32x2x3 =
    "\x93NUMPY\x01\x00\x76\x00"
    "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }"
    "          ""          "  // 20 spaces: GROWTH_AXIS_MAX_DIGITS (21) - len('2')
    "          ""          ""          ""        "  // 38 spaces: pad to 128 bytes (with the '\n')
    "\n"
    "\x00\x00\x80\x3f" "\x00\x00\x00\x40" "\x00\x00\x40\x40"
    "\x00\x00\x80\x40" "\x00\x00\xa0\x40" "\x00\x00\xc0\x40"sv;

// np.save(f, np.uint8(7)) (a 0-d array): no growth padding for shape ().
constexpr std::string_view kU8Scalar =
    "\x93NUMPY\x01\x00\x76\x00"
    "{'descr': '|u1', 'fortran_order': False, 'shape': (), }"
    "          ""          ""          ""          ""          ""          ""  "  // 62 spaces
    "\n"
    "\x07"sv;

// np.save(f, np.array([-32768, -1, 0, 1, 32767], dtype='<i2')): a 1-tuple shape.
constexpr std::string_view kI16x5 =
    "\x93NUMPY\x01\x00\x76\x00"
    "{'descr': '<i2', 'fortran_order': False, 'shape': (5,), }"
    "          ""          "                      // 20 spaces of growth padding
    "          ""          ""          ""          "  // 40 spaces of alignment padding
    "\n"
    "\x00\x80" "\xff\xff" "\x00\x00" "\x01\x00" "\xff\x7f"sv;

TEST(Npy, DtypeTable) {
  EXPECT_EQ(dtype_size(dtype::f32), 4u);
  EXPECT_EQ(dtype_size(dtype::f16), 2u);
  EXPECT_EQ(dtype_size(dtype::i8), 1u);
  EXPECT_EQ(dtype_size(dtype::u8), 1u);
  EXPECT_EQ(dtype_size(dtype::i16), 2u);
  EXPECT_EQ(dtype_size(dtype::u16), 2u);
  EXPECT_EQ(dtype_size(dtype::i32), 4u);
  EXPECT_EQ(dtype_name(dtype::f32), "float32");
  EXPECT_EQ(dtype_name(dtype::f16), "float16");
  EXPECT_EQ(dtype_name(dtype::u16), "uint16");
  EXPECT_EQ(dtype_name(dtype::i32), "int32");
}

TEST(Npy, ParsesKnownFloat32Matrix) {
  ASSERT_EQ(kF32x2x3.size(), 128u + 24u);
  const npy_array a = parse(kF32x2x3);
  EXPECT_EQ(a.type, dtype::f32);
  EXPECT_EQ(a.shape, (std::vector<std::int64_t>{2, 3}));
  EXPECT_EQ(a.element_count(), 6u);
  const auto v = a.values<float>();
  EXPECT_EQ(std::vector<float>(v.begin(), v.end()), (std::vector<float>{1, 2, 3, 4, 5, 6}));
  EXPECT_EQ(to_float(a), (std::vector<float>{1, 2, 3, 4, 5, 6}));
}

TEST(Npy, ParsesKnownScalarAndVector) {
  const npy_array s = parse(kU8Scalar);
  EXPECT_EQ(s.type, dtype::u8);
  EXPECT_TRUE(s.shape.empty());
  EXPECT_EQ(s.element_count(), 1u);
  ASSERT_EQ(s.values<std::uint8_t>().size(), 1u);
  EXPECT_EQ(s.values<std::uint8_t>()[0], 7);

  const npy_array v = parse(kI16x5);
  EXPECT_EQ(v.type, dtype::i16);
  EXPECT_EQ(v.shape, (std::vector<std::int64_t>{5}));
  const auto x = v.values<std::int16_t>();
  EXPECT_EQ(std::vector<std::int16_t>(x.begin(), x.end()), (std::vector<std::int16_t>{-32768, -1, 0, 1, 32767}));
}

TEST(Npy, WritesNumPysBytes) {
  npy_array a;
  a.type = dtype::f32;
  a.shape = {2, 3};
  const float v[] = {1, 2, 3, 4, 5, 6};
  a.data = bytes_of({reinterpret_cast<const char*>(v), sizeof v});
  EXPECT_EQ(string_of(serialize_npy(a)), kF32x2x3);

  npy_array s;
  s.type = dtype::u8;
  s.data = {std::byte{7}};
  EXPECT_EQ(string_of(serialize_npy(s)), kU8Scalar);

  EXPECT_EQ(string_of(serialize_npy(parse(kI16x5))), kI16x5);
}

TEST(Npy, HeaderDictionaryVariants) {
  const std::string data = "\x01\x00\x02\x00\x03\x00"s;  // int16 1, 2, 3
  const std::string variants[] = {
      "{'shape': (3,), 'fortran_order': False, 'descr': '<i2'}",         // any key order, no trailing comma
      "{ \"descr\" : \"<i2\" ,\n 'fortran_order':False,'shape':( 3 , ) , }  \n",  // spaces, double quotes
      "{'descr': '=i2', 'fortran_order': False, 'shape': (3,)}",         // native order = little endian
      "{'descr': 'i2', 'fortran_order': False, 'shape': (3L,)}",         // no order, Python 2 long
      "{u'descr': u'<i2', 'fortran_order': False, 'shape': (+3,)}\t",    // Python 2 unicode literals
  };
  for (const auto& h : variants) {
    SCOPED_TRACE(h);
    for (const int major : {1, 2, 3}) {
      const npy_array a = parse(npy_file(h, data, major));
      EXPECT_EQ(a.type, dtype::i16);
      EXPECT_EQ(a.shape, (std::vector<std::int64_t>{3}));
      EXPECT_EQ(to_float(a), (std::vector<float>{1, 2, 3}));
    }
  }
  // Multi-dimensional, 0-d and empty shapes; the data need not be aligned.
  EXPECT_EQ(parse(npy_file(header_with("|i1", "(1, 2, 1)"), "\x05\xfb")).values<std::int8_t>()[1], -5);
  EXPECT_EQ(parse(npy_file(header_with("<i4", "()"), "\x01\x02\x03\x04")).values<std::int32_t>()[0], 0x04030201);
  const npy_array empty = parse(npy_file(header_with("<f4", "(0, 3)")));
  EXPECT_EQ(empty.element_count(), 0u);
  EXPECT_TRUE(empty.values<float>().empty());
  // A zero dimension makes any other dimension harmless: NumPy reads np.empty((0, 2**62)) back.
  EXPECT_EQ(parse(npy_file(header_with("<f4", "(4611686018427387904, 0, 4611686018427387904)"))).element_count(), 0u);
  // A hand-built array whose shape overflows size_t has no element count (it is not 0, nor wrapped).
  npy_array huge;
  huge.shape = {std::int64_t{1} << 32, std::int64_t{1} << 32};
  EXPECT_EQ(error_of([&] { (void)huge.element_count(); }, "overflows"), errc::invalid_shape);
  EXPECT_EQ(error_of([&] { (void)huge.values<float>(); }), errc::invalid_shape);
  huge.shape = {(std::int64_t{1} << 62) + 1, 4};
  huge.data.resize(16);
  EXPECT_EQ(error_of([&] { (void)to_float(huge); }), errc::invalid_shape);
  huge.shape = {std::int64_t{1} << 32, 0, std::int64_t{1} << 32};
  EXPECT_EQ(huge.element_count(), 0u);
  huge.shape = {0, -1};
  EXPECT_EQ(error_of([&] { (void)huge.element_count(); }, "negative"), errc::invalid_shape);
  // Byte order is irrelevant for one-byte types.
  EXPECT_EQ(parse(npy_file(header_with(">u1", "(1,)"), "\xff")).values<std::uint8_t>()[0], 255);
  EXPECT_EQ(parse(npy_file(header_with("<i1", "(1,)"), "\xff")).values<std::int8_t>()[0], -1);
}

TEST(Npy, EveryDtypeReads) {
  struct item {
    const char* descr;
    dtype type;
    std::string data;
    std::vector<float> expected;
  };
  const item items[] = {
      {"<f4", dtype::f32, "\x00\x00\xc0\xbf"s, {-1.5f}},
      {"<f2", dtype::f16, "\x00\x3e"s, {1.5f}},
      {"|i1", dtype::i8, "\x80"s, {-128.0f}},
      {"|u1", dtype::u8, "\xff"s, {255.0f}},
      {"<i2", dtype::i16, "\x00\x80"s, {-32768.0f}},
      {"<u2", dtype::u16, "\xff\xff"s, {65535.0f}},
      {"<i4", dtype::i32, "\x01\x00\x00\x01"s, {16777216.0f}},  // 2^24 + 1 rounds to even
  };
  for (const auto& it : items) {
    SCOPED_TRACE(it.descr);
    const npy_array a = parse(npy_file(header_with(it.descr, "(1,)"), it.data));
    EXPECT_EQ(a.type, it.type);
    EXPECT_EQ(to_float(a), it.expected);
  }
}

TEST(Npy, Float16ToFloatIsExact) {
  // Every binary16 pattern against value = (-1)^s * m * 2^e computed independently in double.
  for (std::uint32_t h = 0; h < 0x10000; ++h) {
    const bool neg = (h & 0x8000) != 0;
    const std::uint32_t e = (h >> 10) & 0x1f, m = h & 0x3ff;
    npy_array a;
    a.type = dtype::f16;
    a.shape = {1};
    a.data = {std::byte(h & 0xff), std::byte(h >> 8)};
    const float f = to_float(a)[0];
    if (e == 0x1f && m != 0) {
      ASSERT_TRUE(std::isnan(f)) << h;
      EXPECT_EQ(std::signbit(f), neg) << h;
      EXPECT_EQ((std::bit_cast<std::uint32_t>(f) >> 13) & 0x3ff, m) << h;  // payload kept
      continue;
    }
    double expected = e == 0x1f ? std::numeric_limits<double>::infinity()
                      : e == 0  ? std::ldexp(static_cast<double>(m), -24)
                                : std::ldexp(static_cast<double>(m + 1024), static_cast<int>(e) - 25);
    if (neg) expected = -expected;
    ASSERT_EQ(std::bit_cast<std::uint32_t>(f), std::bit_cast<std::uint32_t>(static_cast<float>(expected))) << h;
  }
  // A few by name.
  npy_array a;
  a.type = dtype::f16;
  a.shape = {6};
  a.data = bytes_of("\x00\x3c" "\x00\xc0" "\xff\x7b" "\x01\x00" "\x00\x7c" "\x00\x80"sv);
  const std::vector<float> f = to_float(a);
  EXPECT_EQ(f[0], 1.0f);
  EXPECT_EQ(f[1], -2.0f);
  EXPECT_EQ(f[2], 65504.0f);
  EXPECT_EQ(f[3], std::ldexp(1.0f, -24));
  EXPECT_EQ(f[4], std::numeric_limits<float>::infinity());
  EXPECT_TRUE(f[5] == 0.0f && std::signbit(f[5]));
}

// ---- Malformed files: each refused with its errc and a message naming what was found ---------------

TEST(NpyMalformed, PreambleAndMagic) {
  EXPECT_EQ(parse_error(""sv, "shorter than the .npy preamble"), errc::truncated_data);
  EXPECT_EQ(parse_error("\x93NUM"sv), errc::truncated_data);
  EXPECT_EQ(parse_error("\x93NUMPY\x01"sv), errc::truncated_data);
  EXPECT_EQ(parse_error("\x93NUMPY\x01\x00\x10"sv), errc::truncated_data);
  EXPECT_EQ(parse_error("\x93NUMPY\x02\x00\x10\x00\x00"sv), errc::truncated_data);
  EXPECT_EQ(parse_error("PK\x03\x04\x14\x00\x00\x00\x08\x00"sv, "magic"), errc::corrupt_data);  // an .npz
  EXPECT_EQ(parse_error("\x93numpy\x01\x00\x00\x00"sv, "magic"), errc::corrupt_data);
  EXPECT_EQ(parse_error("x"sv, "magic"), errc::corrupt_data);
  std::string v4 = npy_file(header_with("<f4", "(0,)"));
  v4[6] = 4;
  EXPECT_EQ(parse_error(v4, "version 4.0"), errc::unsupported_format);
  std::string v11 = npy_file(header_with("<f4", "(0,)"));
  v11[7] = 1;
  EXPECT_EQ(parse_error(v11, "version 1.1"), errc::unsupported_format);
}

TEST(NpyMalformed, HeaderLongerThanFile) {
  std::string f = npy_file(header_with("<f4", "(0,)"));
  f.resize(f.size() - 1);
  EXPECT_EQ(parse_error(f, "header declares"), errc::truncated_data);
  // A 2.0 header length of 4 GiB - 1 fails at once.
  EXPECT_EQ(parse_error("\x93NUMPY\x02\x00\xff\xff\xff\xff{}"sv, "header declares 4294967295"), errc::truncated_data);
}

TEST(NpyMalformed, BadDictionary) {
  const std::string bad[] = {
      "",
      "[1, 2]",
      "{'descr': '<f4', 'fortran_order': False, 'shape': (1,)",  // no closing brace
      "{'descr': '<f4, 'fortran_order': False, 'shape': (1,)}",  // quote mismatch
      "{'descr': '<f4' 'fortran_order': False, 'shape': (1,)}",  // missing comma
      "{'descr': '<f4', 'fortran_order': false, 'shape': (1,)}",  // JSON, not Python
      "{'descr': '<f4', 'fortran_order': False, 'shape': (1,)} x",
      "{'descr': '<f4', 'fortran_order': False, 'shape': (1,),,}",
      "{descr: '<f4', 'fortran_order': False, 'shape': (1,)}",
      "{'descr': '<f4', 'fortran_order': False, 'shape': (1,2,,)}",
      "{'descr': '<f4', 'fortran_order': False, 'shape': (,)}",
      "{'descr': '<f4', 'fortran_order': False, 'shape': (1.0,)}",
      "{'descr': '<f4', 'fortran_order': False, 'shape': (0x10,)}",
      "{'descr': '<f4', 'fortran_order': False, 'shape': (1e3,)}",
      "{'descr': '<f4', 'fortran_order': False, 'shape': (1,)}\0"s,
      "{'descr': '<f4', 'fortran_order': False, 'shape': (\xc3\xa9,)}",
      "{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999,)}",
      "{'descr': '<f4', 'fortran_order': False, 'shape': (" + std::string(1000, '(') + "1" + std::string(1000, ')') + ",)}",
  };
  for (const auto& h : bad) {
    SCOPED_TRACE(h.substr(0, 80));
    EXPECT_EQ(parse_error(npy_file(h), "bad header dictionary"), errc::corrupt_data);
  }
}

TEST(NpyMalformed, WrongKeysAndTypes) {
  EXPECT_EQ(parse_error(npy_file("{'descr': '<f4', 'fortran_order': False}"), "'shape'"), errc::corrupt_data);
  EXPECT_EQ(parse_error(npy_file("{'shape': (1,), 'fortran_order': False}"), "'descr'"), errc::corrupt_data);
  EXPECT_EQ(parse_error(npy_file("{'shape': (0,), 'descr': '<f4'}"), "'fortran_order'"), errc::corrupt_data);
  EXPECT_EQ(parse_error(npy_file("{}"), "no 'descr'"), errc::corrupt_data);
  EXPECT_EQ(parse_error(npy_file("{'descr': '<f4', 'fortran_order': False, 'shape': (0,), 'x': 1}"), "'x'"),
            errc::corrupt_data);
  EXPECT_EQ(parse_error(npy_file("{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (0,)}"), "twice"),
            errc::corrupt_data);
  EXPECT_EQ(parse_error(npy_file(header_with("<f4", "(0,)", "0")), "'fortran_order'"), errc::corrupt_data);
  EXPECT_EQ(parse_error(npy_file(header_with("<f4", "(0,)", "None")), "'fortran_order'"), errc::corrupt_data);
  EXPECT_EQ(parse_error(npy_file("{'descr': 4, 'fortran_order': False, 'shape': (0,)}"), "'descr'"), errc::corrupt_data);
  EXPECT_EQ(parse_error(npy_file(header_with("<f4", "(5)")), "must be a tuple, found an integer"), errc::corrupt_data);
  EXPECT_EQ(parse_error(npy_file(header_with("<f4", "[5]")), "must be a tuple, found a list"), errc::corrupt_data);
  EXPECT_EQ(parse_error(npy_file(header_with("<f4", "5")), "must be a tuple"), errc::corrupt_data);
  EXPECT_EQ(parse_error(npy_file(header_with("<f4", "('5',)")), "shape[0] must be an integer"), errc::corrupt_data);
  EXPECT_EQ(parse_error(npy_file(header_with("<f4", "(2, (3,))")), "shape[1] must be an integer"), errc::corrupt_data);
  EXPECT_EQ(parse_error(npy_file(header_with("<f4", "(2, None)")), "shape[1]"), errc::corrupt_data);
}

TEST(NpyMalformed, NegativeAndOverflowingShapes) {
  EXPECT_EQ(parse_error(npy_file(header_with("<f4", "(-1,)")), "shape[0] = -1 is negative"), errc::corrupt_data);
  EXPECT_EQ(parse_error(npy_file(header_with("<f4", "(2, -3)")), "shape[1] = -3 is negative"), errc::corrupt_data);
  EXPECT_EQ(parse_error(npy_file(header_with("<f4", "(-9223372036854775808,)")), "negative"), errc::corrupt_data);
  EXPECT_EQ(parse_error(npy_file(header_with("<f4", "(1099511627776, 1099511627776)")), "overflows"),
            errc::corrupt_data);
  EXPECT_EQ(parse_error(npy_file(header_with("|u1", "(9223372036854775807, 2)")), "overflows"), errc::corrupt_data);
  // 2^62 float32 elements: 2^64 bytes.
  EXPECT_EQ(parse_error(npy_file(header_with("<f4", "(4611686018427387904,)")), "more bytes than memory"),
            errc::corrupt_data);
}

TEST(NpyMalformed, HugeDeclaredShapeFailsWithoutAllocating) {
  // 2^60 int8 elements (an exabyte) and 2^61 float32 ones, with 4 data bytes present: refused before any
  // allocation (under ASan an allocation of that size would abort the test).
  EXPECT_EQ(parse_error(npy_file(header_with("|i1", "(1152921504606846976,)"), "abcd"), "needs 1152921504606846976"),
            errc::truncated_data);
  EXPECT_EQ(parse_error(npy_file(header_with("<f4", "(2305843009213693952,)"), "abcd")), errc::truncated_data);
  EXPECT_EQ(parse_error(npy_file(header_with("<f4", "(65536, 65536, 65536)"), "abcd")), errc::truncated_data);
}

TEST(NpyMalformed, UnsupportedDtypesAndOrder) {
  EXPECT_EQ(parse_error(npy_file(header_with("<f4", "(0,)", "True")), "Fortran"), errc::unsupported_format);
  EXPECT_EQ(parse_error(npy_file(header_with(">f4", "(1,)"), "abcd"), "big-endian dtype '>f4'"),
            errc::unsupported_format);
  EXPECT_EQ(parse_error(npy_file(header_with(">i2", "(1,)"), "ab"), "big-endian"), errc::unsupported_format);
  EXPECT_EQ(parse_error(npy_file(header_with("|O", "(1,)"), "abcdefgh"), "object arrays"), errc::unsupported_format);
  EXPECT_EQ(parse_error(npy_file(header_with("<f8", "(1,)"), "abcdefgh"), "dtype '<f8'"), errc::unsupported_format);
  EXPECT_EQ(parse_error(npy_file(header_with("<i8", "(1,)"), "abcdefgh"), "dtype '<i8'"), errc::unsupported_format);
  EXPECT_EQ(parse_error(npy_file(header_with("|b1", "(1,)"), "a"), "dtype '|b1'"), errc::unsupported_format);
  EXPECT_EQ(parse_error(npy_file(header_with("<u4", "(1,)"), "abcd"), "dtype '<u4'"), errc::unsupported_format);
  EXPECT_EQ(parse_error(npy_file(header_with("<U3", "(1,)"), "abcdefghijkl"), "dtype '<U3'"), errc::unsupported_format);
  EXPECT_EQ(parse_error(npy_file(header_with("", "(1,)"), "a"), "dtype ''"), errc::unsupported_format);
  EXPECT_EQ(parse_error(npy_file("{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (1,)}", "abcd"),
                        "structured"),
            errc::unsupported_format);
}

TEST(NpyMalformed, DataSizeMismatch) {
  const std::string good(kF32x2x3);
  EXPECT_EQ(parse_error(good.substr(0, good.size() - 1), "needs 24 data bytes, the file has only 23"),
            errc::truncated_data);
  EXPECT_EQ(parse_error(good + "x", "1 more bytes"), errc::corrupt_data);
  // Every truncation of a valid file is truncated_data.
  for (std::size_t n = 0; n < good.size(); ++n) {
    EXPECT_EQ(parse_error(std::string_view(good).substr(0, n)), errc::truncated_data) << n;
  }
}

TEST(NpyMalformed, RandomCorruptionThrowsOnlyLowbitErrors) {
  // Flip random bytes of valid files: each result parses or throws lowbit::error, never anything else
  // (and runs clean under ASan / UBSan).
  std::mt19937 rng(1234);
  const std::string files[] = {std::string(kF32x2x3), std::string(kU8Scalar), std::string(kI16x5),
                               npy_file(header_with("<f2", "(2, 1)"), "abcd", 2)};
  int parsed = 0, refused = 0;
  for (int trial = 0; trial < 20000; ++trial) {
    std::string f = files[trial % 4];
    const int flips = 1 + static_cast<int>(rng() % 3);
    for (int k = 0; k < flips; ++k) {
      const std::size_t at = rng() % f.size();
      f[at] = static_cast<char>(rng() % 3 == 0 ? rng() : "0123456789(),' -:{}TF"[rng() % 21]);
    }
    try {
      const npy_array a = parse(f);
      EXPECT_EQ(a.data.size(), a.element_count() * dtype_size(a.type));
      ++parsed;
    } catch (const error&) {
      ++refused;
    }
  }
  EXPECT_GT(refused, 0);
  EXPECT_GT(parsed, 0);
}

// ---- Writing -----------------------------------------------------------------------------------------

TEST(NpyWrite, HeaderAlignmentAndRoundTrip) {
  const std::vector<std::vector<std::int64_t>> shapes = {{}, {0}, {1}, {7}, {3, 5}, {2, 3, 4}, {1, 1, 1, 1, 1, 1, 1},
                                                         {123456789, 0}};
  std::mt19937 rng(7);
  for (const auto& shape : shapes) {
    for (const dtype t : {dtype::f32, dtype::f16, dtype::i8, dtype::u8, dtype::i16, dtype::u16, dtype::i32}) {
      npy_array a;
      a.type = t;
      a.shape = shape;
      a.data.resize(a.element_count() * dtype_size(t));
      for (auto& b : a.data) b = static_cast<std::byte>(rng());
      const std::vector<std::byte> f = serialize_npy(a);
      const std::size_t data_start = f.size() - a.data.size();
      EXPECT_EQ(data_start % 64, 0u);
      EXPECT_EQ(f[data_start - 1], std::byte{'\n'});
      EXPECT_EQ(f[6], std::byte{1});
      const npy_array b = parse_npy(f);
      EXPECT_EQ(b.type, a.type);
      EXPECT_EQ(b.shape, a.shape);
      EXPECT_EQ(b.data, a.data);
    }
  }
}

TEST(NpyWrite, LongHeaderUsesVersion2) {
  npy_array a;
  a.type = dtype::i8;
  a.shape.assign(22000, 1);  // "1, " * 22000: a header beyond 65535 bytes
  a.data = {std::byte{42}};
  const std::vector<std::byte> f = serialize_npy(a);
  EXPECT_EQ(f[6], std::byte{2});
  EXPECT_EQ((f.size() - 1) % 64, 0u);
  const npy_array b = parse_npy(f);
  EXPECT_EQ(b.shape, a.shape);
  EXPECT_EQ(b.values<std::int8_t>()[0], 42);
}

TEST(NpyWrite, RefusesInconsistentArrays) {
  npy_array a;
  a.type = dtype::f32;
  a.shape = {2, 2};
  a.data.resize(12);
  EXPECT_EQ(error_of([&] { serialize_npy(a); }, "12 data bytes"), errc::size_mismatch);
  a.shape = {-2, -2};
  a.data.resize(16);
  EXPECT_EQ(error_of([&] { serialize_npy(a); }, "shape[0] = -2"), errc::invalid_shape);
  a.shape = {std::int64_t{1} << 40, std::int64_t{1} << 40};
  EXPECT_EQ(error_of([&] { serialize_npy(a); }, "overflows"), errc::invalid_shape);
}

TEST(NpyValues, TypeChecked) {
  const npy_array a = parse(kF32x2x3);
  EXPECT_EQ(error_of([&] { a.values<std::int32_t>(); }, "float32, not int32"), errc::type_mismatch);
  npy_array h;
  h.type = dtype::f16;
  h.shape = {1};
  h.data.resize(2);
  EXPECT_EQ(error_of([&] { h.values<std::uint16_t>(); }, "to_float"), errc::type_mismatch);
  npy_array bad = a;
  bad.data.pop_back();
  EXPECT_EQ(error_of([&] { bad.values<float>(); }), errc::size_mismatch);
  EXPECT_EQ(error_of([&] { to_float(bad); }), errc::size_mismatch);
}

// ---- Files -------------------------------------------------------------------------------------------

template <class T>
void file_round_trip(std::vector<T> values, std::vector<std::int64_t> shape) {
  const auto path = temp_path(std::string(dtype_name(dtype_of<T>())) + ".npy");
  write_npy<T>(path, values, shape);
  const npy_array a = read_npy(path);
  EXPECT_EQ(a.type, dtype_of<T>());
  EXPECT_EQ(a.shape, shape);
  const auto v = a.values<T>();
  EXPECT_EQ(std::vector<T>(v.begin(), v.end()), values);
  std::ifstream in(path, std::ios::binary);
  const std::string on_disk((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(on_disk, string_of(serialize_npy(a)));
  std::filesystem::remove(path);
}

TEST(NpyFile, RoundTripEveryType) {
  file_round_trip<float>({-0.0f, 1.5f, std::numeric_limits<float>::infinity(), std::numeric_limits<float>::denorm_min(),
                          std::numeric_limits<float>::max(), 3.25f},
                         {2, 3});
  file_round_trip<std::int8_t>({-128, -1, 0, 127}, {4});
  file_round_trip<std::uint8_t>({0, 255, 9}, {3, 1});
  file_round_trip<std::int16_t>({-32768, 32767}, {1, 2});
  file_round_trip<std::uint16_t>({65535}, {});
  file_round_trip<std::int32_t>({std::numeric_limits<std::int32_t>::min(), 0, std::numeric_limits<std::int32_t>::max()},
                                {3});
  file_round_trip<float>({}, {0, 5});

  const auto path = temp_path("f16.npy");
  npy_array h;
  h.type = dtype::f16;
  h.shape = {2};
  h.data = bytes_of("\x00\x3c\x01\x80"sv);
  write_npy(path, h);
  const npy_array back = read_npy(path);
  EXPECT_EQ(back.type, dtype::f16);
  EXPECT_EQ(back.data, h.data);
  EXPECT_EQ(to_float(back)[1], -std::ldexp(1.0f, -24));
  std::filesystem::remove(path);
}

TEST(NpyFile, WriteChecksShapeAgainstValues) {
  const auto path = temp_path("mismatch.npy");
  const float v[] = {1, 2, 3};
  const std::int64_t shape[] = {2, 2};
  EXPECT_EQ(error_of([&] { write_npy<float>(path, v, shape); }), errc::size_mismatch);
  const std::int64_t negative[] = {-3};
  EXPECT_EQ(error_of([&] { write_npy<float>(path, v, negative); }), errc::invalid_shape);
  EXPECT_FALSE(std::filesystem::exists(path));
}

TEST(NpyFile, IoFailuresNameThePath) {
  const auto missing = temp_path("does_not_exist.npy");
  EXPECT_EQ(error_of([&] { read_npy(missing); }, missing.string()), errc::io_failure);
  const auto dir = temp_path("dir");
  std::filesystem::create_directories(dir);
  EXPECT_EQ(error_of([&] { read_npy(dir); }, dir.string()), errc::io_failure);
  const auto in_missing_dir = dir / "no" / "such" / "x.npy";
  const float v[] = {1};
  const std::int64_t shape[] = {1};
  EXPECT_EQ(error_of([&] { write_npy<float>(in_missing_dir, v, shape); }, in_missing_dir.string()), errc::io_failure);
  std::filesystem::remove_all(dir);
}

TEST(NpyFile, MalformedFilesOnDisk) {
  const auto path = temp_path("bad.npy");
  const auto write = [&](std::string_view content) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(content.data(), static_cast<std::streamsize>(content.size()));
  };
  write(npy_file(header_with("<f4", "(1152921504606846976,)"), "abcd"));
  EXPECT_EQ(error_of([&] { read_npy(path); }, path.string()), errc::truncated_data);
  write(std::string(kF32x2x3).substr(0, 100));
  EXPECT_EQ(error_of([&] { read_npy(path); }, "header declares"), errc::truncated_data);
  write(std::string(kF32x2x3).substr(0, 5));
  EXPECT_EQ(error_of([&] { read_npy(path); }), errc::truncated_data);
  write("");
  EXPECT_EQ(error_of([&] { read_npy(path); }), errc::truncated_data);
  write(std::string(kF32x2x3) + "trailing");
  EXPECT_EQ(error_of([&] { read_npy(path); }, "8 more bytes"), errc::corrupt_data);
  write(npy_file(header_with(">f4", "(1,)"), "abcd"));
  EXPECT_EQ(error_of([&] { read_npy(path); }, "big-endian"), errc::unsupported_format);
  write(npy_file(header_with("<f4", "(-4,)"), "abcd", 3));
  EXPECT_EQ(error_of([&] { read_npy(path); }, "negative"), errc::corrupt_data);
  write(kI16x5);
  EXPECT_EQ(read_npy(path).values<std::int16_t>()[4], 32767);
  std::filesystem::remove(path);
}

}  // namespace
}  // namespace lowbit::io
