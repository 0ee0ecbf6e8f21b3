// Rotary position embedding (NEOX layout), forward rotation and its inverse for the backward.
#include "tandem/backend/cpu/cpu_backend.h"
#include "tandem/core/error.h"

namespace tandem {

namespace {
// x(n,H,D) rotated in place by +angle (sign = 1) or -angle (sign = -1); cos_sin(max_pos, D/2, 2).
void rotate(const char* op, float* x, const int32_t* pos, const float* cos_sin, int n, int H, int D,
            float sign) {
  TANDEM_CHECK(n >= 0 && H > 0 && D > 0, "[{}] bad sizes n={} H={} D={}", op, n, H, D);
  TANDEM_CHECK(D % 2 == 0, "[{}] head_dim must be even, got {}", op, D);
  for (int i = 0; i < n; ++i)
    TANDEM_CHECK(pos[i] >= 0, "[{}] pos[{}] = {} is negative", op, i, pos[i]);
  const int half = D / 2;
#pragma omp parallel for schedule(static) if (int64_t(n) * H * D >= (1 << 15))
  for (int i = 0; i < n; ++i) {
    const float* cs = cos_sin + int64_t(pos[i]) * half * 2;
    for (int h = 0; h < H; ++h) {
      float* x1 = x + (int64_t(i) * H + h) * D;
      float* x2 = x1 + half;
      for (int j = 0; j < half; ++j) {
        const float c = cs[2 * j], s = sign * cs[2 * j + 1];
        const float a = x1[j], b = x2[j];
        x1[j] = a * c - b * s;
        x2[j] = b * c + a * s;
      }
    }
  }
}
}  // namespace

void CpuBackend::rope_forward(float* x, const int32_t* pos, const float* cos_sin, int n, int H,
                              int D) {
  rotate("rope_forward", x, pos, cos_sin, n, H, D, 1.0f);
}

// The rotation is orthogonal, so its transpose (the gradient) is the rotation by -angle.
void CpuBackend::rope_backward(float* dx, const int32_t* pos, const float* cos_sin, int n, int H,
                               int D) {
  rotate("rope_backward", dx, pos, cos_sin, n, H, D, -1.0f);
}

}  // namespace tandem
