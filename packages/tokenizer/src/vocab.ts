import { AUDIO_CODE_COUNT } from '@acestep/acestep';

/** Ids fixed by the Qwen3 vocabulary and the ACE-Step LM checkpoint (docs/official-behaviour.md "LM vocabulary"). */
export const SPECIAL_TOKEN_IDS = {
  endOfText: 151643,
  imStart: 151644,
  imEnd: 151645,
  think: 151667,
  thinkEnd: 151668,
  newline: 198,
} as const;
export type SpecialTokenIds = typeof SPECIAL_TOKEN_IDS;

/** First Qwen3 added token (`<|endoftext|>`); every id from here up is an added token. */
export const FIRST_ADDED_TOKEN_ID = 151643;
/** `<|audio_code_N|>` has id AUDIO_CODE_TOKEN_BASE + N. */
export const AUDIO_CODE_TOKEN_BASE = 151669;
/** The checkpoint adds 65,535 code tokens (N = 0..65534)... */
export const AUDIO_CODE_TOKEN_COUNT = 65535;
/** ...but the FSQ codebook has only 64,000 entries (8·8·8·5·5·5): N ≥ 64000 is never valid. */
export const VALID_AUDIO_CODE_COUNT = AUDIO_CODE_COUNT;
export const VOCAB_SIZE = AUDIO_CODE_TOKEN_BASE + AUDIO_CODE_TOKEN_COUNT; // 217,204

export function audioCodeTokenText(code: number): string {
  return `<|audio_code_${code}|>`;
}

export function audioCodeTokenId(code: number): number {
  if (!Number.isInteger(code) || code < 0 || code >= AUDIO_CODE_TOKEN_COUNT) {
    throw new RangeError(`audio code ${code} is outside [0, ${AUDIO_CODE_TOKEN_COUNT})`);
  }
  return AUDIO_CODE_TOKEN_BASE + code;
}

/** The code N of a token id, or undefined when the id is not an audio-code token. */
export function audioCodeFromTokenId(id: number): number | undefined {
  const code = id - AUDIO_CODE_TOKEN_BASE;
  return code >= 0 && code < AUDIO_CODE_TOKEN_COUNT ? code : undefined;
}

/** True for the ids the code phase may emit: codes 0..63999. */
export function isValidAudioCodeTokenId(id: number): boolean {
  return id >= AUDIO_CODE_TOKEN_BASE && id < AUDIO_CODE_TOKEN_BASE + VALID_AUDIO_CODE_COUNT;
}
