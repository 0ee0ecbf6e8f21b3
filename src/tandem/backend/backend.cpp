// The optional half of the kernel interface: the base class's defaults, which throw, and the
// capability queries the layers above ask before a run (backend.h explains the split).
#include "tandem/backend/backend.h"

#include <fmt/format.h>

#include "tandem/core/error.h"

namespace tandem {

namespace {

struct OpNames {
  const char* op;          // as in error messages and the interface: "rmsnorm_backward"
  const char* enumerator;  // as written in code: "RmsNormBackward"
};

// A switch, not a table, so that an Op added without names is a compiler warning (-Wswitch).
OpNames names_of(Op op) {
  switch (op) {
    case Op::EmbeddingBackward:
      return {"embedding_backward", "EmbeddingBackward"};
    case Op::RmsNormBackward:
      return {"rmsnorm_backward", "RmsNormBackward"};
    case Op::RopeBackward:
      return {"rope_backward", "RopeBackward"};
    case Op::AttentionBackward:
      return {"attention_backward", "AttentionBackward"};
    case Op::SwigluBackward:
      return {"swiglu_backward", "SwigluBackward"};
    case Op::CrossEntropyBackward:
      return {"cross_entropy_backward", "CrossEntropyBackward"};
    case Op::AdamwStep:
      return {"adamw_step", "AdamwStep"};
  }
  return {"unknown_op", "?"};  // only for a value cast from an out-of-range integer
}

// The default body of every optional op: the message starts with "[op]" like every kernel error,
// and says what the backend can still do.
[[noreturn]] void not_implemented(const Backend& be, Op op) {
  const OpNames n = names_of(op);
  fail(
      "[{}] backend '{}' does not implement this kernel (supports(Op::{}) is false): it can "
      "serve models but not train them",
      n.op, be.name(), n.enumerator);
}

}  // namespace

bool Backend::supports(Op) const {
  return false;
}

void Backend::set_batch_invariant(bool on) {
  if (on) fail("[batch_invariant] backend '{}' has no batch-invariant mode", name());
}

void Backend::embedding_backward(float*, const float*, const int32_t*, int, int) {
  not_implemented(*this, Op::EmbeddingBackward);
}
void Backend::rmsnorm_backward(float*, float*, const float*, const float*, const float*,
                               const float*, int, int) {
  not_implemented(*this, Op::RmsNormBackward);
}
void Backend::rope_backward(float*, const int32_t*, const float*, int, int, int) {
  not_implemented(*this, Op::RopeBackward);
}
void Backend::attention_backward(float*, float*, float*, const float*, const float*, const float*,
                                 const float*, const int32_t*, const float*, const float*, int, int,
                                 int, int, int, float) {
  not_implemented(*this, Op::AttentionBackward);
}
void Backend::swiglu_backward(float*, float*, const float*, const float*, const float*, size_t) {
  not_implemented(*this, Op::SwigluBackward);
}
void Backend::cross_entropy_backward(float*, const float*, const int32_t*, const float*, int, int) {
  not_implemented(*this, Op::CrossEntropyBackward);
}
void Backend::adamw_step(float*, const float*, float*, float*, size_t, float, float, float, float,
                         float, float, int64_t) {
  not_implemented(*this, Op::AdamwStep);
}

const char* op_name(Op op) {
  return names_of(op).op;
}

const std::vector<Op>& training_ops() {
  static const std::vector<Op> ops = {
      Op::EmbeddingBackward, Op::RmsNormBackward,      Op::RopeBackward, Op::AttentionBackward,
      Op::SwigluBackward,    Op::CrossEntropyBackward, Op::AdamwStep};
  return ops;
}

std::vector<Op> missing_ops(const Backend& be, const std::vector<Op>& ops) {
  std::vector<Op> missing;
  for (Op op : ops)
    if (!be.supports(op)) missing.push_back(op);
  return missing;
}

void require_ops(const Backend& be, const std::vector<Op>& ops, std::string_view what) {
  const std::vector<Op> missing = missing_ops(be, ops);
  if (missing.empty()) return;
  std::string list;
  for (Op op : missing) list += fmt::format("{}{}", list.empty() ? "" : ", ", op_name(op));
  fail(
      "backend '{}' cannot run {}: it does not implement {} of the kernels it needs ({}). It "
      "can still serve models: train on another backend and serve the checkpoint on this one",
      be.name(), what, missing.size(), list);
}

void require_training(const Backend& be) {
  require_ops(be, training_ops(), "training");
}

}  // namespace tandem
