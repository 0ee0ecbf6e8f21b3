#!/usr/bin/env python3
"""GRPO with rollouts from `tandem serve` processes (docs/rl-across-engines.md).

tests/rl/split_rl.py TANDEM MODEL_DIR WORKDIR

1. Bitwise: with --deterministic on trainer and servers, two servers (different slot counts,
   concurrency varied between runs) give every rollout token's log-probability equal to the
   trainer's bits (k3 and every gap exactly 0 in every step), and the final weights equal the
   in-process deterministic run's (byte for byte).
2. Faults, in one run that must still end on those same weights: a server SIGKILLed mid-run (the
   trainer goes on with the other), brought back on its port with its old weights (found by
   version and resynced), and the trainer itself SIGKILLed and resumed with --resume. With
   batch-invariant kernels a rollout is a pure function of (weights, seed, sequence), so any step
   trained on stale or partial rollouts would show as different weights.
3. Without --deterministic the gap is measured, not zero; a q4_0 server shows a larger one.
Prints the weight-sync figures (bytes, ms, share of the step).
"""
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time

tandem, model, work = sys.argv[1], sys.argv[2], sys.argv[3]
shutil.rmtree(work, ignore_errors=True)
os.makedirs(work)
failures = []
KEY = "split-test-key"


def check(ok, what, detail=""):
    print(("ok   " if ok else "FAIL ") + what + ("" if ok else "\n" + detail), flush=True)
    if not ok:
        failures.append(what)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve(port, *extra):
    log = open(f"{work}/serve-{port}.log", "a")
    p = subprocess.Popen([tandem, "serve", model, "--port", str(port), "--admin-key", KEY,
                          "--threads", "1", *extra], stdout=log, stderr=log)
    for _ in range(300):
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return p
        except OSError:
            time.sleep(0.05)
    raise SystemExit(f"server on {port} did not start")


def grpo_args(out, steps=6, *extra):
    return [tandem, "grpo", "--init-from", model, "--out", out, "--steps", str(steps),
            "--prompts", "16", "--group-size", "4", "--max-new-tokens", "64", "--lr", "1e-3",
            "--seed", "3", "--eval-every", "0", "--final-eval-problems", "0",
            "--checkpoint-every", "2", *extra]


def records(out):
    with open(f"{out}/metrics.jsonl") as f:
        return [r for r in map(json.loads, f) if r["kind"] == "grpo"]


def same_weights(a, b):
    with open(f"{a}/model/model.safetensors", "rb") as fa, open(f"{b}/model/model.safetensors", "rb") as fb:
        return fa.read() == fb.read()


env = dict(os.environ, OMP_NUM_THREADS="1")

# The reference: in-process, deterministic.
ref = subprocess.run(grpo_args(f"{work}/inproc", 6, "--deterministic"), capture_output=True, text=True, env=env)
check(ref.returncode == 0, "in-process deterministic run", ref.stderr[-300:])
used = sum(r["groups_used"] for r in records(f"{work}/inproc"))
check(used > 0, f"the reference run updated the policy ({used} groups used)")

# 1. Two deterministic servers, two concurrency settings.
pa, pb = free_port(), free_port()
sa = serve(pa, "--deterministic", "--slots", "8")
sb = serve(pb, "--deterministic", "--slots", "3")
servers = ["--rollout-server", f"127.0.0.1:{pa}", "--rollout-server", f"http://127.0.0.1:{pb}",
           "--admin-key", KEY, "--deterministic"]
for conc in ("1", "4"):
    out = f"{work}/split-c{conc}"
    r = subprocess.run(grpo_args(out, 6, *servers, "--requests-per-server", conc),
                       capture_output=True, text=True, env=env)
    check(r.returncode == 0, f"split run, {conc} request(s) per server", r.stderr[-400:])
    recs = records(out)
    gaps = [(x["mismatch_k1"], x["mismatch_k3"], x["mismatch_max_abs"]) for x in recs]
    check(all(g == (0, 0, 0) for g in gaps), f"k1, k3 and the largest gap are 0 in every step: {gaps}")
    check(all(x["servers"] == 2 for x in recs), "both servers answered every step")
    check(same_weights(f"{work}/inproc", out), f"final weights equal the in-process run's (concurrency {conc})")
    sync = [(x["sync_bytes"], x["sync_ms"], x["step_ms"]) for x in recs]
    share = sum(s[1] for s in sync) / sum(s[2] for s in sync)
    print(f"     weight sync: {sync[0][0]} bytes/step to 2 servers, "
          f"{sum(s[1] for s in sync) / len(sync):.1f} ms/step, {100 * share:.1f}% of step time")

# 2. Faults: kill server A mid-run, bring it back with its old weights, kill and resume the trainer.
out = f"{work}/faults"
trainer = subprocess.Popen(grpo_args(out, 6, *servers, "--requests-per-server", "2"),
                           stdout=subprocess.DEVNULL, stderr=open(f"{work}/faults.log", "w"), env=env)


def wait_records(n, proc):
    for _ in range(1200):
        if os.path.exists(f"{out}/metrics.jsonl") and len(records(out)) >= n:
            return True
        if proc.poll() is not None:
            return False
        time.sleep(0.05)
    return False


check(wait_records(1, trainer), "the faulty run made its first step")
sa.send_signal(signal.SIGKILL)
sa.wait()
check(wait_records(3, trainer), "it went on with one server")
sa = serve(pa, "--deterministic", "--slots", "8")  # back, holding the weights it loads
check(wait_records(4, trainer), "and took the restarted server back")
trainer.send_signal(signal.SIGKILL)
trainer.wait()
done = len(records(out))
r = subprocess.run(grpo_args(out, 6, *servers, "--resume"), capture_output=True, text=True, env=env)
check(r.returncode == 0, f"--resume after the trainer was killed at step {done}", r.stderr[-300:])
recs = records(out)
check([x["step"] for x in recs] == list(range(1, 7)), f"steps 1..6 once each in the log: {[x['step'] for x in recs]}")
check(any(x["servers"] == 1 for x in recs) or "unreachable" in open(f"{work}/faults.log").read(),
      f"a step ran with one server: servers per step {[x['servers'] for x in recs]}")
check(all(x["mismatch_k3"] == 0 for x in recs), "no step trained on stale rollouts (k3 = 0 throughout)")
check(same_weights(f"{work}/inproc", out), "after every fault, the final weights equal the in-process run's")
for p in (sa, sb):
    p.send_signal(signal.SIGTERM)
    p.wait(timeout=30)

# 3. The gap without batch invariance, and from a q4_0 server.
for name, extra in (("f32", []), ("q4_0", ["--weights", "q4_0"])):
    port = free_port()
    s = serve(port, *extra)
    o = f"{work}/gap-{name}"
    r = subprocess.run(grpo_args(o, 2, "--rollout-server", f"127.0.0.1:{port}", "--admin-key", KEY),
                       capture_output=True, text=True, env=env)
    s.send_signal(signal.SIGTERM)
    s.wait(timeout=30)
    check(r.returncode == 0, f"{name} server run", r.stderr[-300:])
    recs = [x for x in records(o) if x["ppl_train"] > 0]
    k3 = max(x["mismatch_k3"] for x in recs) if recs else 0
    print(f"     {name}: k3 {k3:.3g}, max |dp| {max(x['mismatch_max_abs'] for x in recs):.3g}")
    check(k3 > 0, f"{name} server without --deterministic: a gap is measured (k3 {k3:.3g})")

print(f"{len(failures)} failure(s)")
sys.exit(1 if failures else 0)
