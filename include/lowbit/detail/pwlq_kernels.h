// lowbit — the compiled PWLQ kernels (SIMD with runtime dispatch, or the scalar reference when
// LOWBIT_SIMD=OFF). Internal: users call lowbit/pwlq.h. Parameters must already be valid (a run of a
// lowbit::pwlq_params channel).
// SPDX-License-Identifier: Apache-2.0
//
// One channel run at a time: n contiguous values sharing one ref::pwlq_run. Every kernel covers every
// run the parameters allow: k = 1, 2, 3, both variants (reference, paper), bits 2..8, the all-zero
// channel (m == 0), and equals the oracle of lowbit/ref/pwlq.h bit for bit on every input (NaN, ±Inf,
// subnormals included):
//   pwlq_quantize_run       q[i] = ref::pwlq_encode_value(x[i], r)
//   pwlq_dequantize_run     y[i] = ref::pwlq_decode_value(q[i], r)   (any code: region > k read as k)
//   pwlq_fake_quantize_run  y[i] = ref::pwlq_fake_quantize_value(x[i], r); y may alias x exactly
// Code storage: pwlq_code arrays are read and written in place as interleaved bytes, i.e. as
// little-endian 16-bit lanes q | region << 8 (the layout pwlq_code documents; src/cpu/pwlq-inl.h
// checks it with static_asserts). Kernels never allocate and never throw.
#pragma once

#include <cstddef>

#include "lowbit/ref/pwlq.h"

namespace lowbit::detail {

void pwlq_quantize_run(const float* x, std::size_t n, const ref::pwlq_run& r, pwlq_code* q) noexcept;
void pwlq_dequantize_run(const pwlq_code* q, std::size_t n, const ref::pwlq_run& r, float* y) noexcept;
void pwlq_fake_quantize_run(const float* x, std::size_t n, const ref::pwlq_run& r, float* y) noexcept;

/// True when the kernels above are SIMD (LOWBIT_SIMD=ON); false when they are the per-value oracle
/// loops of the reference build, where callers keep their own scalar paths.
bool pwlq_kernels_simd() noexcept;

/// Runs shorter than this go through the scalar path: below it the dispatch and tail handling of a
/// kernel call cost more than the scalar loop (per-channel tensors with a small inner size).
inline constexpr std::size_t pwlq_min_kernel_run = 16;

/// Whether lowbit::pwlq_* hands a channel run of n values to the kernels above.
inline bool pwlq_use_kernels(std::size_t n) noexcept { return n >= pwlq_min_kernel_run && pwlq_kernels_simd(); }

/// The target the PWLQ kernels dispatch to now ("AVX3", ..., "reference"). Target control is shared
/// with the uniform kernels (lowbit/detail/uniform_kernels.h: available_targets, force_target).
const char* pwlq_active_target_name() noexcept;

}  // namespace lowbit::detail
