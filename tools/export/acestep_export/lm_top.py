"""One decode step for host-sampled decoding (metadata phase, single-turn calls) that returns what
the host sampler and the constrained-decoding FSM read instead of whole logits rows.

Why: a [2, 217204] float32 logits row pair is 1.7 MB per step; the FSM allows a handful of tokens
at most steps, and free text needs only the head of the distribution plus its total mass.

Per sequence s (rows cond_row[s] and uncond_row[s]; without CFG both name the same row, scale 1):
  l = u + cfg_scale * (c - u)                       (raw logits, fp32, as the host mixes)
  head_*      = TopK(l, 2)                          (argmax checks of the FSM, unmasked)
  gathered    = l[gather_ids]                       (the FSM's small allowed sets)
  masked      = l with ids >= vocab_hi and `banned` ids set to -inf
  top_*       = TopK(masked, top_n)                 (descending; ties: lower id first)
  total       = sum over masked of exp(l / t - max / t), float64 (the top-p normaliser)
"""

import torch
from torch import nn


class DecodeTop(nn.Module):
    def __init__(self, lm):
        super().__init__()
        self.lm = lm

    def forward(
        self,
        input_ids,
        attention_mask,
        past_kv,
        cond_row,
        uncond_row,
        cfg_scale,
        temperature,
        vocab_hi,
        banned,
        gather_ids,
        top_n,
    ):
        logits, new_kv = self.lm.step(input_ids, attention_mask, past_kv)
        c = logits[cond_row]
        u = logits[uncond_row]
        mixed = u + cfg_scale.unsqueeze(1) * (c - u)
        vocab = mixed.shape[1]
        head_logits, head_ids = torch.topk(mixed, 2, 1)
        gathered = torch.gather(mixed, 1, gather_ids)
        ids = torch.arange(vocab).unsqueeze(0)
        neg = torch.full_like(mixed, float("-inf"))
        masked = torch.where(ids < vocab_hi.unsqueeze(1), mixed, neg)
        # Bans scatter -inf; padding points at one extra column that is dropped again.
        wide = torch.cat([masked, neg[:, :1]], 1)
        wide = torch.scatter(wide, 1, banned, torch.full_like(banned, 0).to(wide.dtype) + float("-inf"))
        masked = wide[:, :vocab]
        top_logits, top_ids = torch.topk(masked, top_n.squeeze(0), 1)
        scaled = masked.to(torch.float64) / temperature.to(torch.float64).unsqueeze(1)
        total = torch.exp(scaled - scaled.max(1, keepdim=True)[0]).sum(1)
        return (
            top_logits,
            top_ids.to(torch.int32),
            total,
            head_logits,
            head_ids.to(torch.int32),
            gathered,
            new_kv,
        )
