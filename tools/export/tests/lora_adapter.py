"""A PEFT-format LoRA adapter for the tiny DiT (what `save_pretrained` of the official trainer's
peft-wrapped `model.decoder` writes), and the un-merged PEFT forward as torch hooks.

The hooks re-state peft's Linear forward, y = W x + b + scaling · B(A x), so a merged export
is compared with the adapter applied the way training and the official inference apply it.
"""

import json
import os

import torch
from torch import nn

from lm_checkpoints import write_safetensors

TARGETS = ("self_attn.q_proj", "self_attn.v_proj", "cross_attn.k_proj", "cross_attn.o_proj", "mlp.down_proj")


def write_adapter(folder, decoder, r=4, alpha=8, seed=11, rslora=False, extra_cfg=None):
    """Random lora_A/lora_B for TARGETS in every DiT layer; returns {path: (A, B)}."""
    g = torch.Generator().manual_seed(seed)
    pairs, tensors = {}, {}
    for i in range(len(decoder.layers)):
        for t in TARGETS:
            path = f"layers.{i}.{t}"
            lin = decoder.get_submodule(path)
            a = 0.3 * torch.randn(r, lin.in_features, generator=g)
            b = 0.3 * torch.randn(lin.out_features, r, generator=g)
            pairs[path] = (a, b)
            tensors[f"base_model.model.{path}.lora_A.weight"] = a
            tensors[f"base_model.model.{path}.lora_B.weight"] = b
    os.makedirs(folder, exist_ok=True)
    cfg = {
        "peft_type": "LORA",
        "r": r,
        "lora_alpha": alpha,
        "lora_dropout": 0.1,
        "target_modules": list(TARGETS),
        "bias": "none",
        "use_rslora": rslora,
        "task_type": "FEATURE_EXTRACTION",
    }
    cfg.update(extra_cfg or {})
    with open(os.path.join(folder, "adapter_config.json"), "w") as f:
        json.dump(cfg, f, indent=1)
    write_safetensors(os.path.join(folder, "adapter_model.safetensors"), tensors)
    return pairs


def hook_lora(decoder, pairs, scaling):
    """Apply the adapter without merging (peft's forward); returns the hook handles."""
    handles = []
    for path, (a, b) in pairs.items():
        lin: nn.Linear = decoder.get_submodule(path)

        def hook(mod, inputs, out, a=a, b=b):
            return out + scaling * torch.nn.functional.linear(torch.nn.functional.linear(inputs[0], a), b)

        handles.append(lin.register_forward_hook(hook))
    return handles
