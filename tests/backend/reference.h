#pragma once
// Slow, obviously-correct references for every kernel of backend.h: plain loops in double, no
// blocking, no online softmax, (T,T) matrices materialised. They are the oracle of the
// conformance suite, and are themselves checked against finite differences (reference_test.cpp).
// Shapes follow backend.h; everything is double (inputs are the fp32 values the device saw,
// widened), so finite differences of a forward can check its backward.
#include <cstdint>
#include <vector>

namespace tandem::ref {

using Vec = std::vector<double>;
using FVec = std::vector<float>;
using IVec = std::vector<int32_t>;

// C(M,N) = alpha * op(A) op(B) + beta * C, row-major with leading dimensions; C in/out.
void gemm(bool tA, bool tB, int M, int N, int K, double alpha, const Vec& A, int lda, const Vec& B,
          int ldb, double beta, Vec& C, int ldc);

// out(n,C) = table(V,C)[ids]; dtable(V,C) += dout rows at ids.
Vec embedding_forward(const IVec& ids, const Vec& table, int n, int C);
void embedding_backward(Vec& dtable, const Vec& dout, const IVec& ids, int n, int C);

// x(n,C), w(C) -> out(n,C), rstd(n).
void rmsnorm_forward(Vec& out, Vec& rstd, const Vec& x, const Vec& w, int n, int C, double eps);
// Recomputes rstd from x. dx(n,C) overwritten; dw(C) accumulated.
void rmsnorm_backward(Vec& dx, Vec& dw, const Vec& dout, const Vec& x, const Vec& w, int n, int C,
                      double eps);

// x(n,H,D), NEOX pairs (j, j + D/2), cos_sin(max_pos, D/2, 2). inverse = true rotates by -angle.
Vec rope(const Vec& x, const IVec& pos, const Vec& cos_sin, int n, int H, int D, bool inverse);

// q(B,T,Hq,D), k, v(B,T,Hkv,D) -> out(B,T,Hq,D), lse(B,Hq,T). pos(B,T) empty: causal over the
// row; else row t sees keys [t - pos[t], t] (packed documents).
void attention_forward(Vec& out, Vec& lse, const Vec& q, const Vec& k, const Vec& v,
                       const IVec& pos, int B, int T, int Hq, int Hkv, int D, double scale);
// Straight from the probability matrix (no lse trick): dq(B,T,Hq,D), dk, dv(B,T,Hkv,D).
void attention_backward(Vec& dq, Vec& dk, Vec& dv, const Vec& dout, const Vec& q, const Vec& k,
                        const Vec& v, const IVec& pos, int B, int T, int Hq, int Hkv, int D,
                        double scale);
// q(n,Hq,D), caches (slots,max_T,Hkv,D), slot(n) (empty: row b reads slot b), lens(n)
// -> out(n,Hq,D): row b attends to positions [0, lens[b]) of its slot's cache.
Vec attention_decode(const Vec& q, const Vec& k_cache, const Vec& v_cache, const IVec& slot,
                     const IVec& lens, int n, int max_T, int Hq, int Hkv, int D, double scale);

Vec swiglu_forward(const Vec& gate, const Vec& up);
void swiglu_backward(Vec& dgate, Vec& dup, const Vec& dout, const Vec& gate, const Vec& up);

// logits(n,V), targets(n) -> loss(n), entropy(n); dlogits(n,V).
void cross_entropy_forward(Vec& loss, Vec& entropy, const Vec& logits, const IVec& targets, int n,
                           int V);
Vec cross_entropy_backward(const Vec& logits, const IVec& targets, const Vec& dloss, int n, int V);

// One AdamW step (torch.optim.AdamW), all in double; p, m, v in/out.
void adamw_step(Vec& p, const Vec& g, Vec& m, Vec& v, double lr, double beta1, double beta2,
                double eps, double weight_decay, double grad_scale, int64_t step);

double sum_squares(const Vec& x);

}  // namespace tandem::ref
