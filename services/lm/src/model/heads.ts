// lm_decode_top on the host side: the per-sequence feeds built from what each FSM reads next
// (core `logitNeeds`), the outputs read back, and a sampler that serves the FSM from them. The FSM
// code is unchanged: it runs on a scratch row that holds −∞ except the values the graph returned
// (the unmasked top 2 and the gathered ids); a free-text draw is made from the sorted head and its
// total (`TokenSampler.sampleHead`), exactly as the whole row would give it.
import type { LmConstants } from '@acestep/models';
import type ort from 'onnxruntime-node';
import {
  type Candidates,
  type DecodeParams,
  type LogitNeeds,
  type Rng,
  type SamplingParams,
  type SortedHead,
  TokenSampler,
} from '../core/index.ts';
import { f32, i64 } from './graphs.ts';

/** What lm_decode_top returned for one sequence. */
export interface HeadResult {
  readonly sorted: SortedHead;
  readonly headValues: Float32Array;
  readonly headIds: Int32Array;
  readonly gatherIds: readonly number[];
  readonly gathered: Float32Array;
}

/** Thrown by the sampler when the head cannot decide the draw: the caller uses whole rows. */
export class NeedFullRow extends Error {
  override name = 'NeedFullRow';
}

interface SequenceRequest {
  rows: readonly number[];
  cfg: boolean;
  params: DecodeParams;
  needs: LogitNeeds;
  topN: number;
}

/** The lm_decode_top inputs beyond lm_decode's, one entry per sequence. */
export function headFeeds(lm: LmConstants, seqs: readonly SequenceRequest[]): Record<string, ort.Tensor> {
  const n = seqs.length;
  const v = lm.vocabSize;
  const idsOf = (q: SequenceRequest) =>
    q.needs.kind === 'ids' || q.needs.kind === 'range' ? q.needs.ids : [];
  const bansOf = (q: SequenceRequest) => (q.needs.kind === 'range' ? q.needs.bans : []);
  const gatherWidth = Math.max(0, ...seqs.map((q) => idsOf(q).length));
  const banWidth = Math.max(0, ...seqs.map((q) => bansOf(q).length));
  const topN = Math.min(v, Math.max(1, ...seqs.map((q) => (q.needs.kind === 'range' ? q.topN : 1))));
  const gather = new BigInt64Array(n * gatherWidth);
  const banned = new BigInt64Array(n * banWidth).fill(BigInt(v));
  seqs.forEach((q, j) => {
    idsOf(q).forEach((id, k) => {
      gather[j * gatherWidth + k] = BigInt(id);
    });
    bansOf(q).forEach((id, k) => {
      banned[j * banWidth + k] = BigInt(id);
    });
  });
  return {
    cond_row: i64(
      BigInt64Array.from(seqs, (q) => BigInt(q.rows[0]!)),
      [n],
    ),
    uncond_row: i64(
      BigInt64Array.from(seqs, (q) => BigInt(q.cfg ? q.rows[1]! : q.rows[0]!)),
      [n],
    ),
    cfg_scale: f32(
      Float32Array.from(seqs, (q) => (q.cfg ? q.params.cfgScale : 1)),
      [n],
    ),
    temperature: f32(
      Float32Array.from(seqs, (q) => (q.params.temperature > 0 ? q.params.temperature : 1)),
      [n],
    ),
    vocab_hi: i64(
      BigInt64Array.from(seqs, (q) => BigInt(q.needs.kind === 'range' ? q.needs.hi : v)),
      [n],
    ),
    banned: i64(banned, [n, banWidth]),
    gather_ids: i64(gather, [n, gatherWidth]),
    top_n: i64(BigInt64Array.of(BigInt(topN)), [1]),
  };
}

export function readHeads(
  out: Record<string, ort.Tensor>,
  n: number,
  requests?: readonly LogitNeeds[],
): HeadResult[] {
  const topN = out.top_logits!.dims[1]!;
  const width = out.gathered!.dims[1]!;
  const values = out.top_logits!.data as Float32Array;
  const ids = out.top_ids!.data as Int32Array;
  const total = out.total!.data as Float64Array;
  const hv = out.head_logits!.data as Float32Array;
  const hi = out.head_ids!.data as Int32Array;
  const g = out.gathered!.data as Float32Array;
  return Array.from({ length: n }, (_, j) => {
    const needs = requests?.[j];
    const gatherIds = needs && (needs.kind === 'ids' || needs.kind === 'range') ? needs.ids : [];
    return {
      sorted: {
        values: values.subarray(j * topN, (j + 1) * topN),
        ids: ids.subarray(j * topN, (j + 1) * topN),
        count: topN,
        total: total[j]!,
      },
      headValues: hv.subarray(j * 2, j * 2 + 2),
      headIds: hi.subarray(j * 2, j * 2 + 2),
      gatherIds,
      gathered: g.subarray(j * width, (j + 1) * width),
    };
  });
}

/** A TokenSampler that draws free-text tokens from a sorted head while one is set. */
export class HeadSampler extends TokenSampler {
  readonly #row: Float32Array;
  #head: HeadResult | undefined;

  constructor(vocabSize: number) {
    super(vocabSize);
    this.#row = new Float32Array(vocabSize).fill(Number.NEGATIVE_INFINITY);
  }

  /** Runs `draw` on the scratch row filled from `head`, then restores the row to all −∞. */
  withHead<T>(head: HeadResult, draw: (row: Float32Array) => T): T {
    const row = this.#row;
    const written: number[] = [];
    const put = (id: number, value: number) => {
      row[id] = value;
      written.push(id);
    };
    for (let k = 0; k < 2; k++) put(head.headIds[k]!, head.headValues[k]!);
    head.gatherIds.forEach((id, k) => {
      put(id, head.gathered[k]!);
    });
    this.#head = head;
    try {
      return draw(row);
    } finally {
      this.#head = undefined;
      for (const id of written) row[id] = Number.NEGATIVE_INFINITY;
    }
  }

  override sample(logits: Float32Array, params: SamplingParams, rng: Rng, candidates?: Candidates): number {
    const head = this.#head;
    if (head && candidates && (candidates.kind === 'range' || candidates.kind === 'all')) {
      const token = this.sampleHead(head.sorted, params, rng);
      if (token === undefined) throw new NeedFullRow('the sorted head cannot decide this draw');
      return token;
    }
    return super.sample(logits, params, rng, candidates);
  }
}
