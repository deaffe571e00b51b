// lowbit CLI — the code storage type of a code format.
// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <utility>

#include "lowbit/quant_params.h"

namespace lowbit::cli {

/// Calls f.template operator()<Code>() with the narrowest unpacked storage of `format`: int8 / uint8
/// up to 8 bits (int4 codes are stored one per byte), int16 / uint16 above.
template <class F>
decltype(auto) with_code_type(code_format format, F&& f) {
  if (format.bits <= 8) {
    if (format.is_signed) return std::forward<F>(f).template operator()<std::int8_t>();
    return std::forward<F>(f).template operator()<std::uint8_t>();
  }
  if (format.is_signed) return std::forward<F>(f).template operator()<std::int16_t>();
  return std::forward<F>(f).template operator()<std::uint16_t>();
}

}  // namespace lowbit::cli
