// lowbit — internals shared by the 2-D (src/hilbert.cc) and 3-D (src/hilbert3.cc) Hilbert curves:
// argument checks, lattice mapping, the nearest-point candidate order, the map walk, the thread split
// and the pieces of the error model that do not depend on the dimension. Never installed.
// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <numeric>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "lowbit/error.h"
#include "lowbit/hilbert.h"
#include "lowbit/ref/uniform.h"

namespace lowbit::detail::hilbert_common {

// ----------------------------------------------------------------------------------------------------
// Argument checks

/// Throws errc::invalid_argument "<what>: order <order> is outside the supported 1..<max_order>".
inline void check_order(int order, int max_order, const char* what) {
  if (order < 1 || order > max_order) {
    throw error(errc::invalid_argument, std::string(what) + ": order " + std::to_string(order) +
                                            " is outside the supported 1.." + std::to_string(max_order));
  }
}

/// The layout and value-range checks of the curve constructors (`what` = the class name).
inline void check_curve(hilbert_layout layout, double lo, double hi, const char* what) {
  if (layout != hilbert_layout::cell_centre && layout != hilbert_layout::full_range) {
    throw error(errc::invalid_argument,
                std::string(what) + ": unknown layout " + std::to_string(static_cast<int>(layout)));
  }
  // The values are float: a bound beyond FLT_MAX would decode to infinity (and a width beyond
  // DBL_MAX to NaN).
  constexpr double kMax = std::numeric_limits<float>::max();
  if (!(std::abs(lo) <= kMax) || !(std::abs(hi) <= kMax) || !(lo < hi)) {
    char range[96];
    std::snprintf(range, sizeof range, "[%.9g, %.9g]", lo, hi);
    throw error(errc::invalid_range,
                std::string(what) + ": value range " + range + " is not within the float range with lo < hi");
  }
}

/// The checks of the map APIs, before any work starts: `t` holds the values of `batch` images,
/// `channel_values` (the map) channels * t.size() elements, `distance` 0 or t.size() distances; and no
/// two non-empty spans share memory. The maps read their inputs and write their outputs in chunks on
/// several threads, through restrict-qualified kernels: in-place maps would race or read what was
/// already written, so overlap is invalid_argument.
template <class T, class C, class D>
void check_map(std::span<T> t, std::size_t batch, std::size_t channels, std::span<C> channel_values,
               std::span<D> distance, const char* what) {
  const std::size_t values = t.size();
  if (batch == 0 ? values != 0 : values % batch != 0) {
    throw error(errc::invalid_shape, std::string(what) + ": " + std::to_string(values) +
                                         " values do not split into " + std::to_string(batch) + " images");
  }
  if (channel_values.size() != channels * values) {
    throw error(errc::size_mismatch, std::string(what) + ": " + std::to_string(values) + " values need " +
                                         std::to_string(channels * values) + " channel values, " +
                                         std::to_string(channel_values.size()) + " given");
  }
  if (!distance.empty() && distance.size() != values) {
    throw error(errc::size_mismatch, std::string(what) + ": " + std::to_string(distance.size()) +
                                         " distances given for " + std::to_string(values) + " values");
  }
  const std::span<const std::byte> spans[] = {std::as_bytes(t), std::as_bytes(channel_values), std::as_bytes(distance)};
  for (std::size_t i = 0; i < 3; ++i) {
    for (std::size_t j = i + 1; j < 3; ++j) {
      if (spans[i].empty() || spans[j].empty()) continue;
      const auto a = reinterpret_cast<std::uintptr_t>(spans[i].data());
      const auto b = reinterpret_cast<std::uintptr_t>(spans[j].data());
      if (a < b + spans[j].size() && b < a + spans[i].size()) {
        throw error(errc::invalid_argument,
                    std::string(what) + ": input and output spans overlap (in-place maps are not supported)");
      }
    }
  }
}

// ----------------------------------------------------------------------------------------------------
// Curve geometry (side N, M vertices)

/// Polyline length in the unit square / cube: (M - 1) / N (cell_centre), (M - 1) / (N - 1) (full_range).
inline double curve_length(hilbert_layout layout, std::uint32_t side, std::size_t vertices) noexcept {
  const double n = static_cast<double>(side);
  const double segments = static_cast<double>(vertices - 1);
  return layout == hilbert_layout::cell_centre ? segments / n : segments / (n - 1.0);
}

/// Length of one segment: 1 / N (cell_centre), 1 / (N - 1) (full_range).
inline double segment_length(hilbert_layout layout, std::uint32_t side) noexcept {
  const double n = static_cast<double>(side);
  return layout == hilbert_layout::cell_centre ? 1.0 / n : 1.0 / (n - 1.0);
}

struct lattice_map {
  double scale, offset;  // u = clamp(x, 0, 1) * scale + offset
};

inline lattice_map lattice_of(hilbert_layout layout, std::uint32_t n) noexcept {
  if (layout == hilbert_layout::cell_centre) return {static_cast<double>(n), -0.5};
  return {static_cast<double>(n - 1), 0.0};
}

inline double to_lattice(float x, const lattice_map& lm) noexcept {
  const double c = std::clamp(static_cast<double>(x), 0.0, 1.0);
  return c * lm.scale + lm.offset;
}

// ----------------------------------------------------------------------------------------------------
// Nearest point

/// The nearest point of one segment: distance^2 and arc length s (lattice units).
struct candidate {
  double dist2;
  double s;
};

/// The lexicographic minimum (distance^2, then s) of two candidates, b only if strictly smaller;
/// branch-free.
inline candidate pick(const candidate& a, const candidate& b) noexcept {
  const bool take = (b.dist2 < a.dist2) | ((b.dist2 == a.dist2) & (b.s < a.s));
  return {take ? b.dist2 : a.dist2, take ? b.s : a.s};
}

/// t = lo + (hi - lo) s / (M - 1) clamped to [lo, hi], distance = sqrt(dist2) in unit-square/cube
/// units, each rounded once to float32.
inline hilbert_decoded finish_decode(const candidate& c, const lattice_map& lm, double lo, double hi,
                                     std::uint32_t m) noexcept {
  const double t = std::clamp(lo + (hi - lo) * (c.s / static_cast<double>(m - 1)), lo, hi);
  return {static_cast<float>(t), static_cast<float>(std::sqrt(c.dist2) / lm.scale)};
}

inline constexpr hilbert_decoded kNanDecoded{std::numeric_limits<float>::quiet_NaN(),
                                             std::numeric_limits<float>::quiet_NaN()};

// ----------------------------------------------------------------------------------------------------
// Maps

/// Calls f(i, count, x, channel_stride, step) for the runs of values [i, i + count) of [begin, end) that
/// lie in one image of `pixels` values: channel c of value i + r (r < count) at element offset
/// x + c * channel_stride + r * step (planar: the image's planes, channel_stride = pixels, step 1;
/// interleaved: channel_stride 1, step = channels).
template <class F>
void for_each_run(hilbert_map_layout layout, std::size_t channels, std::size_t pixels, std::size_t begin,
                  std::size_t end, F&& f) {
  if (begin >= end) return;
  if (layout == hilbert_map_layout::interleaved) {
    f(begin, end - begin, channels * begin, std::size_t{1}, channels);
    return;
  }
  for (std::size_t i = begin; i < end;) {
    const std::size_t b = i / pixels, p = i - b * pixels;
    const std::size_t count = std::min(end - i, pixels - p);
    f(i, count, channels * b * pixels + p, pixels, std::size_t{1});
    i += count;
  }
}

// The fewest values per worker of each operation: below them a map stays on the calling thread
// (starting and joining a std::thread costs some 20-50 us; the chunks are ~0.1 ms of work or more).
// The costs are those of the 2-D paths; the 3-D scalar encoder and SIMD exact decoder are slower per value,
// so the same minimums keep their chunks above that bound too.
constexpr std::size_t kMinChunkEncode = 16384;   // ~10 ns per value
constexpr std::size_t kMinChunkExact = 16384;    // the 2-D SIMD exact decoder, ~8 ns per value
constexpr std::size_t kMinChunkTable = 262144;   // code-pair / code-triple table lookups, < 0.5 ns per value

inline unsigned resolve_threads(unsigned threads) noexcept {
  if (threads != 0) return threads;
  const unsigned hw = std::thread::hardware_concurrency();
  return hw == 0 ? 1 : hw;
}

// Runs body(begin, end) (noexcept) over [0, n) in contiguous chunks, one per worker: the calling thread
// takes the first, std::thread workers the others. At most min(threads, n / min_chunk) workers (at
// least 1). Chunk boundaries fall on 64-byte boundaries of the output `out` (elements of out_size bytes
// per value; chunks are whole multiples of 64 / gcd(64, out_size) values, e.g. 16 values of 12-byte
// float triples), so no two workers write into one cache line of it. If a worker cannot be started, its
// chunk runs on the calling thread; nothing is thrown. The result never depends on the split (every
// value is computed by the same code from its own inputs).
template <class Body>
void run_chunks(std::size_t n, unsigned threads, std::size_t min_chunk, const void* out, std::size_t out_size,
                const Body& body) noexcept {
  static_assert(noexcept(body(std::size_t{0}, std::size_t{0})), "chunk bodies must not throw");
  constexpr std::size_t kMaxWorkers = 64;
  const std::size_t workers = std::min({std::size_t{resolve_threads(threads)}, n / min_chunk, kMaxWorkers});
  if (workers <= 1) {
    body(0, n);
    return;
  }
  constexpr std::size_t kLine = 64;
  // align values = a whole number of lines; phase = the first value that starts a line (0 if none does).
  const std::size_t align = out_size != 0 ? kLine / std::gcd(kLine, out_size) : 1;
  const auto addr = reinterpret_cast<std::uintptr_t>(out);
  std::size_t phase = 0;
  for (std::size_t p = 0; out_size != 0 && p < align; ++p) {
    if ((addr + p * out_size) % kLine == 0) {
      phase = p;
      break;
    }
  }
  const std::size_t chunk = ((n + workers - 1) / workers + align - 1) / align * align;
  const auto boundary = [&](std::size_t w) { return w == 0 ? 0 : std::min(n, phase + w * chunk); };
  std::thread pool[kMaxWorkers];
  std::size_t started = 0;
  for (std::size_t w = 1; w < workers; ++w) {
    const std::size_t b = boundary(w), e = w + 1 == workers ? n : boundary(w + 1);
    if (b >= e) continue;
    try {
      pool[started] = std::thread([&body, b, e] { body(b, e); });
      ++started;
    } catch (...) {  // std::system_error (no thread available) or std::bad_alloc: run it here
      body(b, e);
    }
  }
  body(0, boundary(1));
  for (std::size_t w = 0; w < started; ++w) pool[w].join();
}

/// The quantizers' exact path for codes without a table: the map's runs in blocks, each channel c's
/// codes clamped into [qmin, qmax] and dequantized with rp[c] (ref::dequantize_value, as decode_pair /
/// decode_triple do) into planes, then kernel(planes, len, t, distance) (a planar exact kernel) on them.
inline constexpr std::size_t kDequantBlock = 512;
template <std::size_t C, class Code, class Kernel>
void decode_codes_exact(const Code* in, std::size_t n, std::size_t pixels, hilbert_map_layout layout,
                        unsigned threads, const ref::run_params (&rp)[C], std::int32_t qmin, std::int32_t qmax,
                        float* out, float* dist, const Kernel& kernel) noexcept {
  run_chunks(n, threads, kMinChunkExact, out, sizeof(float), [&](std::size_t begin, std::size_t end) noexcept {
    for_each_run(layout, C, pixels, begin, end, [&](std::size_t i, std::size_t count, std::size_t x, std::size_t cs,
                                                 std::size_t step) noexcept {
      float planes[C][kDequantBlock];
      for (std::size_t b = 0; b < count; b += kDequantBlock) {
        const std::size_t len = std::min(kDequantBlock, count - b);
        for (std::size_t c = 0; c < C; ++c) {
          for (std::size_t r = 0; r < len; ++r) {
            const Code code = in[x + c * cs + (b + r) * step];
            planes[c][r] = ref::dequantize_value(static_cast<float>(std::clamp<std::int32_t>(code, qmin, qmax)),
                                                 rp[c].scale, rp[c].zero_point);
          }
        }
        kernel(planes, len, out + i + b, dist ? dist + i + b : nullptr);
      }
    });
  });
}

// ----------------------------------------------------------------------------------------------------
// Error model

/// P(e > a) for e = u + g, u uniform on [-q/2, q/2], g ~ N(0, sigma^2) (lattice units).
inline double survival(double a, double q, double sigma) noexcept {
  if (sigma == 0.0) return std::clamp(0.5 - a / q, 0.0, 1.0);
  const auto upper = [](double w) { return 0.5 * std::erfc(w / std::sqrt(2.0)); };
  const auto phi = [](double w) { return std::exp(-0.5 * w * w) / std::sqrt(2.0 * 3.14159265358979323846); };
  // (1/q) int_{a - q/2}^{a + q/2} Q(z / sigma) dz, with int Q(w) dw = w Q(w) - phi(w).
  const auto prim = [&](double w) { return w * upper(w) - phi(w); };
  const double r = sigma / q * (prim((a + q / 2) / sigma) - prim((a - q / 2) / sigma));
  return std::clamp(r, 0.0, 1.0);
}

/// One-sided probability of reaching row m (m = 1..n-1) of the neighbours along one perpendicular axis.
/// A point at fraction f along segment k, displaced by e (lattice units) towards row m, is nearer to
/// row m than to row m - 1 when e > m - 1/2 if the row-m neighbours (V_k + m p, V_{k+1} + m p) form a
/// parallel branch, and when e > m - 1/2 + phi^2 / 2 (phi = min(f, 1 - f)) if they are two unconnected
/// vertices. Averaged over f uniform (phi uniform on [0, 1/2], 16-point midpoint rule).
struct reach_table {
  std::vector<double> parallel, vertex;  // n + 1 entries, m = 1..n-1 used
};

inline reach_table reach_of(std::uint32_t n, double q, double sigma) {
  reach_table r{std::vector<double>(n + 1, 0.0), std::vector<double>(n + 1, 0.0)};
  for (std::uint32_t m = 1; m < n; ++m) {
    const double a = static_cast<double>(m) - 0.5;
    r.parallel[m] = survival(a, q, sigma);
    double sum = 0.0;
    for (int i = 0; i < 16; ++i) {
      const double phi = (i + 0.5) / 32.0;
      sum += survival(a + 0.5 * phi * phi, q, sigma);
    }
    r.vertex[m] = sum / 16.0;
  }
  return r;
}

/// The landings of segment k on the `rows` rows beyond it on one side of one perpendicular axis:
/// at(end, m) is the vertex index (as a double) of the row-m neighbour of V_k (end 0) or V_{k+1}
/// (end 1). Adds the probability of landings more than 1.5 segments away to p_jump and the expected
/// squared arc-length error (segments^2) of every landing to jump2. Beyond the last row the point stays
/// on it (clamped).
template <class At>
void add_landings(const reach_table& table, int rows, std::uint32_t k, const At& at, double& p_jump,
                  double& jump2) {
  const auto reach = [&](int m, double a, double b) {
    const auto mi = static_cast<std::size_t>(m);
    return std::abs(a - b) == 1.0 ? table.parallel[mi] : table.vertex[mi];
  };
  double a = rows >= 1 ? at(0, 1) : 0.0, b = rows >= 1 ? at(1, 1) : 0.0;
  double here = rows >= 1 ? reach(1, a, b) : 0.0;
  for (int m = 1; m <= rows && here > 0.0; ++m) {
    double a2 = 0.0, b2 = 0.0, next = 0.0;
    if (m < rows) {
      a2 = at(0, m + 1);
      b2 = at(1, m + 1);
      next = std::min(reach(m + 1, a2, b2), here);
    }
    const double p = here - next;
    const double e1 = a - static_cast<double>(k), e2 = b - static_cast<double>(k + 1);
    if (std::abs(e1) + std::abs(e2) > 3.0) p_jump += p;  // onto another branch: > 1.5 segments away
    jump2 += p * 0.5 * (e1 * e1 + e2 * e2);
    a = a2;
    b = b2;
    here = next;
  }
}

// The extra along-curve variance that one turn of the curve adds (lattice units^2), for the per-channel
// error e = u + g above. Near a vertex V where the curve turns from direction a to direction b, a point
// at distance delta before V (on the incoming segment), displaced by (ea, eb) along (a, b), decodes
// (nearest of the two rays V - r a, V + r b) to an arc-length error E of
//   ea         if ea < delta and eb <= delta - ea           (the incoming segment, as on a straight line)
//   eb + delta if eb > max(delta - ea, 0)                    (the outgoing segment)
//   delta      if ea >= delta and eb <= 0                    (V itself)
// instead of ea (the third component moves neither). The extra variance per turn is
// 2 int_0^{1/2} E[E^2 - ea^2] d delta (both sides of V: the outgoing side is the mirror image), on a
// grid: 1024 points of the density of e, suffix sums of its moments for the eb tail, 256 points of delta.
// For Gaussian g alone it is 2 * 1.80 sigma^3: the gain falls below L by a factor of about
// sqrt(1 + 3.2 sigma) for the 3-D curves (0.9 turns per segment), sqrt(1 + 2.9 sigma) for the 2-D
// curves (0.8 turns per segment from order 2). Shared by both error models.
inline double corner_variance(double q, double sigma) {
  constexpr int K = 1024, J = 256;
  const double width = q / 2 + 6.0 * sigma;  // the density is 0 (or < 1e-9) beyond
  const double h = 2.0 * width / K;
  const auto cdf = [](double z) { return 0.5 * std::erfc(-z / std::sqrt(2.0)); };
  std::vector<double> x(K), p(K);
  double total = 0.0;
  for (int i = 0; i < K; ++i) {
    x[i] = -width + (i + 0.5) * h;
    p[i] = sigma == 0.0 ? 1.0 : cdf((x[i] + q / 2) / sigma) - cdf((x[i] - q / 2) / sigma);
    total += p[i];
  }
  std::vector<double> t0(K + 1, 0.0), t1(K + 1, 0.0), t2(K + 1, 0.0);  // E[eb^k; eb >= x_i]
  for (int i = K - 1; i >= 0; --i) {
    p[i] /= total;
    t0[i] = t0[i + 1] + p[i];
    t1[i] = t1[i + 1] + p[i] * x[i];
    t2[i] = t2[i + 1] + p[i] * x[i] * x[i];
  }
  const auto first_above = [&](double c) {  // the first grid index with x > c
    const double r = std::floor((c + width) / h - 0.5) + 1.0;
    return static_cast<std::size_t>(std::clamp(r, 0.0, static_cast<double>(K)));
  };
  const double above_zero = t0[first_above(0.0)];
  const double span = std::min(0.5, 2.0 * width);
  double sum = 0.0;
  for (int l = 0; l < J; ++l) {
    const double delta = (l + 0.5) * span / J;
    double extra = 0.0;
    for (int i = 0; i < K; ++i) {
      const double ea = x[i];
      const std::size_t c = first_above(std::max(delta - ea, 0.0));
      double e = t2[c] + 2.0 * delta * t1[c] + (delta * delta - ea * ea) * t0[c];
      if (ea >= delta) e += (delta * delta - ea * ea) * (1.0 - above_zero);
      extra += p[i] * e;
    }
    sum += extra;
  }
  return 2.0 * sum * span / J;
}


}  // namespace lowbit::detail::hilbert_common
