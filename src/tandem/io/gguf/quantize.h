#pragma once
// Tensor data encodings of GGUF: float32 <-> F32, F16, BF16 and the block quantizations Q8_0 and
// Q4_0 (32 elements per block, an f16 scale d first). Quantization follows ggml's reference
// quantizers (quantize_row_q8_0_ref / _q4_0_ref, what llama.cpp's converter and llama-quantize
// write), so a file we write holds the bytes llama.cpp would have written for the same floats:
//   Q8_0: d = amax / 127, q = round_half_away(x / d)            in [-127, 127]; x' = q * d
//   Q4_0: d = m / -8 (m the value of largest magnitude, sign kept),
//         q = min(15, trunc(x / d + 8.5)) in [0, 15]; x' = (q - 8) * d
//         block bytes: element j in the low nibble of byte j, element j + 16 in its high nibble.
// The scale used to quantize is the float32 d; the file stores it rounded to f16 (as ggml does).
#include <cstddef>
#include <cstdint>

#include "tandem/io/gguf/gguf_format.h"

namespace tandem::gguf {

inline constexpr int64_t kBlock = 32;  // QK8_0 == QK4_0

// n must be a multiple of 32; dst holds n / 32 blocks.
void quantize_q8_0(const float* src, int64_t n, void* dst);
void quantize_q4_0(const float* src, int64_t n, void* dst);
void dequantize_q8_0(const void* src, int64_t n, float* dst);
void dequantize_q4_0(const void* src, int64_t n, float* dst);

// Any supported type: dst holds tensor_bytes(type, n) bytes.
void encode_tensor(TensorType type, const float* src, int64_t n, void* dst);
void decode_tensor(TensorType type, const void* src, int64_t n, float* dst);

}  // namespace tandem::gguf
