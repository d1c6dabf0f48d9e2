#!/usr/bin/python3
"""Tiny 5 Hz LM checkpoints in the layouts official folders come in, and an independent torch
reference to check their conversion against.

Layouts (each a `checkpoints/acestep-5Hz-lm-1.7B/` folder with config.json):
  prefixed    model.safetensors, keys under `model.`, tied head (no lm_head.weight)
  noprefix    model.safetensors, keys without `model.` (as the 1.7B file is reported to store them)
  sharded     model-0000N-of-00003.safetensors + model.safetensors.index.json, bf16 tensors
  untied      config tie_word_embeddings false, lm_head.weight different from the embedding
  tiedcopy    config untied but lm_head.weight equal to the embedding (stored once)

`reference_logits` is a plain re-statement of transformers' Qwen3ForCausalLM forward on the
raw tensors (no code shared with acestep_export), so a conversion is compared with the
published architecture rather than with itself.

  /usr/bin/python3 tools/export/tests/lm_checkpoints.py OUT_DIR
writes OUT_DIR/<layout>/checkpoints/..., exports lm_prefill + lm_decode of each with parity
fixtures into OUT_DIR/<layout>/set, and the reference logits into OUT_DIR/<layout>/reference/.
"""

import json
import os
import struct
import subprocess
import sys

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
EXPORT = os.path.join(os.path.dirname(HERE), "export.py")
LM_SIZE = "1.7B"
VOCAB = 217204  # the real LM vocabulary: the contract's token ids must exist
LAYOUTS = ("prefixed", "noprefix", "sharded", "untied", "tiedcopy")
CONVERTED = ("noprefix", "sharded", "untied")  # exported to ONNX by main(); all are unit-tested


def hf_config(tied):
    return {
        "architectures": ["Qwen3ForCausalLM"],
        "model_type": "qwen3",
        "hidden_size": 8,
        "intermediate_size": 16,
        "num_attention_heads": 2,
        "num_key_value_heads": 1,
        "head_dim": 8,
        "num_hidden_layers": 2,
        "vocab_size": VOCAB,
        "rms_norm_eps": 1e-6,
        "rope_theta": 1000000,
        "tie_word_embeddings": tied,
    }


def random_state(cfg, seed, with_head):
    """HF names (`model.` prefix); bf16-representable values so the bf16 shard is exact."""
    g = torch.Generator().manual_seed(seed)
    h, inter, nh, kv, hd = (cfg[k] for k in ("hidden_size", "intermediate_size", "num_attention_heads", "num_key_value_heads", "head_dim"))

    def rnd(*shape, scale=1.0, offset=0.0):
        t = offset + scale * torch.randn(*shape, generator=g)
        return t.to(torch.bfloat16).to(torch.float32)

    sd = {"model.embed_tokens.weight": rnd(cfg["vocab_size"], h), "model.norm.weight": rnd(h, scale=0.1, offset=1.0)}
    for i in range(cfg["num_hidden_layers"]):
        p = f"model.layers.{i}."
        sd[p + "input_layernorm.weight"] = rnd(h, scale=0.1, offset=1.0)
        sd[p + "post_attention_layernorm.weight"] = rnd(h, scale=0.1, offset=1.0)
        sd[p + "self_attn.q_proj.weight"] = rnd(nh * hd, h, scale=h**-0.5)
        sd[p + "self_attn.k_proj.weight"] = rnd(kv * hd, h, scale=h**-0.5)
        sd[p + "self_attn.v_proj.weight"] = rnd(kv * hd, h, scale=h**-0.5)
        sd[p + "self_attn.o_proj.weight"] = rnd(h, nh * hd, scale=(nh * hd) ** -0.5)
        sd[p + "self_attn.q_norm.weight"] = rnd(hd, scale=0.1, offset=1.0)
        sd[p + "self_attn.k_norm.weight"] = rnd(hd, scale=0.1, offset=1.0)
        sd[p + "mlp.gate_proj.weight"] = rnd(inter, h, scale=h**-0.5)
        sd[p + "mlp.up_proj.weight"] = rnd(inter, h, scale=h**-0.5)
        sd[p + "mlp.down_proj.weight"] = rnd(h, inter, scale=inter**-0.5)
    if with_head:
        sd["lm_head.weight"] = rnd(cfg["vocab_size"], h)
    return sd


def write_safetensors(path, tensors, dtype="F32"):
    """Minimal safetensors writer (the format: u64 header length, JSON header, raw data)."""
    header, blobs, offset = {}, [], 0
    for name in sorted(tensors):
        t = tensors[name].contiguous()
        if dtype == "BF16":
            raw = (t.to(torch.float32).numpy().view(np.uint32) >> 16).astype("<u2").tobytes()
        else:
            raw = t.to(torch.float32).numpy().astype("<f4").tobytes()
        header[name] = {"dtype": dtype, "shape": list(t.shape), "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    head = json.dumps(header).encode()
    head += b" " * ((-len(head)) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(head)))
        f.write(head)
        for b in blobs:
            f.write(b)


def write_layout(root, layout, seed=7):
    """Write one layout under root/checkpoints; returns the raw HF-named state dict it holds."""
    tied = layout in ("prefixed", "noprefix", "sharded")
    cfg = hf_config(tied)
    sd = random_state(cfg, seed, with_head=not tied)
    if layout == "tiedcopy":
        sd["lm_head.weight"] = sd["model.embed_tokens.weight"].clone()
    folder = os.path.join(root, "checkpoints", f"acestep-5Hz-lm-{LM_SIZE}")
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, "config.json"), "w") as f:
        json.dump(cfg, f, indent=1)
    if layout == "noprefix":
        write_safetensors(os.path.join(folder, "model.safetensors"), {k[len("model.") :]: v for k, v in sd.items()})
    elif layout == "sharded":
        names = sorted(sd)
        shards = [names[i::3] for i in range(3)]
        weight_map = {}
        for i, part in enumerate(shards):
            fname = f"model-{i + 1:05d}-of-00003.safetensors"
            write_safetensors(os.path.join(folder, fname), {k: sd[k] for k in part}, dtype="BF16")
            weight_map.update({k: fname for k in part})
        with open(os.path.join(folder, "model.safetensors.index.json"), "w") as f:
            json.dump({"metadata": {"total_size": 0}, "weight_map": weight_map}, f, indent=1)
    else:
        write_safetensors(os.path.join(folder, "model.safetensors"), sd)
    return cfg, sd


def _rms(x, w, eps):
    return w * (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps))


def _rot(x):
    half = x.shape[-1] // 2
    return torch.cat([-x[..., half:], x[..., :half]], -1)


def reference_logits(cfg, sd, ids):
    """Last-position logits of Qwen3ForCausalLM (transformers semantics) for unpadded ids [B,S]."""
    nh, kv, hd, eps = cfg["num_attention_heads"], cfg["num_key_value_heads"], cfg["head_dim"], cfg["rms_norm_eps"]
    b, s = ids.shape
    x = sd["model.embed_tokens.weight"][ids]
    inv = 1.0 / (cfg["rope_theta"] ** (torch.arange(0, hd, 2, dtype=torch.float32) / hd))
    ang = torch.arange(s, dtype=torch.float32)[:, None] * inv[None]
    cos, sin = torch.cat([ang, ang], -1).cos(), torch.cat([ang, ang], -1).sin()
    causal = torch.full((s, s), float("-inf")).triu(1)
    for i in range(cfg["num_hidden_layers"]):
        p = f"model.layers.{i}."
        h = _rms(x, sd[p + "input_layernorm.weight"], eps)
        q = _rms((h @ sd[p + "self_attn.q_proj.weight"].T).view(b, s, nh, hd), sd[p + "self_attn.q_norm.weight"], eps)
        k = _rms((h @ sd[p + "self_attn.k_proj.weight"].T).view(b, s, kv, hd), sd[p + "self_attn.k_norm.weight"], eps)
        v = (h @ sd[p + "self_attn.v_proj.weight"].T).view(b, s, kv, hd)
        q, k, v = (t.transpose(1, 2) for t in (q, k, v))
        q, k = q * cos + _rot(q) * sin, k * cos + _rot(k) * sin
        k, v = k.repeat_interleave(nh // kv, 1), v.repeat_interleave(nh // kv, 1)
        att = torch.softmax(q @ k.transpose(-1, -2) / hd**0.5 + causal, -1) @ v
        x = x + att.transpose(1, 2).reshape(b, s, nh * hd) @ sd[p + "self_attn.o_proj.weight"].T
        h = _rms(x, sd[p + "post_attention_layernorm.weight"], eps)
        gate, up = h @ sd[p + "mlp.gate_proj.weight"].T, h @ sd[p + "mlp.up_proj.weight"].T
        x = x + (torch.nn.functional.silu(gate) * up) @ sd[p + "mlp.down_proj.weight"].T
    x = _rms(x, sd["model.norm.weight"], eps)
    head = sd.get("lm_head.weight", sd["model.embed_tokens.weight"])
    return x[:, -1] @ head.T


def reference_ids():
    g = torch.Generator().manual_seed(3)
    # Text ids and audio-code ids (>= 151669), batch 2, 6 tokens.
    return torch.cat([torch.randint(0, 151669, (2, 3), generator=g), torch.randint(151669, VOCAB, (2, 3), generator=g)], 1)


def main(out):
    for layout in CONVERTED:
        root = os.path.join(out, layout)
        cfg, sd = write_layout(root, layout)
        ref = os.path.join(root, "reference")
        os.makedirs(ref, exist_ok=True)
        ids = reference_ids()
        with torch.no_grad():
            logits = reference_logits(cfg, sd, ids)
        ids.numpy().astype("<i8").tofile(os.path.join(ref, "input_ids.bin"))
        logits.numpy().astype("<f4").tofile(os.path.join(ref, "logits.bin"))
        with open(os.path.join(ref, "index.json"), "w") as f:
            json.dump({"input_ids": list(ids.shape), "logits": list(logits.shape), "tied": cfg["tie_word_embeddings"]}, f)
        subprocess.run(
            [sys.executable, EXPORT, "--checkpoint", os.path.join(root, "checkpoints"), "--preset", "tiny",
             "--lm", LM_SIZE, "--graphs", "lm_prefill,lm_decode", "--parity-fixtures", "--out", os.path.join(root, "set")],
            check=True,
        )


if __name__ == "__main__":
    main(sys.argv[1])
