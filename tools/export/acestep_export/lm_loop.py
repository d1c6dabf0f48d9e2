"""K-step audio-code decode: K LM steps, CFG, code-range masking and sampling in one ONNX Loop.

Why: onnxruntime-node has no CUDA IO binding, so every `run` copies all inputs and
outputs over PCIe. A 1-token decode moves the whole KV cache per token; this graph moves
it once per K tokens and returns K int64 tokens instead of K logit rows
(see docs/model-contract.md, "LM on a GPU").

Batch layout is the CFG pair layout of nano-vllm: rows [cond_1..cond_N, uncond_1..uncond_N];
B = 2N. Both rows of a pair are fed the same sampled token.

Sampling per step (exact, no approximation):
  l = u + cfg_scale * (c - u)          (raw logits, fp32)
  candidates = l[codes 0..63999] ++ l[EOS]   (everything else is banned)
  EOS: banned while step < codes_left, forced once step >= codes_left (codes_left < 0: free)
  l /= temperature; sort descending; keep rank < top_k (top_k <= 0: all);
  p = softmax; keep rank while the mass before it < top_p; token = inverse CDF at rand * sum(p).
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


class CodeSampler(nn.Module):
    def __init__(self, tokens):
        super().__init__()
        self.lo = tokens.audio_code_offset
        self.hi = tokens.audio_code_offset + tokens.audio_code_valid
        self.eos = tokens.im_end

    def forward(self, logits, rand, cfg_scale, temperature, top_k, top_p, codes_left, step, done):
        n = rand.shape[0]
        cond, uncond = logits[:n], logits[n:]
        mixed = uncond + cfg_scale * (cond - uncond)
        cand = torch.cat([mixed[:, self.lo : self.hi], mixed[:, self.eos : self.eos + 1]], 1)
        count = cand.shape[1]
        # Flags are int64 0/1: the scripted Loop loses bool types, which the exporter needs for Or/And.
        limited = (codes_left >= 0).to(torch.int64)
        banned = limited * (step < codes_left).to(torch.int64) > 0
        forced = limited * (step >= codes_left).to(torch.int64)
        eos_col = torch.where(banned, torch.full_like(cand[:, -1], float("-inf")), cand[:, -1])
        cand = torch.cat([cand[:, :-1], eos_col.unsqueeze(1)], 1) / temperature
        vals, idx = torch.sort(cand, dim=1, descending=True)
        rank = torch.arange(count).unsqueeze(0)
        k_eff = torch.where(top_k > 0, top_k, torch.full_like(top_k, count))
        vals = torch.where(rank < k_eff, vals, torch.full_like(vals, float("-inf")))
        probs = torch.softmax(vals, dim=1)
        before = torch.cumsum(probs, 1) - probs
        probs = torch.where(before < top_p, probs, torch.zeros_like(probs))
        cdf = torch.cumsum(probs, 1)
        target = rand.unsqueeze(1) * cdf[:, -1:]
        pick = (cdf < target).to(torch.int64).sum(1, keepdim=True).clamp(max=count - 1)
        j = torch.gather(idx, 1, pick).squeeze(1)
        token = torch.where(j == count - 1, torch.full_like(j, self.eos), j + self.lo)
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
