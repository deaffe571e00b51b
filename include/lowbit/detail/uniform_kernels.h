// lowbit — the compiled uniform kernels (SIMD with runtime dispatch, or the reference when
// LOWBIT_SIMD=OFF). Internal: users call lowbit/uniform.h. Parameters must already be valid.
// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "lowbit/ref/uniform.h"

namespace lowbit::detail {

using ref::row_params;
using ref::run_params;

// Quantize f32 -> code, per-tensor (run) and per-element (row) parameters.
void quantize_run(const float* x, std::size_t n, const run_params& p, std::int8_t* q) noexcept;
void quantize_run(const float* x, std::size_t n, const run_params& p, std::uint8_t* q) noexcept;
void quantize_run(const float* x, std::size_t n, const run_params& p, std::int16_t* q) noexcept;
void quantize_row(const float* x, std::size_t n, const row_params& p, std::int8_t* q) noexcept;
void quantize_row(const float* x, std::size_t n, const row_params& p, std::uint8_t* q) noexcept;
void quantize_row(const float* x, std::size_t n, const row_params& p, std::int16_t* q) noexcept;

// Dequantize code -> f32.
void dequantize_run(const std::int8_t* q, std::size_t n, const run_params& p, float* y) noexcept;
void dequantize_run(const std::uint8_t* q, std::size_t n, const run_params& p, float* y) noexcept;
void dequantize_run(const std::int16_t* q, std::size_t n, const run_params& p, float* y) noexcept;
void dequantize_row(const std::int8_t* q, std::size_t n, const row_params& p, float* y) noexcept;
void dequantize_row(const std::uint8_t* q, std::size_t n, const row_params& p, float* y) noexcept;
void dequantize_row(const std::int16_t* q, std::size_t n, const row_params& p, float* y) noexcept;

// Fake-quantize f32 -> f32 (any code format: qmin/qmax carry it).
void fake_quantize_run(const float* x, std::size_t n, const run_params& p, float* y) noexcept;
void fake_quantize_row(const float* x, std::size_t n, const row_params& p, float* y) noexcept;

// Requantize code -> code through float32 (see ref::requantize_run).
// The (In, Out) pairs with SIMD requantize kernels, as X(InToken, In, OutToken, Out); the one list
// the declarations, the Highway kernels and the reference build all expand.
#define LOWBIT_UNIFORM_REQUANTIZE_PAIRS(X)      \
  X(S8, std::int8_t, S8, std::int8_t)           \
  X(S8, std::int8_t, U8, std::uint8_t)          \
  X(S8, std::int8_t, S16, std::int16_t)         \
  X(U8, std::uint8_t, S8, std::int8_t)          \
  X(U8, std::uint8_t, U8, std::uint8_t)         \
  X(U8, std::uint8_t, S16, std::int16_t)        \
  X(S16, std::int16_t, S8, std::int8_t)         \
  X(S16, std::int16_t, U8, std::uint8_t)        \
  X(S16, std::int16_t, S16, std::int16_t)

#define LOWBIT_DECLARE_REQUANTIZE(TokIn, In, TokOut, Out)                                           \
  void requantize_run(const In* q, std::size_t n, const run_params& from, const run_params& to,     \
                      Out* out) noexcept;                                                           \
  void requantize_row(const In* q, std::size_t n, const row_params& from, const row_params& to,     \
                      Out* out) noexcept;
LOWBIT_UNIFORM_REQUANTIZE_PAIRS(LOWBIT_DECLARE_REQUANTIZE)
#undef LOWBIT_DECLARE_REQUANTIZE

/// The instruction sets the kernels were compiled for and this CPU supports, best first, as
/// opaque ids (Highway targets; one id 0 named "reference" when built with LOWBIT_SIMD=OFF).
std::vector<std::int64_t> available_targets();
/// Name of a target id ("AVX3", "AVX2", "SSE4", "EMU128", "reference", ...).
const char* target_name(std::int64_t target);
/// Restricts dispatch to `target` (an id from available_targets()); 0 restores the default.
/// For tests and benchmarks; not thread-safe.
void force_target(std::int64_t target);
/// Name of the target the kernels dispatch to now.
const char* active_target_name();

}  // namespace lowbit::detail
