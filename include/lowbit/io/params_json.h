// lowbit — quantization parameters as JSON: written and read back exactly.
// SPDX-License-Identifier: Apache-2.0
//
// The document (schema "lowbit.quant_params", version 1):
//   {
//     "schema": "lowbit.quant_params", "version": 1,
//     "scheme": "uniform",                       // the quantization scheme
//     "profile": "onnx" | "pytorch" | "tflite",  // numerics profile (lowbit/profile.h)
//     "format": {"bits": 8, "signed": true, "narrow": false},
//     "granularity": "per_tensor" | "per_channel" | "per_block",
//     "shape": [64, 576],                        // [] for per_tensor
//     "axis": 0,                                 // -1 for per_tensor
//     "block_size": 0,                           // 0 unless per_block
//     "scales": [0.0123, ...],                   // float32 values, printed so they read back exactly
//     "zero_points": [0, ...]
//   }
// Reading validates the document as the quant_params factories do: every error is a lowbit::error,
// corrupt_data for malformed JSON, nesting deeper than 64 levels (unknown fields included), a wrong
// schema / version / type or a missing field, and the
// factory's own errc (invalid_scale, count_mismatch, ...) for values that break a parameter rule.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

#include "lowbit/quant_params.h"

namespace lowbit::io {

/// The JSON document of `p` (pretty-printed, two-space indent).
std::string params_to_json(const quant_params& p);
/// The parameters of a JSON document. Throws lowbit::error as described at the top.
quant_params params_from_json(std::string_view json);

/// Writes params_to_json(p) to `path`. Throws lowbit::error(io_failure).
void save_params(const std::filesystem::path& path, const quant_params& p);
/// Reads parameters written by save_params. Throws as params_from_json, and io_failure.
quant_params load_params(const std::filesystem::path& path);

}  // namespace lowbit::io
