// The gRPC thread's handle on the engine worker (engine-worker.ts), over a
// `@acestep/runtime/worker-channel`: prepare a planned request (conditioning stays in the worker,
// referenced by job id), run prepared jobs as one batch with step events, tokenize latents. Aborts
// are forwarded; the worker checks them between steps.
import type { ServiceConfig } from '@acestep/runtime';
import { type Method, type WireError, WorkerChannel } from '@acestep/runtime/worker-channel';
import { DitInputError, DitNumericError } from '../core/errors.ts';
import type { StepProgress } from '../core/sampler.ts';
import type { JobsResult, RequestPlan } from './pipeline.ts';

export interface EngineInit {
  config: Pick<ServiceConfig, 'modelDir' | 'device' | 'threads'>;
}

/** The engine thread's methods. Jobs are named by the main side's ids. */
export interface DitProtocol {
  ready: { hidden: number };
  methods: {
    /** Computes and keeps a plan's hints and conditioning under `job`; answers the batching key. */
    prepare: Method<{ job: number; plan: RequestPlan }, string>;
    /** Runs prepared jobs as one sampler batch (the worker forgets them afterwards). */
    run: Method<number[], JobsResult, StepProgress>;
    tokenize: Method<Float32Array, number[]>;
    /** Forgets prepared jobs that will not run. */
    drop: Method<number[], void>;
  };
  notice: never;
}

/** A request prepared in the worker: its conditioning lives there under `id`. */
export interface JobHandle {
  id: number;
  key: string;
}

/** Rebuilds the core's error types so the gRPC layer maps them to the same codes. */
function fromWire(error: WireError): Error {
  if (error.name === 'DitInputError' && typeof error.field === 'string') {
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
  readonly #channel: WorkerChannel<DitProtocol>;
  #nextJob = 1;

  private constructor(channel: WorkerChannel<DitProtocol>) {
    this.#channel = channel;
  }

  /** Called once if the worker dies (every later call fails): the service turns NOT_SERVING. */
  onFailure(callback: (error: Error) => void): void {
    this.#channel.onFailure = callback;
  }

  static async start(init: EngineInit): Promise<DitEngine> {
    const { channel } = await WorkerChannel.start<DitProtocol>(
      new URL('./engine-worker.ts', import.meta.url),
      {
        name: 'dit engine',
        workerData: init,
        decodeError: fromWire,
      },
    );
    return new DitEngine(channel);
  }

  /** An abort surfaces as the caller's own reason, not as the worker's message. */
  async #call<T>(signal: AbortSignal | undefined, call: () => Promise<T>): Promise<T> {
    signal?.throwIfAborted();
    try {
      return await call();
    } catch (error) {
      throw signal?.aborted ? signal.reason : error;
    }
  }

  /** Hints + conditioning of a planned request, computed and kept in the worker. */
  async prepare(plan: RequestPlan, signal?: AbortSignal): Promise<JobHandle> {
    const id = this.#nextJob++;
    const key = await this.#call(signal, () => this.#channel.call('prepare', { job: id, plan }, { signal }));
    return { id, key };
  }

  /** Runs prepared jobs as one sampler batch; the worker forgets them afterwards. */
  run(
    jobs: readonly JobHandle[],
    control: { signal?: AbortSignal; onStep?: (progress: StepProgress) => void } = {},
  ): Promise<JobsResult> {
    const { signal, onStep } = control;
    const ids = jobs.map((j) => j.id);
    return this.#call(signal, () => this.#channel.call('run', ids, { signal, onEvent: onStep }));
  }

  /** Frees the conditioning of jobs that will not run (their caller left before the batch). */
  drop(jobs: readonly JobHandle[]): void {
    // Nothing to wait for: a dead worker holds no conditioning.
    if (jobs.length > 0)
      this.#channel
        .call(
          'drop',
          jobs.map((j) => j.id),
        )
        .catch(() => {});
  }

  tokenize(latents: Float32Array, signal?: AbortSignal): Promise<number[]> {
    return this.#call(signal, () => this.#channel.call('tokenize', latents, { signal }));
  }

  /** Lets the worker release its sessions (at most 5 s), then stops the thread. */
  async close(): Promise<void> {
    await this.#channel.close(5000);
  }
}
