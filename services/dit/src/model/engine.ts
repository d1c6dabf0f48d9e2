// The gRPC thread's handle on the engine worker (engine-worker.ts): prepare a planned request
// (conditioning stays in the worker, referenced by job id), run prepared jobs as one batch with
// step events, tokenize latents. Aborts are forwarded; the worker checks them between steps.
import { Worker } from 'node:worker_threads';
import type { ServiceConfig } from '@acestep/runtime';
import { DitInputError, DitNumericError } from '../core/errors.ts';
import type { StepProgress } from '../core/sampler.ts';
import type { JobsResult, RequestPlan, RunStats } from './pipeline.ts';

export interface EngineInit {
  config: Pick<ServiceConfig, 'modelDir' | 'device' | 'threads'>;
}

export interface WireError {
  name: string;
  message: string;
  field?: string;
  code?: string;
}

export type EngineRequest =
  | { kind: 'prepare'; id: number; plan: RequestPlan }
  | { kind: 'run'; id: number; jobs: number[] }
  | { kind: 'tokenize'; id: number; latents: Float32Array }
  | { kind: 'abort'; id: number }
  | { kind: 'drop'; jobs: number[] }
  | { kind: 'close' };

export type EngineReply =
  | { kind: 'ready'; hidden: number }
  | { kind: 'failed'; error: WireError }
  | { kind: 'prepared'; id: number; key: string }
  | { kind: 'step'; id: number; progress: StepProgress }
  | { kind: 'ran'; id: number; latents: Float32Array[][]; stats: RunStats }
  | { kind: 'tokenized'; id: number; codes: number[] }
  | { kind: 'error'; id: number; error: WireError }
  | { kind: 'closed' };

/** A request prepared in the worker: its conditioning lives there under `id`. */
export interface JobHandle {
  id: number;
  key: string;
}

interface Pending {
  resolve: (reply: EngineReply) => void;
  reject: (error: Error) => void;
  onStep?: (progress: StepProgress) => void;
}

/** Rebuilds the core's error types so the gRPC layer maps them to the same codes. */
function fromWire(error: WireError): Error {
  if (error.name === 'DitInputError' && error.field !== undefined) {
    const message = error.message.startsWith(`${error.field}: `)
      ? error.message.slice(error.field.length + 2)
      : error.message;
    return new DitInputError(
      error.field,
      message,
      error.code === 'FAILED_PRECONDITION' ? 'FAILED_PRECONDITION' : 'INVALID_ARGUMENT',
    );
  }
  if (error.name === 'DitNumericError') return new DitNumericError(error.message);
  return new Error(`dit engine: ${error.message}`);
}

export class DitEngine {
  readonly #worker: Worker;
  readonly #pending = new Map<number, Pending>();
  #nextId = 1;
  #failure: Error | undefined;

  private constructor(worker: Worker) {
    this.#worker = worker;
    worker.on('message', (reply: EngineReply) => this.#onReply(reply));
    worker.on('error', (error) => this.#fail(error));
    worker.on('exit', (code) => {
      if (!this.#closing) this.#fail(new Error(`dit engine worker exited with code ${code}`));
    });
  }

  #closing = false;
  #onFailure: ((error: Error) => void) | undefined;

  /** Called once if the worker dies (every later call fails): the service turns NOT_SERVING. */
  onFailure(callback: (error: Error) => void): void {
    this.#onFailure = callback;
  }

  #fail(error: Error): void {
    if (this.#failure) return;
    this.#failure = error;
    for (const p of this.#pending.values()) p.reject(error);
    this.#pending.clear();
    this.#onFailure?.(error);
  }

  static async start(init: EngineInit): Promise<DitEngine> {
    const worker = new Worker(new URL('./engine-worker.ts', import.meta.url), { workerData: init });
    const ready = await new Promise<EngineReply>((resolve, reject) => {
      worker.once('message', resolve);
      worker.once('error', reject);
    }).catch(async (error: unknown) => {
      await worker.terminate();
      throw error;
    });
    if (ready.kind !== 'ready') {
      await worker.terminate();
      throw ready.kind === 'failed'
        ? fromWire(ready.error)
        : new Error(`dit engine: unexpected ${ready.kind}`);
    }
    return new DitEngine(worker);
  }

  #onReply(reply: EngineReply): void {
    if (reply.kind === 'closed' || reply.kind === 'ready' || reply.kind === 'failed') return;
    const pending = this.#pending.get(reply.id);
    if (!pending) return;
    if (reply.kind === 'step') {
      pending.onStep?.(reply.progress);
      return;
    }
    this.#pending.delete(reply.id);
    if (reply.kind === 'error') pending.reject(fromWire(reply.error));
    else pending.resolve(reply);
  }

  #call(
    request: EngineRequest & { id: number },
    options: { signal?: AbortSignal; onStep?: (progress: StepProgress) => void } = {},
  ): Promise<EngineReply> {
    if (this.#failure) return Promise.reject(this.#failure);
    const { signal } = options;
    signal?.throwIfAborted();
    return new Promise<EngineReply>((resolve, reject) => {
      const onAbort = () =>
        this.#worker.postMessage({ kind: 'abort', id: request.id } satisfies EngineRequest);
      signal?.addEventListener('abort', onAbort, { once: true });
      const done = () => signal?.removeEventListener('abort', onAbort);
      this.#pending.set(request.id, {
        resolve: (reply) => {
          done();
          resolve(reply);
        },
        reject: (error) => {
          done();
          // An abort surfaces as the caller's own reason, not as the worker's message.
          reject(signal?.aborted ? signal.reason : error);
        },
        ...(options.onStep ? { onStep: options.onStep } : {}),
      });
      this.#worker.postMessage(request);
    });
  }

  /** Hints + conditioning of a planned request, computed and kept in the worker. */
  async prepare(plan: RequestPlan, signal?: AbortSignal): Promise<JobHandle> {
    const id = this.#nextId++;
    const reply = await this.#call({ kind: 'prepare', id, plan }, signal ? { signal } : {});
    if (reply.kind !== 'prepared') throw new Error(`dit engine: unexpected ${reply.kind}`);
    return { id, key: reply.key };
  }

  /** Runs prepared jobs as one sampler batch; the worker forgets them afterwards. */
  async run(
    jobs: readonly JobHandle[],
    control: { signal?: AbortSignal; onStep?: (progress: StepProgress) => void } = {},
  ): Promise<JobsResult> {
    const id = this.#nextId++;
    const reply = await this.#call({ kind: 'run', id, jobs: jobs.map((j) => j.id) }, control);
    if (reply.kind !== 'ran') throw new Error(`dit engine: unexpected ${reply.kind}`);
    return { latents: reply.latents, stats: reply.stats };
  }

  /** Frees the conditioning of jobs that will not run (their caller left before the batch). */
  drop(jobs: readonly JobHandle[]): void {
    if (jobs.length > 0)
      this.#worker.postMessage({ kind: 'drop', jobs: jobs.map((j) => j.id) } satisfies EngineRequest);
  }

  async tokenize(latents: Float32Array, signal?: AbortSignal): Promise<number[]> {
    const id = this.#nextId++;
    const reply = await this.#call({ kind: 'tokenize', id, latents }, signal ? { signal } : {});
    if (reply.kind !== 'tokenized') throw new Error(`dit engine: unexpected ${reply.kind}`);
    return reply.codes;
  }

  async close(): Promise<void> {
    this.#closing = true;
    const closed = new Promise<void>((resolve) =>
      this.#worker.on('message', (m: EngineReply) => {
        if (m.kind === 'closed') resolve();
      }),
    );
    this.#worker.postMessage({ kind: 'close' } satisfies EngineRequest);
    await Promise.race([closed, new Promise((r) => setTimeout(r, 5000))]);
    await this.#worker.terminate();
  }
}
