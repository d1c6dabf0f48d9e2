/**
 * Audio-code strings as the DiT consumes them (spec §2.7): `<|audio_code_N|>` concatenated with
 * no separator; parsing clamps to the 64,000-entry codebook like the official DiT handler.
 */
import { audioCodeFromTokenId, VALID_AUDIO_CODE_COUNT } from '@acestep/tokenizer';

/** Code values of the audio-code token ids in `tokenIds` (other ids are skipped). */
export function audioCodesFromTokenIds(tokenIds: readonly number[]): number[] {
  const codes: number[] = [];
  for (const id of tokenIds) {
    const code = audioCodeFromTokenId(id);
    if (code !== undefined) codes.push(code);
  }
  return codes;
}

export function formatAudioCodeString(codes: readonly number[]): string {
  return codes.map((c) => `<|audio_code_${c}|>`).join('');
}

/** Every `<|audio_code_N|>` in order, clamped to [0, 63999]. */
export function parseAudioCodeString(text: string): number[] {
  return [...text.matchAll(/<\|audio_code_(\d+)\|>/g)].map((m) =>
    Math.min(VALID_AUDIO_CODE_COUNT - 1, Math.max(0, Number.parseInt(m[1]!, 10))),
  );
}
