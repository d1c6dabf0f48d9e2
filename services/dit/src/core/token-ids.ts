/**
 * Right-padding of token id rows into one [B, L] batch, as upstream's `_pad_sequences`
 * (`F.pad(seq, (0, L − len(seq)), value=pad)`). A row longer than L is *cropped* to L, because a
 * negative pad width crops — the cover-strength quirk: the non-cover caption prompts are padded
 * to the cover prompts' length L, and the text2music instruction tokenizes one token longer
 * than cover's, so their final token (the appended end-of-text) is cut (docs/model-contract.md).
 */

export interface IdBatch {
  /** [B, L] int64, pad where a row is shorter. */
  ids: BigInt64Array;
  /** [B, L] 1 = real token. */
  mask: BigInt64Array;
  len: number;
}

/** L = `length` when given (rows cropped or padded to it), else the longest row. */
export function padIdRows(rows: readonly (readonly number[])[], pad: number, length?: number): IdBatch {
  const len = length ?? Math.max(...rows.map((r) => r.length));
  const ids = new BigInt64Array(rows.length * len).fill(BigInt(pad));
  const mask = new BigInt64Array(rows.length * len);
  rows.forEach((row, b) => {
    row.slice(0, len).forEach((id, i) => {
      ids[b * len + i] = BigInt(id);
      mask[b * len + i] = 1n;
    });
  });
  return { ids, mask, len };
}
