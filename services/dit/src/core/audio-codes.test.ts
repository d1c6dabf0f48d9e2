import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import {
  CODEBOOK_SIZE,
  checkAudioCodeCount,
  codesToFrames,
  expectedCodeCount,
  FSQ_BASIS,
  FSQ_LEVELS,
  formatAudioCodes,
  fsqCodesFromIndices,
  fsqIndex,
  fsqLevels,
  parseAudioCodes,
} from './audio-codes.ts';
import { DitInputError } from './errors.ts';

const golden = JSON.parse(readFileSync(new URL('./fixtures/fsq_golden.json', import.meta.url), 'utf8')) as {
  basis: number[];
  indices: number[];
  levels: number[][];
  codes: number[][];
};

const isCodesError = (pattern: RegExp) => (e: unknown) =>
  e instanceof DitInputError &&
  e.field === 'audio_codes' &&
  e.code === 'INVALID_ARGUMENT' &&
  pattern.test(e.message);

test('codebook size is the product of the FSQ levels', () => {
  assert.equal(
    FSQ_LEVELS.reduce((a, b) => a * b, 1),
    CODEBOOK_SIZE,
  );
  assert.deepEqual([...FSQ_BASIS], golden.basis);
});

test('FSQ index ↔ levels ↔ codes match torch float32', () => {
  golden.indices.forEach((index, n) => {
    assert.deepEqual(fsqLevels(index), golden.levels[n]);
    assert.equal(fsqIndex(golden.levels[n]!), index);
  });
  assert.deepEqual(Array.from(fsqCodesFromIndices(golden.indices)), golden.codes.flat());
  assert.throws(() => fsqIndex([8, 0, 0, 0, 0, 0]), RangeError);
});

test('parse <|audio_code_N|> strings and integer lists', () => {
  assert.deepEqual(
    parseAudioCodes('<|audio_code_0|><|audio_code_63999|>\n <|audio_code_12|>'),
    [0, 63999, 12],
  );
  assert.deepEqual(parseAudioCodes(''), []);
  assert.deepEqual(parseAudioCodes([1, 2, 3]), [1, 2, 3]);
  assert.equal(formatAudioCodes([5, 0]), '<|audio_code_5|><|audio_code_0|>');
  assert.deepEqual(parseAudioCodes(formatAudioCodes([9, 8, 7])), [9, 8, 7]);
});

test('bad codes are INVALID_ARGUMENT with the position or range', () => {
  assert.throws(
    () => parseAudioCodes('<|audio_code_64000|>'),
    isCodesError(/code #0 must be an integer in \[0, 63999\]/),
  );
  assert.throws(() => parseAudioCodes('<|audio_code_1|><|audio_code_007|>'), isCodesError(/at character 16/));
  assert.throws(() => parseAudioCodes('<|audio_code_1|>junk'), isCodesError(/found "junk"/));
  assert.throws(() => parseAudioCodes([1, -1]), isCodesError(/code #1/));
  assert.throws(() => parseAudioCodes([1.5]), isCodesError(/code #0/));
});

test('code counts: 5 per second, 5 frames per code', () => {
  assert.equal(expectedCodeCount(30), 150);
  assert.equal(expectedCodeCount(10.39), 51);
  assert.equal(codesToFrames(150), 750);
  checkAudioCodeCount(150, 150);
  assert.throws(() => checkAudioCodeCount(0), isCodesError(/1 to 3000/));
  assert.throws(() => checkAudioCodeCount(3001), isCodesError(/1 to 3000/));
  assert.throws(() => checkAudioCodeCount(149, 150), isCodesError(/149 codes .* needs 150 \(30 s/));
});
