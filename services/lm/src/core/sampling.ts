/**
 * Host-side sampling for the LM: CFG mixing, repetition penalty, temperature, top-k, top-p and a
 * seeded draw. Never sorts the whole vocabulary: top-k uses a bounded heap, top-p a histogram
 * threshold followed by a sort of the nucleus only (see notes/lm-decode-probe.md).
 *
 * Order (vLLM / HF `generate`): temperature → top-k → top-p → draw. With top-k or top-p the draw
 * walks the kept tokens in descending probability (ties: lower id first), which is what the
 * in-graph K-step sampler does; without them it walks the candidates in id order.
 */
import type { Rng } from './rng.ts';

export interface SamplingParams {
  /** ≤ 0 means greedy (argmax). */
  readonly temperature: number;
  /** 0 = off. */
  readonly topK: number;
  /** undefined, ≤ 0 or ≥ 1 = off. */
  readonly topP: number | undefined;
}

/** Which token ids may be drawn. `range` is [lo, hi) plus an optional extra id (EOS in the code phase). */
export type Candidates =
  | { readonly kind: 'all' }
  | { readonly kind: 'ids'; readonly ids: readonly number[] }
  | { readonly kind: 'range'; readonly lo: number; readonly hi: number; readonly extra?: number };

export const ALL_CANDIDATES: Candidates = { kind: 'all' };

/**
 * Classifier-free guidance on raw logits, in float32 like the official PT path:
 * out = uncond + scale · (cond − uncond). `out` may alias `cond`. Only [lo, hi) is written.
 */
export function mixCfg(
  cond: Float32Array,
  uncond: Float32Array,
  scale: number,
  out: Float32Array,
  lo = 0,
  hi = cond.length,
): Float32Array {
  const s = Math.fround(scale);
  for (let i = lo; i < hi; i++) {
    const u = uncond[i]!;
    out[i] = u + Math.fround(s * Math.fround(cond[i]! - u));
  }
  return out;
}

/**
 * HF `RepetitionPenaltyLogitsProcessor`: each distinct previous token's logit is divided by the
 * penalty when positive and multiplied when negative. In place; penalty 1 is a no-op.
 */
export function applyRepetitionPenalty(
  logits: Float32Array,
  previous: Iterable<number>,
  penalty: number,
): void {
  if (penalty === 1) return;
  const seen = new Set<number>();
  for (const id of previous) {
    if (seen.has(id) || id < 0 || id >= logits.length) continue;
    seen.add(id);
    const x = logits[id]!;
    logits[id] = x < 0 ? x * penalty : x / penalty;
  }
}

/** A distribution over token ids: `ids[i]` has unnormalised weight `weights[i]`, i < count. */
export interface Distribution {
  readonly ids: Int32Array;
  readonly weights: Float64Array;
  readonly count: number;
  readonly total: number;
}

const HISTOGRAM_BINS = 4096;
/** Logits this far below the max carry < e^-40 of the max's weight; they share the lowest bin. */
const HISTOGRAM_SPAN = 40;

/**
 * The head of a masked distribution, as a graph can return it instead of the whole row: the
 * `count` best candidates sorted by value desc, id asc (raw logits, before temperature), and
 * `total` = Σ exp(x/t − max/t) over every candidate (float64), the top-p normaliser.
 * Entries past the last candidate are −∞.
 */
export interface SortedHead {
  readonly values: Float32Array;
  readonly ids: Int32Array;
  readonly count: number;
  readonly total: number;
}

/** Reusable scratch buffers for one vocabulary size; one sampler per decode loop (not thread-shared). */
export class TokenSampler {
  readonly #ids: Int32Array;
  readonly #weights: Float64Array;
  readonly #scaled: Float64Array;
  readonly #binMass = new Float64Array(HISTOGRAM_BINS);
  readonly #binStart = new Int32Array(HISTOGRAM_BINS + 1);
  readonly #bins: Uint16Array;
  readonly #tmpIds: Int32Array;
  readonly #tmpValues: Float64Array;
  readonly #tmpWeights: Float64Array;
  /** Weight of all candidates (relative to their max) when top-p runs without top-k. */
  #candidateTotal = 0;

  constructor(vocabSize: number) {
    this.#ids = new Int32Array(vocabSize);
    this.#weights = new Float64Array(vocabSize);
    this.#scaled = new Float64Array(vocabSize);
    this.#bins = new Uint16Array(vocabSize);
    this.#tmpIds = new Int32Array(vocabSize);
    this.#tmpValues = new Float64Array(vocabSize);
    this.#tmpWeights = new Float64Array(vocabSize);
  }

  /** Draws one token. Throws when no candidate has a finite logit. */
  sample(
    logits: Float32Array,
    params: SamplingParams,
    rng: Rng,
    candidates: Candidates = ALL_CANDIDATES,
  ): number {
    if (params.temperature <= 0) return argmax(logits, candidates);
    const plain = !(params.topK > 0) && !(params.topP !== undefined && params.topP > 0 && params.topP < 1);
    if (plain && candidates.kind !== 'ids')
      return this.#sampleContiguous(logits, params.temperature, rng, candidates);
    const d = this.distribution(logits, params, candidates);
    const target = rng.nextUniform() * d.total;
    let acc = 0;
    for (let i = 0; i < d.count; i++) {
      acc += d.weights[i]!;
      if (acc > target) return d.ids[i]!;
    }
    return d.ids[d.count - 1]!;
  }

  /**
   * The draw `sample` makes on the full row, from its sorted head only; undefined when the head
   * cannot decide it (plain multinomial walks every candidate in id order; a top-k beyond the head;
   * a top-p nucleus beyond it). Same arithmetic as `distribution` + the walk: weights
   * exp(x/t − max/t) in the head's order, top-k totals summed in that order, the top-p cut against
   * `head.total`. Draws one uniform only when it decides.
   */
  sampleHead(head: SortedHead, params: SamplingParams, rng: Rng): number | undefined {
    let n = 0;
    while (n < head.count && head.values[n]! > Number.NEGATIVE_INFINITY) n++;
    if (n === 0) throw new Error('no candidate token has a finite logit');
    if (params.temperature <= 0) return head.ids[0]!;
    // All candidates are in the head when it ends before its length (the rest are −∞).
    const complete = n < head.count;
    const t = params.temperature;
    const topK = params.topK > 0 ? Math.floor(params.topK) : 0;
    const topP = params.topP !== undefined && params.topP > 0 && params.topP < 1 ? params.topP : 0;
    if (topK === 0 && topP === 0) return undefined;
    if (topK > n && !complete) return undefined;
    const kept = topK > 0 ? Math.min(topK, n) : n;
    const weights = this.#weights;
    const max = head.values[0]! / t;
    let sum = 0;
    for (let i = 0; i < kept; i++) {
      const w = Math.exp(head.values[i]! / t - max);
      weights[i] = w;
      sum += w;
    }
    let count = kept;
    let total = sum;
    if (topP > 0) {
      const limit = topP * (topK > 0 ? sum : head.total);
      let before = 0;
      count = 0;
      while (count < kept && before < limit) {
        before += weights[count]!;
        count++;
      }
      if (before < limit && topK === 0 && !complete) return undefined;
      total = before;
    }
    const target = rng.nextUniform() * total;
    let acc = 0;
    for (let i = 0; i < count; i++) {
      acc += weights[i]!;
      if (acc > target) return head.ids[i]!;
    }
    return head.ids[count - 1]!;
  }

  /**
   * The kept tokens and their weights after temperature, top-k and top-p. The views are valid
   * until the next call. Exposed for tests and for callers that need probabilities.
   */
  distribution(
    logits: Float32Array,
    params: SamplingParams,
    candidates: Candidates = ALL_CANDIDATES,
  ): Distribution {
    const t = params.temperature > 0 ? params.temperature : 1;
    let n = this.#gather(logits, t, candidates);
    if (n === 0) throw new Error('no candidate token has a finite logit');
    const topK = params.topK > 0 ? Math.floor(params.topK) : 0;
    const topP = params.topP !== undefined && params.topP > 0 && params.topP < 1 ? params.topP : 0;
    if (topK === 0 && topP === 0) return this.#weigh(n, false);
    if (topK > 0) {
      n = this.#selectTopK(n, Math.min(topK, n));
      this.#sortDescending(n);
      const d = this.#weigh(n, true);
      return topP === 0 ? d : this.#cutNucleus(d, topP, d.total);
    }
    n = this.#selectTopPSorted(n, topP);
    const superset = { ids: this.#ids, weights: this.#weights, count: n, total: this.#candidateTotal };
    return this.#cutNucleus(superset, topP, this.#candidateTotal);
  }

  /**
   * Plain multinomial over a contiguous range (plus an optional extra id) without copying ids:
   * the same arithmetic and id order as `distribution` + the inverse-CDF walk, in two passes.
   */
  #sampleContiguous(logits: Float32Array, t: number, rng: Rng, c: Candidates): number {
    const lo = c.kind === 'range' ? c.lo : 0;
    const hi = c.kind === 'range' ? c.hi : logits.length;
    const extra =
      c.kind === 'range' && c.extra !== undefined && (c.extra < lo || c.extra >= hi) ? c.extra : -1;
    let max = Number.NEGATIVE_INFINITY;
    for (let id = lo; id < hi; id++) if (logits[id]! > max) max = logits[id]!;
    if (extra >= 0 && logits[extra]! > max) max = logits[extra]!;
    if (!(max > Number.NEGATIVE_INFINITY)) throw new Error('no candidate token has a finite logit');
    const m = max / t;
    const weights = this.#weights;
    let total = 0;
    const extraWeight =
      extra >= 0 && logits[extra]! > Number.NEGATIVE_INFINITY ? Math.exp(logits[extra]! / t - m) : 0;
    if (extra >= 0 && extra < lo) total += extraWeight;
    for (let id = lo; id < hi; id++) {
      const x = logits[id]!;
      const w = x > Number.NEGATIVE_INFINITY ? Math.exp(x / t - m) : 0;
      weights[id - lo] = w;
      total += w;
    }
    if (extra >= hi) total += extraWeight;
    const target = rng.nextUniform() * total;
    let acc = 0;
    let last = -1;
    if (extra >= 0 && extra < lo && extraWeight > 0) {
      acc += extraWeight;
      last = extra;
      if (acc > target) return extra;
    }
    for (let id = lo; id < hi; id++) {
      const w = weights[id - lo]!;
      if (w === 0) continue;
      acc += w;
      last = id;
      if (acc > target) return id;
    }
    if (extra >= hi && extraWeight > 0) return extra;
    return last;
  }

  /** Copies finite candidate logits / t into scratch, in id order. */
  #gather(logits: Float32Array, t: number, c: Candidates): number {
    const ids = this.#ids;
    const scaled = this.#scaled;
    let n = 0;
    const take = (id: number) => {
      const x = logits[id]!;
      if (x > Number.NEGATIVE_INFINITY && !Number.isNaN(x)) {
        ids[n] = id;
        scaled[n] = x / t;
        n++;
      }
    };
    if (c.kind === 'all') for (let id = 0; id < logits.length; id++) take(id);
    else if (c.kind === 'ids') for (const id of c.ids) take(id);
    else {
      const extraFirst = c.extra !== undefined && c.extra < c.lo;
      if (extraFirst) take(c.extra!);
      for (let id = c.lo; id < c.hi; id++) take(id);
      if (c.extra !== undefined && !extraFirst && (c.extra < c.lo || c.extra >= c.hi)) take(c.extra);
    }
    return n;
  }

  /** exp(scaled − max) over the first n entries; `sorted` means entry 0 holds the max. */
  #weigh(n: number, sorted: boolean): Distribution {
    const scaled = this.#scaled;
    const weights = this.#weights;
    let max = scaled[0]!;
    if (!sorted) for (let i = 1; i < n; i++) if (scaled[i]! > max) max = scaled[i]!;
    let total = 0;
    for (let i = 0; i < n; i++) {
      const w = Math.exp(scaled[i]! - max);
      weights[i] = w;
      total += w;
    }
    return { ids: this.#ids, weights, count: n, total };
  }

  /** Keeps the k best (value desc, id asc) in the first k slots, unordered, via a bounded min-heap. */
  #selectTopK(n: number, k: number): number {
    const ids = this.#ids;
    const scaled = this.#scaled;
    // Heap over positions [0, k): root is the worst kept entry.
    const worse = (a: number, b: number) =>
      scaled[a]! < scaled[b]! || (scaled[a]! === scaled[b]! && ids[a]! > ids[b]!);
    const swap = (a: number, b: number) => {
      const id = ids[a]!;
      ids[a] = ids[b]!;
      ids[b] = id;
      const v = scaled[a]!;
      scaled[a] = scaled[b]!;
      scaled[b] = v;
    };
    const siftDown = (start: number) => {
      let i = start;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < k && worse(l, m)) m = l;
        if (r < k && worse(r, m)) m = r;
        if (m === i) return;
        swap(i, m);
        i = m;
      }
    };
    for (let i = (k >> 1) - 1; i >= 0; i--) siftDown(i);
    for (let j = k; j < n; j++) {
      if (worse(0, j)) {
        ids[0] = ids[j]!;
        scaled[0] = scaled[j]!;
        siftDown(0);
      }
    }
    return k;
  }

  /**
   * Moves to the front, sorted (value desc, id asc), every token that may belong to the top-p
   * nucleus: all tokens in histogram bins above the bin where the cumulative mass (from the top)
   * first reaches p, plus that bin. A counting sort by bin and small sorts inside bins replace a
   * full sort.
   */
  #selectTopPSorted(n: number, p: number): number {
    const ids = this.#ids;
    const scaled = this.#scaled;
    const weights = this.#weights;
    const bins = this.#bins;
    const binMass = this.#binMass.fill(0);
    const binStart = this.#binStart.fill(0);
    let max = scaled[0]!;
    let min = scaled[0]!;
    for (let i = 1; i < n; i++) {
      const x = scaled[i]!;
      if (x > max) max = x;
      else if (x < min) min = x;
    }
    // Bins cover [max − span, max]; anything lower shares the last bin (its weight is < e^-40).
    const span = Math.min(HISTOGRAM_SPAN, max - min) || 1;
    const invWidth = HISTOGRAM_BINS / span;
    let total = 0;
    for (let i = 0; i < n; i++) {
      const b = Math.min(HISTOGRAM_BINS - 1, Math.floor((max - scaled[i]!) * invWidth));
      bins[i] = b;
      const w = Math.exp(scaled[i]! - max);
      weights[i] = w;
      binMass[b]! += w;
      binStart[b + 1]!++;
      total += w;
    }
    this.#candidateTotal = total;
    // A small margin keeps rounding differences between bin sums and the exact walk on the safe side.
    const threshold = p * total * (1 + 1e-9);
    let acc = 0;
    let boundary = HISTOGRAM_BINS - 1;
    for (let b = 0; b < HISTOGRAM_BINS; b++) {
      acc += binMass[b]!;
      if (acc >= threshold) {
        boundary = b;
        break;
      }
    }
    for (let b = 0; b <= boundary; b++) binStart[b + 1]! += binStart[b]!;
    const kept = binStart[boundary + 1]!;
    const outIds = this.#tmpIds;
    const outValues = this.#tmpValues;
    const outWeights = this.#tmpWeights;
    const fill = binStart.slice(0, boundary + 1);
    for (let i = 0; i < n; i++) {
      const b = bins[i]!;
      if (b > boundary) continue;
      const at = fill[b]!++;
      outIds[at] = ids[i]!;
      outValues[at] = scaled[i]!;
      outWeights[at] = weights[i]!;
    }
    for (let b = 0; b <= boundary; b++)
      sortSegment(outIds, outValues, outWeights, binStart[b]!, binStart[b + 1]!);
    ids.set(outIds.subarray(0, kept));
    scaled.set(outValues.subarray(0, kept));
    weights.set(outWeights.subarray(0, kept));
    return kept;
  }

  /** Sorts the first n entries by value desc, id asc (packed index sort; n is small after selection). */
  #sortDescending(n: number): void {
    const ids = this.#ids;
    const scaled = this.#scaled;
    const order = Array.from({ length: n }, (_, i) => i);
    order.sort((a, b) => scaled[b]! - scaled[a]! || ids[a]! - ids[b]!);
    const sortedIds = order.map((i) => ids[i]!);
    const sortedValues = order.map((i) => scaled[i]!);
    for (let i = 0; i < n; i++) {
      ids[i] = sortedIds[i]!;
      scaled[i] = sortedValues[i]!;
    }
  }

  /** Keeps rank j while the probability mass before j is below p (the first token crossing p stays). */
  #cutNucleus(d: Distribution, p: number, total: number): Distribution {
    const limit = p * total;
    let before = 0;
    let count = 0;
    while (count < d.count && before < limit) {
      before += d.weights[count]!;
      count++;
    }
    return { ids: d.ids, weights: d.weights, count, total: before };
  }
}

/** Sorts [lo, hi) by value desc, id asc, moving weights along; the segment arrives in id order (stable sorts keep it). */
function sortSegment(
  ids: Int32Array,
  values: Float64Array,
  weights: Float64Array,
  lo: number,
  hi: number,
): void {
  const len = hi - lo;
  if (len < 2) return;
  if (len <= 32) {
    for (let i = lo + 1; i < hi; i++) {
      const id = ids[i]!;
      const v = values[i]!;
      const w = weights[i]!;
      let j = i - 1;
      while (j >= lo && values[j]! < v) {
        ids[j + 1] = ids[j]!;
        values[j + 1] = values[j]!;
        weights[j + 1] = weights[j]!;
        j--;
      }
      ids[j + 1] = id;
      values[j + 1] = v;
      weights[j + 1] = w;
    }
    return;
  }
  const order = Array.from({ length: len }, (_, i) => lo + i);
  order.sort((a, b) => values[b]! - values[a]! || ids[a]! - ids[b]!);
  const sortedIds = order.map((i) => ids[i]!);
  const sortedValues = order.map((i) => values[i]!);
  const sortedWeights = order.map((i) => weights[i]!);
  for (let i = 0; i < len; i++) {
    ids[lo + i] = sortedIds[i]!;
    values[lo + i] = sortedValues[i]!;
    weights[lo + i] = sortedWeights[i]!;
  }
}

/** Greedy choice; ties go to the lower id. */
export function argmax(logits: Float32Array, candidates: Candidates = ALL_CANDIDATES): number {
  let best = -1;
  let bestValue = Number.NEGATIVE_INFINITY;
  const visit = (id: number) => {
    const x = logits[id]!;
    if (x > bestValue || (x === bestValue && best >= 0 && id < best)) {
      best = id;
      bestValue = x;
    }
  };
  if (candidates.kind === 'all') for (let id = 0; id < logits.length; id++) visit(id);
  else if (candidates.kind === 'ids') for (const id of candidates.ids) visit(id);
  else {
    for (let id = candidates.lo; id < candidates.hi; id++) visit(id);
    if (candidates.extra !== undefined) visit(candidates.extra);
  }
  if (best < 0) throw new Error('no candidate token');
  return best;
}
