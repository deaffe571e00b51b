// lowbit — the uniform kernels when built with LOWBIT_SIMD=OFF: the scalar reference itself.
// SPDX-License-Identifier: Apache-2.0
#include "lowbit/detail/uniform_kernels.h"

namespace lowbit::detail {

#define LOWBIT_REFERENCE_CODE(Code)                                                                 \
  void quantize_run(const float* x, std::size_t n, const run_params& p, Code* q) noexcept {         \
    ref::quantize_run(x, n, p, q);                                                                  \
  }                                                                                                 \
  void quantize_row(const float* x, std::size_t n, const row_params& p, Code* q) noexcept {         \
    ref::quantize_row(x, n, p, q);                                                                  \
  }                                                                                                 \
  void dequantize_run(const Code* q, std::size_t n, const run_params& p, float* y) noexcept {       \
    ref::dequantize_run(q, n, p, y);                                                                \
  }                                                                                                 \
  void dequantize_row(const Code* q, std::size_t n, const row_params& p, float* y) noexcept {       \
    ref::dequantize_row(q, n, p, y);                                                                \
  }
LOWBIT_REFERENCE_CODE(std::int8_t)
LOWBIT_REFERENCE_CODE(std::uint8_t)
LOWBIT_REFERENCE_CODE(std::int16_t)
#undef LOWBIT_REFERENCE_CODE

void fake_quantize_run(const float* x, std::size_t n, const run_params& p, float* y) noexcept {
  ref::fake_quantize_run(x, n, p, y);
}
void fake_quantize_row(const float* x, std::size_t n, const row_params& p, float* y) noexcept {
  ref::fake_quantize_row(x, n, p, y);
}

#define LOWBIT_REFERENCE_REQUANTIZE(TokIn, In, TokOut, Out)                                        \
  void requantize_run(const In* q, std::size_t n, const run_params& from, const run_params& to,     \
                      Out* out) noexcept {                                                          \
    ref::requantize_run(q, n, from, to, out);                                                       \
  }                                                                                                 \
  void requantize_row(const In* q, std::size_t n, const row_params& from, const row_params& to,     \
                      Out* out) noexcept {                                                          \
    ref::requantize_row(q, n, from, to, out);                                                       \
  }
LOWBIT_UNIFORM_REQUANTIZE_PAIRS(LOWBIT_REFERENCE_REQUANTIZE)
#undef LOWBIT_REFERENCE_REQUANTIZE

std::vector<std::int64_t> available_targets() { return {0}; }
const char* target_name(std::int64_t) { return "reference"; }
void force_target(std::int64_t) {}
const char* active_target_name() { return "reference"; }

}  // namespace lowbit::detail
