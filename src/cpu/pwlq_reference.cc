// lowbit — the PWLQ kernels when built with LOWBIT_SIMD=OFF: the scalar oracle itself.
// SPDX-License-Identifier: Apache-2.0
#include "lowbit/detail/pwlq_kernels.h"

namespace lowbit::detail {

void pwlq_quantize_run(const float* x, std::size_t n, const ref::pwlq_run& r, pwlq_code* q) noexcept {
  for (std::size_t i = 0; i < n; ++i) q[i] = ref::pwlq_encode_value(x[i], r);
}
void pwlq_dequantize_run(const pwlq_code* q, std::size_t n, const ref::pwlq_run& r, float* y) noexcept {
  for (std::size_t i = 0; i < n; ++i) y[i] = ref::pwlq_decode_value(q[i], r);
}
void pwlq_fake_quantize_run(const float* x, std::size_t n, const ref::pwlq_run& r, float* y) noexcept {
  for (std::size_t i = 0; i < n; ++i) y[i] = ref::pwlq_fake_quantize_value(x[i], r);
}

bool pwlq_kernels_simd() noexcept { return false; }
const char* pwlq_active_target_name() noexcept { return "reference"; }

}  // namespace lowbit::detail
