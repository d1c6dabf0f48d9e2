// One request/response channel between a main thread and a worker thread that keeps state between
// calls (an engine with KV caches, a model set's sessions, stream encoders). The worker side
// (`serveChannel`, worker-channel-serve.ts) registers one handler per method; the main side calls
// them by name and gets:
// - correlation: every call has an id; replies and events find their caller;
// - streamed events: a handler may emit events while it runs (`onEvent`, or `stream()`);
// - cancellation: an AbortSignal sets the call's shared flag at once (for loops that poll it
//   between graph runs without yielding to the event loop) and sends a cancel message (which aborts
//   the handler's own AbortSignal); the call still ends with the worker's own reply;
// - transfer lists both ways (ArrayBuffers move, they are not copied);
// - worker death (uncaught error or exit) rejects every pending call with an error naming the
//   thread, and every later call; `onFailure` fires once (not on close());
// - close(): the worker's close hook runs, then the thread is terminated.
//
// Written here rather than taken from an RPC library: birpc and comlink correlate calls, but
// neither has per-call event streams, cancellation that reaches a thread busy in a native call,
// or a defined end for calls pending when the thread dies. Stateless task pools (one call in, one
// result out, any thread) use piscina instead (docs/architecture.md, "Worker threads").
import { Worker } from 'node:worker_threads';
import { pushable } from 'it-pushable';
import {
  type FromWorker,
  fromWireError,
  type Protocol,
  type ToWorker,
  type Transferable,
  type WireError,
} from './worker-channel-wire.ts';

export * from './worker-channel-wire.ts';

export interface ChannelOptions<P extends Protocol> {
  /** Names the thread in errors ("<name> thread exited with code 1") and in /proc. */
  name: string;
  workerData?: unknown;
  /** Rebuilds the worker's errors (startup failure and call errors) as the caller's error types. */
  decodeError?: (wire: WireError) => Error;
  /** Unsolicited messages from the worker (e.g. stats once a second). */
  onNotice?: (notice: P['notice']) => void;
  /** An idle channel does not keep the process alive. */
  unref?: boolean;
}

export interface CallOptions<Event> {
  signal?: AbortSignal | undefined;
  transfer?: readonly Transferable[] | undefined;
  onEvent?: ((event: Event) => void) | undefined;
}

interface Pending {
  resolve: (value: unknown) => void;
  reject: (error: Error) => void;
  onEvent: ((event: unknown) => void) | undefined;
}

type MethodName<P extends Protocol> = keyof P['methods'] & string;
type RequestOf<P extends Protocol, M extends MethodName<P>> = P['methods'][M]['request'];
type ResultOf<P extends Protocol, M extends MethodName<P>> = P['methods'][M]['result'];
type EventOf<P extends Protocol, M extends MethodName<P>> = P['methods'][M]['event'];

export class WorkerChannel<P extends Protocol> {
  readonly name: string;
  /** Resolves with the worker's ready value; rejects if it failed to start or died first. */
  readonly ready: Promise<P['ready']>;
  /** Called once if the thread dies while not closing: pending and later calls fail. */
  onFailure: ((error: Error) => void) | undefined;
  readonly #worker: Worker;
  readonly #pending = new Map<number, Pending>();
  readonly #decode: (wire: WireError) => Error;
  readonly #onNotice: ((notice: P['notice']) => void) | undefined;
  #nextId = 0;
  #failure: Error | undefined;
  #closing = false;
  #settleReady: { resolve: (value: unknown) => void; reject: (error: Error) => void } | undefined;
  #closed: (() => void) | undefined;

  /** Starts the thread; calls may be made at once (they run once the worker's setup is done). */
  constructor(url: URL, options: ChannelOptions<P>) {
    this.name = options.name;
    this.#decode = options.decodeError ?? fromWireError;
    this.#onNotice = options.onNotice;
    this.ready = new Promise((resolve, reject) => {
      this.#settleReady = { resolve, reject };
    });
    this.ready.catch(() => {}); // observed by start() or by the calls that fail with it
    this.#worker = new Worker(url, { name: options.name, workerData: options.workerData });
    if (options.unref) this.#worker.unref();
    this.#worker.on('message', (message: FromWorker) => this.#onMessage(message));
    this.#worker.on('error', (error) =>
      this.#fail(new Error(`${this.name} thread failed: ${error.message}`)),
    );
    this.#worker.on('exit', (code) => this.#fail(new Error(`${this.name} thread exited with code ${code}`)));
  }

  /** Starts the thread and waits until it is ready; a failed start terminates it and throws. */
  static async start<P extends Protocol>(
    url: URL,
    options: ChannelOptions<P>,
  ): Promise<{ channel: WorkerChannel<P>; ready: P['ready'] }> {
    const channel = new WorkerChannel<P>(url, options);
    try {
      return { channel, ready: await channel.ready };
    } catch (error) {
      await channel.close(0);
      throw error;
    }
  }

  /** Calls currently waiting for the worker's reply. */
  get pending(): number {
    return this.#pending.size;
  }

  /** Runs a method in the worker; resolves with its result, rejects with its (decoded) error. */
  call<M extends MethodName<P>>(
    method: M,
    request: RequestOf<P, M>,
    options: CallOptions<EventOf<P, M>> = {},
  ): Promise<ResultOf<P, M>> {
    if (this.#failure) return Promise.reject(this.#failure);
    const id = this.#nextId++;
    const cancel = new SharedArrayBuffer(4);
    const { signal } = options;
    const onAbort = () => {
      Atomics.store(new Int32Array(cancel), 0, 1);
      if (this.#pending.has(id)) this.#post({ t: 'cancel', id });
    };
    return new Promise<ResultOf<P, M>>((resolve, reject) => {
      const done = () => signal?.removeEventListener('abort', onAbort);
      this.#pending.set(id, {
        resolve: (value) => {
          done();
          resolve(value as ResultOf<P, M>);
        },
        reject: (error) => {
          done();
          reject(error);
        },
        onEvent: options.onEvent as ((event: unknown) => void) | undefined,
      });
      this.#post({ t: 'call', id, method, request, cancel }, options.transfer);
      if (signal?.aborted) onAbort();
      else signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  /**
   * A call as an async stream of its events; the generator returns the call's result. Leaving the
   * loop early cancels the call and waits until the worker has let go of it.
   */
  async *stream<M extends MethodName<P>>(
    method: M,
    request: RequestOf<P, M>,
    options: Omit<CallOptions<EventOf<P, M>>, 'onEvent'> = {},
  ): AsyncGenerator<EventOf<P, M>, ResultOf<P, M>> {
    const events = pushable<EventOf<P, M>>({ objectMode: true });
    const stop = new AbortController();
    const signal = options.signal ? AbortSignal.any([options.signal, stop.signal]) : stop.signal;
    let outcome: { ok: true; value: ResultOf<P, M> } | { ok: false; error: unknown } | undefined;
    const call = this.call(method, request, {
      signal,
      transfer: options.transfer,
      onEvent: (event) => events.push(event),
    }).then(
      (value) => {
        outcome = { ok: true, value };
      },
      (error: unknown) => {
        outcome = { ok: false, error };
      },
    );
    void call.finally(() => events.end());
    try {
      // Events that arrived before a failure are still delivered, then the failure is thrown.
      yield* events;
    } finally {
      if (!outcome) stop.abort();
      await call;
    }
    if (!outcome) throw new Error(`${this.name}: stream ended without an outcome`);
    if (!outcome.ok) throw outcome.error;
    return outcome.value;
  }

  /**
   * Runs the worker's close hook (waiting at most `timeoutMs`: a thread inside a native call cannot
   * answer), then terminates the thread. Pending calls fail; timeoutMs 0 terminates at once.
   */
  async close(timeoutMs = 5000): Promise<void> {
    if (this.#closing) return;
    this.#closing = true;
    if (!this.#failure && timeoutMs > 0) {
      const closed = new Promise<void>((resolve) => {
        this.#closed = resolve;
      });
      this.#post({ t: 'close' });
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([closed, new Promise((resolve) => (timer = setTimeout(resolve, timeoutMs)))]);
      clearTimeout(timer);
    }
    this.#failure ??= new Error(`${this.name} closed`);
    this.#rejectAll(this.#failure);
    await this.#worker.terminate();
  }

  #post(message: ToWorker, transfer?: readonly Transferable[]): void {
    this.#worker.postMessage(message, transfer as Transferable[]);
  }

  #onMessage(message: FromWorker): void {
    switch (message.t) {
      case 'ready':
        this.#settleReady?.resolve(message.value);
        this.#settleReady = undefined;
        return;
      case 'failed':
        this.#fail(this.#decode(message.error));
        return;
      case 'notice':
        this.#onNotice?.(message.value as P['notice']);
        return;
      case 'closed':
        this.#closed?.();
        return;
      case 'event':
        this.#pending.get(message.id)?.onEvent?.(message.event);
        return;
      case 'result':
        this.#take(message.id)?.resolve(message.value);
        return;
      case 'error':
        this.#take(message.id)?.reject(this.#decode(message.error));
        return;
    }
  }

  #take(id: number): Pending | undefined {
    const pending = this.#pending.get(id);
    this.#pending.delete(id);
    return pending;
  }

  #fail(error: Error): void {
    this.#settleReady?.reject(error);
    this.#settleReady = undefined;
    if (this.#failure) return;
    this.#failure = error;
    this.#rejectAll(error);
    if (!this.#closing) this.onFailure?.(error);
  }

  #rejectAll(error: Error): void {
    const pending = [...this.#pending.values()];
    this.#pending.clear();
    for (const p of pending) p.reject(error);
  }
}
