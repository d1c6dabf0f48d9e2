"""K-step audio-code decode: K LM steps, CFG, code-range masking and sampling in one ONNX Loop.

Why: onnxruntime-node has no CUDA IO binding, so every `run` copies all inputs and
outputs over PCIe. A 1-token decode moves the whole KV cache per token; this graph moves
it once per K tokens and returns K int64 tokens instead of K logit rows
(see docs/model-contract.md, "LM on a GPU").

Batch layout is the CFG pair layout of nano-vllm: rows [cond_1..cond_N, uncond_1..uncond_N];
B = 2N. Both rows of a pair are fed the same sampled token.

Sampling per step, per pair (every parameter is a [pairs] tensor, so pairs of different
requests share one call; exact, no approximation):
  l = u + cfg_scale * (c - u)          (raw logits, fp32, on the candidates only)
  candidates = l[EOS] ++ l[codes 0..63999]   (id order; everything else is banned)
  EOS: banned while step < codes_left, forced once step >= codes_left (codes_left < 0: free)
  l /= temperature
  top_k and top_p both off: inverse CDF at rand * sum(p) over the candidates in id order.
  otherwise: ranks in descending order (ties: lower id first); keep rank < top_k (top_k <= 0:
  all); p = exp(l - max) / (sum over the kept); keep rank while the mass before it < top_p;
  token = inverse CDF at rand * sum(kept p) in rank order.
The ranks come from a TopK of KMAX candidates whenever every pair's kept set provably fits in it
(top_k <= KMAX, or the first KMAX ranks already hold top_p of the mass); else the call takes a
TopK over all candidates (a full sort), with the same arithmetic. No full sort in the usual case.
After a pair emits EOS every later step of the call returns EOS.
"""

import torch
from torch import nn


class DecodeStep(nn.Module):
    def __init__(self, lm):
        super().__init__()
        self.lm = lm

    def forward(self, input_ids, attention_mask, past):
        return self.lm.step(input_ids, attention_mask, past)


# Candidates kept by the first, cheap TopK. When a row's top-k or top-p nucleus fits in it (the
# usual case), the draw reads only these; otherwise that call falls back to a TopK over all.
KMAX = 256


class CodeSampler(nn.Module):
    def __init__(self, tokens):
        super().__init__()
        self.lo = tokens.audio_code_offset
        self.hi = tokens.audio_code_offset + tokens.audio_code_valid
        self.eos = tokens.im_end

    def forward(self, logits, rand, cfg_scale, temperature, top_k, top_p, codes_left, step, done):
        n = rand.shape[0]
        cond, uncond = logits[:n], logits[n:]
        # Mix only the candidates, EOS first (its id is below the codes: id order), then the codes.
        c = torch.cat([cond[:, self.eos : self.eos + 1], cond[:, self.lo : self.hi]], 1)
        u = torch.cat([uncond[:, self.eos : self.eos + 1], uncond[:, self.lo : self.hi]], 1)
        cand = u + cfg_scale.unsqueeze(1) * (c - u)
        count = cand.shape[1]
        # Flags are int64 0/1: the scripted Loop loses bool types, which the exporter needs for Or/And.
        limited = (codes_left >= 0).to(torch.int64)
        banned = limited * (step < codes_left).to(torch.int64) > 0
        forced = limited * (step >= codes_left).to(torch.int64)
        eos_col = torch.where(banned, torch.full_like(cand[:, 0], float("-inf")), cand[:, 0])
        cand = torch.cat([eos_col.unsqueeze(1), cand[:, 1:]], 1) / temperature.unsqueeze(1)
        full = torch.full_like(top_k, count)
        k_eff = torch.where(top_k > 0, torch.minimum(top_k, full), full)
        top_p64 = top_p.to(torch.float64)
        nucleus = (top_p < 1.0).to(torch.int64)
        unlimited = (k_eff >= count).to(torch.int64)
        plain = unlimited * (1 - nucleus) > 0
        # Plain multinomial: inverse CDF over the candidates in id order (no sort at all).
        top1, _ = torch.topk(cand, 1, 1)
        # Sums run in float64: torch accumulates float32 sums in double, onnxruntime in float, and
        # over 64k terms that difference moves draws; in float64 both agree.
        w_all = torch.exp(cand - top1).to(torch.float64)
        z_all = w_all.sum(1, keepdim=True)
        cdf_id = torch.cumsum(w_all, 1)
        target_id = rand.to(torch.float64).unsqueeze(1) * cdf_id[:, -1:]
        j_plain = (cdf_id < target_id).to(torch.int64).sum(1).clamp(max=count - 1)
        # Sorted draw: the nucleus lies within the first KMAX ranks iff the mass before rank KMAX
        # already reaches top_p (that rank and every later one is cut). Same arithmetic as below.
        v1, _ = torch.topk(cand, KMAX, 1)
        head_mass = torch.cumsum(torch.exp(v1 - top1).to(torch.float64) / z_all, 1)[:, -1]
        covered = (k_eff <= KMAX).to(torch.int64) + unlimited * nucleus * (head_mass >= top_p64).to(torch.int64)
        need_all = ((covered + plain.to(torch.int64)) == 0).to(torch.int64).sum() > 0
        k_dyn = torch.where(need_all, torch.full_like(top_k, count), torch.full_like(top_k, KMAX))[:1]
        vals, idx = torch.topk(cand, k_dyn.squeeze(0), 1)
        rank = torch.arange(vals.shape[1]).unsqueeze(0)
        kept = rank < k_eff.unsqueeze(1)
        w = torch.exp(vals - top1).to(torch.float64)
        w = torch.where(kept, w, torch.zeros_like(w))
        z = torch.where((k_eff >= count).unsqueeze(1), z_all, w.sum(1, keepdim=True))
        probs = w / z
        before = torch.cumsum(probs, 1) - probs
        probs = torch.where(before < top_p64.unsqueeze(1), probs, torch.zeros_like(probs))
        cdf = torch.cumsum(probs, 1)
        target = rand.to(torch.float64).unsqueeze(1) * cdf[:, -1:]
        pick = (cdf < target).to(torch.int64).sum(1, keepdim=True).clamp(max=vals.shape[1] - 1)
        j_sorted = torch.gather(idx, 1, pick).squeeze(1)
        j = torch.where(plain, j_plain, j_sorted)
        token = torch.where(j == 0, torch.full_like(j, self.eos), j - 1 + self.lo)
        token = torch.where(done + forced > 0, torch.full_like(token, self.eos), token)
        return token, ((done + (token == self.eos).to(torch.int64)) > 0).to(torch.int64)


class DecodeLoop(nn.Module):
    def __init__(self, step, sampler):
        super().__init__()
        self.step = step
        self.sampler = sampler

    def forward(self, input_ids, attention_mask, past_kv, rand, cfg_scale, temperature, top_k, top_p, codes_left):
        n = input_ids.shape[0]
        tok = input_ids
        mask = attention_mask
        acc = past_kv[:0]
        tokens = torch.zeros([0, n], dtype=torch.int64)
        done = torch.zeros([n], dtype=torch.int64)
        for t in range(rand.shape[0]):
            ids = torch.cat([tok, tok], 0).unsqueeze(1)
            mask = torch.cat([mask, torch.ones([mask.shape[0], 1], dtype=torch.int64)], 1)
            logits, row = self.step(ids, mask, torch.cat([past_kv, acc], 0))
            acc = torch.cat([acc, row], 0)
            step = torch.full([1], t, dtype=torch.int64)
            tok, done = self.sampler(logits, rand[t], cfg_scale, temperature, top_k, top_p, codes_left, step, done)
            tokens = torch.cat([tokens, tok.unsqueeze(0)], 0)
        return tokens, acc


def build_decode_loop(lm, tokens, example):
    """Trace the step and the sampler, script the loop around them (K is a runtime dim)."""
    ids, mask, past, rand, cfg, temp, top_k, top_p, codes_left = example
    n = ids.shape[0]
    step = torch.jit.trace(DecodeStep(lm), (torch.cat([ids, ids]).unsqueeze(1), torch.cat([mask, torch.ones_like(mask[:, :1])], 1), past))
    logits = torch.randn(2 * n, lm.cfg.vocab_size)
    sampler = torch.jit.trace(
        CodeSampler(tokens),
        (logits, rand[0], cfg, temp, top_k, top_p, codes_left, torch.zeros([1], dtype=torch.int64), torch.zeros([n], dtype=torch.int64)),
    )
    return torch.jit.script(DecodeLoop(step, sampler))
