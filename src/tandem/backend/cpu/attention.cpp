// Causal grouped-query attention, flash-style: keys in blocks of kBk, an online softmax per query
// row, nothing of size (T,T) ever stored. The forward keeps lse(B,Hq,T); the backward recomputes
// the probabilities from it and uses D_i = rowsum(dout_i * out_i).
//
// Packed rows (pos given): row t sees keys [t - pos[t], t], its own document; a key block outside
// that range is skipped, and one it straddles is masked, so an unpacked row (pos null, or pos[t] =
// t) takes exactly the steps it always did.
//
// Bit-exactness between paths: a query row's result is computed by the same per-row steps
// (score_block, softmax_update) over the same key blocks [0,64), [64,128), ... whether it comes
// from attention_forward (any batch, any block of rows) or attention_decode. So a rollout that
// decodes token by token gets exactly the bits the trainer's forward computes.
#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "tandem/backend/cpu/cpu_backend.h"
#include "tandem/backend/cpu/vec.h"
#include "tandem/core/error.h"

namespace tandem {

namespace {

constexpr int kBk = 64;  // keys per block: 4 AVX-512 registers of scores per row
constexpr int kBq = 32;  // query rows per forward task
constexpr int kDc = 32;  // head-dimension columns per backward pass over a block's keys
constexpr float kNegInf = -std::numeric_limits<float>::infinity();

void check_sizes(const char* op, int B, int T, int Hq, int Hkv, int D) {
  TANDEM_CHECK(B >= 0 && T >= 0 && Hq > 0 && Hkv > 0 && D > 0,
               "[{}] bad sizes B={} T={} Hq={} Hkv={} D={}", op, B, T, Hq, Hkv, D);
  TANDEM_CHECK(Hq % Hkv == 0, "[{}] Hq={} must be a multiple of Hkv={}", op, Hq, Hkv);
}

// kt(D, kBk) <- rows [0, nk) of x (row stride `stride` floats), transposed; columns >= nk zeroed.
void transpose_block(float* kt, const float* x, int64_t stride, int nk, int D) {
  for (int j = 0; j < nk; ++j) {
    const float* xj = x + j * stride;
    for (int d = 0; d < D; ++d) kt[d * kBk + j] = xj[d];
  }
  for (int d = 0; d < D; ++d)
    for (int j = nk; j < kBk; ++j) kt[d * kBk + j] = 0.0f;
}

// s(kBk) = q(D) . kt(D, kBk): each score a sum over d in increasing order.
inline void score_block(float* s, const float* q, const float* kt, int D) {
  float acc[kBk] = {};
  for (int d = 0; d < D; ++d) {
    const float qd = q[d];
    const float* row = kt + d * kBk;
    for (int j = 0; j < kBk; ++j) acc[j] += qd * row[j];
  }
  for (int j = 0; j < kBk; ++j) s[j] = acc[j];
}

// First key row t of a sequence may see: the start of its document.
inline int first_key(const int32_t* pos, int t) {
  return pos ? t - pos[t] : 0;
}

// pos(B,T) must describe contiguous documents: pos[t] in [0, t], each 0 or its predecessor + 1.
void check_documents(const char* op, const int32_t* pos, int B, int T) {
  if (!pos) return;
  for (int b = 0; b < B; ++b)
    for (int t = 0; t < T; ++t) {
      const int32_t p = pos[int64_t(b) * T + t];
      TANDEM_CHECK(p == 0 || (t > 0 && p == pos[int64_t(b) * T + t - 1] + 1),
                   "[{}] pos[{}][{}] = {}: a document's positions must count 0, 1, 2, ... (the "
                   "previous is {})",
                   op, b, t, p, t > 0 ? pos[int64_t(b) * T + t - 1] : -1);
    }
}

// One query row meets one key block: raw scores s(kBk) of which those in [lo, hi) count, values
// v (rows of `vstride` floats). Updates the running max m, sum l and unnormalised output o(D).
inline void softmax_update(float* s, int lo, int hi, float scale, float& m, float& l, float* o,
                           const float* v, int64_t vstride, int D) {
  for (int j = 0; j < kBk; ++j) s[j] = j >= lo && j < hi ? s[j] * scale : kNegInf;
  const float m_new = std::max(m, cpu::max_f(s, kBk));
  const float alpha = cpu::exp_f(m - m_new);  // 0 on the first block (m = -inf)
  float psum[cpu::kLanes] = {};
  for (int j = 0; j < kBk; j += cpu::kLanes)
    for (int t = 0; t < cpu::kLanes; ++t) {
      const float p = cpu::exp_f(s[j + t] - m_new);
      s[j + t] = p;
      psum[t] += p;
    }
  l = l * alpha + cpu::reduce_lanes(psum);
  m = m_new;
  for (int d = 0; d < D; ++d) o[d] *= alpha;
  for (int j = lo; j < hi; ++j) {
    const float p = s[j];
    const float* vj = v + j * vstride;
    for (int d = 0; d < D; ++d) o[d] += p * vj[d];
  }
}

// One query row's share of the backward over keys [lo, hi) of a block, columns [0, n) of a
// column chunk (n = kN when kN > 0): dv_j += p_j do, dk_j += ds_j q (rows of stride D in the
// block buffers), dq += ds_j k_j (k rows of stride kstride), j in increasing order.
template <int kN>
inline void accumulate_grads(float* dv, float* dk, float* dq, const float* k, int64_t kstride,
                             const float* dout, const float* q, const float* p, const float* ds,
                             int lo, int hi, int D, int n = kN) {
  if constexpr (kN > 0) n = kN;
  float acc[kN > 0 ? kN : kDc];
  for (int d = 0; d < n; ++d) acc[d] = dq[d];
  for (int j = lo; j < hi; ++j) {
    const float pj = p[j], dsj = ds[j];
    float* dvj = dv + j * D;
    float* dkj = dk + j * D;
    const float* kj = k + j * kstride;
    for (int d = 0; d < n; ++d) {
      dvj[d] += pj * dout[d];
      dkj[d] += dsj * q[d];
      acc[d] += dsj * kj[d];
    }
  }
  for (int d = 0; d < n; ++d) dq[d] = acc[d];
}

// out_row(D) = o / l, lse = m + log l (0 and -inf for a row that saw no key).
inline void finish_row(float* out, float* lse, const float* o, float m, float l, int D) {
  const float inv = l > 0.0f ? 1.0f / l : 0.0f;
  for (int d = 0; d < D; ++d) out[d] = o[d] * inv;
  if (lse) *lse = l > 0.0f ? m + std::log(l) : kNegInf;
}

}  // namespace

// q(B,T,Hq,D), k, v(B,T,Hkv,D) -> out(B,T,Hq,D), lse(B,Hq,T).
void CpuBackend::attention_forward(float* out, float* lse, const float* q, const float* k,
                                   const float* v, const int32_t* pos, int B, int T, int Hq,
                                   int Hkv, int D, float scale) {
  check_sizes("attention_forward", B, T, Hq, Hkv, D);
  check_documents("attention_forward", pos, B, T);
  const int group = Hq / Hkv;
  const int q_blocks = (T + kBq - 1) / kBq;
  const int64_t tasks = int64_t(B) * Hq * q_blocks;
  const int64_t qs = int64_t(Hq) * D, ks = int64_t(Hkv) * D;  // row strides over t
#pragma omp parallel if (tasks > 1)
  {
    std::vector<float> kt(size_t(D) * kBk), o(size_t(kBq) * D), s(kBk);
    float m[kBq], l[kBq];
#pragma omp for schedule(static, 1)
    for (int64_t task = 0; task < tasks; ++task) {
      // Later query blocks hold more work (causal); round-robin spreads them.
      const int qb = int(task % q_blocks);
      const int h = int(task / q_blocks % Hq), b = int(task / q_blocks / Hq);
      const int hk = h / group;
      const int i0 = qb * kBq, i1 = std::min(T, i0 + kBq), nq = i1 - i0;
      const float* qh = q + int64_t(b) * T * qs + int64_t(h) * D;
      const float* kh = k + int64_t(b) * T * ks + int64_t(hk) * D;
      const float* vh = v + int64_t(b) * T * ks + int64_t(hk) * D;
      const int32_t* pos_b = pos ? pos + int64_t(b) * T : nullptr;
      std::fill(o.begin(), o.begin() + int64_t(nq) * D, 0.0f);
      std::fill(m, m + nq, kNegInf);
      std::fill(l, l + nq, 0.0f);
      // Documents are contiguous, so the block's first row has the earliest first key.
      for (int j0 = first_key(pos_b, i0) / kBk * kBk; j0 < i1; j0 += kBk) {
        const int nk = std::min(kBk, i1 - j0);
        transpose_block(kt.data(), kh + j0 * ks, ks, nk, D);
        for (int r = 0; r < nq; ++r) {
          const int i = i0 + r, hi = std::min(nk, i - j0 + 1);
          const int lo = std::max(0, first_key(pos_b, i) - j0);
          if (hi <= lo) continue;
          score_block(s.data(), qh + i * qs, kt.data(), D);
          softmax_update(s.data(), lo, hi, scale, m[r], l[r], o.data() + int64_t(r) * D,
                         vh + j0 * ks, ks, D);
        }
      }
      for (int r = 0; r < nq; ++r) {
        const int i = i0 + r;
        finish_row(out + int64_t(b) * T * qs + i * qs + int64_t(h) * D,
                   lse + (int64_t(b) * Hq + h) * T + i, o.data() + int64_t(r) * D, m[r], l[r], D);
      }
    }
  }
}

// dout, out, q (B,T,Hq,D), k, v (B,T,Hkv,D), lse(B,Hq,T) -> dq (B,T,Hq,D), dk, dv (B,T,Hkv,D).
// One task per (sequence, key-value head): it owns dk, dv of that head and dq of the query heads
// reading it, so no two threads ever add into the same element and the order is fixed.
void CpuBackend::attention_backward(float* dq, float* dk, float* dv, const float* dout,
                                    const float* q, const float* k, const float* v,
                                    const int32_t* pos, const float* out, const float* lse, int B,
                                    int T, int Hq, int Hkv, int D, float scale) {
  check_sizes("attention_backward", B, T, Hq, Hkv, D);
  check_documents("attention_backward", pos, B, T);
  const int group = Hq / Hkv;
  const int64_t tasks = int64_t(B) * Hkv;
  const int64_t qs = int64_t(Hq) * D, ks = int64_t(Hkv) * D;
#pragma omp parallel if (tasks > 1)
  {
    std::vector<float> kt(size_t(D) * kBk), vt(size_t(D) * kBk), dkb(size_t(kBk) * D),
        dvb(size_t(kBk) * D), s(kBk), dp(kBk), di(size_t(group) * T);
#pragma omp for schedule(static)
    for (int64_t task = 0; task < tasks; ++task) {
      const int b = int(task / Hkv), hk = int(task % Hkv);
      const int64_t qoff = int64_t(b) * T * qs, koff = int64_t(b) * T * ks + int64_t(hk) * D;
      const int32_t* pos_b = pos ? pos + int64_t(b) * T : nullptr;
      // D_i = dout_i . out_i per query head of the group; dq rows of the group start at zero.
      for (int g = 0; g < group; ++g) {
        const int h = hk * group + g;
        for (int i = 0; i < T; ++i) {
          const int64_t off = qoff + i * qs + int64_t(h) * D;
          di[size_t(g) * T + i] = cpu::dot_f(dout + off, out + off, D);
          std::fill(dq + off, dq + off + D, 0.0f);
        }
      }
      for (int j0 = 0; j0 < T; j0 += kBk) {
        const int nk = std::min(kBk, T - j0);
        transpose_block(kt.data(), k + koff + j0 * ks, ks, nk, D);
        transpose_block(vt.data(), v + koff + j0 * ks, ks, nk, D);
        std::fill(dkb.begin(), dkb.end(), 0.0f);
        std::fill(dvb.begin(), dvb.end(), 0.0f);
        for (int g = 0; g < group; ++g) {
          const int h = hk * group + g;
          const float* lse_h = lse + (int64_t(b) * Hq + h) * T;
          for (int i = j0; i < T; ++i) {
            const int hi = std::min(nk, i - j0 + 1);
            const int lo = std::max(0, first_key(pos_b, i) - j0);
            if (lo >= nk)
              break;  // this row's document, and every later row's, starts past the block
            if (hi <= lo) continue;
            const int64_t off = qoff + i * qs + int64_t(h) * D;
            const float* qi = q + off;
            const float* doi = dout + off;
            float* dqi = dq + off;
            score_block(s.data(), qi, kt.data(), D);
            score_block(dp.data(), doi, vt.data(), D);
            const float li = lse_h[i], dii = di[size_t(g) * T + i];
            // P and dS for the whole block in one vectorised pass (exp_f is the costly part).
            for (int j = 0; j < kBk; ++j) {
              const float p = cpu::exp_f(s[j] * scale - li);
              s[j] = p;
              dp[j] = p * (dp[j] - dii) * scale;
            }
            // kDc columns at a time, dq's in registers across the block's keys (the same
            // additions in the same order as column by column; fewer loads and stores).
            for (int d0 = 0; d0 < D; d0 += kDc) {
              const int dn = std::min(kDc, D - d0);
              if (dn == kDc)
                accumulate_grads<kDc>(dvb.data() + d0, dkb.data() + d0, dqi + d0,
                                      k + koff + j0 * ks + d0, ks, doi + d0, qi + d0, s.data(),
                                      dp.data(), lo, hi, D);
              else
                accumulate_grads<0>(dvb.data() + d0, dkb.data() + d0, dqi + d0,
                                    k + koff + j0 * ks + d0, ks, doi + d0, qi + d0, s.data(),
                                    dp.data(), lo, hi, D, dn);
            }
          }
        }
        for (int j = 0; j < nk; ++j) {
          std::copy(dkb.begin() + j * D, dkb.begin() + (j + 1) * D, dk + koff + (j0 + j) * ks);
          std::copy(dvb.begin() + j * D, dvb.begin() + (j + 1) * D, dv + koff + (j0 + j) * ks);
        }
      }
    }
  }
}

// q(B,Hq,D), caches (slots,max_T,Hkv,D), slot(B), lens(B) -> out(B,Hq,D). Same per-row steps as
// the forward.
void CpuBackend::attention_decode(float* out, const float* q, const float* k_cache,
                                  const float* v_cache, const int32_t* slot, const int32_t* lens,
                                  int B, int slots, int max_T, int Hq, int Hkv, int D,
                                  float scale) {
  check_sizes("attention_decode", B, max_T, Hq, Hkv, D);
  TANDEM_CHECK(slot || B <= slots, "[attention_decode] {} rows without a slot map need {} slots", B,
               slots);
  for (int b = 0; b < B; ++b) {
    TANDEM_CHECK(lens[b] >= 0 && lens[b] <= max_T,
                 "[attention_decode] lens[{}] = {} not in [0, {}]", b, lens[b], max_T);
    TANDEM_CHECK(!slot || (slot[b] >= 0 && slot[b] < slots),
                 "[attention_decode] slot[{}] = {} not in [0, {})", b, slot ? slot[b] : 0, slots);
  }
  const int group = Hq / Hkv;
  const int64_t tasks = int64_t(B) * Hkv;
  const int64_t ks = int64_t(Hkv) * D;
#pragma omp parallel if (tasks > 1)
  {
    std::vector<float> kt(size_t(D) * kBk), o(size_t(group) * D), s(kBk), m(group), l(group);
#pragma omp for schedule(static)
    for (int64_t task = 0; task < tasks; ++task) {
      const int b = int(task / Hkv), hk = int(task % Hkv), len = lens[b];
      const int64_t cache = int64_t(slot ? slot[b] : b) * max_T * ks + int64_t(hk) * D;
      const float* kh = k_cache + cache;
      const float* vh = v_cache + cache;
      std::fill(o.begin(), o.end(), 0.0f);
      std::fill(m.begin(), m.end(), kNegInf);
      std::fill(l.begin(), l.end(), 0.0f);
      for (int j0 = 0; j0 < len; j0 += kBk) {
        const int nk = std::min(kBk, len - j0);
        transpose_block(kt.data(), kh + j0 * ks, ks, nk, D);
        for (int g = 0; g < group; ++g) {
          const int h = hk * group + g;
          score_block(s.data(), q + (int64_t(b) * Hq + h) * D, kt.data(), D);
          softmax_update(s.data(), 0, nk, scale, m[g], l[g], o.data() + int64_t(g) * D,
                         vh + j0 * ks, ks, D);
        }
      }
      for (int g = 0; g < group; ++g)
        finish_row(out + (int64_t(b) * Hq + hk * group + g) * D, nullptr, o.data() + int64_t(g) * D,
                   m[g], l[g], D);
    }
  }
}

}  // namespace tandem
