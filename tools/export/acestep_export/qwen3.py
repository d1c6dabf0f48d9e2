"""Qwen3 decoder stack used twice: Qwen3-Embedding-0.6B (text encoder, keys without the
`model.` prefix) and the 5 Hz LM (Qwen3ForCausalLM, keys under `model.`; lm_head tied to the
embedding unless the config unties it, see weights.resolve_lm_head).

KV cache layout (contract): one stacked tensor, sequence-major,
`[S, L, 2, B, KV, D]` (position, layer, k|v, batch, kv head, head dim). Sequence-major lets
the host append the rows a decode call returns with one memcpy at the end of a
preallocated buffer, and pass `subarray(0, P)` back without re-layout.
"""

import torch
from torch import nn

from .layers import EncoderLayer, RMSNorm, apply_rope, rope_cos_sin


def causal_keep(key_valid, s_new):
    """key_valid [B, P+S] bool -> keep [B,1,S,P+S]: key j visible to query i iff j <= P+i."""
    total = key_valid.shape[1]
    q_abs = torch.arange(s_new).unsqueeze(1) + (total - s_new)
    k_abs = torch.arange(total).unsqueeze(0)
    return (k_abs <= q_abs)[None, None] & key_valid[:, None, None, :]


class Qwen3Model(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        b = cfg.block
        self.embed_tokens = nn.Embedding(cfg.vocab_size, b.hidden)
        self.layers = nn.ModuleList([EncoderLayer(b) for _ in range(cfg.layers)])
        self.norm = RMSNorm(b.hidden, b.eps)

    def forward_cached(self, input_ids, attention_mask, past):
        """input_ids [B,S]; attention_mask [B,P+S] int64 (1 = real token, left padding ok);
        past [P,L,2,B,KV,D] or None. Returns final hidden [B,S,H] and the new rows [S,L,2,B,KV,D].

        Positions are cumsum(mask) - 1, so left-padded rows get the positions HF would give
        an unpadded sequence.
        """
        b = self.cfg.block
        s = input_ids.shape[1]
        mask = attention_mask.to(torch.int64)
        positions = (torch.cumsum(mask, 1) - 1).clamp(min=0)[:, -s:]
        cos, sin = rope_cos_sin(positions, b.head_dim, b.rope_theta)
        keep = causal_keep(mask > 0, s)
        h = self.embed_tokens(input_ids)
        rows = []
        for idx, layer in enumerate(self.layers):
            attn = layer.self_attn
            x = layer.input_layernorm(h)
            q = apply_rope(attn.project_q(x), cos, sin)
            k, v = attn.project_kv(x)
            k = apply_rope(k, cos, sin)
            rows.append(torch.stack([k, v], 0))  # [2,B,KV,S,D]
            if past is not None:
                pk = past[:, idx, 0].permute(1, 2, 0, 3)  # [B,KV,P,D]
                pv = past[:, idx, 1].permute(1, 2, 0, 3)
                k = torch.cat([pk, k], 2)
                v = torch.cat([pv, v], 2)
            h = h + attn.attend(q, k, v, keep)
            h = h + layer.mlp(layer.post_attention_layernorm(h))
        new = torch.stack(rows, 0).permute(4, 0, 1, 2, 3, 5)  # [S,L,2,B,KV,D]
        return self.norm(h), new

    def forward_causal(self, input_ids):
        """Plain causal pass without padding mask (how ACE-Step calls Qwen3-Embedding)."""
        mask = torch.ones_like(input_ids)
        return self.forward_cached(input_ids, mask, None)[0]


class Qwen3ForCausalLM(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        self.model = Qwen3Model(cfg)
        if not cfg.tie_word_embeddings:
            # Registered under the official name so `lm_head.weight` loads as is.
            self.lm_head = nn.Linear(cfg.block.hidden, cfg.vocab_size, bias=False)

    def logits(self, h_last):
        """Tied head as F.linear on a 2-D input: exports as Gemm(transB=1) that reads the same
        initializer as the embedding Gather, so the table is stored once. An untied head is a
        plain Linear with its own table."""
        if self.cfg.tie_word_embeddings:
            return torch.nn.functional.linear(h_last, self.model.embed_tokens.weight)
        return self.lm_head(h_last)

    def step(self, input_ids, attention_mask, past):
        h, new = self.model.forward_cached(input_ids, attention_mask, past)
        return self.logits(h[:, -1]), new
