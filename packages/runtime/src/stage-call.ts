// The one way a service calls a stage: a named stage over one load-balanced grpc-js channel
// (stage-client.ts) plus what every call needs and nothing else owns:
// - attempts: a call that fails with UNAVAILABLE (a replica died mid-call or refused it) runs again,
//   whole, up to `attempts` times in all (`--stage-attempts`); nothing under it retries on its own
//   (grpc-js has no retry policy, see stage-client.ts), so 1 means exactly one attempt;
// - the deadline of each attempt (`--stage-timeout-ms`), sent to the stage as the gRPC deadline;
// - the call context: the request id and job id of the scope the call runs in go out as the
//   x-request-id and x-job-id headers (stage-client.ts reads them from logger.ts's scope);
// - error translation: a stage that cannot be reached or did not answer in time becomes a
//   StageError that names the stage and nothing internal ("the DiT stage is unavailable, retry
//   later"); the detail (addresses, grpc-js's text) goes to the log. A stage's own answers
//   (INVALID_ARGUMENT naming a field, RESOURCE_EXHAUSTED...) keep their status and message.
import type { DescService } from '@bufbuild/protobuf';
import { type CallOptions, type Client, Code, ConnectError } from '@connectrpc/connect';
import type { Logger } from './logger.ts';
import { retry } from './retry.ts';
import { createStageClient } from './stage-client.ts';
import { StatusError, type StatusName, statusName } from './status.ts';

export interface StageOptions {
  /** Short name in logs and metrics: "lm", "dit", "vae". */
  name: string;
  /** How clients read it: "LM", "DiT", "VAE". */
  label: string;
  /** Attempts per call including the first (UNAVAILABLE runs again). At least 1. */
  attempts: number;
  /** Deadline of one attempt in milliseconds. */
  timeoutMs: number;
  logger?: Logger;
}

export interface CallSettings {
  /** The caller's cancel (client gone, job cancelled, shutdown). */
  signal?: AbortSignal;
  /** Overrides the stage's deadline for this call (Info, warm-up). */
  timeoutMs?: number;
  /** Overrides the stage's attempts for this call. */
  attempts?: number;
}

/** A stage call that failed: its status, and a message fit for any client. */
export class StageError extends StatusError {
  readonly stage: string;

  constructor(stage: string, code: StatusName, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
    this.name = 'StageError';
    this.stage = stage;
  }
}

const FIRST_RETRY_DELAY_MS = 100;
const MAX_RETRY_DELAY_MS = 1_000;

export class Stage<S extends DescService> {
  readonly name: string;
  readonly label: string;
  readonly #client: Client<S>;
  readonly #options: StageOptions;
  readonly #close: () => void;

  /** Calls through `client` (connectStage's grpc-js channel; an in-process transport in benchmarks). */
  constructor(client: Client<S>, options: StageOptions, close: () => void = () => {}) {
    if (!Number.isInteger(options.attempts) || options.attempts < 1)
      throw new Error(`stage attempts must be an integer >= 1; got ${options.attempts}`);
    this.name = options.name;
    this.label = options.label;
    this.#options = options;
    this.#client = client;
    this.#close = close;
  }

  /**
   * Runs fn — one whole stage call: it sends the requests and consumes the answers — with the
   * stage's deadline and attempts. fn must be safe to run again (stage calls are pure functions
   * of their input, seeds included); each attempt gets fresh call options.
   */
  call<T>(
    fn: (client: Client<S>, options: CallOptions) => Promise<T>,
    settings: CallSettings = {},
  ): Promise<T> {
    const { signal } = settings;
    const timeoutMs = settings.timeoutMs ?? this.#options.timeoutMs;
    return retry((attempt) => this.#attempt(fn, { signal, timeoutMs }, attempt), {
      attempts: settings.attempts ?? this.#options.attempts,
      retryable: (error) => error instanceof StageError && error.code === 'UNAVAILABLE',
      firstDelayMs: FIRST_RETRY_DELAY_MS,
      maxDelayMs: MAX_RETRY_DELAY_MS,
      ...(signal ? { signal } : {}),
      onRetry: (attempt, error) =>
        this.#options.logger?.warn('stage call failed; running it again', {
          stage: this.name,
          attempt,
          error: (error as Error).message,
        }),
    });
  }

  close(): void {
    this.#close();
  }

  async #attempt<T>(
    fn: (client: Client<S>, options: CallOptions) => Promise<T>,
    options: CallOptions,
    attempt: number,
  ): Promise<T> {
    try {
      return await fn(this.#client, options);
    } catch (error) {
      throw this.#translate(error, options, attempt);
    }
  }

  /** grpc-js failures of the hop → StageError without internals; everything else unchanged. */
  #translate(error: unknown, options: CallOptions, attempt: number): unknown {
    if (!(error instanceof ConnectError)) return error;
    const { label, name } = this;
    if (error.code === Code.Unavailable || error.code === Code.DeadlineExceeded) {
      this.#options.logger?.warn('stage call failed', {
        stage: name,
        attempt,
        code: Code[error.code],
        error: error.rawMessage,
      });
    }
    switch (error.code) {
      case Code.Unavailable:
        return new StageError(name, 'UNAVAILABLE', `the ${label} stage is unavailable, retry later`, {
          cause: error,
        });
      case Code.DeadlineExceeded:
        return new StageError(
          name,
          'DEADLINE_EXCEEDED',
          `the ${label} stage did not finish within ${options.timeoutMs} ms`,
          { cause: error },
        );
      case Code.Canceled:
        // Our own cancel: the caller's signal says why (the edge maps it).
        if (options.signal?.aborted) return options.signal.reason;
        return new StageError(name, 'CANCELLED', `the ${label} stage cancelled the call`, { cause: error });
      default:
        return new StageError(name, statusName(error), error.rawMessage, { cause: error });
    }
  }
}

/** A stage over its own load-balanced grpc-js channel to `target` (see StageClientOptions.target). */
export function connectStage<S extends DescService>(
  service: S,
  options: StageOptions & { target: string },
): Stage<S> {
  const client = createStageClient(service, { target: options.target });
  return new Stage<S>(client, options, () => client.close());
}
