"""Merge a PEFT LoRA adapter (the official ACE-Step training output) into the DiT before export.

The official trainer wraps `model.decoder` with peft's `get_peft_model` and saves it with
`save_pretrained`, which writes a folder with
  adapter_config.json           r, lora_alpha, use_rslora, rank_pattern, alpha_pattern, ...
  adapter_model.safetensors     base_model.model.<module>.lora_A.weight [r, in]
                                base_model.model.<module>.lora_B.weight [out, r]
(`adapter_model.bin`, a torch pickle, in older peft). PEFT's forward for a Linear is
y = W x + b + scaling · B(A x) with scaling = lora_alpha / r (lora_alpha / sqrt(r) with rsLoRA),
so merging W' = W + S · scaling · (B @ A) gives the same function; S is `--lora-scale`
(0 = the base model, 1 = the adapter as trained). Module paths are relative to the DiT
(`model.decoder`); paths that already start with `decoder.` (an adapter saved from the whole
model) are accepted too. DoRA, LoRA biases and non-Linear targets are refused by name.
"""

import json
import math
import os
import re

import torch
from torch import nn

from .weights import read_safetensors

PREFIX = "base_model.model."
_LORA_KEY = re.compile(r"^(?P<path>.+)\.lora_(?P<part>[AB])(?:\.default)?\.weight$")


def read_adapter(folder):
    """(config dict, {module path: (A, B)})."""
    cfg_path = os.path.join(folder, "adapter_config.json")
    if not os.path.exists(cfg_path):
        raise SystemExit(f"--lora {folder}: no adapter_config.json (a peft save_pretrained folder is expected)")
    with open(cfg_path) as f:
        cfg = json.load(f)
    if cfg.get("use_dora"):
        raise SystemExit(f"--lora {folder}: DoRA adapters (use_dora) cannot be merged by this exporter")
    if cfg.get("lora_bias"):
        raise SystemExit(f"--lora {folder}: adapters with LoRA biases (lora_bias) are not supported")
    st = os.path.join(folder, "adapter_model.safetensors")
    if os.path.exists(st):
        state = read_safetensors(st)
    elif os.path.exists(os.path.join(folder, "adapter_model.bin")):
        state = torch.load(os.path.join(folder, "adapter_model.bin"), map_location="cpu")
    else:
        raise SystemExit(f"--lora {folder}: neither adapter_model.safetensors nor adapter_model.bin")
    pairs = {}
    for key, value in state.items():
        name = key[len(PREFIX) :] if key.startswith(PREFIX) else key
        m = _LORA_KEY.match(name)
        if not m:
            raise SystemExit(f"--lora {folder}: unexpected tensor {key} (only lora_A/lora_B weights are merged)")
        pairs.setdefault(m["path"], {})[m["part"]] = value.to(torch.float32)
    incomplete = [p for p, ab in pairs.items() if set(ab) != {"A", "B"}]
    if incomplete:
        raise SystemExit(f"--lora {folder}: modules without both lora_A and lora_B: {incomplete[:5]}")
    return cfg, {p: (ab["A"], ab["B"]) for p, ab in sorted(pairs.items())}


def _pattern(patterns, path, default):
    """peft's rank_pattern/alpha_pattern: the first key that is the path or a suffix of it."""
    for key, value in (patterns or {}).items():
        if path == key or path.endswith("." + key):
            return value
    return default


def scaling(cfg, path):
    r = _pattern(cfg.get("rank_pattern"), path, cfg["r"])
    alpha = _pattern(cfg.get("alpha_pattern"), path, cfg.get("lora_alpha", r))
    return alpha / math.sqrt(r) if cfg.get("use_rslora") else alpha / r


def _target(ace, path):
    for candidate in ("decoder." + path, path):
        try:
            return candidate, ace.get_submodule(candidate)
        except AttributeError:
            continue
    raise SystemExit(f"--lora: the DiT has no module {path!r}")


def merge_lora(ace, folder, scale):
    """Merge in place into an AceStepModel; returns a manifest record of what was merged."""
    cfg, pairs = read_adapter(folder)
    with torch.no_grad():
        for path, (a, b) in pairs.items():
            name, module = _target(ace, path)
            if not isinstance(module, nn.Linear):
                raise SystemExit(f"--lora: {name} is a {type(module).__name__}; only Linear layers are merged")
            want = (module.out_features, module.in_features)
            if a.shape[1] != want[1] or b.shape[0] != want[0] or a.shape[0] != b.shape[1]:
                raise SystemExit(f"--lora: {name}: A {tuple(a.shape)} / B {tuple(b.shape)} do not fit {want}")
            if scale != 0:  # scale 0 leaves the base weights bit for bit
                module.weight += (scale * scaling(cfg, path)) * (b @ a)
    return {"modules": len(pairs), "scale": scale, "r": cfg["r"], "loraAlpha": cfg.get("lora_alpha")}
