// Continuous batching across requests, inside the engine thread. Every job runs as its own async
// program and hands its decoding to the batcher; the batcher runs one loop that alternates a
// phase-1 step (FsmBatch: one lm_decode call for every metadata sequence of every request) and a
// phase-2 call (CodeBatch: one lm_decode_loop call of K steps for every code pair). Between steps
// it admits waiting sequences (their prefill is a call of its own), drops cancelled ones and
// regroups the KV cache. Admission is by a KV-cache budget in bytes: a sequence waits until the
// batches' padded caches with it fit; a call that could never fit is refused at once.
import type { FsmState, Rng } from '../core/index.ts';
import { CodeBatch, type CodesOptions } from './code-batch.ts';
import { FsmBatch, type FsmDecodeOptions } from './fsm-batch.ts';
import {
  type BatchContext,
  batchBytes,
  cancelledError,
  type Group,
  type JobHandle,
  type Member,
  type PromptRows,
} from './members.ts';
import type { EngineStats } from './protocol.ts';

/** Raised when a request needs more KV cache than the whole budget; the service answers RESOURCE_EXHAUSTED. */
export class BudgetError extends Error {
  override name = 'BudgetError';
}

export class Batcher {
  readonly #ctx: BatchContext;
  readonly #fsm: FsmBatch;
  readonly #codes: CodeBatch;
  readonly #budget: number;
  #running = false;
  /** Counters since start (the service turns them into Prometheus metrics). */
  readonly #stats = { steps: { metadata: 0, audio_codes: 0 }, rows: { metadata: 0, audio_codes: 0 } };

  constructor(ctx: BatchContext, kvBudgetBytes: number) {
    this.#ctx = ctx;
    this.#fsm = new FsmBatch(ctx);
    this.#codes = new CodeBatch(ctx);
    this.#budget = kvBudgetBytes;
  }

  decodeWithFsm(
    job: JobHandle,
    prompts: readonly PromptRows[],
    fsms: readonly FsmState[],
    rngs: readonly Rng[],
    options: FsmDecodeOptions,
  ): Promise<number[][]> {
    const { group, members } = this.#fsm.submit(job, prompts, fsms, rngs, options);
    this.#checkFits(members);
    this.#fsm.waiting.push(...members);
    this.#kick();
    return group.promise;
  }

  decodeCodes(
    job: JobHandle,
    prompts: readonly PromptRows[],
    rngs: readonly Rng[],
    options: CodesOptions,
  ): Promise<number[][]> {
    const { group, members } = this.#codes.submit(job, prompts, rngs, options);
    this.#checkFits(members);
    this.#codes.waiting.push(...members);
    this.#kick();
    return group.promise;
  }

  stats(): EngineStats {
    const t = this.#ctx.runner.traffic;
    return {
      tokens: { metadata: t.metadata.tokens, audio_codes: t.audio_codes.tokens },
      steps: { ...this.#stats.steps },
      rows: { ...this.#stats.rows },
      batchRows: { metadata: this.#fsm.rows, audio_codes: this.#codes.rows },
      kvBytes: this.#fsm.kvBytes + this.#codes.kvBytes,
      kvBudgetBytes: this.#budget,
      waiting: this.#fsm.waiting.length + this.#codes.waiting.length,
      running: this.#fsm.members.length + this.#codes.members.length,
    };
  }

  /** A call whose sequences alone exceed the budget can never run: refuse it now. */
  #checkFits(members: readonly Member[]): void {
    const need = batchBytes(this.#ctx.lm, members);
    if (need > this.#budget) {
      throw new BudgetError(
        `the request needs ${need} bytes of KV cache, more than the budget of ${this.#budget} (--kv-cache-mb)`,
      );
    }
  }

  #kick(): void {
    if (this.#running) return;
    this.#running = true;
    void this.#loop().finally(() => {
      this.#running = false;
      if (this.#fsm.hasWork || this.#codes.hasWork) this.#kick();
    });
  }

  async #loop(): Promise<void> {
    while (this.#fsm.hasWork || this.#codes.hasWork) {
      await this.#tick(this.#fsm, () => this.#fsm.step(), 'metadata');
      await this.#tick(this.#codes, () => this.#codes.step(), 'audio_codes');
    }
  }

  /** Admits what fits, drops the cancelled, runs one step; a failing call fails only its batch. */
  async #tick(
    batch: FsmBatch | CodeBatch,
    step: () => Promise<void>,
    phase: 'metadata' | 'audio_codes',
  ): Promise<void> {
    const fail = (group: Group) => group.fail(cancelledError());
    try {
      this.#dropCancelledWaiting(batch, fail);
      batch.dropCancelled(fail);
      const newcomers = this.#admit(batch);
      if (newcomers.length > 0) await (batch.join as (m: Member[]) => Promise<void>)(newcomers);
      if (batch.members.length === 0) return;
      this.#stats.steps[phase]++;
      this.#stats.rows[phase] += batch.rows;
      await step();
    } catch (error) {
      const e = error instanceof Error ? error : new Error(String(error));
      for (const m of [...batch.members, ...batch.waiting]) m.group.fail(e);
      batch.dropCancelled(() => undefined);
      batch.waiting.length = 0;
    }
  }

  #dropCancelledWaiting(batch: FsmBatch | CodeBatch, fail: (group: Group) => void): void {
    const keep = batch.waiting.filter((m) => {
      if (m.group.cancelled && !m.group.settled) fail(m.group);
      return !m.group.settled;
    });
    batch.waiting.length = 0;
    (batch.waiting as Member[]).push(...keep);
  }

  /** Moves waiting members into the batch, first come first served, while the budget holds. */
  #admit(batch: FsmBatch | CodeBatch): Member[] {
    const other = batch === this.#fsm ? this.#codes : this.#fsm;
    const otherBytes = batchBytes(this.#ctx.lm, other.members);
    const taken: Member[] = [];
    while (batch.waiting.length > 0) {
      const next = batch.waiting[0]!;
      const bytes = batchBytes(this.#ctx.lm, [...batch.members, ...taken, next]);
      // An empty engine always takes the next one (it fits alone: checked at submit).
      const empty = batch.members.length === 0 && taken.length === 0 && other.members.length === 0;
      if (!empty && otherBytes + bytes > this.#budget) break;
      taken.push(batch.waiting.shift()!);
    }
    return taken;
  }
}
