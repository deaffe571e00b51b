// lowbit — GNU Backgammon's binary neural-network weights (gnubg.wd): read.
// SPDX-License-Identifier: Apache-2.0
//
// Debian's gnubg package ships its trained evaluation networks as /usr/lib/gnubg/gnubg.wd: small
// two-layer perceptrons with float32 weights whose distributions are strongly heavy-tailed (excess
// kurtosis about 6 to 91 per hidden-weight matrix), which makes them a real test case for calibrators.
//
// Layout (all fields little-endian, 4 bytes, no padding, no alignment):
//   offset 0   float32  magic    472.3782f (bytes 69 30 ec 43; also an endianness marker)
//   offset 4   float32  version  1.0f
//   offset 8   network 0, then network 1, ... up to the end of the file; the file does not store how
//              many networks it holds. Each network is
//     +0   int32    inputs   I  (>= 1)
//     +4   int32    hidden   H  (>= 1)
//     +8   int32    outputs  O  (>= 1)
//     +12  int32    trained  (gnubg's nTrained: training-run counter, >= 0; 1 in Debian's file)
//     +16  float32  beta_hidden  (> 0; 0.1 in Debian's file)
//     +20  float32  beta_output  (> 0; 1.0 in Debian's file)
//     +24  float32  hidden_weights[I][H]   input-major: weight of input i into hidden unit h at i * H + h
//          float32  output_weights[O][H]   output-major: weight of hidden unit h into output o at o * H + h
//          float32  hidden_bias[H]          gnubg's "hidden thresholds"
//          float32  output_bias[O]          gnubg's "output thresholds"
//     size 24 + 4 * (I*H + O*H + H + O) bytes.
// gnubg evaluates   hidden[h] = logistic(beta_hidden * (hidden_bias[h] + sum_i in[i] * hidden_weights[i][h]))
//                   out[o]    = logistic(beta_output * (output_bias[o] + sum_h hidden[h] * output_weights[o][h]))
// with logistic(x) = 1 / (1 + e^-x) (approximated by a table in gnubg).
//
// Debian's gnubg 1.x file (408016 bytes) holds six networks, in the order gnubg's EvalInitialise loads
// them; every byte is accounted for (8 + 131116 + 112684 + 131116 + 13228 + 13228 + 6636 = 408016):
//   #  name             I    H    O   header offset   floats
//   0  contact          250  128  5   8               32000 + 640 + 128 + 5 = 32773
//   1  race             214  128  5   131124          27392 + 640 + 128 + 5 = 28165
//   2  crashed          250  128  5   243808          32773
//   3  pruning_contact  200  16   5   374924          3200 + 80 + 16 + 5 = 3301
//   4  pruning_crashed  200  16   5   388152          3301
//   5  pruning_race     200  8    5   401380          1600 + 40 + 8 + 5 = 1653
// The five outputs are gnubg's win, win gammon, win backgammon, lose gammon, lose backgammon
// probabilities. Networks get these names when a file holds exactly six with these input counts
// (250, 214, 250, 200, 200, 200); otherwise they are named "net0", "net1", ...
//
// Errors (lowbit::error, the message says what was found and where):
//   io_failure          the file cannot be opened or read (the path is in the message)
//   truncated_data      the file ends before the magic, the version, the first network, inside a
//                       network header, or inside the arrays a header declares (the declared size is
//                       checked against the bytes left before anything is allocated, so a header
//                       announcing a huge network fails at once)
//   corrupt_data        a wrong magic number; a non-finite version; a dimension < 1 or > 2^20 (gnubg's
//                       are <= 250: a larger one is a corrupt header, e.g. a float stored where an int
//                       belongs); trained < 0; a beta that is not finite and > 0; a weight or bias that is
//                       NaN or ±Inf (trained networks have none, so one means a corrupt file)
//   unsupported_format  a gnubg weights file lowbit does not read: another (finite) version number, the
//                       magic in big-endian byte order, a float64 magic (a file written with doubles), or
//                       gnubg's text format ("GNU Backgammon ..." = gnubg.weights)
// Trailing bytes are not ignored: with no network count in the file, bytes after the last network are
// read as the header of another network and fail as truncated_data (fewer than 24 bytes, or a header
// declaring more data than is left) or corrupt_data (a header that is not valid). For the same reason a
// file cut exactly between two networks cannot be told from a shorter file: it parses as the networks
// before the cut (named "net0", ...). Callers that need Debian's six networks check the count or names.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <vector>

namespace lowbit::io {

/// The float32 at offset 0 of a gnubg.wd file.
inline constexpr float gnubg_magic = 472.3782f;
/// The only weights-file version lowbit reads (the float32 at offset 4): gnubg 1.x's WEIGHTS_VERSION_BINARY.
inline constexpr float gnubg_version = 1.0f;
/// Bytes of the magic and version before the first network.
inline constexpr std::size_t gnubg_file_header_size = 8;
/// Bytes of a network header (inputs, hidden, outputs, trained, beta_hidden, beta_output).
inline constexpr std::size_t gnubg_network_header_size = 24;
/// The largest inputs / hidden / outputs value accepted (2^20); larger is corrupt_data.
inline constexpr std::int32_t gnubg_max_dimension = std::int32_t{1} << 20;

/// One gnubg network: inputs -> hidden (logistic) -> outputs (logistic), float32 values exactly as stored.
struct gnubg_network {
  std::string name;          ///< "contact", "race", "crashed", "pruning_contact", ... or "net<k>"
  std::size_t offset = 0;    ///< byte offset of the network header in the file
  int inputs = 0;            ///< I
  int hidden = 0;            ///< H
  int outputs = 0;           ///< O
  int trained = 0;           ///< gnubg's nTrained field (not used for evaluation)
  float beta_hidden = 0.0f;  ///< hidden-layer input scale: hidden = logistic(beta_hidden * activation)
  float beta_output = 0.0f;  ///< output-layer input scale: out = logistic(beta_output * activation)
  std::vector<float> hidden_weights;  ///< [I][H], C order: input i, hidden unit h at i * H + h
  std::vector<float> output_weights;  ///< [O][H], C order: output o, hidden unit h at o * H + h
  std::vector<float> hidden_bias;     ///< [H]
  std::vector<float> output_bias;     ///< [O]

  /// {inputs, hidden}: the shape of hidden_weights (the output channel, the hidden unit, is axis 1).
  std::vector<std::int64_t> hidden_weights_shape() const { return {inputs, hidden}; }
  /// {outputs, hidden}: the shape of output_weights (the output channel is axis 0).
  std::vector<std::int64_t> output_weights_shape() const { return {outputs, hidden}; }
  /// hidden_weights transposed to [H][I] (out-features by in-features, PyTorch's Linear layout):
  /// hidden unit h, input i at h * I + i. A new vector, the values bit-identical.
  std::vector<float> hidden_weights_out_in() const;
  /// Float values stored: I*H + O*H + H + O.
  std::size_t parameter_count() const noexcept;
  /// Bytes the network takes in the file: 24 + 4 * parameter_count().
  std::size_t byte_size() const noexcept;
};

/// Parses the bytes of a whole gnubg.wd file into its networks, in file order. Throws lowbit::error as
/// described at the top; reads unaligned bytes safely and never allocates more than the input's size.
std::vector<gnubg_network> parse_gnubg_weights(std::span<const std::byte> file);
/// Reads and parses a gnubg.wd file. Throws lowbit::error(io_failure) naming the path when it cannot be
/// opened or read, and what parse_gnubg_weights throws (the message then names the path too).
std::vector<gnubg_network> read_gnubg_weights(const std::filesystem::path& path);

}  // namespace lowbit::io
