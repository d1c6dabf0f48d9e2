// Conditioning of one request (docs/official-behaviour.md "DiT prompts", docs/official-behaviour.md "Tasks"): caption/lyric prompts → token ids (the bundled
// Qwen3 tokenizer) → text_encoder / text_token_embedding → condition_encoder, together with the
// timbre references, src_latents / chunk_masks / is_covers of the task plan and the 25 Hz LM
// hints (codes → audio_detokenizer, or source → audio_tokenizer → audio_detokenizer).
import ort from 'onnxruntime-node';
import { LATENT_CHANNELS } from '../core/latents.ts';
import { captionPrompt, lyricPrompt, type Metas } from '../core/prompts.ts';
import {
  fitToFrames,
  type ItemContext,
  REFERENCE_FRAMES,
  referenceLatents,
  stackItems,
  tokenizerInput,
} from '../core/tasks.ts';
import { padIdRows as padIds } from '../core/token-ids.ts';
import type { DitModel } from './model.ts';

/** What the DiT needs per denoising step, for B items (un-doubled). */
export interface Conditioning {
  batch: number;
  frames: number;
  /** encoder_hidden_states [B, encLen, H]. */
  encoderHiddenStates: Float32Array;
  encLen: number;
  /** context_latents [B, T, 128]. */
  contextLatents: Float32Array;
  /** Token length of the caption prompts (the longest item's). */
  textLen: number;
}

export interface PromptItem {
  instruction: string;
  caption: string;
  metas: Metas;
  language: string;
  lyrics: string;
}

export interface ConditionItem {
  prompt: PromptItem;
  context: ItemContext;
  /** 25 Hz hints of a cover item (any length; fitted to T with silence). */
  hints?: Float32Array;
  /** Timbre reference [Tr, 64]; undefined = the first 750 silence frames. */
  reference?: Float32Array;
}

/**
 * Token ids of one prompt as HF `tokenizer(text, truncation=True, max_length)` gives them with the
 * bundled tokenizer.json: the text's tokens, cut so that the appended EOS still fits.
 */
export function promptIds(model: DitModel, text: string, maxTokens: number): number[] {
  const { appendsEos, eosTokenId } = model.manifest.tokenizer.textEncoder;
  const ids = model.tokenizer.encode(text === '' ? ' ' : text);
  const room = appendsEos ? maxTokens - 1 : maxTokens;
  const kept = ids.slice(0, room);
  if (appendsEos) kept.push(eosTokenId);
  return kept;
}

const f32 = (data: Float32Array, dims: number[]) => new ort.Tensor('float32', data, dims);
const i64 = (data: BigInt64Array, dims: number[]) => new ort.Tensor('int64', data, dims);

/**
 * Runs the text graphs and the condition encoder for B items sharing the batch length T.
 * `textLength` fixes the caption token length (rows cropped or padded to it): the non-cover
 * conditioning of audio_cover_strength < 1 uses the cover prompts' length, as upstream.
 */
export async function encodeConditions(
  model: DitModel,
  items: readonly ConditionItem[],
  frames: number,
  textLength?: number,
): Promise<Conditioning> {
  const c = model.manifest.constants;
  const pad = model.manifest.tokenizer.textEncoder.padTokenId;
  const batch = items.length;
  const caption = padIds(
    items.map((it) => promptIds(model, captionPrompt(it.prompt), c.maxTextTokens)),
    pad,
    textLength,
  );
  const lyric = padIds(
    items.map((it) =>
      promptIds(
        model,
        lyricPrompt({ language: it.prompt.language, lyrics: it.prompt.lyrics }),
        c.maxLyricTokens,
      ),
    ),
    pad,
  );
  const text = await model.session('text_encoder').run({ input_ids: i64(caption.ids, [batch, caption.len]) });
  const lyricEmbeddings = await model
    .session('text_token_embedding')
    .run({ input_ids: i64(lyric.ids, [batch, lyric.len]) });
  const references = items.map((it) =>
    fitToFrames(referenceLatents(it.reference, model.silence), REFERENCE_FRAMES, model.silence),
  );
  const hints = items.map((it) =>
    it.context.isCover && it.hints
      ? fitToFrames(it.hints, frames, model.silence)
      : new Float32Array(frames * LATENT_CHANNELS),
  );
  const out = await model.session('condition_encoder').run({
    text_hidden_states: text.last_hidden_state!,
    text_attention_mask: i64(caption.mask, [batch, caption.len]),
    lyric_hidden_states: lyricEmbeddings.embeddings!,
    lyric_attention_mask: i64(lyric.mask, [batch, lyric.len]),
    refer_latents: f32(stackItems(references), [batch, REFERENCE_FRAMES, LATENT_CHANNELS]),
    refer_order: i64(
      BigInt64Array.from(items, (_, b) => BigInt(b)),
      [batch],
    ),
    src_latents: f32(stackItems(items.map((it) => it.context.srcLatents)), [batch, frames, LATENT_CHANNELS]),
    chunk_masks: f32(stackItems(items.map((it) => it.context.chunkMask)), [batch, frames, LATENT_CHANNELS]),
    is_covers: i64(
      BigInt64Array.from(items, (it) => (it.context.isCover ? 1n : 0n)),
      [batch],
    ),
    lm_hints: f32(stackItems(hints), [batch, frames, LATENT_CHANNELS]),
  });
  const states = out.encoder_hidden_states!;
  return {
    batch,
    frames,
    encoderHiddenStates: states.data as Float32Array,
    encLen: states.dims[1]!,
    contextLatents: out.context_latents!.data as Float32Array,
    textLen: caption.len,
  };
}

/** 5 Hz codes [B, N] (same N per item) → 25 Hz hints [5N, 64] per item. */
export async function hintsFromCodes(
  model: DitModel,
  codes: readonly (readonly number[])[],
): Promise<Float32Array[]> {
  const count = codes[0]?.length ?? 0;
  const ids = new BigInt64Array(codes.length * count);
  codes.forEach((row, b) => {
    row.forEach((code, i) => {
      ids[b * count + i] = BigInt(code);
    });
  });
  const out = await model.session('audio_detokenizer').run({ audio_codes: i64(ids, [codes.length, count]) });
  const hints = out.lm_hints!.data as Float32Array;
  const per = hints.length / codes.length;
  return codes.map((_, b) => hints.slice(b * per, (b + 1) * per));
}

/** Latents [T, 64] → 5 Hz codes, T padded to a multiple of 5 with the first silence frames. */
export async function tokenizeLatents(model: DitModel, latents: Float32Array): Promise<number[]> {
  const input = tokenizerInput(latents, model.silence);
  const frames = input.length / LATENT_CHANNELS;
  const out = await model
    .session('audio_tokenizer')
    .run({ latents: f32(input, [1, frames, LATENT_CHANNELS]) });
  return Array.from(out.audio_codes!.data as BigInt64Array, Number);
}

/** Cover from a source: source latents → codes → hints (docs/official-behaviour.md "Tasks", `hints: 'tokenized-source'`). */
export async function hintsFromSource(model: DitModel, srcLatents: Float32Array): Promise<Float32Array> {
  const codes = await tokenizeLatents(model, srcLatents);
  const [hints] = await hintsFromCodes(model, [codes]);
  return hints!;
}
