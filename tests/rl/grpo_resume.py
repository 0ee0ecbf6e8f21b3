#!/usr/bin/env python3
"""A GRPO run interrupted and resumed ends bit for bit where an uninterrupted run ends.

tests/rl/grpo_resume.py TANDEM WORKDIR

1. A small supervised model (enough steps that some rollouts earn a reward, so updates happen).
2. The reference: `tandem grpo` for STEPS steps with a KL reference (beta > 0, so the frozen
   reference is part of the checkpoint), two epochs per batch, checkpoints every 2 steps.
3. Killed with SIGKILL right after a checkpoint appears, then `--resume`: same final weights,
   optimizer moments and per-step metrics (timings aside) as the reference.
4. SIGTERM: finishes the step, checkpoints, exits 0; `--resume` again ends identical.
5. The newest checkpoint damaged (one byte flipped): resume says it skipped it, uses the one
   before, and still ends identical.
"""
import json
import os
import shutil
import signal
import subprocess
import sys
import time

STEPS = 8
tandem, work = sys.argv[1], sys.argv[2]
shutil.rmtree(work, ignore_errors=True)
os.makedirs(work)
failures = []


def check(ok, what):
    print(("ok   " if ok else "FAIL ") + what, flush=True)
    if not ok:
        failures.append(what)


def run(args, **kw):
    return subprocess.run([tandem] + args, capture_output=True, text=True, **kw)


sft = run(["train", "--out", f"{work}/sft", "--steps", "200", "--batch", "16", "--levels", "1",
           "--level-weights", "1", "--eval-every", "0", "--checkpoint-every", "0", "--seed", "5"])
check(sft.returncode == 0, "supervised model trained: " + sft.stderr[-300:])


def grpo_args(out):
    return ["grpo", "--init-from", f"{work}/sft/model", "--out", out, "--levels", "1",
            "--steps", str(STEPS), "--prompts", "4", "--group-size", "4", "--max-new-tokens", "40",
            "--epochs", "2", "--beta", "0.05", "--lr", "1e-3", "--seed", "7", "--eval-every", "0",
            "--final-eval-problems", "0", "--checkpoint-every", "2", "--keep-last", "3"]


def grpo_records(out):
    # Timings (throughputs, milliseconds) differ between runs; everything else must not.
    keep = lambda r: {k: v for k, v in r.items() if not k.endswith(("tokens_per_s", "_ms"))}
    with open(f"{out}/metrics.jsonl") as f:
        records = [json.loads(line) for line in f]
    return [keep(r) for r in records if r["kind"] == "grpo"]


def same_files(a, b, what):
    for name in ("model.safetensors", "optimizer.safetensors"):
        with open(f"{a}/model/{name}", "rb") as fa, open(f"{b}/model/{name}", "rb") as fb:
            check(fa.read() == fb.read(), f"{what}: {name} bitwise identical")
    check(grpo_records(a) == grpo_records(b), f"{what}: per-step metrics identical")


def start_and_wait_for(out, checkpoint):
    proc = subprocess.Popen([tandem] + grpo_args(out), stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 600
    while not os.path.isdir(f"{out}/checkpoints/{checkpoint}") and proc.poll() is None:
        if time.time() > deadline:
            break
        time.sleep(0.02)
    return proc


ref = f"{work}/ref"
r = run(grpo_args(ref))
check(r.returncode == 0, "uninterrupted run: " + r.stderr[-300:])
records = grpo_records(ref)
check(len(records) == STEPS, f"{len(records)} step records")
check(any(x["groups_used"] > 0 for x in records) and any(x["kl"] > 0 for x in records),
      "updates happened (informative groups, non-zero KL): the comparison is not vacuous")

# SIGKILL after the step-4 checkpoint, then resume.
killed = f"{work}/killed"
proc = start_and_wait_for(killed, "step-000004")
proc.kill()
proc.wait()
r = run(grpo_args(killed) + ["--resume"])
check(r.returncode == 0 and "resuming GRPO from" in r.stderr, "resume after SIGKILL: " + r.stderr[-300:])
same_files(ref, killed, "SIGKILL + resume")

# SIGTERM: the step finishes, a checkpoint is written, exit 0.
termed = f"{work}/termed"
proc = start_and_wait_for(termed, "step-000002")
proc.send_signal(signal.SIGTERM)
_, err = proc.communicate()
check(proc.returncode == 0, f"SIGTERM exits 0 (got {proc.returncode})")
r = run(grpo_args(termed) + ["--resume"])
check(r.returncode == 0, "resume after SIGTERM: " + r.stderr[-300:])
same_files(ref, termed, "SIGTERM + resume")

# The newest checkpoint damaged: resume falls back to the previous one.
damaged = f"{work}/damaged"
proc = start_and_wait_for(damaged, "step-000006")
proc.kill()
proc.wait()
newest = sorted(d for d in os.listdir(f"{damaged}/checkpoints") if d.startswith("step-"))[-1]
path = f"{damaged}/checkpoints/{newest}/model.safetensors"
with open(path, "r+b") as f:
    f.seek(os.path.getsize(path) // 2)
    byte = f.read(1)
    f.seek(-1, os.SEEK_CUR)
    f.write(bytes([byte[0] ^ 0x01]))
r = run(grpo_args(damaged) + ["--resume"])
check(r.returncode == 0 and newest in r.stderr, "resume skips the damaged checkpoint: " + r.stderr[-400:])
same_files(ref, damaged, "damaged newest checkpoint + resume")

print(f"{len(failures)} failure(s)")
sys.exit(1 if failures else 0)
