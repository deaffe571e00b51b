// lowbit — per-target uniform quantization kernels (Highway). Included once per target by
// src/cpu/uniform.cc through hwy/foreach_target.h. Every kernel equals lowbit/ref/uniform.h bit for bit.
// SPDX-License-Identifier: Apache-2.0

// Per-target include guard (Highway convention).
#if defined(LOWBIT_SRC_CPU_UNIFORM_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef LOWBIT_SRC_CPU_UNIFORM_INL_H_
#undef LOWBIT_SRC_CPU_UNIFORM_INL_H_
#else
#define LOWBIT_SRC_CPU_UNIFORM_INL_H_
#endif

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "hwy/highway.h"
#include "lowbit/ref/uniform.h"

HWY_BEFORE_NAMESPACE();
namespace lowbit::detail::HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

using DF = hn::ScalableTag<float>;
using VF = hn::Vec<DF>;
using MF = hn::Mask<DF>;

// How v = x / scale is formed.
enum class Scaling {
  kMul,      // x * inv_scale                                   (pytorch)
  kDivFast,  // x / scale, via x * inv_scale where provably equal  (onnx, tflite)
};
enum class Rounding { kEven, kAway };

// v for x. kDivFast: v0 = x * inv_scale differs from fl(x / scale) by at most 3.0001 * 2^-24 * |v0|
// (two roundings of the reciprocal and the product). Rounding to an integer only cares on which side
// of a half-integer v lies, so when every lane of v0 is farther than |v0| * 2^-21 from a half-integer
// (or |v0| >= 2^20, which saturates every code of <= 16 bits either way), round(v0) == round(x / scale)
// and the clamp sees the same integer. Otherwise (about 1 lane in 10^5 on random data), or when the
// reciprocal is not a normal float (`inv_bad`), the vector is divided exactly. tests/uniform_simd_test.cc
// checks the equivalence on ties, near-ties and 10^7 random values per profile.
template <Scaling S>
HWY_INLINE VF Scaled(DF d, VF x, VF scale, VF inv, MF inv_bad) {
  const VF v0 = hn::Mul(x, inv);
  if constexpr (S == Scaling::kMul) {
    (void)d, (void)scale, (void)inv_bad;
    return v0;
  } else {
    const VF g = hn::Abs(hn::Sub(v0, hn::Round(v0)));  // distance to the nearest integer, exact
    const VF t = hn::Min(hn::Abs(v0), hn::Set(d, 524288.0f));  // 2^19
    const MF near_tie = hn::Ge(hn::MulAdd(t, hn::Set(d, 4.76837158203125e-07f), g), hn::Set(d, 0.5f));
    if (HWY_UNLIKELY(!hn::AllFalse(d, hn::Or(near_tie, inv_bad)))) return hn::Div(x, scale);
    return v0;
  }
}

template <Rounding R>
HWY_INLINE VF RoundToInt(DF d, VF v) {
  if constexpr (R == Rounding::kEven) {
    (void)d;
    return hn::Round(v);
  } else {
    const VF t = hn::Trunc(v);
    const MF up = hn::Ge(hn::Abs(hn::Sub(v, t)), hn::Set(d, 0.5f));  // false for NaN / Inf
    return hn::IfThenElse(up, hn::Add(t, hn::CopySign(hn::Set(d, 1.0f), v)), t);
  }
}

// The code of x as a float in [qmin, qmax] (ref::quantize_value).
template <Scaling S, Rounding R>
HWY_INLINE VF CodeOf(DF d, VF x, VF scale, VF inv, VF zp, VF qmin, VF qmax, MF inv_bad) {
  const VF v = Scaled<S>(d, x, scale, inv, inv_bad);
  const VF y = hn::Min(hn::Max(hn::Add(RoundToInt<R>(d, v), zp), qmin), qmax);
  return hn::IfThenElse(hn::IsNaN(v), zp, y);
}

template <class Code>
HWY_INLINE void StoreCodes(DF d, VF code, Code* HWY_RESTRICT out) {
  const hn::Rebind<int32_t, DF> di;
  const hn::Rebind<Code, DF> dc;
  hn::StoreU(hn::DemoteTo(dc, hn::ConvertTo(di, code)), dc, out);
  (void)d;
}

template <class Code>
HWY_INLINE VF LoadCodes(DF d, const Code* HWY_RESTRICT in) {
  const hn::Rebind<int32_t, DF> di;
  const hn::Rebind<Code, DF> dc;
  return hn::ConvertTo(d, hn::PromoteTo(di, hn::LoadU(dc, in)));
}

// Runs body(i, in_ptrs..., out_ptrs...) over [0, n) in whole vectors; the last partial vector goes
// through zero-padded stack copies, so tails use the same SIMD code as the body.
constexpr size_t kMaxLanes = HWY_MAX_BYTES / sizeof(float);

template <class Body>
HWY_INLINE void ForEachVector(DF d, size_t n, Body body) {
  const size_t N = hn::Lanes(d);
  size_t i = 0;
  for (; i + N <= n; i += N) body(i, N, false);
  if (i < n) body(i, n - i, true);
}

// Copies `count` elements of `src` into a zero-filled stack block of kMaxLanes (for tails).
template <class T>
struct TailBlock {
  HWY_ALIGN T v[kMaxLanes];
  TailBlock(const T* src, size_t count, T fill) {
    for (size_t k = 0; k < kMaxLanes; ++k) v[k] = fill;
    if (count) std::memcpy(v, src, count * sizeof(T));
  }
};

// ---------------------------------------------------------------------------------------------------
// Quantize

template <Scaling S, Rounding R, class Code>
HWY_INLINE void QuantizeRunImpl(const float* HWY_RESTRICT x, size_t n, const ref::run_params& p,
                                Code* HWY_RESTRICT q, MF inv_bad) {
  const DF d;
  const VF scale = hn::Set(d, p.scale), inv = hn::Set(d, p.inv_scale), zp = hn::Set(d, p.zero_point);
  const VF qmin = hn::Set(d, p.qmin), qmax = hn::Set(d, p.qmax);
  ForEachVector(d, n, [&](size_t i, size_t count, bool tail) HWY_ATTR {
    if (!tail) {
      StoreCodes(d, CodeOf<S, R>(d, hn::LoadU(d, x + i), scale, inv, zp, qmin, qmax, inv_bad), q + i);
    } else {
      const TailBlock<float> in(x + i, count, 0.0f);
      HWY_ALIGN Code out[kMaxLanes];
      StoreCodes(d, CodeOf<S, R>(d, hn::Load(d, in.v), scale, inv, zp, qmin, qmax, inv_bad), out);
      std::memcpy(q + i, out, count * sizeof(Code));
    }
  });
}

HWY_INLINE bool NormalReciprocal(float inv) { return inv >= 1.17549435e-38f && inv <= 3.40282347e+38f; }

template <class Code>
void QuantizeRun(const float* HWY_RESTRICT x, size_t n, const ref::run_params& p, Code* HWY_RESTRICT q) {
  const DF d;
  const MF inv_bad = hn::Eq(hn::Set(d, NormalReciprocal(p.inv_scale) ? 0.0f : 1.0f), hn::Set(d, 1.0f));
  switch (p.numerics) {
    case profile::pytorch: return QuantizeRunImpl<Scaling::kMul, Rounding::kEven>(x, n, p, q, inv_bad);
    case profile::tflite: return QuantizeRunImpl<Scaling::kDivFast, Rounding::kAway>(x, n, p, q, inv_bad);
    case profile::onnx: break;
  }
  QuantizeRunImpl<Scaling::kDivFast, Rounding::kEven>(x, n, p, q, inv_bad);
}

// Row kernels: the parameters of lane k come from arrays.
struct RowVectors {
  VF scale, inv, zp;
  MF inv_bad;
};

HWY_INLINE RowVectors LoadRow(DF d, const ref::row_params& p, size_t i, size_t count, bool tail) {
  RowVectors r;
  if (!tail) {
    r.scale = hn::LoadU(d, p.scale + i);
    r.inv = hn::LoadU(d, p.inv_scale + i);
    r.zp = hn::LoadU(d, p.zero_point + i);
  } else {
    const TailBlock<float> s(p.scale + i, count, 1.0f), v(p.inv_scale + i, count, 1.0f),
        z(p.zero_point + i, count, 0.0f);
    r.scale = hn::Load(d, s.v);
    r.inv = hn::Load(d, v.v);
    r.zp = hn::Load(d, z.v);
  }
  // Not a normal float (Inf, subnormal, 0): decide those lanes by exact division.
  r.inv_bad = hn::Not(hn::And(hn::Ge(r.inv, hn::Set(d, 1.17549435e-38f)), hn::Le(r.inv, hn::Set(d, 3.40282347e+38f))));
  return r;
}

template <Scaling S, Rounding R, class Code>
HWY_INLINE void QuantizeRowImpl(const float* HWY_RESTRICT x, size_t n, const ref::row_params& p,
                                Code* HWY_RESTRICT q) {
  const DF d;
  const VF qmin = hn::Set(d, p.qmin), qmax = hn::Set(d, p.qmax);
  ForEachVector(d, n, [&](size_t i, size_t count, bool tail) HWY_ATTR {
    const RowVectors r = LoadRow(d, p, i, count, tail);
    if (!tail) {
      StoreCodes(d, CodeOf<S, R>(d, hn::LoadU(d, x + i), r.scale, r.inv, r.zp, qmin, qmax, r.inv_bad), q + i);
    } else {
      const TailBlock<float> in(x + i, count, 0.0f);
      HWY_ALIGN Code out[kMaxLanes];
      StoreCodes(d, CodeOf<S, R>(d, hn::Load(d, in.v), r.scale, r.inv, r.zp, qmin, qmax, r.inv_bad), out);
      std::memcpy(q + i, out, count * sizeof(Code));
    }
  });
}

template <class Code>
void QuantizeRow(const float* HWY_RESTRICT x, size_t n, const ref::row_params& p, Code* HWY_RESTRICT q) {
  switch (p.numerics) {
    case profile::pytorch: return QuantizeRowImpl<Scaling::kMul, Rounding::kEven>(x, n, p, q);
    case profile::tflite: return QuantizeRowImpl<Scaling::kDivFast, Rounding::kAway>(x, n, p, q);
    case profile::onnx: break;
  }
  QuantizeRowImpl<Scaling::kDivFast, Rounding::kEven>(x, n, p, q);
}

// ---------------------------------------------------------------------------------------------------
// Dequantize: (code - zero_point) * scale

template <class Code>
void DequantizeRun(const Code* HWY_RESTRICT q, size_t n, const ref::run_params& p, float* HWY_RESTRICT y) {
  const DF d;
  const VF scale = hn::Set(d, p.scale), zp = hn::Set(d, p.zero_point);
  ForEachVector(d, n, [&](size_t i, size_t count, bool tail) HWY_ATTR {
    if (!tail) {
      hn::StoreU(hn::Mul(hn::Sub(LoadCodes(d, q + i), zp), scale), d, y + i);
    } else {
      const TailBlock<Code> in(q + i, count, Code{0});
      HWY_ALIGN float out[kMaxLanes];
      hn::Store(hn::Mul(hn::Sub(LoadCodes(d, in.v), zp), scale), d, out);
      std::memcpy(y + i, out, count * sizeof(float));
    }
  });
}

template <class Code>
void DequantizeRow(const Code* HWY_RESTRICT q, size_t n, const ref::row_params& p, float* HWY_RESTRICT y) {
  const DF d;
  ForEachVector(d, n, [&](size_t i, size_t count, bool tail) HWY_ATTR {
    const RowVectors r = LoadRow(d, p, i, count, tail);
    if (!tail) {
      hn::StoreU(hn::Mul(hn::Sub(LoadCodes(d, q + i), r.zp), r.scale), d, y + i);
    } else {
      const TailBlock<Code> in(q + i, count, Code{0});
      HWY_ALIGN float out[kMaxLanes];
      hn::Store(hn::Mul(hn::Sub(LoadCodes(d, in.v), r.zp), r.scale), d, out);
      std::memcpy(y + i, out, count * sizeof(float));
    }
  });
}

// ---------------------------------------------------------------------------------------------------
// Fake-quantize: (code(x) - zero_point) * scale

template <Scaling S, Rounding R>
HWY_INLINE void FakeQuantizeRunImpl(const float* HWY_RESTRICT x, size_t n, const ref::run_params& p,
                                    float* HWY_RESTRICT y, MF inv_bad) {
  const DF d;
  const VF scale = hn::Set(d, p.scale), inv = hn::Set(d, p.inv_scale), zp = hn::Set(d, p.zero_point);
  const VF qmin = hn::Set(d, p.qmin), qmax = hn::Set(d, p.qmax);
  ForEachVector(d, n, [&](size_t i, size_t count, bool tail) HWY_ATTR {
    if (!tail) {
      const VF c = CodeOf<S, R>(d, hn::LoadU(d, x + i), scale, inv, zp, qmin, qmax, inv_bad);
      hn::StoreU(hn::Mul(hn::Sub(c, zp), scale), d, y + i);
    } else {
      const TailBlock<float> in(x + i, count, 0.0f);
      HWY_ALIGN float out[kMaxLanes];
      const VF c = CodeOf<S, R>(d, hn::Load(d, in.v), scale, inv, zp, qmin, qmax, inv_bad);
      hn::Store(hn::Mul(hn::Sub(c, zp), scale), d, out);
      std::memcpy(y + i, out, count * sizeof(float));
    }
  });
}

void FakeQuantizeRun(const float* HWY_RESTRICT x, size_t n, const ref::run_params& p, float* HWY_RESTRICT y) {
  const DF d;
  const MF inv_bad = hn::Eq(hn::Set(d, NormalReciprocal(p.inv_scale) ? 0.0f : 1.0f), hn::Set(d, 1.0f));
  switch (p.numerics) {
    case profile::pytorch: return FakeQuantizeRunImpl<Scaling::kMul, Rounding::kEven>(x, n, p, y, inv_bad);
    case profile::tflite: return FakeQuantizeRunImpl<Scaling::kDivFast, Rounding::kAway>(x, n, p, y, inv_bad);
    case profile::onnx: break;
  }
  FakeQuantizeRunImpl<Scaling::kDivFast, Rounding::kEven>(x, n, p, y, inv_bad);
}

template <Scaling S, Rounding R>
HWY_INLINE void FakeQuantizeRowImpl(const float* HWY_RESTRICT x, size_t n, const ref::row_params& p,
                                    float* HWY_RESTRICT y) {
  const DF d;
  const VF qmin = hn::Set(d, p.qmin), qmax = hn::Set(d, p.qmax);
  ForEachVector(d, n, [&](size_t i, size_t count, bool tail) HWY_ATTR {
    const RowVectors r = LoadRow(d, p, i, count, tail);
    if (!tail) {
      const VF c = CodeOf<S, R>(d, hn::LoadU(d, x + i), r.scale, r.inv, r.zp, qmin, qmax, r.inv_bad);
      hn::StoreU(hn::Mul(hn::Sub(c, r.zp), r.scale), d, y + i);
    } else {
      const TailBlock<float> in(x + i, count, 0.0f);
      HWY_ALIGN float out[kMaxLanes];
      const VF c = CodeOf<S, R>(d, hn::Load(d, in.v), r.scale, r.inv, r.zp, qmin, qmax, r.inv_bad);
      hn::Store(hn::Mul(hn::Sub(c, r.zp), r.scale), d, out);
      std::memcpy(y + i, out, count * sizeof(float));
    }
  });
}

void FakeQuantizeRow(const float* HWY_RESTRICT x, size_t n, const ref::row_params& p, float* HWY_RESTRICT y) {
  switch (p.numerics) {
    case profile::pytorch: return FakeQuantizeRowImpl<Scaling::kMul, Rounding::kEven>(x, n, p, y);
    case profile::tflite: return FakeQuantizeRowImpl<Scaling::kDivFast, Rounding::kAway>(x, n, p, y);
    case profile::onnx: break;
  }
  FakeQuantizeRowImpl<Scaling::kDivFast, Rounding::kEven>(x, n, p, y);
}

// ---------------------------------------------------------------------------------------------------
// Requantize: code_to(dequantize_from(q))

template <Scaling S, Rounding R, class In, class Out>
HWY_INLINE void RequantizeRunImpl(const In* HWY_RESTRICT q, size_t n, const ref::run_params& from,
                                  const ref::run_params& to, Out* HWY_RESTRICT out, MF inv_bad) {
  const DF d;
  const VF fscale = hn::Set(d, from.scale), fzp = hn::Set(d, from.zero_point);
  const VF scale = hn::Set(d, to.scale), inv = hn::Set(d, to.inv_scale), zp = hn::Set(d, to.zero_point);
  const VF qmin = hn::Set(d, to.qmin), qmax = hn::Set(d, to.qmax);
  ForEachVector(d, n, [&](size_t i, size_t count, bool tail) HWY_ATTR {
    if (!tail) {
      const VF v = hn::Mul(hn::Sub(LoadCodes(d, q + i), fzp), fscale);
      StoreCodes(d, CodeOf<S, R>(d, v, scale, inv, zp, qmin, qmax, inv_bad), out + i);
    } else {
      const TailBlock<In> in(q + i, count, In{0});
      HWY_ALIGN Out o[kMaxLanes];
      const VF v = hn::Mul(hn::Sub(LoadCodes(d, in.v), fzp), fscale);
      StoreCodes(d, CodeOf<S, R>(d, v, scale, inv, zp, qmin, qmax, inv_bad), o);
      std::memcpy(out + i, o, count * sizeof(Out));
    }
  });
}

template <class In, class Out>
void RequantizeRun(const In* HWY_RESTRICT q, size_t n, const ref::run_params& from, const ref::run_params& to,
                   Out* HWY_RESTRICT out) {
  const DF d;
  const MF inv_bad = hn::Eq(hn::Set(d, NormalReciprocal(to.inv_scale) ? 0.0f : 1.0f), hn::Set(d, 1.0f));
  switch (to.numerics) {
    case profile::pytorch:
      return RequantizeRunImpl<Scaling::kMul, Rounding::kEven>(q, n, from, to, out, inv_bad);
    case profile::tflite:
      return RequantizeRunImpl<Scaling::kDivFast, Rounding::kAway>(q, n, from, to, out, inv_bad);
    case profile::onnx: break;
  }
  RequantizeRunImpl<Scaling::kDivFast, Rounding::kEven>(q, n, from, to, out, inv_bad);
}

template <Scaling S, Rounding R, class In, class Out>
HWY_INLINE void RequantizeRowImpl(const In* HWY_RESTRICT q, size_t n, const ref::row_params& from,
                                  const ref::row_params& to, Out* HWY_RESTRICT out) {
  const DF d;
  const VF qmin = hn::Set(d, to.qmin), qmax = hn::Set(d, to.qmax);
  ForEachVector(d, n, [&](size_t i, size_t count, bool tail) HWY_ATTR {
    const RowVectors f = LoadRow(d, from, i, count, tail);
    const RowVectors t = LoadRow(d, to, i, count, tail);
    if (!tail) {
      const VF v = hn::Mul(hn::Sub(LoadCodes(d, q + i), f.zp), f.scale);
      StoreCodes(d, CodeOf<S, R>(d, v, t.scale, t.inv, t.zp, qmin, qmax, t.inv_bad), out + i);
    } else {
      const TailBlock<In> in(q + i, count, In{0});
      HWY_ALIGN Out o[kMaxLanes];
      const VF v = hn::Mul(hn::Sub(LoadCodes(d, in.v), f.zp), f.scale);
      StoreCodes(d, CodeOf<S, R>(d, v, t.scale, t.inv, t.zp, qmin, qmax, t.inv_bad), o);
      std::memcpy(out + i, o, count * sizeof(Out));
    }
  });
}

template <class In, class Out>
void RequantizeRow(const In* HWY_RESTRICT q, size_t n, const ref::row_params& from, const ref::row_params& to,
                   Out* HWY_RESTRICT out) {
  switch (to.numerics) {
    case profile::pytorch: return RequantizeRowImpl<Scaling::kMul, Rounding::kEven>(q, n, from, to, out);
    case profile::tflite: return RequantizeRowImpl<Scaling::kDivFast, Rounding::kAway>(q, n, from, to, out);
    case profile::onnx: break;
  }
  RequantizeRowImpl<Scaling::kDivFast, Rounding::kEven>(q, n, from, to, out);
}

int64_t Target() { return HWY_TARGET; }

}  // namespace lowbit::detail::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#endif  // per-target include guard
