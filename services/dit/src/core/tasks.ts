/**
 * Per-task context of the DiT (docs/official-behaviour.md, "Tasks"; docs/model-contract.md): instruction, length in latent frames,
 * src_latents, chunk_masks, is_covers, silence-latent padding, repaint coordinates.
 *
 * Flow: `planTask` validates one batch item and decides what it needs; `batchFrames` gives the
 * shared length T = max(128, max Tᵢ); `buildItemContext` makes the item's [T, 64] tensors;
 * once hints exist (codes → FSQ → project_out → detokenizer, or source → tokenizer →
 * detokenizer) `contextLatents` assembles context_latents [B, T, 128].
 * All latents are time-major Float32Arrays, 64 channels per frame.
 */

import {
  BASE_ONLY_TASKS,
  TASK_INSTRUCTIONS as DEFAULT_INSTRUCTIONS,
  DURATION_MAX_SECONDS,
  DURATION_MIN_SECONDS,
  TASK_NAMES,
  TRACK_NAMES,
  type TrackName,
} from '@acestep/acestep';
import { checkAudioCodeCount, codesToFrames } from './audio-codes.ts';
import { checkRange, invalid, precondition } from './errors.ts';
import { HOP_SAMPLES, LATENT_CHANNELS, LATENT_RATE, SAMPLE_RATE } from './latents.ts';
import { formatInstruction } from './prompts.ts';
import type { ModelFamily } from './schedule.ts';

export const TASK_TYPES = TASK_NAMES;
export type TaskType = (typeof TASK_TYPES)[number];

const TURBO_TASKS = TASK_TYPES.filter((task) => !BASE_ONLY_TASKS.has(task));

/** Which variants support which tasks (docs/model-rules.md, "Tasks"): extract/lego/complete are base-only. */
export const TASKS_BY_FAMILY: Readonly<Record<ModelFamily, readonly TaskType[]>> = {
  turbo: TURBO_TASKS,
  sft: TURBO_TASKS,
  base: TASK_TYPES,
};

export { TRACK_NAMES, type TrackName };

export const MIN_LATENT_FRAMES = 128;
export const DURATION_MIN = DURATION_MIN_SECONDS;
export const DURATION_MAX = DURATION_MAX_SECONDS;
export const MAX_LATENT_FRAMES = DURATION_MAX * LATENT_RATE; // 15 000
export const TOKENIZER_POOL = 5;

/** The tasks' instructions: the defaults, and the templates of the tasks that name tracks. */
export const TASK_INSTRUCTIONS = {
  ...DEFAULT_INSTRUCTIONS,
  extract: 'Extract the {TRACK_NAME} track from the audio:',
  extract_default: DEFAULT_INSTRUCTIONS.extract,
  lego: 'Generate the {TRACK_NAME} track based on the audio context:',
  lego_default: DEFAULT_INSTRUCTIONS.lego,
  complete: 'Complete the input track with {TRACK_CLASSES}:',
  complete_default: DEFAULT_INSTRUCTIONS.complete,
} as const;

export function checkTaskType(value: string | undefined): TaskType {
  const task = value ?? 'text2music';
  if (!(TASK_TYPES as readonly string[]).includes(task)) {
    throw invalid('task_type', `must be one of ${TASK_TYPES.join(', ')}, got ${JSON.stringify(task)}`);
  }
  return task as TaskType;
}

export interface ModelRef {
  family: ModelFamily;
  /** Checkpoint name for messages, e.g. `acestep-v15-turbo`. */
  name: string;
}

/** Base-only tasks on turbo/SFT → FAILED_PRECONDITION naming the loaded model. */
export function checkTaskForModel(task: TaskType, model: ModelRef): void {
  const supported = TASKS_BY_FAMILY[model.family];
  if (!supported.includes(task)) {
    throw precondition(
      'task_type',
      `${task} needs a base model; ${model.name} (${model.family}) supports ${supported.join(', ')}`,
    );
  }
}

function checkTrackNames(task: TaskType, names: readonly string[]): TrackName[] {
  if (names.length === 0) return [];
  if (task !== 'lego' && task !== 'extract' && task !== 'complete') {
    throw invalid('track_names', `only lego, extract and complete take track names, not ${task}`);
  }
  if (task !== 'complete' && names.length > 1) {
    throw invalid('track_names', `${task} takes at most one track name, got ${names.length}`);
  }
  return names.map((name, i) => {
    const lower = name.toLowerCase();
    if (!(TRACK_NAMES as readonly string[]).includes(lower)) {
      throw invalid(
        `track_names[${i}]`,
        `must be one of ${TRACK_NAMES.join(', ')}, got ${JSON.stringify(name)}`,
      );
    }
    return lower as TrackName;
  });
}

/** Default instruction of a task; track names upper-cased, complete's joined with ` | `. */
export function taskInstruction(task: TaskType, trackNames: readonly string[] = []): string {
  const tracks = checkTrackNames(task, trackNames).map((t) => t.toUpperCase());
  const first = tracks[0];
  switch (task) {
    case 'extract':
      return first
        ? TASK_INSTRUCTIONS.extract.replace('{TRACK_NAME}', first)
        : TASK_INSTRUCTIONS.extract_default;
    case 'lego':
      return first ? TASK_INSTRUCTIONS.lego.replace('{TRACK_NAME}', first) : TASK_INSTRUCTIONS.lego_default;
    case 'complete':
      return tracks.length > 0
        ? TASK_INSTRUCTIONS.complete.replace('{TRACK_CLASSES}', tracks.join(' | '))
        : TASK_INSTRUCTIONS.complete_default;
    default:
      return TASK_INSTRUCTIONS[task];
  }
}

/** Python's `a // b` for floats: the floor of the exact quotient. */
function floorDiv(a: number, b: number): number {
  let q = Math.floor(a / b);
  if (q * b > a) q -= 1;
  else if ((q + 1) * b <= a) q += 1;
  return q;
}

/** Python's `round(x, 1)`: nearest tenth of the exact binary value, ties to even. */
export function roundToTenth(x: number): number {
  // Exact ties (x·10 ending in .5 exactly) exist only for x = k + 0.25 or k + 0.75.
  const isTie = Number.isInteger(x * 4) && !Number.isInteger(x * 2);
  if (!isTie) return Number(x.toFixed(1));
  const tenths = x * 10; // exact for multiples of 0.25
  const down = Math.floor(tenths);
  return (down % 2 === 0 ? down : down + 1) / 10;
}

/** Latent frame of a time: int(s·48000 // 1920) = floor(25·s) (upstream's repaint math). */
export function secondsToFrame(seconds: number): number {
  return floorDiv(seconds * SAMPLE_RATE, HOP_SAMPLES);
}

/** Text2music length: int(round(d, 1)·48000) // 1920, for d in [10, 600] s. */
export function durationToFrames(durationSeconds: number, field = 'duration_seconds'): number {
  checkRange(field, durationSeconds, DURATION_MIN, DURATION_MAX);
  return Math.floor(Math.trunc(roundToTenth(durationSeconds) * SAMPLE_RATE) / HOP_SAMPLES);
}

export interface TaskRequest {
  task: TaskType;
  model: ModelRef;
  /** text2music without codes: requested duration, 10–600 s. Also the metas duration if given. */
  durationSeconds?: number;
  /** VAE latents of the source audio, [Ts, 64]. */
  sourceLatents?: Float32Array;
  /** Number of 5 Hz audio codes of this item (text2music/cover): T = 5·N. */
  audioCodeCount?: number;
  /** repaint/lego: start in seconds, ≥ 0 (default 0). */
  repaintStartSeconds?: number;
  /** repaint/lego: end in seconds; negative (default −1) = end of the source. */
  repaintEndSeconds?: number;
  trackNames?: readonly string[];
  /** Replaces the task's default instruction (a trailing `:` is added if missing). */
  instruction?: string;
}

export type ContextSource = 'silence' | 'source' | 'codes';
export type HintSource = 'codes' | 'tokenized-source';

export interface TaskPlan {
  /** Effective task: text2music with codes runs as cover (upstream switches it). */
  task: TaskType;
  /** Formatted instruction for the caption prompt. */
  instruction: string;
  /** This item's own length Tᵢ in latent frames, before batch padding. */
  frames: number;
  isCover: boolean;
  /** What src_latents is built from. */
  context: ContextSource;
  /** Where a cover item's 25 Hz hints come from; null for non-cover items. */
  hints: HintSource | null;
  /** Frames [startFrame, endFrame) to regenerate (chunk mask 1), or null = all frames. */
  repaint: { startFrame: number; endFrame: number } | null;
  /** Duration for the metas line (`int(...)` is applied by the prompt). */
  metasDurationSeconds: number;
}

function sourceFrames(latents: Float32Array | undefined): number | null {
  if (latents === undefined) return null;
  if (latents.length === 0 || latents.length % LATENT_CHANNELS !== 0) {
    throw invalid(
      'src_audio',
      `source latents must be [T, ${LATENT_CHANNELS}] with T ≥ 1, got ${latents.length} values`,
    );
  }
  const frames = latents.length / LATENT_CHANNELS;
  if (frames > MAX_LATENT_FRAMES) {
    throw invalid(
      'src_audio',
      `source audio must be at most ${DURATION_MAX} s (${MAX_LATENT_FRAMES} frames), got ${frames} frames`,
    );
  }
  return frames;
}

/** Validates one batch item and decides its context (docs/official-behaviour.md, "Tasks"). */
export function planTask(req: TaskRequest): TaskPlan {
  checkTaskForModel(req.task, req.model);
  const srcFrames = sourceFrames(req.sourceLatents);
  const hasCodes = req.audioCodeCount !== undefined;
  const custom = req.instruction !== undefined && req.instruction.trim() !== '' ? req.instruction : undefined;
  const trackNames = req.trackNames ?? [];
  if (hasCodes) return planWithCodes(req, custom, trackNames);
  if (req.task === 'text2music') {
    if (srcFrames !== null)
      throw invalid('src_audio', 'text2music takes no source audio (use cover, repaint, …)');
    checkTrackNames(req.task, trackNames);
    const duration = req.durationSeconds;
    if (duration === undefined)
      throw invalid(
        'duration_seconds',
        `required for text2music without audio codes (${DURATION_MIN}–${DURATION_MAX} s)`,
      );
    return {
      task: 'text2music',
      instruction: formatInstruction(custom ?? taskInstruction('text2music')),
      frames: durationToFrames(duration),
      isCover: false,
      context: 'silence',
      hints: null,
      repaint: null,
      metasDurationSeconds: duration,
    };
  }
  if (srcFrames === null) throw invalid('src_audio', `${req.task} needs source audio`);
  const isCover = req.task === 'cover';
  return {
    task: req.task,
    instruction: formatInstruction(custom ?? taskInstruction(req.task, trackNames)),
    frames: srcFrames,
    isCover,
    context: 'source',
    hints: isCover ? 'tokenized-source' : null,
    repaint: req.task === 'repaint' || req.task === 'lego' ? repaintFrames(req, srcFrames) : null,
    metasDurationSeconds: Math.trunc(srcFrames / LATENT_RATE),
  };
}

function planWithCodes(
  req: TaskRequest,
  custom: string | undefined,
  trackNames: readonly string[],
): TaskPlan {
  if (req.task !== 'text2music' && req.task !== 'cover') {
    throw invalid('audio_codes', `only text2music and cover take audio codes, not ${req.task}`);
  }
  checkTrackNames(req.task, trackNames);
  const count = req.audioCodeCount!;
  checkAudioCodeCount(count);
  const frames = codesToFrames(count);
  // Upstream turns text2music-with-codes into cover and overwrites the instruction with cover's;
  // a source audio is ignored when codes are given.
  const instruction =
    req.task === 'text2music' ? taskInstruction('cover') : (custom ?? taskInstruction('cover'));
  return {
    task: 'cover',
    instruction: formatInstruction(instruction),
    frames,
    isCover: true,
    context: 'codes',
    hints: 'codes',
    repaint: null,
    metasDurationSeconds: req.durationSeconds ?? frames / LATENT_RATE,
  };
}

/**
 * Repaint/lego range → frames. Start ≥ 0 and end (< 0 = end of the source, as upstream) within
 * the source; out-painting (start < 0 or end past the source) is refused: it would have to pad the
 * waveform before VAE encoding, which no caller does.
 */
function repaintFrames(req: TaskRequest, srcFrames: number): { startFrame: number; endFrame: number } {
  const srcSeconds = srcFrames / LATENT_RATE;
  const start = req.repaintStartSeconds ?? 0;
  const end = req.repaintEndSeconds ?? -1;
  checkRange('repainting_start', start, 0, srcSeconds);
  if (!Number.isFinite(end)) throw invalid('repainting_end', `must be a finite number, got ${end}`);
  const toEnd = end < 0;
  const endSeconds = toEnd ? srcSeconds : end;
  const startFrame = secondsToFrame(start);
  const endFrame = toEnd ? srcFrames : secondsToFrame(end);
  if (endSeconds <= start || endFrame > srcFrames || startFrame >= srcFrames) {
    throw invalid(
      'repainting_end',
      `must be < 0 (end of audio) or in (repainting_start, ${srcSeconds}] s so that [${start}, ${endSeconds}) s ` +
        `is a non-empty range inside the source audio`,
    );
  }
  return { startFrame, endFrame };
}

/** Shared batch length: max(128, max Tᵢ) — shorter items are padded, all decode at this length. */
export function batchFrames(plans: readonly TaskPlan[]): number {
  return plans.reduce((t, p) => Math.max(t, p.frames), MIN_LATENT_FRAMES);
}

function checkSilence(silence: Float32Array): number {
  if (silence.length === 0 || silence.length % LATENT_CHANNELS !== 0) {
    throw new Error(`silence latent must be [N, ${LATENT_CHANNELS}], got ${silence.length} values`);
  }
  return silence.length / LATENT_CHANNELS;
}

/**
 * `count` frames of the silence latent starting at `start`, repeating it past its end (it holds
 * 600 s; upstream's later tree repeats it the same way for longer requests).
 */
export function silenceFrames(silence: Float32Array, start: number, count: number): Float32Array {
  const n = checkSilence(silence);
  const out = new Float32Array(count * LATENT_CHANNELS);
  for (let i = 0; i < count; i++) {
    const frame = (start + i) % n;
    out.set(silence.subarray(frame * LATENT_CHANNELS, (frame + 1) * LATENT_CHANNELS), i * LATENT_CHANNELS);
  }
  return out;
}

/** Latents [Tᵢ, 64] padded at the end with the *first* frames of the silence latent, or cropped, to T. */
export function fitToFrames(latents: Float32Array, frames: number, silence: Float32Array): Float32Array {
  const have = latents.length / LATENT_CHANNELS;
  if (have >= frames) return latents.slice(0, frames * LATENT_CHANNELS);
  const out = new Float32Array(frames * LATENT_CHANNELS);
  out.set(latents, 0);
  out.set(silenceFrames(silence, 0, frames - have), latents.length);
  return out;
}

export interface ItemContext {
  /** src_latents [T, 64]. */
  srcLatents: Float32Array;
  /** chunk_masks [T, 64]: 1 = generate, 0 = keep (same value on all channels). */
  chunkMask: Float32Array;
  isCover: boolean;
  hints: HintSource | null;
  /** Repaint/lego: [T] 1 = inside the span, and the clean source [T, 64] (not silenced). */
  repaint?: { mask: Uint8Array; source: Float32Array };
}

/** One item's src_latents / chunk mask at the batch length T (docs/official-behaviour.md, "Tasks"). */
export function buildItemContext(
  plan: TaskPlan,
  sourceLatents: Float32Array | undefined,
  silence: Float32Array,
  frames: number,
): ItemContext {
  if (frames < plan.frames)
    throw new Error(`buildItemContext: batch length ${frames} < item length ${plan.frames}`);
  let srcLatents: Float32Array;
  if (plan.context === 'source') {
    if (!sourceLatents) throw new Error(`buildItemContext: ${plan.task} needs source latents`);
    srcLatents = fitToFrames(sourceLatents, frames, silence);
  } else {
    // Text2music, and the placeholder of code items (their context is the hints).
    srcLatents = silenceFrames(silence, 0, frames);
  }
  const chunkMask = new Float32Array(frames * LATENT_CHANNELS);
  let repaint: ItemContext['repaint'];
  if (plan.repaint) {
    // Upstream clamps: start ∈ [0, T − 1], end ∈ [start + 1, T].
    const start = Math.max(0, Math.min(plan.repaint.startFrame, frames - 1));
    const end = Math.max(start + 1, Math.min(plan.repaint.endFrame, frames));
    chunkMask.fill(1, start * LATENT_CHANNELS, end * LATENT_CHANNELS);
    const mask = new Uint8Array(frames);
    mask.fill(1, start, end);
    // The sampler re-injects and crossfades toward the clean source (core/repaint.ts).
    repaint = { mask, source: Float32Array.from(srcLatents) };
    // Repaint: the hole is silence (position-aligned). Lego keeps the source (later upstream fix).
    if (plan.task === 'repaint') {
      srcLatents.set(silenceFrames(silence, start, end - start), start * LATENT_CHANNELS);
    }
  } else {
    chunkMask.fill(1);
  }
  return { srcLatents, chunkMask, isCover: plan.isCover, hints: plan.hints, ...(repaint ? { repaint } : {}) };
}

/** The text2music-style context used after the audio_cover_strength switch (docs/official-behaviour.md, "Tasks": the cover switch). */
export function nonCoverItemContext(item: ItemContext, silence: Float32Array): ItemContext {
  const frames = item.chunkMask.length / LATENT_CHANNELS;
  return {
    srcLatents: silenceFrames(silence, 0, frames),
    chunkMask: item.chunkMask,
    isCover: false,
    hints: null,
    ...(item.repaint ? { repaint: item.repaint } : {}),
  };
}

/** Input of the audio tokenizer for cover-from-source: T padded to a multiple of 5 with silence. */
export function tokenizerInput(srcLatents: Float32Array, silence: Float32Array): Float32Array {
  const frames = srcLatents.length / LATENT_CHANNELS;
  const padded = Math.ceil(frames / TOKENIZER_POOL) * TOKENIZER_POOL;
  return fitToFrames(srcLatents, padded, silence);
}

export interface ContextItem {
  context: ItemContext;
  /** 25 Hz hints [Th, 64] for cover items (padded with silence / cropped to T here). */
  hints?: Float32Array;
}

/** context_latents [B, T, 128] = [src_or_hints (64) ‖ chunk_mask (64)] per frame. */
export function contextLatents(
  items: readonly ContextItem[],
  frames: number,
  silence: Float32Array,
): Float32Array {
  const width = 2 * LATENT_CHANNELS;
  const out = new Float32Array(items.length * frames * width);
  items.forEach((item, b) => {
    const { context } = item;
    if (context.chunkMask.length !== frames * LATENT_CHANNELS) {
      throw new Error(
        `contextLatents: item ${b} has ${context.chunkMask.length / LATENT_CHANNELS} frames, want ${frames}`,
      );
    }
    if (context.isCover && !item.hints) throw new Error(`contextLatents: cover item ${b} needs hints`);
    const base = context.isCover ? fitToFrames(item.hints!, frames, silence) : context.srcLatents;
    for (let t = 0; t < frames; t++) {
      const row = (b * frames + t) * width;
      out.set(base.subarray(t * LATENT_CHANNELS, (t + 1) * LATENT_CHANNELS), row);
      out.set(
        context.chunkMask.subarray(t * LATENT_CHANNELS, (t + 1) * LATENT_CHANNELS),
        row + LATENT_CHANNELS,
      );
    }
  });
  return out;
}

/** Stack per-item [T, 64] tensors into [B, T, 64] (src_latents, chunk_masks). */
export function stackItems(arrays: readonly Float32Array[]): Float32Array {
  const size = arrays[0]?.length ?? 0;
  const out = new Float32Array(arrays.length * size);
  arrays.forEach((a, b) => {
    if (a.length !== size) throw new Error('stackItems: items differ in length');
    out.set(a, b * size);
  });
  return out;
}

/** Frames of one timbre reference clip (30 s). */
export const REFERENCE_FRAMES = 750;

/**
 * Timbre reference of one item [T_ref, 64]: the given latents, or without a reference the first
 * 750 frames of the silence latent (upstream's default; docs/official-behaviour.md, "Tasks").
 */
export function referenceLatents(reference: Float32Array | undefined, silence: Float32Array): Float32Array {
  if (reference === undefined) return silenceFrames(silence, 0, REFERENCE_FRAMES);
  if (reference.length === 0 || reference.length % LATENT_CHANNELS !== 0) {
    throw invalid(
      'reference_latents',
      `must be [T, ${LATENT_CHANNELS}] with T ≥ 1, got ${reference.length} values`,
    );
  }
  return reference;
}
