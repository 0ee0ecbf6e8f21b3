#pragma once
// The CUDA backend: one device, one non-blocking stream, one cuBLAS handle. Every op enqueues on
// the stream and returns; to_host() and the reductions wait. Each op family lives in its own .cu
// file (gemm, norm, rope, attention, activation, cross_entropy, optimizer, reduce) and defines
// its member functions there. This header is private to backend/cuda/: nothing outside includes
// CUDA headers.
#include <cublas_v2.h>
#include <cuda_runtime.h>

#include <cstddef>
#include <cstdint>

#include "tandem/backend/backend.h"

namespace tandem::cuda {

class CudaBackend final : public Backend {
 public:
  explicit CudaBackend(int device);
  ~CudaBackend() override;
  CudaBackend(const CudaBackend&) = delete;
  CudaBackend& operator=(const CudaBackend&) = delete;

  std::string name() const override { return "cuda"; }
  bool supports(Op) const override { return true; }  // the training half too

  void* alloc(size_t bytes) override;
  void release(void* ptr) override;
  void to_device(void* dst, const void* host_src, size_t bytes) override;
  void to_host(void* host_dst, const void* src, size_t bytes) override;
  void copy(void* dst, const void* src, size_t bytes) override;
  void fill(float* x, float value, size_t n) override;
  void synchronize() override;

  void gemm(bool tA, bool tB, int M, int N, int K, float alpha, const float* A, int lda,
            const float* B, int ldb, float beta, float* C, int ldc, int batch, int64_t sA,
            int64_t sB, int64_t sC) override;
  void add(float* y, const float* x, size_t n) override;

  void embedding_forward(float* out, const int32_t* ids, const float* table, int n, int C) override;
  void embedding_backward(float* dtable, const float* dout, const int32_t* ids, int n,
                          int C) override;
  void rmsnorm_forward(float* out, float* rstd, const float* x, const float* w, int n, int C,
                       float eps) override;
  void rmsnorm_backward(float* dx, float* dw, const float* dout, const float* x, const float* w,
                        const float* rstd, int n, int C) override;
  void rope_forward(float* x, const int32_t* pos, const float* cos_sin, int n, int H,
                    int D) override;
  void rope_backward(float* dx, const int32_t* pos, const float* cos_sin, int n, int H,
                     int D) override;
  void attention_forward(float* out, float* lse, const float* q, const float* k, const float* v,
                         const int32_t* pos, int B, int T, int Hq, int Hkv, int D,
                         float scale) override;
  void attention_backward(float* dq, float* dk, float* dv, const float* dout, const float* q,
                          const float* k, const float* v, const int32_t* pos, const float* out,
                          const float* lse, int B, int T, int Hq, int Hkv, int D,
                          float scale) override;
  void attention_decode(float* out, const float* q, const float* k_cache, const float* v_cache,
                        const int32_t* slot, const int32_t* lens, int n, int slots, int max_T,
                        int Hq, int Hkv, int D, float scale) override;
  void swiglu_forward(float* out, const float* gate, const float* up, size_t n) override;
  void swiglu_backward(float* dgate, float* dup, const float* dout, const float* gate,
                       const float* up, size_t n) override;
  void cross_entropy_forward(float* loss, float* entropy, const float* logits,
                             const int32_t* targets, int n, int V) override;
  void cross_entropy_backward(float* dlogits, const float* logits, const int32_t* targets,
                              const float* dloss, int n, int V) override;
  void adamw_step(float* p, const float* g, float* m, float* v, size_t n, float lr, float beta1,
                  float beta2, float eps, float weight_decay, float grad_scale,
                  int64_t step) override;
  double sum_squares(const float* x, size_t n) override;
  bool all_finite(const float* x, size_t n) override;

  cudaStream_t stream() const { return stream_; }
  int device() const { return device_; }
  // Largest dynamic shared memory one block may opt into on this device (bytes).
  size_t max_shared_per_block() const { return max_smem_optin_; }

  // Stream-ordered temporary device memory for one op (reduction partials, sort buffers).
  // Valid until the next call to scratch(); ops on the one stream never overlap, so reuse is
  // safe without waiting. Grows, never shrinks.
  void* scratch(size_t bytes);

 private:
  int device_ = 0;
  cudaStream_t stream_ = nullptr;
  cublasHandle_t blas_ = nullptr;
  size_t max_smem_optin_ = 0;
  void* scratch_ = nullptr;
  size_t scratch_bytes_ = 0;
};

}  // namespace tandem::cuda
