// A job fails only for its own reasons. While NATS is unreachable (a restart,
// a network blip) every KV write, object write and acknowledgement of a running
// job times out; before this, the first timeout ended the job as FAILED
// ("timeout") for good. Writes are now retried until NATS answers again or the
// run's own signal (cancel, deadline, shutdown) ends them.
import { type Logger, retry } from '@acestep/runtime';

const TRANSIENT_NAMES = new Set([
  'TimeoutError',
  'NoResponders',
  'NoRespondersError',
  'ConnectionError',
  'RequestError',
  'JetStreamNotEnabled',
]);

/** True for failures of the connection to NATS rather than of the request itself. */
export function isTransientNatsError(error: unknown): boolean {
  for (let e: unknown = error, depth = 0; e instanceof Error && depth < 4; e = e.cause, depth++) {
    if (TRANSIENT_NAMES.has(e.name)) return true;
    // JetStream answers 503 while its meta leader is being elected after a restart.
    if ('code' in e && (e.code === 503 || e.code === '503')) return true;
    if (/\btimeout\b|disconnect|no responders|ECONNREFUSED|ECONNRESET/i.test(e.message)) return true;
  }
  return false;
}

const FIRST_DELAY_MS = 100;
const MAX_DELAY_MS = 2_000;

/**
 * Runs `fn` until it succeeds or fails for a non-transient reason; between transient failures it
 * waits 100 ms doubling to 2 s (the runtime's one retry loop). Stops with the signal's reason when
 * `signal` aborts.
 */
export function retryTransient<T>(
  what: string,
  fn: () => Promise<T>,
  signal: AbortSignal,
  logger?: Logger,
): Promise<T> {
  return retry(fn, {
    attempts: Number.POSITIVE_INFINITY,
    retryable: isTransientNatsError,
    firstDelayMs: FIRST_DELAY_MS,
    maxDelayMs: MAX_DELAY_MS,
    signal,
    onRetry: (attempt) => {
      if (attempt === 1) logger?.warn('NATS unreachable; retrying until it answers', { what });
    },
  });
}
