// The one retry loop: stage calls (UNAVAILABLE: a replica died, try another) and the job layer's
// writes to NATS (retried while NATS is unreachable) both run through it, so attempts, backoff and
// cancellation behave the same everywhere.

export interface RetryPolicy {
  /** Attempts including the first; Infinity retries until success, a non-retryable error or the signal. */
  attempts: number;
  retryable: (error: unknown) => boolean;
  /** Delay before the second attempt, doubled after each further one up to maxDelayMs. */
  firstDelayMs: number;
  maxDelayMs: number;
  /** Stops the loop with the signal's reason (no attempt starts once it has aborted). */
  signal?: AbortSignal;
  /** Called before waiting for the next attempt. */
  onRetry?: (attempt: number, error: unknown) => void;
}

/** Runs fn(attempt) until it succeeds, fails for a reason that is not retryable, or runs out of attempts. */
export async function retry<T>(fn: (attempt: number) => Promise<T>, policy: RetryPolicy): Promise<T> {
  let delay = policy.firstDelayMs;
  for (let attempt = 1; ; attempt++) {
    policy.signal?.throwIfAborted();
    try {
      return await fn(attempt);
    } catch (error) {
      if (attempt >= policy.attempts || policy.signal?.aborted || !policy.retryable(error)) throw error;
      policy.onRetry?.(attempt, error);
      await sleep(delay, policy.signal);
      delay = Math.min(policy.maxDelayMs, delay * 2);
    }
  }
}

/** Resolves after ms; rejects with the signal's reason when it aborts first. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
