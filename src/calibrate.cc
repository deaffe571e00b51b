// lowbit — calibration observers: bounded per-channel statistics, then a clipping range per calibrator.
// SPDX-License-Identifier: Apache-2.0
#include "lowbit/calibrate.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <functional>
#include <limits>
#include <string>
#include <system_error>
#include <vector>

#include "lowbit/error.h"
#include "lowbit/ref/uniform.h"

namespace lowbit {
namespace {

constexpr int kDefaultBins = 2048;
constexpr double kSqnrGamma = 3.0;      // AIMET's weight of clipping noise
constexpr int kSqnrScales = 100;        // scale candidates: k / 100 of the min-max scale
constexpr int kSqnrOffsets = 21;        // evenly spaced zero-point positions (plus min-max's own)
constexpr std::size_t kMseCoarsePairs = 65536;  // asymmetric MSE: pairs evaluated on the coarse grid
constexpr std::ptrdiff_t kMseExactWindow = 64;  // MSE: exact-model refinement window, in candidates
constexpr double kKlEps = 1e-4;                 // entropy: MXNet's smoothing of empty bins

const calibrator_spec kMovedFromSpec{};

// ----------------------------------------------------------------------------------------------------
// Validation

void check_width(code_format f) {
  if (f.bits < 2 || f.bits > 16) {
    throw error(errc::unsupported_width, "bit width " + std::to_string(f.bits) + " is outside the supported 2..16");
  }
}

std::string number(double v) {
  std::array<char, 64> buf{};
  const auto r = std::to_chars(buf.data(), buf.data() + buf.size(), v);
  return std::string(buf.data(), r.ptr);
}

void validate(const calibrator_spec& s) {
  const auto k = static_cast<int>(s.kind);
  if (k < 0 || k > static_cast<int>(calibrator::sqnr)) {
    throw error(errc::invalid_argument, "calibrator kind " + std::to_string(k) + " is not a calibrator");
  }
  if (!(s.momentum >= 0.0 && s.momentum < 1.0)) {
    throw error(errc::invalid_argument, "momentum " + number(s.momentum) + " is outside [0, 1)");
  }
  if (!(s.percentile > 50.0 && s.percentile <= 100.0)) {
    throw error(errc::invalid_argument, "percentile " + number(s.percentile) + " is outside (50, 100]");
  }
  if (s.top_k < 1) {
    throw error(errc::invalid_argument, "top_k " + std::to_string(s.top_k) + " is not >= 1");
  }
  if (s.bins < 128 || s.bins > 65536) {
    throw error(errc::invalid_argument, "bins " + std::to_string(s.bins) + " is outside 128..65536");
  }
}

bool uses_histogram(calibrator k) {
  return k == calibrator::percentile || k == calibrator::mse || k == calibrator::entropy ||
         k == calibrator::sqnr;
}


// ----------------------------------------------------------------------------------------------------
// Histogram: `counts.size()` equal bins over [lo, hi]. Counts are real numbers because re-binning
// spreads a bin over the new bins it overlaps. lo == hi only while every value seen is lo (then all
// mass is in bin 0 and stands for the point lo).

struct histogram {
  double lo = 0.0, hi = 0.0;
  std::vector<double> counts;

  std::size_t size() const noexcept { return counts.size(); }
  double width() const noexcept { return (hi - lo) / static_cast<double>(counts.size()); }
  double total() const noexcept {
    double t = 0.0;
    for (const double c : counts) t += c;
    return t;
  }

  // Bin of x for bins over [a, b] (clamped to the end bins).
  static std::size_t bin_of(double x, double a, double b, std::size_t n) noexcept {
    if (!(b > a)) return 0;
    const double t = (x - a) / (b - a) * static_cast<double>(n);
    if (!(t > 0.0)) return 0;
    if (t >= static_cast<double>(n)) return n - 1;
    return std::min(static_cast<std::size_t>(t), n - 1);
  }

  // Makes the histogram cover [a, b] ⊇ [lo, hi]: a new histogram over the union, the old counts
  // redistributed assuming a uniform density inside each old bin (proportional overlap).
  void cover(double a, double b, std::size_t n) {
    if (counts.empty()) {
      counts.assign(n, 0.0);
      lo = a;
      hi = b;
      return;
    }
    a = std::min(a, lo);
    b = std::max(b, hi);
    if (a == lo && b == hi) return;
    std::vector<double> fresh(n, 0.0);
    if (!(hi > lo)) {  // a point mass at lo
      fresh[bin_of(lo, a, b, n)] += total();
    } else {
      const double w0 = width(), w1 = (b - a) / static_cast<double>(n);
      for (std::size_t j = 0; j < n; ++j) {
        const double c = counts[j];
        if (c == 0.0) continue;
        const double ea = lo + static_cast<double>(j) * w0;
        const double eb = j + 1 == n ? hi : lo + static_cast<double>(j + 1) * w0;
        const double pa = (ea - a) / w1, pb = (eb - a) / w1;  // in new bins
        const double span = pb - pa;
        const auto last = static_cast<double>(n - 1);
        const auto k0 = static_cast<std::size_t>(std::clamp(std::floor(pa), 0.0, last));
        const auto k1 = std::max(k0, static_cast<std::size_t>(std::clamp(std::ceil(pb) - 1.0, 0.0, last)));
        double given = 0.0;
        if (span > 0.0) {
          for (std::size_t k = k0; k < k1; ++k) {
            const double overlap = std::min(pb, static_cast<double>(k + 1)) - std::max(pa, static_cast<double>(k));
            if (overlap <= 0.0) continue;
            const double part = c * std::min(overlap / span, 1.0);
            fresh[k] += part;
            given += part;
          }
        }
        fresh[k1] += std::max(c - given, 0.0);  // the rest (all of it when k0 == k1): mass is conserved
      }
    }
    counts.swap(fresh);
    lo = a;
    hi = b;
  }
};

// ----------------------------------------------------------------------------------------------------
// Per-channel state

struct channel_state {
  std::uint64_t finite = 0, nonfinite = 0;
  float min = 0.0f, max = 0.0f;  // exact, valid when finite > 0
  bool has_average = false;      // moving_average
  double average_lo = 0.0, average_hi = 0.0;
  std::vector<float> largest;   // top_k_median: min-heap of the k largest values
  std::vector<float> smallest;  // top_k_median: max-heap of the k smallest values
  histogram hist;               // percentile, mse, sqnr: x over [min(min, 0), max(max, 0)];
                                // entropy: |x| over [0, max |x|]
};

void add_values(channel_state& st, const calibrator_spec& spec, std::span<const float> v) {
  std::uint64_t good = 0, bad = 0;
  float bmin = std::numeric_limits<float>::infinity(), bmax = -bmin;
  for (const float x : v) {
    if (std::isfinite(x)) {
      ++good;
      bmin = std::min(bmin, x);
      bmax = std::max(bmax, x);
    } else {
      ++bad;
    }
  }
  st.nonfinite += bad;
  if (good == 0) return;
  if (st.finite == 0) {
    st.min = bmin;
    st.max = bmax;
  } else {
    st.min = std::min(st.min, bmin);
    st.max = std::max(st.max, bmax);
  }
  st.finite += good;

  switch (spec.kind) {
    case calibrator::min_max:
      break;
    case calibrator::moving_average:
      if (!st.has_average) {
        st.average_lo = bmin;
        st.average_hi = bmax;
        st.has_average = true;
      } else {
        st.average_lo = spec.momentum * st.average_lo + (1.0 - spec.momentum) * static_cast<double>(bmin);
        st.average_hi = spec.momentum * st.average_hi + (1.0 - spec.momentum) * static_cast<double>(bmax);
      }
      break;
    case calibrator::top_k_median: {
      const auto k = static_cast<std::size_t>(spec.top_k);
      for (const float x : v) {
        if (!std::isfinite(x)) continue;
        if (st.largest.size() < k) {
          st.largest.push_back(x);
          std::push_heap(st.largest.begin(), st.largest.end(), std::greater<>());
        } else if (x > st.largest.front()) {
          std::pop_heap(st.largest.begin(), st.largest.end(), std::greater<>());
          st.largest.back() = x;
          std::push_heap(st.largest.begin(), st.largest.end(), std::greater<>());
        }
        if (st.smallest.size() < k) {
          st.smallest.push_back(x);
          std::push_heap(st.smallest.begin(), st.smallest.end());
        } else if (x < st.smallest.front()) {
          std::pop_heap(st.smallest.begin(), st.smallest.end());
          st.smallest.back() = x;
          std::push_heap(st.smallest.begin(), st.smallest.end());
        }
      }
      break;
    }
    case calibrator::percentile:
    case calibrator::mse:
    case calibrator::sqnr:
    case calibrator::entropy: {
      const bool absolute = spec.kind == calibrator::entropy;
      const auto n = static_cast<std::size_t>(spec.bins);
      const double a = absolute ? 0.0 : std::min(static_cast<double>(st.min), 0.0);
      const double b = absolute ? std::max(-static_cast<double>(st.min), static_cast<double>(st.max))
                                : std::max(static_cast<double>(st.max), 0.0);
      st.hist.cover(a, b, n);
      const double lo = st.hist.lo, hi = st.hist.hi;
      for (const float x : v) {
        if (!std::isfinite(x)) continue;
        const double y = absolute ? std::abs(static_cast<double>(x)) : static_cast<double>(x);
        st.hist.counts[histogram::bin_of(y, lo, hi, n)] += 1.0;
      }
      break;
    }
  }
}

// ----------------------------------------------------------------------------------------------------
// Error models on a histogram

struct grid {
  double scale, lo, hi;  // the representable range [(qmin - zp) * scale, (qmax - zp) * scale]
};

grid grid_of(float lo, float hi, code_format f, bool symmetric) {
  const auto [s, zp] = params_for_range(lo, hi, f, symmetric);
  const double sd = s;
  return {sd, static_cast<double>(f.qmin() - zp) * sd, static_cast<double>(f.qmax() - zp) * sd};
}

// Prefix sums of a histogram in bin units (x = lo + width * y), the values of a bin spread uniformly:
// count, first moment (bin centre) and second moment (centre^2 + 1/12).
class hist_model {
 public:
  explicit hist_model(const histogram& h) : h_(h), n_(h.size()), w_(h.width()) {
    c0_.assign(n_ + 1, 0.0);
    c1_.assign(n_ + 1, 0.0);
    c2_.assign(n_ + 1, 0.0);
    for (std::size_t i = 0; i < n_; ++i) {
      const double c = h.counts[i], m = static_cast<double>(i) + 0.5;
      c0_[i + 1] = c0_[i] + c;
      c1_[i + 1] = c1_[i] + c * m;
      c2_[i + 1] = c2_[i] + c * (m * m + 1.0 / 12.0);
    }
  }

  const histogram& hist() const noexcept { return h_; }

  // Expected squared error with rounding noise scale^2 / 12 for the mass inside the grid's range and
  // gamma * the squared clipping distance for the mass outside (exact for a uniform density per bin).
  // O(1). In units of x^2 per value summed over the histogram.
  double fast_cost(const grid& g, double gamma) const {
    if (!(w_ > 0.0)) return 0.0;
    const double l = (g.lo - h_.lo) / w_, u = (g.hi - h_.lo) / w_, s = g.scale / w_;
    double mass_below = 0.0, sq_below = 0.0, mass_above = 0.0, sq_above = 0.0;
    below(l, mass_below, sq_below);
    above(u, mass_above, sq_above);
    const double inside = std::max(c0_[n_] - mass_below - mass_above, 0.0);
    return (s * s / 12.0 * inside + gamma * (sq_below + sq_above)) * w_ * w_;
  }

  // Expected squared error of rounding to the grid (nearest level, clamped), exact for a uniform
  // density inside each bin. O(bins).
  double exact_cost(const grid& g) const {
    if (!(w_ > 0.0)) return 0.0;
    const double q = (g.hi - g.lo) / g.scale;  // levels are 0..q in grid units
    const double bw = w_ / g.scale;
    double sum = 0.0;
    for (std::size_t j = 0; j < n_; ++j) {
      const double c = h_.counts[j];
      if (c == 0.0) continue;
      const double u = (h_.lo + static_cast<double>(j) * w_ - g.lo) / g.scale, v = u + bw;
      double acc = 0.0;
      if (u < 0.0) {
        const double b = std::min(v, 0.0);
        acc += (-u * u * u + b * b * b) / 3.0;  // integral of y^2 over [u, b]
      }
      if (v > q) {
        const double a = std::max(u, q) - q, b = v - q;
        acc += (b * b * b - a * a * a) / 3.0;
      }
      const double a = std::max(u, 0.0), b = std::min(v, q);
      if (b > a) acc += rounding_integral(a, b);
      sum += c * acc / bw;
    }
    return sum * g.scale * g.scale;
  }

 private:
  // Integral of (y - round(y))^2 over [a, b], 0 <= a <= b.
  static double rounding_integral(double a, double b) {
    const auto part = [](double f) {  // integral over [0, f], f in [0, 1)
      return f <= 0.5 ? f * f * f / 3.0 : 1.0 / 24.0 + ((f - 1.0) * (f - 1.0) * (f - 1.0) + 0.125) / 3.0;
    };
    const double fa = std::floor(a), fb = std::floor(b);
    return (fb - fa) / 12.0 + part(b - fb) - part(a - fa);
  }

  // Mass below l and the sum of (l - x)^2 over it, in bin units.
  void below(double l, double& mass, double& sq) const {
    if (l <= 0.0) return;
    if (l >= static_cast<double>(n_)) {
      mass = c0_[n_];
      sq = l * l * c0_[n_] - 2.0 * l * c1_[n_] + c2_[n_];
    } else {
      const auto k = static_cast<std::size_t>(l);
      const double f = l - static_cast<double>(k), c = h_.counts[k];
      mass = c0_[k] + c * f;
      sq = l * l * c0_[k] - 2.0 * l * c1_[k] + c2_[k] + c * f * f * f / 3.0;
    }
    sq = std::max(sq, 0.0);
  }

  // Mass above u and the sum of (x - u)^2 over it, in bin units.
  void above(double u, double& mass, double& sq) const {
    if (u >= static_cast<double>(n_)) return;
    if (u <= 0.0) {
      mass = c0_[n_];
      sq = c2_[n_] - 2.0 * u * c1_[n_] + u * u * c0_[n_];
    } else {
      const auto k = static_cast<std::size_t>(u);
      const double f = u - static_cast<double>(k), c = h_.counts[k], g = 1.0 - f;
      const double s0 = c0_[n_] - c0_[k + 1], s1 = c1_[n_] - c1_[k + 1], s2 = c2_[n_] - c2_[k + 1];
      mass = s0 + c * g;
      sq = s2 - 2.0 * u * s1 + u * u * s0 + c * g * g * g / 3.0;
    }
    sq = std::max(sq, 0.0);
  }

  const histogram& h_;
  std::size_t n_;
  double w_;
  std::vector<double> c0_, c1_, c2_;
};

// ----------------------------------------------------------------------------------------------------
// Calibrators

float median_of(std::vector<float> v) {
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  if (n % 2 == 1) return v[n / 2];
  return static_cast<float>((static_cast<double>(v[n / 2 - 1]) + static_cast<double>(v[n / 2])) / 2.0);
}

// The value below which (from_top: above which) a mass `mass` of the histogram lies, interpolating
// linearly in a bin; the two directions mirror each other, so negated data gives the negated range.
// A bin whose cumulative count reaches the mass to within a few ulps of it reaches it: p / 100 * N is
// rounded (99.9 / 100 * 1000 = 999.0000000000001), and without the tolerance a bin that holds exactly
// p% of the values would be passed over, jumping across any empty gap after it. (A tolerance in counts
// would grow with N and skip real order statistics of large histograms.)
double histogram_quantile(const histogram& h, double mass, bool from_top) {
  const double w = h.width();
  const double reach = mass - 16.0 * std::numeric_limits<double>::epsilon() * mass;
  const std::size_t n = h.size();
  double cum = 0.0;
  for (std::size_t k = 0; k < n; ++k) {
    const std::size_t j = from_top ? n - 1 - k : k;
    const double c = h.counts[j];
    if (c > 0.0 && cum + c >= reach) {
      const double f = std::clamp((mass - cum) / c, 0.0, 1.0);
      return h.lo + w * (from_top ? static_cast<double>(j + 1) - f : static_cast<double>(j) + f);
    }
    cum += c;
  }
  return from_top ? h.lo : h.hi;
}

std::pair<float, float> percentile_range(const channel_state& st, double p) {
  if (p >= 100.0) return {st.min, st.max};
  const double total = st.hist.total(), mass = p / 100.0 * total;
  const double lo = histogram_quantile(st.hist, mass, true);
  const double hi = histogram_quantile(st.hist, mass, false);
  return {std::clamp(static_cast<float>(lo), st.min, st.max), std::clamp(static_cast<float>(hi), st.min, st.max)};
}

std::pair<float, float> mse_range(const channel_state& st, code_format f, bool symmetric) {
  const hist_model model(st.hist);
  const histogram& h = st.hist;
  const std::size_t n = h.size();
  const double w = h.width();
  const float dlo = std::min(st.min, 0.0f), dhi = std::max(st.max, 0.0f);

  if (symmetric) {
    const double amax = std::max(-static_cast<double>(dlo), static_cast<double>(dhi));
    const auto threshold = [&](std::ptrdiff_t k) {
      return k >= static_cast<std::ptrdiff_t>(n) ? static_cast<float>(amax)
                                                 : static_cast<float>(amax * static_cast<double>(k) / static_cast<double>(n));
    };
    const auto cost = [&](std::ptrdiff_t k, bool exact) {
      const float t = threshold(k);
      if (!(t > 0.0f)) return std::numeric_limits<double>::infinity();
      const grid g = grid_of(-t, t, f, true);
      return exact ? model.exact_cost(g) : model.fast_cost(g, 1.0);
    };
    std::ptrdiff_t best = static_cast<std::ptrdiff_t>(n);
    double best_cost = std::numeric_limits<double>::infinity();
    for (std::ptrdiff_t k = 1; k <= static_cast<std::ptrdiff_t>(n); ++k) {
      const double c = cost(k, false);
      if (c < best_cost) best_cost = c, best = k;
    }
    // Exact model in a window around the fast optimum, re-centred while the best is on its edge.
    best_cost = std::numeric_limits<double>::infinity();
    std::ptrdiff_t centre = best;
    for (int round = 0; round < 8; ++round) {
      const std::ptrdiff_t a = std::max<std::ptrdiff_t>(1, centre - kMseExactWindow);
      const std::ptrdiff_t b = std::min<std::ptrdiff_t>(static_cast<std::ptrdiff_t>(n), centre + kMseExactWindow);
      for (std::ptrdiff_t k = a; k <= b; ++k) {
        const double c = cost(k, true);
        if (c < best_cost) best_cost = c, best = k;
      }
      if ((best == a && a > 1) || (best == b && b < static_cast<std::ptrdiff_t>(n))) {
        centre = best;
      } else {
        break;
      }
    }
    const float t = threshold(best);
    return {std::max(-t, dlo), std::min(t, dhi)};
  }

  // Asymmetric: candidate ends are the bin edges on each side of 0, and 0 itself.
  std::vector<float> los, his;
  for (std::size_t j = 0; j <= n; ++j) {
    const double e = j == n ? h.hi : h.lo + static_cast<double>(j) * w;
    if (e <= 0.0) los.push_back(static_cast<float>(e));
    if (e >= 0.0) his.push_back(static_cast<float>(e));
  }
  if (los.empty() || los.back() < 0.0f) los.push_back(0.0f);
  if (his.empty() || his.front() > 0.0f) his.insert(his.begin(), 0.0f);
  const auto nl = static_cast<std::ptrdiff_t>(los.size()), nh = static_cast<std::ptrdiff_t>(his.size());
  const auto cost = [&](std::ptrdiff_t i, std::ptrdiff_t j, bool exact) {
    if (!(his[static_cast<std::size_t>(j)] > los[static_cast<std::size_t>(i)])) {
      return std::numeric_limits<double>::infinity();
    }
    const grid g = grid_of(los[static_cast<std::size_t>(i)], his[static_cast<std::size_t>(j)], f, false);
    return exact ? model.exact_cost(g) : model.fast_cost(g, 1.0);
  };
  // Points 0, s, 2s, ... and the last one, on an axis of `count` candidates.
  const auto point_count = [](std::ptrdiff_t count, std::ptrdiff_t s) {
    return static_cast<std::size_t>((count - 1) / s + 1 + ((count - 1) % s != 0 ? 1 : 0));
  };
  std::ptrdiff_t stride = 1;
  while (point_count(nl, stride) * point_count(nh, stride) > kMseCoarsePairs) ++stride;
  const auto axis_points = [&](std::ptrdiff_t count) {
    std::vector<std::ptrdiff_t> pts;
    for (std::ptrdiff_t i = 0; i < count; i += stride) pts.push_back(i);
    if (pts.back() != count - 1) pts.push_back(count - 1);
    return pts;
  };
  std::ptrdiff_t bi = 0, bj = nh - 1;
  double best_cost = std::numeric_limits<double>::infinity();
  for (const std::ptrdiff_t i : axis_points(nl)) {
    for (const std::ptrdiff_t j : axis_points(nh)) {
      const double c = cost(i, j, false);
      if (c < best_cost) best_cost = c, bi = i, bj = j;
    }
  }
  if (stride > 1) {
    const std::ptrdiff_t ci = bi, cj = bj;
    for (std::ptrdiff_t i = std::max<std::ptrdiff_t>(0, ci - stride); i <= std::min(nl - 1, ci + stride); ++i) {
      for (std::ptrdiff_t j = std::max<std::ptrdiff_t>(0, cj - stride); j <= std::min(nh - 1, cj + stride); ++j) {
        const double c = cost(i, j, false);
        if (c < best_cost) best_cost = c, bi = i, bj = j;
      }
    }
  }
  // Exact model: coordinate descent, each end over a window of candidates around the current best.
  best_cost = cost(bi, bj, true);
  for (int round = 0; round < 8; ++round) {
    const std::ptrdiff_t oi = bi, oj = bj;
    for (std::ptrdiff_t i = std::max<std::ptrdiff_t>(0, oi - kMseExactWindow);
         i <= std::min(nl - 1, oi + kMseExactWindow); ++i) {
      const double c = cost(i, bj, true);
      if (c < best_cost) best_cost = c, bi = i;
    }
    for (std::ptrdiff_t j = std::max<std::ptrdiff_t>(0, oj - kMseExactWindow);
         j <= std::min(nh - 1, oj + kMseExactWindow); ++j) {
      const double c = cost(bi, j, true);
      if (c < best_cost) best_cost = c, bj = j;
    }
    if (bi == oi && bj == oj) break;
  }
  return {los[static_cast<std::size_t>(bi)], his[static_cast<std::size_t>(bj)]};
}

std::pair<float, float> sqnr_range(const channel_state& st, code_format f, bool symmetric) {
  const hist_model model(st.hist);
  const float dlo = std::min(st.min, 0.0f), dhi = std::max(st.max, 0.0f);
  double best_cost = std::numeric_limits<double>::infinity();
  std::pair<float, float> best{dlo, dhi};
  const auto consider = [&](float lo, float hi, bool sym) {
    if (!(hi > lo)) return;
    const double c = model.fast_cost(grid_of(lo, hi, f, sym), kSqnrGamma);
    if (c < best_cost) best_cost = c, best = {lo, hi};
  };
  if (symmetric) {
    const double amax = std::max(-static_cast<double>(dlo), static_cast<double>(dhi));
    for (int k = 1; k <= kSqnrScales; ++k) {
      const auto a = k == kSqnrScales ? static_cast<float>(amax) : static_cast<float>(amax * k / kSqnrScales);
      if (!(a > 0.0f)) continue;
      const double c = model.fast_cost(grid_of(-a, a, f, true), kSqnrGamma);
      if (c < best_cost) best_cost = c, best = {std::max(-a, dlo), std::min(a, dhi)};
    }
    return best;
  }
  // Asymmetric: scales k / 100 of the min-max scale, each with kSqnrOffsets evenly spaced offsets
  // (zero point positions) and the offset of the data's own minimum; each range clipped to the data.
  consider(dlo, dhi, false);
  const double steps = static_cast<double>(f.qmax() - f.qmin());
  const double scale_max = (static_cast<double>(dhi) - static_cast<double>(dlo)) / steps;
  for (int k = 1; k <= kSqnrScales; ++k) {
    const double s = scale_max * k / kSqnrScales;
    if (!(s > 0.0)) continue;
    for (int j = 0; j <= kSqnrOffsets; ++j) {
      const double o = j < kSqnrOffsets ? std::round(-steps * j / (kSqnrOffsets - 1))
                                        : std::clamp(std::round(static_cast<double>(dlo) / s), -steps, 0.0);
      const auto lo = static_cast<float>(std::max(o * s, static_cast<double>(dlo)));
      const auto hi = static_cast<float>(std::min((o + steps) * s, static_cast<double>(dhi)));
      consider(std::min(lo, 0.0f), std::max(hi, 0.0f), false);
    }
  }
  return best;
}

// KL(P || Q) of two unnormalised distributions of equal length, each smoothed as MXNet's
// _smooth_distribution: empty bins get eps, the others lose eps * zeros / nonzeros (eps reduced when
// that would empty a bin). Infinite when either has no mass. Q must be 0 wherever P is 0 (as the
// expanded distribution is): those bins all add the same term, summed in one step.
double smoothed_kl(std::span<const double> p, std::span<const double> q) {
  struct smoothing {
    double eps = 0.0, eps1 = 0.0, sum = 0.0;
    bool ok = false;
  };
  const auto smoothing_of = [](std::span<const double> d) {
    smoothing s;
    std::size_t zeros = 0;
    double smallest = std::numeric_limits<double>::infinity();
    for (const double x : d) {
      s.sum += x;
      if (x == 0.0) ++zeros;
      else smallest = std::min(smallest, x);
    }
    const std::size_t nonzeros = d.size() - zeros;
    if (nonzeros == 0 || !(s.sum > 0.0)) return s;
    s.eps = kKlEps;
    s.eps1 = s.eps * static_cast<double>(zeros) / static_cast<double>(nonzeros);
    if (zeros > 0 && s.eps1 >= smallest) {
      s.eps1 = 0.5 * smallest;
      s.eps = s.eps1 * static_cast<double>(nonzeros) / static_cast<double>(zeros);
    }
    s.ok = true;
    return s;
  };
  const smoothing sp = smoothing_of(p), sq = smoothing_of(q);
  if (!sp.ok || !sq.ok) return std::numeric_limits<double>::infinity();
  // sum of a * log(a / b) over the normalised a = p' / sum p, b = q' / sum q (smoothing keeps the sums)
  double kl = 0.0;
  std::size_t both_zero = 0;
  for (std::size_t i = 0; i < p.size(); ++i) {
    if (p[i] == 0.0) {
      ++both_zero;
      continue;
    }
    const double a = p[i] - sp.eps1, b = q[i] == 0.0 ? sq.eps : q[i] - sq.eps1;
    kl += a * std::log(a / b);
  }
  if (both_zero > 0) kl += static_cast<double>(both_zero) * sp.eps * std::log(sp.eps / sq.eps);
  return kl / sp.sum + std::log(sq.sum / sp.sum);
}

std::pair<float, float> entropy_range(const channel_state& st, code_format f, bool symmetric) {
  const histogram& h = st.hist;
  const std::size_t n = h.size();
  const bool negative = st.min < 0.0f, positive = st.max > 0.0f;
  const auto codes = static_cast<std::size_t>(f.qmax() - f.qmin() + 1);
  const std::size_t target = !symmetric && !(negative && positive) ? codes : codes / 2;
  const auto amax = static_cast<float>(h.hi);
  float t = amax;
  if (target < n) {
    std::vector<double> outliers(n + 1, 0.0);
    for (std::size_t i = n; i-- > 0;) outliers[i] = outliers[i + 1] + h.counts[i];
    std::vector<double> p(n), q(n);
    std::size_t best = n;
    double best_kl = std::numeric_limits<double>::infinity();
    for (std::size_t i = target; i <= n; ++i) {
      std::copy(h.counts.begin(), h.counts.begin() + static_cast<std::ptrdiff_t>(i), p.begin());
      p[i - 1] += outliers[i];
      const std::size_t merged = i / target;
      for (std::size_t level = 0; level < target; ++level) {
        const std::size_t start = level * merged, stop = level + 1 == target ? i : start + merged;
        double sum = 0.0;
        std::size_t nonzero = 0;
        for (std::size_t k = start; k < stop; ++k) {
          sum += h.counts[k];
          nonzero += p[k] != 0.0 ? 1 : 0;
        }
        for (std::size_t k = start; k < stop; ++k) {
          q[k] = p[k] != 0.0 && nonzero > 0 ? sum / static_cast<double>(nonzero) : 0.0;
        }
      }
      const double kl = smoothed_kl(std::span<const double>(p.data(), i), std::span<const double>(q.data(), i));
      if (kl < best_kl) best_kl = kl, best = i;
    }
    if (best < n) t = std::min(static_cast<float>(static_cast<double>(best) * h.width()), amax);
  }
  return {negative ? -t : 0.0f, positive ? t : 0.0f};
}

// Among the floats nearest `scale`, one with which c round-trips in every profile; failing that
// c / 2^k with 2^k codes on c's side of the zero point. Keeps `scale` if neither works (subnormal c).
float exact_constant_scale(float c, float scale, std::int32_t zp, code_format f) {
  const auto qmin = static_cast<float>(f.qmin()), qmax = static_cast<float>(f.qmax());
  const auto zpf = static_cast<float>(zp);
  const auto round_trips = [&](float s) {
    if (!(s >= std::numeric_limits<float>::min()) || !std::isfinite(s)) return false;
    if (detail::finite_grid_scale(s, zp, f) != s) return false;  // a level past FLT_MAX
    for (const profile p : {profile::onnx, profile::pytorch, profile::tflite}) {
      const float code = ref::quantize_value(c, s, 1.0f / s, zpf, qmin, qmax, p);
      if (ref::dequantize_value(code, s, zpf) != c) return false;
    }
    return true;
  };
  if (round_trips(scale)) return scale;
  float up = scale, down = scale;
  for (int i = 0; i < 256; ++i) {
    up = std::nextafter(up, std::numeric_limits<float>::infinity());
    down = std::nextafter(down, 0.0f);
    if (round_trips(up)) return up;
    if (round_trips(down)) return down;
  }
  const std::int32_t side = c > 0.0f ? f.qmax() - zp : zp - f.qmin();
  int k = 0;
  while (k < 30 && (std::int64_t{2} << k) <= side) ++k;
  for (; k >= 0; --k) {
    const float s = std::ldexp(std::abs(c), -k);
    if (round_trips(s)) return s;
  }
  return scale;
}

}  // namespace

// ----------------------------------------------------------------------------------------------------
// calibrator_spec

calibrator_spec calibrator_spec::parse(std::string_view text) {
  const auto fail = [&](const std::string& why) {
    throw error(errc::invalid_argument,
                "calibrator \"" + std::string(text) + "\": " + why +
                    "; accepted: minmax, ema[:momentum], percentile[:p], topk[:k], mse, entropy, sqnr "
                    "(the histogram ones percentile, mse, entropy, sqnr may end in :bins=N)");
  };
  std::vector<std::string_view> parts;
  for (std::size_t start = 0;;) {
    const std::size_t colon = text.find(':', start);
    parts.push_back(text.substr(start, colon == std::string_view::npos ? std::string_view::npos : colon - start));
    if (colon == std::string_view::npos) break;
    start = colon + 1;
  }
  const auto real = [&](std::string_view s) {
    double v = 0.0;
    const auto r = std::from_chars(s.data(), s.data() + s.size(), v);
    if (s.empty() || r.ec != std::errc() || r.ptr != s.data() + s.size()) fail("\"" + std::string(s) + "\" is not a number");
    return v;
  };
  const auto integer = [&](std::string_view s) {
    int v = 0;
    const auto r = std::from_chars(s.data(), s.data() + s.size(), v);
    if (s.empty() || r.ec != std::errc() || r.ptr != s.data() + s.size()) fail("\"" + std::string(s) + "\" is not an integer");
    return v;
  };
  constexpr std::string_view kBins = "bins=";
  const auto is_bins = [&](std::string_view s) { return s.substr(0, kBins.size()) == kBins; };

  calibrator_spec spec;
  const std::string_view name = parts[0];
  std::size_t next = 1;
  const bool has_arg = parts.size() > 1 && !is_bins(parts[1]);
  if (name == "minmax") {
    spec.kind = calibrator::min_max;
  } else if (name == "ema") {
    spec.kind = calibrator::moving_average;
    if (has_arg) spec.momentum = real(parts[next++]);
  } else if (name == "percentile") {
    spec.kind = calibrator::percentile;
    if (has_arg) spec.percentile = real(parts[next++]);
  } else if (name == "topk") {
    spec.kind = calibrator::top_k_median;
    if (has_arg) spec.top_k = integer(parts[next++]);
  } else if (name == "mse") {
    spec.kind = calibrator::mse;
  } else if (name == "entropy") {
    spec.kind = calibrator::entropy;
  } else if (name == "sqnr") {
    spec.kind = calibrator::sqnr;
  } else {
    fail("unknown calibrator \"" + std::string(name) + "\"");
  }
  if (uses_histogram(spec.kind) && next < parts.size() && is_bins(parts[next])) {
    spec.bins = integer(parts[next++].substr(kBins.size()));
  }
  if (next < parts.size()) fail("unexpected \"" + std::string(parts[next]) + "\"");
  try {
    validate(spec);
  } catch (const error& e) {
    fail(e.message());
  }
  return spec;
}

std::string calibrator_spec::to_string() const {
  std::string s;
  switch (kind) {
    case calibrator::min_max: s = "minmax"; break;
    case calibrator::moving_average: s = "ema:" + number(momentum); break;
    case calibrator::percentile: s = "percentile:" + number(percentile); break;
    case calibrator::top_k_median: s = "topk:" + std::to_string(top_k); break;
    case calibrator::mse: s = "mse"; break;
    case calibrator::entropy: s = "entropy"; break;
    case calibrator::sqnr: s = "sqnr"; break;
    default: return "unknown";
  }
  if (uses_histogram(kind) && bins != kDefaultBins) s += ":bins=" + std::to_string(bins);
  return s;
}

// ----------------------------------------------------------------------------------------------------
// params_for_range

std::pair<float, std::int32_t> params_for_range(float lo, float hi, code_format format, bool symmetric) {
  if (!std::isfinite(lo) || !std::isfinite(hi) || lo > 0.0f || hi < 0.0f) {
    throw error(errc::invalid_range, "range [" + number(lo) + ", " + number(hi) +
                                         "] is not finite with lo <= 0 <= hi");
  }
  check_width(format);
  const std::int32_t iqmin = format.qmin(), iqmax = format.qmax();
  const auto qmin = static_cast<float>(iqmin), qmax = static_cast<float>(iqmax);
  const auto finish = [&](float s) {
    if (lo == 0.0f && hi == 0.0f) return 1.0f;
    return std::max(s, std::numeric_limits<float>::min());
  };
  if (symmetric) {
    const float a = std::max(-lo, hi);
    const std::int32_t zp = format.is_signed ? 0 : (iqmin + iqmax + 1) / 2;
    return {detail::finite_grid_scale(finish(a / (qmax - static_cast<float>(zp))), zp, format), zp};
  }
  const float steps = qmax - qmin;
  float width = hi - lo;
  float scale = std::isinf(width) ? hi / steps - lo / steps : width / steps;
  scale = finish(scale);
  const float z = std::clamp(qmin - lo / scale, qmin, qmax);
  const auto zp = static_cast<std::int32_t>(std::nearbyint(z));
  return {detail::finite_grid_scale(scale, zp, format), zp};
}

// ----------------------------------------------------------------------------------------------------
// observer

struct observer::impl {
  calibrator_spec spec;
  std::optional<int> axis;
  std::vector<channel_state> channels;
  std::vector<std::int64_t> last_shape;
  std::vector<float> scratch;
};

namespace {
[[noreturn]] void moved_from() {
  throw error(errc::invalid_argument, "the observer was moved from");
}
}  // namespace

observer::observer(calibrator_spec spec) : impl_(std::make_unique<impl>()) {
  validate(spec);
  impl_->spec = spec;
  impl_->channels.resize(1);
}

observer::observer(calibrator_spec spec, int axis) : impl_(std::make_unique<impl>()) {
  validate(spec);
  impl_->spec = spec;
  impl_->axis = axis;
}

observer::observer(observer&&) noexcept = default;
observer& observer::operator=(observer&&) noexcept = default;
observer::~observer() = default;

void observer::observe(std::span<const float> batch) {
  if (!impl_) moved_from();
  if (impl_->axis) {
    throw error(errc::invalid_shape, "a per-channel observer (axis " + std::to_string(*impl_->axis) +
                                         ") needs the shape of the batch");
  }
  add_values(impl_->channels[0], impl_->spec, batch);
}

void observer::observe(std::span<const float> batch, std::span<const std::int64_t> shape) {
  if (!impl_) moved_from();
  const std::size_t count = detail::checked_element_count(shape);
  if (count != batch.size()) {
    throw error(errc::size_mismatch, "the batch has " + std::to_string(batch.size()) +
                                         " values, its shape " + std::to_string(count));
  }
  impl& m = *impl_;
  if (!m.axis) {
    add_values(m.channels[0], m.spec, batch);
    return;
  }
  const int axis = *m.axis;
  const auto a = static_cast<std::size_t>(detail::checked_axis(axis, shape.size()));
  const auto dim = static_cast<std::size_t>(shape[a]);
  if (!m.last_shape.empty() && dim != m.channels.size()) {
    throw error(errc::count_mismatch, "the batch has " + std::to_string(dim) + " channels along axis " +
                                          std::to_string(axis) + ", earlier batches " +
                                          std::to_string(m.channels.size()));
  }
  // An empty batch is checked against the channel count but does not set it (its extent along the
  // axis is not bounded by any data).
  if (count == 0) return;
  std::size_t outer = 1;
  for (std::size_t d = 0; d < a; ++d) outer *= static_cast<std::size_t>(shape[d]);
  const std::size_t inner = detail::inner_count(shape, a);
  if (m.last_shape.empty()) m.channels.resize(dim);
  m.last_shape.assign(shape.begin(), shape.end());
  for (std::size_t c = 0; c < dim; ++c) {
    if (outer == 1) {
      add_values(m.channels[c], m.spec, batch.subspan(c * inner, inner));
      continue;
    }
    m.scratch.resize(outer * inner);
    for (std::size_t o = 0; o < outer; ++o) {
      const float* src = batch.data() + (o * dim + c) * inner;
      std::copy(src, src + inner, m.scratch.begin() + static_cast<std::ptrdiff_t>(o * inner));
    }
    add_values(m.channels[c], m.spec, m.scratch);
  }
}

std::pair<float, float> observer::range(code_format format, bool symmetric, std::size_t channel) const {
  if (!impl_) moved_from();
  check_width(format);
  const impl& m = *impl_;
  if (channel >= m.channels.size()) {
    throw error(errc::invalid_argument, "channel " + std::to_string(channel) + " is outside the " +
                                            std::to_string(m.channels.size()) + " channels seen");
  }
  const channel_state& st = m.channels[channel];
  if (st.finite == 0) {
    throw error(errc::no_finite_data, "channel " + std::to_string(channel) + " saw no finite value (" +
                                          std::to_string(st.nonfinite) + " NaN / Inf skipped)");
  }
  const float dlo = std::min(st.min, 0.0f), dhi = std::max(st.max, 0.0f);
  std::pair<float, float> r{dlo, dhi};
  if (st.min != st.max) {
    switch (m.spec.kind) {
      case calibrator::min_max: break;
      case calibrator::moving_average:
        r = {static_cast<float>(st.average_lo), static_cast<float>(st.average_hi)};
        break;
      case calibrator::top_k_median: r = {median_of(st.smallest), median_of(st.largest)}; break;
      case calibrator::percentile: r = percentile_range(st, m.spec.percentile); break;
      case calibrator::mse: r = mse_range(st, format, symmetric); break;
      case calibrator::entropy: r = entropy_range(st, format, symmetric); break;
      case calibrator::sqnr: r = sqnr_range(st, format, symmetric); break;
    }
  }
  // Include 0, stay inside what was seen, and turn -0 into +0.
  r.first = std::clamp(std::min(r.first, 0.0f), dlo, 0.0f) + 0.0f;
  r.second = std::clamp(std::max(r.second, 0.0f), 0.0f, dhi) + 0.0f;
  return r;
}

quant_params observer::compute_params(code_format format, bool symmetric, profile numerics,
                                      std::optional<std::span<const std::int64_t>> shape) const {
  if (!impl_) moved_from();
  check_width(format);
  const impl& m = *impl_;
  if (m.channels.empty()) throw error(errc::no_finite_data, "no channel was observed");
  std::vector<float> scales(m.channels.size());
  std::vector<std::int32_t> zero_points(m.channels.size());
  for (std::size_t c = 0; c < m.channels.size(); ++c) {
    const auto [lo, hi] = range(format, symmetric, c);
    auto [s, zp] = params_for_range(lo, hi, format, symmetric);
    const channel_state& st = m.channels[c];
    if (st.min == st.max && st.min != 0.0f) s = exact_constant_scale(st.min, s, zp, format);
    scales[c] = s;
    zero_points[c] = zp;
  }
  if (!m.axis) return quant_params::per_tensor(format, scales[0], zero_points[0], numerics);
  const std::span<const std::int64_t> sh = shape ? *shape : std::span<const std::int64_t>(m.last_shape);
  return quant_params::per_channel(format, sh, *m.axis, scales, zero_points, numerics);
}

const calibrator_spec& observer::spec() const noexcept { return impl_ ? impl_->spec : kMovedFromSpec; }

std::optional<int> observer::axis() const noexcept { return impl_ ? impl_->axis : std::nullopt; }

std::size_t observer::channels() const noexcept { return impl_ ? impl_->channels.size() : 0; }

std::uint64_t observer::finite_count() const noexcept {
  std::uint64_t n = 0;
  if (impl_) {
    for (const auto& c : impl_->channels) n += c.finite;
  }
  return n;
}

std::uint64_t observer::nonfinite_count() const noexcept {
  std::uint64_t n = 0;
  if (impl_) {
    for (const auto& c : impl_->channels) n += c.nonfinite;
  }
  return n;
}

}  // namespace lowbit
