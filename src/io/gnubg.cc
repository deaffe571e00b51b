// lowbit — GNU Backgammon's binary neural-network weights (gnubg.wd): read.
// SPDX-License-Identifier: Apache-2.0
#include "lowbit/io/gnubg.h"

#include <array>
#include <bit>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>

#include "lowbit/error.h"
#include "src/io/file.h"

namespace lowbit::io {
namespace {

// Little-endian decoding from bytes, whatever the host's byte order and the input's alignment.
std::uint32_t load_u32le(const std::byte* p) noexcept {
  std::array<unsigned char, 4> b;
  std::memcpy(b.data(), p, 4);
  return static_cast<std::uint32_t>(b[0]) | (static_cast<std::uint32_t>(b[1]) << 8) |
         (static_cast<std::uint32_t>(b[2]) << 16) | (static_cast<std::uint32_t>(b[3]) << 24);
}
std::int32_t load_i32le(const std::byte* p) noexcept { return std::bit_cast<std::int32_t>(load_u32le(p)); }
float load_f32le(const std::byte* p) noexcept { return std::bit_cast<float>(load_u32le(p)); }

std::string hex_bytes(std::span<const std::byte> bytes) {
  std::string s;
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    char buf[4];
    std::snprintf(buf, sizeof buf, "%02x", static_cast<unsigned>(bytes[i]));
    if (i) s += ' ';
    s += buf;
  }
  return s;
}

// The shortest %g text (6 to 9 significant digits) that reads back as v: 0.12f -> "0.12".
std::string float_text(float v) {
  char buf[48];
  for (int digits = 6; digits <= 9; ++digits) {
    std::snprintf(buf, sizeof buf, "%.*g", digits, static_cast<double>(v));
    if (std::isnan(v) || std::strtof(buf, nullptr) == v) break;
  }
  return buf;
}

std::string network_label(std::size_t index, std::size_t offset) {
  return "network " + std::to_string(index) + " (header at byte " + std::to_string(offset) + ")";
}

// Checks the magic number and the version; throws as documented in the header.
void check_file_header(std::span<const std::byte> file) {
  if (file.empty()) throw error(errc::truncated_data, "the file is empty (a gnubg.wd file starts with 8 header bytes)");
  constexpr std::string_view text_magic = "GNU Backgammon";
  if (file.size() >= text_magic.size() &&
      std::memcmp(file.data(), text_magic.data(), text_magic.size()) == 0) {
    throw error(errc::unsupported_format,
                "this is gnubg's text weights format (\"GNU Backgammon ...\", gnubg.weights); lowbit reads the "
                "binary float32 format (gnubg.wd)");
  }
  if (file.size() < 4) {
    throw error(errc::truncated_data, "the file has " + std::to_string(file.size()) +
                                          " bytes, fewer than the 4 of the magic number");
  }
  const std::uint32_t magic_bits = std::bit_cast<std::uint32_t>(gnubg_magic);
  const std::uint32_t found = load_u32le(file.data());
  if (found != magic_bits) {
    const std::uint32_t swapped = (magic_bits >> 24) | ((magic_bits >> 8) & 0xff00u) |
                                  ((magic_bits << 8) & 0xff0000u) | (magic_bits << 24);
    if (found == swapped) {
      throw error(errc::unsupported_format,
                  "the magic number 472.3782 is stored big-endian (bytes " + hex_bytes(file.first(4)) +
                      "); lowbit reads little-endian gnubg.wd files");
    }
    if (file.size() >= 8) {
      std::uint64_t d = 0;
      for (int i = 7; i >= 0; --i) d = (d << 8) | static_cast<std::uint64_t>(file[static_cast<std::size_t>(i)]);
      if (std::bit_cast<double>(d) == static_cast<double>(gnubg_magic) || std::bit_cast<double>(d) == 472.3782) {
        throw error(errc::unsupported_format,
                    "the magic number 472.3782 is stored as float64: the weights were written as doubles; "
                    "gnubg.wd stores float32");
      }
    }
    throw error(errc::corrupt_data, "bad magic number: bytes " + hex_bytes(file.first(4)) + " (float " +
                                        float_text(load_f32le(file.data())) +
                                        "), expected 69 30 ec 43 (float 472.3782)");
  }
  if (file.size() < gnubg_file_header_size) {
    throw error(errc::truncated_data, "the file has " + std::to_string(file.size()) +
                                          " bytes and ends inside the version number (bytes 4..7)");
  }
  const float version = load_f32le(file.data() + 4);
  if (!std::isfinite(version)) {
    throw error(errc::corrupt_data, "the version number (bytes 4..7: " + hex_bytes(file.subspan(4, 4)) +
                                        ") is " + float_text(version) + ", not a finite number");
  }
  if (version != gnubg_version) {
    throw error(errc::unsupported_format, "weights version " + float_text(version) +
                                              "; lowbit reads version 1 (gnubg 1.x) only");
  }
}

// `field_bytes` are the 4 bytes the value was read from.
void check_dimension(const char* field, std::span<const std::byte> field_bytes, std::size_t index,
                     std::size_t offset) {
  const std::int32_t value = load_i32le(field_bytes.data());
  if (value < 1) {
    throw error(errc::corrupt_data, network_label(index, offset) + ": " + field + " = " + std::to_string(value) +
                                        " must be >= 1");
  }
  if (value > gnubg_max_dimension) {
    throw error(errc::corrupt_data, network_label(index, offset) + ": " + field + " = " + std::to_string(value) +
                                        " (bytes " + hex_bytes(field_bytes) +
                                        ", as float32 " + float_text(std::bit_cast<float>(value)) +
                                        ") is absurd: the limit is " + std::to_string(gnubg_max_dimension));
  }
}

void check_beta(const char* field, float value, std::size_t index, std::size_t offset) {
  if (!(value > 0.0f) || !std::isfinite(value)) {
    throw error(errc::corrupt_data, network_label(index, offset) + ": " + field + " = " + float_text(value) +
                                        " must be finite and > 0");
  }
}

// Copies `count` float32 values starting at `p`, rejecting NaN and ±Inf.
std::vector<float> load_array(const std::byte* p, std::size_t count, const char* what, std::size_t index,
                              std::size_t offset) {
  std::vector<float> out(count);
  for (std::size_t k = 0; k < count; ++k) {
    const float v = load_f32le(p + 4 * k);
    if (!std::isfinite(v)) {
      throw error(errc::corrupt_data, network_label(index, offset) + ": " + what + "[" + std::to_string(k) +
                                          "] = " + float_text(v) + " is not finite");
    }
    out[k] = v;
  }
  return out;
}

constexpr std::array<const char*, 6> debian_names = {"contact",         "race",            "crashed",
                                                     "pruning_contact", "pruning_crashed", "pruning_race"};
constexpr std::array<int, 6> debian_inputs = {250, 214, 250, 200, 200, 200};

void name_networks(std::vector<gnubg_network>& nets) {
  bool known = nets.size() == debian_names.size();
  for (std::size_t k = 0; known && k < nets.size(); ++k) known = nets[k].inputs == debian_inputs[k];
  for (std::size_t k = 0; k < nets.size(); ++k) nets[k].name = known ? debian_names[k] : "net" + std::to_string(k);
}

}  // namespace

std::vector<float> gnubg_network::hidden_weights_out_in() const {
  if (inputs < 0 || hidden < 0) {
    throw error(errc::invalid_shape, "gnubg_network '" + name + "': inputs = " + std::to_string(inputs) +
                                         ", hidden = " + std::to_string(hidden) + " (negative)");
  }
  const auto ni = static_cast<std::size_t>(inputs), nh = static_cast<std::size_t>(hidden);
  if (hidden_weights.size() != ni * nh) {  // no overflow: both are below 2^31
    throw error(errc::size_mismatch, "gnubg_network '" + name + "': hidden_weights has " +
                                         std::to_string(hidden_weights.size()) + " values, inputs * hidden = " +
                                         std::to_string(ni * nh));
  }
  std::vector<float> t(hidden_weights.size());
  for (std::size_t i = 0; i < ni; ++i) {
    for (std::size_t h = 0; h < nh; ++h) t[h * ni + i] = hidden_weights[i * nh + h];
  }
  return t;
}

std::size_t gnubg_network::parameter_count() const noexcept {
  return hidden_weights.size() + output_weights.size() + hidden_bias.size() + output_bias.size();
}

std::size_t gnubg_network::byte_size() const noexcept { return gnubg_network_header_size + 4 * parameter_count(); }

std::vector<gnubg_network> parse_gnubg_weights(std::span<const std::byte> file) {
  check_file_header(file);
  if (file.size() == gnubg_file_header_size) {
    throw error(errc::truncated_data, "the file ends after its 8-byte header, before the first network");
  }
  std::vector<gnubg_network> nets;
  std::size_t pos = gnubg_file_header_size;
  while (pos < file.size()) {
    const std::size_t index = nets.size();
    const std::size_t left = file.size() - pos;
    if (left < gnubg_network_header_size) {
      throw error(errc::truncated_data, network_label(index, pos) + ": the file ends inside the 24-byte header (" +
                                            std::to_string(left) + " bytes left)");
    }
    const std::byte* h = file.data() + pos;
    const std::int32_t ni = load_i32le(h), nh = load_i32le(h + 4), no = load_i32le(h + 8);
    const std::int32_t trained = load_i32le(h + 12);
    const float beta_hidden = load_f32le(h + 16), beta_output = load_f32le(h + 20);
    check_dimension("inputs", file.subspan(pos, 4), index, pos);
    check_dimension("hidden", file.subspan(pos + 4, 4), index, pos);
    check_dimension("outputs", file.subspan(pos + 8, 4), index, pos);
    if (trained < 0) {
      throw error(errc::corrupt_data, network_label(index, pos) + ": trained = " + std::to_string(trained) +
                                          " must be >= 0");
    }
    check_beta("beta_hidden", beta_hidden, index, pos);
    check_beta("beta_output", beta_output, index, pos);

    // Dimensions are <= 2^20, so every product below is < 2^42: no overflow in 64 bits.
    const auto i = static_cast<std::uint64_t>(ni), hd = static_cast<std::uint64_t>(nh),
               o = static_cast<std::uint64_t>(no);
    const std::uint64_t floats = i * hd + o * hd + hd + o;
    const std::uint64_t body_left = (left - gnubg_network_header_size) / 4;
    if (floats > body_left) {
      throw error(errc::truncated_data,
                  network_label(index, pos) + ": inputs " + std::to_string(ni) + ", hidden " + std::to_string(nh) +
                      ", outputs " + std::to_string(no) + " declare " + std::to_string(floats) + " float32 values (" +
                      std::to_string(4 * floats) + " bytes) but only " +
                      std::to_string(left - gnubg_network_header_size) + " bytes are left");
    }

    gnubg_network net;
    net.offset = pos;
    net.inputs = ni;
    net.hidden = nh;
    net.outputs = no;
    net.trained = trained;
    net.beta_hidden = beta_hidden;
    net.beta_output = beta_output;
    const std::byte* p = h + gnubg_network_header_size;
    net.hidden_weights = load_array(p, static_cast<std::size_t>(i * hd), "hidden_weights", index, pos);
    p += 4 * i * hd;
    net.output_weights = load_array(p, static_cast<std::size_t>(o * hd), "output_weights", index, pos);
    p += 4 * o * hd;
    net.hidden_bias = load_array(p, static_cast<std::size_t>(hd), "hidden_bias", index, pos);
    p += 4 * hd;
    net.output_bias = load_array(p, static_cast<std::size_t>(o), "output_bias", index, pos);
    pos += gnubg_network_header_size + static_cast<std::size_t>(4 * floats);
    nets.push_back(std::move(net));
  }
  name_networks(nets);
  return nets;
}

std::vector<gnubg_network> read_gnubg_weights(const std::filesystem::path& path) {
  const std::vector<std::byte> bytes = detail::read_file(path);
  try {
    return parse_gnubg_weights(bytes);
  } catch (const error& e) {
    detail::rethrow_naming(e, path);
  }
}

}  // namespace lowbit::io
