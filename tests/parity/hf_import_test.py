#!/usr/bin/env python3
"""tandem reads a bf16, sharded HF checkpoint the way PyTorch means it.

For each case, writes a tiny random Qwen3 as transformers would publish it: config.json with
torch_dtype bfloat16, bf16 weights split over three shards plus model.safetensors.index.json (the
safetensors files written by hand here, byte by byte), generation_config.json. tandem's
parity_runner loads the directory through the loader every command uses and prints its logits;
qwen3_oracle.py computes them in float64 from the same bf16 weights upcast. Exits non-zero unless
max |a - b| / max |b| <= 1e-4 in every case.
"""
import argparse
import json
import os
import shutil
import struct
import subprocess
import sys

try:
    import torch
except ImportError:
    print("hf_import: python3-torch is not installed: skipped (apt-get install python3-torch)")
    sys.exit(77)

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import qwen3_oracle as oracle  # noqa: E402

LOGITS_MAX_REL = 1e-4
SHARDS = 3

CASES = [
    dict(name="tied-gqa2", vocab_size=89, hidden_size=48, num_hidden_layers=2, num_attention_heads=4,
         num_key_value_heads=2, head_dim=16, intermediate_size=80, tie_word_embeddings=True, B=2, T=11),
    # Untied, with the norms kept in float32 as some published checkpoints do (torch_dtype still
    # says bfloat16); tandem reads each tensor in its own dtype.
    dict(name="untied-f32norms", vocab_size=71, hidden_size=32, num_hidden_layers=3, num_attention_heads=2,
         num_key_value_heads=1, head_dim=16, intermediate_size=64, tie_word_embeddings=False, B=3, T=7,
         f32_norms=True),
]
SAFETENSORS_DTYPE = {torch.bfloat16: "BF16", torch.float32: "F32", torch.int32: "I32"}


def tensor_bytes(t):
    t = t.contiguous()
    if t.dtype == torch.bfloat16:  # numpy has no bfloat16: take the bits as int16
        return t.view(torch.int16).numpy().tobytes()
    return t.numpy().tobytes()


def write_shard(path, tensors):
    """The safetensors format: u64 LE header length, JSON header, then the raw little-endian data."""
    header, blobs, offset = {"__metadata__": {"format": "pt"}}, [], 0
    for name, t in tensors.items():
        data = tensor_bytes(t)
        header[name] = {"dtype": SAFETENSORS_DTYPE[t.dtype], "shape": list(t.shape),
                        "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))
    return offset


def write_checkpoint(case, workdir, gen):
    cfg = {k: v for k, v in case.items() if k not in ("name", "B", "T", "f32_norms")}
    cfg.update(rms_norm_eps=1e-6, rope_theta=10000.0, max_position_embeddings=64)
    model_dir = os.path.join(workdir, case["name"])
    shutil.rmtree(model_dir, ignore_errors=True)
    os.makedirs(model_dir)
    hf = dict(cfg, architectures=["Qwen3ForCausalLM"], model_type="qwen3", torch_dtype="bfloat16",
              bos_token_id=1, eos_token_id=2, transformers_version="4.51.0")
    with open(os.path.join(model_dir, "config.json"), "w") as f:
        json.dump(hf, f, indent=2)
    with open(os.path.join(model_dir, "generation_config.json"), "w") as f:
        json.dump({"bos_token_id": 1, "eos_token_id": [2, 1], "do_sample": True}, f, indent=2)
    weights = {}
    for name, w in oracle.random_weights(cfg, gen).items():
        keep_f32 = case.get("f32_norms") and w.dim() == 1
        weights[name] = w if keep_f32 else w.to(torch.bfloat16)  # round to nearest even
    # Split in HF's order into SHARDS files of roughly equal size.
    names = sorted(weights)
    per = -(-len(names) // SHARDS)
    weight_map, total = {}, 0
    for s in range(SHARDS):
        file = f"model-{s + 1:05d}-of-{SHARDS:05d}.safetensors"
        part = {n: weights[n] for n in names[s * per:(s + 1) * per]}
        total += write_shard(os.path.join(model_dir, file), part)
        weight_map.update({n: file for n in part})
    with open(os.path.join(model_dir, "model.safetensors.index.json"), "w") as f:
        json.dump({"metadata": {"total_size": total}, "weight_map": weight_map}, f, indent=2, sort_keys=True)
    return cfg, weights, model_dir


def check_case(case, args, gen):
    cfg, weights, model_dir = write_checkpoint(case, args.workdir, gen)
    B, T, V = case["B"], case["T"], cfg["vocab_size"]
    ids = torch.randint(0, V, (1, B, T + 1), generator=gen, dtype=torch.int32)
    batch = os.path.join(args.workdir, case["name"] + ".batch.safetensors")
    # parity_runner's batch format: one step, hyperparameters for its (unused here) AdamW step.
    hyper = dict(lr_peak=1e-3, lr_min=1e-4, warmup=1, total=1, beta1=0.9, beta2=0.95, eps=1e-8,
                 weight_decay=0.0, max_norm=1.0)
    oracle.write_safetensors(batch, {"ids": ids[:, :, :-1].contiguous(), "targets": ids[:, :, 1:].contiguous()},
                             hyper)
    out = os.path.join(args.workdir, case["name"] + ".out.safetensors")
    subprocess.run([args.runner, "cpu", model_dir, batch, out], check=True)
    got, _ = oracle.read_safetensors(out)
    ref = oracle.forward(cfg, {k: v.double() for k, v in weights.items()}, ids[0, :, :-1].long())
    rel = float((got["logits"].double() - ref).abs().max() / ref.abs().max())
    ok = rel <= LOGITS_MAX_REL
    print(f"hf_import[{case['name']}] {'ok' if ok else 'FAIL'}: {SHARDS} bf16 shards, "
          f"logits_max_rel={rel:.3g} (bar {LOGITS_MAX_REL:g})")
    return [] if ok else [f"{case['name']}: logits_max_rel {rel:.3g} > {LOGITS_MAX_REL:g}"]


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--runner", required=True)
    ap.add_argument("--workdir", required=True)
    args = ap.parse_args()
    os.makedirs(args.workdir, exist_ok=True)
    torch.set_num_threads(2)
    gen = torch.Generator().manual_seed(4321)
    failures = []
    for case in CASES:
        failures += check_case(case, args, gen)
    if failures:
        print("hf_import FAILED:\n  " + "\n  ".join(failures))
        sys.exit(1)
    print(f"hf_import: all {len(CASES)} sharded bf16 checkpoints match PyTorch")


if __name__ == "__main__":
    main()
