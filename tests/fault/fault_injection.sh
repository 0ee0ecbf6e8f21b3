#!/usr/bin/env bash
# tests/fault/fault_injection.sh TANDEM WORKDIR [SEED]: fault injection for `tandem train`.
#  A. a 200-step run killed with SIGKILL at 5 random (seeded) points, once more inside a checkpoint
#     write, its newest checkpoint bit-flipped after one kill and truncated after another, resumed
#     each time: final weights, moments and state must equal an uninterrupted run's, byte for byte.
#  B. 60-step runs: a NaN gradient and a loss spike (skipped / rolled back, logged, run finishes);
#     endless NaNs (stops, exit 1); failed checkpoint writes, injected and real (RLIMIT_FSIZE),
#     leave the previous checkpoint intact and resumable; SIGTERM stops cleanly, twice exits 130.
set -uo pipefail
tandem=$1 work=$2 seed=${3:-6}
rm -rf "$work" && mkdir -p "$work"
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1  # bitwise identity holds for a fixed thread count
unset TANDEM_INJECT_NAN_STEP TANDEM_INJECT_SPIKE_STEP TANDEM_FAIL_CHECKPOINT_WRITE TANDEM_KILL_IN_CHECKPOINT
failures=0
pass() { echo "ok   $*"; }
fail() { echo "FAIL $*"; failures=$((failures + 1)); }
check() { local what=$1; shift; if "$@"; then pass "$what"; else fail "$what"; fi; }

common=(--batch 4 --warmup 10 --eval-every 0 --checkpoint-every 20 --keep-last 3 --log-every 1)
train() { "$tandem" train "${common[@]}" "$@"; }

same_result() {  # same_result RUN REF: weights, both moments and the trainer state, byte for byte
  local f
  for f in model.safetensors optimizer.safetensors trainer_state.json; do
    cmp -s "$1/model/$f" "$2/model/$f" || { echo "     $1/model/$f differs from $2's"; return 1; }
  done
}

# start_bg LOG ARGS...: runs `tandem train` in the background; sets $pid and $mark (metrics lines
# before it started, so waiting looks only at what this process logs).
start_bg() {
  local log=$1 out=$2; shift 2
  mark=$(cat "$out/metrics.jsonl" 2>/dev/null | wc -l)
  "$tandem" train "${common[@]}" --out "$out" "$@" >"$log" 2>&1 &  # a plain command: $! is tandem
  pid=$!
}
# wait_step OUT STEP: until this process logged train step STEP (0 when it did, 1 if it exited).
wait_step() {
  local deadline=$((SECONDS + 600))  # generous: sanitizer builds are several times slower
  while ((SECONDS < deadline)); do
    tail -n +"$((mark + 1))" "$1/metrics.jsonl" 2>/dev/null | grep -q "\"kind\":\"train\".*\"step\":$2," && return 0
    kill -0 "$pid" 2>/dev/null || return 1
    sleep 0.02
  done
  return 1
}
last_step() { grep '"kind":"train"' "$1/metrics.jsonl" | tail -1 | sed 's/.*"step":\([0-9]*\).*/\1/'; }
newest() { ls -d "$1"/checkpoints/step-* 2>/dev/null | sort | tail -1; }
flip_byte() {  # flip_byte FILE OFFSET: xor one byte with 0x01
  local b; b=$(od -An -tu1 -j "$2" -N1 "$1" | tr -d ' ')
  printf "$(printf '\\%03o' $((b ^ 1)))" | dd of="$1" bs=1 seek="$2" conv=notrunc status=none
}

# ---------------------------------------------------------------- A: kills and damaged checkpoints
A=(--steps 200)
train "${A[@]}" --out "$work/ref" >"$work/ref.log" 2>&1
check "uninterrupted 200-step run" test -s "$work/ref/model/model.safetensors"

RANDOM=$seed  # drawn here, not in a subshell: bash reseeds RANDOM in subshells
draws=()
for _ in 1 2 3 4 5; do draws+=($((25 + RANDOM % 170))); done
points=$(printf '%s\n' "${draws[@]}" | sort -n)
echo "     kill points (seed $seed, steps): $(echo $points)"
run=$work/killed k=0 damaged="" why=""
for target in $points; do
  k=$((k + 1))
  start_bg "$work/kill$k.log" "$run" "${A[@]}" --resume
  if wait_step "$run" "$target"; then
    kill -KILL "$pid"; wait "$pid" 2>/dev/null
    echo "     kill $k: SIGKILL once step $target was logged (last logged: $(last_step "$run"));" \
      "newest checkpoint: $(basename "$(newest "$run")")"
  else
    wait "$pid"; fail "kill $k: the run ended before step $target: $(tail -2 "$work/kill$k.log")"
  fi
  grep -h "tandem: " "$work/kill$k.log" | sed 's/^/       /'
  if [[ -n $damaged ]]; then  # this start must have skipped the damaged checkpoint, saying why
    if grep -q "$damaged: skipped, it does not verify: .*$why" "$work/kill$k.log" &&
       grep -q "resuming from" "$work/kill$k.log" && ! grep -q "resuming from $damaged" "$work/kill$k.log"; then
      pass "damaged $(basename "$damaged") detected ($why) and an older checkpoint used"
    else
      fail "damaged $damaged not detected: $(grep tandem: "$work/kill$k.log")"
    fi
  fi
  damaged="" ck=$(newest "$run")
  if [[ $k -eq 2 && -n $ck ]]; then
    flip_byte "$ck/model.safetensors" 100000; damaged=$ck why="model.safetensors: CRC-32"
  elif [[ $k -eq 4 && -n $ck ]]; then
    truncate -s 1000000 "$ck/optimizer.safetensors"; damaged=$ck why="optimizer.safetensors: 1000000 bytes"
  fi
  [[ -n $damaged ]] && echo "     damaged $damaged: $why"
done
# Once more, inside a checkpoint write (files written, not yet published): a .tmp-* folder remains.
TANDEM_KILL_IN_CHECKPOINT=1 train "${A[@]}" --out "$run" --resume >"$work/kill-in-write.log" 2>&1
rc=$?
tmp=$(ls -d "$run"/checkpoints/.tmp-* 2>/dev/null)
check "SIGKILL inside a checkpoint write (exit $rc) leaves only a temporary folder ($(basename "$tmp"))" \
  test $rc -eq 137 -a -n "$tmp"
train "${A[@]}" --out "$run" --resume >"$work/final.log" 2>&1
rc=$?
grep -h "tandem: " "$work/final.log" | sed 's/^/       /'
check "final resume finishes (exit $rc) and removes the unfinished write" \
  grep -q "removed 1 unfinished checkpoint write" "$work/final.log"
check "killed 6 times and resumed: bitwise identical to the uninterrupted run" same_result "$run" "$work/ref"

# ---------------------------------------------------------------- B: guards, write failures, signals
B=(--steps 60)
train "${B[@]}" --out "$work/ref60" >"$work/ref60.log" 2>&1

# NaN in the gradients of batch 15, a loss spike on batch 45: skipped, rolled back, run finishes.
TANDEM_INJECT_NAN_STEP=15 TANDEM_INJECT_SPIKE_STEP=45 \
  train "${B[@]}" --out "$work/guards" >"$work/guards.log" 2>&1
rc=$?
grep -h "tandem: " "$work/guards.log" | sed 's/^/       /'
check "NaN and spike: run finishes (exit $rc)" test $rc -eq 0
check "NaN: stderr line" grep -q "step 16 (batch 15): non-finite loss or gradient.*update skipped" "$work/guards.log"
check "NaN: metrics event" grep -q '"batch":15,"event":"nonfinite"' "$work/guards/metrics.jsonl"
check "spike: stderr line" grep -q \
  "step 46 (batch 45): loss .* is a spike, .*rolled back to .*step-000040 (step 40), skipping batches 40..45" \
  "$work/guards.log"
check "spike: metrics event" grep -q '"event":"spike_rollback".*"resume_step":40' "$work/guards/metrics.jsonl"
check "spike: data position moved past the skipped batches (60 steps, next batch 66)" \
  grep -q '"data_position": 66' "$work/guards/model/trainer_state.json"

# NaN on every batch from 10 on: five consecutive failures stop the run with exit 1.
TANDEM_INJECT_NAN_STEP=10-1000 train "${B[@]}" --out "$work/nans" >"$work/nans.log" 2>&1
rc=$?
grep -h "error" "$work/nans.log" | sed 's/^/       /'
if [[ $rc -eq 1 ]] && grep -q "training stopped after 5 consecutive failures" "$work/nans.log"; then
  pass "endless NaNs: exit 1 with a clear message"
else
  fail "endless NaNs: exit $rc"
fi

# The second checkpoint write fails (injected), training goes on; killed before the next one.
run=$work/wfail
export TANDEM_FAIL_CHECKPOINT_WRITE=2
start_bg "$work/wfail.log" "$run" "${B[@]}"
unset TANDEM_FAIL_CHECKPOINT_WRITE
wait_step "$run" 45 && kill -KILL "$pid"; wait "$pid" 2>/dev/null
grep -h "tandem: " "$work/wfail.log" | sed 's/^/       /'
check "injected write failure: reported, training continued" \
  grep -q "checkpoint at step 40 failed: .*injected.*step-000020 is intact; training continues" "$work/wfail.log"
if [[ ! -e $run/checkpoints/step-000040 && -z $(ls -A "$run/checkpoints" | grep tmp) && -d $run/checkpoints/step-000020 ]]; then
  pass "injected write failure: no step-40 checkpoint, no temporary left, step 20 in place"
else
  fail "injected write failure: $(ls -A "$run/checkpoints")"
fi
# A real write error: files over 5 MB fail with EFBIG (optimizer.safetensors is 6.6 MB).
(ulimit -f 5000; trap '' XFSZ; exec "$tandem" train "${common[@]}" "${B[@]}" --out "$run" --resume) \
  >"$work/efbig.log" 2>&1
rc=$?
grep -h "tandem: " "$work/efbig.log" | sed 's/^/       /'
if [[ $rc -eq 1 ]] && grep -q "optimizer.safetensors: write failed: File too large" "$work/efbig.log"; then
  pass "real write error (file size limit): reported, training went on, the final save failed: exit 1"
else
  fail "real write error: exit $rc: $(tail -3 "$work/efbig.log")"
fi
train "${B[@]}" --out "$run" --resume >"$work/wfail2.log" 2>&1
check "after both failures: step 20 still verifies and is used" grep -q "resuming from .*step-000020" "$work/wfail2.log"
check "after both failures: resumed run ends bitwise identical" same_result "$run" "$work/ref60"

# SIGTERM: finishes the step, checkpoints, exits 0; a second signal exits 130 at once.
run=$work/term
start_bg "$work/term1.log" "$run" "${B[@]}"
wait_step "$run" 25; kill -TERM "$pid"; wait "$pid"; rc=$?
grep -h "tandem\|stopped" "$work/term1.log" | sed 's/^/       /'
if [[ $rc -eq 0 ]] && grep -q "stopping after this step" "$work/term1.log" && grep -q "stopped after" "$work/term1.log" &&
   [[ -n $(ls -d "$run"/checkpoints/step-* | grep -v step-000020) ]]; then
  pass "SIGTERM: finished the step, wrote $(basename "$(newest "$run")"), exit 0"
else
  fail "SIGTERM: exit $rc: $(tail -3 "$work/term1.log")"
fi
# The second signal must land while the first one's stop (end of step, checkpoint) is under way:
# sent as soon as the first is acknowledged; a machine fast enough to finish first gets a retry.
for target in 32 42 52; do
  start_bg "$work/term2.log" "$run" "${B[@]}" --resume
  wait_step "$run" "$target"; kill -TERM "$pid"
  for _ in $(seq 2000); do grep -q "stopping after this step" "$work/term2.log" && break; sleep 0.002; done
  kill -TERM "$pid" 2>/dev/null; wait "$pid"; rc=$?
  [[ $rc -eq 130 ]] && break
  echo "     the stop finished before the second signal (exit $rc); again"
done
check "second signal: exits at once with 130 (got $rc)" test $rc -eq 130
train "${B[@]}" --out "$run" --resume >"$work/term3.log" 2>&1
grep -h "tandem: " "$work/term3.log" | sed 's/^/       /'
if ! grep -q "does not verify" "$work/term3.log"; then
  pass "after SIGTERM twice: nothing half-written (every checkpoint verifies)"
else
  fail "after SIGTERM twice: a damaged checkpoint was published"
fi
check "after SIGTERM twice: resumes and ends bitwise identical" same_result "$run" "$work/ref60"

echo "fault injection: $failures failed"
[[ $failures -eq 0 ]]
