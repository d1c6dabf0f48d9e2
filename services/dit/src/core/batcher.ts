// Dynamic batching: prepared jobs with the same compatibility key (same T, schedule, guidance,
// encoder length) that arrive within a short window run as one sampler batch of at most
// `maxBatch` items. One batch runs at a time (the graphs share one worker thread anyway).
//
// Flush rule: a batch starts when the compatible items reach maxBatch, or when the oldest
// waiting job has waited `windowMs` and no admitted request is still computing its conditioning
// (waiting for those costs no throughput: they use the same worker). `maxWaitMs` caps the wait.
//
// A member whose caller cancels leaves at once (its promise rejects); the batch goes on for the
// others and is aborted only when every member has left.
import type { StepProgress } from './sampler.ts';

export interface BatchControl {
  signal: AbortSignal;
  onStep: (progress: StepProgress) => void;
}

/** Runs jobs as one batch; returns one result per job, in order. */
export type RunBatch<J, R> = (jobs: J[], control: BatchControl) => Promise<R[]>;

export interface BatcherOptions {
  maxBatch: number;
  windowMs: number;
  /** Longest wait for requests still preparing (default 20 windows, at least 100 ms). */
  maxWaitMs?: number;
  /** Called with the item count of every batch that starts (logs, metrics). */
  onBatch?: (items: number, jobs: number) => void;
}

export interface SubmitOptions {
  key: string;
  /** Items of this job (rows of the batch). */
  size: number;
  signal?: AbortSignal;
  onStep?: (progress: StepProgress) => void;
}

interface Member<J, R> extends SubmitOptions {
  job: J;
  arrived: number;
  left: boolean;
  resolve: (result: R) => void;
  reject: (error: unknown) => void;
}

export class Batcher<J, R> {
  readonly #run: RunBatch<J, R>;
  readonly #options: Required<Omit<BatcherOptions, 'onBatch'>> & Pick<BatcherOptions, 'onBatch'>;
  #pending: Member<J, R>[] = [];
  #preparing = 0;
  #running = false;
  #timer: NodeJS.Timeout | undefined;

  constructor(run: RunBatch<J, R>, options: BatcherOptions) {
    this.#run = run;
    this.#options = { maxWaitMs: Math.max(100, 20 * options.windowMs), ...options };
  }

  /** Batches run so far (for tests and the benchmark through logs). */
  batches = 0;

  /** Announces a request that is computing its conditioning; call the returned function when it is done. */
  expect(): () => void {
    this.#preparing++;
    let done = false;
    return () => {
      if (done) return;
      done = true;
      this.#preparing--;
      this.#schedule();
    };
  }

  submit(job: J, options: SubmitOptions): Promise<R> {
    if (options.size > this.#options.maxBatch) {
      return Promise.reject(
        new Error(`job of ${options.size} items exceeds max batch ${this.#options.maxBatch}`),
      );
    }
    options.signal?.throwIfAborted();
    return new Promise<R>((resolve, reject) => {
      const member: Member<J, R> = {
        ...options,
        job,
        arrived: performance.now(),
        left: false,
        resolve,
        reject,
      };
      options.signal?.addEventListener('abort', () => this.#leave(member), { once: true });
      this.#pending.push(member);
      this.#schedule();
    });
  }

  #leave(member: Member<J, R>): void {
    if (member.left) return;
    member.left = true;
    const i = this.#pending.indexOf(member);
    if (i >= 0) this.#pending.splice(i, 1);
    member.reject(member.signal?.reason ?? new Error('cancelled'));
  }

  #schedule(): void {
    if (this.#running || this.#pending.length === 0) return;
    const oldest = this.#pending[0]!;
    const waited = performance.now() - oldest.arrived;
    const compatible = this.#pending.filter((m) => m.key === oldest.key).reduce((n, m) => n + m.size, 0);
    const ready =
      compatible >= this.#options.maxBatch ||
      (waited >= this.#options.windowMs && this.#preparing === 0) ||
      waited >= this.#options.maxWaitMs;
    if (ready) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
      void this.#flush();
      return;
    }
    if (this.#timer) return;
    const next = waited < this.#options.windowMs ? this.#options.windowMs - waited : this.#options.windowMs;
    this.#timer = setTimeout(
      () => {
        this.#timer = undefined;
        this.#schedule();
      },
      Math.max(1, Math.min(next, this.#options.maxWaitMs - waited)),
    );
  }

  /** Takes the oldest job's key, then every job with that key that still fits, in arrival order. */
  #take(): Member<J, R>[] {
    const key = this.#pending[0]!.key;
    const taken: Member<J, R>[] = [];
    let items = 0;
    for (const m of this.#pending) {
      if (m.key !== key || items + m.size > this.#options.maxBatch) continue;
      taken.push(m);
      items += m.size;
    }
    this.#pending = this.#pending.filter((m) => !taken.includes(m));
    return taken;
  }

  async #flush(): Promise<void> {
    this.#running = true;
    const members = this.#take();
    const controller = new AbortController();
    const leaveAll = () => {
      if (members.every((m) => m.left)) controller.abort(new Error('every caller of the batch cancelled'));
    };
    for (const m of members) m.signal?.addEventListener('abort', leaveAll, { once: true });
    leaveAll();
    this.batches++;
    this.#options.onBatch?.(
      members.reduce((n, m) => n + m.size, 0),
      members.length,
    );
    try {
      const results = await this.#run(
        members.map((m) => m.job),
        {
          signal: controller.signal,
          onStep: (progress) => {
            for (const m of members) if (!m.left) m.onStep?.(progress);
          },
        },
      );
      members.forEach((m, i) => {
        if (!m.left) m.resolve(results[i]!);
      });
    } catch (error) {
      for (const m of members) if (!m.left) m.reject(error);
    } finally {
      for (const m of members) {
        m.left = true;
        m.signal?.removeEventListener('abort', leaveAll);
      }
      this.#running = false;
      this.#schedule();
    }
  }
}
