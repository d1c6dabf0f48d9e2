/**
 * 5 Hz audio codes (docs/model-rules.md, "Audio codes"): parsing `<|audio_code_N|>` strings or integer
 * lists, and the FSQ index ↔ per-level code math (levels [8,8,8,5,5,5], codebook 64 000,
 * dimension 0 least significant). `project_out` and the detokenizer are model graphs, not here.
 */

import {
  AUDIO_CODE_COUNT,
  AUDIO_CODES_PER_SECOND,
  AudioCodeSyntaxError,
  audioCodeProblem,
  FRAMES_PER_AUDIO_CODE,
  MAX_AUDIO_CODES,
  parseAudioCodes as parseCodeString,
} from '@acestep/acestep';
import { invalid } from './errors.ts';

export { formatAudioCodes, MAX_AUDIO_CODE, MAX_AUDIO_CODES } from '@acestep/acestep';

export const FSQ_LEVELS = [8, 8, 8, 5, 5, 5] as const;
export const FSQ_DIM = FSQ_LEVELS.length;
/** cumprod([1, 8, 8, 8, 5, 5]). */
export const FSQ_BASIS = [1, 8, 64, 512, 2560, 12800] as const;
export const CODEBOOK_SIZE = AUDIO_CODE_COUNT;
export const CODES_PER_SECOND = AUDIO_CODES_PER_SECOND;
/** One code covers 5 latent frames (25 Hz → 5 Hz pooling), 0.2 s, 9600 samples. */
export const FRAMES_PER_CODE = FRAMES_PER_AUDIO_CODE;

/**
 * Codes from a string of `<|audio_code_N|>` tokens (the one parser of @acestep/acestep) or
 * from integers; any problem is an INVALID_ARGUMENT naming `field`.
 */
export function parseAudioCodes(input: string | readonly number[], field = 'audio_codes'): number[] {
  if (typeof input !== 'string') {
    input.forEach((code, i) => {
      checkCode(field, code, i);
    });
    return [...input];
  }
  try {
    return parseCodeString(input);
  } catch (error) {
    if (error instanceof AudioCodeSyntaxError) throw invalid(field, error.message);
    throw error;
  }
}

function checkCode(field: string, code: number, index: number): void {
  const problem = audioCodeProblem(code, index);
  if (problem) throw invalid(field, problem);
}

/** Codes the LM writes for a duration: int(duration · 5). */
export function expectedCodeCount(durationSeconds: number): number {
  return Math.trunc(durationSeconds * CODES_PER_SECOND);
}

/** Latent frames the codes decode to: 5 per code. */
export function codesToFrames(count: number): number {
  return count * FRAMES_PER_CODE;
}

/**
 * Count check: 1 … 3000 codes; with `expected` (e.g. from a requested duration) the count must
 * match it exactly.
 */
export function checkAudioCodeCount(count: number, expected?: number, field = 'audio_codes'): void {
  if (count < 1 || count > MAX_AUDIO_CODES) {
    throw invalid(field, `must hold 1 to ${MAX_AUDIO_CODES} codes (5 per second, ≤ 600 s), got ${count}`);
  }
  if (expected !== undefined && count !== expected) {
    const seconds = expected / CODES_PER_SECOND;
    throw invalid(
      field,
      `has ${count} codes but the target length needs ${expected} (${seconds} s at 5 codes/s)`,
    );
  }
}

/** Per-dimension levels of an index: level_d = floor(index / basis_d) mod L_d. */
export function fsqLevels(index: number): number[] {
  return FSQ_LEVELS.map((levels, d) => Math.floor(index / FSQ_BASIS[d]!) % levels);
}

/** Index of per-dimension levels: Σ level_d · basis_d. */
export function fsqIndex(levels: readonly number[]): number {
  if (levels.length !== FSQ_DIM)
    throw new RangeError(`fsqIndex: need ${FSQ_DIM} levels, got ${levels.length}`);
  let index = 0;
  levels.forEach((level, d) => {
    const max = FSQ_LEVELS[d]! - 1;
    if (!Number.isInteger(level) || level < 0 || level > max) {
      throw new RangeError(`fsqIndex: level ${d} must be an integer in [0, ${max}], got ${level}`);
    }
    index += level * FSQ_BASIS[d]!;
  });
  return index;
}

/**
 * Code value of a level: level·(2/(L − 1)) − 1 ∈ [−1, 1] (FSQ with preserve_symmetry), with
 * float32 rounding at each step as vector-quantize-pytorch computes it.
 */
export function fsqCodeValue(level: number, levels: number): number {
  return Math.fround(Math.fround(level * Math.fround(2 / (levels - 1))) - 1);
}

/**
 * `quantizer.get_codes_from_indices` for one quantizer: [N] indices → [N, 6] float32 codes,
 * the input of `project_out` (Linear 6 → 2048).
 */
export function fsqCodesFromIndices(indices: readonly number[]): Float32Array {
  const out = new Float32Array(indices.length * FSQ_DIM);
  indices.forEach((index, n) => {
    checkCode('audio_codes', index, n);
    fsqLevels(index).forEach((level, d) => {
      out[n * FSQ_DIM + d] = fsqCodeValue(level, FSQ_LEVELS[d]!);
    });
  });
  return out;
}
