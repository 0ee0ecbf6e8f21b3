#!/usr/bin/env python3
"""Does GRPO lift held-out accuracy? The measurement of docs/grpo.md, over several seeds.

One supervised model, `tandem demo --seed SFT_SEED --grpo-steps 0` (trained once, reused when
OUT/sft-SFT_SEED/model exists), then for each seed S `tandem grpo --seed S` from it on the target
level: the seed draws the prompts and samples the completions, so the spread over seeds is the
spread of the RL run itself. (--sft-seed same gives each GRPO seed its own supervised model
instead: `tandem demo --seed S`.)
tandem grpo evaluates every level on --final-eval-problems held-out problems (greedy, fixed
seed) before its first step and after its last; this script collects those evaluations and prints,
per level, the change of each seed and the mean and spread over seeds, then checks the bar:

    target level +15 points or more (mean and every seed), easier levels down 2 points at most,
    GRPO wall time (evaluations included) 10 minutes at most.

--ranks N runs each GRPO data parallel: `mpirun -np N` with one thread per rank
(docs/distributed.md); the supervised model is still trained in one process.

Writes OUT/summary.md (the tables) and OUT/heldout.svg (target-level accuracy during GRPO, one line
per seed). Exit status 0 when the bar is met, 1 when not.

    python3 scripts/grpo-seeds.py --tandem build/tandem --out runs/grpo-seeds [--seeds 1 2 3]
        [--ranks 2] [-- extra tandem grpo flags]
"""
import argparse
import os
import shutil
import statistics
import sys

from tandem_runs import evals, run, svg_lines


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--tandem", default="build/tandem")
    p.add_argument("--out", default="runs/grpo-seeds")
    p.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    p.add_argument("--sft-seed", default="1", help="seed of the supervised model, or 'same' (each GRPO seed's own)")
    p.add_argument("--level", type=int, default=3, help="the level GRPO trains and is judged on")
    p.add_argument("--minutes", type=float, default=10.0, help="time limit of one GRPO run")
    p.add_argument("--ranks", type=int, default=1, help="GRPO under mpirun -np RANKS, one thread each")
    p.add_argument("grpo_args", nargs=argparse.REMAINDER, help="after --: more tandem grpo flags")
    a = p.parse_args()
    extra = [x for x in a.grpo_args if x != "--"]
    os.makedirs(a.out, exist_ok=True)

    results = {}  # seed -> (evals, seconds)
    for seed in a.seeds:
        sft_seed = seed if a.sft_seed == "same" else int(a.sft_seed)
        sft = os.path.join(a.out, f"sft-{sft_seed}")
        if not os.path.exists(os.path.join(sft, "model", "model.safetensors")):
            print(f"supervised model: tandem demo --seed {sft_seed} --grpo-steps 0 ...", flush=True)
            run([a.tandem, "demo", "--seed", str(sft_seed), "--grpo-steps", "0", "--out", sft],
                os.path.join(a.out, f"sft-{sft_seed}.log"))
        rl = os.path.join(a.out, f"grpo-{seed}")
        cmd = [a.tandem, "grpo", "--init-from", os.path.join(sft, "model"), "--seed", str(seed),
               "--levels", str(a.level), "--out", rl] + extra
        if a.ranks > 1:
            cmd = ["mpirun", "-np", str(a.ranks), "-x", "OMP_NUM_THREADS=1"] + cmd
        print(f"seed {seed}: {' '.join(cmd)}", flush=True)
        shutil.rmtree(rl, ignore_errors=True)  # a fresh run, not a resume
        seconds = run(cmd, os.path.join(a.out, f"grpo-{seed}.log"))
        results[seed] = (evals(os.path.join(rl, "metrics.jsonl")), seconds)
        e = results[seed][0][a.level]
        print(f"seed {seed}: level {a.level} {100 * e[0][1]:.1f}% -> {100 * e[-1][1]:.1f}% in {seconds:.0f} s",
              flush=True)

    levels = sorted(results[a.seeds[0]][0])
    origin = ("each seed's own supervised model" if a.sft_seed == "same"
              else f"the supervised model of `tandem demo --seed {a.sft_seed}`")
    lines = [f"# GRPO on level {a.level}, seeds {' '.join(map(str, a.seeds))}", "",
             f"From {origin}.", "",
             f"tandem grpo flags: `--levels {a.level} {' '.join(extra)}`" +
             (f", under `mpirun -np {a.ranks}` (one thread per rank)" if a.ranks > 1 else ""), "",
             "Held-out accuracy (greedy), before and after GRPO; change in points:", "",
             "| level | " + " | ".join(f"seed {s}" for s in a.seeds) + " | mean change | spread (min to max) |",
             "|---|" + "---|" * len(a.seeds) + "---|---|"]
    ok = True
    verdicts = []
    for level in levels:
        cells, changes = [], []
        for s in a.seeds:
            e = results[s][0][level]
            before, after = e[0][1], e[-1][1]
            changes.append(100 * (after - before))
            cells.append(f"{100 * before:.1f} -> {100 * after:.1f} ({changes[-1]:+.1f})")
        mean = statistics.mean(changes)
        lines.append(f"| {level} | " + " | ".join(cells) +
                     f" | {mean:+.1f} | {min(changes):+.1f} to {max(changes):+.1f} |")
        if level == a.level:
            starts = sorted({results[s][0][level][0][1] for s in a.seeds})
            good = all(0.2 <= x <= 0.8 for x in starts)
            verdicts.append(f"level {level} before GRPO: {', '.join(f'{100 * x:.1f}%' for x in starts)} "
                            f"(must lie in 20-80%): {'yes' if good else 'NO'}")
            ok &= good
            good = min(changes) >= 15
            verdicts.append(f"level {level} (target): mean {mean:+.1f}, worst seed {min(changes):+.1f} "
                            f"(bar +15): {'met' if good else 'NOT met'}")
            ok &= good
        elif all(results[s][0][level][0][1] > results[s][0][a.level][0][1] for s in a.seeds):
            # Easier: the supervised model solves more of it than of the target level (level 4,
            # longer additions, counts; level 5 does not).
            good = min(changes) >= -2
            verdicts.append(f"level {level} (easier): worst seed {min(changes):+.1f} (bar -2): "
                            f"{'met' if good else 'NOT met'}")
            ok &= good
    times = [results[s][1] for s in a.seeds]
    good = max(times) <= 60 * a.minutes
    verdicts.append(f"GRPO wall time: {', '.join(f'{t / 60:.1f}' for t in times)} min "
                    f"(bar {a.minutes:g}): {'met' if good else 'NOT met'}")
    ok &= good
    problems = {results[s][0][a.level][-1][2] for s in a.seeds}
    lines += ["", f"Problems per level in the first and last evaluation: {sorted(problems)}", ""]
    lines += [f"- {v}" for v in verdicts] + ["", "![held-out accuracy](heldout.svg)", ""]
    with open(os.path.join(a.out, "summary.md"), "w") as f:
        f.write("\n".join(lines))
    series = [(f"seed {s}", [(st, acc) for st, acc, _ in results[s][0][a.level]]) for s in a.seeds]
    with open(os.path.join(a.out, "heldout.svg"), "w") as f:
        f.write(svg_lines(f"Level {a.level} held-out accuracy during GRPO", series, "accuracy"))
    print("\n".join(lines))
    print("bar met" if ok else "bar NOT met")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
