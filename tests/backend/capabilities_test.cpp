// Optional ops (backend.h): a backend that implements only the serving half constructs, says so
// through supports(), fails with a message naming the op when a training kernel is called anyway,
// and require_training() lists everything it lacks in one error before any work.
#include <gtest/gtest.h>

#include <memory>
#include <set>
#include <string>

#include "serve_only_backend.h"
#include "tandem/backend/backend.h"
#include "tandem/core/error.h"

namespace tandem::test {
namespace {

std::unique_ptr<Backend> serve_only() {
  return std::make_unique<ServeOnlyBackend>(make_backend("cpu"));
}

// The text of the tandem::Error that fn throws ("" and a failure when it throws none).
template <typename Fn>
std::string error_of(Fn&& fn) {
  try {
    fn();
  } catch (const Error& e) {
    return e.what();
  }
  ADD_FAILURE() << "expected tandem::Error";
  return "";
}

// Calls optional op `op` with placeholder arguments: the default throws before reading any.
void call(Backend& be, Op op) {
  float* f = nullptr;
  const int32_t* ids = nullptr;
  switch (op) {
    case Op::EmbeddingBackward:
      return be.embedding_backward(f, f, ids, 1, 1);
    case Op::RmsNormBackward:
      return be.rmsnorm_backward(f, f, f, f, f, f, 1, 1);
    case Op::RopeBackward:
      return be.rope_backward(f, ids, f, 1, 1, 2);
    case Op::AttentionBackward:
      return be.attention_backward(f, f, f, f, f, f, f, nullptr, f, f, 1, 1, 1, 1, 16, 1.0f);
    case Op::SwigluBackward:
      return be.swiglu_backward(f, f, f, f, f, 1);
    case Op::CrossEntropyBackward:
      return be.cross_entropy_backward(f, f, ids, f, 1, 1);
    case Op::AdamwStep:
      return be.adamw_step(f, f, f, f, 1, 1e-3f, 0.9f, 0.95f, 1e-8f, 0.0f, 1.0f, 1);
  }
}

TEST(Capabilities, OpNamesAreDistinctInterfaceNames) {
  std::set<std::string> names;
  for (Op op : training_ops()) {
    const std::string name = op_name(op);
    EXPECT_TRUE(name.ends_with("_backward") || name == "adamw_step") << name;
    EXPECT_TRUE(names.insert(name).second) << name;
  }
  EXPECT_EQ(names.size(), 7u);
}

TEST(Capabilities, CpuAndCudaImplementTheWholeInterface) {
  for (const std::string& name : available_backends()) {
    if (name != "cpu" && name != "cuda") continue;
    const auto be = make_backend(name);
    for (Op op : training_ops()) EXPECT_TRUE(be->supports(op)) << name << " " << op_name(op);
    EXPECT_TRUE(missing_ops(*be, training_ops()).empty()) << name;
    EXPECT_NO_THROW(require_training(*be)) << name;
  }
}

TEST(Capabilities, ServeOnlyBackendSaysItCannotTrain) {
  const auto be = serve_only();
  for (Op op : training_ops()) EXPECT_FALSE(be->supports(op)) << op_name(op);
  EXPECT_EQ(missing_ops(*be, training_ops()), training_ops());
}

TEST(Capabilities, CallingAMissingOpNamesOpAndBackend) {
  const auto be = serve_only();
  for (Op op : training_ops()) {
    const std::string what = error_of([&] { call(*be, op); });
    // "[op]" first, like every kernel error, then what the backend is and can still do.
    EXPECT_EQ(what.rfind(std::string("[") + op_name(op) + "]", 0), 0u) << what;
    EXPECT_NE(what.find("backend 'serve_only' does not implement this kernel"), std::string::npos)
        << what;
    EXPECT_NE(what.find("supports(Op::"), std::string::npos) << what;
    EXPECT_NE(what.find("can serve models but not train them"), std::string::npos) << what;
  }
}

TEST(Capabilities, RequireTrainingListsEveryMissingOpInOneError) {
  const auto be = serve_only();
  const std::string what = error_of([&] { require_training(*be); });
  EXPECT_EQ(what.rfind("backend 'serve_only' cannot run training", 0), 0u) << what;
  for (Op op : training_ops()) EXPECT_NE(what.find(op_name(op)), std::string::npos) << what;
  EXPECT_NE(what.find("serve"), std::string::npos) << what;
  EXPECT_NO_THROW(require_ops(*be, {}, "nothing"));
}

// A backend part of the way there: it has one training kernel, so only the others are missing.
class OneTrainingOpBackend final : public ServeOnlyBackend {
 public:
  using ServeOnlyBackend::ServeOnlyBackend;
  bool supports(Op op) const override { return op == Op::RmsNormBackward; }
  void rmsnorm_backward(float* dx, float* dw, const float* dout, const float* x, const float* w,
                        const float* rstd, int n, int C) override {
    inner().rmsnorm_backward(dx, dw, dout, x, w, rstd, n, C);
  }
};

TEST(Capabilities, RequireOpsListsOnlyWhatIsMissing) {
  OneTrainingOpBackend be(make_backend("cpu"));
  EXPECT_NO_THROW(require_ops(be, {Op::RmsNormBackward}, "a norm-only job"));
  const std::string what = error_of([&] {
    require_ops(be, {Op::RmsNormBackward, Op::AdamwStep}, "fine-tuning");
  });
  EXPECT_NE(what.find("cannot run fine-tuning"), std::string::npos) << what;
  EXPECT_NE(what.find("adamw_step"), std::string::npos) << what;
  EXPECT_EQ(what.find("rmsnorm_backward"), std::string::npos) << what;
  EXPECT_EQ(missing_ops(be, training_ops()).size(), training_ops().size() - 1);
}

}  // namespace
}  // namespace tandem::test
