"""An independent PyTorch implementation of the Qwen3 dense decoder, written for tandem's tests.

It follows the HF Qwen3 definition (pre-norm RMSNorm blocks, GQA with per-head RMSNorm on q and k,
NEOX-style RoPE, SwiGLU MLP, tied or untied LM head) using plain torch ops only, so it shares no
code with the C++ engine. Weights come from HF-named safetensors files (read by the small reader
below, so no extra package is needed)."""
import json
import math
import struct

import torch

DTYPES = {"F64": torch.float64, "F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16,
          "I64": torch.int64, "I32": torch.int32, "U8": torch.uint8}


def read_safetensors(path):
    with open(path, "rb") as f:
        raw = f.read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n])
    meta = header.pop("__metadata__", {})
    base = 8 + n
    out = {}
    for name, info in header.items():
        b, e = info["data_offsets"]
        buf = bytearray(raw[base + b:base + e])
        t = torch.frombuffer(buf, dtype=DTYPES[info["dtype"]]) if e > b else torch.empty(0, dtype=DTYPES[info["dtype"]])
        out[name] = t.reshape(info["shape"]).clone()
    return out, meta


def write_safetensors(path, tensors, metadata=None):
    names = sorted(tensors)
    header, blobs, offset = {}, [], 0
    inv = {v: k for k, v in DTYPES.items()}
    for name in names:
        t = tensors[name].contiguous()
        data = t.view(torch.uint8).numpy().tobytes() if t.numel() else b""
        header[name] = {"dtype": inv[t.dtype], "shape": list(t.shape),
                        "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    if metadata:
        header["__metadata__"] = {k: str(v) for k, v in metadata.items()}
    h = json.dumps(header).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def param_shapes(cfg):
    V, C, D, I = cfg["vocab_size"], cfg["hidden_size"], cfg["head_dim"], cfg["intermediate_size"]
    Q, KV = cfg["num_attention_heads"] * D, cfg["num_key_value_heads"] * D
    shapes = {"model.embed_tokens.weight": (V, C), "model.norm.weight": (C,)}
    for l in range(cfg["num_hidden_layers"]):
        p = f"model.layers.{l}."
        shapes.update({
            p + "input_layernorm.weight": (C,), p + "post_attention_layernorm.weight": (C,),
            p + "self_attn.q_proj.weight": (Q, C), p + "self_attn.k_proj.weight": (KV, C),
            p + "self_attn.v_proj.weight": (KV, C), p + "self_attn.o_proj.weight": (C, Q),
            p + "self_attn.q_norm.weight": (D,), p + "self_attn.k_norm.weight": (D,),
            p + "mlp.gate_proj.weight": (I, C), p + "mlp.up_proj.weight": (I, C),
            p + "mlp.down_proj.weight": (C, I)})
    if not cfg["tie_word_embeddings"]:
        shapes["lm_head.weight"] = (V, C)
    return shapes


def random_weights(cfg, generator, dtype=torch.float32):
    """Matrices ~ N(0, 0.02); norm gains around 1 but not exactly 1, so their gradients matter."""
    w = {}
    for name, shape in param_shapes(cfg).items():
        if len(shape) == 1:
            w[name] = 1.0 + 0.1 * torch.randn(shape, generator=generator, dtype=dtype)
        else:
            w[name] = 0.02 * torch.randn(shape, generator=generator, dtype=dtype)
    return w


def rms_norm(x, w, eps):
    var = x.pow(2).mean(-1, keepdim=True)
    return x * torch.rsqrt(var + eps) * w


def rope_tables(cfg, T, dtype):
    D = cfg["head_dim"]
    inv_freq = cfg["rope_theta"] ** (-torch.arange(0, D, 2, dtype=torch.float64) / D)
    ang = torch.arange(T, dtype=torch.float64)[:, None] * inv_freq[None, :]
    emb = torch.cat([ang, ang], dim=-1)  # (T, D): NEOX pairs j and j + D/2 share an angle
    return emb.cos().to(dtype), emb.sin().to(dtype)


def rotate_half(x):
    h = x.shape[-1] // 2
    return torch.cat([-x[..., h:], x[..., :h]], dim=-1)


def forward(cfg, w, ids, pos=None):
    """ids: (B, T) long. pos: None, or (B, T) positions of packed documents (each counting 0, 1, ...
    from its first token; a token sees only its own document). Returns logits (B, T, V)."""
    B, T = ids.shape
    C, D, eps = cfg["hidden_size"], cfg["head_dim"], cfg["rms_norm_eps"]
    Hq, Hkv = cfg["num_attention_heads"], cfg["num_key_value_heads"]
    x = w["model.embed_tokens.weight"][ids]
    cos, sin = rope_tables(cfg, T, x.dtype)
    causal = torch.ones(T, T, dtype=torch.bool).tril()
    if pos is not None:
        cos, sin = cos[pos][:, None], sin[pos][:, None]  # (B, 1, T, D)
        start = torch.arange(T)[None, :] - pos  # (B, T): first key of each query
        causal = causal[None] & (torch.arange(T)[None, None, :] >= start[:, :, None])
        causal = causal[:, None]  # (B, 1, T, T)
    for l in range(cfg["num_hidden_layers"]):
        p = f"model.layers.{l}."
        h = rms_norm(x, w[p + "input_layernorm.weight"], eps)
        q = (h @ w[p + "self_attn.q_proj.weight"].T).view(B, T, Hq, D)
        k = (h @ w[p + "self_attn.k_proj.weight"].T).view(B, T, Hkv, D)
        v = (h @ w[p + "self_attn.v_proj.weight"].T).view(B, T, Hkv, D)
        q = rms_norm(q, w[p + "self_attn.q_norm.weight"], eps).transpose(1, 2)  # (B, Hq, T, D)
        k = rms_norm(k, w[p + "self_attn.k_norm.weight"], eps).transpose(1, 2)
        v = v.transpose(1, 2)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        k = k.repeat_interleave(Hq // Hkv, dim=1)
        v = v.repeat_interleave(Hq // Hkv, dim=1)
        s = (q @ k.transpose(-1, -2)) / math.sqrt(D)
        s = s.masked_fill(~causal, float("-inf"))
        att = (s.softmax(-1) @ v).transpose(1, 2).reshape(B, T, Hq * D)
        x = x + att @ w[p + "self_attn.o_proj.weight"].T
        h = rms_norm(x, w[p + "post_attention_layernorm.weight"], eps)
        g = h @ w[p + "mlp.gate_proj.weight"].T
        u = h @ w[p + "mlp.up_proj.weight"].T
        x = x + (torch.nn.functional.silu(g) * u) @ w[p + "mlp.down_proj.weight"].T
    x = rms_norm(x, w["model.norm.weight"], eps)
    head = w["model.embed_tokens.weight"] if cfg["tie_word_embeddings"] else w["lm_head.weight"]
    return x @ head.T


def token_nll(logits, targets):
    """Per-token negative log-likelihood; targets < 0 give 0."""
    logp = logits.log_softmax(-1)
    safe = targets.clamp(min=0)
    nll = -logp.gather(-1, safe.unsqueeze(-1)).squeeze(-1)
    return torch.where(targets >= 0, nll, torch.zeros_like(nll))


def masked_mean_loss(logits, targets):
    count = (targets >= 0).sum().clamp(min=1)
    return token_nll(logits, targets).sum() / count


def lr_at(step, peak, min_lr, warmup, total):
    if step < warmup:
        return peak * (step + 1) / warmup
    if total - warmup <= 0 or step >= total:
        return min_lr
    progress = (step - warmup) / (total - warmup)
    return min_lr + 0.5 * (1 + math.cos(math.pi * progress)) * (peak - min_lr)
