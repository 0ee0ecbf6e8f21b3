#pragma once
// 16-bit float formats <-> float32, bit-exact and portable (no compiler _Float16 / __bf16 needed):
// bf16 is the top half of an IEEE float32; f16 is IEEE binary16 (1 sign, 5 exponent, 10 mantissa
// bits). Narrowing rounds to nearest, ties to even, like hardware conversions and PyTorch's .to(),
// so files we export load bit-identically elsewhere. NaN stays NaN (made quiet), sign kept.
#include <bit>
#include <cstddef>
#include <cstdint>

namespace tandem {

inline float bf16_to_f32(uint16_t h) {
  return std::bit_cast<float>(uint32_t(h) << 16);
}

inline uint16_t f32_to_bf16(float f) {
  const uint32_t x = std::bit_cast<uint32_t>(f);
  if ((x & 0x7fffffffu) > 0x7f800000u) return uint16_t((x >> 16) | 0x0040u);  // NaN: keep it NaN
  // Adding 0x7fff plus the lowest kept bit rounds ties to even; a carry into the exponent is the
  // correct result (largest finite values round up to infinity).
  return uint16_t((x + 0x7fffu + ((x >> 16) & 1u)) >> 16);
}

inline float f16_to_f32(uint16_t h) {
  const uint32_t sign = uint32_t(h & 0x8000u) << 16;
  const uint32_t exp = (h >> 10) & 0x1fu, mant = h & 0x3ffu;
  if (exp == 0) {  // zero or subnormal: mant * 2^-24, exact in float32
    const float v = float(mant) * 0x1p-24f;
    return std::bit_cast<float>(std::bit_cast<uint32_t>(v) | sign);
  }
  if (exp == 31) return std::bit_cast<float>(sign | 0x7f800000u | (mant << 13));  // inf / NaN
  return std::bit_cast<float>(sign | ((exp + 112u) << 23) | (mant << 13));  // rebias 15 -> 127
}

inline uint16_t f32_to_f16(float f) {
  const uint32_t x = std::bit_cast<uint32_t>(f);
  const uint16_t sign = uint16_t((x >> 16) & 0x8000u);
  const uint32_t ax = x & 0x7fffffffu;
  if (ax > 0x7f800000u) return uint16_t(sign | 0x7e00u | ((ax >> 13) & 0x3ffu));  // NaN, quiet
  // 65520 is halfway between 65504 (largest f16) and 2^16; the tie goes to the even side, inf.
  if (ax >= 0x477ff000u) return uint16_t(sign | 0x7c00u);
  const uint32_t exp = ax >> 23;
  uint32_t h, rem, half;
  if (exp >= 113) {  // normal f16 (>= 2^-14): rebias the exponent, keep the top 10 mantissa bits
    h = (ax - (112u << 23)) >> 13;
    rem = ax & 0x1fffu;
    half = 0x1000u;
  } else {  // f16 subnormal: value / 2^-24, rounded; tiny values round to zero
    const uint32_t shift = 126 - exp;  // >= 14
    if (shift > 24) return sign;
    const uint32_t m = (ax & 0x7fffffu) | 0x800000u;
    h = m >> shift;
    rem = m & ((1u << shift) - 1);
    half = 1u << (shift - 1);
  }
  if (rem > half || (rem == half && (h & 1u))) ++h;  // a carry into the exponent is correct
  return uint16_t(sign | h);
}

// Whole arrays (io/half.cpp, compiled for speed in a layer compiled for size: src/CMakeLists.txt).
// A 16-bit source may sit at any byte offset: a file's tensor data need not be aligned for it.
void bf16_to_f32(const void* src, float* dst, size_t n);
void f16_to_f32(const void* src, float* dst, size_t n);
void f32_to_bf16(const float* src, uint16_t* dst, size_t n);
void f32_to_f16(const float* src, uint16_t* dst, size_t n);

}  // namespace tandem
