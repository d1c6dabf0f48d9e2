"""ACE-Step 1.5 DiT checkpoint modules: DiT decoder, condition encoder, audio tokenizer,
detokenizer and the null-condition embedding (the XL DiTs run the DiT at `cfg.block` and
everything else at the encoder width `cfg.enc`). Attribute names mirror the official
`AceStepConditionGenerationModel` so `model.safetensors` keys load as is
(`decoder.*`, `encoder.*`, `tokenizer.*`, `detokenizer.*`, `null_condition_emb`).
"""

import math

import torch
from torch import nn

from .layers import MLP, Attention, EncoderStack, RMSNorm, band_mask, is_sliding, rope_cos_sin


class Transpose12(nn.Module):
    """Stands in for the official Lambda(x.transpose(1, 2)) inside nn.Sequential."""

    def forward(self, x):
        return x.transpose(1, 2)


class TimestepEmbedding(nn.Module):
    def __init__(self, in_channels: int, dim: int):
        super().__init__()
        self.in_channels = in_channels
        self.linear_1 = nn.Linear(in_channels, dim)
        self.linear_2 = nn.Linear(dim, dim)
        self.time_proj = nn.Linear(dim, dim * 6)

    def forward(self, t):
        half = self.in_channels // 2
        freqs = torch.exp(-math.log(10000.0) * torch.arange(half, dtype=torch.float32) / half)
        args = (t * 1000.0)[:, None] * freqs[None]
        t_freq = torch.cat([torch.cos(args), torch.sin(args)], dim=-1)
        temb = self.linear_2(torch.nn.functional.silu(self.linear_1(t_freq)))
        proj = self.time_proj(torch.nn.functional.silu(temb))
        return temb, proj.reshape(proj.shape[0], 6, -1)


class DiTLayer(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        b = cfg
        self.self_attn_norm = RMSNorm(b.hidden, b.eps)
        self.self_attn = Attention(b.hidden, b.heads, b.kv_heads, b.head_dim, b.eps)
        self.cross_attn_norm = RMSNorm(b.hidden, b.eps)
        self.cross_attn = Attention(b.hidden, b.heads, b.kv_heads, b.head_dim, b.eps)
        self.mlp_norm = RMSNorm(b.hidden, b.eps)
        self.mlp = MLP(b.hidden, b.intermediate)
        self.scale_shift_table = nn.Parameter(torch.zeros(1, 6, b.hidden))

    def forward(self, h, cos, sin, keep, tproj, enc):
        mod = self.scale_shift_table + tproj
        shift, scale, gate, c_shift, c_scale, c_gate = [mod[:, i : i + 1] for i in range(6)]
        x = self.self_attn_norm(h) * (1 + scale) + shift
        h = h + self.self_attn.self_attention(x, cos, sin, keep) * gate
        h = h + self.cross_attn.cross_attention(self.cross_attn_norm(h), enc)
        x = self.mlp_norm(h) * (1 + c_scale) + c_shift
        return h + self.mlp(x) * c_gate


class DiT(nn.Module):
    """AceStepDiTModel. Both padding masks are ignored, exactly as the official forward does."""

    def __init__(self, cfg):
        super().__init__()
        b = cfg.block
        self.cfg = cfg
        self.layers = nn.ModuleList([DiTLayer(b) for _ in range(cfg.dit_layers)])
        in_ch = 2 * cfg.latent_dim + cfg.latent_dim
        self.proj_in = nn.Sequential(
            Transpose12(), nn.Conv1d(in_ch, b.hidden, cfg.patch_size, stride=cfg.patch_size), Transpose12()
        )
        self.time_embed = TimestepEmbedding(cfg.time_freq_dim, b.hidden)
        self.time_embed_r = TimestepEmbedding(cfg.time_freq_dim, b.hidden)
        self.condition_embedder = nn.Linear(cfg.enc.hidden, b.hidden)  # XL: 2048 -> 2560
        self.norm_out = RMSNorm(b.hidden, b.eps)
        self.proj_out = nn.Sequential(
            Transpose12(),
            nn.ConvTranspose1d(b.hidden, cfg.latent_dim, cfg.patch_size, stride=cfg.patch_size),
            Transpose12(),
        )
        self.scale_shift_table = nn.Parameter(torch.zeros(1, 2, b.hidden))

    def forward(self, xt, timestep, encoder_hidden_states, context_latents):
        b = self.cfg.block
        # Inference always passes timestep_r = timestep, so time_embed_r sees t - r = 0.
        temb_t, proj_t = self.time_embed(timestep)
        temb_r, proj_r = self.time_embed_r(timestep - timestep)
        temb, tproj = temb_t + temb_r, proj_t + proj_r
        h = torch.cat([context_latents, xt], dim=-1)
        frames = h.shape[1]
        # Always append one zero frame: the stride-2 conv drops it when T is even and uses it
        # as the official odd-length padding otherwise (no shape branch in the graph).
        h = torch.cat([h, torch.zeros_like(h[:, :1])], dim=1)
        h = self.proj_in(h)
        enc = self.condition_embedder(encoder_hidden_states)
        p = h.shape[1]
        cos, sin = rope_cos_sin(torch.arange(p), b.head_dim, b.rope_theta)
        band = band_mask(p, p, b.sliding_window)[None, None]
        for idx, layer in enumerate(self.layers):
            h = layer(h, cos, sin, band if is_sliding(idx) else None, tproj, enc)
        mod = self.scale_shift_table + temb.unsqueeze(1)
        h = self.norm_out(h) * (1 + mod[:, 1:2]) + mod[:, 0:1]
        return self.proj_out(h)[:, :frames]


class LyricEncoder(EncoderStack):
    def __init__(self, cfg):
        super().__init__(cfg.enc, cfg.lyric_layers)
        self.embed_tokens = nn.Linear(cfg.text_hidden_dim, cfg.enc.hidden)

    def forward(self, lyric_hidden_states, lyric_valid):
        return self.run_layers(self.embed_tokens(lyric_hidden_states), lyric_valid)


class TimbreEncoder(EncoderStack):
    def __init__(self, cfg):
        super().__init__(cfg.enc, cfg.timbre_layers)
        self.embed_tokens = nn.Linear(cfg.timbre_hidden_dim, cfg.enc.hidden)
        # Present in the checkpoint, unused by the official forward (its prepend is commented out).
        self.special_token = nn.Parameter(torch.zeros(1, 1, cfg.enc.hidden))

    def forward(self, refer_latents):
        """[N_ref, T_ref, 64] -> [N_ref, H]: the output at frame 0 of every clip."""
        return self.run_layers(self.embed_tokens(refer_latents))[:, 0]


def unpack_timbre(timbre, order, batch):
    """[N,H] clips + item index per clip -> [B,R,H], mask [B,R] (clip order kept per item).

    One-hot form of the official bincount/argsort unpack; R = max clips per item.
    """
    onehot = (order.unsqueeze(1) == torch.arange(batch).unsqueeze(0)).to(torch.int64)  # [N,B]
    slot = ((torch.cumsum(onehot, 0) - 1) * onehot).sum(1)  # rank of each clip inside its item
    slots = torch.arange(onehot.sum(0).max())  # [R]
    sel = (onehot.t().unsqueeze(1) > 0) & (slot.view(1, 1, -1) == slots.view(1, -1, 1))  # [B,R,N]
    sel = sel.to(timbre.dtype)
    return torch.matmul(sel, timbre), (sel.sum(-1) > 0).to(torch.int64)


def pack_sequences(h1, h2, m1, m2):
    """Official pack_sequences (stable sort of valid rows first) as a scatter.

    Valid rows keep their order at the front; padding rows follow in their order.
    """
    h = torch.cat([h1, h2], dim=1)
    m = torch.cat([m1, m2], dim=1).to(torch.int64)
    n_valid = m.sum(1, keepdim=True)
    dest = torch.where(m > 0, torch.cumsum(m, 1) - 1, n_valid + torch.cumsum(1 - m, 1) - 1)
    out = torch.zeros_like(h).scatter(1, dest.unsqueeze(-1).expand(-1, -1, h.shape[2]), h)
    new_mask = (torch.arange(h.shape[1]).unsqueeze(0) < n_valid).to(torch.int64)
    return out, new_mask


class ConditionEncoder(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.text_projector = nn.Linear(cfg.text_hidden_dim, cfg.enc.hidden, bias=False)
        self.lyric_encoder = LyricEncoder(cfg)
        self.timbre_encoder = TimbreEncoder(cfg)

    def forward(self, text_hidden, text_mask, lyric_hidden, lyric_mask, refer_latents, refer_order):
        text = self.text_projector(text_hidden)
        lyric = self.lyric_encoder(lyric_hidden, lyric_mask > 0)
        timbre, timbre_mask = unpack_timbre(self.timbre_encoder(refer_latents), refer_order, text.shape[0])
        h, m = pack_sequences(lyric, timbre, lyric_mask, timbre_mask)
        return pack_sequences(h, text, m, text_mask)


class AttentionPooler(EncoderStack):
    def __init__(self, cfg):
        super().__init__(cfg.enc, cfg.pooler_layers)
        self.embed_tokens = nn.Linear(cfg.enc.hidden, cfg.enc.hidden)
        self.special_token = nn.Parameter(torch.zeros(1, 1, cfg.enc.hidden))

    def forward(self, x):
        """[B,T5,P,H] -> [B,T5,H] (output of the prepended special token)."""
        b, t5, p, hd = x.shape[0], x.shape[1], x.shape[2], x.shape[3]
        x = self.embed_tokens(x)
        x = torch.cat([self.special_token.expand(b, t5, 1, hd), x], dim=2).reshape(b * t5, p + 1, hd)
        return self.run_layers(x)[:, 0].reshape(b, t5, hd)


class FSQProjections(nn.Module):
    """The parameters of ResidualFSQ(levels=[8,8,8,5,5,5], num_quantizers=1)."""

    def __init__(self, cfg):
        super().__init__()
        n = len(cfg.fsq_levels)
        self.project_in = nn.Linear(cfg.enc.hidden, n)
        self.project_out = nn.Linear(n, cfg.enc.hidden)
        self.levels = list(cfg.fsq_levels)
        basis, acc = [], 1
        for lv in self.levels:
            basis.append(acc)
            acc *= lv
        self.basis = basis

    def _tables(self):
        levels = torch.tensor(self.levels, dtype=torch.float32)
        return levels, torch.tensor(self.basis, dtype=torch.int64)

    def encode(self, x):
        """vector-quantize-pytorch FSQ (preserve_symmetry, hard clamp) -> indices [...]."""
        levels, basis = self._tables()
        z = self.project_in(x)
        c = 1.0 + 1.0 / (levels - 1.0)
        z = torch.tanh(z / c) * c
        u = torch.clamp(z, -1.0, 1.0)
        level = torch.floor((levels - 1.0) * (u + 1.0) / 2.0 + 0.5)
        return (level.to(torch.int64) * basis).sum(-1)

    def decode(self, indices):
        """indices [...] int64 -> project_out(codes) [..., H]."""
        levels, basis = self._tables()
        level = torch.remainder(torch.div(indices.unsqueeze(-1), basis, rounding_mode="floor"), levels.to(torch.int64))
        code = level.to(torch.float32) * 2.0 / (levels - 1.0) - 1.0
        return self.project_out(code)


class AudioTokenizer(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.pool = cfg.pool_window_size
        self.audio_acoustic_proj = nn.Linear(cfg.latent_dim, cfg.enc.hidden)
        self.attention_pooler = AttentionPooler(cfg)
        self.quantizer = FSQProjections(cfg)

    def forward(self, latents):
        """[B,T,64] with T % 5 == 0 (host pads with silence) -> audio codes [B,T/5] int64."""
        b, t, d = latents.shape[0], latents.shape[1], latents.shape[2]
        x = latents.reshape(b, t // self.pool, self.pool, d)
        return self.quantizer.encode(self.attention_pooler(self.audio_acoustic_proj(x)))


class AudioDetokenizer(EncoderStack):
    def __init__(self, cfg):
        super().__init__(cfg.enc, cfg.pooler_layers)
        self.pool = cfg.pool_window_size
        self.embed_tokens = nn.Linear(cfg.enc.hidden, cfg.enc.hidden)
        self.special_tokens = nn.Parameter(torch.zeros(1, cfg.pool_window_size, cfg.enc.hidden))
        self.proj_out = nn.Linear(cfg.enc.hidden, cfg.latent_dim)

    def forward(self, quantized):
        """[B,T5,H] -> [B,5*T5,64]."""
        b, t5, hd = quantized.shape[0], quantized.shape[1], quantized.shape[2]
        x = self.embed_tokens(quantized).unsqueeze(2).expand(b, t5, self.pool, hd) + self.special_tokens
        x = self.run_layers(x.reshape(b * t5, self.pool, hd))
        return self.proj_out(x).reshape(b, t5 * self.pool, -1)


class AceStepModel(nn.Module):
    """Container with the official top-level names of the DiT checkpoint."""

    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        self.decoder = DiT(cfg)
        self.encoder = ConditionEncoder(cfg)
        self.tokenizer = AudioTokenizer(cfg)
        self.detokenizer = AudioDetokenizer(cfg)
        self.null_condition_emb = nn.Parameter(torch.zeros(1, 1, cfg.enc.hidden))
