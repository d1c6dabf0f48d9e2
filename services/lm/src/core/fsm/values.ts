/** The values the constrained decoder may write (spec §4.3, official constants.py). */

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

export const BPM_MIN = 30;
export const BPM_MAX = 300;
export const DURATION_MIN = 10;
/** Default max duration: the "unlimited" GPU tier (spec §8.5); the service may lower it per tier. */
export const DURATION_MAX = 600;
export const VALID_TIME_SIGNATURES = ['2', '3', '4', '6'] as const;

const NOTES = ['A', 'B', 'C', 'D', 'E', 'F', 'G'] as const;
const ACCIDENTALS = ['', '#', 'b', '♯', '♭'] as const;
const MODES = ['major', 'minor'] as const;

/** 70 keyscales: note × accidental × mode, e.g. `F# minor`, `B♭ major`. */
export const VALID_KEYSCALES: readonly string[] = NOTES.flatMap((n) =>
  ACCIDENTALS.flatMap((a) => MODES.map((m) => `${n}${a} ${m}`)),
);

/** The 51 language codes of official `constants.VALID_LANGUAGES`. */
export const VALID_LANGUAGES = [
  'ar',
  'az',
  'bg',
  'bn',
  'ca',
  'cs',
  'da',
  'de',
  'el',
  'en',
  'es',
  'fa',
  'fi',
  'fr',
  'he',
  'hi',
  'hr',
  'ht',
  'hu',
  'id',
  'is',
  'it',
  'ja',
  'ko',
  'la',
  'lt',
  'ms',
  'ne',
  'nl',
  'no',
  'pa',
  'pl',
  'pt',
  'ro',
  'ru',
  'sa',
  'sk',
  'sr',
  'sv',
  'sw',
  'ta',
  'te',
  'th',
  'tl',
  'tr',
  'uk',
  'ur',
  'vi',
  'yue',
  'zh',
  'unknown',
] as const;

export function integerStrings(min: number, max: number): string[] {
  return Array.from({ length: max - min + 1 }, (_, i) => String(min + i));
}

/** Official cap on caption length in tokens (then only a newline is allowed). */
export const MAX_CAPTION_TOKENS = 512;
/** Our cap on free-text genres (the official fallback has none and can run to the token budget). */
export const MAX_GENRES_TOKENS = 128;
