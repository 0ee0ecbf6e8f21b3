#!/usr/bin/python3
"""Training speed, side by side: tandem vs the PyTorch oracle on the same configuration.

Both run fp32 with 2 threads, the same batch and sequence length, forward + backward + AdamW with
gradient clipping. Prints tokens/s for each, the ratio, achieved GFLOP/s against the fp32 GEMM
ceiling measured in this same run, and each process's peak RSS.

    /usr/bin/python3 bench/train_vs_torch.py --build build [--steps 10] [--only default|25m]
"""
import argparse
import json
import os
import resource
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "parity"))

CONFIGS = {
    # The embedded default (the demo model): see src/tandem/model/presets.h.
    "default": dict(vocab=261, hidden=128, layers=4, heads=4, kv_heads=2, head_dim=32,
                    intermediate=384, batch=16, seq=128),
    # ~25M parameters: d=512, 8 layers, seq 512.
    "25m": dict(vocab=8192, hidden=512, layers=8, heads=8, kv_heads=4, head_dim=64,
                intermediate=1536, batch=4, seq=512),
}


def torch_worker(cfg, steps):
    """Runs in a child process so its peak RSS is its own."""
    import torch
    import qwen3_oracle as oracle
    torch.set_num_threads(2)
    mc = dict(vocab_size=cfg["vocab"], hidden_size=cfg["hidden"], num_hidden_layers=cfg["layers"],
              num_attention_heads=cfg["heads"], num_key_value_heads=cfg["kv_heads"],
              head_dim=cfg["head_dim"], intermediate_size=cfg["intermediate"], rms_norm_eps=1e-6,
              rope_theta=1e6, tie_word_embeddings=True, max_position_embeddings=cfg["seq"])
    gen = torch.Generator().manual_seed(1)
    w = {k: v.requires_grad_(True) for k, v in oracle.random_weights(mc, gen).items()}
    opt = torch.optim.AdamW(list(w.values()), lr=1e-4, betas=(0.9, 0.95), weight_decay=0.1)
    B, T = cfg["batch"], cfg["seq"]

    def step():
        ids = torch.randint(0, mc["vocab_size"], (B, T), generator=gen)
        targets = torch.randint(0, mc["vocab_size"], (B, T), generator=gen)
        opt.zero_grad(set_to_none=False)
        loss = oracle.masked_mean_loss(oracle.forward(mc, w, ids), targets)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(list(w.values()), 1.0)
        opt.step()

    step()
    t0 = time.perf_counter()
    for _ in range(steps):
        step()
    secs = time.perf_counter() - t0
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(dict(engine="torch", tokens_per_s=B * T * steps / secs,
                          step_ms=secs / steps * 1e3, peak_rss_mb=rss)))


def gemm_ceiling():
    """fp32 GEMM GFLOP/s at 1024^2 with 2 threads, through the same OpenBLAS both engines use."""
    import torch
    torch.set_num_threads(2)
    a, b = torch.randn(1024, 1024), torch.randn(1024, 1024)
    for _ in range(3):
        a @ b
    t0, k = time.perf_counter(), 0
    while time.perf_counter() - t0 < 1.5:
        a @ b
        k += 1
    return 2 * 1024 ** 3 * k / (time.perf_counter() - t0) / 1e9


def run_json(cmd, env=None):
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, env=env).stdout
    return json.loads(out.strip().splitlines()[-1])


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default="build")
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--only", choices=sorted(CONFIGS))
    ap.add_argument("--torch-worker", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.torch_worker:
        torch_worker(CONFIGS[args.torch_worker], args.steps)
        return
    ceiling = gemm_ceiling()
    print(f"fp32 GEMM ceiling (1024^2, 2 threads, OpenBLAS): {ceiling:.0f} GFLOP/s")
    env = dict(os.environ, OMP_NUM_THREADS="2", OPENBLAS_NUM_THREADS="2")
    print(f"{'config':8} {'params':>9} {'tandem tok/s':>13} {'torch tok/s':>12} {'ratio':>6} "
          f"{'tandem GF/s':>11} {'of ceiling':>10} {'tandem RSS':>10} {'torch RSS':>9}")
    for name, cfg in CONFIGS.items():
        if args.only and name != args.only:
            continue
        flags = []
        for k in ("vocab", "hidden", "layers", "heads", "kv_heads", "head_dim", "intermediate", "batch", "seq"):
            flags += ["--" + k.replace("_", "-"), str(cfg[k])]
        ours = run_json([os.path.join(args.build, "bench", "bench_train"), *flags, "--steps", str(args.steps)], env)
        theirs = run_json([sys.executable, __file__, "--torch-worker", name, "--steps", str(args.steps)], env)
        print(f"{name:8} {ours['params']/1e6:8.2f}M {ours['tokens_per_s']:13.0f} {theirs['tokens_per_s']:12.0f} "
              f"{ours['tokens_per_s']/theirs['tokens_per_s']:5.2f}x {ours['gflops']:11.1f} "
              f"{ours['gflops']/ceiling:9.0%} {ours['peak_rss_mb']:8.0f}MB {theirs['peak_rss_mb']:7.0f}MB")


if __name__ == "__main__":
    main()
