/**
 * Seeded per-sequence RNG. Portable on purpose (any language can replay it): mulberry32 over a
 * uint32 seed, and uniforms in [0, 1) with 53 random bits from two consecutive outputs:
 *   u = ((a >>> 5) * 2^26 + (b >>> 6)) / 2^53.
 * The official LM is not reproducible at all (vllm ignores seeds, spec §5.5); this makes ours so.
 */
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

/** Seeds outside uint32 (negative, fractional, ≥ 2^32) are reduced modulo 2^32 after truncation. */
export function normalizeSeed(seed: number): number {
  if (!Number.isFinite(seed)) throw new RangeError(`seed ${seed} is not finite`);
  return Number(BigInt.asUintN(32, BigInt(Math.trunc(seed))));
}
