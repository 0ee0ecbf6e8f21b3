#!/usr/bin/env python3
"""tandem vs an independent PyTorch oracle (qwen3_oracle.py), run in float64.

For each case (tied and untied heads, GQA ratios 1, 2 and 4, a loss mask that drops prompt tokens):
writes a random model in the HF layout and a batch file, runs tandem's parity_runner on them, then
checks logits, per-token NLL, entropy, the loss, every parameter gradient, ten AdamW steps (with
warmup + cosine LR and global-norm clipping) and the final weights. Exits non-zero on any failure.
"""
import argparse
import json
import os
import subprocess
import sys

try:
    import torch
except ImportError:
    print("parity: python3-torch is not installed: skipped (apt-get install python3-torch)")
    sys.exit(77)

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import qwen3_oracle as oracle  # noqa: E402

# Bars from the issue; each is a property of fp32 arithmetic against a float64 truth.
LOGITS_MAX_REL = 1e-4   # max |a - b| / max |b| over all logits
LOSS_REL = 1e-5
GRAD_NMSE = 1e-8        # per parameter tensor
STEP_LOSS_REL = 1e-4    # each of the ten optimizer steps
# Final weights after ten AdamW steps. Looser than the gradients on purpose: where a gradient is
# near zero, Adam's m/sqrt(v) normalises fp32 rounding noise up to a full-size step (lr), so a few
# elements legitimately differ by ~lr between fp32 and float64. A wrong update rule gives NMSE ~1.
FINAL_WEIGHTS_NMSE = 1e-5

CASES = [
    dict(name="tied-gqa1", vocab_size=67, hidden_size=48, num_hidden_layers=2, num_attention_heads=3,
         num_key_value_heads=3, head_dim=16, intermediate_size=80, tie_word_embeddings=True, B=3, T=13),
    dict(name="untied-gqa2", vocab_size=101, hidden_size=64, num_hidden_layers=2, num_attention_heads=4,
         num_key_value_heads=2, head_dim=32, intermediate_size=96, tie_word_embeddings=False, B=2, T=17),
    dict(name="untied-gqa4", vocab_size=97, hidden_size=40, num_hidden_layers=3, num_attention_heads=8,
         num_key_value_heads=2, head_dim=16, intermediate_size=72, tie_word_embeddings=False, B=2, T=9),
    dict(name="tied-gqa2-d64", vocab_size=53, hidden_size=64, num_hidden_layers=1, num_attention_heads=2,
         num_key_value_heads=1, head_dim=64, intermediate_size=128, tie_word_embeddings=True, B=1, T=31),
    # Packed rows (data/packing.h): several documents per row, positions and attention per document.
    dict(name="packed-gqa2", vocab_size=71, hidden_size=48, num_hidden_layers=2, num_attention_heads=4,
         num_key_value_heads=2, head_dim=16, intermediate_size=64, tie_word_embeddings=False, B=2, T=40,
         packed=True),
]
STEPS = 10
HYPER = dict(lr_peak=3e-3, lr_min=3e-4, warmup=3, total=STEPS, beta1=0.9, beta2=0.95, eps=1e-8,
             weight_decay=0.1, max_norm=1.0)


def make_case(case, workdir, gen):
    cfg = {k: v for k, v in case.items() if k not in ("name", "B", "T", "packed")}
    cfg.update(rms_norm_eps=1e-6, rope_theta=10000.0, max_position_embeddings=64)
    model_dir = os.path.join(workdir, case["name"])
    os.makedirs(model_dir, exist_ok=True)
    hf = dict(cfg, architectures=["Qwen3ForCausalLM"], model_type="qwen3", torch_dtype="float32")
    with open(os.path.join(model_dir, "config.json"), "w") as f:
        json.dump(hf, f, indent=2)
    weights = oracle.random_weights(cfg, gen)
    oracle.write_safetensors(os.path.join(model_dir, "model.safetensors"), weights)
    B, T, V = case["B"], case["T"], cfg["vocab_size"]
    ids = torch.randint(0, V, (STEPS, B, T + 1), generator=gen, dtype=torch.int32)
    targets = ids[:, :, 1:].clone()
    targets[:, :, :3] = -1  # prompt tokens carry no loss
    targets[:, 0, -1] = -1  # and a ragged end
    tensors = {"ids": ids[:, :, :-1].contiguous(), "targets": targets}
    pos = None
    if case.get("packed"):  # documents of 1 to 17 tokens end to end
        pos = torch.zeros(STEPS, B, T, dtype=torch.int32)
        lens = torch.randint(1, 18, (STEPS, B, T), generator=gen)
        for s in range(STEPS):
            for b in range(B):
                t = d = 0
                while t < T:
                    n = min(int(lens[s, b, d]), T - t)
                    pos[s, b, t:t + n] = torch.arange(n, dtype=torch.int32)
                    t, d = t + n, d + 1
        tensors["pos"] = pos
    batch = os.path.join(workdir, case["name"] + ".batch.safetensors")
    oracle.write_safetensors(batch, tensors, HYPER)
    return (cfg, weights, ids[:, :, :-1].long(), targets.long(), None if pos is None else pos.long(),
            model_dir, batch)


def nmse(a, b):
    return float(((a - b) ** 2).sum() / (b ** 2).sum().clamp(min=1e-300))


def run_oracle(cfg, weights, ids, targets, pos):
    """Returns first-step logits/nll/entropy/loss/grads, the per-step losses and final weights."""
    w = {k: v.double().clone().requires_grad_(True) for k, v in weights.items()}
    opt = torch.optim.AdamW(list(w.values()), lr=HYPER["lr_peak"], betas=(HYPER["beta1"], HYPER["beta2"]),
                            eps=HYPER["eps"], weight_decay=HYPER["weight_decay"])
    # Weight decay on matrices only, as tandem does.
    opt.param_groups.clear()
    opt.add_param_group({"params": [v for v in w.values() if v.dim() == 2], "weight_decay": HYPER["weight_decay"]})
    opt.add_param_group({"params": [v for v in w.values() if v.dim() == 1], "weight_decay": 0.0})
    first, losses = {}, []
    for s in range(STEPS):
        for g in opt.param_groups:
            g["lr"] = oracle.lr_at(s, HYPER["lr_peak"], HYPER["lr_min"], HYPER["warmup"], HYPER["total"])
        opt.zero_grad()
        logits = oracle.forward(cfg, w, ids[s], None if pos is None else pos[s])
        loss = oracle.masked_mean_loss(logits, targets[s])
        loss.backward()
        losses.append(loss.item())
        if s == 0:
            logp = logits.log_softmax(-1)
            first = dict(logits=logits.detach(), loss=loss.item(),
                         nll=oracle.token_nll(logits, targets[s]).detach(),
                         entropy=-(logp.exp() * logp).sum(-1).detach(),
                         grads={k: v.grad.clone() for k, v in w.items()})
        torch.nn.utils.clip_grad_norm_(list(w.values()), HYPER["max_norm"])
        opt.step()
    return first, losses, {k: v.detach() for k, v in w.items()}


def check_case(case, args, gen):
    cfg, weights, ids, targets, pos, model_dir, batch = make_case(case, args.workdir, gen)
    out_path = os.path.join(args.workdir, case["name"] + ".out.safetensors")
    subprocess.run([args.runner, args.backend, model_dir, batch, out_path], check=True)
    got, _ = oracle.read_safetensors(out_path)
    ref, ref_losses, ref_final = run_oracle(cfg, weights, ids, targets, pos)
    failures, report = [], []

    def check(label, value, bar):
        report.append(f"{label}={value:.3g} (bar {bar:g})")
        if not value <= bar:
            failures.append(f"{label} = {value:.3g} > {bar:g}")

    gl = got["logits"].double()
    check("logits_max_rel", float((gl - ref["logits"]).abs().max() / ref["logits"].abs().max()), LOGITS_MAX_REL)
    got_loss = float((got["nll"].double().sum()) / (targets[0] >= 0).sum())
    check("loss_rel", abs(got_loss - ref["loss"]) / abs(ref["loss"]), LOSS_REL)
    check("nll_max_abs", float((got["nll"].double() - ref["nll"]).abs().max()), 1e-5)
    check("entropy_max_abs", float((got["entropy"].double() - ref["entropy"]).abs().max()), 1e-5)
    worst = max(((nmse(got["grad." + k].double(), g), k) for k, g in ref["grads"].items()))
    check(f"grad_nmse_max[{worst[1]}]", worst[0], GRAD_NMSE)
    step_rel = max(abs(a - b) / abs(b) for a, b in zip(got["losses"].tolist(), ref_losses))
    check(f"{STEPS}_step_loss_rel", step_rel, STEP_LOSS_REL)
    worst_final = max(nmse(got["final." + k].double(), v) for k, v in ref_final.items())
    check("final_weights_nmse", worst_final, FINAL_WEIGHTS_NMSE)
    status = "FAIL" if failures else "ok"
    print(f"parity[{case['name']}] {status}: " + ", ".join(report))
    return failures


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--runner", required=True)
    ap.add_argument("--workdir", required=True)
    ap.add_argument("--backend", default="cpu")
    args = ap.parse_args()
    os.makedirs(args.workdir, exist_ok=True)
    torch.set_num_threads(2)
    gen = torch.Generator().manual_seed(1234)
    failures = []
    for case in CASES:
        failures += [f"{case['name']}: {f}" for f in check_case(case, args, gen)]
    if failures:
        print("parity FAILED:\n  " + "\n  ".join(failures))
        sys.exit(1)
    print(f"parity: all {len(CASES)} cases match PyTorch")


if __name__ == "__main__":
    main()
