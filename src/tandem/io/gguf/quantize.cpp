#include "tandem/io/gguf/quantize.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "tandem/core/error.h"
#include "tandem/io/half.h"

namespace tandem::gguf {
namespace {

// Float -> integer without undefined behaviour for NaN or out-of-range values (which ggml's
// plain casts would hit only on non-finite weights; export rejects those before getting here).
int clamp_to_int(float x, int lo, int hi) {
  if (!(x >= float(lo))) return x != x ? 0 : lo;
  if (!(x <= float(hi))) return hi;
  return int(x);
}

void check_blocks(int64_t n, const char* what) {
  TANDEM_CHECK(n >= 0 && n % kBlock == 0, "gguf: {}: {} elements are not whole blocks of {}", what,
               n, kBlock);
}

void put_f16(uint8_t* p, float d) {
  const uint16_t h = f32_to_f16(d);
  std::memcpy(p, &h, 2);
}

float get_f16(const uint8_t* p) {
  uint16_t h = 0;
  std::memcpy(&h, p, 2);
  return f16_to_f32(h);
}

}  // namespace

void quantize_q8_0(const float* src, int64_t n, void* dst) {
  check_blocks(n, "Q8_0");
  auto* out = static_cast<uint8_t*>(dst);
  for (int64_t b = 0; b < n / kBlock; ++b, src += kBlock, out += 34) {
    float amax = 0.0f;
    for (int j = 0; j < kBlock; ++j) amax = std::max(amax, std::fabs(src[j]));
    const float d = amax / 127.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    put_f16(out, d);
    for (int j = 0; j < kBlock; ++j) {
      out[2 + j] = uint8_t(int8_t(clamp_to_int(std::round(src[j] * id), -128, 127)));
    }
  }
}

void quantize_q4_0(const float* src, int64_t n, void* dst) {
  check_blocks(n, "Q4_0");
  auto* out = static_cast<uint8_t*>(dst);
  for (int64_t b = 0; b < n / kBlock; ++b, src += kBlock, out += 18) {
    // The scale maps the element of largest magnitude to -8 exactly, so the 16 levels cover
    // [-8d, 7d] with that extreme on the side that has the extra level. First one wins ties.
    float amax = 0.0f, m = 0.0f;
    for (int j = 0; j < kBlock; ++j) {
      if (amax < std::fabs(src[j])) {
        amax = std::fabs(src[j]);
        m = src[j];
      }
    }
    const float d = m / -8.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    put_f16(out, d);
    for (int j = 0; j < kBlock / 2; ++j) {
      // + 8.5 then truncation toward zero: round to nearest with the offset of 8 folded in.
      const int lo = std::min(15, clamp_to_int(src[j] * id + 8.5f, -128, 127));
      const int hi = std::min(15, clamp_to_int(src[j + kBlock / 2] * id + 8.5f, -128, 127));
      out[2 + j] = uint8_t((lo & 0xf) | ((hi & 0xf) << 4));
    }
  }
}

void dequantize_q8_0(const void* src, int64_t n, float* dst) {
  check_blocks(n, "Q8_0");
  const auto* in = static_cast<const uint8_t*>(src);
  for (int64_t b = 0; b < n / kBlock; ++b, in += 34, dst += kBlock) {
    const float d = get_f16(in);
    for (int j = 0; j < kBlock; ++j) dst[j] = float(int8_t(in[2 + j])) * d;
  }
}

void dequantize_q4_0(const void* src, int64_t n, float* dst) {
  check_blocks(n, "Q4_0");
  const auto* in = static_cast<const uint8_t*>(src);
  for (int64_t b = 0; b < n / kBlock; ++b, in += 18, dst += kBlock) {
    const float d = get_f16(in);
    for (int j = 0; j < kBlock / 2; ++j) {
      dst[j] = float(int(in[2 + j] & 0xf) - 8) * d;
      dst[j + kBlock / 2] = float(int(in[2 + j] >> 4) - 8) * d;
    }
  }
}

void encode_tensor(TensorType type, const float* src, int64_t n, void* dst) {
  switch (type) {
    case TensorType::F32:
      if (n > 0) std::memcpy(dst, src, size_t(n) * 4);
      return;
    case TensorType::F16:
      f32_to_f16(src, static_cast<uint16_t*>(dst), size_t(n));
      return;
    case TensorType::BF16:
      f32_to_bf16(src, static_cast<uint16_t*>(dst), size_t(n));
      return;
    case TensorType::Q8_0:
      return quantize_q8_0(src, n, dst);
    case TensorType::Q4_0:
      return quantize_q4_0(src, n, dst);
  }
  fail("gguf: cannot encode tensor type {}", uint32_t(type));
}

void decode_tensor(TensorType type, const void* src, int64_t n, float* dst) {
  switch (type) {
    case TensorType::F32:
      if (n > 0) std::memcpy(dst, src, size_t(n) * 4);
      return;
    case TensorType::F16:  // src may sit at any offset a file's alignment allows
      f16_to_f32(src, dst, size_t(n));
      return;
    case TensorType::BF16:
      bf16_to_f32(src, dst, size_t(n));
      return;
    case TensorType::Q8_0:
      return dequantize_q8_0(src, n, dst);
    case TensorType::Q4_0:
      return dequantize_q4_0(src, n, dst);
  }
  fail("gguf: cannot decode tensor type {}", uint32_t(type));
}

}  // namespace tandem::gguf
