/** The values the constrained decoder may write (docs/model-rules.md, "Vocabulary"). */
import {
  BPM_MAX as ACESTEP_BPM_MAX,
  BPM_MIN as ACESTEP_BPM_MIN,
  DURATION_MAX_SECONDS,
  DURATION_MIN_SECONDS,
  KEY_SCALES,
  lmTimeSignature,
  TIME_SIGNATURES,
  VOCAL_LANGUAGES,
} from '@acestep/acestep';

export const FIELD_ORDER = [
  'bpm',
  'caption',
  'duration',
  'genres',
  'keyscale',
  'language',
  'timesignature',
] as const;
export type FieldName = (typeof FIELD_ORDER)[number];

// The value lists and ranges are the model's vocabulary (@acestep/acestep); the LM writes the
// time signature as its numerator only ("6" for 6/8).
export const BPM_MIN = ACESTEP_BPM_MIN;
export const BPM_MAX = ACESTEP_BPM_MAX;
export const DURATION_MIN = DURATION_MIN_SECONDS;
/** Default max duration (the longest song); the service may lower it per tier. */
export const DURATION_MAX = DURATION_MAX_SECONDS;
export const VALID_TIME_SIGNATURES: readonly string[] = TIME_SIGNATURES.map(lmTimeSignature);

/** 70 keyscales: note × accidental × mode, e.g. `F# minor`, `B♭ major`. */
export const VALID_KEYSCALES: readonly string[] = KEY_SCALES;

/** The 51 language codes the LM may write ("unknown" included). */
export const VALID_LANGUAGES: readonly string[] = VOCAL_LANGUAGES;

export function integerStrings(min: number, max: number): string[] {
  return Array.from({ length: max - min + 1 }, (_, i) => String(min + i));
}

/** Official cap on caption length in tokens (then only a newline is allowed). */
export const MAX_CAPTION_TOKENS = 512;
/** Our cap on free-text genres (the official fallback has none and can run to the token budget). */
export const MAX_GENRES_TOKENS = 128;
