#!/usr/bin/python3
"""Checkpoint overhead of `tandem train`: the share of training time spent writing checkpoints at
the default interval (--checkpoint-every 500).

Two short runs of the same training, one writing a checkpoint every --every steps, one writing
none. From the first: the mean time of one save (tandem times each and logs it to metrics.jsonl)
and the median time of a step. The share at the default interval is then
    save / (interval * step + save).
The difference in training-loop time between the two runs, per save, is printed as a cross-check of the
self-timed figure (it also catches costs the timer would miss, such as page-cache pressure).

    /usr/bin/python3 bench/checkpoint_overhead.py --tandem build/tandem [--preset demo] [--batch 32]
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time


def train(tandem, out, args, every):
    cmd = [tandem, "train", "--out", out, "--preset", args.preset, "--batch", str(args.batch),
           "--steps", str(args.steps), "--eval-every", "0", "--log-every", "1",
           "--checkpoint-every", str(every), "--keep-last", "3", "--backend", args.backend]
    start = time.monotonic()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wall = time.monotonic() - start
    with open(os.path.join(out, "metrics.jsonl")) as f:
        records = [json.loads(line) for line in f]
    return wall, records


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--tandem", default="build/tandem")
    p.add_argument("--preset", default="demo")
    p.add_argument("--batch", type=int, default=32, help="problems per step (tandem's default)")
    p.add_argument("--backend", default="cpu")
    p.add_argument("--steps", type=int, default=60)
    p.add_argument("--every", type=int, default=10, help="checkpoint interval of the timed run")
    p.add_argument("--interval", type=int, default=500, help="the default --checkpoint-every")
    args = p.parse_args()
    with tempfile.TemporaryDirectory(prefix="tandem-ckpt-bench-") as tmp:
        wall_with, rec = train(args.tandem, os.path.join(tmp, "with"), args, args.every)
        wall_without, rec_without = train(args.tandem, os.path.join(tmp, "without"), args, 0)
        size = sum(os.path.getsize(os.path.join(tmp, "with", "model", f))
                   for f in os.listdir(os.path.join(tmp, "with", "model")))
    saves = [r["seconds"] for r in rec if r.get("kind") == "checkpoint"]
    periodic = saves[:-1]  # the last one is the end-of-run save
    steps = [r for r in rec if r.get("kind") == "train"]
    saved_at = {r["step"] for r in rec if r.get("kind") == "checkpoint"}
    # Step time from consecutive records, leaving out the steps a save follows.
    deltas = [b["elapsed_s"] - a["elapsed_s"] for a, b in zip(steps, steps[1:])
              if b["step"] == a["step"] + 1 and a["step"] not in saved_at]
    step_s = statistics.median(deltas)
    save_s = statistics.mean(periodic)
    share = save_s / (args.interval * step_s + save_s)
    # Training-loop time (the last train record) with 5 periodic saves minus without any.
    loop_with = steps[-1]["elapsed_s"]
    loop_without = [r for r in rec_without if r.get("kind") == "train"][-1]["elapsed_s"]
    per_save_wall = (loop_with - loop_without) / max(len(periodic), 1)
    print(f"preset {args.preset}, batch {args.batch}, backend {args.backend}, "
          f"OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'all')}")
    print(f"checkpoint size      {size / 1e6:.1f} MB (weights, AdamW moments, state, tokenizer)")
    print(f"one step             {step_s * 1000:.1f} ms (median of {len(deltas)})")
    print(f"one checkpoint save  {save_s * 1000:.1f} ms (mean of {len(periodic)}, fsync included;"
          f" min {min(periodic) * 1000:.1f}, max {max(periodic) * 1000:.1f})")
    print(f"wall-clock check     {per_save_wall * 1000:.1f} ms per save: training loop "
          f"{loop_with:.1f} s with, {loop_without:.1f} s without (noisy on a shared machine)")
    print(f"overhead at --checkpoint-every {args.interval}: {100 * share:.2f}% of training time")
    return 0 if share <= 0.05 else 1


if __name__ == "__main__":
    sys.exit(main())
