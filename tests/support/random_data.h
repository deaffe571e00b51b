// Test support: float samples of the distributions weights and activations follow, with a fixed seed.
#pragma once

#include <cmath>
#include <cstddef>
#include <limits>
#include <random>
#include <vector>

namespace lowbit::test_data {

/// n samples of N(0, sigma^2), drawn in double and rounded to float.
inline std::vector<float> gaussian(std::size_t n, double sigma, unsigned seed) {
  std::mt19937 gen(seed);
  std::normal_distribution<double> d(0.0, sigma);
  std::vector<float> v(n);
  for (auto& x : v) x = static_cast<float>(d(gen));
  return v;
}

/// n samples of Laplace(0, b): a symmetric exponential of mean b.
inline std::vector<float> laplace(std::size_t n, double b, unsigned seed) {
  std::mt19937 gen(seed);
  std::exponential_distribution<double> e(1.0 / b);
  std::bernoulli_distribution sign(0.5);
  std::vector<float> v(n);
  for (auto& x : v) x = static_cast<float>(sign(gen) ? e(gen) : -e(gen));
  return v;
}

/// n samples of Student's t with nu degrees of freedom (heavy tails for small nu).
inline std::vector<float> student(std::size_t n, double nu, unsigned seed) {
  std::mt19937 gen(seed);
  std::student_t_distribution<double> d(nu);
  std::vector<float> v(n);
  for (auto& x : v) x = static_cast<float>(d(gen));
  return v;
}

/// Appends to `x` the quantization tie t = (k + 0.5) * scale and its `ulps` float neighbours on each
/// side: where a kernel that forms x / scale or x * (1 / scale) any other way rounds differently.
inline void push_tie_and_neighbours(std::vector<float>& x, float k, float scale, int ulps = 3) {
  constexpr float kInf = std::numeric_limits<float>::infinity();
  const float tie = (k + 0.5f) * scale;
  x.push_back(tie);
  float lo = tie, hi = tie;
  for (int u = 0; u < ulps; ++u) {
    lo = std::nextafter(lo, -kInf);
    hi = std::nextafter(hi, kInf);
    x.push_back(lo);
    x.push_back(hi);
  }
}

}  // namespace lowbit::test_data
