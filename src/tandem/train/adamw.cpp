#include "tandem/train/adamw.h"

#include <algorithm>
#include <cmath>

namespace tandem {

AdamW::AdamW(Backend& backend, const ParamLayout& layout, AdamWConfig config, Communicator* comm)
    : be_(backend), layout_(layout), cfg_(config), comm_(comm),
      shards_(comm ? even_shards(size_t(layout.total), comm->size(), kNormBlock)
                   : even_shards(size_t(layout.total), 1)),
      lo_(shards_.of(comm ? comm->rank() : 0)), hi_(shards_.of((comm ? comm->rank() : 0) + 1)),
      m_(backend, (hi_ - lo_) * sizeof(float)), v_(backend, (hi_ - lo_) * sizeof(float)) {}

void AdamW::update(float* params, const float* grads, float lr, float grad_scale) {
  ++step_;
  float* m = m_.as();
  float* v = v_.as();
  for (const ParamSpec& t : layout_.tensors) {
    const size_t a = std::max(lo_, size_t(t.offset)), b = std::min(hi_, size_t(t.offset + t.numel));
    if (a >= b) continue;
    be_.adamw_step(params + a, grads + a, m + (a - lo_), v + (a - lo_), b - a, lr, cfg_.beta1,
                   cfg_.beta2, cfg_.eps, t.decay ? cfg_.weight_decay : 0.0f, grad_scale, step_);
  }
}

void AdamW::reset() {
  be_.fill(m_.as(), 0.0f, hi_ - lo_);
  be_.fill(v_.as(), 0.0f, hi_ - lo_);
  step_ = 0;
}

Moments AdamW::moments() const {
  const size_t n = size_t(layout_.total);
  Moments out{std::vector<float>(n, 0.0f), std::vector<float>(n, 0.0f)};
  be_.to_host(out.m.data() + lo_, m_.as(), (hi_ - lo_) * sizeof(float));
  be_.to_host(out.v.data() + lo_, v_.as(), (hi_ - lo_) * sizeof(float));
  if (comm_) {
    auto host = make_backend("cpu");  // the gather works on the host copies
    comm_->all_gather(*host, out.m.data(), shards_);
    comm_->all_gather(*host, out.v.data(), shards_);
  }
  return out;
}

void AdamW::set_moments(const Moments& moments) {
  be_.to_device(m_.as(), moments.m.data() + lo_, (hi_ - lo_) * sizeof(float));
  be_.to_device(v_.as(), moments.v.data() + lo_, (hi_ - lo_) * sizeof(float));
}

GradNorm clip_of(double sum_squares, float max_norm) {
  const double norm = std::sqrt(sum_squares);
  float scale = 1.0f;
  if (max_norm > 0 && std::isfinite(norm))
    scale = float(std::min(1.0, double(max_norm) / (norm + 1e-6)));
  return {norm, scale};
}

GradNorm clip_grad_norm(Backend& backend, const float* grads, int64_t n, float max_norm) {
  return clip_of(backend.sum_squares(grads, n), max_norm);
}

}  // namespace tandem
