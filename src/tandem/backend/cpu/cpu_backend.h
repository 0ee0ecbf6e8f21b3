#pragma once
// The CPU backend: fp32 kernels on OpenMP threads, GEMM through OpenBLAS.
//
// Determinism (the contract in backend.h): every reduction has a fixed order that depends only on
// the problem size, never on the thread count or on where a row sits in a batch. Rows are the
// unit of parallel work, reductions across rows go through fixed-size chunks summed in order, and
// in-row reductions use fixed 16-lane accumulators (see vec.h) so pointer alignment cannot change
// how the compiler splits a sum.
// One class, its methods defined per op family: memory and factory in cpu_backend.cpp, then
// gemm.cpp (and gemm_invariant.cpp), embedding.cpp, norm.cpp, rope.cpp, attention.cpp,
// activation.cpp, cross_entropy.cpp, optimizer.cpp, reduce.cpp.
#include "tandem/backend/backend.h"

namespace tandem {

class CpuBackend final : public Backend {
 public:
  CpuBackend();
  std::string name() const override { return "cpu"; }
  bool supports(Op) const override { return true; }  // the training half too

  void* alloc(size_t bytes) override;
  void release(void* ptr) override;
  void to_device(void* dst, const void* host_src, size_t bytes) override;
  void to_host(void* host_dst, const void* src, size_t bytes) override;
  void copy(void* dst, const void* src, size_t bytes) override;
  void fill(float* x, float value, size_t n) override;
  void synchronize() override {}
  bool host_memory() const override { return true; }
  void set_threads(int threads) override;
  int threads() const override;
  // Batch-invariant mode (backend.h): GEMM goes through gemm_invariant.cpp instead of OpenBLAS;
  // every other kernel is row-independent already (the fixed reductions above).
  bool supports_batch_invariant() const override { return true; }
  void set_batch_invariant(bool on) override { batch_invariant_ = on; }
  bool batch_invariant() const override { return batch_invariant_; }

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

 private:
  bool batch_invariant_ = false;
};

}  // namespace tandem
