#!/usr/bin/env bash
# tests/cli/cli_checks.sh TANDEM WORKDIR: exercises the CLI the way a user would.
set -uo pipefail
tandem=$1 work=$2
rm -rf "$work" && mkdir -p "$work"
failures=0
pass() { echo "ok   $*"; }
fail() { echo "FAIL $*"; failures=$((failures + 1)); }

# expect CODE PATTERN -- command...: exit code and a pattern in stderr+stdout.
expect() {
  local code=$1 pattern=$2; shift 3
  local out rc
  out=$("$@" 2>&1); rc=$?
  if [[ $rc -ne $code ]]; then fail "$* -> exit $rc, expected $code: $out"; return; fi
  if ! grep -qE -- "$pattern" <<<"$out"; then fail "$* -> output lacks /$pattern/: $out"; return; fi
  pass "$* (exit $rc)"
}

for cmd in demo train eval generate version tokenize train-tokenizer; do
  expect 0 "Usage|usage" -- "$tandem" "$cmd" --help
done
expect 2 "not expected|Unrecognized|unknown|extra" -- "$tandem" demo --no-such-flag
expect 2 "steps" -- "$tandem" train --steps -5
expect 2 "steps|Could not convert|failed" -- "$tandem" train --steps abc
expect 1 "no such model directory" -- "$tandem" generate "$work/missing" -p hi
mkdir -p "$work/empty"
expect 1 "no config.json" -- "$tandem" generate "$work/empty" -p hi

# The main job, tiny: trains, evaluates, writes the run directory.
expect 0 "report" -- "$tandem" demo --steps 8 --batch 4 --eval-every 4 --eval-problems 2 \
  --final-problems 3 --checkpoint-every 4 --out "$work/run"
for f in metrics.jsonl loss.svg accuracy.svg report.md model/config.json model/model.safetensors \
         model/tokenizer.json model/optimizer.safetensors model/trainer_state.json \
         checkpoints/step-000004/model.safetensors; do
  [[ -s "$work/run/$f" ]] && pass "run has $f" || fail "run lacks $f"
done
expect 0 "level" -- "$tandem" eval "$work/run/model" --problems 2
expect 0 "" -- "$tandem" generate "$work/run/model" -p "What is 1 + 2?" --max-new-tokens 8

# A model directory whose tokenizer is missing, or does not fit the model.
cp -r "$work/run/model" "$work/notok" && rm "$work/notok/tokenizer.json"
expect 1 "tokenizer.json: missing" -- "$tandem" generate "$work/notok" -p hi
cp -r "$work/run/model" "$work/bigtok"
sed -i 's/"vocab_size": [0-9]*/"vocab_size": 100/' "$work/bigtok/config.json"
expect 1 "vocab_size|do not belong" -- "$tandem" generate "$work/bigtok" -p hi

echo "cli checks: $failures failed"
[[ $failures -eq 0 ]]
