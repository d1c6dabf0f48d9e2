// What the continuous batcher keeps per request call (a group) and what every batch shares: the
// graphs, the metered runner, the KV accounting. A group is one decodeWithFsm / decodeCodes call of
// one job; its sequences join the running batch one by one and the call resolves when the last
// of them leaves.
import type { GraphSession, LmConstants } from '@acestep/models';
import type { TokenSampler } from '../core/index.ts';
import { CancelledError, type MeteredRunner, RequestError } from './graphs.ts';
import type { Phase, Traffic } from './protocol.ts';

/** The job a group belongs to: where its traffic is counted and its cancel flag. */
export interface JobHandle {
  traffic: Traffic;
  /** Shared flag, non-zero once the job is cancelled; checked at every step boundary. */
  cancel?: Int32Array | undefined;
}

/** One prompt as token ids: `uncond` is undefined when CFG is off. */
export interface PromptRows {
  cond: readonly number[];
  uncond?: readonly number[] | undefined;
}

/** Every call returns one token list per sequence (ids or codes). */
export class Group {
  readonly job: JobHandle;
  readonly results: number[][];
  #left: number;
  #settled = false;
  readonly promise: Promise<number[][]>;
  #resolve!: (value: number[][]) => void;
  #reject!: (error: Error) => void;

  constructor(job: JobHandle, size: number) {
    this.job = job;
    this.results = Array.from({ length: size }, () => []);
    this.#left = size;
    this.promise = new Promise<number[][]>((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
    });
    if (size === 0) this.#finish();
  }

  get settled(): boolean {
    return this.#settled;
  }

  get cancelled(): boolean {
    return this.job.cancel !== undefined && Atomics.load(this.job.cancel, 0) !== 0;
  }

  /** One sequence left the batch with its result. */
  done(index: number, value: number[]): void {
    this.results[index] = value;
    if (--this.#left === 0) this.#finish();
  }

  #finish(): void {
    if (this.#settled) return;
    this.#settled = true;
    this.#resolve(this.results);
  }

  fail(error: Error): void {
    if (this.#settled) return;
    this.#settled = true;
    this.#reject(error);
  }
}

/** A sequence that holds rows in a batch's KV cache. */
export interface Member {
  readonly group: Group;
  /** Cache positions this sequence may occupy (prompt + what it may write + step slack). */
  readonly reserve: number;
  /** KV rows it needs: 2 with CFG, else 1. */
  readonly rowCount: number;
  /** Set once it leaves (finished, cancelled or failed). */
  left: boolean;
}

export interface BatchContext {
  lm: LmConstants;
  decode: GraphSession;
  loop: GraphSession;
  /** lm_decode_top: heads, gathered ids and totals instead of logits rows (host-sampled phases). */
  top: GraphSession;
  /** Always read whole logits rows in host-sampled steps (the reference path). */
  wholeRows?: boolean;
  runner: MeteredRunner;
  sampler: TokenSampler;
}

export function checkLength(lm: LmConstants, tokens: number, what: string): void {
  if (tokens > lm.maxModelLen) {
    throw new RequestError(`${what}: ${tokens} tokens exceed the LM's context of ${lm.maxModelLen}`);
  }
}

/** Bytes of one cache position of one row (fp32). */
export function rowBytes(lm: LmConstants): number {
  return lm.layers * 2 * lm.kvHeads * lm.headDim * 4;
}

/** Physical bytes a batch of these members needs: every row padded to the longest reservation. */
export function batchBytes(lm: LmConstants, members: readonly Member[]): number {
  let rows = 0;
  let longest = 0;
  for (const m of members) {
    rows += m.rowCount;
    longest = Math.max(longest, m.reserve);
  }
  return rows * longest * rowBytes(lm);
}

/**
 * Runs one graph call for a batch and charges each job its share: the run and past length once per
 * job, bytes and times by the rows it holds.
 */
export async function sharedRun(
  ctx: BatchContext,
  session: GraphSession,
  phase: Phase,
  feeds: Parameters<MeteredRunner['run']>[2],
  members: readonly Member[],
) {
  const t = ctx.runner.traffic[phase];
  const before = { ...t };
  const out = await ctx.runner.run(session, phase, feeds);
  const rows = members.reduce((a, m) => a + m.rowCount, 0);
  const seen = new Set<JobHandle>();
  for (const m of members) {
    const job = m.group.job.traffic[phase];
    const share = m.rowCount / rows;
    job.bytesIn += (t.bytesIn - before.bytesIn) * share;
    job.bytesOut += (t.bytesOut - before.bytesOut) * share;
    job.runNs += (t.runNs - before.runNs) * share;
    job.hostNs += (t.hostNs - before.hostNs) * share;
    if (!seen.has(m.group.job)) {
      seen.add(m.group.job);
      job.runs++;
      job.pastPositions += t.pastPositions - before.pastPositions;
    }
  }
  return out;
}

export function cancelledError(): CancelledError {
  return new CancelledError('cancelled');
}
