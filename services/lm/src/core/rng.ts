/**
 * Seeded per-sequence RNG. Portable on purpose (any language can replay it): mulberry32 over a
 * uint32 seed, and uniforms in [0, 1) with 53 random bits from two consecutive outputs:
 *   u = ((a >>> 5) * 2^26 + (b >>> 6)) / 2^53.
 * The official LM is not reproducible at all (vllm ignores seeds); this makes ours so.
 */
import { seedWords } from '@acestep/acestep';

export interface Rng {
  /** Next raw uint32 output. */
  nextUint32(): number;
  /** Next uniform double in [0, 1). */
  nextUniform(): number;
}

export function mulberry32(seed: number): Rng {
  let state = seed >>> 0;
  const nextUint32 = (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
  return {
    nextUint32,
    nextUniform: () => {
      const a = nextUint32() >>> 5;
      const b = nextUint32() >>> 6;
      return (a * 67108864 + b) / 9007199254740992;
    },
  };
}

/**
 * The 32-bit state of a sequence's sampler for a seed of the shared domain (0 .. 2^63 - 1,
 * docs/model-rules.md "Seeds"): low word XOR (high word × 0x9E3779B9). Seeds below 2^32 key
 * the sampler with themselves; the multiply keeps seeds that differ only in the high word
 * (1 and 2^32 + 1) apart.
 */
export function samplerSeed(seed: bigint): number {
  const [low, high] = seedWords(seed);
  return (low ^ Math.imul(high, 0x9e3779b9)) >>> 0;
}
