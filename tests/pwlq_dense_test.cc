// Tests of lowbit/pwlq_dense.h: the integer dense layer with PWLQ weights.
// SPDX-License-Identifier: Apache-2.0
#include "lowbit/pwlq_dense.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <optional>
#include <random>
#include <vector>

#include "support/lowbit_error.h"

namespace lowbit::fxp {
namespace {

activation_quant act(code_format f, float scale, std::int32_t zp) {
  activation_quant a;
  a.format = f;
  a.scale = scale;
  a.zero_point = zp;
  return a;
}

// Naive accumulators in int64 straight from the codes.
struct naive_acc {
  std::int64_t centre = 0, tail[3] = {}, sum[3] = {}, neg[3] = {};
};
template <class In>
naive_acc naive(const pwlq_fully_connected& l, std::span<const In> row, std::size_t o) {
  naive_acc a;
  const auto I = static_cast<std::size_t>(l.in_features());
  for (std::size_t i = 0; i < I; ++i) {
    const pwlq_code c = l.codes()[o * I + i];
    const std::int64_t d = static_cast<std::int64_t>(row[i]) - l.input().zero_point;
    if (c.region == 0) {
      a.centre += d * c.q;
      continue;
    }
    const int r = c.region - 1;
    const std::int64_t sign = c.q < 0 ? -1 : 1, j = c.q < 0 ? -1 - c.q : c.q;
    a.tail[r] += d * sign * j;
    a.sum[r] += d * sign;
    if (c.q < 0) a.neg[r] += d;
  }
  return a;
}

void expect_acc_eq(const pwlq_accumulators& a, const naive_acc& n, int k) {
  EXPECT_EQ(a.centre, n.centre);
  for (int r = 0; r < 3; ++r) {
    EXPECT_EQ(a.tail[r], r < k ? n.tail[r] : 0);
    EXPECT_EQ(a.tail_sum[r], r < k ? n.sum[r] : 0);
    EXPECT_EQ(a.tail_negative[r], r < k ? n.neg[r] : 0);
  }
}

// The real level of a code in long double (the decode formula without rounding).
long double level_ld(pwlq_code c, const ref::pwlq_run& r) {
  if (r.zero) return 0.0L;
  const long double q = c.q;
  if (c.region == 0) return q * r.centre_step;
  const int g = c.region;
  const long double lo = r.edge[g - 1], hi = r.edge[g], t = r.tail_step[g - 1];
  if (r.variant == pwlq_variant::reference) return c.q >= 0 ? q * t + lo : (q + r.half) * t - hi;
  const long double j = c.q >= 0 ? q : -1.0L - q;
  return c.q >= 0 ? lo + j * t : -(lo + j * t);
}

// D from the accumulators in the hardware form c A_c + sum_r (t A_r + e S_r - delta_r N_r).
long double decomposed(const pwlq_accumulators& a, const ref::pwlq_run& r, bool with_anchor = true) {
  if (r.zero) return 0.0L;
  long double d = static_cast<long double>(r.centre_step) * a.centre;
  for (int g = 0; g < r.k; ++g) {
    const long double t = r.tail_step[g];
    d += t * a.tail[g] + static_cast<long double>(r.edge[g]) * a.tail_sum[g];
    if (r.variant == pwlq_variant::reference && with_anchor) {
      const long double delta = static_cast<long double>(r.edge[g + 1]) - r.edge[g] - r.levels * t;
      d -= delta * a.tail_negative[g];
    }
  }
  return d;
}

// ---------------------------------------------------------------------------------------------
// Hand-computed 2 x 2 layers
// ---------------------------------------------------------------------------------------------

TEST(PwlqDense, HandComputedPaper) {
  // bits 3 (L = 3, H = 4), p = 0.75, m = 1.5: c = 0.25, t = 0.25.
  const std::int64_t shape[2] = {2, 2};
  const float m[2] = {1.5f, 1.5f}, bp[2] = {0.75f, 0.75f};
  const pwlq_params p = pwlq_params::per_channel(3, pwlq_variant::paper, shape, 0, m, bp);
  // ch0: {2, centre} = 0.5, {~1, tail} = -(0.75 + 0.25) = -1.0; ch1: {-3, centre} = -0.75, {3, tail} = 1.5
  const std::vector<pwlq_code> codes = {{2, 0}, {-2, 1}, {-3, 0}, {3, 1}};
  std::vector<float> w(4);
  pwlq_dequantize(codes, p, w);
  EXPECT_EQ(w, (std::vector<float>{0.5f, -1.0f, -0.75f, 1.5f}));
  const float bias[2] = {0.25f, -0.25f};
  const pwlq_fully_connected l(2, 2, codes, p, bias, act(code_format::uint8(), 0.5f, 10),
                               act(code_format::int8(), 0.5f, 3));
  const std::vector<std::uint8_t> x = {14, 6};  // real {2, -2}, d = {4, -4}
  std::vector<pwlq_accumulators> acc(2);
  l.accumulate<std::uint8_t>(x, acc);
  EXPECT_EQ(acc[0].centre, 8);
  EXPECT_EQ(acc[0].tail[0], 4);      // d sign j = (-4)(-1)(1)
  EXPECT_EQ(acc[0].tail_sum[0], 4);  // d sign
  EXPECT_EQ(acc[0].tail_negative[0], -4);
  EXPECT_EQ(acc[1].centre, -12);
  EXPECT_EQ(acc[1].tail[0], -12);
  EXPECT_EQ(acc[1].tail_sum[0], -4);
  EXPECT_EQ(acc[1].tail_negative[0], 0);
  // y0 = 2 * 0.5 + (-2)(-1) + 0.25 = 3.25 -> u = 6.5 -> 6 (tie to even) + 3 = 9
  // y1 = 2 (-0.75) + (-2)(1.5) - 0.25 = -4.75 -> u = -9.5 -> -10 + 3 = -7
  std::vector<double> y(2);
  l.run_float_reference<std::uint8_t>(x, y);
  EXPECT_EQ(y[0], 3.25);
  EXPECT_EQ(y[1], -4.75);
  for (pwlq_combine c : {pwlq_combine::exact, pwlq_combine::fixed_point}) {
    std::vector<std::int8_t> out(2);
    l.run<std::uint8_t, std::int8_t>(x, out, c);
    EXPECT_EQ(out[0], 9);
    EXPECT_EQ(out[1], -7);
  }
}

TEST(PwlqDense, HandComputedReference) {
  // bits 3, p = 1.75, m = 3.25: c = float(2p / 7) = 0.5, t = 0.5 (delta = 0).
  const std::int64_t shape[2] = {2, 2};
  const float m[2] = {3.25f, 3.25f}, bp[2] = {1.75f, 1.75f};
  const pwlq_params p = pwlq_params::per_channel(3, pwlq_variant::reference, shape, 0, m, bp);
  EXPECT_EQ(p.run(0).centre_step, 0.5f);
  EXPECT_EQ(p.run(0).tail_step[0], 0.5f);
  // ch0: {-4, centre} = -2, {-3, tail} = -3.25 + 1 * 0.5 = -2.75 (j = ~q = 2: -(1.75 + 1) = -2.75)
  // ch1: {3, centre} = 1.5, {1, tail} = 1.75 + 0.5 = 2.25
  const std::vector<pwlq_code> codes = {{-4, 0}, {-3, 1}, {3, 0}, {1, 1}};
  std::vector<float> w(4);
  pwlq_dequantize(codes, p, w);
  EXPECT_EQ(w, (std::vector<float>{-2.0f, -2.75f, 1.5f, 2.25f}));
  const float bias[2] = {0.0f, 0.5f};
  // int8 input with zx at its lower bound
  const pwlq_fully_connected l(2, 2, codes, p, bias, act(code_format::int8(), 0.25f, -128),
                               act(code_format::uint8(), 1.0f, 100));
  const std::vector<std::int8_t> x = {-124, -120};  // d = {4, 8}, real {1, 2}
  std::vector<pwlq_accumulators> acc(2);
  l.accumulate<std::int8_t>(x, acc);
  EXPECT_EQ(acc[0].centre, -16);
  EXPECT_EQ(acc[0].tail[0], -16);
  EXPECT_EQ(acc[0].tail_sum[0], -8);
  EXPECT_EQ(acc[0].tail_negative[0], 8);
  EXPECT_EQ(acc[1].centre, 12);
  EXPECT_EQ(acc[1].tail[0], 8);
  EXPECT_EQ(acc[1].tail_sum[0], 8);
  EXPECT_EQ(acc[1].tail_negative[0], 0);
  // D0 = 0.5 (-16) + 0.5 (-16) + 1.75 (-8) = -30, y0 = -7.5 -> -8 (even) + 100 = 92
  // D1 = 6 + 4 + 14 = 24, y1 = 6 + 0.5 = 6.5 -> 6 + 100 = 106
  EXPECT_EQ(decomposed(acc[0], l.channel_run(0)), -30.0L);
  EXPECT_EQ(decomposed(acc[1], l.channel_run(1)), 24.0L);
  for (pwlq_combine c : {pwlq_combine::exact, pwlq_combine::fixed_point}) {
    std::vector<std::uint8_t> out(2);
    l.run<std::int8_t, std::uint8_t>(x, out, c);
    EXPECT_EQ(out[0], 92);
    EXPECT_EQ(out[1], 106);
  }
}

// ---------------------------------------------------------------------------------------------
// Random layers: every output within the documented bounds
// ---------------------------------------------------------------------------------------------

struct random_case {
  int in = 1, out = 1, bits = 4, k = 1, batch = 1;
  bool calibrate = false;
  pwlq_variant variant = pwlq_variant::reference;
  code_format in_f = code_format::uint8(), out_f = code_format::int8();
  std::int32_t zx = 0;
};

struct stats {
  long outputs = 0, ref_off_by_one = 0, exact_ambiguous = 0, fixed_differs = 0, anchor_sensitive = 0;
  double max_delta = 0.0, max_delta_fx = 0.0;
};

template <class In, class Out>
void check_layer(const pwlq_fully_connected& l, const std::vector<In>& x, stats& st) {
  const auto O = static_cast<std::size_t>(l.out_features()), I = static_cast<std::size_t>(l.in_features());
  const std::size_t n = x.size() / I * O;
  std::vector<Out> out_exact(n), out_fixed(n);
  std::vector<double> yd(n), ye(n), dd(n), de(n), dfx(n);
  std::vector<pwlq_accumulators> acc(n);
  l.template run<In, Out>(x, out_exact, pwlq_combine::exact);
  l.template run<In, Out>(x, out_fixed, pwlq_combine::fixed_point);
  l.template run_float_reference<In>(x, yd, pwlq_levels::decoded);
  l.template run_float_reference<In>(x, ye, pwlq_levels::exact);
  l.template reference_tolerance<In>(x, dd, pwlq_levels::decoded);
  l.template reference_tolerance<In>(x, de, pwlq_levels::exact);
  l.template fixed_point_tolerance<In>(x, dfx);
  l.template accumulate<In>(x, acc);
  const double so = l.output().scale;
  for (std::size_t i = 0; i < n; ++i) {
    const std::size_t b = i / O, o = i % O;
    const std::span<const In> row(x.data() + b * I, I);
    SCOPED_TRACE(testing::Message() << "batch " << b << " output " << o);
    // The kernel against naive int64 sums.
    expect_acc_eq(acc[i], naive<In>(l, row, o), l.params().breakpoint_count());
    // The decomposition (hardware form, anchor term included) against the levels, in long double.
    const ref::pwlq_run& r = l.channel_run(o);
    long double direct = 0.0L, scale = 0.0L;
    for (std::size_t j = 0; j < I; ++j) {
      const long double d = static_cast<long double>(row[j]) - l.input().zero_point;
      direct += d * level_ld(l.codes()[o * I + j], r);
      scale += std::abs(d) * r.edge[r.k];
    }
    const long double tol = 1e-16L * scale + 1e-30L;
    EXPECT_LE(std::abs(decomposed(acc[i], r) - direct), tol);
    if (std::abs(decomposed(acc[i], r, false) - direct) > 100 * tol) ++st.anchor_sensitive;
    // The exact combine against the decoded-level float reference.
    const double ud = yd[i] / so, ue = ye[i] / so;
    const std::int32_t got = out_exact[i], fx = out_fixed[i];
    EXPECT_LT(dd[i], 0.5);
    EXPECT_GE(got, l.output_code(ud - dd[i]));
    EXPECT_LE(got, l.output_code(ud + dd[i]));
    EXPECT_LE(std::abs(got - l.output_code(ud)), 1);
    if (got != l.output_code(ud)) ++st.ref_off_by_one;
    // ... against the exact-level float64 reference: equal unless within ~1e-12 of a tie.
    const std::int32_t lo = l.output_code(ue - de[i]), hi = l.output_code(ue + de[i]);
    EXPECT_GE(got, lo);
    EXPECT_LE(got, hi);
    if (lo != hi) {
      ++st.exact_ambiguous;
    } else {
      EXPECT_EQ(got, l.output_code(ue));
    }
    // The fixed-point combine.
    EXPECT_LT(dfx[i], 0.25);
    EXPECT_GE(fx, l.output_code(ue - de[i] - dfx[i]));
    EXPECT_LE(fx, l.output_code(ue + de[i] + dfx[i]));
    EXPECT_LE(std::abs(fx - got), 1);
    if (fx != got) ++st.fixed_differs;
    st.max_delta = std::max(st.max_delta, dd[i]);
    st.max_delta_fx = std::max(st.max_delta_fx, dfx[i]);
    ++st.outputs;
  }
}

template <class In>
std::vector<In> random_input(const random_case& c, std::mt19937& rng) {
  std::vector<In> x(static_cast<std::size_t>(c.in * c.batch));
  const std::int32_t qmin = c.in_f.qmin(), qmax = c.in_f.qmax();
  std::uniform_int_distribution<int> u(qmin, qmax), mode(0, 9);
  for (int b = 0; b < c.batch; ++b) {
    const int md = mode(rng);
    for (int i = 0; i < c.in; ++i) {
      std::int32_t v = u(rng);
      if (md == 0) v = qmin;
      if (md == 1) v = qmax;
      if (md == 2) v = (i % 2) ? qmin : qmax;
      x[static_cast<std::size_t>(b * c.in + i)] = static_cast<In>(v);
    }
  }
  return x;
}

template <class In, class Out>
void run_random(const random_case& c, std::mt19937& rng, stats& st) {
  std::normal_distribution<float> g(0.0f, 0.1f);
  std::uniform_real_distribution<float> u01(0.0f, 1.0f);
  const auto n = static_cast<std::size_t>(c.in * c.out);
  std::vector<float> w(n), bias(static_cast<std::size_t>(c.out));
  for (std::size_t i = 0; i < n; ++i) {
    w[i] = g(rng);
    if (u01(rng) < 0.03f) w[i] *= 6.0f;  // long tails
  }
  if (u01(rng) < 0.1f) std::fill(w.begin(), w.begin() + c.in, 0.0f);  // an all-zero channel
  for (float& b : bias) b = g(rng);
  pwlq_options opt;
  opt.bits = c.bits;
  opt.variant = c.variant;
  opt.breakpoints = c.k;
  const float sx = std::ldexp(1.0f + u01(rng), -6 - static_cast<int>(u01(rng) * 4));
  const activation_quant in_q = act(c.in_f, sx, c.zx);
  const std::vector<In> x = random_input<In>(c, rng);
  // First pass: the output range of the float reference picks the output quantization. One case in
  // six goes through pwlq_calibrate (method exact; slow for k > 1 at many bits); the others take random
  // breakpoints, which exercises breakpoints anywhere in (0, m).
  const bool calibrate = c.calibrate;
  std::vector<pwlq_code> codes(n);
  std::optional<pwlq_params> prm;
  if (!calibrate) {
    const std::int64_t shape[2] = {c.out, c.in};
    std::vector<float> mx(static_cast<std::size_t>(c.out)), bp(static_cast<std::size_t>(c.out * c.k));
    for (int o = 0; o < c.out; ++o) {
      float mo = 0.0f;
      for (int i = 0; i < c.in; ++i) mo = std::max(mo, std::abs(w[static_cast<std::size_t>(o * c.in + i)]));
      mx[static_cast<std::size_t>(o)] = mo;
      std::vector<float> r(static_cast<std::size_t>(c.k));
      for (;;) {
        for (float& v : r) v = 0.02f + 0.96f * u01(rng);
        std::sort(r.begin(), r.end());
        if (std::adjacent_find(r.begin(), r.end()) == r.end()) break;
      }
      for (int j = 0; j < c.k; ++j) bp[static_cast<std::size_t>(o * c.k + j)] = mo * r[static_cast<std::size_t>(j)];
    }
    prm = pwlq_params::per_channel(c.bits, c.variant, shape, 0, mx, bp);
    pwlq_quantize(w, *prm, codes);
  }
  const pwlq_fully_connected probe =
      calibrate ? pwlq_fully_connected::from_float(w, bias, c.in, c.out, opt, in_q, act(c.out_f, 1.0f, 0))
                : pwlq_fully_connected(c.in, c.out, codes, *prm, bias, in_q, act(c.out_f, 1.0f, 0));
  std::vector<double> y(static_cast<std::size_t>(c.batch * c.out));
  probe.run_float_reference<In>(x, y);
  const double ymin = *std::min_element(y.begin(), y.end()), ymax = *std::max_element(y.begin(), y.end());
  const std::int32_t qmin = c.out_f.qmin(), qmax = c.out_f.qmax();
  // A floor on s_out: the scale of the terms over 2^14 (a layer whose outputs all cancel to nearly the
  // same value would otherwise get an s_out far below the float32 resolution of its weights, where the
  // decoded-level bound exceeds one code: reference_tolerance says so).
  double terms = 0.0;
  for (int b = 0; b < c.batch; ++b) {
    double sd = 0.0;
    for (int i = 0; i < c.in; ++i) sd += std::abs(static_cast<double>(x[static_cast<std::size_t>(b * c.in + i)]) - c.zx);
    terms = std::max(terms, sd);
  }
  terms *= sx * static_cast<double>(*std::max_element(probe.params().max_abs().begin(), probe.params().max_abs().end()));
  float so = static_cast<float>(std::max((ymax - ymin) / (qmax - qmin) * (0.6 + 0.8 * u01(rng)), terms / 16384.0));
  if (!(so > 1e-6f)) so = 1e-3f;
  std::int32_t zo = qmin - static_cast<std::int32_t>(std::lround(ymin / so));
  const float zmode = u01(rng);
  if (zmode < 0.15f) zo = qmin;
  else if (zmode < 0.3f) zo = qmax;
  zo = std::clamp(zo, qmin, qmax);
  const pwlq_fully_connected l(c.in, c.out, std::vector<pwlq_code>(probe.codes().begin(), probe.codes().end()),
                               probe.params(), bias, in_q, act(c.out_f, so, zo));
  check_layer<In, Out>(l, x, st);
}

TEST(PwlqDense, RandomLayersWithinBound) {
  std::mt19937 rng(20240611);
  stats st;
  std::uniform_int_distribution<int> in_d(1, 300), out_d(1, 6), bits_d(2, 8), k_d(1, 3), b_d(1, 3);
  for (int seed = 0; seed < 400; ++seed) {
    random_case c;
    c.in = seed < 3 ? (seed == 0 ? 1 : (seed == 1 ? 2 : 300)) : in_d(rng);
    c.out = out_d(rng);
    c.bits = 2 + seed % 7;
    c.k = seed % 4 == 3 ? k_d(rng) : 1;
    c.calibrate = seed % 6 == 0 && (c.k == 1 || c.bits <= 5);
    c.batch = b_d(rng);
    c.variant = (seed / 7) % 2 ? pwlq_variant::paper : pwlq_variant::reference;
    const bool in_signed = (seed / 2) % 2, out_signed = (seed / 3) % 2;
    c.in_f = in_signed ? code_format::int8() : code_format::uint8();
    c.out_f = out_signed ? code_format::int8() : code_format::uint8();
    const int zm = seed % 5;
    c.zx = zm == 0 ? c.in_f.qmin() : (zm == 1 ? c.in_f.qmax() : std::uniform_int_distribution<int>(
                                                                     c.in_f.qmin(), c.in_f.qmax())(rng));
    SCOPED_TRACE(testing::Message() << "case " << seed << (c.calibrate ? " calibrated" : "") << " in " << c.in << " out " << c.out << " bits " << c.bits
                                    << " k " << c.k << " variant " << to_string(c.variant) << " zx " << c.zx);
    if (in_signed && out_signed) run_random<std::int8_t, std::int8_t>(c, rng, st);
    else if (in_signed) run_random<std::int8_t, std::uint8_t>(c, rng, st);
    else if (out_signed) run_random<std::uint8_t, std::int8_t>(c, rng, st);
    else run_random<std::uint8_t, std::uint8_t>(c, rng, st);
    if (HasFailure()) break;
  }
  RecordProperty("outputs", static_cast<int>(st.outputs));
  std::printf("outputs %ld, exact vs decoded reference off by one %ld (max delta %.3g), ambiguous vs exact-level "
              "reference %ld, fixed != exact %ld (max delta_fx %.3g), anchor-sensitive %ld\n",
              st.outputs, st.ref_off_by_one, st.max_delta, st.exact_ambiguous, st.fixed_differs, st.max_delta_fx,
              st.anchor_sensitive);
  EXPECT_GT(st.outputs, 2000);
  EXPECT_GT(st.anchor_sensitive, 0);  // the reference variant's anchor term is visible in D
  EXPECT_LT(st.exact_ambiguous, 3);
}

// Power-of-two steps: every quantity is exact in double and u lands on half-integers often, so the
// exact combine, the fixed-point combine and round_half_even(float64 reference) agree on every tie.
TEST(PwlqDense, TiesRoundHalfToEven) {
  std::mt19937 rng(7);
  for (pwlq_variant v : {pwlq_variant::paper, pwlq_variant::reference}) {
    // paper b = 4: p = 0.875 -> c = 0.125, m = 1.75 -> t = 0.125. reference b = 4: p = 0.9375 ->
    // c = 2p / 15 = 0.125, m = 1.8125 -> t = 0.125.
    const float p = v == pwlq_variant::paper ? 0.875f : 0.9375f, m = v == pwlq_variant::paper ? 1.75f : 1.8125f;
    const int in = 37, out = 5;
    const std::int64_t shape[2] = {out, in};
    std::vector<float> mm(out, m), bp(out, p);
    const pwlq_params prm = pwlq_params::per_channel(4, v, shape, 0, mm, bp);
    std::vector<pwlq_code> codes(static_cast<std::size_t>(in * out));
    std::uniform_int_distribution<int> q(-8, 7), reg(0, 1);
    for (auto& c : codes) c = {static_cast<std::int8_t>(q(rng)), static_cast<std::uint8_t>(reg(rng))};
    std::vector<float> bias(out);
    for (int o = 0; o < out; ++o) bias[static_cast<std::size_t>(o)] = 0.0625f * static_cast<float>(o - 2);
    const pwlq_fully_connected l(in, out, codes, prm, bias, act(code_format::uint8(), 0.5f, 128),
                                 act(code_format::int8(), 0.125f, 0));
    std::vector<std::uint8_t> x(static_cast<std::size_t>(in * 40));
    std::uniform_int_distribution<int> xv(118, 138);
    for (auto& e : x) e = static_cast<std::uint8_t>(xv(rng));
    std::vector<double> y(static_cast<std::size_t>(40 * out));
    l.run_float_reference<std::uint8_t>(x, y, pwlq_levels::exact);
    std::vector<std::int8_t> oe(y.size()), of(y.size());
    l.run<std::uint8_t, std::int8_t>(x, oe, pwlq_combine::exact);
    l.run<std::uint8_t, std::int8_t>(x, of, pwlq_combine::fixed_point);
    int ties = 0;
    for (std::size_t i = 0; i < y.size(); ++i) {
      const double u = y[i] / 0.125;
      if (u - std::floor(u) == 0.5) ++ties;
      EXPECT_EQ(oe[i], l.output_code(u)) << i;
      EXPECT_EQ(of[i], l.output_code(u)) << i;
    }
    EXPECT_GT(ties, 10);
  }
}

// The exact combine keeps a term far below double resolution when it decides a tie: y = 2.5 +- c with
// c ~ 2^-67 is 2.5 in double, but rounds to 3 / 2 exactly. The bound of the double reference says so.
TEST(PwlqDense, ExactCombineSeesTermsBelowDoubleResolution) {
  const float bp[1] = {std::ldexp(1.0f, -60)};
  const pwlq_params p = pwlq_params::per_tensor(8, pwlq_variant::paper, std::ldexp(1.5f, -60), bp);
  const std::vector<pwlq_code> codes = {{1, 0}};  // level c = 2^-60 / 127
  const float bias[1] = {2.5f};
  for (std::int32_t zx : {0, 2}) {
    const pwlq_fully_connected l(1, 1, codes, p, bias, act(code_format::uint8(), 1.0f, zx),
                                 act(code_format::int8(), 1.0f, 0));
    const std::vector<std::uint8_t> x = {1};  // d = +1 or -1
    std::vector<std::int8_t> out(1);
    l.run<std::uint8_t, std::int8_t>(x, out, pwlq_combine::exact);
    EXPECT_EQ(out[0], zx == 0 ? 3 : 2);
    std::vector<double> y(1), d(1);
    l.run_float_reference<std::uint8_t>(x, y, pwlq_levels::exact);
    l.reference_tolerance<std::uint8_t>(x, d, pwlq_levels::exact);
    EXPECT_EQ(y[0], 2.5);
    EXPECT_EQ(l.output_code(y[0]), 2);
    EXPECT_EQ(l.output_code(y[0] - d[0]), 2);
    EXPECT_EQ(l.output_code(y[0] + d[0]), 3);  // the tolerance straddles the tie
  }
}

// ---------------------------------------------------------------------------------------------
// Accumulator extremes
// ---------------------------------------------------------------------------------------------

TEST(PwlqDense, AccumulatorExtremesAtMaxInFeatures) {
  const int in = pwlq_dense_max_in_features;
  const float bp[1] = {0.5f};
  struct variant_case {
    pwlq_code code;
    bool signed_in;
    std::int32_t zx, x;
    std::int64_t expect_centre, expect_tail, expect_sum, expect_neg;
  };
  const std::int64_t n = in;
  const variant_case cases[] = {
      // centre q = -128 (reference grid), inputs 255 - 0: A_c = -32640 n = -2147483520
      {{-128, 0}, false, 0, 255, -32640 * n, 0, 0, 0},
      // the same with int8: d = -128 - 127 = -255: A_c = +2147483520
      {{-128, 0}, true, 127, -128, 32640 * n, 0, 0, 0},
      // all in the tail, positive j = 127, d = 255
      {{127, 1}, false, 0, 255, 0, 32385 * n, 255 * n, 0},
      // all in the tail, negative q = -128 (j = 127), d = -255
      {{-128, 1}, true, 127, -128, 0, 32385 * n, 255 * n, -255 * n},
  };
  for (pwlq_variant v : {pwlq_variant::reference, pwlq_variant::paper}) {
    const pwlq_params p = pwlq_params::per_tensor(8, v, 1.0f, bp);
    for (const variant_case& vc : cases) {
      if (v == pwlq_variant::paper && vc.code.region == 0 && vc.code.q == -128) continue;  // not a paper code
      const std::vector<pwlq_code> codes(static_cast<std::size_t>(in), vc.code);
      const float bias[1] = {0.0f};
      const code_format f = vc.signed_in ? code_format::int8() : code_format::uint8();
      const pwlq_fully_connected l(in, 1, codes, p, bias, act(f, 1.0f / 1024, vc.zx),
                                   act(code_format::int8(), 4096.0f, 0));
      std::vector<pwlq_accumulators> acc(1);
      std::vector<double> y(1), d(1), dfx(1);
      std::vector<std::int8_t> oe(1), of(1);
      auto go = [&](auto tag) {
        using In = decltype(tag);
        const std::vector<In> x(static_cast<std::size_t>(in), static_cast<In>(vc.x));
        l.accumulate<In>(x, acc);
        l.run_float_reference<In>(x, y, pwlq_levels::exact);
        l.reference_tolerance<In>(x, d, pwlq_levels::exact);
        l.fixed_point_tolerance<In>(x, dfx);
        l.run<In, std::int8_t>(x, oe, pwlq_combine::exact);
        l.run<In, std::int8_t>(x, of, pwlq_combine::fixed_point);
      };
      if (vc.signed_in) go(std::int8_t{});
      else go(std::uint8_t{});
      EXPECT_EQ(acc[0].centre, vc.expect_centre);
      EXPECT_EQ(acc[0].tail[0], vc.expect_tail);
      EXPECT_EQ(acc[0].tail_sum[0], vc.expect_sum);
      EXPECT_EQ(acc[0].tail_negative[0], vc.expect_neg);
      EXPECT_LE(std::abs(static_cast<double>(acc[0].centre)), 2147483647.0);
      const double u = y[0] / 4096.0;
      EXPECT_GE(oe[0], l.output_code(u - d[0]));
      EXPECT_LE(oe[0], l.output_code(u + d[0]));
      EXPECT_GE(of[0], l.output_code(u - d[0] - dfx[0]));
      EXPECT_LE(of[0], l.output_code(u + d[0] + dfx[0]));
    }
  }
}

TEST(PwlqDense, SaturationAndZeroChannel) {
  // Huge bias saturates; an all-zero weight channel gives code(b / s_out).
  const std::vector<float> w = {0.0f, 0.0f, 0.0f, 0.3f, -0.2f, 0.1f};
  const std::vector<float> bias = {0.3f, 1e6f};
  const pwlq_fully_connected l = pwlq_fully_connected::from_float(
      w, bias, 3, 2, {}, act(code_format::uint8(), 0.01f, 0), act(code_format::uint8(), 0.1f, 5));
  EXPECT_TRUE(l.channel_run(0).zero);
  const std::vector<std::uint8_t> x = {255, 0, 17};
  for (pwlq_combine c : {pwlq_combine::exact, pwlq_combine::fixed_point}) {
    std::vector<std::uint8_t> out(2);
    l.run<std::uint8_t, std::uint8_t>(x, out, c);
    EXPECT_EQ(out[0], 8);    // 0.3 / 0.1 = 3 (the float 0.3f / 0.1f is 2.9999999 or 3.0000001: rounds to 3)
    EXPECT_EQ(out[1], 255);  // saturated
  }
  // A clamp range and a negative saturation.
  const std::vector<float> nb = {-1e30f, 0.0f};
  const pwlq_fully_connected l2 = pwlq_fully_connected::from_float(
      w, nb, 3, 2, {}, act(code_format::uint8(), 0.01f, 0), act(code_format::int8(), 0.1f, 0), clamp_range{-10, 20});
  for (pwlq_combine c : {pwlq_combine::exact, pwlq_combine::fixed_point}) {
    std::vector<std::int8_t> out(2);
    l2.run<std::uint8_t, std::int8_t>(x, out, c);
    EXPECT_EQ(out[0], -10);
    std::vector<double> y(2);
    l2.run_float_reference<std::uint8_t>(x, y);
    EXPECT_EQ(out[1], l2.output_code(y[1] / 0.1));
  }
  // Empty batch.
  std::vector<std::uint8_t> none;
  std::vector<std::int8_t> none_out;
  l2.run<std::uint8_t, std::int8_t>(none, none_out);
}

TEST(PwlqDense, KernelOnEmptyLists) {
  const std::vector<std::uint8_t> x = {1, 2, 3};
  const pwlq_accumulators a = pwlq_dot<std::uint8_t>(x, 7, pwlq_channel_lists{});
  EXPECT_EQ(a, pwlq_accumulators{});
}

TEST(PwlqDense, CompareWithFloat) {
  std::mt19937 rng(3);
  std::normal_distribution<float> g(0.0f, 0.1f);
  const int in = 64, out = 16, batch = 32;
  std::vector<float> w(static_cast<std::size_t>(in * out)), x(static_cast<std::size_t>(in * batch)), b(out);
  for (float& v : w) v = g(rng);
  for (float& v : x) v = std::abs(g(rng)) * 10.0f;
  for (float& v : b) v = g(rng);
  pwlq_options opt;
  opt.bits = 4;
  const pwlq_fully_connected l = pwlq_fully_connected::from_float(
      w, b, in, out, opt, act(code_format::uint8(), 4.0f / 255.0f, 0), act(code_format::int8(), 8.0f / 255.0f, 0));
  const layer_error_report r = compare_with_float(l, x, w, b);
  const layer_error_report rf = compare_with_float(l, x, w, b, pwlq_combine::fixed_point);
  EXPECT_EQ(r.error.count, static_cast<std::size_t>(out * batch));
  EXPECT_GT(r.error.sqnr_db, 20.0);
  EXPECT_NEAR(rf.error.sqnr_db, r.error.sqnr_db, 0.1);
}

// ---------------------------------------------------------------------------------------------
// Errors at the boundary
// ---------------------------------------------------------------------------------------------

TEST(PwlqDense, Errors) {
  const std::int64_t shape[2] = {2, 2};
  const float m[2] = {1.5f, 1.5f}, bp[2] = {0.75f, 0.75f};
  const pwlq_params p = pwlq_params::per_channel(3, pwlq_variant::paper, shape, 0, m, bp);
  const std::vector<pwlq_code> codes = {{2, 0}, {-2, 1}, {-3, 0}, {3, 1}};
  const activation_quant in = act(code_format::uint8(), 0.5f, 10), out = act(code_format::int8(), 0.5f, 3);
  const float bias[2] = {0.0f, 0.0f};
  auto make = [&](int i, int o, std::vector<pwlq_code> c, const pwlq_params& pp, std::span<const float> b,
                  activation_quant a, activation_quant z, std::optional<clamp_range> cl = std::nullopt) {
    return [=] { pwlq_fully_connected(i, o, c, pp, b, a, z, cl); };
  };
  EXPECT_EQ(error_of(make(0, 2, codes, p, bias, in, out)), errc::invalid_shape);
  EXPECT_EQ(error_of(make(pwlq_dense_max_in_features + 1, 1, {}, pwlq_params::per_tensor(3, pwlq_variant::paper,
                                                                                         1.0f, std::span(bp, 1)),
                          {}, in, out),
                     "65793"),
            errc::invalid_shape);
  EXPECT_EQ(error_of(make(2, 0, codes, p, bias, in, out)), errc::invalid_shape);
  EXPECT_EQ(error_of(make(2, 2, {{0, 0}}, p, bias, in, out)), errc::size_mismatch);
  EXPECT_EQ(error_of(make(2, 2, codes, p, std::span<const float>(bias, 1), in, out)), errc::size_mismatch);
  const std::int64_t shape_t[2] = {2, 2};
  const pwlq_params p_axis1 = pwlq_params::per_channel(3, pwlq_variant::paper, shape_t, 1, m, bp);
  EXPECT_EQ(error_of(make(2, 2, codes, p_axis1, bias, in, out)), errc::invalid_axis);
  const std::int64_t shape3[2] = {2, 3};
  const pwlq_params p_shape = pwlq_params::per_channel(3, pwlq_variant::paper, shape3, 0, m, bp);
  EXPECT_EQ(error_of(make(2, 2, codes, p_shape, bias, in, out)), errc::size_mismatch);
  EXPECT_EQ(error_of(make(2, 2, {{2, 0}, {4, 1}, {-3, 0}, {3, 1}}, p, bias, in, out), "code 1"),
            errc::invalid_argument);
  EXPECT_EQ(error_of(make(2, 2, {{2, 2}, {-2, 1}, {-3, 0}, {3, 1}}, p, bias, in, out)), errc::invalid_argument);
  const float nan_bias[2] = {0.0f, std::numeric_limits<float>::quiet_NaN()};
  EXPECT_EQ(error_of(make(2, 2, codes, p, nan_bias, in, out), "bias[1]"), errc::invalid_argument);
  EXPECT_EQ(error_of(make(2, 2, codes, p, bias, act(code_format::int4(), 0.5f, 0), out)), errc::unsupported_width);
  EXPECT_EQ(error_of(make(2, 2, codes, p, bias, act(code_format::uint8(), 0.0f, 0), out)), errc::invalid_scale);
  EXPECT_EQ(error_of(make(2, 2, codes, p, bias, in, act(code_format::int8(), std::numeric_limits<float>::infinity(), 0))),
            errc::invalid_scale);
  EXPECT_EQ(error_of(make(2, 2, codes, p, bias, act(code_format::uint8(), 0.5f, 256), out)), errc::invalid_zero_point);
  EXPECT_EQ(error_of(make(2, 2, codes, p, bias, in, act(code_format::int8(), 0.5f, -129))), errc::invalid_zero_point);
  EXPECT_EQ(error_of(make(2, 2, codes, p, bias, in, out, clamp_range{0, 200})), errc::invalid_argument);
  EXPECT_EQ(error_of(make(2, 2, codes, p, bias, in, out, clamp_range{5, 4})), errc::invalid_argument);
  // A multiplier s_x K / s_out >= 2^30.
  EXPECT_EQ(error_of(make(2, 2, codes, p, bias, act(code_format::uint8(), 1e10f, 0), act(code_format::int8(), 1e-10f, 0)),
                     "2^30"),
            errc::invalid_scale);
  // from_float
  const std::vector<float> w = {0.1f, -0.2f, 0.3f, 0.4f};
  EXPECT_EQ(error_of([&] { pwlq_fully_connected::from_float(std::span<const float>(w.data(), 3), {}, 2, 2, {}, in, out); }),
            errc::size_mismatch);
  EXPECT_EQ(error_of([&] { pwlq_fully_connected::from_float(w, {}, 0, 2, {}, in, out); }), errc::invalid_shape);
  const std::vector<float> wnan = {0.1f, -0.2f, std::numeric_limits<float>::quiet_NaN(),
                                   std::numeric_limits<float>::infinity()};
  EXPECT_EQ(error_of([&] { pwlq_fully_connected::from_float(wnan, {}, 2, 2, {}, in, out); }), errc::no_finite_data);
  pwlq_options bad;
  bad.bits = 9;
  EXPECT_EQ(error_of([&] { pwlq_fully_connected::from_float(w, {}, 2, 2, bad, in, out); }), errc::unsupported_width);
  // run / accumulate / reference
  const pwlq_fully_connected l(2, 2, codes, p, bias, in, out);
  const std::vector<std::uint8_t> x = {1, 2, 3, 4};
  const std::vector<std::int8_t> xs = {1, 2};
  std::vector<std::int8_t> o4(4), o3(3);
  std::vector<std::uint8_t> ou(4);
  EXPECT_EQ(error_of([&] { l.run<std::int8_t, std::int8_t>(xs, std::span<std::int8_t>(o4.data(), 2)); }, "input"),
            errc::type_mismatch);
  EXPECT_EQ(error_of([&] { l.run<std::uint8_t, std::uint8_t>(x, ou); }, "output"), errc::type_mismatch);
  EXPECT_EQ(error_of([&] { l.run<std::uint8_t, std::int8_t>(x, o3); }), errc::size_mismatch);
  EXPECT_EQ(error_of([&] { l.run<std::uint8_t, std::int8_t>(std::span<const std::uint8_t>(x.data(), 3), o4); }),
            errc::size_mismatch);
  EXPECT_EQ(error_of([&] { l.run<std::uint8_t, std::int8_t>(x, o4, static_cast<pwlq_combine>(7)); }),
            errc::invalid_argument);
  std::vector<pwlq_accumulators> acc(3);
  EXPECT_EQ(error_of([&] { l.accumulate<std::uint8_t>(x, acc); }), errc::size_mismatch);
  std::vector<double> y(5);
  EXPECT_EQ(error_of([&] { l.run_float_reference<std::uint8_t>(x, y); }), errc::size_mismatch);
  EXPECT_EQ(error_of([&] { l.reference_tolerance<std::uint8_t>(x, y); }), errc::size_mismatch);
  EXPECT_EQ(error_of([&] { l.fixed_point_tolerance<std::uint8_t>(x, y); }), errc::size_mismatch);
  EXPECT_EQ(error_of([&] { compare_with_float(l, std::vector<float>(3), w, {}); }), errc::size_mismatch);
  EXPECT_EQ(error_of([&] { compare_with_float(l, std::vector<float>(4), std::vector<float>(3), {}); }),
            errc::size_mismatch);
}

}  // namespace
}  // namespace lowbit::fxp
