// Test support: how much slower this build runs the tests than an optimized, uninstrumented one.
//
// Long randomized or exhaustive checks divide their sample counts by kSlowBuildDivisor, so that the
// dev preset (Debug, -O0, AddressSanitizer + UndefinedBehaviorSanitizer) stays within the CI budget.
// Edge cases are never scaled down: only the number of random samples, or the stride of an exhaustive
// comparison, changes. The optimized presets (ci, release, scalar) run every check in full.
#pragma once

#include <cstddef>

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define LOWBIT_TEST_SANITIZED 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__)
#define LOWBIT_TEST_SANITIZED 1
#endif

namespace lowbit::test {

#if !defined(__OPTIMIZE__)
inline constexpr std::size_t kSlowBuildDivisor = 40;  // -O0 (the dev preset)
#elif defined(LOWBIT_TEST_SANITIZED)
inline constexpr std::size_t kSlowBuildDivisor = 10;  // optimized with sanitizers
#else
inline constexpr std::size_t kSlowBuildDivisor = 1;
#endif

/// `n` scaled down for this build, at least `floor` (and never more than n).
constexpr std::size_t scaled(std::size_t n, std::size_t floor = 1) {
  const std::size_t s = n / kSlowBuildDivisor;
  return s < floor ? (n < floor ? n : floor) : s;
}

}  // namespace lowbit::test
