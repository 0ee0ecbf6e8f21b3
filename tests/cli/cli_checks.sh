#!/usr/bin/env bash
# tests/cli/cli_checks.sh TANDEM WORKDIR: exercises the CLI the way a user would.
set -uo pipefail
tandem=$1 work=$2
rm -rf "$work" && mkdir -p "$work"
source "$(dirname "$0")/../support/cli_expect.sh"

for cmd in demo train eval generate grpo version tokenize train-tokenizer export import task-data label; do
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
  --final-problems 3 --checkpoint-every 4 --grpo-steps 2 \
  --grpo-prompts 2 --out "$work/run"
for f in metrics.jsonl loss.svg accuracy.svg report.md model/config.json model/model.safetensors \
         model/tokenizer.json model/optimizer.safetensors model/trainer_state.json \
         checkpoints/step-000004/model.safetensors grpo/metrics.jsonl grpo/grpo_reward.svg \
         grpo/grpo_heldout.svg grpo/grpo_policy.svg grpo/grpo_clip.svg \
         grpo/model/model.safetensors; do
  [[ -s "$work/run/$f" ]] && pass "run has $f" || fail "run lacks $f"
done
expect 0 "level" -- "$tandem" eval "$work/run/model" --problems 2
expect 0 "" -- "$tandem" generate "$work/run/model" -p "What is 1 + 2?" --max-new-tokens 8
# --ignore-eos: exactly --max-new-tokens for every prompt (the decoding benchmark relies on it).
expect 0 "2 prompts, [0-9]+ prompt tokens, 24 generated tokens .*peak RSS" -- "$tandem" generate \
  "$work/run/model" -p "What is 1 + 2?" -p "What is 3 + 4?" --max-new-tokens 12 --ignore-eos \
  --timing --slots 1

# Options from a file, overridden by a flag.
printf '[demo]\nsteps = 3\nbatch = 2\neval-every = 0\nfinal-problems = 2\ncheckpoint-every = 0\ngrpo-steps = 0\n' >"$work/run.toml"
expect 0 "report" -- "$tandem" demo --config "$work/run.toml" --batch 3 --out "$work/cfg"
grep -q "3 steps of 3 problems" "$work/cfg/report.md" && pass "config file read, flag wins" ||
  fail "config: $(grep training "$work/cfg/report.md")"

# A model directory whose tokenizer is missing, or does not fit the model.
cp -r "$work/run/model" "$work/notok" && rm "$work/notok/tokenizer.json"
expect 1 "tokenizer.json: missing" -- "$tandem" generate "$work/notok" -p hi
cp -r "$work/run/model" "$work/bigtok"
sed -i 's/"vocab_size": [0-9]*/"vocab_size": 100/' "$work/bigtok/config.json"
expect 1 "vocab_size|do not belong" -- "$tandem" generate "$work/bigtok" -p hi

# Damaged model files: one line naming the file and the field or tensor, exit 1.
cp -r "$work/run/model" "$work/trunc"
truncate -s 5000 "$work/trunc/model.safetensors"
expect 1 "model.safetensors.*(truncated|past the end|bytes)" -- "$tandem" generate "$work/trunc" -p hi
cp -r "$work/run/model" "$work/nofield"
sed -i '/"hidden_size"/d' "$work/nofield/config.json"
expect 1 "config.json: missing field 'hidden_size'" -- "$tandem" generate "$work/nofield" -p hi
cp -r "$work/run/model" "$work/badtype"
sed -i 's/"num_hidden_layers": [0-9]*/"num_hidden_layers": "four"/' "$work/badtype/config.json"
expect 1 "config.json: field 'num_hidden_layers': expected" -- "$tandem" generate "$work/badtype" -p hi
cp -r "$work/run/model" "$work/heads"
sed -i 's/"num_key_value_heads": [0-9]*/"num_key_value_heads": 3/' "$work/heads/config.json"
expect 1 "config.json: field 'num_attention_heads'.*multiple" -- "$tandem" generate "$work/heads" -p hi
cp -r "$work/run/model" "$work/rename"
sed -i 's/model.norm.weight/model.nrom.weight/' "$work/rename/model.safetensors"
expect 1 "model.safetensors: missing tensor 'model.norm.weight'" -- "$tandem" generate "$work/rename" -p hi

# HF checkpoints: a sharded bf16 export loads as is and imports back; damage is one line, exit 1.
expect 0 "exported" -- "$tandem" export "$work/run/model" --format hf --dtype bf16 \
  --max-shard-size 1MB --out "$work/hf"
[[ -s "$work/hf/model.safetensors.index.json" && -s "$work/hf/model-00002-of-00002.safetensors" ]] &&
  pass "export wrote 2 shards + index" || fail "export: $(ls "$work/hf")"
expect 0 "" -- "$tandem" generate "$work/hf" -p "What is 1 + 2?" --max-new-tokens 4
expect 0 "imported" -- "$tandem" import --from "$work/hf" --out "$work/imported"
expect 0 "level" -- "$tandem" eval "$work/imported" --problems 2
expect 1 "not an empty directory" -- "$tandem" export "$work/run/model" --out "$work/hf"
expect 2 "dtype" -- "$tandem" export "$work/run/model" --dtype fp8 --out "$work/hf8"
expect 2 "max-shard-size" -- "$tandem" export "$work/run/model" --max-shard-size 5XB --out "$work/hfx"
cp -r "$work/hf" "$work/hf-missing" && rm "$work/hf-missing/model-00002-of-00002.safetensors"
expect 1 "model.safetensors.index.json: .*model-00002-of-00002.safetensors does not exist" -- \
  "$tandem" import --from "$work/hf-missing" --out "$work/never"
[[ ! -e "$work/never" ]] && pass "failed import left no directory" || fail "failed import left $work/never"

# GGUF: every tensor type exports; the F32 file imports back; a damaged file is one line, exit 1.
for type in f32 f16 bf16 q8_0 q4_0; do
  expect 0 "wrote .*GGUF" -- "$tandem" export "$work/run/model" --format gguf --type $type \
    --out "$work/model-$type.gguf"
done
expect 0 "imported" -- "$tandem" import --format gguf --from "$work/model-f32.gguf" --out "$work/from-gguf"
cmp -s "$work/run/model/model.safetensors" "$work/from-gguf/model.safetensors" &&
  pass "GGUF F32 round trip: identical weights file" || fail "GGUF F32 round trip differs"
printf 'XXXX' | dd of="$work/model-f16.gguf" conv=notrunc status=none
expect 1 "model-f16.gguf.*magic" -- "$tandem" import --format gguf --from "$work/model-f16.gguf" --out "$work/never2"
expect 2 "type" -- "$tandem" export "$work/run/model" --format gguf --type q2_k --out "$work/x.gguf"

# Ctrl-C during training: finishes the step, writes the checkpoint, exits 0.
"$tandem" demo --steps 100000 --eval-every 0 --checkpoint-every 0 --out "$work/sigint" >"$work/sigint.log" 2>&1 &
pid=$!
for _ in $(seq 300); do grep -q "train \[" "$work/sigint.log" 2>/dev/null && break; sleep 0.2; done
kill -INT $pid; wait $pid; rc=$?
if [[ $rc -eq 0 && -s "$work/sigint/model/model.safetensors" && -s "$work/sigint/model/trainer_state.json" ]] &&
   grep -q "stopped after" "$work/sigint.log"; then
  pass "SIGINT: checkpoint written, exit 0"
else
  fail "SIGINT: exit $rc; $(tail -3 "$work/sigint.log")"
fi

# Fault tolerance (docs/fault-tolerance.md; tests/fault has the full check): resume options are
# documented, and a run directory holding checkpoints is continued only when asked to.
expect 0 "--resume" -- "$tandem" train --help
expect 0 "--keep-last" -- "$tandem" demo --help
expect 1 "holds checkpoints of an earlier run; pass --resume" -- "$tandem" train --steps 2 --batch 2 \
  --eval-every 0 --out "$work/run"
# The interrupted demo above resumes (to a shorter run: nothing left to train, a warning says so).
expect 0 "resuming from .*sigint/checkpoints/step-" -- "$tandem" train --resume --steps 1 \
  --eval-every 0 --out "$work/sigint"
# A checkpoint records its rows' layout; one written before it did (no `rows`: padded task rows)
# resumed into whole-record rows is warned about, and one that records it is not.
"$tandem" train --steps 4 --batch 4 --eval-every 0 --checkpoint-every 2 --out "$work/rows" >/dev/null 2>&1
/usr/bin/python3 - "$work/rows/checkpoints/step-000004" <<'PY'
import json, os, sys, zlib
d = sys.argv[1]
state = json.load(open(os.path.join(d, "trainer_state.json")))
assert state["extra"].pop("rows") == "whole-records"
data = json.dumps(state).encode()
open(os.path.join(d, "trainer_state.json"), "wb").write(data)
manifest = json.load(open(os.path.join(d, "manifest.json")))
for e in manifest["files"]:
    if e["path"] == "trainer_state.json":
        e["bytes"], e["crc32"] = len(data), format(zlib.crc32(data), "08x")
json.dump(manifest, open(os.path.join(d, "manifest.json"), "w"))
PY
expect 0 "checkpoint was trained on padded rows and this run makes whole-records rows \\(--no-pack" \
  -- "$tandem" train --resume --steps 6 --batch 4 --eval-every 0 --out "$work/rows"
"$tandem" train --resume --steps 8 --batch 4 --eval-every 0 --out "$work/rows" >"$work/rows.log" 2>&1
grep -q "resuming from .*step-000006" "$work/rows.log" && ! grep -q "trained on .* rows" "$work/rows.log" &&
  pass "a checkpoint naming its rows resumes without a layout warning" ||
  fail "rows: $(grep -E "resuming|rows" "$work/rows.log")"
# Stream packing of the task's problems (--pack): resumed from the middle (the newest checkpoint
# and the model removed), steps 4-6 come out as the uninterrupted run's, byte for byte.
"$tandem" train --pack --steps 6 --batch 4 --eval-every 0 --checkpoint-every 3 --out "$work/pack" \
  >"$work/pack.log" 2>&1
cp "$work/pack/model/model.safetensors" "$work/pack.safetensors"
rm -rf "$work/pack/model" "$work/pack/checkpoints/step-000006"
expect 0 "resuming from .*step-000003" -- "$tandem" train --pack --resume --steps 6 --batch 4 \
  --eval-every 0 --checkpoint-every 3 --out "$work/pack"
grep -q "packing records into rows of" "$work/pack.log" &&
  cmp -s "$work/pack.safetensors" "$work/pack/model/model.safetensors" &&
  pass "--pack on the task's problems: resumed run equals the uninterrupted one" ||
  fail "--pack resume: $(cat "$work/pack.log" | tail -3)"
# Under mpirun only train, grpo and demo run data parallel; the others say so rather than run N
# copies.
expect 2 "runs in one process; under mpirun only .tandem train., .grpo. and .demo." -- \
  env OMPI_COMM_WORLD_SIZE=2 "$tandem" eval "$work/run/model"
expect 2 "runs in one process" -- env OMPI_COMM_WORLD_SIZE=2 "$tandem" serve "$work/run/model"
# --threads: the kernels' thread count, given before or after the command; 0 is refused.
expect 0 "add-sub-2d" -- "$tandem" eval "$work/run/model" --levels 1 --problems 2 --threads 1
expect 0 "add-sub-2d" -- "$tandem" --threads 2 eval "$work/run/model" --levels 1 --problems 2
expect 2 "--threads" -- "$tandem" --threads 0 version
# Idle OpenMP threads: the binary picks a short spin or passive waits from the machine's load and
# starts itself again to apply it (so never libgomp's default); a user's setting wins.
expect 0 "idle threads: (spin 1000|passive)$" -- env -u OMP_WAIT_POLICY -u GOMP_SPINCOUNT \
  "$tandem" version
expect 0 "idle threads: active$" -- env -u GOMP_SPINCOUNT OMP_WAIT_POLICY=active "$tandem" version
expect 0 "idle threads: spin 77$" -- env -u OMP_WAIT_POLICY GOMP_SPINCOUNT=77 "$tandem" version
busy=()
for _ in 1 2 3; do yes >/dev/null & busy+=($!); done
sleep 0.3
expect 0 "idle threads: passive$" -- env -u OMP_WAIT_POLICY -u GOMP_SPINCOUNT "$tandem" version
kill "${busy[@]}"
expect 1 "--checkpoint-every \(10\) must be a multiple of --diloco-steps" -- "$tandem" train --diloco-steps 3 --checkpoint-every 10 \
  --out "$work/diloco"
expect 1 "--diloco-steps and --zero do not combine" -- "$tandem" train --diloco-steps 5 --zero 1 \
  --checkpoint-every 10 --out "$work/diloco2"
echo "cli checks: $failures failed"
[[ $failures -eq 0 ]]
