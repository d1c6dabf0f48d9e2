// The main-thread face of the LM engine: starts the worker thread that runs the graphs and turns
// each job into an async stream of events. Jobs run concurrently in the worker (continuous
// batching). Cancelling (abort signal, or leaving the loop early) sets a shared flag the worker
// checks at every step boundary; the stream ends only once the worker has let go of the job.
import { Worker } from 'node:worker_threads';
import type { EngineOptions } from './jobs.ts';
import type { EngineEvent, EngineInfo, EngineJob, EngineStats, FromWorker, ToWorker } from './protocol.ts';

export type { EngineOptions } from './jobs.ts';
export type * from './protocol.ts';

export class EngineError extends Error {
  override name = 'EngineError';
  readonly cancelled: boolean;
  readonly invalid: boolean;
  /** Refused by the KV-cache budget. */
  readonly exhausted: boolean;
  constructor(message: string, cancelled: boolean, invalid: boolean, exhausted = false) {
    super(message);
    this.cancelled = cancelled;
    this.invalid = invalid;
    this.exhausted = exhausted;
  }
}

interface JobSink {
  push(message: FromWorker): void;
}

export class LmEngine {
  readonly info: EngineInfo;
  readonly #worker: Worker;
  readonly #jobs = new Map<number, JobSink>();
  #nextId = 0;
  #failure: Error | undefined;
  #closing = false;
  /** Called once if the worker thread dies (not on close()): the service reports NOT_SERVING. */
  onFailure: ((error: Error) => void) | undefined;
  /** Called with the engine's batching stats about once a second. */
  onStats: ((stats: EngineStats) => void) | undefined;
  #stats: EngineStats | undefined;

  private constructor(worker: Worker, info: EngineInfo) {
    this.#worker = worker;
    this.info = info;
    worker.on('message', (message: FromWorker) => {
      if ('id' in message) this.#jobs.get(message.id)?.push(message);
      else if (message.kind === 'stats') {
        this.#stats = message.stats;
        this.onStats?.(message.stats);
      }
    });
    worker.on('error', (error) => this.#fail(error));
    worker.on('exit', (code) => this.#fail(new Error(`LM engine thread exited with code ${code}`)));
  }

  static async start(dir: string, options: EngineOptions = {}): Promise<LmEngine> {
    const worker = new Worker(new URL('./worker.ts', import.meta.url), {
      workerData: { dir, options },
    });
    const info = await new Promise<EngineInfo>((resolve, reject) => {
      worker.once('error', reject);
      worker.on('message', function first(message: FromWorker) {
        if (message.kind === 'ready') resolve(message.info);
        else if (message.kind === 'failed')
          reject(new Error(`LM engine failed to start: ${message.message}`));
        else return;
        worker.off('message', first);
        worker.off('error', reject);
      });
    });
    return new LmEngine(worker, info);
  }

  #fail(error: Error): void {
    if (!this.#failure && !this.#closing) this.onFailure?.(error);
    this.#failure ??= error;
    for (const sink of this.#jobs.values()) {
      sink.push({ kind: 'error', id: -1, message: error.message, cancelled: false, invalid: false });
    }
  }

  /** Runs a job in the worker; yields its events; throws EngineError on failure or cancellation. */
  async *run(job: EngineJob, signal?: AbortSignal): AsyncGenerator<EngineEvent> {
    if (this.#failure) throw this.#failure;
    const id = this.#nextId++;
    const cancel = new SharedArrayBuffer(4);
    const flag = new Int32Array(cancel);
    const queue: FromWorker[] = [];
    let wake: (() => void) | undefined;
    let ended = false;
    this.#jobs.set(id, {
      push: (message) => {
        queue.push(message);
        wake?.();
      },
    });
    const onAbort = () => Atomics.store(flag, 0, 1);
    signal?.addEventListener('abort', onAbort, { once: true });
    const next = async (): Promise<FromWorker> => {
      while (queue.length === 0) await new Promise<void>((resolve) => (wake = resolve));
      wake = undefined;
      return queue.shift()!;
    };
    try {
      this.#worker.postMessage({ kind: 'job', id, job, cancel } satisfies ToWorker);
      for (;;) {
        const message = await next();
        if (message.kind === 'event') yield message.event;
        else if (message.kind === 'end') {
          ended = true;
          return;
        } else if (message.kind === 'error') {
          ended = true;
          throw new EngineError(message.message, message.cancelled, message.invalid, message.exhausted);
        }
      }
    } finally {
      signal?.removeEventListener('abort', onAbort);
      if (!ended) {
        // Left early (client gone): stop the worker at its next step and wait until it lets go.
        Atomics.store(flag, 0, 1);
        for (;;) {
          const message = await next();
          if (message.kind === 'end' || message.kind === 'error') break;
        }
      }
      this.#jobs.delete(id);
    }
  }

  /** The latest stats the worker sent (undefined before the first). */
  get stats(): EngineStats | undefined {
    return this.#stats;
  }

  async close(): Promise<void> {
    this.#closing = true;
    this.#failure ??= new Error('LM engine closed');
    await this.#worker.terminate();
  }
}
