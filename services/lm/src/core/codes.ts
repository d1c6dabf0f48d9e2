/** Audio codes from the LM's token ids; the code-string syntax lives in @acestep/acestep. */
import { audioCodeFromTokenId } from '@acestep/tokenizer';

/** Code values of the audio-code token ids in `tokenIds` (other ids are skipped). */
export function audioCodesFromTokenIds(tokenIds: readonly number[]): number[] {
  const codes: number[] = [];
  for (const id of tokenIds) {
    const code = audioCodeFromTokenId(id);
    if (code !== undefined) codes.push(code);
  }
  return codes;
}
