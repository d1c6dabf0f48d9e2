#!/usr/bin/env python3
"""Compare our torch modules (the ones the exporter traces) with the official ACE-Step 1.5
implementations, on the same official weights and the same random inputs.

NOT RUN IN THIS REPOSITORY'S CI: it needs the official code and its dependencies
(`transformers`, `diffusers`, `vector-quantize-pytorch`, `einops`) plus the downloaded
checkpoints, none of which are available offline here. Run it on a machine that has them:

  pip install torch transformers diffusers vector-quantize-pytorch einops
  git clone https://github.com/ace-step/ACE-Step-1.5
  huggingface-cli download ACE-Step/Ace-Step1.5 --local-dir checkpoints
  python tools/export/parity_official.py --checkpoint checkpoints --acestep-repo ACE-Step-1.5 \
      [--variant turbo] [--lm 1.7B] [--device cpu]

It prints the max |diff| per component and exits non-zero above --tolerance (fp32, default 1e-4).
Official classes used: the checkpoint's `modeling_acestep_v15_<variant>.py`
(AceStepConditionGenerationModel via trust_remote_code), diffusers AutoencoderOobleck,
transformers AutoModel (Qwen3-Embedding) and AutoModelForCausalLM (5 Hz LM).
"""

import argparse
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from acestep_export import weights  # noqa: E402
from acestep_export.acestep import AceStepModel  # noqa: E402
from acestep_export.config import full_preset  # noqa: E402
from acestep_export.qwen3 import Qwen3ForCausalLM, Qwen3Model  # noqa: E402
from acestep_export.vae import AutoencoderOobleck  # noqa: E402


def report(name, ours, theirs, tol, failures):
    diff = (ours.float() - theirs.float()).abs().max().item()
    status = "ok" if diff <= tol else "FAIL"
    print(f"{name:32s} max|diff| {diff:.3e}  {status}")
    if diff > tol:
        failures.append(name)


def check_vae(args, failures):
    from diffusers import AutoencoderOobleck as Official

    theirs = Official.from_pretrained(os.path.join(args.checkpoint, "vae")).eval()
    ours = AutoencoderOobleck(full_preset(args.lm).vae)
    weights.load_vae(args.checkpoint, ours)
    g = torch.Generator().manual_seed(0)
    z = torch.randn(1, 64, 40, generator=g)
    audio = 0.5 * torch.tanh(torch.randn(1, 2, 1920 * 40, generator=g))
    with torch.no_grad():
        report("vae_decoder", ours.decoder(z), theirs.decode(z).sample, args.tolerance, failures)
        dist = theirs.encode(audio).latent_dist
        mean, std = ours.encode_posterior(audio)
        report("vae_encoder.mean", mean, dist.mean, args.tolerance, failures)
        report("vae_encoder.std", std, dist.std, args.tolerance, failures)


def check_dit(args, failures):
    from transformers import AutoModel

    path = os.path.join(args.checkpoint, f"acestep-v15-{args.variant}")
    theirs = AutoModel.from_pretrained(path, trust_remote_code=True, torch_dtype=torch.float32).eval()
    theirs.config._attn_implementation = "eager"
    p = full_preset(args.lm)
    ours = AceStepModel(p.dit).eval()
    weights.load_dit(args.checkpoint, args.variant, ours)
    g = torch.Generator().manual_seed(1)
    b, t, lt, ll = 2, 301, 40, 300
    th, tm = torch.randn(b, lt, 1024, generator=g), torch.ones(b, lt, dtype=torch.int64)
    lh, lm = torch.randn(b, ll, 1024, generator=g), torch.ones(b, ll, dtype=torch.int64)
    tm[1, 30:] = 0
    lm[1, 200:] = 0
    refer = torch.randn(b, 750, 64, generator=g)
    order = torch.arange(b)
    with torch.no_grad():
        enc_t, mask_t = theirs.encoder(th, tm, lh, lm, refer, order)
        enc_o, mask_o = ours.encoder(th, tm, lh, lm, refer, order)
        report("condition_encoder", enc_o, enc_t, args.tolerance, failures)
        report("condition_encoder.mask", mask_o, mask_t.long(), 0, failures)
        xt, ctx = torch.randn(b, t, 64, generator=g), torch.randn(b, t, 128, generator=g)
        ts = torch.tensor([0.9, 0.3])
        v_t = theirs.decoder(xt, ts, ts, None, enc_t, mask_t, ctx, use_cache=False)[0]
        report("dit_step", ours.decoder(xt, ts, enc_t, ctx), v_t, args.tolerance, failures)
        lat = torch.randn(b, 50, 64, generator=g)
        _, idx_t = theirs.tokenizer.tokenize(lat)
        idx_o = ours.tokenizer(lat)
        report("audio_tokenizer", idx_o, idx_t.squeeze(-1), 0, failures)
        q = theirs.tokenizer.quantizer.get_output_from_indices(idx_t)
        report("audio_detokenizer", ours.detokenizer(ours.tokenizer.quantizer.decode(idx_o)), theirs.detokenizer(q), args.tolerance, failures)


def check_text(args, failures):
    from transformers import AutoModel

    path = os.path.join(args.checkpoint, "Qwen3-Embedding-0.6B")
    theirs = AutoModel.from_pretrained(path, torch_dtype=torch.float32, attn_implementation="eager").eval()
    ours = Qwen3Model(full_preset(args.lm).text).eval()
    weights.load_text(args.checkpoint, ours)
    ids = torch.randint(0, 151669, (2, 64), generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        report("text_encoder", ours.forward_causal(ids), theirs(input_ids=ids).last_hidden_state, args.tolerance, failures)
        report("text_token_embedding", ours.embed_tokens(ids), theirs.embed_tokens(ids), 0, failures)


def check_lm(args, failures):
    from transformers import AutoModelForCausalLM

    path = os.path.join(args.checkpoint, f"acestep-5Hz-lm-{args.lm}")
    theirs = AutoModelForCausalLM.from_pretrained(path, torch_dtype=torch.float32, attn_implementation="eager").eval()
    ours = Qwen3ForCausalLM(full_preset(args.lm).lm).eval()
    weights.load_lm(args.checkpoint, args.lm, ours)
    ids = torch.randint(0, 217204, (1, 48), generator=torch.Generator().manual_seed(3))
    mask = torch.ones_like(ids)
    with torch.no_grad():
        logits, _ = ours.step(ids, mask, None)
        report("lm_prefill.logits", logits, theirs(input_ids=ids).logits[:, -1], args.tolerance * 10, failures)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--checkpoint", required=True)
    ap.add_argument("--acestep-repo", help="official repo checkout (added to sys.path)")
    ap.add_argument("--variant", default="turbo")
    ap.add_argument("--lm", default="1.7B")
    ap.add_argument("--tolerance", type=float, default=1e-4)
    ap.add_argument("--only", help="comma list of vae,dit,text,lm")
    args = ap.parse_args()
    if args.acestep_repo:
        sys.path.insert(0, args.acestep_repo)
    failures = []
    checks = {"vae": check_vae, "dit": check_dit, "text": check_text, "lm": check_lm}
    for name in (args.only.split(",") if args.only else checks):
        checks[name](args, failures)
    if failures:
        print("FAILED:", ", ".join(failures))
        sys.exit(1)


if __name__ == "__main__":
    main()
