#pragma once
// The kernel interface: everything a device must implement for tandem to train and serve on it.
//
// Data-only: device pointers, sizes and scalars; no tensors, no shapes objects, no ownership.
// All float data is fp32, row-major, contiguous unless a leading dimension is given.
// Conventions every implementation follows (and the conformance suite in tests/backend/ checks):
//   * Outputs are fully written; an implementation never reads an output before writing it,
//     except where a parameter is documented "accumulates" (+=).
//   * Backward kernels overwrite input gradients (dx) and accumulate parameter gradients (dw +=),
//     so gradient accumulation over micro-batches is just "do not zero between them".
//   * Calls are ordered on one stream; results reach the host through to_host(), which waits.
//   * Deterministic: the same inputs give the same bits, independent of thread count and of where a
//     row sits in a batch (fixed reduction order). RL relies on this to make rollouts and training
//     agree bit for bit on one backend.
// Layout names used below: n = rows (tokens), C = model width, V = vocabulary, B = sequences,
// T = sequence length, Hq/Hkv = query/key-value heads, D = head dim.
//
// Mandatory and optional entry points. The forward half (memory, gemm, add, embedding_forward,
// rmsnorm_forward, rope_forward, attention_forward, attention_decode, swiglu_forward,
// cross_entropy_forward, sum_squares, all_finite) is pure virtual: it is what serving a model
// needs, and a backend without it is no backend. The training half (the backward kernels and
// adamw_step, named by `Op`) is optional: tandem exists to train on one chip and serve on
// another, and a serving chip whose training stack is immature (Ascend-like) must be able to come
// up with the inference half first. An optional op the backend does not implement keeps the base
// class's default, which throws a tandem::Error naming the op and the backend; supports(op) says
// beforehand, and require_training() turns the whole set into one error before a run starts.
// (This file is also compiled by nvcc as C++17: no C++20 library types here.)
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace tandem {

// The optional entry points: everything training needs beyond serving.
enum class Op {
  EmbeddingBackward,
  RmsNormBackward,
  RopeBackward,
  AttentionBackward,
  SwigluBackward,
  CrossEntropyBackward,
  AdamwStep,
};

class Backend {
 public:
  virtual ~Backend() = default;
  virtual std::string name() const = 0;
  // Whether this backend implements optional op `op`; false unless a backend overrides it.
  virtual bool supports(Op op) const;

  // ---- memory -------------------------------------------------------------------------------
  virtual void* alloc(size_t bytes) = 0;  // zero-initialised, 64-byte aligned
  virtual void release(void* ptr) = 0;
  virtual void to_device(void* dst, const void* host_src, size_t bytes) = 0;
  virtual void to_host(void* host_dst, const void* src, size_t bytes) = 0;  // waits for the stream
  virtual void copy(void* dst, const void* src, size_t bytes) = 0;          // device to device
  virtual void fill(float* x, float value, size_t n) = 0;
  virtual void synchronize() = 0;
  // Whether the pointers this backend hands out are ordinary host memory (a transport such as MPI
  // can then read and write them in place instead of staging a copy).
  virtual bool host_memory() const { return false; }
  // Host threads the kernel calls made from the calling thread may use (0: the backend's
  // default). For CPU backends; a device backend ignores it. A server gives its engine thread
  // fewer threads than cores, so HTTP work and clients on the same machine do not stall it.
  virtual void set_threads(int threads) { (void)threads; }
  // Those threads, as set for the calling thread (0: a device backend, whose kernels run there).
  virtual int threads() const { return 0; }

  // ---- batch-invariant mode -----------------------------------------------------------------
  // The contract above makes a row independent of its place in a batch for the row kernels; GEMM
  // on a tuned BLAS is not: it may round a row of C differently depending on M and on the rows
  // beside it. Batch-invariant mode promises more, for every entry point: each output row's bits
  // are independent of how many rows share the call, of where the row sits among them and of the
  // thread count. For GEMM each C[i][j] is computed by the same sequence of operations whatever
  // M, N, i, j and threads: blocking and reduction order are fixed per K (and N), never per M.
  // A sequence then gets the same logits, and so the same log-probabilities, whether the trainer
  // runs it as one row of a (B, T) batch or the engine prefills it in chunks and decodes it beside
  // any other sequences (the engine also computes its log-probabilities with
  // cross_entropy_forward in this mode, the trainer's formula). Off by default: it may be slower.
  // A backend without the mode keeps the defaults: supports_batch_invariant() false and
  // set_batch_invariant(true) throwing tandem::Error "[batch_invariant] ...".
  virtual bool supports_batch_invariant() const { return false; }
  virtual void set_batch_invariant(bool on);  // the default throws when on; false is a no-op
  virtual bool batch_invariant() const { return false; }  // whether the mode is on

  // ---- dense algebra ------------------------------------------------------------------------
  // C(M,N) = alpha * op(A)(M,K) @ op(B)(K,N) + beta * C. Row-major; op(X) = X^T when tX.
  // Repeated `batch` times with element strides sA, sB, sC between consecutive matrices.
  virtual void gemm(bool tA, bool tB, int M, int N, int K, float alpha, const float* A, int lda,
                    const float* B, int ldb, float beta, float* C, int ldc, int batch = 1,
                    int64_t sA = 0, int64_t sB = 0, int64_t sC = 0) = 0;
  virtual void add(float* y, const float* x, size_t n) = 0;  // y += x

  // ---- layers, each forward beside its backward --------------------------------------------
  // out(n,C) = table[ids[i]]. dtable(V,C) accumulates dout rows at ids. Each backward below is
  // optional (its Op in the comment): not overriding it leaves a default that throws.
  virtual void embedding_forward(float* out, const int32_t* ids, const float* table, int n,
                                 int C) = 0;
  // Op::EmbeddingBackward.
  virtual void embedding_backward(float* dtable, const float* dout, const int32_t* ids, int n,
                                  int C);

  // out = x / sqrt(mean(x^2) + eps) * w, per row of x(n,C); rstd(n) saved for backward.
  virtual void rmsnorm_forward(float* out, float* rstd, const float* x, const float* w, int n,
                               int C, float eps) = 0;
  // dx(n,C) overwritten; dw(C) accumulates. Op::RmsNormBackward.
  virtual void rmsnorm_backward(float* dx, float* dw, const float* dout, const float* x,
                                const float* w, const float* rstd, int n, int C);

  // Rotary embedding, NEOX layout (pairs are (j, j + D/2)), in place on x(n,H,D).
  // cos_sin(max_pos, D/2, 2) holds cos and sin of pos * theta^(-2j/D); pos(n) picks the row.
  // Backward applies the inverse rotation to dx in place (Op::RopeBackward).
  virtual void rope_forward(float* x, const int32_t* pos, const float* cos_sin, int n, int H,
                            int D) = 0;
  virtual void rope_backward(float* dx, const int32_t* pos, const float* cos_sin, int n, int H,
                             int D);

  // Causal grouped-query attention. q(B,T,Hq,D), k and v(B,T,Hkv,D), out(B,T,Hq,D);
  // query head h reads key-value head h / (Hq/Hkv). lse(B,Hq,T) = log-sum-exp of each score row,
  // kept for the backward, so no (T,T) matrix needs to survive the forward.
  // pos(B,T), when not null, packs several documents into a row: pos[t] is token t's position in
  // its own document, and row t attends to keys [t - pos[t], t] only. Documents are contiguous
  // (pos[t] is 0 or pos[t-1] + 1; the caller checks). Null: one document per row (pos[t] = t).
  virtual void attention_forward(float* out, float* lse, const float* q, const float* k,
                                 const float* v, const int32_t* pos, int B, int T, int Hq, int Hkv,
                                 int D, float scale) = 0;
  // dq, dk, dv overwritten. Op::AttentionBackward.
  virtual void attention_backward(float* dq, float* dk, float* dv, const float* dout,
                                  const float* q, const float* k, const float* v,
                                  const int32_t* pos, const float* out, const float* lse, int B,
                                  int T, int Hq, int Hkv, int D, float scale);
  // Query rows against KV caches: q(n,Hq,D), caches (slots,max_T,Hkv,D); row i attends to
  // positions [0, lens[i]) of the cache of slot[i] (slot null: row i reads slot i). out(n,Hq,D).
  // A decode step passes one row per sequence; a prompt (or a chunk of one) passes its rows of
  // one slot with lens start+1 .. start+n, which is causal attention. A row's result must not
  // depend on the other rows (so a prompt gives the same bits whole or in chunks).
  virtual void attention_decode(float* out, const float* q, const float* k_cache,
                                const float* v_cache, const int32_t* slot, const int32_t* lens,
                                int n, int slots, int max_T, int Hq, int Hkv, int D,
                                float scale) = 0;

  // out = silu(gate) * up, elementwise over n; out may alias gate or up.
  // Backward overwrites dgate and dup (Op::SwigluBackward).
  virtual void swiglu_forward(float* out, const float* gate, const float* up, size_t n) = 0;
  virtual void swiglu_backward(float* dgate, float* dup, const float* dout, const float* gate,
                               const float* up, size_t n);

  // Per row of logits(n,V): loss[i] = -log softmax(logits_i)[targets[i]] (the negative
  // log-probability of the target) and entropy[i] = -sum p log p. targets[i] < 0: loss 0.
  // targets[i] >= V: an error where the backend can see it (cpu), else a NaN loss.
  virtual void cross_entropy_forward(float* loss, float* entropy, const float* logits,
                                     const int32_t* targets, int n, int V) = 0;
  // dlogits_i = dloss[i] * (softmax(logits_i) - onehot(targets[i])); rows with targets < 0 get 0.
  // dlogits may alias logits (in place), which saves the largest activation.
  // Op::CrossEntropyBackward.
  virtual void cross_entropy_backward(float* dlogits, const float* logits, const int32_t* targets,
                                      const float* dloss, int n, int V);

  // ---- optimizer and reductions -------------------------------------------------------------
  // AdamW with decoupled weight decay and bias correction, on n parameters; g is multiplied by
  // grad_scale first (clipping). step counts from 1. Op::AdamwStep.
  virtual void adamw_step(float* p, const float* g, float* m, float* v, size_t n, float lr,
                          float beta1, float beta2, float eps, float weight_decay,
                          float grad_scale, int64_t step);
  // Sum of squares (in double, fixed order) and finiteness over n values; results to the host.
  virtual double sum_squares(const float* x, size_t n) = 0;
  virtual bool all_finite(const float* x, size_t n) = 0;
};

// Owns one device allocation; frees it through its backend.
class DeviceBuffer {
 public:
  DeviceBuffer() = default;
  DeviceBuffer(Backend& be, size_t bytes) : be_(&be), ptr_(bytes ? be.alloc(bytes) : nullptr), bytes_(bytes) {}
  DeviceBuffer(DeviceBuffer&& o) noexcept { *this = std::move(o); }
  DeviceBuffer& operator=(DeviceBuffer&& o) noexcept {
    if (this != &o) {
      reset();
      be_ = o.be_, ptr_ = o.ptr_, bytes_ = o.bytes_;
      o.ptr_ = nullptr, o.bytes_ = 0;
    }
    return *this;
  }
  ~DeviceBuffer() { reset(); }
  void reset() {
    if (ptr_) be_->release(ptr_);
    ptr_ = nullptr, bytes_ = 0;
  }
  template <typename T = float>
  T* as() const { return static_cast<T*>(ptr_); }
  size_t bytes() const { return bytes_; }

 private:
  Backend* be_ = nullptr;
  void* ptr_ = nullptr;
  size_t bytes_ = 0;
};

// "rmsnorm_backward": the op's name as it appears in error messages ("[rmsnorm_backward] ...").
const char* op_name(Op op);
// Every Op: the kernels a training run needs on top of serving.
const std::vector<Op>& training_ops();
// The ops of `ops` that `be` does not support, in the order given.
std::vector<Op> missing_ops(const Backend& be, const std::vector<Op>& ops);
// Throws one tandem::Error listing every op of `ops` that `be` lacks; `what` names the job
// ("training", "GRPO"). Called before a run starts, so it fails before any work, not at the first
// backward pass.
void require_ops(const Backend& be, const std::vector<Op>& ops, std::string_view what);
void require_training(const Backend& be);

// Registry (the table is in registry.h): "cpu" always; "cuda" when built and a GPU is present.
// An unknown name throws tandem::Error listing the known ones; a known but unavailable one throws
// its factory's error saying why.
std::unique_ptr<Backend> make_backend(const std::string& name);
// Names that make_backend() constructs on this machine, in table order.
std::vector<std::string> available_backends();
// Every known name for help texts, built or not: "cpu or cuda".
std::string backend_choices();

// The CPU kernels' thread count for this process (the command line's --threads; OMP_NUM_THREADS
// is read too): call before the first backend is made.
void set_cpu_threads(int threads);

}  // namespace tandem
