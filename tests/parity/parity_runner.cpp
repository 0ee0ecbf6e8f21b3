// Runs tandem on a model directory and a batch file written by parity_test.py, and writes every
// number the PyTorch oracle checks: logits, per-token NLL and entropy, the loss, every parameter's
// gradient, then the loss of each of several AdamW steps and the final weights.
//   parity_runner MODEL_DIR BATCH.safetensors OUT.safetensors
#include <cstdio>
#include <string>
#include <vector>

#include "tandem/backend/backend.h"
#include "tandem/io/model_files.h"
#include "tandem/io/safetensors.h"
#include "tandem/io/safetensors_writer.h"
#include "tandem/model/transformer.h"
#include "tandem/train/adamw.h"
#include "tandem/train/lr_schedule.h"

using namespace tandem;

int main(int argc, char** argv) try {
  if (argc != 5) {
    std::fprintf(stderr, "usage: parity_runner BACKEND MODEL_DIR BATCH.safetensors OUT.safetensors\n");
    return 2;
  }
  auto be = make_backend(argv[1]);
  HostModel host = load_model_dir(argv[2]);
  const SafetensorsReader batch = SafetensorsReader::open(argv[3]);
  const TensorInfo& ids_info = batch.get("ids");
  const int S = int(ids_info.shape[0]), B = int(ids_info.shape[1]), T = int(ids_info.shape[2]);
  const int n = B * T;
  auto ints = [&](const char* name) {
    const TensorInfo& info = batch.get(name);
    const auto* p = reinterpret_cast<const int32_t*>(batch.data(info));
    return std::vector<int32_t>(p, p + info.numel());
  };
  const std::vector<int32_t> ids = ints("ids"), targets = ints("targets");
  // Packed rows: positions of the documents in each row (absent: one sequence per row).
  const std::vector<int32_t> pos = batch.find("pos") ? ints("pos") : std::vector<int32_t>{};
  auto meta = [&](const char* key) { return std::stod(batch.metadata().at(key)); };
  const LrSchedule schedule{float(meta("lr_peak")), float(meta("lr_min")),
                            int64_t(meta("warmup")), int64_t(meta("total"))};
  AdamWConfig opt_cfg{float(meta("beta1")), float(meta("beta2")), float(meta("eps")),
                      float(meta("weight_decay"))};
  const float max_norm = float(meta("max_norm"));

  Transformer model(*be, host.config);
  model.load_params(host.params);
  AdamW opt(*be, model.layout(), opt_cfg);
  SafetensorsWriter out;
  std::vector<float> losses;
  // Outputs are kept alive until write().
  std::vector<float> logits, nll(n), entropy(n), nll0, entropy0, grads, final_params;
  for (int s = 0; s < S; ++s) {
    std::span<const int32_t> step_ids(ids.data() + size_t(s) * n, n);
    std::span<const int32_t> step_targets(targets.data() + size_t(s) * n, n);
    model.zero_grads();
    const std::span<const int32_t> step_pos =
        pos.empty() ? std::span<const int32_t>{} : std::span(pos.data() + size_t(s) * n, n);
    model.forward(step_ids, step_targets, B, T, step_pos);
    model.read_token_stats(nll.data(), entropy.data());
    int count = 0;
    for (int32_t t : step_targets) count += t >= 0;
    double loss = 0;
    for (int i = 0; i < n; ++i) loss += nll[i];
    loss /= std::max(count, 1);
    losses.push_back(float(loss));
    std::vector<float> dnll(n);
    for (int i = 0; i < n; ++i) dnll[i] = step_targets[i] >= 0 ? 1.0f / std::max(count, 1) : 0.0f;
    if (s == 0) {
      logits = model.read_logits();
      out.add_f32("logits", {B, T, host.config.vocab_size}, logits.data());
      nll0 = nll, entropy0 = entropy;  // the writer reads its inputs only at write()
      out.add_f32("nll", {B, T}, nll0.data());
      out.add_f32("entropy", {B, T}, entropy0.data());
    }
    model.backward(dnll);
    if (s == 0) {
      grads = model.read_grads();
      for (const ParamSpec& t : model.layout().tensors)
        out.add_f32("grad." + t.name, t.shape, grads.data() + t.offset);
    }
    const GradNorm clip = clip_grad_norm(*be, model.grads(), model.layout().total, max_norm);
    opt.update(model.params(), model.grads(), schedule.at(s), clip.scale);
  }
  final_params = model.read_params();
  for (const ParamSpec& t : model.layout().tensors)
    out.add_f32("final." + t.name, t.shape, final_params.data() + t.offset);
  out.add_f32("losses", {S}, losses.data());
  out.write(argv[4]);
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "parity_runner: %s\n", e.what());
  return 1;
}
