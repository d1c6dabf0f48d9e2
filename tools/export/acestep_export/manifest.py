"""manifest.json: everything the services need to drive a model set, and nothing that varies
between runs (no timestamps, no absolute paths)."""

from .config import CONTRACT_VERSION, OPSET, turbo_schedule
from .variants import variant


def _tensor_io(t):
    d = {"name": t.name, "dtype": t.dtype, "dims": list(t.dims)}
    if t.doc:
        d["doc"] = t.doc
    return d


def constants(p, lm_size):
    d, v, lm, tok = p.dit, p.vae, p.lm, p.lm_tokens
    schedules = {str(s): turbo_schedule(float(s)) for s in (1, 2, 3)}
    valid = sorted({t for sched in schedules.values() for t in sched}, reverse=True)
    return {
        "sampleRate": 48000,
        "hop": v.hop,
        "latentRate": 48000 // v.hop,
        "latentDim": d.latent_dim,
        "contextDim": 2 * d.latent_dim,
        "audioChannels": v.audio_channels,
        "patchSize": d.patch_size,
        "poolWindow": d.pool_window_size,
        "fsqLevels": list(d.fsq_levels),
        "codebookSize": _prod(d.fsq_levels),
        "slidingWindow": d.block.sliding_window,
        "ditHidden": d.block.hidden,
        "encoderHidden": d.enc.hidden,
        "textHidden": d.text_hidden_dim,
        "textVocabSize": p.text.vocab_size,
        "maxTextTokens": 256,
        "maxLyricTokens": 2048,
        "minLatentFrames": 128,
        "minDurationSeconds": 10,
        "maxDurationSeconds": 600,
        "timbreFrames": 750,
        "vaeDecodeChunk": {"frames": 512, "overlap": 64},
        "vaeEncodeChunk": {"samples": 1440000, "overlap": 96000},
        "turboSchedules": schedules,
        "validTimesteps": valid,
        "lm": {
            "size": lm_size,
            "vocabSize": lm.vocab_size,
            "hidden": lm.block.hidden,
            "layers": lm.layers,
            "kvHeads": lm.block.kv_heads,
            "headDim": lm.block.head_dim,
            "kvLayout": ["pos", "layer", "kv", "batch", "kvHead", "headDim"],
            "maxModelLen": 4096,
            "audioCodeOffset": tok.audio_code_offset,
            "audioCodeCount": tok.audio_code_tokens,
            "audioCodeValid": tok.audio_code_valid,
            "eosTokenId": tok.im_end,
            "padTokenId": tok.endoftext,
            "codesPerSecond": 5,
        },
    }


def _prod(xs):
    out = 1
    for x in xs:
        out *= x
    return out


def tokenizer_entry(p):
    t = p.lm_tokens
    return {
        "kind": "qwen3",
        "package": "@acestep/tokenizer",
        "note": "Qwen3 byte-level BPE; files come from @acestep/tokenizer, not from this model set.",
        "textEncoder": {"appendsEos": True, "eosTokenId": t.endoftext, "padTokenId": t.endoftext},
        "lm": {
            "addsBos": False,
            "specialTokens": {
                "<|endoftext|>": t.endoftext,
                "<|im_start|>": t.im_start,
                "<|im_end|>": t.im_end,
                "<think>": t.think,
                "</think>": t.think_end,
            },
            "audioCodeTokens": {
                "pattern": "<|audio_code_N|>",
                "firstId": t.audio_code_offset,
                "count": t.audio_code_tokens,
                "validCount": t.audio_code_valid,
            },
        },
    }


def graph_entry(spec, sha, weights_file, weights_sha):
    return {
        "file": spec.file,
        "sha256": sha,
        "weights": {"file": weights_file, "sha256": weights_sha},
        "doc": spec.doc,
        "inputs": [_tensor_io(t) for t in spec.inputs],
        "outputs": [_tensor_io(t) for t in spec.outputs],
    }


def build(p, args, graphs, tensors, parity, lora=None):
    return {
        "contractVersion": CONTRACT_VERSION,
        "name": p.name,
        "variant": {
            "dit": args.variant,
            "ditFamily": variant(args.variant).family,
            "ditDefaults": variant(args.variant).manifest(),
            "lm": args.lm,
            "weights": "random" if args.random else "official",
        },
        "opset": OPSET,
        "constants": constants(p, args.lm),
        "tokenizer": tokenizer_entry(p),
        "tensors": tensors,
        "graphs": graphs,
        "parity": parity,
        "lora": lora,
    }
