#pragma once
// DiLoCo (Douillard et al., 2023, "DiLoCo: Distributed Low-Communication Training of Language
// Models"): each rank takes H inner AdamW steps on its own share of the data with no
// communication at all; then the ranks average their parameter change since the last
// synchronisation (the "outer gradient", anchor - params) and apply an outer SGD step with
// Nesterov momentum to the anchor, and every rank continues from the result. One all-reduce of
// the parameters every H steps instead of one of the gradients every step. Inner AdamW moments
// stay on their rank, so a checkpoint carries every rank's (diloco.safetensors).
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "tandem/comm/communicator.h"
#include "tandem/model/transformer.h"
#include "tandem/train/adamw.h"

namespace tandem {

struct DilocoConfig {
  int steps = 0;          // H, inner steps between synchronisations; 0: off
  float lr = 0.7f;        // outer learning rate
  float momentum = 0.9f;  // outer Nesterov momentum
};

class OuterStep {
 public:
  // The anchor is the model's parameters now; momentum starts at zero.
  OuterStep(const Transformer& model, DilocoConfig cfg);

  bool due(int64_t steps_done) const { return steps_done % cfg_.steps == 0; }
  // The synchronisation: a collective; afterwards every rank holds the new anchor.
  void sync(Transformer& model, Communicator& comm);

  // Checkpoints, taken at a synchronisation. snapshot: every rank calls it (each hands in its
  // inner moments), rank 0 gets them all; write: rank 0 writes dir/diloco.safetensors from it.
  // restore: anchor = the model's loaded parameters, momentum and this rank's inner moments from
  // the file; returns a note when they cannot be exact (a file written by another rank count, or
  // none), else "".
  struct Snapshot {
    int ranks = 0;
    std::vector<float> m, v;  // rank 0: every rank's, one after another
  };
  Snapshot snapshot(const AdamW& inner, Communicator& comm) const;
  void write(const std::string& dir, Snapshot& snap) const;
  std::string restore(const std::string& dir, const Transformer& model, AdamW& inner,
                      Communicator& comm);

 private:
  DilocoConfig cfg_;
  const ParamLayout& layout_;
  std::unique_ptr<Backend> host_;  // host memory for the all-reduce of the change
  std::vector<float> anchor_, momentum_, delta_;
};

}  // namespace tandem
