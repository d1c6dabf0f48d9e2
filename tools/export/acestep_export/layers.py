"""Transformer building blocks shared by the DiT, the condition encoders and Qwen3.

Module and parameter names follow the official code (transformers' Qwen3 blocks and
ACE-Step's AceStepAttention/AceStepEncoderLayer) so official state dicts load unchanged.
Everything here is written to trace into plain opset-17 ONNX: no Python branches on
tensor values, masks built from Range/compare, attention as MatMul + Softmax.
"""

import torch
import torch.nn.functional as F
from torch import nn

# Additive value for dropped attention positions. Finite (not -inf) so a query whose
# keys are all dropped (a left-padded LM row) gives a uniform, finite softmax.
MASK_VALUE = -1e9


class RMSNorm(nn.Module):
    """Qwen3RMSNorm: computed in fp32, y = x * rsqrt(mean(x^2) + eps) * w."""

    def __init__(self, dim: int, eps: float):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(dim))
        self.eps = eps

    def forward(self, x):
        var = x.pow(2).mean(-1, keepdim=True)
        return self.weight * (x * torch.rsqrt(var + self.eps))


class MLP(nn.Module):
    """Qwen3MLP: down(silu(gate(x)) * up(x)), no biases."""

    def __init__(self, hidden: int, inter: int):
        super().__init__()
        self.gate_proj = nn.Linear(hidden, inter, bias=False)
        self.up_proj = nn.Linear(hidden, inter, bias=False)
        self.down_proj = nn.Linear(inter, hidden, bias=False)

    def forward(self, x):
        return self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))


def rope_cos_sin(positions, head_dim: int, theta: float):
    """NeoX RoPE tables for integer positions [..., S] -> cos, sin [..., S, head_dim]."""
    inv_freq = 1.0 / (theta ** (torch.arange(0, head_dim, 2, dtype=torch.float32) / head_dim))
    freqs = positions.to(torch.float32).unsqueeze(-1) * inv_freq
    emb = torch.cat([freqs, freqs], dim=-1)
    return emb.cos(), emb.sin()


def rotate_half(x):
    half = x.shape[-1] // 2
    return torch.cat([-x[..., half:], x[..., :half]], dim=-1)


def apply_rope(x, cos, sin):
    """x [B,H,S,D]; cos/sin [S,D] or [B,S,D]."""
    if cos.dim() == 3:
        cos = cos.unsqueeze(1)
        sin = sin.unsqueeze(1)
    return x * cos + rotate_half(x) * sin


def band_mask(length_q, length_k, window):
    """Bidirectional sliding-window keep mask |i - j| <= window, [Lq, Lk] bool."""
    i = torch.arange(length_q).unsqueeze(1)
    j = torch.arange(length_k).unsqueeze(0)
    return (i - j).abs() <= window


class Attention(nn.Module):
    """AceStepAttention / Qwen3Attention: per-head RMSNorm on q and k before RoPE, GQA."""

    def __init__(self, hidden: int, heads: int, kv_heads: int, head_dim: int, eps: float):
        super().__init__()
        self.heads, self.kv_heads, self.head_dim = heads, kv_heads, head_dim
        self.q_proj = nn.Linear(hidden, heads * head_dim, bias=False)
        self.k_proj = nn.Linear(hidden, kv_heads * head_dim, bias=False)
        self.v_proj = nn.Linear(hidden, kv_heads * head_dim, bias=False)
        self.o_proj = nn.Linear(heads * head_dim, hidden, bias=False)
        self.q_norm = RMSNorm(head_dim, eps)
        self.k_norm = RMSNorm(head_dim, eps)

    def split(self, x, n):
        b, s = x.shape[0], x.shape[1]
        return x.reshape(b, s, n, self.head_dim).transpose(1, 2)

    def project_q(self, x):
        return self.q_norm(self.split(self.q_proj(x), self.heads))

    def project_kv(self, x):
        k = self.k_norm(self.split(self.k_proj(x), self.kv_heads))
        v = self.split(self.v_proj(x), self.kv_heads)
        return k, v

    def attend(self, q, k, v, keep):
        """q [B,H,Sq,D], k/v [B,KV,Sk,D], keep: bool broadcastable to [B,H,Sq,Sk] or None."""
        groups = self.heads // self.kv_heads
        if groups > 1:
            # repeat_kv: each kv head serves `groups` consecutive q heads.
            b, kvh, sk, d = k.shape[0], k.shape[1], k.shape[2], k.shape[3]
            k = k.unsqueeze(2).expand(b, kvh, groups, sk, d).reshape(b, kvh * groups, sk, d)
            v = v.unsqueeze(2).expand(b, kvh, groups, sk, d).reshape(b, kvh * groups, sk, d)
        scores = torch.matmul(q, k.transpose(2, 3)) * (self.head_dim**-0.5)
        if keep is not None:
            scores = torch.where(keep, scores, torch.full_like(scores, MASK_VALUE))
        probs = torch.softmax(scores, dim=-1)
        out = torch.matmul(probs, v)
        b, h, s, d = out.shape[0], out.shape[1], out.shape[2], out.shape[3]
        return self.o_proj(out.transpose(1, 2).reshape(b, s, h * d))

    def self_attention(self, x, cos, sin, keep):
        q = apply_rope(self.project_q(x), cos, sin)
        k, v = self.project_kv(x)
        return self.attend(q, apply_rope(k, cos, sin), v, keep)

    def cross_attention(self, x, enc):
        k, v = self.project_kv(enc)
        return self.attend(self.project_q(x), k, v, None)


class EncoderLayer(nn.Module):
    """AceStepEncoderLayer: bidirectional pre-norm block (also the Qwen3 decoder layer shape)."""

    def __init__(self, cfg):
        super().__init__()
        self.self_attn = Attention(cfg.hidden, cfg.heads, cfg.kv_heads, cfg.head_dim, cfg.eps)
        self.input_layernorm = RMSNorm(cfg.hidden, cfg.eps)
        self.post_attention_layernorm = RMSNorm(cfg.hidden, cfg.eps)
        self.mlp = MLP(cfg.hidden, cfg.intermediate)

    def forward(self, x, cos, sin, keep):
        x = x + self.self_attn.self_attention(self.input_layernorm(x), cos, sin, keep)
        return x + self.mlp(self.post_attention_layernorm(x))


def is_sliding(layer_idx: int) -> bool:
    """Official layer_types: even layer index = sliding_attention, odd = full_attention."""
    return (layer_idx + 1) % 2 == 1


class EncoderStack(nn.Module):
    """Shared body of the lyric/timbre encoders, attention pooler and detokenizer.

    Positions are 0..S-1, attention is bidirectional; sliding layers keep |i-j| <= window.
    `key_valid` [B,S] bool (or None) masks padded keys in every layer.
    """

    def __init__(self, cfg, num_layers: int):
        super().__init__()
        self.cfg = cfg
        self.layers = nn.ModuleList([EncoderLayer(cfg) for _ in range(num_layers)])
        self.norm = RMSNorm(cfg.hidden, cfg.eps)

    def run_layers(self, x, key_valid=None):
        s = x.shape[1]
        cos, sin = rope_cos_sin(torch.arange(s), self.cfg.head_dim, self.cfg.rope_theta)
        full = None
        if key_valid is not None:
            full = key_valid[:, None, None, :]
        band = band_mask(s, s, self.cfg.sliding_window)[None, None]
        sliding = band if full is None else band & full
        for idx, layer in enumerate(self.layers):
            x = layer(x, cos, sin, sliding if is_sliding(idx) else full)
        return self.norm(x)
