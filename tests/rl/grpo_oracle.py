#!/usr/bin/env python3
"""tandem's GRPO against an independent PyTorch oracle, in float64.

Part 1 (loss): fixed random completions of different lengths with masks, a truncated row, rewards
giving positive, negative and zero advantages, ratios on both sides of the clip range and exactly
1. For every variant (aggregation x beta x epsilon_high x advantage scaling x mask_truncated) the
advantages, the loss, its gradient with respect to logp (autograd here) and the diagnostics must
equal tandem's.
Part 2 (step): a tiny random Qwen3 model; a prompt+completion batch goes forward, logp = -nll,
the GRPO loss against given old/ref logprobs and advantages, backward. The loss and every
parameter gradient must equal autograd through qwen3_oracle.forward.
Exits non-zero on any failure, 77 when torch is missing.
"""
import argparse
import itertools
import json
import math
import os
import subprocess
import sys

try:
    import torch
except ImportError:
    print("grpo oracle: python3-torch is not installed: skipped (apt-get install python3-torch)")
    sys.exit(77)

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "parity"))
import qwen3_oracle as oracle  # noqa: E402

# Part 1 compares double against double on identical inputs: only summation order differs.
LOSS_REL = 1e-6
GRAD_REL = 1e-6      # max |a - b| / max |b| over the whole gradient
ADV_REL = 1e-6
STATS_ABS = 1e-12    # clip fractions are exact counts; mean KL and ratio are O(1)
# Part 2 runs the model in float32 against a float64 truth. The loss is a signed sum whose terms
# cancel by design (centred advantages), so its error is measured against the same aggregate of
# |per-token loss|: float32 log-probabilities perturb each term, not the (possibly tiny) sum.
STEP_LOSS_REL = 1e-6
STEP_GRAD_NMSE = 1e-8  # per parameter tensor
ADV_EPS = 1e-6


# ---- the formulas, written from the papers with plain torch ops ----

def advantages(rewards, group_size, scaling):
    g = rewards.view(-1, group_size)
    centred = g - g.mean(dim=1, keepdim=True)
    if scaling == "group":
        centred = centred / (g.std(dim=1, unbiased=False, keepdim=True) + ADV_EPS)
    elif scaling == "batch":
        centred = centred / (rewards.std(unbiased=False) + ADV_EPS)
    return centred.reshape(-1)


def grpo_loss(logp, old_logp, ref_logp, adv, mask, truncated, v):
    """Returns (loss, per-token tensors for the diagnostics). logp may require grad."""
    eps_low = v["epsilon"]
    eps_high = v.get("epsilon_high", eps_low)
    m = mask.double()
    if v.get("mask_truncated", False):
        m = m * (1 - truncated.double())[:, None]
    ratio = torch.exp(logp - old_logp)
    a = adv[:, None]
    surrogate = torch.min(ratio * a, torch.clamp(ratio, 1 - eps_low, 1 + eps_high) * a)
    d = ref_logp - logp
    kl = torch.exp(d) - d - 1
    per_token = -(surrogate - v["beta"] * kl)
    loss = aggregate(per_token, m, v)
    n = m.sum()
    stats = torch.stack([
        (((ratio < 1 - eps_low) & (a < 0)).double() * m).sum() / n,
        (((ratio > 1 + eps_high) & (a > 0)).double() * m).sum() / n,
        ((((ratio < 1 - eps_low) & (a < 0)) | ((ratio > 1 + eps_high) & (a > 0))).double() * m).sum() / n,
        (kl * m).sum() / n,
        (ratio * m).sum() / n]).detach()
    # The loss's size before its terms cancel (advantages are centred, so they do): the scale
    # that float32 log-probabilities perturb.
    scale = aggregate(per_token.detach().abs(), m, v)
    return loss, stats, float(scale)


def aggregate(per_token, m, v):
    if v["aggregation"] == "token":
        return (per_token * m).sum() / m.sum().clamp(min=1)
    if v["aggregation"] == "sequence":
        lengths = m.sum(dim=1)
        keep = lengths > 0
        return ((per_token * m).sum(dim=1)[keep] / lengths[keep]).mean()
    return (per_token * m).sum() / (v["max_completion_length"] * per_token.shape[0])


def rel(a, b):
    return float((a - b).abs().max() / b.abs().max().clamp(min=1e-300))


def nmse(a, b):
    return float(((a - b) ** 2).sum() / (b ** 2).sum().clamp(min=1e-300))


class Checker:
    def __init__(self):
        self.failures = []

    def check(self, label, value, bar):
        if not value <= bar:
            self.failures.append(f"{label} = {value:.3g} > {bar:g}")
        return value


# ---- part 1: the loss on host arrays ----

CLIP_EDGES = (0.8, 1.2, 1.28)


def ratio_away_from_edges(gen, n):
    """Ratios in [0.55, 1.7], none within 1e-4 of a clip boundary, about 1 in 6 exactly 1."""
    r = 0.55 + 1.15 * torch.rand(n, generator=gen, dtype=torch.float64)
    for e in CLIP_EDGES:
        near = (r - e).abs() < 1e-4
        r[near] = e + 2e-4
    r[torch.rand(n, generator=gen) < 1 / 6] = 1.0
    return r


def make_loss_inputs(gen):
    G, groups, T = 4, 3, 10
    N = G * groups
    lengths = torch.tensor([10, 3, 7, 1, 5, 10, 2, 8, 6, 4, 9, 10])
    mask = (torch.arange(T)[None, :] < lengths[:, None]).to(torch.uint8)
    mask[2, 4] = 0  # a hole inside a completion
    truncated = (lengths == T).to(torch.uint8)
    truncated[0] = 0  # one full-length completion ended on its stop token
    logp = -(0.05 + 4 * torch.rand(N, T, generator=gen, dtype=torch.float64))
    ratio = ratio_away_from_edges(gen, N * T).view(N, T)
    old = (logp - ratio.log()).float()
    ref = (logp + 0.3 * torch.randn(N, T, generator=gen, dtype=torch.float64)).float()
    # Group 0 mixed, group 1 uniform (zero advantages), group 2 mixed with ties.
    rewards = torch.tensor([1.1, 0.1, 0.1, 0.0, 1.1, 1.1, 1.1, 1.1, 0.0, 1.1, 0.1, 1.1],
                           dtype=torch.float64)
    return dict(logp=logp.float(), old_logp=old, ref_logp=ref, mask=mask, truncated=truncated,
                rewards=rewards), G, T


LOSS_VARIANTS = []
for agg, beta, eps_high, scaling, mask_trunc in itertools.product(
        ("token", "sequence", "dr_grpo"), (0.0, 0.04), (None, 0.28), ("group", "batch", "none"),
        (False, True)):
    v = dict(aggregation=agg, beta=beta, epsilon=0.2, scaling=scaling, mask_truncated=mask_trunc,
             max_completion_length=10)
    if eps_high is not None:
        v["epsilon_high"] = eps_high
    LOSS_VARIANTS.append(v)


def variant_name(v):
    return (f"{v['aggregation']}/beta={v['beta']:g}/eps_high={v.get('epsilon_high', v['epsilon']):g}"
            f"/{v.get('scaling', 'given')}-std" + ("/mask_truncated" if v.get("mask_truncated") else ""))


def check_loss(args, gen, checker):
    inputs, G, T = make_loss_inputs(gen)
    path_in = os.path.join(args.workdir, "loss.in.safetensors")
    path_out = os.path.join(args.workdir, "loss.out.safetensors")
    oracle.write_safetensors(path_in, inputs, {"group_size": G, "variants": json.dumps(LOSS_VARIANTS)})
    subprocess.run([args.runner, "loss", path_in, path_out], check=True)
    got, _ = oracle.read_safetensors(path_out)
    worst = {}
    for k, v in enumerate(LOSS_VARIANTS):
        adv = advantages(inputs["rewards"], G, v["scaling"])
        logp = inputs["logp"].double().requires_grad_(True)
        loss, stats, _ = grpo_loss(logp, inputs["old_logp"].double(), inputs["ref_logp"].double(),
                                   adv, inputs["mask"], inputs["truncated"], v)
        loss.backward()
        name = variant_name(v)
        errs = dict(
            adv=checker.check(f"{name} adv_rel", rel(got[f"adv.{k}"], adv), ADV_REL),
            loss=checker.check(f"{name} loss_rel",
                               abs(float(got[f"loss.{k}"][0]) - loss.item()) / abs(loss.item()), LOSS_REL),
            grad=checker.check(f"{name} grad_rel", rel(got[f"dlogp.{k}"], logp.grad), GRAD_REL),
            stats=checker.check(f"{name} stats_abs", float((got[f"stats.{k}"] - stats).abs().max()),
                                STATS_ABS))
        worst[name] = errs
    by_agg = {}
    for name, errs in worst.items():
        agg = name.split("/")[0]
        for key, val in errs.items():
            by_agg.setdefault(agg, {}).setdefault(key, 0.0)
            by_agg[agg][key] = max(by_agg[agg][key], val)
    for agg, errs in by_agg.items():
        print(f"grpo loss[{agg}, {sum(n.startswith(agg + '/') for n in worst)} variants] worst: "
              + ", ".join(f"{k}={val:.2g}" for k, val in errs.items()))
    if args.verbose:
        for name, errs in worst.items():
            print(f"  {name}: " + ", ".join(f"{k}={val:.2g}" for k, val in errs.items()))
    # The fixed inputs must exercise what they claim to, or the comparison proves little.
    ref_stats = grpo_loss(inputs["logp"].double(), inputs["old_logp"].double(), inputs["ref_logp"].double(),
                          advantages(inputs["rewards"], G, "group"), inputs["mask"], inputs["truncated"],
                          LOSS_VARIANTS[0])[1]
    checker.check("inputs clip low and high sides (min fraction)", -min(float(ref_stats[0]), float(ref_stats[1])), -0.01)


# ---- part 2: a whole update step through a tiny model ----

STEP_MODEL = dict(vocab_size=61, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                  num_key_value_heads=2, head_dim=8, intermediate_size=64, tie_word_embeddings=False,
                  rms_norm_eps=1e-6, rope_theta=10000.0, max_position_embeddings=64)
STEP_VARIANTS = [
    dict(aggregation="token", beta=0.04, epsilon=0.2, epsilon_high=0.28),
    dict(aggregation="sequence", beta=0.0, epsilon=0.2),
    dict(aggregation="dr_grpo", beta=0.1, epsilon=0.2, max_completion_length=12),
]
STEP_RATIOS = (0.6, 0.7, 0.9, 1.0, 1.1, 1.15, 1.25, 1.35, 1.5)  # each far from 0.8, 1.2, 1.28


def make_step_inputs(gen, workdir):
    cfg = STEP_MODEL
    model_dir = os.path.join(workdir, "step-model")
    os.makedirs(model_dir, exist_ok=True)
    with open(os.path.join(model_dir, "config.json"), "w") as f:
        json.dump(dict(cfg, architectures=["Qwen3ForCausalLM"], model_type="qwen3",
                       torch_dtype="float32"), f, indent=2)
    weights = oracle.random_weights(cfg, gen)
    oracle.write_safetensors(os.path.join(model_dir, "model.safetensors"), weights)
    B, T = 4, 14
    prompt = [3, 5, 4, 3]
    completion = [11, 2, 9, 6]  # tokens; the rest of each row is padding
    ids = torch.randint(0, cfg["vocab_size"], (B, T), generator=gen, dtype=torch.int64)
    targets = torch.full((B, T), -1, dtype=torch.int64)
    for b in range(B):
        for t in range(prompt[b] - 1, prompt[b] + completion[b] - 1):
            targets[b, t] = ids[b, t + 1]  # position t predicts completion token t + 1
    w = {k: v.double() for k, v in weights.items()}
    with torch.no_grad():
        logp0 = -oracle.token_nll(oracle.forward(cfg, w, ids), targets)
    pick = torch.randint(0, len(STEP_RATIOS), (B, T), generator=gen)
    ratio = torch.tensor(STEP_RATIOS, dtype=torch.float64)[pick]
    old = (logp0 - ratio.log()).float()
    ref = (logp0 + 0.2 * torch.randn(B, T, generator=gen, dtype=torch.float64)).float()
    adv = torch.tensor([1.2, -0.8, 0.0, -0.4], dtype=torch.float64)
    return cfg, weights, model_dir, dict(ids=ids.int(), targets=targets.int(), old_logp=old,
                                         ref_logp=ref, advantages=adv)


def check_step(args, gen, checker):
    cfg, weights, model_dir, inputs = make_step_inputs(gen, args.workdir)
    path_in = os.path.join(args.workdir, "step.in.safetensors")
    path_out = os.path.join(args.workdir, "step.out.safetensors")
    oracle.write_safetensors(path_in, inputs, {"variants": json.dumps(STEP_VARIANTS)})
    subprocess.run([args.runner, "step", args.backend, model_dir, path_in, path_out], check=True)
    got, _ = oracle.read_safetensors(path_out)
    ids, targets = inputs["ids"].long(), inputs["targets"].long()
    mask = (targets >= 0).to(torch.uint8)
    for k, v in enumerate(STEP_VARIANTS):
        w = {n: t.double().clone().requires_grad_(True) for n, t in weights.items()}
        logp = -oracle.token_nll(oracle.forward(cfg, w, ids), targets)
        loss, stats, scale = grpo_loss(logp, inputs["old_logp"].double(), inputs["ref_logp"].double(),
                                       inputs["advantages"], mask, torch.zeros(ids.shape[0]), v)
        loss.backward()
        name = variant_name(v)
        logp_abs = float((got[f"logp.{k}"].double() - logp.detach()).abs().max())
        loss_err = abs(float(got[f"loss.{k}"][0]) - loss.item())
        loss_rel = loss_err / abs(loss.item())
        loss_scaled = checker.check(f"step {name} loss_err/scale", loss_err / scale, STEP_LOSS_REL)
        worst = max((nmse(got[f"grad.{k}.{n}"].double(), t.grad), n) for n, t in w.items())
        checker.check(f"step {name} grad_nmse[{worst[1]}]", worst[0], STEP_GRAD_NMSE)
        print(f"grpo step[{name}]: loss_err/scale={loss_scaled:.2g} (plain rel {loss_rel:.2g}, "
              f"loss {loss.item():.3g}, scale {scale:.3g}), grad_nmse_max={worst[0]:.2g} "
              f"({worst[1]}), logp_max_abs={logp_abs:.2g}, clip_frac={float(stats[2]):.2f}")


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--runner", required=True)
    ap.add_argument("--workdir", required=True)
    ap.add_argument("--backend", default="cpu")
    ap.add_argument("--verbose", action="store_true", help="print every loss variant's errors")
    args = ap.parse_args()
    os.makedirs(args.workdir, exist_ok=True)
    torch.set_num_threads(2)
    gen = torch.Generator().manual_seed(2025)
    checker = Checker()
    check_loss(args, gen, checker)
    check_step(args, gen, checker)
    if checker.failures:
        print("grpo oracle FAILED:\n  " + "\n  ".join(checker.failures))
        sys.exit(1)
    print(f"grpo oracle: {len(LOSS_VARIANTS)} loss variants and {len(STEP_VARIANTS)} update steps "
          "match PyTorch")


if __name__ == "__main__":
    main()
