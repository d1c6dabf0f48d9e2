// Admission control for a stage: at most `concurrency` jobs run, at most
// `maxQueue` wait, and anything beyond is refused at once with
// RESOURCE_EXHAUSTED (the queue never grows without bound). A waiting job whose
// caller cancels leaves the queue without running.
import { Code, ConnectError } from '@connectrpc/connect';
import type { Counter, Gauge } from 'prom-client';

export interface WorkQueueOptions {
  name: string;
  concurrency: number;
  maxQueue: number;
  depthGauge?: Gauge<'queue'>;
  rejectedCounter?: Counter<'queue'>;
}

interface Waiter {
  start: () => void;
  fail: (error: unknown) => void;
}

export class WorkQueue {
  readonly #options: WorkQueueOptions;
  readonly #waiting: Waiter[] = [];
  #running = 0;

  constructor(options: WorkQueueOptions) {
    this.#options = options;
  }

  get depth(): number {
    return this.#waiting.length;
  }

  get running(): number {
    return this.#running;
  }

  /** Runs job when a slot is free; rejects with RESOURCE_EXHAUSTED when the queue is full. */
  async run<T>(job: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    const release = await this.acquire(signal);
    try {
      return await job();
    } finally {
      release();
    }
  }

  /**
   * Waits for a slot and returns its release function, for work that streams
   * results (an async generator holds the slot until it ends).
   */
  async acquire(signal?: AbortSignal): Promise<() => void> {
    await this.#admit(signal);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.#running--;
      this.#next();
    };
  }

  #admit(signal?: AbortSignal): Promise<void> {
    signal?.throwIfAborted();
    if (this.#running < this.#options.concurrency) {
      this.#running++;
      return Promise.resolve();
    }
    if (this.#waiting.length >= this.#options.maxQueue) {
      this.#options.rejectedCounter?.inc({ queue: this.#options.name });
      throw new ConnectError(
        `${this.#options.name} queue is full (${this.#options.maxQueue} waiting); retry later`,
        Code.ResourceExhausted,
      );
    }
    return new Promise<void>((resolve, reject) => {
      const waiter: Waiter = {
        start: () => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        },
        fail: reject,
      };
      const onAbort = () => {
        const i = this.#waiting.indexOf(waiter);
        if (i >= 0) this.#waiting.splice(i, 1);
        this.#report();
        reject(ConnectError.from(signal?.reason ?? new Error('cancelled'), Code.Canceled));
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#waiting.push(waiter);
      this.#report();
    });
  }

  #next(): void {
    const waiter = this.#waiting.shift();
    this.#report();
    if (!waiter) return;
    this.#running++;
    waiter.start();
  }

  #report(): void {
    this.#options.depthGauge?.set({ queue: this.#options.name }, this.#waiting.length);
  }
}
