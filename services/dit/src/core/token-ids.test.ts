// padIdRows against upstream's _pad_sequences written out by hand: F.pad(seq, (0, L - len)) pads
// on the right and, for L < len, crops the row's tail.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { padIdRows } from './token-ids.ts';

test('pads to the longest row by default', () => {
  const b = padIdRows([[5, 6, 7], [8]], 0);
  assert.equal(b.len, 3);
  assert.deepEqual(Array.from(b.ids, Number), [5, 6, 7, 8, 0, 0]);
  assert.deepEqual(Array.from(b.mask, Number), [1, 1, 1, 1, 0, 0]);
});

test('cover-strength quirk: a longer non-cover row is cropped to the cover length', () => {
  // Cover prompts of 4 and 3 tokens (L = 4); the text2music prompts tokenize one longer (5, 4),
  // ending in the appended end-of-text 151643, which the first row loses.
  const nonCover = [
    [1, 2, 3, 4, 151643],
    [7, 8, 9, 151643],
  ];
  const b = padIdRows(nonCover, 151643, 4);
  assert.deepEqual(Array.from(b.ids, Number), [1, 2, 3, 4, 7, 8, 9, 151643]);
  assert.deepEqual(Array.from(b.mask, Number), [1, 1, 1, 1, 1, 1, 1, 1]);
  const short = padIdRows([[1, 2]], 9, 4);
  assert.deepEqual(Array.from(short.ids, Number), [1, 2, 9, 9]);
  assert.deepEqual(Array.from(short.mask, Number), [1, 1, 0, 0]);
});
