// lowbit — calibration: observers that watch float data and choose uniform quantization parameters.
// SPDX-License-Identifier: Apache-2.0
//
// Data flows one way: an observer sees any number of batches (observe), then freezes what it saw
// into validated parameters (compute_params). Observers keep bounded state, never the raw data:
// running extremes, the k largest / smallest values, or a histogram that is re-binned when a later
// batch widens the range.
//
// Histograms (percentile, mse, sqnr): `bins` equal bins per channel over [min(min, 0), max(max, 0)] of
// the finite values seen; entropy keeps its own histogram of |x| over [0, max |x|]. When a batch widens
// the range, a new histogram over the union range replaces the old one and each old bin's count is
// spread over the new bins it overlaps in proportion to the overlap (a uniform density inside each old
// bin, as PyTorch's HistogramObserver assumes). This is an approximation: percentile ranges come out
// within about a bin width of those from one batch holding all the data; the mse and sqnr searches
// moved by up to ~20 bins and entropy's KL minimum by up to ~200 bins in randomized checks (its
// argmin is flat, so a small change of the histogram can move it far). Memory stays O(bins) per channel.
//
// Rules every calibrator follows (tests/calibrate_test.cc checks each):
// - NaN and ±Inf are skipped and counted (nonfinite_count); a channel that saw no finite value makes
//   range() / compute_params() throw lowbit::error(no_finite_data). Empty batches are fine.
// - The chosen range [lo, hi] always includes 0 (lo <= 0 <= hi), and never reaches beyond the finite
//   values seen (widened to include 0): min(min, 0) <= lo, hi <= max(max, 0).
// - A tensor whose finite values all equal c (c = 0 included) round-trips exactly: quantize then
//   dequantize gives back c in every profile (a subnormal c excepted: see params_for_range).
// - The scale never underflows to 0 (it is at least FLT_MIN); the zero point is an integer inside
//   [qmin, qmax]; narrow range is honoured in the scale (int8 narrow symmetric: scale = a / 127).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>

#include "lowbit/profile.h"
#include "lowbit/quant_params.h"

namespace lowbit {

/// How an observer chooses the clipping range [lo, hi] of each channel.
enum class calibrator : std::uint8_t {
  min_max,         ///< the smallest and largest finite value seen
  moving_average,  ///< per batch min / max, averaged: r = momentum * r + (1 - momentum) * r_batch
                   ///< (the first batch sets r), as PyTorch's MovingAverageMinMaxObserver (whose
                   ///< averaging_constant is 1 - momentum). In double, rounded to float at the end; a
                   ///< batch without a finite value in a channel leaves that channel's r alone.
  percentile,      ///< lo = the (100 - p)th, hi = the p-th percentile of the values (both tails):
                   ///< where the cumulative histogram, summed from the top for lo and from the bottom
                   ///< for hi, reaches p% of the count (so negated data gives the negated range), with
                   ///< linear interpolation inside a bin (within a bin width of the exact order statistic).
                   ///< p = 100 gives the exact min and max.
  top_k_median,    ///< lo = median of the k smallest values, hi = median of the k largest
                   ///< (PWLQ's activation calibration; exact: the k extremes are kept). For an even count
                   ///< the mean of the two middle values (in double, rounded to float); with fewer than k
                   ///< values seen, the median of all of them.
  mse,             ///< the range that minimises the expected quantization MSE under the histogram
                   ///< (rounding noise inside the range, clipping error outside), a finer search than
                   ///< PyTorch's HistogramObserver's greedy L2 search. Each candidate is scored on the
                   ///< grid params_for_range gives it. Candidates: symmetric, t = k * max|x| / bins for
                   ///< k = 1..bins; asymmetric, every pair (lo, hi) of bin edges on either side of 0
                   ///< (and 0 itself) — all pairs when there are at most 65536, else every s-th edge, then
                   ///< all pairs within s edges of the best. Scored first with scale^2 / 12 per value
                   ///< inside and the exact squared clipping distance outside (values spread uniformly in
                   ///< a bin), then refined within 64 candidates of that optimum (coordinate descent when
                   ///< asymmetric) with the exact expected rounding error of each bin.
  entropy,         ///< TensorRT's KL-divergence threshold t on the histogram of |x|: for i = T..bins,
                   ///< P = the first i bins with the mass beyond added to bin i - 1, Q = those i bins
                   ///< (outliers excluded) merged into T levels of i / T bins (the last level takes the
                   ///< rest) and spread evenly over the bins where P is nonzero; both smoothed as MXNet
                   ///< (empty bins get 1e-4, the others lose the same total; less when that would empty a
                   ///< bin); t = i * bin width (the upper edge of the last bin kept) for the i with the
                   ///< least KL(P || Q), the first on ties; t = max|x| when T >= bins.
                   ///< T = (qmax - qmin + 1) / 2 (128 for int8, as TensorRT), or qmax - qmin + 1 for an
                   ///< asymmetric format when all values seen have one sign. Range [-t, t] (clipped to
                   ///< the values seen): [0, t] when nothing negative, [-t, 0] when nothing positive
                   ///< was seen.
  sqnr,            ///< the range that maximises signal-to-quantization-noise ratio: the least
                   ///< scale^2 / 12 per value inside plus gamma = 3 times the squared clipping distance
                   ///< outside, on the histogram (AIMET's SQNR encoding analyzer). Candidates: symmetric,
                   ///< a = k / 100 * max|x| (k = 1..100); asymmetric, the min-max range and, for the
                   ///< scales k / 100 of the min-max scale (k = 1..100), 21 zero-point offsets evenly
                   ///< spaced over the codes plus the offset of the minimum, each clipped to the values
                   ///< seen.
};

/// A calibrator and its settings.
struct calibrator_spec {
  calibrator kind = calibrator::min_max;
  double momentum = 0.9;       ///< moving_average, in [0, 1)
  double percentile = 99.99;   ///< percentile, in (50, 100]
  int top_k = 10;              ///< top_k_median, >= 1
  int bins = 2048;             ///< histogram calibrators (percentile, mse, entropy, sqnr), 128..65536

  /// Parses "minmax", "ema[:momentum]", "percentile[:p]", "topk[:k]", "mse", "entropy", "sqnr"; the
  /// histogram calibrators (percentile, mse, entropy, sqnr) may end in ":bins=N". Omitted settings keep
  /// their defaults. Throws lowbit::error(invalid_argument) naming the accepted forms, also for a value
  /// outside its domain.
  static calibrator_spec parse(std::string_view text);
  /// The text parse() reads back ("percentile:99.99", "mse:bins=4096"): the kind and the settings it
  /// uses, numbers in their shortest round-trip form, bins only when not 2048.
  std::string to_string() const;
};

/// Watches batches of float data and chooses uniform quantization parameters from them.
class observer {
 public:
  /// A per-tensor observer. Throws lowbit::error(invalid_argument) for settings outside their domain
  /// (every setting is checked, whichever the kind).
  explicit observer(calibrator_spec spec);
  /// A per-channel observer: batches are C-order tensors, channel c is index c along `axis`
  /// (negative counts from the end). All batches must have the same extent along the axis.
  observer(calibrator_spec spec, int axis);
  /// A moved-from observer throws lowbit::error(invalid_argument) from observe, range and compute_params.
  observer(observer&&) noexcept;
  observer& operator=(observer&&) noexcept;
  ~observer();

  /// Observes every value of `batch` (per-tensor observers only; a per-channel observer throws
  /// lowbit::error(invalid_shape): it needs the shape).
  void observe(std::span<const float> batch);
  /// Observes a C-order tensor of shape `shape`. Throws lowbit::error: size_mismatch (span and shape
  /// disagree), invalid_shape, invalid_axis, count_mismatch (a different channel count than before).
  void observe(std::span<const float> batch, std::span<const std::int64_t> shape);

  /// The clipping range [lo, hi] of `channel` (0 for per-tensor) for codes of `format`: lo <= 0 <= hi.
  /// mse, entropy and sqnr depend on the code format and `symmetric`; the others do not. A channel
  /// whose finite values all equal c gives [min(c, 0), max(c, 0)] with every calibrator.
  /// Throws lowbit::error: no_finite_data, invalid_argument (channel out of range), unsupported_width.
  std::pair<float, float> range(code_format format, bool symmetric, std::size_t channel = 0) const;

  /// Frozen parameters from the ranges (see the numerics in params_for_range). Per-channel observers
  /// give per_channel parameters for `shape` (default: the shape of the last batch); per-tensor ones
  /// ignore `shape`.
  /// Throws what range() throws, and unsupported_width.
  quant_params compute_params(code_format format, bool symmetric, profile numerics = profile::onnx,
                              std::optional<std::span<const std::int64_t>> shape = std::nullopt) const;

  const calibrator_spec& spec() const noexcept;
  /// The channel axis (nullopt for per-tensor observers).
  std::optional<int> axis() const noexcept;
  /// Channels seen so far (1 for per-tensor observers; for a per-channel one 0 until a batch with
  /// elements sets the count: an empty batch is checked against the count but does not set it).
  std::size_t channels() const noexcept;
  /// Finite values observed, and NaN / ±Inf values skipped, over all channels.
  std::uint64_t finite_count() const noexcept;
  std::uint64_t nonfinite_count() const noexcept;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

/// The scale and zero point that map the range [lo, hi] (lo <= 0 <= hi, finite) onto `format`:
///   asymmetric: scale = (hi - lo) / (qmax - qmin), zero_point = round_half_even(clamp(qmin - lo / scale,
///               qmin, qmax)) — ONNX DynamicQuantizeLinear's formula, float32 arithmetic;
///   symmetric:  a = max(-lo, hi); signed: zero_point = 0, scale = a / qmax;
///               unsigned: zero_point = (qmin + qmax + 1) / 2, scale = a / (qmax - zero_point).
/// lo == hi == 0 gives scale 1. A scale below FLT_MIN is raised to FLT_MIN. When hi - lo overflows
/// float, the asymmetric scale is hi / (qmax - qmin) - lo / (qmax - qmin). A scale whose extreme
/// levels (qmin - zp) * scale or (qmax - zp) * scale would overflow float is lowered until they are
/// finite (ranges within one step of FLT_MAX), so no finite value dequantizes to ±Inf.
/// (Observers treat a channel whose finite values all equal one c != 0 specially: they pick, among the
/// floats nearest this scale (up to 256 ulps away, nearest first), one with which c quantizes to a code
/// that dequantizes back to exactly c in every profile, keeping the zero point; failing that, |c| / 2^k
/// with the largest k such that 2^k codes lie on c's side of the zero point and |c| / 2^k >= FLT_MIN.
/// Only a subnormal c (|c| < FLT_MIN: no such scale exists) keeps the scale of this formula, and so
/// does a c too close to FLT_MAX for the codes on its side (e.g. 3e38 with 4-bit signed codes), where
/// every candidate would put a level past FLT_MAX: c then rounds to within a step.)
/// Throws lowbit::error: invalid_range (NaN, Inf, lo > 0 or hi < 0), unsupported_width.
std::pair<float, std::int32_t> params_for_range(float lo, float hi, code_format format, bool symmetric);

}  // namespace lowbit
