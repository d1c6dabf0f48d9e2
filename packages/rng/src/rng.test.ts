import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { batchNoise, normalNoise, philox4x32, portableLogUnit } from './rng.ts';

interface Golden {
  philox: { counter: [number, number, number, number]; key: [number, number]; out: number[] }[];
  normals: { seed: number; count: number; stream: number; bits: number[] }[];
}
const golden = JSON.parse(
  readFileSync(new URL('./fixtures/rng_golden.json', import.meta.url), 'utf8'),
) as Golden;

function bitsOf(values: Float32Array): number[] {
  return Array.from(new Uint32Array(values.buffer, values.byteOffset, values.length));
}

test('philox4x32-10 matches the Random123 known-answer vectors', () => {
  // Published in Random123's kat_vectors (philox4x32 10 rounds).
  assert.deepEqual(
    Array.from(philox4x32([0, 0, 0, 0], [0, 0])),
    [0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8],
  );
  assert.deepEqual(
    Array.from(philox4x32([0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff], [0xffffffff, 0xffffffff])),
    [0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd],
  );
  assert.deepEqual(
    Array.from(philox4x32([0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344], [0xa4093822, 0x299f31d0])),
    [0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1],
  );
  for (const c of golden.philox) assert.deepEqual(Array.from(philox4x32(c.counter, c.key)), c.out);
});

test('normal noise is bit-identical to the Python reimplementation of the recipe', () => {
  for (const c of golden.normals) {
    assert.deepEqual(
      bitsOf(normalNoise(c.seed, c.count, c.stream)),
      c.bits,
      `seed ${c.seed} stream ${c.stream}`,
    );
  }
});

test('noise streams: prefix-stable, independent per seed and per stream', () => {
  const long = normalNoise(7, 1000);
  assert.deepEqual(bitsOf(normalNoise(7, 333)), bitsOf(long.subarray(0, 333)));
  assert.notDeepEqual(bitsOf(normalNoise(8, 16)), bitsOf(long.subarray(0, 16)));
  assert.notDeepEqual(bitsOf(normalNoise(7, 16, 1)), bitsOf(long.subarray(0, 16)));
  const batch = batchNoise([7, 9], 5, 4);
  assert.deepEqual(bitsOf(batch.subarray(0, 20)), bitsOf(normalNoise(7, 20)));
  assert.deepEqual(bitsOf(batch.subarray(20)), bitsOf(normalNoise(9, 20)));
});

test('noise looks standard normal', () => {
  const z = normalNoise(2024, 100_000);
  let sum = 0;
  let sq = 0;
  for (const v of z) {
    sum += v;
    sq += v * v;
  }
  const mean = sum / z.length;
  const variance = sq / z.length - mean * mean;
  assert.ok(Math.abs(mean) < 0.015, `mean ${mean}`);
  assert.ok(Math.abs(variance - 1) < 0.02, `variance ${variance}`);
});

test('portable ln agrees with Math.log to within a few ulps', () => {
  for (const n of [1, 2, 3, 1000, 123456789, 2 ** 31 + 1, 2 ** 52 + 12345, 2 ** 53]) {
    const exact = Math.log(n / 2 ** 53);
    assert.ok(Math.abs(portableLogUnit(n) - exact) <= 4e-16 * Math.max(1, Math.abs(exact)), `n=${n}`);
  }
});

test('seeds: the whole 64-bit domain keys the noise; numbers and bigints agree', () => {
  assert.deepEqual(bitsOf(normalNoise(7n, 16)), bitsOf(normalNoise(7, 16)));
  // Seeds below 2^53 key exactly as before the domain grew (low word, high word).
  assert.deepEqual(bitsOf(normalNoise(2n ** 40n + 3n, 16)), bitsOf(normalNoise(2 ** 40 + 3, 16)));
  const top = normalNoise((1n << 63n) - 1n, 16);
  assert.notDeepEqual(bitsOf(top), bitsOf(normalNoise((1n << 63n) - 2n, 16)));
  assert.notDeepEqual(bitsOf(normalNoise(1n << 60n, 16)), bitsOf(normalNoise(0n, 16)));
  assert.throws(() => normalNoise(-1, 2), RangeError);
  assert.throws(() => normalNoise(1n << 63n, 2), RangeError);
  assert.throws(() => normalNoise(1.5, 2), RangeError);
});
