"""Weights: deterministic random init for the tiny/full presets, and loading of the official
checkpoints through a small safetensors reader (no `safetensors` package needed)."""

import json
import os
import struct

import numpy as np
import torch
from torch import nn

from .layers import RMSNorm
from .vae import ResidualUnit, Snake1d

_DTYPES = {"F32": np.float32, "F16": np.float16, "BF16": np.uint16, "I64": np.int64, "I32": np.int32}


def read_safetensors(path):
    """Return {name: float32/int torch tensor}. BF16 is widened exactly to float32."""
    out = {}
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(n))
        base = 8 + n
        for name, info in header.items():
            if name == "__metadata__":
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


def load_lm(root, lm_size, lm):
    state = read_safetensors(os.path.join(root, f"acestep-5Hz-lm-{lm_size}", "model.safetensors"))
    state.pop("lm_head.weight", None)  # tied to model.embed_tokens.weight
    load_into(lm, state, "lm")


def load_silence(root, variant):
    """silence_latent.pt [1, 64, 15000] -> time-major [1, 15000, 64] (acestep-dit-vae.md §2.13)."""
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
