// The main-thread face of the LM engine: starts the worker thread that runs the graphs and turns
// each job into an async stream of events (a `@acestep/runtime/worker-channel` stream). Jobs run
// concurrently in the worker (continuous batching). Cancelling (abort signal, or leaving the loop
// early) sets the call's shared flag, which the worker checks at every step boundary; the stream
// ends only once the worker has let go of the job.
import { type WireError, WorkerChannel } from '@acestep/runtime/worker-channel';
import type { EngineOptions } from './jobs.ts';
import type { EngineEvent, EngineInfo, EngineJob, EngineStats, LmProtocol } from './protocol.ts';

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

  /** The gRPC status name of this failure: the servers' one error mapping reads it. */
  get code(): 'CANCELLED' | 'INVALID_ARGUMENT' | 'RESOURCE_EXHAUSTED' | 'INTERNAL' {
    if (this.cancelled) return 'CANCELLED';
    if (this.invalid) return 'INVALID_ARGUMENT';
    return this.exhausted ? 'RESOURCE_EXHAUSTED' : 'INTERNAL';
  }
}

function fromWire(error: WireError): EngineError {
  return new EngineError(
    error.message,
    error.cancelled === true,
    error.invalid === true,
    error.exhausted === true,
  );
}

export class LmEngine {
  readonly info: EngineInfo;
  readonly #channel: WorkerChannel<LmProtocol>;
  /** Called once if the worker thread dies (not on close()): the service reports NOT_SERVING. */
  onFailure: ((error: Error) => void) | undefined;
  /** Called with the engine's batching stats about once a second. */
  onStats: ((stats: EngineStats) => void) | undefined;
  #stats: EngineStats | undefined;

  private constructor(channel: WorkerChannel<LmProtocol>, info: EngineInfo) {
    this.#channel = channel;
    this.info = info;
    channel.onFailure = (error) => this.onFailure?.(error);
  }

  static async start(dir: string, options: EngineOptions = {}): Promise<LmEngine> {
    let onStats: (stats: EngineStats) => void = () => {};
    const { channel, ready } = await WorkerChannel.start<LmProtocol>(
      new URL('./worker.ts', import.meta.url),
      {
        name: 'LM engine',
        workerData: { dir, options },
        decodeError: fromWire,
        onNotice: (stats) => onStats(stats),
      },
    ).catch((error: Error) => {
      throw new Error(`LM engine failed to start: ${error.message}`);
    });
    const engine = new LmEngine(channel, ready);
    onStats = (stats) => engine.#onStats(stats);
    return engine;
  }

  #onStats(stats: EngineStats): void {
    this.#stats = stats;
    this.onStats?.(stats);
  }

  /** Runs a job in the worker; yields its events; throws EngineError on failure or cancellation. */
  async *run(job: EngineJob, signal?: AbortSignal): AsyncGenerator<EngineEvent> {
    try {
      yield* this.#channel.stream('run', job, { signal });
    } catch (error) {
      // A dead or closed thread is an engine failure like any other (INTERNAL at the service).
      if (error instanceof EngineError) throw error;
      throw new EngineError(error instanceof Error ? error.message : String(error), false, false);
    }
  }

  /** The latest stats the worker sent (undefined before the first). */
  get stats(): EngineStats | undefined {
    return this.#stats;
  }

  /** Stops the thread at once (a graph run in progress is not waited for). */
  async close(): Promise<void> {
    await this.#channel.close(0);
  }
}
