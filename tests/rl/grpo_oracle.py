#!/usr/bin/env python3
"""tandem's GRPO against an independent PyTorch oracle, in float64.

Part 1 (loss): fixed random completions of different lengths with masks, a truncated row, rewards
giving positive, negative and zero advantages, ratios on both sides of the clip range and exactly
1. For every variant (aggregation x beta x epsilon_high x advantage scaling x mask_truncated) the
advantages, the loss, its gradient with respect to logp (autograd here) and the diagnostics must
equal tandem's.
Every variant again with rollout-correction weights per token (they scale the clipped surrogate,
not the KL penalty).
Part 2 (step): a tiny random Qwen3 model; a prompt+completion batch goes forward, logp = -nll,
the GRPO loss against given old/ref logprobs and advantages, backward. The loss and every
parameter gradient must equal autograd through qwen3_oracle.forward.
Part 3 (rollout correction): rollout and trainer log-probabilities with small, large, whole-row
and zero gaps; measure_mismatch's every field and apply_correction's weights, mask and stats for
each mode must equal the definitions (docs/grpo.md, "Rollout correction") written here in torch.
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
# Part 3: double against double except the weights, which tandem returns in float32 (relative
# rounding 2^-24). Token counts and the ratio fractions are exact (inputs keep every ratio away
# from the interval edges, so the two exp implementations cannot disagree on a side).
MISMATCH_REL = 1e-9
WEIGHT_REL = 2e-7
CSTATS_REL = 1e-6


# ---- the formulas, written from the papers with plain torch ops ----

def advantages(rewards, group_size, scaling):
    g = rewards.view(-1, group_size)
    centred = g - g.mean(dim=1, keepdim=True)
    if scaling == "group":
        centred = centred / (g.std(dim=1, unbiased=False, keepdim=True) + ADV_EPS)
    elif scaling == "batch":
        centred = centred / (rewards.std(unbiased=False) + ADV_EPS)
    return centred.reshape(-1)


def grpo_loss(logp, old_logp, ref_logp, adv, mask, truncated, v, weights=None):
    """Returns (loss, per-token tensors for the diagnostics). logp may require grad. weights:
    rollout-correction weights per token, multiplying the surrogate only."""
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
    if weights is not None:
        # Masked positions hold -1 (never read): keep them out of the product, not just the sum.
        surrogate = torch.where(m > 0, weights.double() * surrogate, torch.zeros_like(surrogate))
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


def loss_weights(mask):
    """Rollout-correction weights in [0.1, 2.5] with some exactly 0 and 1; -1 where the mask is 0
    (tandem must never read them). Their own generator: the other inputs stay as they were."""
    gen = torch.Generator().manual_seed(7)
    w = 0.1 + 2.4 * torch.rand(mask.shape, generator=gen, dtype=torch.float64)
    pick = torch.rand(mask.shape, generator=gen)
    w[pick < 0.1] = 0.0
    w[pick > 0.9] = 1.0
    w[mask == 0] = -1.0
    return w.float()


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
    weights = loss_weights(inputs["mask"])
    path_in = os.path.join(args.workdir, "loss.in.safetensors")
    path_out = os.path.join(args.workdir, "loss.out.safetensors")
    oracle.write_safetensors(path_in, dict(inputs, weights=weights),
                             {"group_size": G, "variants": json.dumps(LOSS_VARIANTS)})
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
        # The same with rollout-correction weights.
        wlogp = inputs["logp"].double().requires_grad_(True)
        wloss, wstats, _ = grpo_loss(wlogp, inputs["old_logp"].double(), inputs["ref_logp"].double(),
                                     adv, inputs["mask"], inputs["truncated"], v, weights)
        wloss.backward()
        errs.update(
            wloss=checker.check(f"{name} weighted loss_rel",
                                abs(float(got[f"loss.w.{k}"][0]) - wloss.item()) / abs(wloss.item()),
                                LOSS_REL),
            wgrad=checker.check(f"{name} weighted grad_rel", rel(got[f"dlogp.w.{k}"], wlogp.grad),
                                GRAD_REL),
            wstats=checker.check(f"{name} weighted stats_abs",
                                 float((got[f"stats.w.{k}"] - wstats).abs().max()), STATS_ABS))
        # Non-trivial weights must move the gradient (else the weighted check proves little).
        checker.check(f"{name} weights change the gradient (-rel)", -rel(wlogp.grad, logp.grad), -0.1)
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


# ---- part 3: rollout correction ----

RATIO_EDGES = (0.5, 0.8, 1.25, 1.5, 2.0)  # every interval bound and cap the configs below use
CORRECTION_CONFIGS = [
    dict(mode="none"),
    dict(mode="tis", cap=2.0),
    dict(mode="tis", cap=1.5),
    dict(mode="mis", low=0.5, high=2.0),
    dict(mode="mis", low=0.8, high=1.25),
    dict(mode="mask", low=0.5, high=2.0),
    dict(mode="mask", low=0.8, high=1.25),
]
CORRECTION_DEFAULTS = dict(cap=2.0, low=0.5, high=2.0)


def make_correction_inputs():
    """Rollout log-probabilities and the trainer's for the same tokens: mostly small gaps, a few
    large ones, rows shifted whole (down and up, for mis to drop), a bit-equal row, a masked row,
    ragged lengths and a hole."""
    gen = torch.Generator().manual_seed(11)
    N, T = 10, 12
    lengths = torch.tensor([12, 5, 9, 1, 12, 7, 10, 0, 4, 11])
    mask = (torch.arange(T)[None, :] < lengths[:, None]).to(torch.uint8)
    mask[2, 3] = 0
    rollout = -(0.02 + 3 * torch.rand(N, T, generator=gen, dtype=torch.float64))
    delta = 0.15 * torch.randn(N, T, generator=gen, dtype=torch.float64)
    big = torch.rand(N, T, generator=gen) < 0.12
    sign = torch.rand(N, T, generator=gen) < 0.5
    delta[big & sign] = -1.2
    delta[big & ~sign] = 1.0
    delta[5] = -0.95 + 0.05 * torch.randn(T, generator=gen, dtype=torch.float64)  # g ~ 0.39
    delta[6] = 0.85 + 0.05 * torch.randn(T, generator=gen, dtype=torch.float64)   # g ~ 2.3
    delta[8] = 0.0  # bit-equal
    # No token ratio within 1e-4 of an edge.
    ratio = torch.exp(delta)
    for e in RATIO_EDGES:
        near = (ratio - e).abs() < 1e-4
        ratio[near] = e * (1 + 5e-4)
    rollout = rollout.float()
    train = (rollout.double() + ratio.log()).float()
    train[8] = rollout[8]
    nan = float("nan")
    rollout[mask == 0] = nan  # never read
    train[mask == 0] = nan
    return dict(rollout_logp=rollout, train_logp=train, mask=mask)


def mismatch_oracle(rollout, train, mask):
    m = mask.bool()
    lr, lt = rollout.double()[m], train.double()[m]
    p_roll, p_train = torch.exp(lr), torch.exp(lt)
    r = p_train / p_roll
    return torch.stack([
        m.sum().double(),
        (p_roll - p_train).abs().mean(),
        (p_roll - p_train).abs().max(),
        (lr - lt).mean(),
        (r - 1 - torch.log(r)).mean(),
        torch.exp(-lr.mean()),
        torch.exp(-lt.mean()),
        ((r < 0.5) | (r > 2.0)).double().mean(),
        ((r < 0.8) | (r > 1.25)).double().mean()])


def correction_oracle(rollout, train, mask, c):
    """Returns (weights, mask, stats) from the definitions, in float64."""
    c = dict(CORRECTION_DEFAULTS, **c)
    m = mask.bool()
    zero = torch.zeros(mask.shape, dtype=torch.float64)
    log_r = torch.where(m, train.double() - rollout.double(), zero)
    r = torch.exp(log_r)
    n_row = m.sum(dim=1)
    if c["mode"] == "none":
        keep, w = m, m.double()
    elif c["mode"] == "tis":
        keep = m
        w = torch.where(m, torch.clamp(r, max=c["cap"]), zero)
    elif c["mode"] == "mis":
        g = torch.exp(log_r.sum(dim=1) / n_row.clamp(min=1))
        row_keep = (n_row > 0) & (g >= c["low"]) & (g <= c["high"])
        keep = m & row_keep[:, None]
        w = torch.where(keep, g[:, None].expand_as(zero), zero)
    else:
        keep = m & (r >= c["low"]) & (r <= c["high"])
        w = keep.double()
    tokens, kept = m.sum().double(), keep.sum().double()
    kw = w[keep]
    stats = torch.stack([
        tokens, kept, (n_row > 0).sum().double(), ((n_row > 0) & (keep.sum(dim=1) == 0)).sum().double(),
        (tokens - kept) / tokens, kw.mean(), kw.max(), kw.sum() ** 2 / (kept * (kw ** 2).sum())])
    return w, keep.to(torch.uint8), stats


def check_correction(args, checker):
    inputs = make_correction_inputs()
    path_in = os.path.join(args.workdir, "correction.in.safetensors")
    path_out = os.path.join(args.workdir, "correction.out.safetensors")
    oracle.write_safetensors(path_in, inputs, {"configs": json.dumps(CORRECTION_CONFIGS)})
    subprocess.run([args.runner, "correction", path_in, path_out], check=True)
    got, _ = oracle.read_safetensors(path_out)
    rollout, train, mask = inputs["rollout_logp"], inputs["train_logp"], inputs["mask"]

    want = mismatch_oracle(rollout, train, mask)
    fields = ("tokens", "mean_abs_prob_diff", "max_abs_prob_diff", "kl_k1", "kl_k3", "rollout_ppl",
              "train_ppl", "frac_beyond_2x", "frac_beyond_1_25x")
    worst_mismatch = 0.0
    for j, f in enumerate(fields):
        a, b = float(got["mismatch"][j]), float(want[j])
        bar = 0.0 if f in ("tokens", "frac_beyond_2x", "frac_beyond_1_25x") else MISMATCH_REL
        err = abs(a - b) / max(abs(b), 1e-300)
        worst_mismatch = max(worst_mismatch, checker.check(f"mismatch {f} rel ({a} vs {b})", err, bar))
    print(f"rollout mismatch[{int(want[0])} tokens, k1 {float(want[3]):.3g}, k3 {float(want[4]):.3g}, "
          f"beyond 2x {float(want[7]):.2f}, beyond 1.25x {float(want[8]):.2f}] worst rel: "
          f"{worst_mismatch:.2g}")

    stat_names = ("tokens", "kept_tokens", "sequences", "masked_sequences", "masked_fraction",
                  "mean_weight", "max_weight", "ess")
    for k, c in enumerate(CORRECTION_CONFIGS):
        name = "/".join([c["mode"]] + [f"{key}={c[key]:g}" for key in ("cap", "low", "high") if key in c])
        w, keep, stats = correction_oracle(rollout, train, mask, c)
        checker.check(f"correction {name} mask differs (tokens)",
                      float((got[f"mask.{k}"] != keep).sum()), 0)
        w_err = float(((got[f"weights.{k}"].double() - w).abs() / w.abs().clamp(min=1e-300)).max())
        checker.check(f"correction {name} weights rel", w_err, WEIGHT_REL)
        s_err = 0.0
        for j, f in enumerate(stat_names):
            a, b = float(got[f"stats.{k}"][j]), float(stats[j])
            bar = 0.0 if j < 4 else CSTATS_REL
            s_err = max(s_err, checker.check(f"correction {name} {f} rel ({a} vs {b})",
                                             abs(a - b) / max(abs(b), 1e-300), bar))
        print(f"rollout correction[{name}]: kept {int(stats[1])}/{int(stats[0])} tokens, "
              f"{int(stats[3])} sequences dropped, ess {float(stats[7]):.3f}; worst weight rel "
              f"{w_err:.2g}, stats rel {s_err:.2g}")
        # The inputs must exercise each mode: something clipped, dropped or masked.
        if c["mode"] == "tis":
            checker.check(f"inputs: {name} clips a token (-count)",
                          -float(((w == c["cap"]) & (keep > 0)).sum()), -1)
        if c["mode"] in ("mis", "mask"):
            checker.check(f"inputs: {name} masks a token (-count)", -float(stats[0] - stats[1]), -1)
            checker.check(f"inputs: {name} keeps a token (-count)", -float(stats[1]), -1)
    # And no row's geometric mean ratio lies near a mis interval bound.
    m = mask.bool()
    log_r = torch.where(m, train.double() - rollout.double(), torch.zeros(mask.shape, dtype=torch.float64))
    g = torch.exp(log_r.sum(dim=1) / m.sum(dim=1).clamp(min=1))
    closest = min(float((g - e).abs().min()) for e in RATIO_EDGES)
    checker.check("inputs: mis row ratio distance to an edge (-)", -closest, -1e-4)


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
    check_correction(args, checker)
    if checker.failures:
        print("grpo oracle FAILED:\n  " + "\n  ".join(checker.failures))
        sys.exit(1)
    print(f"grpo oracle: {len(LOSS_VARIANTS)} loss variants (unweighted and weighted), "
          f"{len(STEP_VARIANTS)} update steps, the rollout mismatch and {len(CORRECTION_CONFIGS)} "
          "rollout corrections match PyTorch")


if __name__ == "__main__":
    main()
