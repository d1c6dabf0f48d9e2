// The one seed rule of the serving stack (docs/model-rules.md, "Seeds"), the
// same at the gateway, the LM and the DiT:
// - a seed is -1 (draw one at random) or an integer from 0 to 2^63 - 1 (the
//   int64 range of every contract, wide enough for any seed the official API
//   takes from a user; the ones it draws itself are below 2^32);
// - drawn seeds lie in [0, 2^32 - 1], as the official API draws them;
// - one fixed seed s for a batch gives item i the seed s + i, wrapping past
//   2^63 - 1 to 0, so a whole batch is reproducible from one number;
// - every stage consumes all 64 bits (seedWords) and reports the seeds it used.
import { getRandomValues } from 'node:crypto';

export const RANDOM_SEED = -1n;
export const SEED_MAX = (1n << 63n) - 1n;
/** Largest seed drawn at random (the official API's `random.randint(0, 2**32 - 1)`). */
export const DRAWN_SEED_MAX = (1n << 32n) - 1n;
/** The allowed values, as error messages state them. */
export const SEED_ALLOWED = `-1 (random) or an integer from 0 to ${SEED_MAX}`;

/** A fresh random seed in [0, 2^32 - 1]. */
export type SeedSource = () => bigint;

export const cryptoSeed: SeedSource = () => BigInt(getRandomValues(new Uint32Array(1))[0] ?? 0);

/** Whether `seed` is in the domain (-1 or 0..2^63 - 1). */
export function isValidSeed(seed: bigint): boolean {
  return seed === RANDOM_SEED || (seed >= 0n && seed <= SEED_MAX);
}

/** The error text for a seed outside the domain, naming the field; null when it is valid. */
export function seedProblem(field: string, seed: bigint): string | null {
  return isValidSeed(seed) ? null : `${field}: ${seed} is not allowed; allowed: ${SEED_ALLOWED}`;
}

/**
 * One seed per item.
 * - `useRandomSeed` true, or `seed` -1: every item gets a fresh random seed.
 * - otherwise item i gets `seed + i` (wrapping past 2^63 - 1 to 0). The
 *   official API gives item 0 the seed and the other items random seeds;
 *   item 0 is the same under both rules.
 */
export function resolveSeeds(
  batchSize: number,
  useRandomSeed: boolean,
  seed: bigint,
  random: SeedSource = cryptoSeed,
): bigint[] {
  if (useRandomSeed || seed === RANDOM_SEED) return Array.from({ length: batchSize }, () => random());
  return Array.from({ length: batchSize }, (_, i) => (seed + BigInt(i)) % (SEED_MAX + 1n));
}

/** A seed as it is used: the given one, or a drawn one for -1. */
export function useSeed(seed: bigint, random: SeedSource = cryptoSeed): bigint {
  return seed === RANDOM_SEED ? random() : seed;
}

/** The seed as two uint32 words (low, high): the key of the Philox noise and of the LM's sampler. */
export function seedWords(seed: bigint): [low: number, high: number] {
  if (seed < 0n || seed > SEED_MAX) throw new RangeError(`seed must be in [0, ${SEED_MAX}], got ${seed}`);
  return [Number(seed & 0xffffffffn), Number(seed >> 32n)];
}

/** `seed_value`: the seeds used, in item order, joined by ", ". */
export function formatSeedValue(seeds: readonly bigint[]): string {
  return seeds.join(', ');
}
