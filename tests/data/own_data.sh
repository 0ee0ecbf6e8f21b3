#!/usr/bin/env bash
# tests/data/own_data.sh TANDEM WORKDIR: `tandem train --data` as a user meets it (docs/data.md).
#  1. The task's examples written as chat JSONL (task-data) and trained with --data --no-shuffle
#     --val-fraction 0 give the built-in path's model, bit for bit.
#  2. A shuffled run with validation, stopped and resumed, ends bit-equal to one run straight
#     through; validation records and the loss chart are written.
#  3. Plain text with a trained tokenizer: validation loss falls; packed rows resume exactly.
#  4. Bad input: a one-line error naming file and line (exit 1), or --skip-bad counts it.
#  5. GRPO on a file of problems with an outside verifier that hangs, crashes or answers garbage
#     on some of them: the run finishes, the failures are logged; `tandem label` writes labels,
#     in-process and through a `tandem serve` process.
set -uo pipefail
tandem=$(realpath "$1") work=$2
source "$(dirname "$0")/../support/cli_expect.sh"
corpus=$(cd "$(dirname "$0")/../tokenizer/corpus" && pwd)
verifier=$(cd "$(dirname "$0")" && pwd)/answer_verifier.py
rm -rf "$work" && mkdir -p "$work" && cd "$work" || exit 1
export OMP_NUM_THREADS=1
same() { cmp -s "$1" "$2" && pass "$3" || fail "$3: $1 and $2 differ"; }
quiet=(--eval-every 0 --checkpoint-every 0)

# 1. Same bits as the built-in task path.
expect 0 "192 chat records" -- "$tandem" task-data -o task.jsonl --count 192 --seed 4
"$tandem" train --out builtin --steps 6 --batch 32 --seed 4 "${quiet[@]}" >/dev/null 2>&1
"$tandem" train --out fromfile --steps 6 --batch 32 --seed 4 "${quiet[@]}" --data task.jsonl \
  --no-shuffle --val-fraction 0 >/dev/null 2>&1
same builtin/model/model.safetensors fromfile/model/model.safetensors \
  "task examples as chat JSONL train the built-in path's model"

# 2. Exact resume with shuffling and validation.
opts=(--steps 12 --batch 8 --eval-every 4 --checkpoint-every 6 --data task.jsonl --val-fraction 0.1)
"$tandem" train --out straight "${opts[@]}" >/dev/null 2>&1
TANDEM_STOP_AFTER_STEP=6 "$tandem" train --out resumed "${opts[@]}" >/dev/null 2>&1
expect 0 "validation loss" -- "$tandem" train --out resumed "${opts[@]}" --resume
same straight/model/model.safetensors resumed/model/model.safetensors \
  "a resumed --data run ends where one run straight through does"
n_val=$(grep -c '"kind":"validation"' straight/metrics.jsonl)
[[ $n_val -eq 4 ]] && pass "validation at steps 0, 4, 8, 12" || fail "$n_val validation records"
grep -q "validation loss" straight/loss.svg && pass "loss.svg draws the validation loss" \
  || fail "loss.svg lacks the validation loss"

# 3. Pretraining on text: the validation loss falls.
"$tandem" train-tokenizer -i "$corpus/english.txt" -o tok --vocab-size 1024 \
  --special '<|endoftext|>' '<|im_start|>' '<|im_end|>' '<think>' '</think>' >/dev/null 2>&1
"$tandem" train --out text --steps 30 --batch 8 --eval-every 15 --checkpoint-every 0 --lr 2e-3 \
  --data "$corpus/english.txt" --tokenizer tok >/dev/null 2>&1
losses=$(grep '"kind":"validation"' text/metrics.jsonl | sed 's/.*"loss":\([0-9.e+-]*\).*/\1/' | tr '\n' ' ')
/usr/bin/python3 -c "import sys; v=[float(x) for x in sys.argv[1:]]; sys.exit(0 if len(v)==3 and v[2] < v[0] - 0.5 else 1)" $losses \
  && pass "text pretraining: validation loss falls ($losses)" || fail "validation losses: $losses"
# Text is packed by default; a packed run's checkpoint carries its cursor into the records, so a
# resumed run ends bit-equal to one straight through.
popts=(--steps 8 --batch 4 --seq-len 64 --eval-every 0 --checkpoint-every 4 --data "$corpus/english.txt" --tokenizer tok)
expect 0 "packing records into rows of 64 tokens" -- "$tandem" train --out pstraight "${popts[@]}"
TANDEM_STOP_AFTER_STEP=3 "$tandem" train --out presumed "${popts[@]}" >/dev/null 2>&1
"$tandem" train --out presumed "${popts[@]}" --resume >/dev/null 2>&1
same pstraight/model/model.safetensors presumed/model/model.safetensors \
  "a resumed packed run ends where one run straight through does"

# 4. Bad input.
{ head -3 task.jsonl; echo '{"messages": [{"role": "user", "content": "no answer"}]}'; head -3 task.jsonl; } >bad.jsonl
expect 1 "bad.jsonl:4: .*no assistant message" -- "$tandem" train --out bad1 --steps 1 "${quiet[@]}" --data bad.jsonl
expect 0 "1 bad lines skipped" -- "$tandem" train --out bad2 --steps 1 --batch 2 "${quiet[@]}" --data bad.jsonl --skip-bad
printf '\n\n' >empty.jsonl
expect 1 "empty.jsonl: no records" -- "$tandem" train --out bad3 --steps 1 "${quiet[@]}" --data empty.jsonl
echo 'a,b' >table.csv
expect 1 "table.csv: unknown data file type" -- "$tandem" train --out bad4 --steps 1 "${quiet[@]}" --data table.csv
expect 1 "tokenizer.*init_from|init-from" -- "$tandem" train --out bad5 --steps 1 --init-from builtin/model --tokenizer tok --data task.jsonl
expect 0 "1 record\(s\) cut to the context" -- bash -c "printf '{\"prompt\": \"p\", \"completion\": \"%0300d\"}\n' 1 >long.jsonl; \"$tandem\" train --out long --steps 1 --batch 1 --eval-every 0 --checkpoint-every 0 --data long.jsonl --val-fraction 0"

# 5. A misbehaving outside verifier, and rejection sampling.
"$tandem" task-data -o problems.jsonl --format problems --levels 1 --level-weights 1 --count 64 >/dev/null 2>&1
expect 0 "done after 2 steps" -- env MISBEHAVE=1 MISBEHAVE_EVERY=4 "$tandem" grpo --init-from builtin/model --out grpo \
  --data problems.jsonl --verifier-cmd "$verifier" --verifier-timeout 1 --steps 2 --prompts 16 \
  --group-size 4 --max-new-tokens 24 --eval-every 0 --final-eval-problems 8 --checkpoint-every 0
for reason in "timed out" "exit code 3" "expected a number"; do
  grep '"event":"verifier_failed"' grpo/metrics.jsonl | grep -q "$reason" \
    && pass "verifier failure logged: $reason" || fail "no verifier_failed event with '$reason'"
done
grep -q '"verifier_failures":[1-9]' grpo/metrics.jsonl && pass "verifier failures counted" \
  || fail "no verifier_failures count in grpo/metrics.jsonl"
expect 0 "8 problems x 3 samples" -- "$tandem" label builtin/model --data problems.jsonl \
  -o labels.jsonl --samples 3 --limit 8 --max-new-tokens 24
[[ -f labels.jsonl && -s labels.jsonl.stats.json ]] && pass "label wrote labels and stats" \
  || fail "label outputs missing"
# The same labelling by a `tandem serve` process, sent the model's weights first.
port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$tandem" serve builtin/model --port "$port" --admin-key k >serve.log 2>&1 &
server=$!
for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.2; done
expect 0 "8 problems x 3 samples" -- "$tandem" label builtin/model --data problems.jsonl \
  -o labels-served.jsonl --samples 3 --limit 8 --max-new-tokens 24 --server "127.0.0.1:$port" --admin-key k
kill "$server" 2>/dev/null; wait "$server" 2>/dev/null
expect 1 "no rollout server is left" -- "$tandem" label builtin/model --data problems.jsonl -o x.jsonl --samples 1 \
  --limit 1 --server "127.0.0.1:$port" --admin-key k

echo "$failures failure(s)"
exit $((failures > 0))
