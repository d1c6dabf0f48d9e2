// ResolvedConfig → the stage plan: whether and how the LM runs, what the VAE
// encodes, what the DiT gets per item, and where the audio's length comes
// from. Pure data; the orchestrator follows it.

import {
  AUDIO_CODES_PER_SECOND,
  canonicalKeyScale,
  canonicalTimeSignature,
  DURATION_MAX_SECONDS,
  lmTimeSignature,
  SOURCE_AUDIO_TASKS,
  TASK_INSTRUCTIONS,
  type TaskName,
  type TimeSignature,
  VOCAL_LANGUAGES,
} from '@acestep/acestep';
import type { ResolvedConfig } from './types.ts';

export type LmPhases = 'none' | 'metadata' | 'codes' | 'metadata+codes';

/** User values the LM must write verbatim, in the LM's own spelling (timesignature "4", not "4/4"). */
export interface LmForcedMetadata {
  bpm?: number;
  /** Whole seconds, as the reference's `int(duration)`. */
  duration?: number;
  keyscale?: string;
  timesignature?: string;
  language?: string;
}

export interface LmPlan {
  phases: LmPhases;
  /** Why the LM does or does not run, for logs. */
  reason: string;
  forced: LmForcedMetadata;
  /** Which free fields phase 1 writes (use_cot_caption / use_cot_language). */
  writesCaption: boolean;
  writesLanguage: boolean;
  /** Phase 2 stops after int(seconds × 5) codes; null = the LM decides when to stop. */
  targetDurationSeconds: number | null;
  /** Item indices per LM call; [] when the LM does not run. */
  chunks: number[][];
  sampling: {
    temperature: number;
    cfgScale: number;
    /** 0 = off. */
    topK: number;
    /** 1 = off. */
    topP: number;
    negativePrompt: string;
  };
}

/** Where the generated audio's length comes from. */
export type DurationPlan =
  /** The request's audio_duration. */
  | { source: 'user'; seconds: number }
  /** The request's audio codes: 5 codes per second; the longest item sets the batch length. */
  | { source: 'codes'; seconds: number }
  /** The LM's codes (T = 5 × codes); with a target the LM writes exactly int(target × 5) codes. */
  | { source: 'lm-codes'; targetSeconds: number | null }
  /** The source audio's length (cover, repaint, lego, extract, complete). */
  | { source: 'source-audio' }
  /** No duration and nothing to take it from: estimated from the lyrics (see estimateDurationSeconds). */
  | { source: 'estimate'; seconds: number };

export type ItemCodes = { source: 'none' } | { source: 'user'; codes: number[] } | { source: 'lm' };

export interface DitItemPlan {
  index: number;
  seed: bigint;
  /** Index into lm.chunks of the LM call that plans this item; null when the LM does not run. */
  lmChunk: number | null;
  codes: ItemCodes;
}

export interface DitPlan {
  /** The task the DiT runs: text2music with audio codes runs as cover (docs/official-behaviour.md, "Tasks"). */
  task: TaskName;
  instruction: string;
  inferenceSteps: number;
  guidanceScale: number;
  /** Only the base DiT does adaptive dual guidance. */
  useAdg: boolean;
  cfgIntervalStart: number;
  cfgIntervalEnd: number;
  audioCoverStrength: number;
  repaintingStart: number;
  repaintingEnd: number;
  repaintInjectionRatio: number;
  repaintCrossfadeFrames: number;
  items: DitItemPlan[];
}

export interface GenerationPlan {
  lm: LmPlan;
  vae: { encodeSrcAudio: boolean; encodeReferenceAudio: boolean };
  dit: DitPlan;
  duration: DurationPlan;
}

/**
 * Item indices per LM call. With allow_lm_batch every call takes up to
 * `lmBatchChunkSize` items (batch 3, chunk 2 → [[0, 1], [2]]); without it each
 * item runs alone ([[0], [1], [2]]), so each item gets its own metadata.
 */
export function lmChunks(batchSize: number, lmBatchChunkSize: number, allowLmBatch: boolean): number[][] {
  const size = allowLmBatch ? Math.max(1, lmBatchChunkSize) : 1;
  const chunks: number[][] = [];
  for (let start = 0; start < batchSize; start += size) {
    chunks.push(Array.from({ length: Math.min(size, batchSize - start) }, (_, k) => start + k));
  }
  return chunks;
}

export function planGeneration(
  config: ResolvedConfig,
  seeds: readonly bigint[],
  maxDurationSeconds = DURATION_MAX_SECONDS,
): GenerationPlan {
  if (seeds.length !== config.batchSize) {
    throw new RangeError(`planGeneration needs ${config.batchSize} seeds, got ${seeds.length}`);
  }
  const lm = planLm(config);
  const userCodes = config.audioCodes.length > 0;
  const codesFor = (i: number): ItemCodes => {
    if (userCodes)
      return { source: 'user', codes: config.audioCodes[config.audioCodes.length === 1 ? 0 : i] ?? [] };
    return lm.phases === 'codes' || lm.phases === 'metadata+codes' ? { source: 'lm' } : { source: 'none' };
  };
  const items = seeds.map((seed, index) => ({
    index,
    seed,
    lmChunk: lm.chunks.length > 0 ? lm.chunks.findIndex((chunk) => chunk.includes(index)) : null,
    codes: codesFor(index),
  }));
  const hasCodes = items.some((item) => item.codes.source !== 'none');
  const ditTask = config.taskType === 'text2music' && hasCodes ? 'cover' : config.taskType;
  return {
    lm,
    vae: {
      // Codes take the source audio's place (docs/official-behaviour.md, "Tasks").
      encodeSrcAudio: config.srcAudio !== null && SOURCE_AUDIO_TASKS.has(config.taskType) && !hasCodes,
      encodeReferenceAudio: config.referenceAudio !== null,
    },
    dit: {
      task: ditTask,
      instruction: config.instructionGiven ? config.instruction : TASK_INSTRUCTIONS[ditTask],
      inferenceSteps: config.inferenceSteps,
      guidanceScale: config.guidanceScale,
      useAdg: config.useAdg,
      cfgIntervalStart: config.cfgIntervalStart,
      cfgIntervalEnd: config.cfgIntervalEnd,
      audioCoverStrength: config.audioCoverStrength,
      repaintingStart: config.repaintingStart,
      repaintingEnd: config.repaintingEnd,
      repaintInjectionRatio: config.repaintInjectionRatio,
      repaintCrossfadeFrames: config.repaintCrossfadeFrames,
      items,
    },
    duration: planDuration(config, lm, maxDurationSeconds),
  };
}

function planLm(config: ResolvedConfig): LmPlan {
  const sampling = {
    temperature: config.lmTemperature,
    cfgScale: config.lmCfgScale,
    topK: config.lmTopK,
    topP: config.lmTopP,
    negativePrompt: config.lmNegativePrompt,
  };
  const forced = forcedMetadata(config);
  const base = { forced, sampling, targetDurationSeconds: null, writesCaption: false, writesLanguage: false };
  if (!config.useLlmThinking)
    return { ...base, phases: 'none', reason: 'use_llm_thinking is false', chunks: [] };
  if (config.taskType === 'cover' || config.taskType === 'repaint') {
    return { ...base, phases: 'none', reason: `the LM does not run for ${config.taskType}`, chunks: [] };
  }
  const allMetasGiven =
    config.bpm !== null &&
    config.keyScale !== '' &&
    config.timeSignature !== '' &&
    config.audioDuration !== null;
  const metadata = config.useCotMetas && !config.isFormatCaption && !allMetasGiven;
  // Codes only for text2music without user codes: for lego/extract/complete they would replace the source audio.
  const codes = config.taskType === 'text2music' && config.audioCodes.length === 0;
  const phases: LmPhases = metadata ? (codes ? 'metadata+codes' : 'metadata') : codes ? 'codes' : 'none';
  const reason = metadata
    ? 'use_llm_thinking: metadata phase for the fields the request left on auto'
    : `use_llm_thinking: metadata phase skipped (${skipReason(config, allMetasGiven)})`;
  if (phases === 'none') return { ...base, phases, reason: `${reason}; no codes phase`, chunks: [] };
  return {
    ...base,
    phases,
    reason,
    writesCaption: metadata && config.useCotCaption,
    writesLanguage: metadata && config.useCotLanguage && !('language' in forced),
    targetDurationSeconds: codes ? config.audioDuration : null,
    chunks: lmChunks(config.batchSize, config.lmBatchChunkSize, config.allowLmBatch),
  };
}

function skipReason(config: ResolvedConfig, allMetasGiven: boolean): string {
  if (!config.useCotMetas) return 'use_cot_metas is false';
  if (config.isFormatCaption) return 'is_format_caption is true';
  return allMetasGiven ? 'bpm, key_scale, time_signature and audio_duration all given' : 'not needed';
}

/** User metadata the LM writes as given. The language is forced too (the reference never passes it; see README). */
function forcedMetadata(config: ResolvedConfig): LmForcedMetadata {
  const forced: LmForcedMetadata = {};
  if (config.bpm !== null) forced.bpm = config.bpm;
  if (config.audioDuration !== null) forced.duration = Math.trunc(config.audioDuration);
  if (config.keyScale !== '') forced.keyscale = config.keyScale;
  if (config.timeSignature !== '') forced.timesignature = lmTimeSignature(config.timeSignature);
  if (config.vocalLanguage !== 'unknown') forced.language = config.vocalLanguage;
  return forced;
}

function planDuration(config: ResolvedConfig, lm: LmPlan, maxDurationSeconds: number): DurationPlan {
  if (config.audioCodes.length > 0) {
    const longest = Math.max(...config.audioCodes.map((codes) => codes.length));
    return { source: 'codes', seconds: longest / AUDIO_CODES_PER_SECOND };
  }
  if (config.srcAudio !== null && SOURCE_AUDIO_TASKS.has(config.taskType)) return { source: 'source-audio' };
  if (lm.phases === 'codes' || lm.phases === 'metadata+codes') {
    return { source: 'lm-codes', targetSeconds: config.audioDuration };
  }
  if (config.audioDuration !== null) return { source: 'user', seconds: config.audioDuration };
  return { source: 'estimate', seconds: estimateDurationSeconds(config, maxDurationSeconds) };
}

/** Seconds for an instrumental with no duration (the DiT metas' own default, "duration: 30 seconds"). */
export const DEFAULT_DURATION_SECONDS = 30;

/**
 * Our rule when nothing gives the length (no duration, no LM, no codes, no
 * source audio). The reference draws random.uniform(10, 120), which makes the
 * length irreproducible and disagrees with the metas text; we estimate instead:
 * instrumental → 30 s; otherwise 10 s of intro/outro plus two bars per sung line
 * (lines that are not blank and not a [section] tag), at the request's bpm and
 * time signature or 4 s per line when they are auto; rounded, clamped to
 * [30, maxDurationSeconds].
 */
export function estimateDurationSeconds(
  config: Pick<ResolvedConfig, 'lyrics' | 'instrumental' | 'bpm' | 'timeSignature'>,
  maxDurationSeconds: number,
): number {
  const max = Math.min(DURATION_MAX_SECONDS, maxDurationSeconds);
  if (config.instrumental) return Math.min(DEFAULT_DURATION_SECONDS, max);
  const sungLines = config.lyrics
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !/^\[.*\]$/.test(line)).length;
  const beatsPerBar = config.timeSignature === '' ? 4 : Number(lmTimeSignature(config.timeSignature));
  const secondsPerLine = config.bpm === null ? 4 : (2 * beatsPerBar * 60) / config.bpm;
  const seconds = Math.round(10 + sungLines * secondsPerLine);
  return Math.min(max, Math.max(DEFAULT_DURATION_SECONDS, seconds));
}

/** Metadata the LM wrote for one sequence (the LM's field names). */
export interface LmMetadataView {
  bpm?: number | undefined;
  caption?: string | undefined;
  duration?: number | undefined;
  keyscale?: string | undefined;
  language?: string | undefined;
  timesignature?: string | undefined;
}

/** What the DiT conditions one item on. */
export interface DitItemConditioning {
  caption: string;
  lyrics: string;
  vocalLanguage: string;
  metas: {
    bpm: number | null;
    keyScale: string;
    timeSignature: TimeSignature | '';
    durationSeconds: number | null;
  };
}

/**
 * Merges the request with the metadata the LM wrote for this item's chunk.
 * User values win; the LM fills only what the request left on auto
 * (_update_metadata_from_lm), except the caption: with use_cot_caption the LM's
 * rewritten caption replaces the request's, as the reference does. The LM's
 * language reaches the DiT (the reference loses it to a key mismatch; docs/official-behaviour.md "LM phases").
 * LM values outside the vocabularies are dropped.
 */
export function ditConditioning(
  config: ResolvedConfig,
  plan: GenerationPlan,
  lmMetadata: LmMetadataView | null,
): DitItemConditioning {
  const lm = lmMetadata ?? {};
  const lmKey = lm.keyscale === undefined ? null : canonicalKeyScale(lm.keyscale);
  const lmTime = lm.timesignature === undefined ? null : canonicalTimeSignature(lm.timesignature);
  const lmLanguage = lm.language?.trim().toLowerCase();
  const lmCaption = lm.caption?.trim() ?? '';
  return {
    caption: plan.lm.writesCaption && lmCaption !== '' ? lmCaption : config.caption,
    lyrics: config.lyrics,
    vocalLanguage:
      config.vocalLanguage === 'unknown' &&
      plan.lm.writesLanguage &&
      lmLanguage &&
      VOCAL_LANGUAGES.includes(lmLanguage)
        ? lmLanguage
        : config.vocalLanguage,
    metas: {
      bpm: config.bpm ?? validBpm(lm.bpm),
      keyScale: config.keyScale || (lmKey ?? ''),
      timeSignature: config.timeSignature || (lmTime ?? ''),
      durationSeconds:
        config.audioDuration ?? (lm.duration !== undefined && lm.duration > 0 ? lm.duration : null),
    },
  };
}

function validBpm(bpm: number | undefined): number | null {
  return bpm !== undefined && Number.isInteger(bpm) && bpm >= 30 && bpm <= 300 ? bpm : null;
}
