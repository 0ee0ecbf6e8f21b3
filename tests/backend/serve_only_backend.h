#pragma once
// A backend that implements only the mandatory (serving) half of the interface, as a new chip
// would on its first day: it forwards those calls to another backend and leaves every optional
// op at the base class's default. That it compiles at all shows the training half is optional;
// the conformance suite runs on it to show an inference-only backend passes what it implements.
#include <memory>
#include <string>
#include <utility>

#include "tandem/backend/backend.h"

namespace tandem::test {

class ServeOnlyBackend : public Backend {
 public:
  explicit ServeOnlyBackend(std::unique_ptr<Backend> inner) : in_(std::move(inner)) {}
  std::string name() const override { return "serve_only"; }

  void* alloc(size_t bytes) override { return in_->alloc(bytes); }
  void release(void* ptr) override { in_->release(ptr); }
  void to_device(void* dst, const void* src, size_t bytes) override {
    in_->to_device(dst, src, bytes);
  }
  void to_host(void* dst, const void* src, size_t bytes) override { in_->to_host(dst, src, bytes); }
  void copy(void* dst, const void* src, size_t bytes) override { in_->copy(dst, src, bytes); }
  void fill(float* x, float value, size_t n) override { in_->fill(x, value, n); }
  void synchronize() override { in_->synchronize(); }

  void gemm(bool tA, bool tB, int M, int N, int K, float alpha, const float* A, int lda,
            const float* B, int ldb, float beta, float* C, int ldc, int batch, int64_t sA,
            int64_t sB, int64_t sC) override {
    in_->gemm(tA, tB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, batch, sA, sB, sC);
  }
  void add(float* y, const float* x, size_t n) override { in_->add(y, x, n); }
  void embedding_forward(float* out, const int32_t* ids, const float* table, int n,
                         int C) override {
    in_->embedding_forward(out, ids, table, n, C);
  }
  void rmsnorm_forward(float* out, float* rstd, const float* x, const float* w, int n, int C,
                       float eps) override {
    in_->rmsnorm_forward(out, rstd, x, w, n, C, eps);
  }
  void rope_forward(float* x, const int32_t* pos, const float* cos_sin, int n, int H,
                    int D) override {
    in_->rope_forward(x, pos, cos_sin, n, H, D);
  }
  void attention_forward(float* out, float* lse, const float* q, const float* k, const float* v,
                         const int32_t* pos, int B, int T, int Hq, int Hkv, int D,
                         float scale) override {
    in_->attention_forward(out, lse, q, k, v, pos, B, T, Hq, Hkv, D, scale);
  }
  void attention_decode(float* out, const float* q, const float* k_cache, const float* v_cache,
                        const int32_t* slot, const int32_t* lens, int n, int slots, int max_T,
                        int Hq, int Hkv, int D, float scale) override {
    in_->attention_decode(out, q, k_cache, v_cache, slot, lens, n, slots, max_T, Hq, Hkv, D, scale);
  }
  void swiglu_forward(float* out, const float* gate, const float* up, size_t n) override {
    in_->swiglu_forward(out, gate, up, n);
  }
  void cross_entropy_forward(float* loss, float* entropy, const float* logits,
                             const int32_t* targets, int n, int V) override {
    in_->cross_entropy_forward(loss, entropy, logits, targets, n, V);
  }
  double sum_squares(const float* x, size_t n) override { return in_->sum_squares(x, n); }
  bool all_finite(const float* x, size_t n) override { return in_->all_finite(x, n); }

 protected:
  Backend& inner() { return *in_; }

 private:
  std::unique_ptr<Backend> in_;
};

}  // namespace tandem::test
