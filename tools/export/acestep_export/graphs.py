"""Graph definitions: the wrapper module, the I/O contract (names, dtypes, symbolic dims)
and deterministic example inputs for export and parity fixtures.

Dims are ints (fixed) or strings (symbolic, exported as dynamic axes with that name).
"""

from dataclasses import dataclass
from typing import Callable, List

import torch
from torch import nn

from .lm_loop import build_decode_loop
from .lm_top import DecodeTop


@dataclass
class TensorSpec:
    name: str
    dtype: str  # 'float32' | 'int64'
    dims: list
    doc: str = ""


@dataclass
class GraphSpec:
    name: str
    file: str
    group: str  # graphs of one group share one external weights file
    doc: str
    inputs: List[TensorSpec]
    outputs: List[TensorSpec]
    module: Callable  # () -> nn.Module (or ScriptModule)
    cases: List[Callable]  # each: (generator) -> tuple of input tensors
    tolerance: float = 1e-4
    exact_outputs: tuple = ()  # outputs compared for equality (integer tokens/codes)


def _rand(g, *shape):
    return torch.randn(*shape, generator=g)


def _ids(g, vocab, *shape):
    return torch.randint(0, vocab, shape, generator=g, dtype=torch.int64)


def _lengths_mask(lengths, total, left=False):
    ar = torch.arange(total).unsqueeze(0)
    ln = torch.tensor(lengths).unsqueeze(1)
    keep = ar >= (total - ln) if left else ar < ln
    return keep.to(torch.int64)


class _Call(nn.Module):
    def __init__(self, fn, owner):
        super().__init__()
        self.owner = owner
        self.fn = fn

    def forward(self, *args):
        return self.fn(self.owner, *args)


def _vae_specs(p, c):
    lat = p.vae.latent_dim
    hop = p.vae.hop
    dec = GraphSpec(
        name="vae_decoder",
        file="vae_decoder.onnx",
        group="vae_decoder",
        doc="Oobleck decoder. Channel-major latents in, stereo 48 kHz audio out (samples = frames * hop).",
        inputs=[TensorSpec("latents", "float32", ["batch", lat, "frames"], "[B,64,T] channel-major")],
        outputs=[TensorSpec("audio", "float32", ["batch", p.vae.audio_channels, "samples"], "samples = frames * 1920")],
        module=lambda: _Call(lambda m, z: m.decoder(z), c.vae),
        cases=[lambda g: (_rand(g, 1, lat, 6),), lambda g: (_rand(g, 2, lat, 9),)],
    )
    enc = GraphSpec(
        name="vae_encoder",
        file="vae_encoder.onnx",
        group="vae_encoder",
        doc="Oobleck encoder posterior. The host samples latents = mean + std * N(0,1) (or uses the mean).",
        inputs=[TensorSpec("audio", "float32", ["batch", p.vae.audio_channels, "samples"], "[B,2,S] in [-1,1]")],
        outputs=[
            TensorSpec("mean", "float32", ["batch", lat, "frames"], "frames = floor(samples / 1920)"),
            TensorSpec("std", "float32", ["batch", lat, "frames"], "softplus(scale) + 1e-4"),
        ],
        module=lambda: _Call(lambda m, a: m.encode_posterior(a), c.vae),
        cases=[
            lambda g: (0.5 * torch.tanh(_rand(g, 1, 2, hop * 6)),),
            lambda g: (0.5 * torch.tanh(_rand(g, 2, 2, hop * 9 + 700)),),
        ],
    )
    return [dec, enc]


def _text_specs(p, c):
    h = p.text.block.hidden
    v = p.text.vocab_size
    enc = GraphSpec(
        name="text_encoder",
        file="text_encoder.onnx",
        group="text",
        doc="Qwen3-Embedding last_hidden_state; causal, no padding mask (as ACE-Step calls it).",
        inputs=[TensorSpec("input_ids", "int64", ["batch", "text_len"])],
        outputs=[TensorSpec("last_hidden_state", "float32", ["batch", "text_len", h])],
        module=lambda: _Call(lambda m, ids: m.forward_causal(ids), c.text),
        cases=[lambda g: (_ids(g, v, 1, 7),), lambda g: (_ids(g, v, 2, 21),)],
    )
    emb = GraphSpec(
        name="text_token_embedding",
        file="text_token_embedding.onnx",
        group="text",
        doc="Qwen3-Embedding embed_tokens lookup, used for the lyric encoder input.",
        inputs=[TensorSpec("input_ids", "int64", ["batch", "lyric_len"])],
        outputs=[TensorSpec("embeddings", "float32", ["batch", "lyric_len", h])],
        module=lambda: _Call(lambda m, ids: m.embed_tokens(ids), c.text),
        cases=[lambda g: (_ids(g, v, 1, 5),), lambda g: (_ids(g, v, 2, 40),)],
    )
    return [enc, emb]


def _condition(m, th, tm, lh, lm, rl, ro, src, chunk, covers, hints):
    enc, mask = m.encoder(th, tm, lh, lm, rl, ro)
    src = torch.where(covers.view(-1, 1, 1) > 0, hints, src)
    return enc, mask, torch.cat([src, chunk], -1)


def _cond_case(p, b, lt, ll, n_ref, tr, t, order, text_len, lyric_len, covers):
    th, lat = p.dit.text_hidden_dim, p.dit.latent_dim

    def make(g):
        return (
            _rand(g, b, lt, th),
            _lengths_mask(text_len, lt),
            _rand(g, b, ll, th),
            _lengths_mask(lyric_len, ll),
            _rand(g, n_ref, tr, p.dit.timbre_hidden_dim),
            torch.tensor(order, dtype=torch.int64),
            _rand(g, b, t, lat),
            (torch.rand(b, t, 1, generator=g) > 0.5).to(torch.float32).expand(b, t, lat).contiguous(),
            torch.tensor(covers, dtype=torch.int64),
            _rand(g, b, t, lat),
        )

    return make


def _dit_specs(p, c):
    d = p.dit
    hd = d.enc.hidden  # encoder space (XL: narrower than the DiT, which projects it itself)
    lat = d.latent_dim
    cond = GraphSpec(
        name="condition_encoder",
        file="condition_encoder.onnx",
        group="condition_encoder",
        doc=(
            "text_projector + lyric encoder + timbre encoder + pack_sequences, plus the context "
            "latents: where(is_covers, lm_hints, src_latents) ++ chunk_masks."
        ),
        inputs=[
            TensorSpec("text_hidden_states", "float32", ["batch", "text_len", d.text_hidden_dim]),
            TensorSpec("text_attention_mask", "int64", ["batch", "text_len"], "1 = real token"),
            TensorSpec("lyric_hidden_states", "float32", ["batch", "lyric_len", d.text_hidden_dim]),
            TensorSpec("lyric_attention_mask", "int64", ["batch", "lyric_len"], "1 = real token"),
            TensorSpec("refer_latents", "float32", ["refer_clips", "refer_frames", d.timbre_hidden_dim]),
            TensorSpec("refer_order", "int64", ["refer_clips"], "batch item of each clip; clips of one item keep their order"),
            TensorSpec("src_latents", "float32", ["batch", "frames", lat]),
            TensorSpec("chunk_masks", "float32", ["batch", "frames", lat], "1 = generate, 0 = keep"),
            TensorSpec("is_covers", "int64", ["batch"], "1 = use lm_hints as context"),
            TensorSpec("lm_hints", "float32", ["batch", "frames", lat], "detokenizer output cropped to frames"),
        ],
        outputs=[
            TensorSpec("encoder_hidden_states", "float32", ["batch", "enc_len", hd], "enc_len = lyric_len + clip_slots + text_len"),
            TensorSpec("encoder_attention_mask", "int64", ["batch", "enc_len"], "valid rows first; ignored by the DiT"),
            TensorSpec("context_latents", "float32", ["batch", "frames", 2 * lat]),
        ],
        module=lambda: _Call(_condition, c.ace),
        cases=[
            _cond_case(p, 1, 6, 9, 1, 20, 12, [0], [6], [9], [0]),
            _cond_case(p, 2, 11, 40, 3, 37, 17, [0, 1, 1], [11, 7], [40, 23], [1, 0]),
        ],
    )
    dit = GraphSpec(
        name="dit_step",
        file="dit_step.onnx",
        group="dit_step",
        doc="One DiT evaluation -> velocity v = noise - x0 (timestep_r = timestep; masks are ignored officially).",
        inputs=[
            TensorSpec("xt", "float32", ["batch", "frames", lat]),
            TensorSpec("timestep", "float32", ["batch"], "t in [0,1], 1 = noise"),
            TensorSpec("encoder_hidden_states", "float32", ["batch", "enc_len", hd]),
            TensorSpec("context_latents", "float32", ["batch", "frames", 2 * lat]),
        ],
        outputs=[TensorSpec("velocity", "float32", ["batch", "frames", lat])],
        module=lambda: _Call(lambda m, x, t, e, ctx: m.decoder(x, t, e, ctx), c.ace),
        cases=[
            lambda g: (_rand(g, 1, 40, lat), torch.tensor([0.75]), _rand(g, 1, 13, hd), _rand(g, 1, 40, 2 * lat)),
            lambda g: (_rand(g, 2, 71, lat), torch.tensor([1.0, 0.3]), _rand(g, 2, 29, hd), _rand(g, 2, 71, 2 * lat)),
        ],
    )
    tok = GraphSpec(
        name="audio_tokenizer",
        file="audio_tokenizer.onnx",
        group="audio_tokenizer",
        doc="25 Hz latents -> 5 Hz FSQ codes (0..63999). frames must be a multiple of 5 (pad with silence_latent).",
        inputs=[TensorSpec("latents", "float32", ["batch", "frames", lat], "[B,T,64] time-major")],
        outputs=[TensorSpec("audio_codes", "int64", ["batch", "codes_len"], "codes_len = frames / 5")],
        module=lambda: _Call(lambda m, x: m.tokenizer(x), c.ace),
        cases=[lambda g: (_rand(g, 1, 10, lat),), lambda g: (_rand(g, 2, 25, lat),)],
        exact_outputs=("audio_codes",),
    )
    detok = GraphSpec(
        name="audio_detokenizer",
        file="audio_detokenizer.onnx",
        group="audio_detokenizer",
        doc="5 Hz FSQ codes -> 25 Hz LM hints (FSQ index decode + project_out + detokenizer).",
        inputs=[TensorSpec("audio_codes", "int64", ["batch", "codes_len"], "clamped to 0..63999 by the host")],
        outputs=[TensorSpec("lm_hints", "float32", ["batch", "hint_frames", lat], "hint_frames = 5 * codes_len")],
        module=lambda: _Call(lambda m, codes: m.detokenizer(m.tokenizer.quantizer.decode(codes)), c.ace),
        cases=[lambda g: (_ids(g, 64000, 1, 3),), lambda g: (_ids(g, 64000, 2, 8),)],
    )
    return [cond, dit, tok, detok]


def _kv_dims(p, seq_dim, batch_dim="batch"):
    b = p.lm.block
    return [seq_dim, p.lm.layers, 2, batch_dim, b.kv_heads, b.head_dim]


def _past(p, g, length, batch):
    b = p.lm.block
    return _rand(g, length, p.lm.layers, 2, batch, b.kv_heads, b.head_dim)


def _per_pair(n, value, dtype):
    return torch.tensor(value, dtype=dtype) if isinstance(value, list) else torch.full([n], value, dtype=dtype)


def _loop_example(p, g, n, k, past_len, lengths, codes_left, cfg=2.0, temp=0.85, top_k=0, top_p=0.9):
    v = p.lm.vocab_size
    return (
        _ids(g, v, n),
        _lengths_mask(lengths, past_len, left=True),
        _past(p, g, past_len, 2 * n),
        torch.rand(k, n, generator=g),
        _per_pair(n, cfg, torch.float32),
        _per_pair(n, temp, torch.float32),
        _per_pair(n, top_k, torch.int64),
        _per_pair(n, top_p, torch.float32),
        torch.tensor(codes_left, dtype=torch.int64),
    )


def _lm_specs(p, c):
    v = p.lm.vocab_size
    kv_doc = "sequence-major stacked cache [pos, layer, k|v, batch, kv_head, head_dim]"
    prefill = GraphSpec(
        name="lm_prefill",
        file="lm_prefill.onnx",
        group="lm",
        doc="5 Hz LM prompt pass. Left padding allowed (positions = cumsum(mask) - 1). Last-position logits only.",
        inputs=[
            TensorSpec("input_ids", "int64", ["batch", "seq"]),
            TensorSpec("attention_mask", "int64", ["batch", "seq"], "1 = real token"),
        ],
        outputs=[
            TensorSpec("logits", "float32", ["batch", v], "last position"),
            TensorSpec("new_kv", "float32", _kv_dims(p, "seq"), kv_doc),
        ],
        module=lambda: _Call(lambda m, ids, mask: m.step(ids, mask, None), c.lm),
        cases=[
            lambda g: (_ids(g, v, 1, 7), _lengths_mask([7], 7, left=True)),
            lambda g: (_ids(g, v, 2, 12), _lengths_mask([12, 5], 12, left=True)),
        ],
    )
    decode = GraphSpec(
        name="lm_decode",
        file="lm_decode.onnx",
        group="lm",
        doc="Append seq tokens after a cached prefix; returns only the new K/V rows (host appends them).",
        inputs=[
            TensorSpec("input_ids", "int64", ["batch", "seq"]),
            TensorSpec("attention_mask", "int64", ["batch", "total"], "total = past + seq"),
            TensorSpec("past_kv", "float32", _kv_dims(p, "past"), kv_doc),
        ],
        outputs=[
            TensorSpec("logits", "float32", ["batch", v], "last position"),
            TensorSpec("new_kv", "float32", _kv_dims(p, "seq"), kv_doc),
        ],
        module=lambda: _Call(lambda m, ids, mask, past: m.step(ids, mask, past), c.lm),
        cases=[
            lambda g: (_ids(g, v, 1, 1), _lengths_mask([8], 8, left=True), _past(p, g, 7, 1)),
            lambda g: (_ids(g, v, 2, 3), _lengths_mask([15, 9], 15, left=True), _past(p, g, 12, 2)),
        ],
    )

    def loop_module():
        g = torch.Generator().manual_seed(7)
        return build_decode_loop(c.lm, p.lm_tokens, _loop_example(p, g, 1, 2, 5, [5, 3], [-1]))

    loop = GraphSpec(
        name="lm_decode_loop",
        file="lm_decode_loop.onnx",
        group="lm",
        doc=(
            "K decode steps in one ONNX Loop for the audio-code phase: CFG pairs, code-range mask, "
            "EOS duration control, temperature/top-k/top-p and inverse-CDF sampling from host uniforms."
        ),
        inputs=[
            TensorSpec("input_ids", "int64", ["pairs"], "last sampled token of each CFG pair (not yet cached)"),
            TensorSpec("attention_mask", "int64", ["batch", "past"], "batch = 2 * pairs: [cond..., uncond...]"),
            TensorSpec("past_kv", "float32", _kv_dims(p, "past"), kv_doc),
            TensorSpec("rand", "float32", ["steps", "pairs"], "uniform [0,1) per step; steps = K"),
            TensorSpec("cfg_scale", "float32", ["pairs"], "per pair"),
            TensorSpec("temperature", "float32", ["pairs"], "> 0 (greedy: top_k = 1)"),
            TensorSpec("top_k", "int64", ["pairs"], "<= 0: off"),
            TensorSpec("top_p", "float32", ["pairs"], ">= 1: off"),
            TensorSpec("codes_left", "int64", ["pairs"], "codes still required; EOS banned before, forced after; < 0: free"),
        ],
        outputs=[
            TensorSpec("tokens", "int64", ["steps", "pairs"], "sampled ids; EOS repeats after the first EOS"),
            TensorSpec("new_kv", "float32", _kv_dims(p, "steps"), "K/V rows of the K fed tokens; " + kv_doc),
        ],
        module=loop_module,
        cases=[
            lambda g: _loop_example(p, g, 1, 4, 7, [7, 4], [-1]),
            lambda g: _loop_example(p, g, 2, 6, 12, [12, 9, 5, 12], [3, -1], cfg=2.5, temp=1.0, top_k=50, top_p=0.95),
            # Per-pair parameters in one call: plain multinomial, greedy, top_k above KMAX (full TopK).
            lambda g: _loop_example(
                p, g, 3, 5, 9, [9, 6, 9, 4, 9, 8], [-1, 2, -1],
                cfg=[1.0, 2.0, 3.0], temp=[1.0, 1.0, 0.5], top_k=[0, 1, 300], top_p=[1.0, 1.0, 0.95],
            ),
        ],
        exact_outputs=("tokens",),
    )
    def top_case(rows, seq, total, lengths, cond, uncond, cfg, temp, hi, banned, gather, top_n):
        def make(g):
            return (
                _ids(g, v, rows, seq),
                _lengths_mask(lengths, total, left=True),
                _past(p, g, total - seq, rows),
                torch.tensor(cond, dtype=torch.int64),
                torch.tensor(uncond, dtype=torch.int64),
                torch.tensor(cfg),
                torch.tensor(temp),
                torch.tensor(hi, dtype=torch.int64),
                torch.tensor(banned, dtype=torch.int64),
                torch.tensor(gather, dtype=torch.int64),
                torch.tensor([top_n], dtype=torch.int64),
            )

        return make

    top = GraphSpec(
        name="lm_decode_top",
        file="lm_decode_top.onnx",
        group="lm",
        doc=(
            "lm_decode for host-sampled phases without logits rows: per sequence the CFG-mixed head "
            "(top 2), values at FSM ids, and the top_n of the masked row with its float64 total mass."
        ),
        inputs=[
            TensorSpec("input_ids", "int64", ["batch", "seq"]),
            TensorSpec("attention_mask", "int64", ["batch", "total"], "total = past + seq"),
            TensorSpec("past_kv", "float32", _kv_dims(p, "past"), kv_doc),
            TensorSpec("cond_row", "int64", ["seqs"], "row of each sequence's conditional logits"),
            TensorSpec("uncond_row", "int64", ["seqs"], "its unconditional row (= cond_row without CFG)"),
            TensorSpec("cfg_scale", "float32", ["seqs"], "u + s·(c − u); 1 without CFG"),
            TensorSpec("temperature", "float32", ["seqs"], "> 0; only for `total`"),
            TensorSpec("vocab_hi", "int64", ["seqs"], "ids >= vocab_hi are masked"),
            TensorSpec("banned", "int64", ["seqs", "bans"], "masked ids; padding = vocab (ignored)"),
            TensorSpec("gather_ids", "int64", ["seqs", "gathered"], "ids whose mixed logits are returned"),
            TensorSpec("top_n", "int64", [1], "entries of the masked top list (<= vocab)"),
        ],
        outputs=[
            TensorSpec("top_logits", "float32", ["seqs", "top_n"], "masked mixed logits, descending"),
            TensorSpec("top_ids", "int32", ["seqs", "top_n"], "their ids (ties: lower id first)"),
            TensorSpec("total", "float64", ["seqs"], "sum of exp(l/t − max/t) over the masked row"),
            TensorSpec("head_logits", "float32", ["seqs", 2], "top 2 of the unmasked mixed row"),
            TensorSpec("head_ids", "int32", ["seqs", 2]),
            TensorSpec("gathered", "float32", ["seqs", "gathered"], "mixed logits at gather_ids"),
            TensorSpec("new_kv", "float32", _kv_dims(p, "seq"), kv_doc),
        ],
        module=lambda: DecodeTop(c.lm),
        cases=[
            top_case(2, 1, 8, [8, 5], [0], [1], [2.0], [0.85], [151643], [[v]], [[198, 220]], 8),
            top_case(
                3, 2, 12, [12, 9, 7], [0, 1], [2, 1], [3.0, 1.0], [1.0, 0.5], [151643, v],
                [[5, 9, 151000], [v, v, v]], [[198, 220, 11], [0, 1, 2]], 16,
            ),
        ],
        exact_outputs=("top_ids", "head_ids"),
    )
    return [prefill, decode, loop, top]


def all_graphs(p, components) -> List[GraphSpec]:
    """`components` has lazily built `.vae`, `.ace`, `.text`, `.lm` modules."""
    return _vae_specs(p, components) + _text_specs(p, components) + _dit_specs(p, components) + _lm_specs(p, components)
