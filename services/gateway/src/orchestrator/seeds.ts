// Seeds per batch item and the seed_value text (acestep-lm-api.md §5.5,
// acestep-dit-vae.md §4.4).
import { getRandomValues } from 'node:crypto';

/** A fresh random seed in [0, 2^32 − 1], as the reference's `random.randint(0, 2**32 - 1)`. */
export type SeedSource = () => bigint;

export const cryptoSeed: SeedSource = () => BigInt(getRandomValues(new Uint32Array(1))[0] ?? 0);

const INT64_RANGE = 1n << 63n;

/**
 * One seed per item.
 * - `useRandomSeed` true, or `seed` −1: every item gets a fresh random seed.
 * - otherwise item i gets `seed + i` (wrapping past 2^63 − 1 to 0), so the
 *   whole batch is reproducible. The reference gives item 0 the seed and the
 *   other items random seeds; item 0 is the same under both rules.
 */
export function resolveSeeds(
  batchSize: number,
  useRandomSeed: boolean,
  seed: bigint,
  random: SeedSource = cryptoSeed,
): bigint[] {
  if (useRandomSeed || seed < 0n) return Array.from({ length: batchSize }, () => random());
  return Array.from({ length: batchSize }, (_, i) => (seed + BigInt(i)) % INT64_RANGE);
}

/** `seed_value`: the seeds used, in item order, joined by ", " (the DiT's "s0, s1" form). */
export function formatSeedValue(seeds: readonly bigint[]): string {
  return seeds.join(', ');
}
