/**
 * Which LM phases run and with what user metadata (docs/official-behaviour.md "LM phases").
 */
import type { UserMetadata } from './fsm/state.ts';

/** Codes per second of audio: the LM emits 5 Hz codes. */
export const CODES_PER_SECOND = 5;

/** `target_codes = int(duration * 5)`; undefined when there is no positive duration. */
export function targetCodesForDuration(durationSeconds: number | undefined): number | undefined {
  if (durationSeconds === undefined || !(durationSeconds > 0)) return undefined;
  return Math.trunc(durationSeconds * CODES_PER_SECOND);
}

/** Official vllm backend: `max_tokens = max_model_len − 64` when no duration is known. */
export const MAX_TOKENS_MARGIN = 64;

/**
 * How many codes phase 2 writes at most. With the user's duration: exactly `int(duration × 5)`
 * (EOS banned before, forced at it). Without one the model decides: EOS is free at every step and
 * the official cap applies — `max_model_len − 64` new tokens, and never past the context
 * (`max_model_len − prompt`). The CoT's duration does not set the count (docs/model-contract.md).
 */
export function codeLimit(input: {
  readonly targetCodes: number | undefined;
  readonly maxModelLen: number;
  readonly promptTokens: number;
}): number {
  if (input.targetCodes !== undefined) return input.targetCodes;
  return Math.max(0, Math.min(input.maxModelLen - MAX_TOKENS_MARGIN, input.maxModelLen - input.promptTokens));
}

export interface UserMetaInput {
  readonly bpm?: number | undefined;
  readonly keyscale?: string | undefined;
  readonly timesignature?: string | undefined;
  readonly durationSeconds?: number | undefined;
}

/**
 * generate_music's `user_metadata`: bpm and duration as int(float(x)) when > 0,
 * keyscale / timesignature stripped unless empty or `n/a`. Undefined when nothing is given.
 */
export function buildUserMetadata(input: UserMetaInput): UserMetadata | undefined {
  const meta: UserMetadata = {};
  if (input.bpm !== undefined && input.bpm > 0) meta.bpm = Math.trunc(input.bpm);
  const ks = input.keyscale?.trim();
  if (ks && ks.toLowerCase() !== 'n/a') meta.keyscale = ks;
  const ts = input.timesignature?.trim();
  if (ts && ts.toLowerCase() !== 'n/a') meta.timesignature = ts;
  if (input.durationSeconds !== undefined && input.durationSeconds > 0)
    meta.duration = Math.trunc(input.durationSeconds);
  return Object.keys(meta).length > 0 ? meta : undefined;
}

/** Phase 1 is skipped when bpm, keyscale, timesignature and duration are all given (language is not needed). */
export function hasAllMetas(meta: UserMetadata | undefined): boolean {
  return meta !== undefined && ['bpm', 'keyscale', 'timesignature', 'duration'].every((k) => k in meta);
}

export interface PhasePlanInput {
  readonly userMetadata: UserMetadata | undefined;
  /** Gates Phase 1 (GenerationParams.use_cot_metas). */
  readonly useCotMetas: boolean;
  /** Gates Phase 2 (GenerationParams.thinking). */
  readonly thinking: boolean;
  /** Codes given by the user: no Phase 2. */
  readonly hasUserAudioCodes: boolean;
}

export interface PhasePlan {
  readonly runPhase1: boolean;
  readonly runPhase2: boolean;
}

/** Phase 1 iff not all metas and use_cot_metas; Phase 2 iff thinking and no user codes. */
export function planPhases(input: PhasePlanInput): PhasePlan {
  return {
    runPhase1: !hasAllMetas(input.userMetadata) && input.useCotMetas,
    runPhase2: input.thinking && !input.hasUserAudioCodes,
  };
}
