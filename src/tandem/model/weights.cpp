#include "tandem/model/weights.h"

#include <algorithm>

#include "tandem/core/error.h"
#include "tandem/core/rng.h"
#include "tandem/model/rope_table.h"

namespace tandem {

namespace {
const ModelConfig& validated(const ModelConfig& cfg) {
  cfg.validate("model config");
  return cfg;
}
}  // namespace

ModelWeights::ModelWeights(Backend& backend, const ModelConfig& config)
    : be_(&backend), cfg_(validated(config)), layout_(cfg_),
      params_(backend, layout_.total * sizeof(float)) {
  const auto table = make_rope_table(cfg_);
  rope_ = DeviceBuffer(backend, table.size() * sizeof(float));
  backend.to_device(rope_.as(), table.data(), table.size() * sizeof(float));
}

void ModelWeights::init_random(uint64_t seed) {
  std::vector<float> host(layout_.total);
  for (size_t t = 0; t < layout_.tensors.size(); ++t) {
    const ParamSpec& spec = layout_.tensors[t];
    float* dst = host.data() + spec.offset;
    if (spec.shape.size() == 1) {
      std::fill(dst, dst + spec.numel, 1.0f);
      continue;
    }
    const Rng rng(seed, /*stream=*/t);  // one stream per tensor: independent of the slab order
    for (int64_t i = 0; i < spec.numel; ++i) dst[i] = 0.02f * rng.normal(i);
  }
  load_params(host);
}

void ModelWeights::load_params(std::span<const float> host) {
  TANDEM_CHECK(int64_t(host.size()) == layout_.total,
               "[load_params] got {} floats, the model has {}", host.size(), layout_.total);
  be_->to_device(params(), host.data(), host.size_bytes());
}

std::vector<float> ModelWeights::read_params() const {
  std::vector<float> host(layout_.total);
  be_->to_host(host.data(), params(), host.size() * sizeof(float));
  return host;
}

}  // namespace tandem
