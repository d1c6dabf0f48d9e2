// The 5 Hz audio-code syntax and its one parser (docs/model-rules.md, "Audio
// codes"): `<|audio_code_N|>` tokens with N in 0..63 999, written without
// leading zeros (`<|audio_code_007|>` is plain text to the LM's tokenizer),
// optionally separated by whitespace; nothing else. The official handler
// extracts any digits with a regex and clamps them; we refuse instead, so a
// typo is an error naming the field rather than different music.
import { AUDIO_CODE_COUNT } from './constants.ts';

export const MAX_AUDIO_CODE = AUDIO_CODE_COUNT - 1;

/** A string that is not a sequence of audio-code tokens; `message` says where and why. */
export class AudioCodeSyntaxError extends Error {
  override readonly name = 'AudioCodeSyntaxError';
}

const CODE_TOKEN = /<\|audio_code_(0|[1-9]\d*)\|>/y;
const WHITESPACE = /\s*/y;

/** Codes of a token string ("" and whitespace give []). Throws AudioCodeSyntaxError. */
export function parseAudioCodes(text: string): number[] {
  const codes: number[] = [];
  let pos = 0;
  for (;;) {
    WHITESPACE.lastIndex = pos;
    WHITESPACE.exec(text);
    pos = WHITESPACE.lastIndex;
    if (pos >= text.length) return codes;
    CODE_TOKEN.lastIndex = pos;
    const match = CODE_TOKEN.exec(text);
    if (!match) {
      const near = JSON.stringify(text.slice(pos, pos + 24));
      throw new AudioCodeSyntaxError(`expected <|audio_code_N|> at character ${pos}, found ${near}`);
    }
    const code = Number(match[1]);
    const problem = audioCodeProblem(code, codes.length);
    if (problem) throw new AudioCodeSyntaxError(problem);
    codes.push(code);
    pos = CODE_TOKEN.lastIndex;
  }
}

/** Why `code` (the index-th) is not an audio code, or null when it is one. */
export function audioCodeProblem(code: number, index: number): string | null {
  if (Number.isInteger(code) && code >= 0 && code <= MAX_AUDIO_CODE) return null;
  return `code #${index} must be an integer in [0, ${MAX_AUDIO_CODE}], got ${String(code)}`;
}

export function formatAudioCodes(codes: readonly number[]): string {
  return codes.map((c) => `<|audio_code_${c}|>`).join('');
}
