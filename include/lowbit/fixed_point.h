// lowbit — fixed-point numbers and integer primitives, bit exact.
// SPDX-License-Identifier: Apache-2.0
//
// Three layers, all header-only, constexpr and noexcept:
//   1. `fixed<IntegerBits, FractionBits, Storage>`: a Q-format number with conversions from and to
//      floating point under an explicit `rounding` mode, saturating and wrapping arithmetic and an
//      optional sticky `overflow_flag`.
//   2. Integer primitives on raw values (gemmlowp / TFLite / ARM NEON semantics): saturating rounding
//      doubling high multiply, rounding divide by a power of two, saturating rounding multiply by a
//      power of two, rounding and saturating shifts, count of leading sign bits, saturating narrowing;
//      and, in `lowbit::fxp::etsi`, the ETSI / ITU-T G.191 basic operators (add, L_mult, L_mac, ...).
//   3. gemmlowp's fixed-point transcendental functions on raw Q-format values: exp on negative values,
//      logistic and tanh, int32 and int16 (the int16 ones are what TFLite's int16 Logistic / Tanh use).
//
// Conventions. A raw value of a Qm.n format (m integer bits not counting the sign bit, n fraction
// bits) represents raw * 2^-n. For the gemmlowp-style functions the raw type is int32 (or int16) and
// n = 31 - m (15 - m): "Q(m)" below means that format. Every function is free of undefined
// behaviour for every input meeting its stated precondition (only rounding_divide_by_pot has one, on
// its exponent, asserted): no signed overflow, no shift of a negative value or by too much;
// wrapping arithmetic goes through unsigned types, wide products through int64 or __int128, so
// UBSan stays silent. Nothing here uses globals or thread-locals: overflow is reported through an
// `overflow_flag` passed by reference.
#pragma once

#include <bit>
#include <cassert>
#include <compare>
#include <cstdint>
#include <limits>
#include <type_traits>
#include <utility>

namespace lowbit::fxp {

/// How a value that is not representable is rounded to an integer (in units of the destination's
/// least significant bit). Ties are values exactly halfway between two neighbours.
///   half_even      nearest, ties to the even neighbour   ( 2.5 ->  2, -2.5 -> -2,  1.5 ->  2)
///   half_away      nearest, ties away from zero          ( 2.5 ->  3, -2.5 -> -3; std::round, gemmlowp)
///   half_up        nearest, ties toward +infinity        ( 2.5 ->  3, -2.5 -> -2; floor(x + 1/2))
///   toward_zero    truncation                            ( 2.7 ->  2, -2.7 -> -2)
///   toward_neg_inf floor, an arithmetic right shift      ( 2.7 ->  2, -2.7 -> -3)
enum class rounding : std::uint8_t { half_even, half_away, half_up, toward_zero, toward_neg_inf };

/// A sticky overflow indicator, one per computation context (the lowbit counterpart of the ETSI
/// `Overflow` global, without the global). Operations that can saturate or wrap have an overload
/// taking an `overflow_flag&`; they call `raise()` exactly when their exact mathematical result was
/// not representable (a saturation or a wrap happened) and never clear it. Only `clear()` clears.
class overflow_flag {
 public:
  constexpr overflow_flag() noexcept = default;
  /// True once any operation given this flag has overflowed since construction or the last clear().
  constexpr bool is_set() const noexcept { return set_; }
  constexpr explicit operator bool() const noexcept { return set_; }
  /// Sets the flag (sticky).
  constexpr void raise() noexcept { set_ = true; }
  /// Sets the flag if `overflowed` is true; never clears it.
  constexpr void raise_if(bool overflowed) noexcept { set_ = set_ || overflowed; }
  /// Clears the flag.
  constexpr void clear() noexcept { set_ = false; }

 private:
  bool set_ = false;
};

namespace fixed_detail {

__extension__ typedef __int128 int128;
__extension__ typedef unsigned __int128 uint128;

template <class T>
inline constexpr bool is_storage_v = std::is_same_v<T, std::int8_t> || std::is_same_v<T, std::int16_t> ||
                                     std::is_same_v<T, std::int32_t> || std::is_same_v<T, std::int64_t>;

template <class T>
inline constexpr int bits_v = 8 * static_cast<int>(sizeof(T));

/// floor(v / 2^n) rounded under `mode` instead of floored; n in [0, 126]. Never overflows.
constexpr int128 round_shift_right(int128 v, int n, rounding mode) noexcept {
  if (n <= 0) return v;
  if (n > 126) n = 126;
  const int128 q = v >> n;  // floor (arithmetic shift, defined in C++20)
  const uint128 rem = static_cast<uint128>(v) & ((uint128{1} << n) - 1);
  const uint128 half = uint128{1} << (n - 1);
  switch (mode) {
    case rounding::toward_neg_inf: return q;
    case rounding::toward_zero: return q + ((v < 0 && rem != 0) ? 1 : 0);
    case rounding::half_up: return q + (rem >= half ? 1 : 0);
    case rounding::half_away: return q + ((v >= 0 ? rem >= half : rem > half) ? 1 : 0);
    case rounding::half_even: return q + ((rem > half || (rem == half && (q & 1) != 0)) ? 1 : 0);
  }
  return q;
}

/// v clamped to [lo, hi]; raises `of` (if given) when clamping changed the value.
constexpr int128 clamp_flag(int128 v, int128 lo, int128 hi, overflow_flag* of) noexcept {
  if (v < lo) {
    if (of != nullptr) of->raise();
    return lo;
  }
  if (v > hi) {
    if (of != nullptr) of->raise();
    return hi;
  }
  return v;
}

/// v reduced modulo 2^bits into [-2^(bits-1), 2^(bits-1)); raises `of` when that changed it.
constexpr int128 wrap_to_bits(int128 v, int bits, overflow_flag* of) noexcept {
  const uint128 mask = (uint128{1} << bits) - 1;
  const uint128 u = static_cast<uint128>(v) & mask;
  const int128 r = (u >> (bits - 1)) != 0 ? static_cast<int128>(u) - (int128{1} << bits) : static_cast<int128>(u);
  if (of != nullptr && r != v) of->raise();
  return r;
}

/// Two's-complement wrap of an int64 value into the signed type R (C++20 modular conversion).
template <class R>
constexpr R wrap(std::int64_t v) noexcept {
  return static_cast<R>(static_cast<std::make_unsigned_t<R>>(static_cast<std::uint64_t>(v)));
}

}  // namespace fixed_detail

// ---------------------------------------------------------------------------------------------
// 1. Q-format numbers
// ---------------------------------------------------------------------------------------------

/// A signed Q-format number Q(IntegerBits).(FractionBits) held in `Storage` (int8, int16, int32 or
/// int64): the raw integer r in [raw_min, raw_max] = [-2^(I+F), 2^(I+F) - 1] represents r * 2^-F, so
/// the range is [-2^I, 2^I - 2^-F] with step 2^-F. IntegerBits excludes the sign bit;
/// 1 + IntegerBits + FractionBits <= bits of Storage (fewer bits leave the top storage bits as sign
/// extension; saturation and wrapping then happen at the format's bounds, not the storage's).
template <int IntegerBits, int FractionBits, class Storage>
class fixed {
  static_assert(fixed_detail::is_storage_v<Storage>, "Storage must be int8_t, int16_t, int32_t or int64_t");
  static_assert(IntegerBits >= 0 && FractionBits >= 0, "IntegerBits and FractionBits must be >= 0");
  static_assert(1 + IntegerBits + FractionBits <= fixed_detail::bits_v<Storage>,
                "1 + IntegerBits + FractionBits must fit in Storage");

 public:
  using storage_type = Storage;
  static constexpr int integer_bits = IntegerBits;
  static constexpr int fraction_bits = FractionBits;
  /// 1 + IntegerBits + FractionBits: the width that wrapping arithmetic works modulo.
  static constexpr int total_bits = 1 + IntegerBits + FractionBits;
  /// -2^(IntegerBits + FractionBits)
  static constexpr Storage raw_min =
      static_cast<Storage>(-(fixed_detail::int128{1} << (IntegerBits + FractionBits)));
  /// 2^(IntegerBits + FractionBits) - 1
  static constexpr Storage raw_max =
      static_cast<Storage>((fixed_detail::int128{1} << (IntegerBits + FractionBits)) - 1);

  /// Zero.
  constexpr fixed() noexcept = default;

  /// The number with raw value `raw`, saturated to [raw_min, raw_max] (a no-op when the format
  /// fills its storage).
  static constexpr fixed from_raw(Storage raw) noexcept {
    fixed f;
    f.raw_ = static_cast<Storage>(fixed_detail::clamp_flag(raw, raw_min, raw_max, nullptr));
    return f;
  }
  /// As from_raw(raw); raises `of` when `raw` was outside [raw_min, raw_max].
  static constexpr fixed from_raw(Storage raw, overflow_flag& of) noexcept {
    fixed f;
    f.raw_ = static_cast<Storage>(fixed_detail::clamp_flag(raw, raw_min, raw_max, &of));
    return f;
  }
  /// The smallest value, -2^IntegerBits.
  static constexpr fixed min() noexcept { return from_raw(raw_min); }
  /// The largest value, 2^IntegerBits - 2^-FractionBits.
  static constexpr fixed max() noexcept { return from_raw(raw_max); }

  /// raw = clamp(round_mode(v * 2^FractionBits), raw_min, raw_max). The scaling by 2^F is exact in
  /// double (a float argument converts exactly), so the only rounding is the one of `mode`, applied
  /// to the exact value. NaN -> 0 (raw 0, does not raise the flag); +Inf -> raw_max, -Inf -> raw_min.
  static constexpr fixed from_float(double v, rounding mode) noexcept { return from_float_impl(v, mode, nullptr); }
  /// As from_float(v, mode); raises `of` exactly when the result saturated (finite values whose
  /// rounded value is outside [raw_min, raw_max], and ±Inf). NaN does not raise it.
  static constexpr fixed from_float(double v, rounding mode, overflow_flag& of) noexcept {
    return from_float_impl(v, mode, &of);
  }

  /// The raw integer.
  constexpr Storage raw() const noexcept { return raw_; }
  /// raw * 2^-F: exact whenever total_bits <= 53 (always for int8/16/32 storage); otherwise the
  /// int64 -> double conversion rounds half to even.
  constexpr double to_double() const noexcept { return static_cast<double>(raw_) / pow2(FractionBits); }
  /// raw * 2^-F correctly rounded to float (half to even): one rounding, in the int -> float
  /// conversion; the scaling by 2^-F is exact.
  constexpr float to_float() const noexcept {
    return static_cast<float>(static_cast<double>(static_cast<float>(raw_)) / pow2(FractionBits));
  }

  friend constexpr bool operator==(fixed, fixed) noexcept = default;
  friend constexpr auto operator<=>(fixed a, fixed b) noexcept { return a.raw_ <=> b.raw_; }

 private:
  static constexpr double pow2(int n) noexcept { return static_cast<double>(std::uint64_t{1} << n); }

  static constexpr fixed from_float_impl(double v, rounding mode, overflow_flag* of) noexcept {
    fixed f;
    if (v != v) return f;  // NaN -> 0
    const double s = v * pow2(FractionBits);  // exact (or ±Inf)
    constexpr double two63 = 9223372036854775808.0;
    if (s >= two63) {
      f.raw_ = static_cast<Storage>(fixed_detail::clamp_flag(fixed_detail::int128{1} << 64, raw_min, raw_max, of));
      return f;
    }
    if (s < -two63) {
      f.raw_ = static_cast<Storage>(fixed_detail::clamp_flag(-(fixed_detail::int128{1} << 64), raw_min, raw_max, of));
      return f;
    }
    const std::int64_t t = static_cast<std::int64_t>(s);  // toward zero, exact
    const double d = s - static_cast<double>(t);        // exact, in (-1, 1)
    fixed_detail::int128 r = t;
    switch (mode) {
      case rounding::toward_zero: break;
      case rounding::toward_neg_inf: r -= d < 0.0 ? 1 : 0; break;
      case rounding::half_up: r += d >= 0.5 ? 1 : (d < -0.5 ? -1 : 0); break;
      case rounding::half_away: r += d >= 0.5 ? 1 : (d <= -0.5 ? -1 : 0); break;
      case rounding::half_even:
        if (d > 0.5 || (d == 0.5 && (t & 1) != 0)) r += 1;
        if (d < -0.5 || (d == -0.5 && (t & 1) != 0)) r -= 1;
        break;
    }
    f.raw_ = static_cast<Storage>(fixed_detail::clamp_flag(r, raw_min, raw_max, of));
    return f;
  }

  Storage raw_ = 0;
};

namespace fixed_detail {
template <class T>
struct is_fixed : std::false_type {};
template <int I, int F, class S>
struct is_fixed<fixed<I, F, S>> : std::true_type {};

template <class Q>
constexpr Q fixed_sat(int128 v, overflow_flag* of) noexcept {
  return Q::from_raw(static_cast<typename Q::storage_type>(clamp_flag(v, Q::raw_min, Q::raw_max, of)));
}
template <class Q>
constexpr Q fixed_wrap(int128 v, overflow_flag* of) noexcept {
  return Q::from_raw(static_cast<typename Q::storage_type>(wrap_to_bits(v, Q::total_bits, of)));
}
template <class Q>
constexpr int128 fixed_mul_exact_rounded(Q a, Q b, rounding mode) noexcept {
  return round_shift_right(static_cast<int128>(a.raw()) * b.raw(), Q::fraction_bits, mode);
}
template <class To, class From>
constexpr int128 convert_rounded(From x, rounding mode) noexcept {
  constexpr int shift = From::fraction_bits - To::fraction_bits;
  if constexpr (shift >= 0) {
    return round_shift_right(x.raw(), shift, mode);
  } else {
    return static_cast<int128>(x.raw()) * (int128{1} << -shift);  // |raw| <= 2^63, shift <= 63
  }
}
}  // namespace fixed_detail

/// True for the `fixed` class template's specialisations.
template <class T>
concept fixed_point = fixed_detail::is_fixed<T>::value;

/// raw = clamp(a.raw + b.raw, raw_min, raw_max).
template <fixed_point Q>
constexpr Q saturating_add(Q a, Q b) noexcept {
  return fixed_detail::fixed_sat<Q>(fixed_detail::int128{a.raw()} + b.raw(), nullptr);
}
/// As saturating_add(a, b); raises `of` exactly when it saturated.
template <fixed_point Q>
constexpr Q saturating_add(Q a, Q b, overflow_flag& of) noexcept {
  return fixed_detail::fixed_sat<Q>(fixed_detail::int128{a.raw()} + b.raw(), &of);
}
/// raw = clamp(a.raw - b.raw, raw_min, raw_max).
template <fixed_point Q>
constexpr Q saturating_sub(Q a, Q b) noexcept {
  return fixed_detail::fixed_sat<Q>(fixed_detail::int128{a.raw()} - b.raw(), nullptr);
}
/// As saturating_sub(a, b); raises `of` exactly when it saturated.
template <fixed_point Q>
constexpr Q saturating_sub(Q a, Q b, overflow_flag& of) noexcept {
  return fixed_detail::fixed_sat<Q>(fixed_detail::int128{a.raw()} - b.raw(), &of);
}
/// raw = clamp(round_mode(a.raw * b.raw / 2^F), raw_min, raw_max): the exact product rounded once.
template <fixed_point Q>
constexpr Q saturating_mul(Q a, Q b, rounding mode) noexcept {
  return fixed_detail::fixed_sat<Q>(fixed_detail::fixed_mul_exact_rounded(a, b, mode), nullptr);
}
/// As saturating_mul(a, b, mode); raises `of` exactly when it saturated.
template <fixed_point Q>
constexpr Q saturating_mul(Q a, Q b, rounding mode, overflow_flag& of) noexcept {
  return fixed_detail::fixed_sat<Q>(fixed_detail::fixed_mul_exact_rounded(a, b, mode), &of);
}
/// raw = (a.raw + b.raw) wrapped modulo 2^total_bits into [raw_min, raw_max] (two's complement).
template <fixed_point Q>
constexpr Q wrapping_add(Q a, Q b) noexcept {
  return fixed_detail::fixed_wrap<Q>(fixed_detail::int128{a.raw()} + b.raw(), nullptr);
}
/// As wrapping_add(a, b); raises `of` exactly when it wrapped.
template <fixed_point Q>
constexpr Q wrapping_add(Q a, Q b, overflow_flag& of) noexcept {
  return fixed_detail::fixed_wrap<Q>(fixed_detail::int128{a.raw()} + b.raw(), &of);
}
/// raw = (a.raw - b.raw) wrapped modulo 2^total_bits.
template <fixed_point Q>
constexpr Q wrapping_sub(Q a, Q b) noexcept {
  return fixed_detail::fixed_wrap<Q>(fixed_detail::int128{a.raw()} - b.raw(), nullptr);
}
/// As wrapping_sub(a, b); raises `of` exactly when it wrapped.
template <fixed_point Q>
constexpr Q wrapping_sub(Q a, Q b, overflow_flag& of) noexcept {
  return fixed_detail::fixed_wrap<Q>(fixed_detail::int128{a.raw()} - b.raw(), &of);
}
/// raw = round_mode(a.raw * b.raw / 2^F) wrapped modulo 2^total_bits.
template <fixed_point Q>
constexpr Q wrapping_mul(Q a, Q b, rounding mode) noexcept {
  return fixed_detail::fixed_wrap<Q>(fixed_detail::fixed_mul_exact_rounded(a, b, mode), nullptr);
}
/// As wrapping_mul(a, b, mode); raises `of` exactly when it wrapped.
template <fixed_point Q>
constexpr Q wrapping_mul(Q a, Q b, rounding mode, overflow_flag& of) noexcept {
  return fixed_detail::fixed_wrap<Q>(fixed_detail::fixed_mul_exact_rounded(a, b, mode), &of);
}
/// Format conversion: To.raw = clamp(round_mode(x.raw * 2^(To::F - From::F)), To::raw_min,
/// To::raw_max). Exact (no rounding) when To has at least as many fraction bits.
template <fixed_point To, fixed_point From>
constexpr To convert(From x, rounding mode) noexcept {
  return fixed_detail::fixed_sat<To>(fixed_detail::convert_rounded<To>(x, mode), nullptr);
}
/// As convert<To>(x, mode); raises `of` exactly when it saturated.
template <fixed_point To, fixed_point From>
constexpr To convert(From x, rounding mode, overflow_flag& of) noexcept {
  return fixed_detail::fixed_sat<To>(fixed_detail::convert_rounded<To>(x, mode), &of);
}

// ---------------------------------------------------------------------------------------------
// 2. Integer primitives on raw values
// ---------------------------------------------------------------------------------------------

/// Saturating rounding doubling high multiply (ARM VQRDMULH, gemmlowp / TFLite
/// SaturatingRoundingDoublingHighMul): the product of two Q0.31 values as Q0.31,
///   a == b == INT32_MIN ? INT32_MAX : floor((a * b + 2^30) / 2^31)
/// i.e. round(a * b / 2^31) with ties toward +infinity (a tie of -0.5 goes to 0, -1.5 to -1; this is
/// what gemmlowp's "nudge" 1 - 2^30 for negative products computes with its truncating division).
/// The only saturating case is INT32_MIN * INT32_MIN (exact result +1.0), which gives INT32_MAX.
constexpr std::int32_t saturating_rounding_doubling_high_mul(std::int32_t a, std::int32_t b) noexcept {
  if (a == b && a == std::numeric_limits<std::int32_t>::min()) return std::numeric_limits<std::int32_t>::max();
  const std::int64_t p = static_cast<std::int64_t>(a) * b;
  return static_cast<std::int32_t>((p + (std::int64_t{1} << 30)) >> 31);
}
/// int16 (Q0.15) version: a == b == INT16_MIN ? INT16_MAX : floor((a * b + 2^14) / 2^15);
/// ties toward +infinity (ARM VQRDMULH.S16, gemmlowp's int16 SaturatingRoundingDoublingHighMul).
constexpr std::int16_t saturating_rounding_doubling_high_mul(std::int16_t a, std::int16_t b) noexcept {
  if (a == b && a == std::numeric_limits<std::int16_t>::min()) return std::numeric_limits<std::int16_t>::max();
  const std::int32_t p = static_cast<std::int32_t>(a) * b;
  return static_cast<std::int16_t>((p + (std::int32_t{1} << 14)) >> 15);
}

/// Rounding arithmetic right shift (gemmlowp RoundingDivideByPOT): x / 2^exponent rounded to
/// nearest, ties away from zero (2.5 -> 3, -2.5 -> -3). exponent in [0, 31] (precondition).
/// Formula (gemmlowp's): mask = 2^e - 1, remainder = x & mask, threshold = (mask >> 1) + (x < 0),
/// result = (x >> e) + (remainder > threshold). Never overflows; exponent 0 returns x.
constexpr std::int32_t rounding_divide_by_pot(std::int32_t x, int exponent) noexcept {
  assert(exponent >= 0 && exponent <= 31);
  const std::int32_t mask = static_cast<std::int32_t>((std::int64_t{1} << exponent) - 1);
  const std::int32_t remainder = x & mask;
  const std::int32_t threshold = (mask >> 1) + (x < 0 ? 1 : 0);
  return (x >> exponent) + (remainder > threshold ? 1 : 0);
}
/// int16 version, exponent in [0, 15]: the same formula (gemmlowp's generic RoundingDivideByPOT on
/// int16); ties away from zero.
constexpr std::int16_t rounding_divide_by_pot(std::int16_t x, int exponent) noexcept {
  assert(exponent >= 0 && exponent <= 15);
  const std::int32_t mask = (std::int32_t{1} << exponent) - 1;
  const std::int32_t remainder = x & mask;
  const std::int32_t threshold = (mask >> 1) + (x < 0 ? 1 : 0);
  return static_cast<std::int16_t>((x >> exponent) + (remainder > threshold ? 1 : 0));
}
/// int64 version, exponent in [0, 63]: the same formula; ties away from zero.
constexpr std::int64_t rounding_divide_by_pot(std::int64_t x, int exponent) noexcept {
  assert(exponent >= 0 && exponent <= 63);
  const std::uint64_t mask = (std::uint64_t{1} << exponent) - 1;
  const std::uint64_t remainder = static_cast<std::uint64_t>(x) & mask;
  const std::uint64_t threshold = (mask >> 1) + (x < 0 ? 1 : 0);
  return (x >> exponent) + (remainder > threshold ? 1 : 0);
}

namespace fixed_detail {
template <int Exponent, class R>
constexpr R saturating_rounding_multiply_by_pot(R x) noexcept {
  constexpr int bits = bits_v<R>;
  static_assert(Exponent > -bits && Exponent < bits, "Exponent out of range");
  if constexpr (Exponent == 0) {
    return x;
  } else if constexpr (Exponent > 0) {
    constexpr std::int64_t threshold = (std::int64_t{1} << (bits - 1 - Exponent)) - 1;
    if (x > threshold) return std::numeric_limits<R>::max();
    if (x < -threshold) return std::numeric_limits<R>::min();
    return static_cast<R>(static_cast<std::int64_t>(x) * (std::int64_t{1} << Exponent));
  } else {
    return rounding_divide_by_pot(x, -Exponent);
  }
}
}  // namespace fixed_detail

/// x * 2^Exponent for a compile-time Exponent in [-31, 31] (gemmlowp
/// SaturatingRoundingMultiplyByPOT). Exponent > 0: a left shift saturating to
/// [INT32_MIN, INT32_MAX] (x > 2^(31-E) - 1 -> INT32_MAX, x < -(2^(31-E) - 1) -> INT32_MIN; exact
/// otherwise). Exponent < 0: rounding_divide_by_pot(x, -Exponent), ties away from zero.
template <int Exponent>
constexpr std::int32_t saturating_rounding_multiply_by_pot(std::int32_t x) noexcept {
  return fixed_detail::saturating_rounding_multiply_by_pot<Exponent>(x);
}
/// int16 version, Exponent in [-15, 15], saturating to [INT16_MIN, INT16_MAX].
template <int Exponent>
constexpr std::int16_t saturating_rounding_multiply_by_pot(std::int16_t x) noexcept {
  return fixed_detail::saturating_rounding_multiply_by_pot<Exponent>(x);
}

namespace fixed_detail {
template <class T>
constexpr T saturating_shift_left(T x, int shift, overflow_flag* of) noexcept {
  if (shift < 0) shift = 0;
  if (shift > 64) shift = 64;
  const int128 v = static_cast<int128>(x) * (int128{1} << shift);
  return static_cast<T>(clamp_flag(v, std::numeric_limits<T>::min(), std::numeric_limits<T>::max(), of));
}
}  // namespace fixed_detail

/// round_mode(x / 2^shift) for T in {int8, int16, int32, int64}; shift is clamped to [0, 126].
/// Computed exactly (in 128 bits); the result always fits T.
template <class T>
  requires fixed_detail::is_storage_v<T>
constexpr T rounding_shift_right(T x, int shift, rounding mode) noexcept {
  return static_cast<T>(fixed_detail::round_shift_right(x, shift < 0 ? 0 : shift, mode));
}
/// clamp(x * 2^shift, T_min, T_max) for T in {int8, int16, int32, int64}; shift is clamped to
/// [0, 64] (any nonzero x saturates long before). Exact when it does not saturate.
template <class T>
  requires fixed_detail::is_storage_v<T>
constexpr T saturating_shift_left(T x, int shift) noexcept {
  return fixed_detail::saturating_shift_left(x, shift, nullptr);
}
/// As saturating_shift_left(x, shift); raises `of` exactly when it saturated.
template <class T>
  requires fixed_detail::is_storage_v<T>
constexpr T saturating_shift_left(T x, int shift, overflow_flag& of) noexcept {
  return fixed_detail::saturating_shift_left(x, shift, &of);
}
/// A shift in either direction, as ARM's saturating rounding shifts but with gemmlowp's ties:
/// shift >= 0: saturating_shift_left(x, shift); shift < 0: rounding_shift_right(x, -shift,
/// rounding::half_away) (= rounding_divide_by_pot(x, -shift)). |shift| is clamped as above.
template <class T>
  requires fixed_detail::is_storage_v<T>
constexpr T saturating_rounding_shift(T x, int shift) noexcept {
  return shift >= 0 ? fixed_detail::saturating_shift_left(x, shift, nullptr)
                    : rounding_shift_right(x, shift < -126 ? 126 : -shift, rounding::half_away);
}
/// As saturating_rounding_shift(x, shift); raises `of` exactly when it saturated.
template <class T>
  requires fixed_detail::is_storage_v<T>
constexpr T saturating_rounding_shift(T x, int shift, overflow_flag& of) noexcept {
  return shift >= 0 ? fixed_detail::saturating_shift_left(x, shift, &of)
                    : rounding_shift_right(x, shift < -126 ? 126 : -shift, rounding::half_away);
}

/// Count of leading sign bits (ARM CLS): the number of bits after the sign bit that equal it, i.e.
/// how far x can be shifted left without overflow. countl_zero(unsigned(x ^ (x >> (bits-1)))) - 1.
/// For int32: 0 -> 31, -1 -> 31, 1 -> 30, INT32_MAX -> 0, INT32_MIN -> 0, -2^30 -> 1. (ETSI norm_l
/// differs only at 0, where it returns 0.)
template <class T>
  requires fixed_detail::is_storage_v<T>
constexpr int count_leading_sign_bits(T x) noexcept {
  using U = std::make_unsigned_t<T>;
  const U u = static_cast<U>(x);
  const U sign = (u >> (fixed_detail::bits_v<T> - 1)) != 0 ? static_cast<U>(~U{0}) : U{0};
  return std::countl_zero(static_cast<U>(u ^ sign)) - 1;
}

/// x clamped to the range of To (any integral types, compared exactly as std::cmp_less does):
/// x < To_min -> To_min, x > To_max -> To_max, otherwise static_cast<To>(x).
template <class To, class From>
  requires std::is_integral_v<To> && std::is_integral_v<From>
constexpr To saturate_narrow(From x) noexcept {
  if (std::cmp_less(x, std::numeric_limits<To>::min())) return std::numeric_limits<To>::min();
  if (std::cmp_greater(x, std::numeric_limits<To>::max())) return std::numeric_limits<To>::max();
  return static_cast<To>(x);
}
/// As saturate_narrow<To>(x); raises `of` exactly when it saturated.
template <class To, class From>
  requires std::is_integral_v<To> && std::is_integral_v<From>
constexpr To saturate_narrow(From x, overflow_flag& of) noexcept {
  of.raise_if(!std::in_range<To>(x));
  return saturate_narrow<To>(x);
}

// ---------------------------------------------------------------------------------------------
// ETSI / ITU-T G.191 basic operators (basicop2.c semantics)
// ---------------------------------------------------------------------------------------------

/// The classic speech-codec basic operators on Word16 (int16) and Word32 (int32) with the results
/// of the ITU-T G.191 STL reference (basicop2.c). Where the reference sets its global `Overflow`,
/// the overload taking an `overflow_flag&` raises that flag instead (and only there: negate, abs_s,
/// L_negate and L_abs saturate without setting Overflow, as in the reference). Shift counts are
/// clamped as the reference does (to [-16, ...] for 16-bit, [-32, ...] for 32-bit).
namespace etsi {

using Word16 = std::int16_t;
using Word32 = std::int32_t;

inline constexpr Word16 MAX_16 = 0x7fff;
inline constexpr Word16 MIN_16 = -0x8000;
inline constexpr Word32 MAX_32 = 0x7fffffff;
inline constexpr Word32 MIN_32 = -0x7fffffff - 1;

namespace fixed_detail {
constexpr Word16 sat16(std::int64_t v, overflow_flag& of) noexcept {
  if (v > MAX_16) {
    of.raise();
    return MAX_16;
  }
  if (v < MIN_16) {
    of.raise();
    return MIN_16;
  }
  return static_cast<Word16>(v);
}
constexpr Word32 sat32(std::int64_t v, overflow_flag& of) noexcept {
  if (v > MAX_32) {
    of.raise();
    return MAX_32;
  }
  if (v < MIN_32) {
    of.raise();
    return MIN_32;
  }
  return static_cast<Word32>(v);
}
}  // namespace fixed_detail

/// add(a, b) = clamp(a + b, -32768, 32767); overflow when clamped.
constexpr Word16 add(Word16 a, Word16 b, overflow_flag& of) noexcept { return fixed_detail::sat16(std::int64_t{a} + b, of); }
/// sub(a, b) = clamp(a - b, -32768, 32767); overflow when clamped.
constexpr Word16 sub(Word16 a, Word16 b, overflow_flag& of) noexcept { return fixed_detail::sat16(std::int64_t{a} - b, of); }
/// L_add(a, b) = clamp(a + b, INT32_MIN, INT32_MAX); overflow when clamped.
constexpr Word32 L_add(Word32 a, Word32 b, overflow_flag& of) noexcept { return fixed_detail::sat32(std::int64_t{a} + b, of); }
/// L_sub(a, b) = clamp(a - b, INT32_MIN, INT32_MAX); overflow when clamped.
constexpr Word32 L_sub(Word32 a, Word32 b, overflow_flag& of) noexcept { return fixed_detail::sat32(std::int64_t{a} - b, of); }
/// negate(a) = a == -32768 ? 32767 : -a (no overflow flag, as in the reference).
constexpr Word16 negate(Word16 a) noexcept { return a == MIN_16 ? MAX_16 : static_cast<Word16>(-a); }
/// abs_s(a) = a == -32768 ? 32767 : |a| (no overflow flag).
constexpr Word16 abs_s(Word16 a) noexcept { return a == MIN_16 ? MAX_16 : static_cast<Word16>(a < 0 ? -a : a); }
/// L_negate(a) = a == INT32_MIN ? INT32_MAX : -a (no overflow flag).
constexpr Word32 L_negate(Word32 a) noexcept { return a == MIN_32 ? MAX_32 : -a; }
/// L_abs(a) = a == INT32_MIN ? INT32_MAX : |a| (no overflow flag).
constexpr Word32 L_abs(Word32 a) noexcept { return a == MIN_32 ? MAX_32 : (a < 0 ? -a : a); }
/// extract_h(L) = L >> 16 (the high 16 bits).
constexpr Word16 extract_h(Word32 L) noexcept { return static_cast<Word16>(L >> 16); }
/// extract_l(L) = the low 16 bits of L, as two's complement (wraps, no flag).
constexpr Word16 extract_l(Word32 L) noexcept { return static_cast<Word16>(L); }
/// L_deposit_h(a) = a * 2^16.
constexpr Word32 L_deposit_h(Word16 a) noexcept { return static_cast<Word32>(a) * 65536; }
/// L_deposit_l(a) = a (sign extended).
constexpr Word32 L_deposit_l(Word16 a) noexcept { return a; }

/// L_mult(a, b) = 2 * a * b, except L_mult(-32768, -32768) = INT32_MAX with overflow (the only
/// saturating case). Q15 * Q15 -> Q31.
constexpr Word32 L_mult(Word16 a, Word16 b, overflow_flag& of) noexcept {
  const Word32 p = static_cast<Word32>(a) * b;
  if (p == 0x40000000) {
    of.raise();
    return MAX_32;
  }
  return p * 2;
}
/// L_mac(L3, a, b) = L_add(L3, L_mult(a, b)): two saturations, the product's then the sum's; the
/// flag is raised if either saturated. E.g. L_mac(-1, -32768, -32768) = L_add(-1, INT32_MAX)
/// = INT32_MAX - 1 (with overflow from the product), not the exact 2^31 - 1.
constexpr Word32 L_mac(Word32 L3, Word16 a, Word16 b, overflow_flag& of) noexcept {
  return L_add(L3, L_mult(a, b, of), of);
}
/// L_msu(L3, a, b) = L_sub(L3, L_mult(a, b)): product saturated, then the difference.
constexpr Word32 L_msu(Word32 L3, Word16 a, Word16 b, overflow_flag& of) noexcept {
  return L_sub(L3, L_mult(a, b, of), of);
}
/// mult(a, b) = clamp(floor(a * b / 2^15), -32768, 32767): Q15 product truncated toward -inf;
/// only mult(-32768, -32768) saturates (to 32767, overflow).
constexpr Word16 mult(Word16 a, Word16 b, overflow_flag& of) noexcept {
  return fixed_detail::sat16((static_cast<std::int64_t>(a) * b) >> 15, of);
}
/// mult_r(a, b) = clamp(floor((a * b + 2^14) / 2^15), -32768, 32767): Q15 product rounded to nearest,
/// ties toward +infinity; only mult_r(-32768, -32768) saturates (to 32767, overflow).
constexpr Word16 mult_r(Word16 a, Word16 b, overflow_flag& of) noexcept {
  return fixed_detail::sat16((static_cast<std::int64_t>(a) * b + 0x4000) >> 15, of);
}

constexpr Word16 shr(Word16 a, Word16 n, overflow_flag& of) noexcept;
/// shl(a, n): n < 0 -> shr(a, -max(n, -16)); otherwise a * 2^n saturated to [-32768, 32767]
/// (overflow when saturated, also whenever n > 15 and a != 0, as in the reference).
constexpr Word16 shl(Word16 a, Word16 n, overflow_flag& of) noexcept {
  if (n < 0) return shr(a, static_cast<Word16>(n < -16 ? 16 : -n), of);
  if (a == 0) return 0;
  if (n > 15) {
    of.raise();
    return a > 0 ? MAX_16 : MIN_16;
  }
  return fixed_detail::sat16(static_cast<std::int64_t>(a) * (std::int64_t{1} << n), of);
}
/// shr(a, n): n < 0 -> shl(a, -max(n, -16)); otherwise floor(a / 2^n) (arithmetic shift; n >= 15
/// gives 0 or -1).
constexpr Word16 shr(Word16 a, Word16 n, overflow_flag& of) noexcept {
  if (n < 0) return shl(a, static_cast<Word16>(n < -16 ? 16 : -n), of);
  return static_cast<Word16>(a >> (n > 15 ? 15 : n));
}
/// shr_r(a, n): n > 15 -> 0; otherwise shr(a, n) + (n > 0 ? bit n-1 of a : 0), i.e. for n in
/// [1, 15] floor(a / 2^n + 1/2): rounded to nearest, ties toward +infinity. Negative n as shr.
constexpr Word16 shr_r(Word16 a, Word16 n, overflow_flag& of) noexcept {
  if (n > 15) return 0;
  Word16 r = shr(a, n, of);
  if (n > 0 && (a & (1 << (n - 1))) != 0) r = static_cast<Word16>(r + 1);
  return r;
}

constexpr Word32 L_shr(Word32 L, Word16 n, overflow_flag& of) noexcept;
/// L_shl(L, n): n <= 0 -> L_shr(L, -max(n, -32)); otherwise L * 2^n saturated to
/// [INT32_MIN, INT32_MAX], overflow when saturated (the reference's shift loop, in closed form).
constexpr Word32 L_shl(Word32 L, Word16 n, overflow_flag& of) noexcept {
  if (n <= 0) return L_shr(L, static_cast<Word16>(n < -32 ? 32 : -n), of);
  const int k = n > 32 ? 32 : n;
  return fixed_detail::sat32(static_cast<std::int64_t>(L) * (std::int64_t{1} << k), of);
}
/// L_shr(L, n): n < 0 -> L_shl(L, -max(n, -32)); otherwise floor(L / 2^n) (n >= 31 gives 0 or -1).
constexpr Word32 L_shr(Word32 L, Word16 n, overflow_flag& of) noexcept {
  if (n < 0) return L_shl(L, static_cast<Word16>(n < -32 ? 32 : -n), of);
  return L >> (n > 31 ? 31 : n);
}
/// L_shr_r(L, n): n > 31 -> 0; otherwise L_shr(L, n) + (n > 0 ? bit n-1 of L : 0), i.e. for n in
/// [1, 31] floor(L / 2^n + 1/2): ties toward +infinity. Negative n as L_shr (saturating left shift).
constexpr Word32 L_shr_r(Word32 L, Word16 n, overflow_flag& of) noexcept {
  if (n > 31) return 0;
  Word32 r = L_shr(L, n, of);
  if (n > 0 && (static_cast<std::uint32_t>(L) >> (n - 1) & 1u) != 0) r += 1;
  return r;
}
/// round(L) = extract_h(L_add(L, 0x8000)): the high half rounded, ties toward +infinity, saturating
/// at INT32_MAX (round(0x7fff8000) = 32767 with overflow). Also spelled round_fx (STL2009).
constexpr Word16 round(Word32 L, overflow_flag& of) noexcept { return extract_h(L_add(L, 0x8000, of)); }
/// The same as round(L, of).
constexpr Word16 round_fx(Word32 L, overflow_flag& of) noexcept { return round(L, of); }

/// norm_s(a): the left shift that normalises a, = count_leading_sign_bits(a) except norm_s(0) = 0.
/// norm_s(-1) = 15, norm_s(1) = 14, norm_s(-32768) = 0, norm_s(16384) = 0, norm_s(-16384) = 1.
constexpr Word16 norm_s(Word16 a) noexcept {
  return static_cast<Word16>(a == 0 ? 0 : count_leading_sign_bits(a));
}
/// norm_l(L): count_leading_sign_bits(L) except norm_l(0) = 0. norm_l(-1) = 31, norm_l(1) = 30.
constexpr Word16 norm_l(Word32 L) noexcept {
  return static_cast<Word16>(L == 0 ? 0 : count_leading_sign_bits(L));
}
/// div_s(num, den): the Q15 quotient num / den for 0 <= num <= den, den > 0, truncated toward zero
/// (15-step restoring division); num == den -> 32767; num == 0 -> 0. The reference aborts on other
/// inputs; here they return 0 and raise the flag.
constexpr Word16 div_s(Word16 num, Word16 den, overflow_flag& of) noexcept {
  if (num < 0 || den <= 0 || num > den) {
    of.raise();
    return 0;
  }
  if (num == 0) return 0;
  if (num == den) return MAX_16;
  std::int32_t L_num = num, out = 0;
  for (int i = 0; i < 15; ++i) {
    out <<= 1;
    L_num <<= 1;
    if (L_num >= den) {
      L_num -= den;
      out += 1;
    }
  }
  return static_cast<Word16>(out);
}

// The same operators without a flag (overflow is not reported).
/// add(a, b) without flag; see above.
constexpr Word16 add(Word16 a, Word16 b) noexcept { overflow_flag f; return add(a, b, f); }
/// sub(a, b) without flag.
constexpr Word16 sub(Word16 a, Word16 b) noexcept { overflow_flag f; return sub(a, b, f); }
/// L_add(a, b) without flag.
constexpr Word32 L_add(Word32 a, Word32 b) noexcept { overflow_flag f; return L_add(a, b, f); }
/// L_sub(a, b) without flag.
constexpr Word32 L_sub(Word32 a, Word32 b) noexcept { overflow_flag f; return L_sub(a, b, f); }
/// L_mult(a, b) without flag.
constexpr Word32 L_mult(Word16 a, Word16 b) noexcept { overflow_flag f; return L_mult(a, b, f); }
/// L_mac(L3, a, b) without flag.
constexpr Word32 L_mac(Word32 L3, Word16 a, Word16 b) noexcept { overflow_flag f; return L_mac(L3, a, b, f); }
/// L_msu(L3, a, b) without flag.
constexpr Word32 L_msu(Word32 L3, Word16 a, Word16 b) noexcept { overflow_flag f; return L_msu(L3, a, b, f); }
/// mult(a, b) without flag.
constexpr Word16 mult(Word16 a, Word16 b) noexcept { overflow_flag f; return mult(a, b, f); }
/// mult_r(a, b) without flag.
constexpr Word16 mult_r(Word16 a, Word16 b) noexcept { overflow_flag f; return mult_r(a, b, f); }
/// shl(a, n) without flag.
constexpr Word16 shl(Word16 a, Word16 n) noexcept { overflow_flag f; return shl(a, n, f); }
/// shr(a, n) without flag.
constexpr Word16 shr(Word16 a, Word16 n) noexcept { overflow_flag f; return shr(a, n, f); }
/// shr_r(a, n) without flag.
constexpr Word16 shr_r(Word16 a, Word16 n) noexcept { overflow_flag f; return shr_r(a, n, f); }
/// L_shl(L, n) without flag.
constexpr Word32 L_shl(Word32 L, Word16 n) noexcept { overflow_flag f; return L_shl(L, n, f); }
/// L_shr(L, n) without flag.
constexpr Word32 L_shr(Word32 L, Word16 n) noexcept { overflow_flag f; return L_shr(L, n, f); }
/// L_shr_r(L, n) without flag.
constexpr Word32 L_shr_r(Word32 L, Word16 n) noexcept { overflow_flag f; return L_shr_r(L, n, f); }
/// round(L) without flag.
constexpr Word16 round(Word32 L) noexcept { overflow_flag f; return round(L, f); }
/// round_fx(L) without flag.
constexpr Word16 round_fx(Word32 L) noexcept { overflow_flag f; return round(L, f); }
/// div_s(num, den) without flag.
constexpr Word16 div_s(Word16 num, Word16 den) noexcept { overflow_flag f; return div_s(num, den, f); }

}  // namespace etsi

// ---------------------------------------------------------------------------------------------
// 3. gemmlowp's fixed-point exp, logistic and tanh (bit exact with gemmlowp's scalar path)
// ---------------------------------------------------------------------------------------------

namespace fixed_detail {

// The gemmlowp FixedPoint operations on raw values of type R (int16 or int32). Add / Sub / Neg wrap
// modulo 2^bits here. gemmlowp uses plain int arithmetic: for int16 that is computed in int and
// converted back (a wrap, no UB); for int32 the only overflow on these paths is -INT32_MIN in tanh
// and logistic (UB in gemmlowp, a wrap to INT32_MIN in practice), and the wrap is what is computed
// here, so the results equal gemmlowp's for every input (tests/gemmlowp_conformance_test.cc).
template <class R>
constexpr R g_add(R a, R b) noexcept {
  return wrap<R>(std::int64_t{a} + b);
}
template <class R>
constexpr R g_sub(R a, R b) noexcept {
  return wrap<R>(std::int64_t{a} - b);
}
template <class R>
constexpr R g_neg(R a) noexcept {
  return wrap<R>(-std::int64_t{a});
}
template <class R>
constexpr R g_mul(R a, R b) noexcept {  // FixedPoint operator*: SRDHM
  return saturating_rounding_doubling_high_mul(a, b);
}
/// gemmlowp AddSaturatingIf16Bit: saturating for int16, wrapping for int32.
template <class R>
constexpr R g_add_sat_if16(R a, R b) noexcept {
  if constexpr (sizeof(R) == 2) {
    return saturate_narrow<R>(std::int32_t{a} + b);
  } else {
    return g_add(a, b);
  }
}
/// gemmlowp RoundingHalfSum: (a + b + sign(a + b)) / 2 truncated, sign(0) = +1; ties away from zero.
template <class R>
constexpr R g_rounding_half_sum(R a, R b) noexcept {
  const std::int64_t s = std::int64_t{a} + b;
  return static_cast<R>((s + (s >= 0 ? 1 : -1)) / 2);
}
/// gemmlowp RescaleConstantInitializer: an int32 Q-constant rounded to R's width.
template <class R>
constexpr R g_const(std::int32_t v) noexcept {
  return static_cast<R>(rounding_divide_by_pot(v, 32 - bits_v<R>));
}
/// FixedPoint<R, IntegerBits>::One().
template <class R, int IntegerBits>
constexpr R g_one() noexcept {
  if constexpr (IntegerBits == 0) {
    return std::numeric_limits<R>::max();
  } else {
    return static_cast<R>(R{1} << (bits_v<R> - 1 - IntegerBits));
  }
}

/// exp(a) for a in [-1/4, 0), Q0 in and out: gemmlowp's 4th-order Taylor expansion around -1/8.
template <class R>
constexpr R exp_on_interval_between_negative_one_quarter_and_0_excl(R a) noexcept {
  const R constant_term = g_const<R>(1895147668);      // exp(-1/8)
  const R constant_1_over_3 = g_const<R>(715827883);  // 1/3
  const R x = g_add(a, static_cast<R>(R{1} << (bits_v<R> - 1 - 3)));  // a + 1/8
  const R x2 = g_mul(x, x);
  const R x3 = g_mul(x2, x);
  const R x4 = g_mul(x2, x2);
  const R x4_over_4 = saturating_rounding_multiply_by_pot<-2>(x4);
  const R x4_over_24_plus_x3_over_6_plus_x2_over_2 =
      saturating_rounding_multiply_by_pot<-1>(g_add(g_mul(g_add(x4_over_4, x3), constant_1_over_3), x2));
  return g_add_sat_if16(constant_term, g_mul(constant_term, g_add(x, x4_over_24_plus_x3_over_6_plus_x2_over_2)));
}

template <class R, int IntegerBits, int Exponent>
constexpr R exp_barrel_step(R result, R remainder, std::int32_t multiplier) noexcept {
  if constexpr (IntegerBits > Exponent) {
    constexpr int shift = bits_v<R> - 1 - IntegerBits + Exponent;
    if ((remainder & (R{1} << shift)) != 0) return g_mul(result, g_const<R>(multiplier));
  }
  return result;
}

/// exp(a) for a <= 0 in Q(IntegerBits); result Q0 (gemmlowp exp_on_negative_values).
template <int IntegerBits, class R>
constexpr R exp_on_negative_values(R a) noexcept {
  constexpr int kFractionalBits = bits_v<R> - 1 - IntegerBits;
  static_assert(IntegerBits >= 0 && kFractionalBits >= 2, "exp_on_negative_values: IntegerBits out of range");
  constexpr R kOneQuarter = static_cast<R>(R{1} << (kFractionalBits - 2));
  constexpr R mask = static_cast<R>(kOneQuarter - 1);
  const R a_mod_quarter_minus_one_quarter = g_sub(static_cast<R>(a & mask), kOneQuarter);
  R result = exp_on_interval_between_negative_one_quarter_and_0_excl(
      saturating_rounding_multiply_by_pot<IntegerBits>(a_mod_quarter_minus_one_quarter));
  const R remainder = g_sub(a_mod_quarter_minus_one_quarter, a);
  result = exp_barrel_step<R, IntegerBits, -2>(result, remainder, 1672461947);  // exp(-1/4)
  result = exp_barrel_step<R, IntegerBits, -1>(result, remainder, 1302514674);  // exp(-1/2)
  result = exp_barrel_step<R, IntegerBits, +0>(result, remainder, 790015084);   // exp(-1)
  result = exp_barrel_step<R, IntegerBits, +1>(result, remainder, 290630308);   // exp(-2)
  result = exp_barrel_step<R, IntegerBits, +2>(result, remainder, 39332535);    // exp(-4)
  result = exp_barrel_step<R, IntegerBits, +3>(result, remainder, 720401);      // exp(-8)
  result = exp_barrel_step<R, IntegerBits, +4>(result, remainder, 242);         // exp(-16)
  if constexpr (IntegerBits > 5) {
    constexpr int clampB = 36 - IntegerBits;
    const R clamp = g_const<R>(-(std::int32_t{1} << clampB));  // -32
    if (a < clamp) result = 0;
  }
  if (a == 0) result = g_one<R, 0>();
  return result;
}

/// The Newton-Raphson reciprocal shared by the two functions below: returns x in Q2 ~ 1 / half_den.
template <class R>
constexpr R newton_raphson_reciprocal_q2(R half_denominator) noexcept {
  const R constant_48_over_17 = g_const<R>(1515870810);
  const R constant_neg_32_over_17 = g_const<R>(-1010580540);
  constexpr R one_q2 = g_one<R, 2>();
  R x = g_add(constant_48_over_17, g_mul(half_denominator, constant_neg_32_over_17));
  for (int i = 0; i < 3; ++i) {
    const R half_denominator_times_x = g_mul(half_denominator, x);
    const R one_minus_half_denominator_times_x = g_sub(one_q2, half_denominator_times_x);
    x = g_add(x, saturating_rounding_multiply_by_pot<2>(g_mul(x, one_minus_half_denominator_times_x)));
  }
  return x;
}

/// (1 - a) / (1 + a) for a in (0, 1), Q0 in and out (gemmlowp).
template <class R>
constexpr R one_minus_x_over_one_plus_x_for_x_in_0_1(R a) noexcept {
  const R half_denominator = g_rounding_half_sum(a, g_one<R, 0>());
  const R x = newton_raphson_reciprocal_q2(half_denominator);
  return saturating_rounding_multiply_by_pot<2>(g_sub(x, g_one<R, 2>()));
}

/// 1 / (1 + a) for a in (0, 1), Q0 in and out (gemmlowp).
template <class R>
constexpr R one_over_one_plus_x_for_x_in_0_1(R a) noexcept {
  const R half_denominator = g_rounding_half_sum(a, g_one<R, 0>());
  const R x = newton_raphson_reciprocal_q2(half_denominator);
  return saturating_rounding_multiply_by_pot<1>(x);
}

template <int IntegerBits, class R>
constexpr R tanh(R a) noexcept {
  static_assert(IntegerBits >= 0 && IntegerBits <= bits_v<R> - 4, "tanh: IntegerBits out of range");
  const bool negative = a < 0;
  const R n = negative ? a : g_neg(a);
  const R t = one_minus_x_over_one_plus_x_for_x_in_0_1(exp_on_negative_values<IntegerBits + 1>(n));
  if (a == 0) return 0;
  return negative ? g_neg(t) : t;
}

template <int IntegerBits, class R>
constexpr R logistic(R a) noexcept {
  static_assert(IntegerBits >= 0 && IntegerBits <= bits_v<R> - 3, "logistic: IntegerBits out of range");
  const bool positive = a > 0;
  const R abs_input = positive ? a : g_neg(a);
  const R result_if_positive = one_over_one_plus_x_for_x_in_0_1(exp_on_negative_values<IntegerBits>(g_neg(abs_input)));
  if (a == 0) return g_const<R>(std::int32_t{1} << 30);  // 1/2
  return positive ? result_if_positive : g_sub(g_one<R, 0>(), result_if_positive);
}

}  // namespace fixed_detail

/// exp(x) for x <= 0 (gemmlowp exp_on_negative_values, bit exact). Input: raw Q(I).(31-I), I =
/// InputIntegerBits in [0, 29], raw <= 0 (precondition; positive inputs give meaningless but
/// defined results). Output: raw Q0.31 in [0, INT32_MAX]; raw 0 -> INT32_MAX (1 - 2^-31).
/// Algorithm: x = -k/4 + r with r in [-1/4, 0): exp(r) by a Taylor polynomial around -1/8 in Q0.31
/// SRDHM arithmetic (ties toward +inf at every multiply, ties away from zero at every
/// divide-by-POT), then a multiply by exp(-2^j) (Q0.31 constants 1672461947, 1302514674, 790015084,
/// 290630308, 39332535, 720401, 242 for j = -2..4) for each set bit j of k/4; when I > 5, inputs
/// below -32 give 0.
template <int InputIntegerBits>
constexpr std::int32_t exp_on_negative_values(std::int32_t raw) noexcept {
  return fixed_detail::exp_on_negative_values<InputIntegerBits>(raw);
}
/// int16 version (gemmlowp on FixedPoint<int16_t, I>): input Q(I).(15-I), I in [0, 13]; output
/// Q0.15 raw; the constants are the int32 ones rounded (half away from zero) to 16 bits.
template <int InputIntegerBits>
constexpr std::int16_t exp_on_negative_values(std::int16_t raw) noexcept {
  return fixed_detail::exp_on_negative_values<InputIntegerBits>(raw);
}

/// logistic(x) = 1 / (1 + exp(-x)) (gemmlowp logistic, bit exact). Input raw Q(I).(31-I), I in
/// [0, 29]; output raw Q0.31 in [0, INT32_MAX]: raw 0 -> 2^30 (exactly 1/2); x > 0 ->
/// 1 / (1 + exp_on_negative_values(-x)) by three Newton-Raphson steps; x < 0 -> INT32_MAX minus the
/// result for -x (for INT32_MIN, -x wraps to INT32_MIN, which gemmlowp's exp then sees as the input).
template <int InputIntegerBits>
constexpr std::int32_t logistic(std::int32_t raw) noexcept {
  return fixed_detail::logistic<InputIntegerBits>(raw);
}
/// int16 version: input Q(I).(15-I), I in [0, 13] (TFLite int16 Logistic uses I = 3); output Q0.15.
template <int InputIntegerBits>
constexpr std::int16_t logistic(std::int16_t raw) noexcept {
  return fixed_detail::logistic<InputIntegerBits>(raw);
}

/// tanh(x) (gemmlowp tanh, bit exact). Input raw Q(I).(31-I), I in [0, 28]; output raw Q0.31 in
/// [-INT32_MAX, INT32_MAX]: raw 0 -> 0; x < 0 -> -(1 - e) / (1 + e) with e =
/// exp_on_negative_values<I+1>(x) (Newton-Raphson division); x > 0 -> the negation of that for -x.
/// Odd: tanh(-x) = -tanh(x) for raw x != INT32_MIN.
template <int InputIntegerBits>
constexpr std::int32_t tanh(std::int32_t raw) noexcept {
  return fixed_detail::tanh<InputIntegerBits>(raw);
}
/// int16 version: input Q(I).(15-I), I in [0, 12] (TFLite int16 Tanh uses I = 3); output Q0.15.
template <int InputIntegerBits>
constexpr std::int16_t tanh(std::int16_t raw) noexcept {
  return fixed_detail::tanh<InputIntegerBits>(raw);
}

}  // namespace lowbit::fxp
