/**
 * Which LM phases run and with what user metadata (docs/official-behaviour.md "LM phases").
 */
import { AUDIO_CODES_PER_SECOND } from '@acestep/acestep';
import type { UserMetadata } from './fsm/state.ts';

/** Codes per second of audio: the LM emits 5 Hz codes. */
export const CODES_PER_SECOND = AUDIO_CODES_PER_SECOND;

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

/** Phase 1 is skipped when bpm, keyscale, timesignature and duration are all given (language is not needed). */
export function hasAllMetas(meta: UserMetadata | undefined): boolean {
  return meta !== undefined && ['bpm', 'keyscale', 'timesignature', 'duration'].every((k) => k in meta);
}
