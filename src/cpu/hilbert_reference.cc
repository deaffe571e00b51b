// lowbit — the Hilbert decoding kernels when built with LOWBIT_SIMD=OFF: loops over the scalar oracle
// (hilbert_curve::decode, hilbert3_curve::decode) and the scalar table lookup.
// SPDX-License-Identifier: Apache-2.0
#include <algorithm>
#include <cstdint>

#include "lowbit/detail/hilbert_kernels.h"
#include "lowbit/hilbert.h"
#include "lowbit/hilbert3.h"
#include "lowbit/ref/uniform.h"

namespace lowbit::detail {

void hilbert_decode_planar_f32(const hilbert_kernel_args& a, const float* x, const float* y, std::size_t n, float* t,
                               float* distance) noexcept {
  for (std::size_t i = 0; i < n; ++i) {
    const hilbert_decoded r = a.curve->decode(x[i], y[i]);
    t[i] = r.t;
    if (distance) distance[i] = r.distance;
  }
}

void hilbert_decode_interleaved_f32(const hilbert_kernel_args& a, const float* xy, std::size_t n, float* t,
                                    float* distance) noexcept {
  for (std::size_t i = 0; i < n; ++i) {
    const hilbert_decoded r = a.curve->decode(xy[2 * i], xy[2 * i + 1]);
    t[i] = r.t;
    if (distance) distance[i] = r.distance;
  }
}

void hilbert3_decode_planar_f32(const hilbert3_kernel_args& a, const float* x, const float* y, const float* z,
                                std::size_t n, float* t, float* distance) noexcept {
  for (std::size_t i = 0; i < n; ++i) {
    const hilbert_decoded r = a.curve->decode(x[i], y[i], z[i]);
    t[i] = r.t;
    if (distance) distance[i] = r.distance;
  }
}

void hilbert3_decode_interleaved_f32(const hilbert3_kernel_args& a, const float* xyz, std::size_t n, float* t,
                                     float* distance) noexcept {
  for (std::size_t i = 0; i < n; ++i) {
    const hilbert_decoded r = a.curve->decode(xyz[3 * i], xyz[3 * i + 1], xyz[3 * i + 2]);
    t[i] = r.t;
    if (distance) distance[i] = r.distance;
  }
}

void hilbert_decode_codes_computed_u8(const hilbert_kernel_args& a, const hilbert_dequant& qx,
                                      const hilbert_dequant& qy, const std::uint8_t* x, const std::uint8_t* y,
                                      std::size_t n, float* t, float* distance, bool /*registers*/) noexcept {
  for (std::size_t i = 0; i < n; ++i) {
    const auto cx = static_cast<float>(std::clamp<std::int32_t>(x[i], qx.qmin, qx.qmax));
    const auto cy = static_cast<float>(std::clamp<std::int32_t>(y[i], qy.qmin, qy.qmax));
    const hilbert_decoded r = a.curve->decode(ref::dequantize_value(cx, qx.scale, qx.zero_point),
                                              ref::dequantize_value(cy, qy.scale, qy.zero_point));
    t[i] = r.t;
    if (distance) distance[i] = r.distance;
  }
}

namespace {

template <class Code>
void lookup(const hilbert_lookup_args& a, const Code* x, const Code* y, std::size_t step, std::size_t n, float* t,
            float* distance) noexcept {
  for (std::size_t i = 0; i < n; ++i) {
    const auto cx = static_cast<std::uint32_t>(std::clamp<std::int32_t>(x[i * step], a.qmin, a.qmax) - a.qmin);
    const auto cy = static_cast<std::uint32_t>(std::clamp<std::int32_t>(y[i * step], a.qmin, a.qmax) - a.qmin);
    const std::uint32_t idx = (cx << a.bits) | cy;
    t[i] = a.table[idx];
    if (distance) distance[i] = a.distance_table[idx];
  }
}

}  // namespace

void hilbert_lookup(const hilbert_lookup_args& a, const std::int8_t* x, const std::int8_t* y, std::size_t step,
                    std::size_t n, float* t, float* distance) noexcept {
  lookup(a, x, y, step, n, t, distance);
}
void hilbert_lookup(const hilbert_lookup_args& a, const std::uint8_t* x, const std::uint8_t* y, std::size_t step,
                    std::size_t n, float* t, float* distance) noexcept {
  lookup(a, x, y, step, n, t, distance);
}
void hilbert_lookup(const hilbert_lookup_args& a, const std::int16_t* x, const std::int16_t* y, std::size_t step,
                    std::size_t n, float* t, float* distance) noexcept {
  lookup(a, x, y, step, n, t, distance);
}
void hilbert_lookup(const hilbert_lookup_args& a, const std::uint16_t* x, const std::uint16_t* y, std::size_t step,
                    std::size_t n, float* t, float* distance) noexcept {
  lookup(a, x, y, step, n, t, distance);
}

bool hilbert_kernels_simd() noexcept { return false; }
const char* hilbert_active_target_name() noexcept { return "reference"; }

}  // namespace lowbit::detail
