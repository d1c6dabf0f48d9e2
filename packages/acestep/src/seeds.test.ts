import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  cryptoSeed,
  formatSeedValue,
  isValidSeed,
  resolveSeeds,
  SEED_MAX,
  seedProblem,
  seedWords,
  useSeed,
} from './seeds.ts';

/** A seed source that counts its calls: 1000, 1001, ... */
function counter() {
  let next = 1000n;
  return () => next++;
}

describe('resolveSeeds', () => {
  it('a fixed seed s gives item i the seed s + i', () => {
    assert.deepEqual(resolveSeeds(3, false, 42n, counter()), [42n, 43n, 44n]);
    assert.deepEqual(resolveSeeds(1, false, 0n, counter()), [0n]);
  });

  it('wraps past the largest int64 to 0', () => {
    const max = (1n << 63n) - 1n;
    assert.deepEqual(resolveSeeds(3, false, max - 1n, counter()), [max - 1n, max, 0n]);
  });

  it('draws a random seed per item when use_random_seed is true, whatever the seed', () => {
    assert.deepEqual(resolveSeeds(3, true, 42n, counter()), [1000n, 1001n, 1002n]);
  });

  it('draws random seeds for seed -1', () => {
    assert.deepEqual(resolveSeeds(2, false, -1n, counter()), [1000n, 1001n]);
  });

  it('crypto seeds lie in [0, 2^32 - 1] and differ', () => {
    const seeds = resolveSeeds(8, true, -1n);
    assert.equal(seeds.length, 8);
    for (const seed of seeds) assert.ok(seed >= 0n && seed <= 0xffffffffn, String(seed));
    // Eight equal 32-bit draws would happen with probability 2^-224.
    assert.ok(new Set(seeds).size > 1);
    assert.equal(typeof cryptoSeed(), 'bigint');
  });
});

describe('formatSeedValue', () => {
  it('joins the seeds with ", " in item order', () => {
    assert.equal(formatSeedValue([42n, 43n, 4294967295n]), '42, 43, 4294967295');
    assert.equal(formatSeedValue([7n]), '7');
  });
});

describe('the seed domain', () => {
  it('is -1 or 0 .. 2^63 - 1', () => {
    for (const ok of [-1n, 0n, 1n, 2n ** 32n, 2n ** 53n + 1n, 2n ** 60n, SEED_MAX])
      assert.ok(isValidSeed(ok), String(ok));
    for (const bad of [-2n, SEED_MAX + 1n, -(2n ** 63n)]) assert.ok(!isValidSeed(bad), String(bad));
    assert.equal(seedProblem('seed', 2n ** 60n), null);
    assert.match(
      seedProblem('items[0].seed', -2n) ?? '',
      /^items\[0\]\.seed: -2 is not allowed; allowed: -1 \(random\)/,
    );
  });

  it('useSeed keeps a given seed and draws one for -1', () => {
    assert.equal(useSeed(2n ** 60n, counter()), 2n ** 60n);
    assert.equal(useSeed(-1n, counter()), 1000n);
  });

  it('seedWords splits all 64 bits into (low, high)', () => {
    assert.deepEqual(seedWords(42n), [42, 0]);
    assert.deepEqual(seedWords(2n ** 60n + 5n), [5, 2 ** 28]);
    assert.deepEqual(seedWords(SEED_MAX), [0xffffffff, 0x7fffffff]);
    assert.throws(() => seedWords(-1n), RangeError);
  });
});
