#include "tandem/io/half.h"

#include <cstring>

namespace tandem {

namespace {

template <float (*kToF32)(uint16_t)>
void widen(const void* src, float* dst, size_t n) {
  const auto* bytes = static_cast<const unsigned char*>(src);
  for (size_t i = 0; i < n; ++i) {
    uint16_t h;
    std::memcpy(&h, bytes + 2 * i, 2);
    dst[i] = kToF32(h);
  }
}

}  // namespace

void bf16_to_f32(const void* src, float* dst, size_t n) { widen<bf16_to_f32>(src, dst, n); }
void f16_to_f32(const void* src, float* dst, size_t n) { widen<f16_to_f32>(src, dst, n); }

void f32_to_bf16(const float* src, uint16_t* dst, size_t n) {
  for (size_t i = 0; i < n; ++i) dst[i] = f32_to_bf16(src[i]);
}
void f32_to_f16(const float* src, uint16_t* dst, size_t n) {
  for (size_t i = 0; i < n; ++i) dst[i] = f32_to_f16(src[i]);
}

}  // namespace tandem
