"""Weights: deterministic random init for the tiny/full presets, and loading of the official
checkpoints through a small safetensors reader (no `safetensors` package needed)."""

import dataclasses
import json
import os
import struct

import numpy as np
import torch
from torch import nn

from .config import qwen_cfg_from_hf
from .layers import RMSNorm
from .vae import ResidualUnit, Snake1d

_DTYPES = {"F32": np.float32, "F16": np.float16, "BF16": np.uint16, "I64": np.int64, "I32": np.int32}


def safetensors_header(path):
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(n))
    header.pop("__metadata__", None)
    return header, 8 + n


def read_safetensors(path, names=None):
    """Return {name: float32/int torch tensor} (only `names` when given). BF16 is widened
    exactly to float32."""
    header, base = safetensors_header(path)
    out = {}
    with open(path, "rb") as f:
        for name, info in header.items():
            if names is not None and name not in names:
                continue
            start, end = info["data_offsets"]
            f.seek(base + start)
            raw = np.frombuffer(f.read(end - start), dtype=_DTYPES[info["dtype"]])
            if info["dtype"] == "BF16":
                raw = (raw.astype(np.uint32) << 16).view(np.float32)
            elif info["dtype"] == "F16":
                raw = raw.astype(np.float32)
            out[name] = torch.from_numpy(raw.reshape(info["shape"]).copy())
    return out


def checkpoint_shards(folder):
    """{tensor name: shard path} of a transformers checkpoint folder: one `model.safetensors`
    or a sharded one described by `model.safetensors.index.json` (its `weight_map`)."""
    index = os.path.join(folder, "model.safetensors.index.json")
    single = os.path.join(folder, "model.safetensors")
    if os.path.exists(index):
        with open(index) as f:
            weight_map = json.load(f)["weight_map"]
        where = {}
        for shard in sorted(set(weight_map.values())):
            path = os.path.join(folder, shard)
            if not os.path.exists(path):
                raise SystemExit(f"{index}: shard {shard} is missing")
            for name in safetensors_header(path)[0]:
                if weight_map.get(name) != shard:
                    raise SystemExit(f"{index}: {name} is stored in {shard} but the index says {weight_map.get(name)}")
                where[name] = path
        absent = sorted(set(weight_map) - set(where))
        if absent:
            raise SystemExit(f"{index}: {len(absent)} indexed tensors are in no shard, e.g. {absent[:5]}")
        return where
    if os.path.exists(single):
        return {name: single for name in safetensors_header(single)[0]}
    raise SystemExit(f"{folder}: neither model.safetensors nor model.safetensors.index.json")


def read_checkpoint(folder, names=None):
    """All tensors (or `names`) of a single-file or sharded checkpoint folder."""
    where = checkpoint_shards(folder)
    out = {}
    for path in sorted(set(where.values())):
        wanted = {n for n, p in where.items() if p == path and (names is None or n in names)}
        if wanted:
            out.update(read_safetensors(path, wanted))
    return out


def fold_weight_norm(state):
    """W = g * v / ||v|| (norm over every dim except 0), for both the legacy
    (weight_g/weight_v) and the parametrization (original0/original1) spellings."""
    out = dict(state)
    pairs = []
    for k in state:
        if k.endswith(".weight_g"):
            pairs.append((k[: -len(".weight_g")], k, k[:-1] + "v"))
        elif k.endswith(".parametrizations.weight.original0"):
            stem = k[: -len(".parametrizations.weight.original0")]
            pairs.append((stem, k, stem + ".parametrizations.weight.original1"))
    for stem, gk, vk in pairs:
        g, v = out.pop(gk), out.pop(vk)
        dims = tuple(range(1, v.dim()))
        out[stem + ".weight"] = g * v / v.norm(dim=dims, keepdim=True)
    return out


def load_into(module, state, label, ignore_prefixes=()):
    """Strict load except for keys the official modules carry but our graphs do not need."""
    own = module.state_dict()
    missing = [k for k in own if k not in state]
    unexpected = [k for k in state if k not in own and not k.startswith(tuple(ignore_prefixes))]
    if missing:
        raise SystemExit(f"{label}: checkpoint lacks {len(missing)} tensors, e.g. {missing[:5]}")
    if unexpected:
        raise SystemExit(f"{label}: checkpoint has {len(unexpected)} unknown tensors, e.g. {unexpected[:5]}")
    for k, v in own.items():
        if tuple(state[k].shape) != tuple(v.shape):
            raise SystemExit(f"{label}: {k} has shape {tuple(state[k].shape)}, expected {tuple(v.shape)}")
    module.load_state_dict({k: state[k].to(torch.float32) for k in own}, strict=True)


def load_dit(root, variant, ace):
    state = read_safetensors(os.path.join(root, f"acestep-v15-{variant}", "model.safetensors"))
    # ResidualFSQ keeps non-learned buffers (levels, basis) under quantizer.layers.*.
    load_into(ace, state, "dit", ignore_prefixes=("tokenizer.quantizer.layers.",))


def load_vae(root, vae):
    state = fold_weight_norm(read_safetensors(os.path.join(root, "vae", "diffusion_pytorch_model.safetensors")))
    load_into(vae, state, "vae")


def load_text(root, text):
    state = read_safetensors(os.path.join(root, "Qwen3-Embedding-0.6B", "model.safetensors"))
    load_into(text, {k[len("model.") :] if k.startswith("model.") else k: v for k, v in state.items()}, "text")


LM_EMBED = "model.embed_tokens.weight"
LM_HEAD = "lm_head.weight"


def lm_folder(root, lm_size):
    return os.path.join(root, f"acestep-5Hz-lm-{lm_size}")


def lm_key(name):
    """Official LM keys live under `model.` (Qwen3ForCausalLM); some files store the inner
    Qwen3Model's keys without it (the 1.7B, by another port's account). Both map to ours."""
    return name if name == LM_HEAD or name.startswith("model.") else "model." + name


def lm_config(root, lm_size, fallback):
    """The LM's QwenCfg from its `config.json` (fallback: the preset's table), with the head's
    tie decided by the config and verified on the tensors:
    - config tied: a stored lm_head.weight must equal the embedding (else the export stops);
    - config untied: lm_head.weight is required; when it equals the embedding bit for bit it
      is stored once as a tied head (same numbers, half the bytes)."""
    folder = lm_folder(root, lm_size)
    path = os.path.join(folder, "config.json")
    cfg = fallback
    if os.path.exists(path):
        with open(path) as f:
            cfg = qwen_cfg_from_hf(json.load(f))
    names = {k for k in checkpoint_shards(folder) if lm_key(k) in (LM_EMBED, LM_HEAD)}
    pair = {lm_key(k): v for k, v in read_checkpoint(folder, names).items()}
    if LM_EMBED not in pair:
        raise SystemExit(f"lm: {folder} has no embed_tokens.weight")
    head = pair.get(LM_HEAD)
    if cfg.tie_word_embeddings:
        if head is not None and not torch.equal(head, pair[LM_EMBED]):
            diff = (head - pair[LM_EMBED]).abs().max().item()
            raise SystemExit(f"lm: config.json ties the head but lm_head.weight differs from the embedding (max |diff| {diff:g})")
        return cfg
    if head is None:
        raise SystemExit(f"lm: config.json unties the head (tie_word_embeddings false) but {folder} has no lm_head.weight")
    if torch.equal(head, pair[LM_EMBED]):
        return dataclasses.replace(cfg, tie_word_embeddings=True)
    return cfg


def load_lm(root, lm_size, lm):
    """Either key spelling, single or sharded file; `lm` was built from lm_config()."""
    state = {}
    for k, v in read_checkpoint(lm_folder(root, lm_size)).items():
        key = lm_key(k)
        if key in state:
            raise SystemExit(f"lm: {key} is stored twice (with and without the model. prefix)")
        state[key] = v
    if lm.cfg.tie_word_embeddings:
        state.pop(LM_HEAD, None)  # verified equal to the embedding by lm_config()
    load_into(lm, state, "lm")


def load_silence(root, variant):
    """silence_latent.pt [1, 64, 15000] -> time-major [1, 15000, 64]."""
    silence = torch.load(os.path.join(root, f"acestep-v15-{variant}", "silence_latent.pt"), map_location="cpu")
    return silence.to(torch.float32).transpose(1, 2).contiguous()


def load_null_condition(root, variant):
    state = read_safetensors(os.path.join(root, f"acestep-v15-{variant}", "model.safetensors"))
    return state["null_condition_emb"].to(torch.float32)


def random_init(module, seed, embed_std=1.0):
    """Deterministic init that keeps activations O(1) through every stack."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, mod in module.named_modules():
            if isinstance(mod, (nn.Linear, nn.Conv1d, nn.ConvTranspose1d)):
                w = mod.weight
                fan_in = w.shape[1] * (w.shape[2] if w.dim() == 3 else 1)
                if isinstance(mod, nn.ConvTranspose1d):
                    fan_in = w.shape[0] * w.shape[2] // max(1, mod.stride[0])
                w.copy_(torch.randn(w.shape, generator=g) / fan_in**0.5)
                if mod.bias is not None:
                    mod.bias.copy_(0.02 * torch.randn(mod.bias.shape, generator=g))
            elif isinstance(mod, nn.Embedding):
                mod.weight.copy_(embed_std * torch.randn(mod.weight.shape, generator=g))
            elif isinstance(mod, RMSNorm):
                mod.weight.copy_(1.0 + 0.1 * torch.randn(mod.weight.shape, generator=g))
            elif isinstance(mod, Snake1d):
                mod.alpha.copy_(0.1 * torch.randn(mod.alpha.shape, generator=g))
                mod.beta.copy_(0.1 * torch.randn(mod.beta.shape, generator=g))
        for mod in module.modules():
            if isinstance(mod, ResidualUnit):
                # Damp the residual branch so 5 stacked blocks keep audio/latents O(1); with
                # plain fan-in init they grow ~2.5x per block and fp32 parity suffers.
                mod.conv1.weight.mul_(0.5)
                mod.conv2.weight.mul_(0.2)
        for name, p in module.named_parameters():
            if name.endswith(("scale_shift_table", "special_token", "special_tokens", "null_condition_emb")):
                p.copy_(torch.randn(p.shape, generator=g) / p.shape[-1] ** 0.5)


def silence_from_vae(vae, frames, probe_frames=64):
    """Random-weight stand-in for silence_latent.pt: the VAE posterior mean of digital
    silence. Like the official file, the first frames differ (edge effects) and the rest is
    one constant vector, so we encode a short probe and repeat its steady-state frame."""
    hop = vae.cfg.hop
    with torch.no_grad():
        mean, _ = vae.encode_posterior(torch.zeros(1, vae.cfg.audio_channels, probe_frames * hop))
    mean = mean.transpose(1, 2)  # [1, probe, 64]
    head = mean[:, : probe_frames // 2]
    tail = head[:, -1:].expand(1, frames - head.shape[1], head.shape[2])
    return torch.cat([head, tail], 1).contiguous()
