#!/usr/bin/python3
"""Data-parallel scaling on this machine: `tandem train` as one process with T threads against
`mpirun -np 2` with T/2 threads per rank, the same global batch, for each preset. Prints tokens/s,
peak RSS per process, bytes each rank sends per step, the time a rank waits in collectives per
step against the step's time, and what a second machine would add at a given link speed
(docs/distributed.md). Two ranks run twice: summing gradient buckets while backward runs (the
default) and after it (--no-overlap), to show how much of the wait the overlap hides; --sim-gbps G
puts the ranks' float sums on a simulated link of G Gb/s (TANDEM_COMM_GBPS) to see it on a slow one.

    /usr/bin/python3 bench/dp_scaling.py [--tandem build/tandem] [--presets demo 25m]
        [--steps 30] [--threads 2] [--link-gbps 10] [--sim-gbps G]
"""
import argparse
import json
import os
import shutil
import subprocess
import tempfile

ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
ap.add_argument("--tandem", default="build/tandem")
ap.add_argument("--presets", nargs="+", default=["demo", "25m"])
ap.add_argument("--steps", type=int, default=30)
ap.add_argument("--batch", type=int, default=32)
ap.add_argument("--threads", type=int, default=2, help="threads of the one process (ranks get half each)")
ap.add_argument("--link-gbps", type=float, default=10.0, help="the link of the 2-machine estimate")
ap.add_argument("--sim-gbps", type=float, default=0.0, help="simulated link of the 2-rank runs (0: none)")
args = ap.parse_args()
env = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
           OMP_WAIT_POLICY="passive")


def run(preset, ranks, work, overlap=True):
    out = os.path.join(work, f"{preset}-{ranks}-{overlap}")
    cmd = [args.tandem, "train", "--preset", preset, "--steps", str(args.steps), "--batch", str(args.batch),
           "--eval-every", "0", "--checkpoint-every", "0", "--log-every", "1", "--out", out]
    if not overlap:
        cmd.append("--no-overlap")
    threads = args.threads // ranks
    e = dict(env, OMP_NUM_THREADS=str(threads), TANDEM_COMM_GBPS=str(args.sim_gbps))
    if ranks > 1:
        cmd = ["mpirun", "-np", str(ranks), "--bind-to", "none", "-x", "OMP_NUM_THREADS",
               "-x", "OMP_WAIT_POLICY", "-x", "TANDEM_COMM_GBPS"] + cmd
    # GNU time's maximum RSS is of the largest process it waited for: wrap each rank instead.
    cmd = cmd[:cmd.index(args.tandem)] + ["/usr/bin/time", "-f", "RSS %M", "-a", "-o", out + ".rss"] + \
        cmd[cmd.index(args.tandem):]
    subprocess.run(cmd, env=e, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    with open(os.path.join(out, "metrics.jsonl")) as f:
        recs = [json.loads(line) for line in f if '"kind":"train"' in line]
    with open(out + ".rss") as f:
        rss = max(int(line.split()[1]) for line in f if line.startswith("RSS"))
    # Steady state: from step 5 on (the first steps pay allocation and warm-up).
    a, b = recs[4], recs[-1]
    seconds = b["elapsed_s"] - a["elapsed_s"]
    steps = b["step"] - a["step"]
    return {"tokens_per_s": (b["tokens"] - a["tokens"]) / seconds, "step_ms": 1e3 * seconds / steps,
            "bytes": sum(r["comm_bytes"] for r in recs[5:]) / steps,
            "wait_ms": sum(r["comm_wait_ms"] for r in recs[5:]) / steps, "rss_mb": rss / 1024}


cpu = next((line.split(":", 1)[1].strip() for line in subprocess.run(["lscpu"], capture_output=True, text=True)
            .stdout.splitlines() if line.startswith("Model name")), "?")
print(f"CPU: {cpu}; {args.steps} steps of batch {args.batch}; 1 process x {args.threads} threads "
      f"vs 2 ranks x {args.threads // 2}" + (f"; 2 ranks on a simulated {args.sim_gbps:g} Gb/s link" if args.sim_gbps else "")
      + "\n")
print("| preset | 1 process tokens/s | 2 ranks tokens/s | ratio | step ms (2 ranks) | comm wait ms/step "
      "| 2 ranks, sum after backward: tokens/s, wait ms/step "
      "| bytes sent/rank/step | peak RSS/process MB (1 / 2 ranks) | 2 machines at "
      f"{args.link_gbps:g} Gb/s |")
print("|---|---|---|---|---|---|---|---|---|---|")
work = tempfile.mkdtemp(prefix="dp-scaling-")
try:
    for preset in args.presets:
        one, two, after = run(preset, 1, work), run(preset, 2, work), run(preset, 2, work, overlap=False)
        # Two machines, each as fast as this one process: the compute of a step halves per machine
        # (each takes half the batch), the transfer goes over the link, none of it hidden behind
        # backward (a lower bound: --sim-gbps measures how much the overlap hides).
        compute_ms = one["step_ms"] / 2
        link_ms = two["bytes"] * 8 / (args.link_gbps * 1e9) * 1e3
        gain = one["step_ms"] / (compute_ms + link_ms)
        print(f"| {preset} | {one['tokens_per_s']:.0f} | {two['tokens_per_s']:.0f} | "
              f"{two['tokens_per_s'] / one['tokens_per_s']:.2f}x | {two['step_ms']:.0f} | {two['wait_ms']:.1f} "
              f"({100 * two['wait_ms'] / two['step_ms']:.1f}%) | {after['tokens_per_s']:.0f}, {after['wait_ms']:.1f} "
              f"({100 * after['wait_ms'] / after['step_ms']:.1f}%) | {two['bytes'] / 1e6:.2f} MB | "
              f"{one['rss_mb']:.0f} / {two['rss_mb']:.0f} | {gain:.2f}x (link {link_ms:.1f} ms/step) |", flush=True)
finally:
    shutil.rmtree(work, ignore_errors=True)
