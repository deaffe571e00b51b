// Built against an installed lowbit: quantize, dequantize, and check the round trip.
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <vector>

#include <lowbit/lowbit.h>

int main() {
  const std::vector<float> x = {-1.0f, -0.25f, 0.0f, 0.5f, 1.0f};
  const auto p = lowbit::quant_params::per_tensor(lowbit::code_format::int8(), 1.0f / 127, 0);
  std::vector<std::int8_t> q(x.size());
  lowbit::quantize<std::int8_t>(x, p, q);
  std::vector<float> y(x.size());
  lowbit::dequantize<std::int8_t>(q, p, y);
  for (std::size_t i = 0; i < x.size(); ++i) {
    if (std::abs(y[i] - x[i]) > 0.5f / 127) return 1;
  }
  if (q[0] != -127 || q[4] != 127) return 2;
  std::printf("consumer ok: %s\n", lowbit::simd_target());
  return 0;
}
