#include "tandem/train/diloco.h"

#include <fmt/format.h>

#include <algorithm>
#include <filesystem>

#include "tandem/core/error.h"
#include "tandem/io/model_files.h"
#include "tandem/io/safetensors.h"

namespace tandem {

namespace {
const char* kFile = "diloco.safetensors";
std::string prefix(const char* what, int rank) { return fmt::format("{}.rank{}.", what, rank); }
}  // namespace

OuterStep::OuterStep(const Transformer& model, DilocoConfig cfg)
    : cfg_(cfg), layout_(model.layout()), host_(make_backend("cpu")),
      anchor_(model.read_params()), momentum_(anchor_.size(), 0.0f) {
  TANDEM_CHECK(cfg.steps > 0, "[diloco] the inner steps must be positive, got {}", cfg.steps);
}

void OuterStep::sync(Transformer& model, Communicator& comm) {
  const std::vector<float> p = model.read_params();
  const size_t n = p.size();
  delta_.resize(n);
  for (size_t i = 0; i < n; ++i) delta_[i] = anchor_[i] - p[i];
  comm.all_reduce_sum(*host_, delta_.data(), n);
  // SGD with Nesterov momentum on the mean change, as torch.optim.SGD(nesterov=True) does it.
  const float inv = 1.0f / float(comm.size()), mu = cfg_.momentum, lr = cfg_.lr;
  for (size_t i = 0; i < n; ++i) {
    const float g = delta_[i] * inv;
    momentum_[i] = mu * momentum_[i] + g;
    anchor_[i] -= lr * (g + mu * momentum_[i]);
  }
  model.load_params(anchor_);
}

OuterStep::Snapshot OuterStep::snapshot(const AdamW& inner, Communicator& comm) const {
  const Moments mine = inner.moments();
  const size_t n = mine.m.size();
  Snapshot snap;
  snap.ranks = comm.size();
  snap.m.resize(comm.leader() ? n * comm.size() : 0), snap.v.resize(snap.m.size());
  comm.gather(mine.m.data(), n, snap.m.data(), 0);
  comm.gather(mine.v.data(), n, snap.v.data(), 0);
  return snap;
}

void OuterStep::write(const std::string& dir, Snapshot& snap) const {
  const size_t n = anchor_.size();
  std::vector<float> momentum = momentum_;
  std::vector<ParamSet> sets = {{"outer_momentum.", momentum.data()}};
  for (int r = 0; r < snap.ranks; ++r) {
    sets.push_back({prefix("m", r), snap.m.data() + size_t(r) * n});
    sets.push_back({prefix("v", r), snap.v.data() + size_t(r) * n});
  }
  write_param_sets(dir + "/" + kFile, layout_, sets);
}

std::string OuterStep::restore(const std::string& dir, const Transformer& model, AdamW& inner,
                               Communicator& comm) {
  anchor_ = model.read_params();
  std::fill(momentum_.begin(), momentum_.end(), 0.0f);
  const std::string path = dir + "/" + kFile;
  if (!std::filesystem::exists(path))
    return fmt::format("{}: no DiLoCo state: outer momentum starts at zero", dir);
  const size_t n = anchor_.size();
  int saved = 0;  // ranks in the file
  {
    const SafetensorsReader file = SafetensorsReader::open(path);
    while (file.find(prefix("m", saved) + layout_.tensors[0].name)) ++saved;
  }
  TANDEM_CHECK(saved > 0, "{}: no inner moments (expected tensors named {}*)", path, prefix("m", 0));
  std::vector<float> m(n * saved), v(n * saved);
  std::vector<ParamSet> sets = {{"outer_momentum.", momentum_.data()}};
  for (int r = 0; r < saved; ++r) {
    sets.push_back({prefix("m", r), m.data() + size_t(r) * n});
    sets.push_back({prefix("v", r), v.data() + size_t(r) * n});
  }
  read_param_sets(path, layout_, sets);
  const int from = comm.rank() < saved ? comm.rank() : 0;
  inner.set_moments({{m.begin() + from * n, m.begin() + (from + 1) * n},
                     {v.begin() + from * n, v.begin() + (from + 1) * n}});
  if (saved == comm.size()) return "";
  return fmt::format("{}: written by {} rank(s), resumed by {}: ranks without saved inner moments "
                     "start from rank 0's, so the run will not match an uninterrupted one",
                     path, saved, comm.size());
}

}  // namespace tandem
