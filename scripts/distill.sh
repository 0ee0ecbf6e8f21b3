#!/usr/bin/env bash
# Distillation by rejection sampling, measured (docs/data.md, issue #18 acceptance 3): a teacher
# (e.g. the demo's GRPO-improved model) labels level-3 problems, K samples each, keeping the
# shortest verified answer; the supervised-only student is fine-tuned on those labels with
# `train --data`, once per seed; every model is evaluated on the same 1000 held-out problems.
#
#   scripts/distill.sh TANDEM STUDENT_MODEL TEACHER_MODEL OUT [PROBLEMS] [K] [STEPS]
set -euo pipefail
tandem=$1 student=$2 teacher=$3 out=$4 problems=${5:-4000} k=${6:-4} steps=${7:-150}
mkdir -p "$out"
accuracy() {  # MODEL -> level-3 accuracy on the held-out problems (eval seed 1)
  "$tandem" eval "$1" --levels 3 --problems 1000 --seed 1 2>/dev/null | awk '$1 == "3" {print $3}'
}
"$tandem" task-data -o "$out/problems.jsonl" --format problems --levels 3 --level-weights 1 \
  --count "$problems" --seed 21 >/dev/null 2>&1
"$tandem" label "$teacher" --data "$out/problems.jsonl" -o "$out/labels.jsonl" --samples "$k" \
  --keep shortest 2>/dev/null | head -2
echo "teacher: $(accuracy "$teacher")   student before: $(accuracy "$student")"
for seed in 1 2 3; do
  "$tandem" train --init-from "$student" --data "$out/labels.jsonl" --seed "$seed" --steps "$steps" \
    --batch 32 --lr 3e-4 --min-lr 3e-5 --warmup 10 --eval-every 50 --checkpoint-every 0 \
    --val-fraction 0.02 --out "$out/student-$seed" >"$out/student-$seed.log" 2>&1
  echo "student seed $seed after: $(accuracy "$out/student-$seed/model")  ($(tail -3 "$out/student-$seed.log" | grep -o 'validation loss [0-9.]*'))"
done
