// SwiGLU: out = silu(gate) * up, with silu(g) = g * sigmoid(g).
#include "tandem/backend/cpu/cpu_backend.h"
#include "tandem/backend/cpu/vec.h"

namespace tandem {

namespace {
constexpr size_t kParallelMin = size_t(1) << 14;
inline float sigmoid(float g) {
  return 1.0f / (1.0f + cpu::exp_f(-g));
}
}  // namespace

// gate, up, out: (n)
void CpuBackend::swiglu_forward(float* out, const float* gate, const float* up, size_t n) {
#pragma omp parallel for schedule(static) if (n >= kParallelMin)
  for (size_t i = 0; i < n; ++i) out[i] = gate[i] * sigmoid(gate[i]) * up[i];
}

// dsilu/dg = s * (1 + g * (1 - s)) with s = sigmoid(g). dgate, dup: (n), overwritten.
void CpuBackend::swiglu_backward(float* dgate, float* dup, const float* dout, const float* gate,
                                 const float* up, size_t n) {
#pragma omp parallel for schedule(static) if (n >= kParallelMin)
  for (size_t i = 0; i < n; ++i) {
    const float g = gate[i], s = sigmoid(g), d = dout[i];
    dup[i] = d * g * s;
    dgate[i] = d * up[i] * s * (1.0f + g * (1.0f - s));
  }
}

}  // namespace tandem
