// lowbit — uniform quantization API: validation at the boundary, then kernels over the layout.
// SPDX-License-Identifier: Apache-2.0
#include "lowbit/uniform.h"

#include <algorithm>
#include <array>
#include <utility>
#include <string>
#include <type_traits>
#include <vector>

#include "lowbit/detail/uniform_kernels.h"

namespace lowbit {
namespace {

// ----------------------------------------------------------------------------------------------------
// Validation

void check_sizes(std::size_t in, std::size_t out, const quant_params& p, const char* what) {
  if (in != out) {
    throw error(errc::size_mismatch, std::string(what) + ": input has " + std::to_string(in) +
                                         " elements, output " + std::to_string(out));
  }
  if (p.granularity() != granularity::per_tensor && in != p.element_count()) {
    throw error(errc::size_mismatch, std::string(what) + ": " + std::to_string(in) +
                                         " elements given, the parameters' shape has " +
                                         std::to_string(p.element_count()));
  }
}

void check_packed4(std::size_t count, std::size_t bytes, const quant_params& p, const char* what) {
  if (p.format().bits > 4) {
    throw error(errc::type_mismatch,
                std::string(what) + ": " + std::to_string(p.format().bits) + "-bit codes do not fit a nibble");
  }
  if (bytes != packed4_size(count)) {
    throw error(errc::size_mismatch, std::string(what) + ": " + std::to_string(count) + " elements need " +
                                         std::to_string(packed4_size(count)) + " bytes, " + std::to_string(bytes) +
                                         " given");
  }
  check_sizes(count, count, p, what);
}

// ----------------------------------------------------------------------------------------------------
// The layout walker: splits [0, n) into segments whose parameters a kernel can take directly.
//   run      : `length` elements share parameter `param`
//   row      : element offset + j uses parameter param + j (contiguous slices of the parameter arrays)
//   gathered : element offset + j uses parameter index[j] (short runs / rows; chunks of kGather)
// A tensor of shape [..] with axis a is viewed as [O, D, I] (O = outer, D = shape[a], I = inner).
//   per_channel: param(o, k, i) = k
//   per_block:   param(o, k, i) = (o * (D / B) + k / B) * I + i        (B = block size)

enum class seg_kind { run, row, gathered };
struct segment {
  seg_kind kind;
  std::size_t offset, length, param;
  const std::size_t* index;
};

constexpr std::size_t kMinRun = 16;   // shorter runs / rows are gathered
constexpr std::size_t kGather = 1024;  // elements per gathered chunk

struct view3 {
  std::size_t outer = 1, dim = 1, inner = 1, block = 1;
};

view3 view_of(const quant_params& p) {
  view3 v;
  const auto shape = p.shape();
  const auto a = static_cast<std::size_t>(p.axis());
  for (std::size_t d = 0; d < shape.size(); ++d) {
    const auto s = static_cast<std::size_t>(shape[d]);
    if (d < a) v.outer *= s;
    else if (d == a) v.dim = s;
    else v.inner *= s;
  }
  if (p.granularity() == granularity::per_block) v.block = static_cast<std::size_t>(p.block_size());
  return v;
}

template <class F>
void walk(const quant_params& p, std::size_t n, F&& f) {
  if (n == 0) return;
  if (p.granularity() == granularity::per_tensor) {
    f(segment{seg_kind::run, 0, n, 0, nullptr});
    return;
  }
  const view3 v = view_of(p);
  const bool per_channel = p.granularity() == granularity::per_channel;
  if (per_channel && v.inner >= kMinRun) {
    for (std::size_t o = 0, off = 0; o < v.outer; ++o)
      for (std::size_t k = 0; k < v.dim; ++k, off += v.inner) f(segment{seg_kind::run, off, v.inner, k, nullptr});
    return;
  }
  if (!per_channel && v.inner == 1 && v.block >= kMinRun) {
    for (std::size_t r = 0, off = 0; off < n; ++r, off += v.block) f(segment{seg_kind::run, off, v.block, r, nullptr});
    return;
  }
  if (!per_channel && v.inner >= kMinRun) {
    const std::size_t blocks = v.dim / v.block;
    for (std::size_t o = 0, off = 0; o < v.outer; ++o)
      for (std::size_t k = 0; k < v.dim; ++k, off += v.inner)
        f(segment{seg_kind::row, off, v.inner, (o * blocks + k / v.block) * v.inner, nullptr});
    return;
  }
  // Gather: walk (o, k, i) as an odometer.
  std::size_t index[kGather];
  std::size_t o = 0, k = 0, i = 0;
  const std::size_t blocks = v.dim / v.block;
  for (std::size_t off = 0; off < n; off += kGather) {
    const std::size_t len = std::min(kGather, n - off);
    for (std::size_t j = 0; j < len; ++j) {
      index[j] = per_channel ? k : (o * blocks + k / v.block) * v.inner + i;
      if (++i == v.inner) {
        i = 0;
        if (++k == v.dim) k = 0, ++o;
      }
    }
    f(segment{seg_kind::gathered, off, len, 0, index});
  }
}

ref::row_params row_of(const quant_params& p, std::size_t first) {
  const code_format f = p.format();
  return {p.scales().data() + first, p.inv_scales().data() + first, p.zero_points_f().data() + first,
          static_cast<float>(f.qmin()), static_cast<float>(f.qmax()), p.numerics()};
}

// Parameters gathered for one chunk.
struct gathered_params {
  float scale[kGather], inv[kGather], zp[kGather];
  ref::row_params fill(const quant_params& p, const std::size_t* index, std::size_t len) {
    for (std::size_t j = 0; j < len; ++j) {
      scale[j] = p.scales()[index[j]];
      inv[j] = p.inv_scales()[index[j]];
      zp[j] = p.zero_points_f()[index[j]];
    }
    const code_format f = p.format();
    return {scale, inv, zp, static_cast<float>(f.qmin()), static_cast<float>(f.qmax()), p.numerics()};
  }
};

// Applies run(offset, length, run_params...) / row(offset, length, row_params...) over the layout of
// `first`; each further parameter set in `rest` must have the same layout and is indexed alike.
template <class Run, class Row, class... Rest>
void for_each_params(std::size_t n, Run run, Row row, const quant_params& first, const Rest&... rest) {
  gathered_params g0;
  std::array<gathered_params, sizeof...(Rest)> g;
  walk(first, n, [&](const segment& s) {
    switch (s.kind) {
      case seg_kind::run:
        run(s.offset, s.length, ref::run_params_of(first, s.param), ref::run_params_of(rest, s.param)...);
        break;
      case seg_kind::row: row(s.offset, s.length, row_of(first, s.param), row_of(rest, s.param)...); break;
      case seg_kind::gathered:
        [&]<std::size_t... I>(std::index_sequence<I...>) {
          row(s.offset, s.length, g0.fill(first, s.index, s.length), g[I].fill(rest, s.index, s.length)...);
        }(std::index_sequence_for<Rest...>());
        break;
    }
  });
}

// ----------------------------------------------------------------------------------------------------
// Kernel selection: SIMD for int8 / uint8 / int16, the reference for uint16.

template <class Code>
constexpr bool kHasKernel = !std::is_same_v<Code, std::uint16_t>;

template <class Code>
void k_quantize(const float* x, std::size_t n, const ref::run_params& p, Code* q) {
  if constexpr (kHasKernel<Code>) detail::quantize_run(x, n, p, q);
  else ref::quantize_run(x, n, p, q);
}
template <class Code>
void k_quantize(const float* x, std::size_t n, const ref::row_params& p, Code* q) {
  if constexpr (kHasKernel<Code>) detail::quantize_row(x, n, p, q);
  else ref::quantize_row(x, n, p, q);
}
template <class Code>
void k_dequantize(const Code* q, std::size_t n, const ref::run_params& p, float* y) {
  if constexpr (kHasKernel<Code>) detail::dequantize_run(q, n, p, y);
  else ref::dequantize_run(q, n, p, y);
}
template <class Code>
void k_dequantize(const Code* q, std::size_t n, const ref::row_params& p, float* y) {
  if constexpr (kHasKernel<Code>) detail::dequantize_row(q, n, p, y);
  else ref::dequantize_row(q, n, p, y);
}
template <class In, class Out>
void k_requantize(const In* q, std::size_t n, const ref::run_params& a, const ref::run_params& b, Out* out) {
  if constexpr (kHasKernel<In> && kHasKernel<Out>) detail::requantize_run(q, n, a, b, out);
  else ref::requantize_run(q, n, a, b, out);
}
template <class In, class Out>
void k_requantize(const In* q, std::size_t n, const ref::row_params& a, const ref::row_params& b, Out* out) {
  if constexpr (kHasKernel<In> && kHasKernel<Out>) detail::requantize_row(q, n, a, b, out);
  else ref::requantize_row(q, n, a, b, out);
}

template <class Code>
void quantize_unchecked(const float* x, std::size_t n, const quant_params& p, Code* q) {
  for_each_params(
      n, [&](std::size_t o, std::size_t len, const ref::run_params& r) { k_quantize(x + o, len, r, q + o); },
      [&](std::size_t o, std::size_t len, const ref::row_params& r) { k_quantize(x + o, len, r, q + o); }, p);
}

template <class Code>
void dequantize_unchecked(const Code* q, std::size_t n, const quant_params& p, float* y) {
  for_each_params(
      n, [&](std::size_t o, std::size_t len, const ref::run_params& r) { k_dequantize(q + o, len, r, y + o); },
      [&](std::size_t o, std::size_t len, const ref::row_params& r) { k_dequantize(q + o, len, r, y + o); }, p);
}

}  // namespace

template <code_storage Code>
void quantize(std::span<const float> x, const quant_params& p, std::span<Code> q) {
  detail::check_code_storage<Code>(p, "quantize");
  check_sizes(x.size(), q.size(), p, "quantize");
  quantize_unchecked(x.data(), x.size(), p, q.data());
}

template <code_storage Code>
void dequantize(std::span<const Code> q, const quant_params& p, std::span<float> y) {
  detail::check_code_storage<Code>(p, "dequantize");
  check_sizes(q.size(), y.size(), p, "dequantize");
  dequantize_unchecked(q.data(), q.size(), p, y.data());
}

void fake_quantize(std::span<const float> x, const quant_params& p, std::span<float> y) {
  check_sizes(x.size(), y.size(), p, "fake_quantize");
  const float* in = x.data();
  float* out = y.data();
  for_each_params(
      x.size(),
      [&](std::size_t o, std::size_t len, const ref::run_params& r) { detail::fake_quantize_run(in + o, len, r, out + o); },
      [&](std::size_t o, std::size_t len, const ref::row_params& r) { detail::fake_quantize_row(in + o, len, r, out + o); },
      p);
}

template <code_storage In, code_storage Out>
void requantize(std::span<const In> q, const quant_params& from, const quant_params& to, std::span<Out> out) {
  detail::check_code_storage<In>(from, "requantize (from)");
  detail::check_code_storage<Out>(to, "requantize (to)");
  check_sizes(q.size(), out.size(), from, "requantize (from)");
  check_sizes(q.size(), out.size(), to, "requantize (to)");
  const std::size_t n = q.size();
  if (!from.same_layout(to)) {
    // Different layouts: dequantize everything, then quantize (the same float32 steps, two passes).
    std::vector<float> tmp(n);
    dequantize_unchecked(q.data(), n, from, tmp.data());
    quantize_unchecked(tmp.data(), n, to, out.data());
    return;
  }
  const In* src = q.data();
  Out* dst = out.data();
  for_each_params(
      n,
      [&](std::size_t o, std::size_t len, const ref::run_params& a, const ref::run_params& b) {
        k_requantize(src + o, len, a, b, dst + o);
      },
      [&](std::size_t o, std::size_t len, const ref::row_params& a, const ref::row_params& b) {
        k_requantize(src + o, len, a, b, dst + o);
      },
      from, to);
}

void quantize_packed4(std::span<const float> x, const quant_params& p, std::span<std::uint8_t> packed) {
  check_packed4(x.size(), packed.size(), p, "quantize_packed4");
  std::vector<std::int8_t> codes(x.size());
  if (p.format().is_signed) {
    quantize_unchecked(x.data(), x.size(), p, codes.data());
  } else {
    quantize_unchecked(x.data(), x.size(), p, reinterpret_cast<std::uint8_t*>(codes.data()));
  }
  for (std::size_t i = 0; i < packed.size(); ++i) {
    const auto lo = static_cast<std::uint8_t>(codes[2 * i]) & 0x0Fu;
    const auto hi = 2 * i + 1 < x.size() ? static_cast<std::uint8_t>(codes[2 * i + 1]) & 0x0Fu : 0u;
    packed[i] = static_cast<std::uint8_t>(lo | (hi << 4));
  }
}

void dequantize_packed4(std::span<const std::uint8_t> packed, const quant_params& p, std::span<float> y) {
  check_packed4(y.size(), packed.size(), p, "dequantize_packed4");
  std::vector<std::int8_t> codes(y.size());
  const bool is_signed = p.format().is_signed;
  for (std::size_t i = 0; i < y.size(); ++i) {
    const unsigned nibble = (packed[i / 2] >> (4 * (i % 2))) & 0x0Fu;
    // Sign-extend bit 3 for signed codes.
    codes[i] = static_cast<std::int8_t>(is_signed && (nibble & 0x8u) ? static_cast<int>(nibble) - 16
                                                                     : static_cast<int>(nibble));
  }
  if (is_signed) {
    dequantize_unchecked(codes.data(), y.size(), p, y.data());
  } else {
    dequantize_unchecked(reinterpret_cast<const std::uint8_t*>(codes.data()), y.size(), p, y.data());
  }
}

const char* simd_target() noexcept { return detail::active_target_name(); }

// Explicit instantiations: the only storage types code_storage admits.
#define LOWBIT_INSTANTIATE_CODE(Code)                                                        \
  template void quantize<Code>(std::span<const float>, const quant_params&, std::span<Code>); \
  template void dequantize<Code>(std::span<const Code>, const quant_params&, std::span<float>);
LOWBIT_INSTANTIATE_CODE(std::int8_t)
LOWBIT_INSTANTIATE_CODE(std::uint8_t)
LOWBIT_INSTANTIATE_CODE(std::int16_t)
LOWBIT_INSTANTIATE_CODE(std::uint16_t)
#undef LOWBIT_INSTANTIATE_CODE

#define LOWBIT_INSTANTIATE_REQUANTIZE(In, Out) \
  template void requantize<In, Out>(std::span<const In>, const quant_params&, const quant_params&, std::span<Out>);
#define LOWBIT_INSTANTIATE_REQUANTIZE_FROM(In)               \
  LOWBIT_INSTANTIATE_REQUANTIZE(In, std::int8_t)             \
  LOWBIT_INSTANTIATE_REQUANTIZE(In, std::uint8_t)            \
  LOWBIT_INSTANTIATE_REQUANTIZE(In, std::int16_t)            \
  LOWBIT_INSTANTIATE_REQUANTIZE(In, std::uint16_t)
LOWBIT_INSTANTIATE_REQUANTIZE_FROM(std::int8_t)
LOWBIT_INSTANTIATE_REQUANTIZE_FROM(std::uint8_t)
LOWBIT_INSTANTIATE_REQUANTIZE_FROM(std::int16_t)
LOWBIT_INSTANTIATE_REQUANTIZE_FROM(std::uint16_t)
#undef LOWBIT_INSTANTIATE_REQUANTIZE_FROM
#undef LOWBIT_INSTANTIATE_REQUANTIZE

}  // namespace lowbit
