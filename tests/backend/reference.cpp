#include "reference.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace tandem::ref {

void gemm(bool tA, bool tB, int M, int N, int K, double alpha, const Vec& A, int lda, const Vec& B,
          int ldb, double beta, Vec& C, int ldc) {
  for (int i = 0; i < M; ++i)
    for (int j = 0; j < N; ++j) {
      double acc = 0;
      for (int p = 0; p < K; ++p) {
        const double a = tA ? A[size_t(p) * lda + i] : A[size_t(i) * lda + p];
        const double b = tB ? B[size_t(j) * ldb + p] : B[size_t(p) * ldb + j];
        acc += a * b;
      }
      double& c = C[size_t(i) * ldc + j];
      c = alpha * acc + (beta == 0 ? 0.0 : beta * c);
    }
}

Vec embedding_forward(const IVec& ids, const Vec& table, int n, int C) {
  Vec out(size_t(n) * C);
  for (int i = 0; i < n; ++i)
    for (int c = 0; c < C; ++c) out[size_t(i) * C + c] = table[size_t(ids[i]) * C + c];
  return out;
}

void embedding_backward(Vec& dtable, const Vec& dout, const IVec& ids, int n, int C) {
  for (int i = 0; i < n; ++i)
    for (int c = 0; c < C; ++c) dtable[size_t(ids[i]) * C + c] += dout[size_t(i) * C + c];
}

void rmsnorm_forward(Vec& out, Vec& rstd, const Vec& x, const Vec& w, int n, int C, double eps) {
  out.assign(size_t(n) * C, 0);
  rstd.assign(n, 0);
  for (int i = 0; i < n; ++i) {
    double ms = 0;
    for (int c = 0; c < C; ++c) ms += double(x[size_t(i) * C + c]) * x[size_t(i) * C + c];
    const double r = 1.0 / std::sqrt(ms / C + eps);
    rstd[i] = r;
    for (int c = 0; c < C; ++c) out[size_t(i) * C + c] = x[size_t(i) * C + c] * r * w[c];
  }
}

void rmsnorm_backward(Vec& dx, Vec& dw, const Vec& dout, const Vec& x, const Vec& w, int n, int C,
                      double eps) {
  dx.assign(size_t(n) * C, 0);
  for (int i = 0; i < n; ++i) {
    const double* xi = x.data() + size_t(i) * C;
    const double* gi = dout.data() + size_t(i) * C;
    double ms = 0, gwx = 0;
    for (int c = 0; c < C; ++c) ms += double(xi[c]) * xi[c], gwx += double(gi[c]) * w[c] * xi[c];
    const double r = 1.0 / std::sqrt(ms / C + eps);
    for (int c = 0; c < C; ++c) {
      // d/dx_c of sum_k g_k w_k x_k r:  r g_c w_c  +  (sum_k g_k w_k x_k) * dr/dx_c,
      // with dr/dx_c = -r^3 x_c / C.
      dx[size_t(i) * C + c] = r * gi[c] * w[c] - gwx * r * r * r * xi[c] / C;
      dw[c] += double(gi[c]) * xi[c] * r;
    }
  }
}

Vec rope(const Vec& x, const IVec& pos, const Vec& cos_sin, int n, int H, int D, bool inverse) {
  Vec out(x.begin(), x.end());
  const int half = D / 2;
  for (int i = 0; i < n; ++i)
    for (int h = 0; h < H; ++h)
      for (int j = 0; j < half; ++j) {
        const size_t cs = (size_t(pos[i]) * half + j) * 2;
        const double c = cos_sin[cs], s = inverse ? -double(cos_sin[cs + 1]) : cos_sin[cs + 1];
        const size_t a = (size_t(i) * H + h) * D + j, b = a + half;
        out[a] = double(x[a]) * c - double(x[b]) * s;
        out[b] = double(x[b]) * c + double(x[a]) * s;
      }
  return out;
}

namespace {
// Row-major (B,T,H,D) index.
size_t at(int b, int t, int h, int d, int T, int H, int D) {
  return ((size_t(b) * T + t) * H + h) * D + d;
}
// First key row i of sequence b sees: the start of its document (pos empty: 0).
int first_key(const IVec& pos, int b, int i, int T) {
  return pos.empty() ? 0 : i - pos[size_t(b) * T + i];
}
// P(T,T) of one (b,h): causal softmax of scale * q k^T, zero above the diagonal and, with pos,
// left of each row's document start.
Vec probabilities(const Vec& q, const Vec& k, const IVec& pos, int b, int h, int T, int Hq, int Hkv,
                  int D, double scale, Vec* lse) {
  const int hk = h / (Hq / Hkv);
  Vec P(size_t(T) * T, 0.0);
  for (int i = 0; i < T; ++i) {
    const int j0 = first_key(pos, b, i, T);
    double mx = -std::numeric_limits<double>::infinity();
    for (int j = j0; j <= i; ++j) {
      double s = 0;
      for (int d = 0; d < D; ++d)
        s += double(q[at(b, i, h, d, T, Hq, D)]) * k[at(b, j, hk, d, T, Hkv, D)];
      P[size_t(i) * T + j] = s * scale;
      mx = std::max(mx, s * scale);
    }
    double z = 0;
    for (int j = j0; j <= i; ++j) z += std::exp(P[size_t(i) * T + j] - mx);
    for (int j = j0; j <= i; ++j) P[size_t(i) * T + j] = std::exp(P[size_t(i) * T + j] - mx) / z;
    if (lse) (*lse)[(size_t(b) * Hq + h) * T + i] = mx + std::log(z);
  }
  return P;
}
}  // namespace

void attention_forward(Vec& out, Vec& lse, const Vec& q, const Vec& k, const Vec& v,
                       const IVec& pos, int B, int T, int Hq, int Hkv, int D, double scale) {
  out.assign(size_t(B) * T * Hq * D, 0);
  lse.assign(size_t(B) * Hq * T, 0);
  for (int b = 0; b < B; ++b)
    for (int h = 0; h < Hq; ++h) {
      const int hk = h / (Hq / Hkv);
      const Vec P = probabilities(q, k, pos, b, h, T, Hq, Hkv, D, scale, &lse);
      for (int i = 0; i < T; ++i)
        for (int d = 0; d < D; ++d) {
          double acc = 0;
          for (int j = 0; j <= i; ++j) acc += P[size_t(i) * T + j] * v[at(b, j, hk, d, T, Hkv, D)];
          out[at(b, i, h, d, T, Hq, D)] = acc;
        }
    }
}

void attention_backward(Vec& dq, Vec& dk, Vec& dv, const Vec& dout, const Vec& q, const Vec& k,
                        const Vec& v, const IVec& pos, int B, int T, int Hq, int Hkv, int D,
                        double scale) {
  dq.assign(size_t(B) * T * Hq * D, 0);
  dk.assign(size_t(B) * T * Hkv * D, 0);
  dv.assign(size_t(B) * T * Hkv * D, 0);
  for (int b = 0; b < B; ++b)
    for (int h = 0; h < Hq; ++h) {
      const int hk = h / (Hq / Hkv);
      const Vec P = probabilities(q, k, pos, b, h, T, Hq, Hkv, D, scale, nullptr);
      for (int i = 0; i < T; ++i) {
        // dP_ij = dout_i . v_j;  dS_ij = P_ij (dP_ij - sum_k P_ik dP_ik)  (softmax Jacobian).
        Vec dP(i + 1);
        double row = 0;
        for (int j = 0; j <= i; ++j) {
          double s = 0;
          for (int d = 0; d < D; ++d)
            s += double(dout[at(b, i, h, d, T, Hq, D)]) * v[at(b, j, hk, d, T, Hkv, D)];
          dP[j] = s;
          row += P[size_t(i) * T + j] * s;
        }
        for (int j = 0; j <= i; ++j) {
          const double p = P[size_t(i) * T + j], ds = p * (dP[j] - row) * scale;
          for (int d = 0; d < D; ++d) {
            dv[at(b, j, hk, d, T, Hkv, D)] += p * dout[at(b, i, h, d, T, Hq, D)];
            dq[at(b, i, h, d, T, Hq, D)] += ds * k[at(b, j, hk, d, T, Hkv, D)];
            dk[at(b, j, hk, d, T, Hkv, D)] += ds * q[at(b, i, h, d, T, Hq, D)];
          }
        }
      }
    }
}

Vec attention_decode(const Vec& q, const Vec& k_cache, const Vec& v_cache, const IVec& slot,
                     const IVec& lens, int B, int max_T, int Hq, int Hkv, int D, double scale) {
  Vec out(size_t(B) * Hq * D, 0);
  for (int b = 0; b < B; ++b)
    for (int h = 0; h < Hq; ++h) {
      const int hk = h / (Hq / Hkv), len = lens[b], c = slot.empty() ? b : slot[b];
      Vec s(len);
      double mx = -std::numeric_limits<double>::infinity(), z = 0;
      for (int j = 0; j < len; ++j) {
        double acc = 0;
        for (int d = 0; d < D; ++d)
          acc += double(q[(size_t(b) * Hq + h) * D + d]) * k_cache[at(c, j, hk, d, max_T, Hkv, D)];
        s[j] = acc * scale;
        mx = std::max(mx, s[j]);
      }
      for (int j = 0; j < len; ++j) z += std::exp(s[j] - mx);
      for (int d = 0; d < D; ++d) {
        double acc = 0;
        for (int j = 0; j < len; ++j)
          acc += std::exp(s[j] - mx) / z * v_cache[at(c, j, hk, d, max_T, Hkv, D)];
        out[(size_t(b) * Hq + h) * D + d] = acc;
      }
    }
  return out;
}

Vec swiglu_forward(const Vec& gate, const Vec& up) {
  Vec out(gate.size());
  for (size_t i = 0; i < gate.size(); ++i) {
    const double g = gate[i];
    out[i] = g / (1.0 + std::exp(-g)) * up[i];
  }
  return out;
}

void swiglu_backward(Vec& dgate, Vec& dup, const Vec& dout, const Vec& gate, const Vec& up) {
  dgate.assign(gate.size(), 0);
  dup.assign(gate.size(), 0);
  for (size_t i = 0; i < gate.size(); ++i) {
    const double g = gate[i], s = 1.0 / (1.0 + std::exp(-g));
    dup[i] = dout[i] * g * s;
    dgate[i] = dout[i] * up[i] * (s + g * s * (1.0 - s));
  }
}

void cross_entropy_forward(Vec& loss, Vec& entropy, const Vec& logits, const IVec& targets, int n,
                           int V) {
  loss.assign(n, 0);
  entropy.assign(n, 0);
  for (int i = 0; i < n; ++i) {
    const double* x = logits.data() + size_t(i) * V;
    const double mx = *std::max_element(x, x + V);
    double z = 0;
    for (int j = 0; j < V; ++j) z += std::exp(x[j] - mx);
    const double log_z = mx + std::log(z);
    double h = 0;
    for (int j = 0; j < V; ++j) {
      const double logp = x[j] - log_z;
      h -= std::exp(logp) * logp;
    }
    entropy[i] = h;
    loss[i] = targets[i] < 0 ? 0.0 : log_z - x[targets[i]];
  }
}

Vec cross_entropy_backward(const Vec& logits, const IVec& targets, const Vec& dloss, int n, int V) {
  Vec d(size_t(n) * V, 0);
  for (int i = 0; i < n; ++i) {
    if (targets[i] < 0) continue;
    const double* x = logits.data() + size_t(i) * V;
    const double mx = *std::max_element(x, x + V);
    double z = 0;
    for (int j = 0; j < V; ++j) z += std::exp(x[j] - mx);
    for (int j = 0; j < V; ++j)
      d[size_t(i) * V + j] = dloss[i] * (std::exp(x[j] - mx) / z - (j == targets[i] ? 1.0 : 0.0));
  }
  return d;
}

void adamw_step(Vec& p, const Vec& g, Vec& m, Vec& v, double lr, double beta1, double beta2,
                double eps, double weight_decay, double grad_scale, int64_t step) {
  const double bc1 = 1 - std::pow(beta1, double(step)), bc2 = 1 - std::pow(beta2, double(step));
  for (size_t i = 0; i < p.size(); ++i) {
    const double gi = double(g[i]) * grad_scale;
    m[i] = beta1 * m[i] + (1 - beta1) * gi;
    v[i] = beta2 * v[i] + (1 - beta2) * gi * gi;
    p[i] *= 1 - lr * weight_decay;
    p[i] -= lr / bc1 * m[i] / (std::sqrt(v[i] / bc2) + eps);
  }
}

double sum_squares(const Vec& x) {
  double s = 0;
  for (double f : x) s += double(f) * f;
  return s;
}

}  // namespace tandem::ref
