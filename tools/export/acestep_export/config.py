"""Presets: `full` = the official sizes, `tiny` = every structural feature at toy widths."""

from dataclasses import dataclass, field, replace
from typing import Optional

CONTRACT_VERSION = "1.1.0"
OPSET = 17


@dataclass(frozen=True)
class TransformerCfg:
    hidden: int
    intermediate: int
    heads: int
    kv_heads: int
    head_dim: int
    eps: float = 1e-6
    rope_theta: float = 1_000_000.0
    sliding_window: int = 128


@dataclass(frozen=True)
class DitCfg:
    block: TransformerCfg
    dit_layers: int
    lyric_layers: int
    timbre_layers: int
    pooler_layers: int  # attention pooler and detokenizer
    text_hidden_dim: int
    latent_dim: int = 64
    timbre_hidden_dim: int = 64
    patch_size: int = 2
    pool_window_size: int = 5
    fsq_levels: tuple = (8, 8, 8, 5, 5, 5)
    time_freq_dim: int = 256
    # XL: the condition encoder, audio tokenizer/detokenizer and null condition keep their own
    # (narrower) width; None = the DiT's block (every 2B variant).
    encoder_block: Optional[TransformerCfg] = None

    @property
    def enc(self) -> TransformerCfg:
        return self.encoder_block or self.block


@dataclass(frozen=True)
class VaeCfg:
    encoder_hidden_size: int  # base width of the encoder blocks
    decoder_channels: int  # base width of the decoder blocks
    latent_dim: int = 64
    audio_channels: int = 2
    channel_multiples: tuple = (1, 2, 4, 8, 16)
    downsampling_ratios: tuple = (2, 4, 4, 6, 10)

    @property
    def hop(self) -> int:
        h = 1
        for s in self.downsampling_ratios:
            h *= s
        return h


@dataclass(frozen=True)
class QwenCfg:
    block: TransformerCfg
    layers: int
    vocab_size: int
    # All three official 5 Hz LMs tie the output head to the embedding; a checkpoint's
    # config.json (and its tensors, see weights.resolve_lm_head) may say otherwise.
    tie_word_embeddings: bool = True


def qwen_cfg_from_hf(hf: dict) -> QwenCfg:
    """QwenCfg from a transformers Qwen3 `config.json` dict (the LM folders ship one).

    transformers' Qwen3Config defaults `tie_word_embeddings` to False, so an absent key means
    untied; `head_dim` defaults to hidden / heads.
    """
    heads = int(hf["num_attention_heads"])
    block = TransformerCfg(
        hidden=int(hf["hidden_size"]),
        intermediate=int(hf["intermediate_size"]),
        heads=heads,
        kv_heads=int(hf.get("num_key_value_heads", heads)),
        head_dim=int(hf.get("head_dim") or int(hf["hidden_size"]) // heads),
        eps=float(hf.get("rms_norm_eps", 1e-6)),
        rope_theta=float(hf.get("rope_theta", 1_000_000.0)),
    )
    return QwenCfg(block, int(hf["num_hidden_layers"]), int(hf["vocab_size"]), bool(hf.get("tie_word_embeddings", False)))


@dataclass(frozen=True)
class LmTokens:
    """Token ids from the LM tokenizer (docs/official-behaviour.md "LM vocabulary")."""

    endoftext: int = 151643
    im_start: int = 151644
    im_end: int = 151645  # inferred EOS of the 5 Hz LM
    think: int = 151667
    think_end: int = 151668
    audio_code_offset: int = 151669
    audio_code_tokens: int = 65535  # added tokens <|audio_code_0..65534|>
    audio_code_valid: int = 64000  # FSQ codebook size; codes >= 64000 are always banned


@dataclass(frozen=True)
class Preset:
    name: str
    dit: DitCfg
    vae: VaeCfg
    text: QwenCfg
    lm: QwenCfg
    silence_frames: int = 15000
    lm_tokens: LmTokens = field(default_factory=LmTokens)


TEXT_VOCAB = 151669  # Qwen3-Embedding-0.6B
LM_VOCAB = 217204  # Qwen3 vocab + 65535 audio-code tokens

FULL_DIT = DitCfg(
    block=TransformerCfg(hidden=2048, intermediate=6144, heads=16, kv_heads=8, head_dim=128),
    dit_layers=24,
    lyric_layers=8,
    timbre_layers=4,
    pooler_layers=2,
    text_hidden_dim=1024,
)
FULL_VAE = VaeCfg(encoder_hidden_size=128, decoder_channels=128)
FULL_TEXT = QwenCfg(TransformerCfg(hidden=1024, intermediate=3072, heads=16, kv_heads=8, head_dim=128), 28, TEXT_VOCAB)
FULL_LMS = {
    "0.6B": QwenCfg(TransformerCfg(hidden=1024, intermediate=3072, heads=16, kv_heads=8, head_dim=128), 28, LM_VOCAB),
    "1.7B": QwenCfg(TransformerCfg(hidden=2048, intermediate=6144, heads=16, kv_heads=8, head_dim=128), 28, LM_VOCAB),
    "4B": QwenCfg(TransformerCfg(hidden=2560, intermediate=9728, heads=32, kv_heads=8, head_dim=128), 36, LM_VOCAB),
}

# Tiny: same layer patterns (sliding/full alternation, GQA 2:1, RoPE, QK-norm, patching,
# FSQ levels, hop 1920, real vocabularies) at toy widths. The sliding window is 16 instead of
# 128 so short parity fixtures exercise the band mask; the manifest records the value.
_TINY_BLOCK = TransformerCfg(hidden=32, intermediate=64, heads=2, kv_heads=1, head_dim=16, sliding_window=16)
_TINY_QWEN = TransformerCfg(hidden=8, intermediate=16, heads=2, kv_heads=1, head_dim=8, sliding_window=16)
TINY = Preset(
    name="tiny",
    dit=DitCfg(
        block=_TINY_BLOCK,
        dit_layers=2,
        lyric_layers=2,
        timbre_layers=2,
        pooler_layers=2,
        text_hidden_dim=8,
    ),
    vae=VaeCfg(encoder_hidden_size=4, decoder_channels=4),
    text=QwenCfg(_TINY_QWEN, 2, TEXT_VOCAB),
    lm=QwenCfg(_TINY_QWEN, 2, LM_VOCAB),
)


# XL DiTs: hidden 2560, 32 layers, 32 heads (head_dim 128, so q is 4096 wide), MLP 9728; the
# encoders stay at the 2B widths (encoder_hidden_size 2048, 16 heads, MLP 6144).
FULL_XL_DIT = replace(
    FULL_DIT,
    block=TransformerCfg(hidden=2560, intermediate=9728, heads=32, kv_heads=8, head_dim=128),
    dit_layers=32,
    encoder_block=FULL_DIT.block,
)
# Tiny XL: a DiT wider than its encoders (48 vs 32) whose q/o width (4 x 16) differs from its
# hidden size, like the real XL.
TINY_XL_DIT = replace(
    TINY.dit,
    block=TransformerCfg(hidden=48, intermediate=96, heads=4, kv_heads=2, head_dim=16, sliding_window=16),
    encoder_block=_TINY_BLOCK,
)


def full_preset(lm_size: str, xl: bool = False) -> Preset:
    return Preset(name="full", dit=FULL_XL_DIT if xl else FULL_DIT, vae=FULL_VAE, text=FULL_TEXT, lm=FULL_LMS[lm_size])


def preset(name: str, lm_size: str = "1.7B", xl: bool = False) -> Preset:
    if name == "tiny":
        return replace(TINY, dit=TINY_XL_DIT) if xl else TINY
    if name == "full":
        return full_preset(lm_size, xl)
    raise ValueError(f"unknown preset {name!r}")


# Turbo schedules (docs/official-behaviour.md "Schedules"): t' = s*t/(1+(s-1)*t), t = 1 - i/8, no final 0.
def turbo_schedule(shift: float, steps: int = 8):
    out = []
    for i in range(steps):
        t = 1.0 - i / steps
        out.append(shift * t / (1.0 + (shift - 1.0) * t))
    return out

