/**
 * Seeded, portable standard-normal noise. PyTorch's own streams (CPU mt19937 / CUDA Philox +
 * its Box–Muller variant) are not reproduced — the same seed gives different noise than
 * upstream, as with any non-PyTorch runtime (docs/official-behaviour.md, "Seeds and noise"). What this module guarantees instead is
 * that the same seed gives the same bytes on every machine and in every language that follows
 * the recipe below.
 *
 * Algorithm (reproducible from this comment alone):
 *
 * 1. Bits: Philox4x32-10 (Salmon et al. 2011, Random123), multipliers 0xD2511F53 / 0xCD9E8D57,
 *    Weyl keys 0x9E3779B9 / 0xBB67AE85. Key = (seed mod 2^32, floor(seed / 2^32)) for an
 *    integer seed in [0, 2^63) (the seed domain of docs/model-rules.md). Counter = (block mod 2^32, floor(block / 2^32), stream, 0).
 *    Stream 0 is the initial noise; stream k ≥ 1 is the fresh noise of SDE step k − 1.
 * 2. One block (w0, w1, w2, w3) gives two normals via Box–Muller:
 *      N = (w0 >>> 5)·2^26 + (w1 >>> 6) + 1           ∈ [1, 2^53]   (integer, exact)
 *      u = N / 2^53                                  ∈ (0, 1]
 *      r = sqrt(−2·ln u)
 *      A = (w2 >>> 30) quadrant, F = (w2 & 0x3fffffff)·2^21 + (w3 >>> 11) ∈ [0, 2^51)
 *      θ = 2π·(A/4 + F/2^53)
 *      z[2·block] = r·cos θ,  z[2·block + 1] = r·sin θ,  then rounded to float32.
 *    Element i of an item's [T, 64] noise (row-major, i = frame·64 + channel) is z[i], so a
 *    longer song extends, never changes, the noise of a shorter one with the same seed.
 * 3. ln, sin and cos are NOT the platform's Math functions (ECMAScript leaves their last bits to
 *    the engine). They are computed with IEEE-754 double +, −, ×, ÷ and sqrt only (all
 *    correctly rounded everywhere; no fused multiply-add), in exactly this order:
 *    - ln u: N = m·2^e with m ∈ [1, 2) found by integer ops; if m > SQRT2 (=1.4142135623730951)
 *      then m = m/2, e = e + 1. s = (m − 1)/(m + 1), s2 = s·s,
 *      p = Horner over k = 11 … 0 of 1/(2k + 1): p = p·s2 + 1/(2k+1) starting from p = 0,
 *      ln m = 2·s·p,  ln u = (e − 53)·LN2_HI + ((e − 53)·LN2_LO + ln m)
 *      with LN2_HI = 0.6931471803691238, LN2_LO = 1.9082149292705877e-10.
 *    - θ reduced exactly with integers: φ = F' · (π/2)/2^51 where F' = F if F ≤ 2^50 else
 *      2^51 − F (swapping sin/cos), |φ| ≤ π/4; sin φ = φ·Horner(φ², 1/(2k+1)! signs ±,
 *      k = 0..9), cos φ = Horner(φ², ±1/(2k)!, k = 0..9); coefficients are 1/n! computed as
 *      1 / (n! as an exact integer), each a single correctly rounded division.
 *      Quadrant A rotates (c, s) → A=0: (c, s), 1: (−s, c), 2: (−c, −s), 3: (s, −c).
 * rng.test.ts checks golden bytes, and fixtures/rng_reference.py reimplements this recipe in
 * Python to produce them.
 */

import { seedWords } from '@acestep/acestep';

const PHILOX_M0 = 0xd2511f53;
const PHILOX_M1 = 0xcd9e8d57;
const PHILOX_W0 = 0x9e3779b9;
const PHILOX_W1 = 0xbb67ae85;
const TWO_32 = 4294967296;
const TWO_26 = 67108864;
const TWO_21 = 2097152;
const TWO_50 = 1125899906842624;
const TWO_51 = 2251799813685248;

/** High 32 bits of the 64-bit product of two uint32, from 16-bit halves (all exact in doubles). */
function mulhi32(a: number, b: number): number {
  const aLo = a & 0xffff;
  const aHi = a >>> 16;
  const bLo = b & 0xffff;
  const bHi = b >>> 16;
  const ll = aLo * bLo;
  const lh = aLo * bHi;
  const hl = aHi * bLo;
  const mid = (ll >>> 16) + (lh & 0xffff) + (hl & 0xffff);
  return (aHi * bHi + Math.floor(lh / 65536) + Math.floor(hl / 65536) + Math.floor(mid / 65536)) >>> 0;
}

/** Philox4x32-10 of one counter block; writes 4 uint32 into `out`. */
export function philox4x32(
  counter: readonly [number, number, number, number],
  key: readonly [number, number],
  out: Uint32Array = new Uint32Array(4),
): Uint32Array {
  let c0 = counter[0] >>> 0;
  let c1 = counter[1] >>> 0;
  let c2 = counter[2] >>> 0;
  let c3 = counter[3] >>> 0;
  let k0 = key[0] >>> 0;
  let k1 = key[1] >>> 0;
  for (let round = 0; round < 10; round++) {
    if (round > 0) {
      k0 = (k0 + PHILOX_W0) >>> 0;
      k1 = (k1 + PHILOX_W1) >>> 0;
    }
    const hi0 = mulhi32(PHILOX_M0, c0);
    const lo0 = Math.imul(PHILOX_M0, c0) >>> 0;
    const hi1 = mulhi32(PHILOX_M1, c2);
    const lo1 = Math.imul(PHILOX_M1, c2) >>> 0;
    c0 = (hi1 ^ c1 ^ k0) >>> 0;
    c1 = lo1;
    c2 = (hi0 ^ c3 ^ k1) >>> 0;
    c3 = lo0;
  }
  out[0] = c0;
  out[1] = c1;
  out[2] = c2;
  out[3] = c3;
  return out;
}

const SQRT2 = Math.SQRT2; // 1.4142135623730951
const LN2_HI = 0.6931471803691238;
const LN2_LO = 1.9082149292705877e-10;
const LOG_TERMS = 12;
const TRIG_TERMS = 10;
const HALF_PI_OVER_2_51 = 1.5707963267948966 / TWO_51;

function inverseFactorials(count: number): number[] {
  const out: number[] = [];
  let factorial = 1;
  for (let n = 0; n < count; n++) {
    // Exact: every n! up to 22! fits a double (its odd part stays below 2^53).
    if (n > 0) factorial *= n;
    out.push(1 / factorial);
  }
  return out;
}
const INV_FACTORIAL = inverseFactorials(2 * TRIG_TERMS);
/** 2^0 … 2^53 by doubling (exact), rather than trusting the engine's `**`. */
const POW2 = Array.from({ length: 54 }, (_, e) => {
  let p = 1;
  for (let i = 0; i < e; i++) p *= 2;
  return p;
});
const LOG_COEFFS = Array.from({ length: LOG_TERMS }, (_, k) => 1 / (2 * k + 1));

/** Floor of log2 of an integer in [1, 2^53], by integer ops only. */
function floorLog2(n: number): number {
  const hi = Math.floor(n / TWO_32);
  return hi > 0 ? 63 - Math.clz32(hi) : 31 - Math.clz32(n >>> 0);
}

/** ln(n / 2^53) for an integer n in [1, 2^53]; deterministic (see header). */
export function portableLogUnit(n: number): number {
  let e = floorLog2(n);
  let m = n / POW2[e]!; // exact: division by a power of two
  if (m > SQRT2) {
    m /= 2;
    e += 1;
  }
  const s = (m - 1) / (m + 1);
  const s2 = s * s;
  let p = 0;
  for (let k = LOG_TERMS - 1; k >= 0; k--) p = p * s2 + LOG_COEFFS[k]!;
  const lnM = 2 * s * p;
  const k = e - 53;
  return k * LN2_HI + (k * LN2_LO + lnM);
}

/** sin and cos of φ ∈ [0, π/4]; deterministic (see header). */
function sinCosSmall(phi: number): [number, number] {
  const p2 = phi * phi;
  let sin = 0;
  let cos = 0;
  for (let k = TRIG_TERMS - 1; k >= 0; k--) {
    const sign = k % 2 === 0 ? 1 : -1;
    sin = sin * p2 + sign * INV_FACTORIAL[2 * k + 1]!;
    cos = cos * p2 + sign * INV_FACTORIAL[2 * k]!;
  }
  return [phi * sin, cos];
}

/** cos/sin of 2π·(quadrant/4 + frac/2^53), frac ∈ [0, 2^51). */
function sinCosTurn(quadrant: number, frac: number): [number, number] {
  const swap = frac > TWO_50;
  const [s0, c0] = sinCosSmall((swap ? TWO_51 - frac : frac) * HALF_PI_OVER_2_51);
  const s = swap ? c0 : s0;
  const c = swap ? s0 : c0;
  switch (quadrant) {
    case 0:
      return [c, s];
    case 1:
      return [-s, c];
    case 2:
      return [-c, -s];
    default:
      return [s, -c];
  }
}

/**
 * `count` standard normals (float32) of the stream (seed, stream), starting at element 0.
 * Stream 0 = initial noise; stream k ≥ 1 = SDE noise of step k − 1.
 */
export function normalNoise(
  seed: bigint | number,
  count: number,
  stream = 0,
  out?: Float32Array,
): Float32Array {
  if (typeof seed === 'number' && !Number.isSafeInteger(seed)) {
    throw new RangeError(`seed must be an integer, got ${seed}`);
  }
  const key = seedWords(BigInt(seed));
  const result = out ?? new Float32Array(count);
  const words = new Uint32Array(4);
  const counter: [number, number, number, number] = [0, 0, stream >>> 0, 0];
  const blocks = Math.ceil(count / 2);
  for (let block = 0; block < blocks; block++) {
    counter[0] = block % TWO_32;
    counter[1] = Math.floor(block / TWO_32);
    philox4x32(counter, key, words);
    const n = (words[0]! >>> 5) * TWO_26 + (words[1]! >>> 6) + 1;
    const radius = Math.sqrt(-2 * portableLogUnit(n));
    const frac = (words[2]! & 0x3fffffff) * TWO_21 + (words[3]! >>> 11);
    const [c, s] = sinCosTurn(words[2]! >>> 30, frac);
    result[2 * block] = radius * c;
    if (2 * block + 1 < count) result[2 * block + 1] = radius * s;
  }
  return result;
}

/** Noise for a batch: item b gets its own stream from seeds[b], laid out [B, frames, channels]. */
export function batchNoise(
  seeds: readonly (bigint | number)[],
  frames: number,
  channels: number,
  stream = 0,
): Float32Array {
  const perItem = frames * channels;
  const out = new Float32Array(seeds.length * perItem);
  seeds.forEach((seed, b) => {
    normalNoise(seed, perItem, stream, out.subarray(b * perItem, (b + 1) * perItem));
  });
  return out;
}
