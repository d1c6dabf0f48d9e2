// Overlap-discard tiling, the official scheme for long VAE inputs (docs/official-behaviour.md "VAE tiling"):
// each tile is decoded (or encoded) with `overlap` extra frames on both sides
// for context, and only its core is kept, so memory stays bounded and no
// cross-fade is needed. Tiles cover [0, length) exactly once by their cores.

export interface Tile {
  /** Window actually run through the model, [windowStart, windowEnd). */
  windowStart: number;
  windowEnd: number;
  /** Part of the window kept in the output, [coreStart, coreEnd). */
  coreStart: number;
  coreEnd: number;
}

/**
 * Plans tiles over `length` units (latent frames or samples). A length up to
 * `chunk` is one tile without overlap, as the official code runs it directly.
 */
export function planTiles(length: number, chunk: number, overlap: number): Tile[] {
  if (!Number.isInteger(length) || length < 0)
    throw new RangeError(`length must be an integer >= 0, got ${length}`);
  if (!Number.isInteger(chunk) || chunk < 1)
    throw new RangeError(`chunk must be an integer >= 1, got ${chunk}`);
  const stride = chunk - 2 * overlap;
  if (!Number.isInteger(overlap) || overlap < 0 || stride < 1) {
    throw new RangeError(
      `overlap must be an integer in 0..${Math.floor((chunk - 1) / 2)} for chunk ${chunk}, got ${overlap}`,
    );
  }
  if (length <= chunk) return [{ windowStart: 0, windowEnd: length, coreStart: 0, coreEnd: length }];
  const tiles: Tile[] = [];
  for (let coreStart = 0; coreStart < length; coreStart += stride) {
    const coreEnd = Math.min(coreStart + stride, length);
    tiles.push({
      windowStart: Math.max(0, coreStart - overlap),
      windowEnd: Math.min(length, coreEnd + overlap),
      coreStart,
      coreEnd,
    });
  }
  return tiles;
}
