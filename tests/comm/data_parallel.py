#!/usr/bin/env python3
"""Data-parallel `tandem train` under mpirun -np 2 against one process (docs/distributed.md):

  1. --deterministic: two ranks (one micro-batch of 16 each) give the bits of one process with two
     micro-batches of 16: model, optimizer state and every logged loss equal; with --zero 1 too.
  2. Default kernels: the same global batch of 32 in one process (one micro-batch) and in two
     ranks (with and without --zero 1): every logged loss within 1e-5 relative; gradients summed
     bucket by bucket during backward give the bits of one sum after it (--no-overlap).
  3. Resume with another rank count: two ranks (--zero 1) stopped after step 5
     (TANDEM_STOP_AFTER_STEP), then one process --resume, and the other way round: the final model
     and optimizer equal the uninterrupted run's.
  4. A rank killed with SIGKILL: mpirun ends the job within 60 s, non-zero, naming the lost rank;
     --resume (one process) then ends bitwise equal to the uninterrupted run.
  5. DiLoCo (--diloco-steps 5): collectives only every 5th step; a stop asked for after step 8
     waits for the synchronisation at step 10; --resume (two ranks) ends bitwise equal to the
     uninterrupted run, every rank's inner moments and the outer momentum included.
  6. GRPO (--deterministic): two ranks sample exactly the completions one process samples (each
     its share of the prompts, the same random streams), so every step's rewards, accuracy and
     groups match; the update's figures agree within 1e-5 relative (micro-batches are summed in
     another order); the held-out evaluation, split over the ranks, gives the same accuracy;
     --resume with two ranks ends bitwise equal to the uninterrupted two-rank run; rollouts from
     servers under two ranks are refused with a one-line error.
  7. `tandem demo` under two ranks: every phase runs data parallel (training and GRPO records say
     2 ranks), rank 0 writes the report, and no rank reads the models before rank 0 has written
     them.

  data_parallel.py TANDEM_BINARY WORK_DIR [--preset demo] [--batch 32] [--steps 10] [--sections 1 2 3 4 5 6 7]

(--preset, --batch and --steps shape sections 1-3: docs/distributed.md runs them on the 25m preset.)
"""
import argparse
import filecmp
import json
import os
import shutil
import signal
import subprocess
import sys
import time

ap = argparse.ArgumentParser()
ap.add_argument("tandem")
ap.add_argument("work")
ap.add_argument("--preset", default="demo")
ap.add_argument("--batch", type=int, default=32)
ap.add_argument("--steps", type=int, default=10)
ap.add_argument("--sections", type=int, nargs="+", default=[1, 2, 3, 4, 5, 6, 7])
a = ap.parse_args()
tandem, work = a.tandem, a.work
half = str(a.batch // 2)
shape = ["--preset", a.preset, "--batch", str(a.batch)]
shutil.rmtree(work, ignore_errors=True)
os.makedirs(work)
env = dict(os.environ, OMP_NUM_THREADS="1", OMPI_ALLOW_RUN_AS_ROOT="1",
           OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1", OMPI_MCA_rmaps_base_oversubscribe="1")
MPIRUN = ["mpirun", "-np", "2", "--bind-to", "none"]
failures = []


def check(ok, what):
    print(("ok   " if ok else "FAIL ") + what, flush=True)
    if not ok:
        failures.append(what)


def train(name, *flags, ranks=1, extra_env=None, check_rc=True):
    cmd = [tandem, "train", "--out", os.path.join(work, name), "--eval-every", "0", "--log-every", "1",
           *flags]
    if ranks > 1:
        cmd = MPIRUN + cmd
    r = subprocess.run(cmd, env=dict(env, **(extra_env or {})), capture_output=True, text=True)
    if check_rc and r.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed ({r.returncode}):\n{r.stdout}\n{r.stderr}")
    return r


def losses(name):
    with open(os.path.join(work, name, "metrics.jsonl")) as f:
        recs = [json.loads(line) for line in f]
    return {r["step"]: r["loss"] for r in recs if r["kind"] == "train"}


def same_files(a, b):
    return all(filecmp.cmp(os.path.join(work, a, "model", f), os.path.join(work, b, "model", f), shallow=False)
               for f in ("model.safetensors", "optimizer.safetensors"))


def bits():  # 1. Bitwise with --deterministic.
    det = [*shape, "--deterministic", "--steps", str(a.steps), "--checkpoint-every", "0"]
    train("det-one", *det, "--micro-batch", half)
    train("det-two", *det, ranks=2)
    check(same_files("det-one", "det-two"),
          "deterministic: 2 ranks = 1 process with 2 micro-batches (model, optimizer)")
    check(losses("det-one") == losses("det-two"), "deterministic: every logged loss equal")
    train("det-zero", *det, "--zero", "1", ranks=2)
    check(same_files("det-one", "det-zero") and losses("det-one") == losses("det-zero"),
          "deterministic, --zero 1: 2 ranks = 1 process (model, optimizer, losses)")
    with open(os.path.join(work, "det-two", "metrics.jsonl")) as f:
        rec = [json.loads(line) for line in f if '"train"' in line][-1]
    check(rec["ranks"] == 2 and rec["comm_bytes"] > 0, f"2 ranks log their traffic ({rec['comm_bytes']} bytes/step)")


def tolerance():  # 2. Default kernels: within 1e-5 relative.
    plain = [*shape, "--steps", str(a.steps), "--checkpoint-every", "0"]
    train("plain-one", *plain)
    train("plain-two", *plain, ranks=2)
    train("plain-zero", *plain, "--zero", "1", ranks=2)
    one = losses("plain-one")
    for name in ("plain-two", "plain-zero"):
        two = losses(name)
        worst = max(abs(one[s] - two[s]) / abs(one[s]) for s in one)
        check(one.keys() == two.keys() and worst <= 1e-5,
              f"default kernels, {name}: losses within 1e-5 relative of one process (worst {worst:.2e})")
    # Buckets summed while backward runs (the default) or the slab after it: the same sums.
    train("plain-after", *plain, "--no-overlap", ranks=2)
    check(same_files("plain-two", "plain-after") and losses("plain-two") == losses("plain-after"),
          "default kernels: overlapped bucket sums = one sum after backward, bit for bit")


def switch_ranks():  # 3. Stopped in one rank count, resumed in another, both ways.
    stop = str(max(1, a.steps // 2))
    run = [*shape, "--deterministic", "--steps", str(a.steps), "--checkpoint-every", stop,
           "--micro-batch", half]
    train("whole", *run)
    train("switch", *run, "--zero", "1", ranks=2, extra_env={"TANDEM_STOP_AFTER_STEP": stop})
    check(os.path.isdir(os.path.join(work, "switch", "checkpoints", f"step-{int(stop):06d}")),
          f"stopped after step {stop}, checkpoint written")
    train("switch", *run, "--resume")
    check(same_files("whole", "switch") and losses("whole") == losses("switch"),
          "2 ranks (--zero 1) -> --resume in 1 process: model, optimizer, losses equal the uninterrupted run's")
    train("back", *run, extra_env={"TANDEM_STOP_AFTER_STEP": stop})
    train("back", *run, "--zero", "1", "--resume", ranks=2)
    check(same_files("whole", "back") and losses("whole") == losses("back"),
          "1 process -> --resume in 2 ranks (--zero 1): model, optimizer, losses equal the uninterrupted run's")


def rank_killed():  # 4. SIGKILL of rank 1 mid-run, then --resume.
    run = ["--deterministic", "--steps", "40", "--checkpoint-every", "5", "--micro-batch", "16"]
    train("whole40", *run)
    out = os.path.join(work, "killed")
    log = open(out + ".log", "w")
    proc = subprocess.Popen(MPIRUN + [tandem, "train", "--out", out, "--eval-every", "0", *run], env=env,
                            stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 120
    while not os.path.isdir(os.path.join(out, "checkpoints", "step-000010")) and time.monotonic() < deadline:
        time.sleep(0.05)
    victim = None
    for pid in os.listdir("/proc"):
        try:
            with open(f"/proc/{pid}/environ", "rb") as f:
                environ = f.read().split(b"\0")
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                argv = f.read().split(b"\0")
        except OSError:
            continue
        if argv[0].endswith(b"tandem") and out.encode() in argv and b"OMPI_COMM_WORLD_RANK=1" in environ:
            victim = int(pid)
    check(victim is not None and proc.poll() is None, "found rank 1 while the run goes on")
    if not victim:
        return
    killed_at = time.monotonic()
    os.kill(victim, signal.SIGKILL)
    try:
        rc = proc.wait(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()
        rc = None
    waited = time.monotonic() - killed_at
    log.close()
    text = open(out + ".log").read()
    check(rc not in (None, 0), f"the job ended non-zero ({rc}) {waited:.1f} s after the kill (bar: 60 s)")
    check("rank 1" in text, "its message names rank 1: " +
          next((line.strip() for line in text.splitlines() if "rank 1" in line), "(none)"))
    train("killed", *run, "--resume")
    check(same_files("whole40", "killed"), "--resume after the kill ends bitwise equal to the uninterrupted run")


def diloco():  # 5. DiLoCo.
    run = ["--steps", "20", "--diloco-steps", "5", "--checkpoint-every", "10"]
    train("diloco", *run, ranks=2)
    with open(os.path.join(work, "diloco", "metrics.jsonl")) as f:
        recs = [json.loads(line) for line in f if '"train"' in line]
    talking = [r["step"] for r in recs if r["comm_bytes"] > 0]
    check(talking == [5, 10, 15, 20], f"DiLoCo: parameters exchanged at steps {talking} only (want 5, 10, 15, 20)")
    train("diloco-stop", *run, ranks=2, extra_env={"TANDEM_STOP_AFTER_STEP": "8"})
    check(sorted(d for d in os.listdir(os.path.join(work, "diloco-stop", "checkpoints")) if d.startswith("step-"))
          == ["step-000010"], "DiLoCo: a stop after step 8 waits for the synchronisation at step 10")
    train("diloco-stop", *run, "--resume", ranks=2)
    check(all(filecmp.cmp(os.path.join(work, "diloco", "model", f), os.path.join(work, "diloco-stop", "model", f),
                          shallow=False) for f in ("model.safetensors", "optimizer.safetensors", "diloco.safetensors")),
          "DiLoCo: --resume ends bitwise equal to the uninterrupted run (model, rank 0's and every rank's moments, "
          "momentum)")


def grpo():  # 6. GRPO over two ranks.
    train("grpo-sft", "--steps", "200", "--batch", "16", "--levels", "1", "--level-weights", "1",
          "--checkpoint-every", "0", "--seed", "5")
    base = ["grpo", "--init-from", os.path.join(work, "grpo-sft", "model"), "--levels", "1", "--steps", "4",
            "--prompts", "8", "--group-size", "4", "--max-new-tokens", "40", "--lr", "1e-3", "--seed", "7",
            "--eval-every", "2", "--eval-problems", "20", "--final-eval-problems", "40", "--checkpoint-every", "2",
            "--deterministic"]

    def grpo_run(name, *flags, ranks=1):
        cmd = [tandem, *base, "--out", os.path.join(work, name), *flags]
        r = subprocess.run(MPIRUN + cmd if ranks > 1 else cmd, env=env, capture_output=True, text=True)
        if r.returncode != 0:
            sys.exit(f"{' '.join(cmd)} failed ({r.returncode}):\n{r.stdout}\n{r.stderr}")

    def records(name, kind):
        with open(os.path.join(work, name, "metrics.jsonl")) as f:
            return [r for r in map(json.loads, f) if r["kind"] == kind]

    grpo_run("grpo-one")
    grpo_run("grpo-two", ranks=2)
    one, two = records("grpo-one", "grpo"), records("grpo-two", "grpo")
    check(len(one) == len(two) == 4, f"GRPO: 4 steps logged by one process ({len(one)}) and two ranks ({len(two)})")
    sampled = ("reward_mean", "reward_std", "accuracy", "format_rate", "mean_length", "groups_used")
    check(all(x[k] == y[k] for x, y in zip(one, two) for k in sampled),
          "GRPO: two ranks sample and score what one process does (rewards, accuracy, groups equal at every step)")
    merged = ("grad_norm", "entropy", "ppl_rollout", "ppl_train")
    rel = max(abs(x[k] - y[k]) / max(abs(x[k]), 1e-12) for x, y in zip(one, two) for k in merged)
    check(rel < 1e-5, f"GRPO: gradient norm, entropy, perplexities within 1e-5 relative (worst {rel:.2e})")
    check(all(r["ranks"] == 2 and r["comm_bytes"] > 0 for r in two), "GRPO: two ranks log ranks 2 and the bytes sent")
    evals = lambda name: [(r["step"], r["level"], r["accuracy"], r["format_rate"], r["mean_tokens"])
                          for r in records(name, "eval")]
    check(evals("grpo-one") == evals("grpo-two") and len(evals("grpo-one")) == 15,
          "GRPO: the held-out evaluations (3 x 5 levels) split over two ranks equal one process's (accuracy, "
          f"format rate, mean length); level 1: {[e[2] for e in evals('grpo-two') if e[1] == 1]}")
    shutil.copytree(os.path.join(work, "grpo-two"), os.path.join(work, "grpo-resumed"))
    shutil.rmtree(os.path.join(work, "grpo-resumed", "model"))
    grpo_run("grpo-resumed", "--resume", ranks=2)
    check(same_files("grpo-two", "grpo-resumed"), "GRPO: two ranks resumed from step 2 end bitwise equal")
    r = subprocess.run(MPIRUN + [tandem, *base, "--out", os.path.join(work, "grpo-servers"), "--rollout-server",
                                 "http://127.0.0.1:9", "--admin-key", "k"], env=env, capture_output=True, text=True)
    check(r.returncode != 0 and "--rollout-server" in r.stderr and "2 ranks" in r.stderr,
          "GRPO: rollouts from servers under two ranks are refused: " + r.stderr.strip().splitlines()[0][:160])


def demo():  # 7. The main job under two ranks.
    out = os.path.join(work, "demo")
    cmd = MPIRUN + [tandem, "demo", "--steps", "40", "--grpo-steps", "2", "--grpo-prompts", "8",
                    "--final-problems", "40", "--checkpoint-every", "20", "--out", out]
    r = subprocess.run(cmd, env=env, capture_output=True, text=True)
    check(r.returncode == 0 and os.path.exists(os.path.join(out, "report.md")),
          f"demo under 2 ranks finishes with its report (exit {r.returncode}) {r.stderr[-300:] if r.returncode else ''}")
    ranks = set()
    for metrics in (os.path.join(out, "metrics.jsonl"), os.path.join(out, "grpo", "metrics.jsonl")):
        if os.path.exists(metrics):
            with open(metrics) as f:
                ranks |= {(r["kind"], r["ranks"]) for r in map(json.loads, f) if r["kind"] in ("train", "grpo")}
    check(ranks == {("train", 2), ("grpo", 2)}, f"demo: training and GRPO ran on 2 ranks ({sorted(ranks)})")


for number, section in enumerate([bits, tolerance, switch_ranks, rank_killed, diloco, grpo, demo], start=1):
    if number in a.sections:
        section()
print(f"{len(failures)} failure(s)")
sys.exit(1 if failures else 0)
