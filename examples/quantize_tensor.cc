// The ten lines a user needs: per-channel int8 quantization of a [4, 8] weight, and its error.
#include <cstdio>
#include <vector>

#include <lowbit/lowbit.h>

int main() {
  const std::vector<std::int64_t> shape = {4, 8};  // [out_channels, in_features]
  std::vector<float> w(32);
  for (std::size_t i = 0; i < w.size(); ++i) w[i] = 0.01f * static_cast<float>(i % 8) * (i < 8 ? 10.0f : 1.0f) - 0.02f;
  const std::vector<float> scales = {0.7f / 127, 0.07f / 127, 0.07f / 127, 0.07f / 127};  // max |w| per row / 127
  const auto params = lowbit::quant_params::per_channel(lowbit::code_format::int8(true), shape, 0, scales);
  std::vector<std::int8_t> q(w.size());
  lowbit::quantize<std::int8_t>(w, params, q);  // onnx numerics: round(w / scale) half to even, saturate
  const lowbit::uniform_quantizer<std::int8_t> quantizer(params);
  const lowbit::error_stats e = lowbit::measure_error(quantizer, std::span<const float>(w));
  std::printf("q[7] = %d, MSE %.3g, SQNR %.1f dB, max |error| %.3g (kernels: %s)\n", q[7], e.mse, e.sqnr_db,
              e.max_abs_error, lowbit::simd_target());
}
