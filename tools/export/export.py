#!/usr/bin/python3
"""Export an ACE-Step 1.5 model set to ONNX (opset 17) with a manifest and parity fixtures.

  /usr/bin/python3 tools/export/export.py --random --preset tiny --parity-fixtures --out models/tiny
  /usr/bin/python3 tools/export/export.py --checkpoint ~/ACE-Step/checkpoints --preset full \
      --variant turbo --lm 1.7B --out models/turbo-1.7b

Needs only torch >= 1.13 and onnx (Debian python3-torch / python3-onnx work).
"""

import argparse
import dataclasses
import json
import os
import shutil
import sys
import time

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from acestep_export import graphs as graph_defs  # noqa: E402
from acestep_export import lora, manifest, onnx_io, weights  # noqa: E402
from acestep_export.acestep import AceStepModel  # noqa: E402
from acestep_export.config import preset  # noqa: E402
from acestep_export.qwen3 import Qwen3ForCausalLM, Qwen3Model  # noqa: E402
from acestep_export.variants import VARIANTS  # noqa: E402
from acestep_export.vae import AutoencoderOobleck  # noqa: E402

SEED = 1234


def parse_args(argv):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    src = ap.add_mutually_exclusive_group(required=True)
    src.add_argument("--random", action="store_true", help="deterministic random weights")
    src.add_argument("--checkpoint", help="official checkpoints/ directory")
    ap.add_argument("--preset", choices=["tiny", "full"], default="tiny")
    ap.add_argument("--variant", choices=list(VARIANTS), default="turbo", help="official DiT variant (folder acestep-v15-<variant>)")
    ap.add_argument("--lm", choices=["0.6B", "1.7B", "4B"], default="1.7B")
    ap.add_argument("--out", required=True)
    ap.add_argument("--parity-fixtures", action="store_true", help="write parity/ inputs + torch outputs")
    ap.add_argument("--graphs", help="comma-separated subset of graph names (default: all)")
    ap.add_argument("--lora", metavar="DIR", help="merge a PEFT LoRA adapter folder into the DiT (official training output)")
    ap.add_argument("--lora-scale", type=float, default=1.0, metavar="S", help="LoRA strength: 0 = base model, 1 = as trained")
    args = ap.parse_args(argv)
    # A checkpoint normally needs --preset full (the official sizes); the strict loader names
    # any tensor whose shape does not match the preset. The LM's sizes always come from the
    # checkpoint's config.json, so tiny LM checkpoints (the CI's loader tests) convert too.
    return args


# Which model each graph reads; modules are built on first use and dropped after their last
# graph so the full preset never holds the DiT, the LM and the text encoder at once.
COMPONENT_OF = {
    "vae_decoder": "vae",
    "vae_encoder": "vae",
    "text_encoder": "text",
    "text_token_embedding": "text",
    "condition_encoder": "ace",
    "dit_step": "ace",
    "audio_tokenizer": "ace",
    "audio_detokenizer": "ace",
    "lm_prefill": "lm",
    "lm_decode": "lm",
    "lm_decode_loop": "lm",
    "lm_decode_top": "lm",
}
SEED_OFFSET = {"vae": 0, "ace": 1, "text": 2, "lm": 3}


class Components:
    def __init__(self, p, args):
        self.p, self.args = p, args
        self.cache = {}
        self.null_emb = None
        self.lora = None  # manifest record of a merged LoRA

    def _build(self, key):
        p, a = self.p, self.args
        torch.manual_seed(SEED)
        module = {
            "vae": lambda: AutoencoderOobleck(p.vae),
            "ace": lambda: AceStepModel(p.dit),
            "text": lambda: Qwen3Model(p.text),
            "lm": lambda: Qwen3ForCausalLM(p.lm),
        }[key]()
        if a.checkpoint:
            loaders = {
                "vae": lambda m: weights.load_vae(a.checkpoint, m),
                "ace": lambda m: weights.load_dit(a.checkpoint, a.variant, m),
                "text": lambda m: weights.load_text(a.checkpoint, m),
                "lm": lambda m: weights.load_lm(a.checkpoint, a.lm, m),
            }
            loaders[key](module)
        else:
            weights.random_init(module, SEED + SEED_OFFSET[key])
        if key == "ace":
            self.null_emb = module.null_condition_emb.detach().clone()
            if a.lora:
                self.lora = lora.merge_lora(module, a.lora, a.lora_scale)
        return module.eval()

    def get(self, key):
        if key not in self.cache:
            self.cache[key] = self._build(key)
        return self.cache[key]

    def release(self, key):
        self.cache.pop(key, None)

    vae = property(lambda self: self.get("vae"))
    ace = property(lambda self: self.get("ace"))
    text = property(lambda self: self.get("text"))
    lm = property(lambda self: self.get("lm"))

    def has_dit_checkpoint(self):
        return os.path.isdir(os.path.join(self.args.checkpoint, f"acestep-v15-{self.args.variant}"))

    def silence(self):
        if self.args.checkpoint:
            return weights.load_silence(self.args.checkpoint, self.args.variant)
        return weights.silence_from_vae(self.vae, self.p.silence_frames)

    def null_condition(self):
        """Taken from the DiT module when it was built; else read from the checkpoint, or (random
        weights, subset export without DiT graphs) drawn from a fixed generator."""
        if self.null_emb is not None:
            return self.null_emb
        if self.args.checkpoint:
            return weights.load_null_condition(self.args.checkpoint, self.args.variant)
        g = torch.Generator().manual_seed(SEED)
        return torch.randn(1, 1, self.p.dit.enc.hidden, generator=g) / self.p.dit.enc.hidden**0.5


def write_tensor(out_dir, name, t, doc):
    arr = np.ascontiguousarray(t.detach().numpy().astype("<f4"))
    path = os.path.join(out_dir, name)
    arr.tofile(path)
    return {"file": name, "dtype": "float32", "shape": list(arr.shape), "sha256": onnx_io.sha256_file(path), "doc": doc}


def _as_tuple(x):
    return tuple(x) if isinstance(x, (tuple, list)) else (x,)


def write_fixtures(out_dir, spec, module):
    """Run every case in torch and save inputs/outputs as raw little-endian files."""
    pdir = os.path.join(out_dir, "parity")
    os.makedirs(pdir, exist_ok=True)
    cases = []
    for ci, make in enumerate(spec.cases):
        g = torch.Generator().manual_seed(SEED + 101 * ci)
        inputs = make(g)
        with torch.no_grad():
            outputs = _as_tuple(module(*inputs))
        entry = {"name": f"case{ci}", "inputs": [], "outputs": []}
        for kind, specs, tensors in (("inputs", spec.inputs, inputs), ("outputs", spec.outputs, outputs)):
            for ts, t in zip(specs, tensors):
                dtype = {"int64": "<i8", "int32": "<i4", "float64": "<f8"}.get(ts.dtype, "<f4")
                arr = np.ascontiguousarray(t.detach().numpy().astype(dtype))
                fname = f"{spec.name}.case{ci}.{kind[:-1]}.{ts.name}.bin"
                arr.tofile(os.path.join(pdir, fname))
                entry[kind].append({"name": ts.name, "dtype": ts.dtype, "shape": list(arr.shape), "file": fname})
        cases.append(entry)
    return {"tolerance": spec.tolerance, "exactOutputs": list(spec.exact_outputs), "cases": cases}


def export_graphs(args, specs, comps):
    """Export every spec; a weight group is closed as soon as its last graph is written and a
    component is dropped after its last graph. Returns (manifest graph entries, fixtures)."""
    groups, fixtures, entries, onnx_sha = {}, {}, {}, {}
    for i, spec in enumerate(specs):
        t1 = time.time()
        module = spec.module()
        example = spec.cases[0](torch.Generator().manual_seed(SEED))
        if spec.group not in groups:
            groups[spec.group] = onnx_io.WeightsFile(args.out, f"{spec.group}.weights")
        model = onnx_io.export_graph(spec, module, example)
        onnx_sha[spec.name] = onnx_io.sha256_file(groups[spec.group].add_graph(model, spec.file))
        del model
        if args.parity_fixtures:
            fixtures[spec.name] = write_fixtures(args.out, spec, module)
        print(f"exported {spec.name} in {time.time() - t1:.1f}s", flush=True)
        del module
        rest = specs[i + 1 :]
        if all(COMPONENT_OF[s.name] != COMPONENT_OF[spec.name] for s in rest):
            comps.release(COMPONENT_OF[spec.name])
        if all(s.group != spec.group for s in rest):
            wfile = groups.pop(spec.group)
            wsha = onnx_io.sha256_file(wfile.close())
            for s in specs:
                if s.group == spec.group:
                    entries[s.name] = manifest.graph_entry(s, onnx_sha[s.name], wfile.name, wsha)
    return entries, fixtures


def write_json(path, doc, indent):
    with open(path, "w") as f:
        json.dump(doc, f, indent=indent)
        f.write("\n")


def main(argv):
    args = parse_args(argv)
    p = preset(args.preset, args.lm, xl=VARIANTS[args.variant].xl)
    if args.checkpoint and os.path.isdir(weights.lm_folder(args.checkpoint, args.lm)):
        p = dataclasses.replace(p, lm=weights.lm_config(args.checkpoint, args.lm, p.lm))
    os.makedirs(args.out, exist_ok=True)
    shutil.rmtree(os.path.join(args.out, "parity"), ignore_errors=True)
    t0 = time.time()
    comps = Components(p, args)
    specs = graph_defs.all_graphs(p, comps)
    if args.graphs:
        wanted = set(args.graphs.split(","))
        specs = [s for s in specs if s.name in wanted]
    # A subset export from a checkpoint folder without the DiT (e.g. an LM alone) has no
    # silence latent or null condition to write; the loader needs full sets anyway.
    dit_tensors = not args.checkpoint or comps.has_dit_checkpoint()
    silence = comps.silence() if dit_tensors else None
    graph_entries, fixtures = export_graphs(args, specs, comps)
    tensors = {}
    if dit_tensors:
        tensors = {
            "silenceLatent": write_tensor(
                args.out, "silence_latent.bin", silence, "[1, frames, 64] time-major VAE latent of digital silence"
            ),
            "nullConditionEmbedding": write_tensor(
                args.out, "null_condition_emb.bin", comps.null_condition(), "[1, 1, hidden] CFG null condition (encoder space)"
            ),
        }
    parity = None
    if args.parity_fixtures:
        write_json(os.path.join(args.out, "parity", "index.json"), {"graphs": fixtures}, 1)
        parity = {"index": "parity/index.json"}
    write_json(os.path.join(args.out, "manifest.json"), manifest.build(p, args, graph_entries, tensors, parity, comps.lora), 2)
    size = sum(os.path.getsize(os.path.join(args.out, n)) for n in os.listdir(args.out) if n != "parity")
    print(f"model set {args.out}: {len(graph_entries)} graphs, {size / 1e6:.1f} MB, {time.time() - t0:.1f}s")


if __name__ == "__main__":
    main(sys.argv[1:])
