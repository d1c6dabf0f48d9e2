// Stream encoders on worker threads, so no encode ever runs on the caller's event loop. Streams
// are spread over `size` threads (the least busy first); items of a batch therefore encode in
// parallel up to the cores given. The native MP3 encoder is a child process of a worker thread.
// Written here rather than taken from a pool library (piscina, workerpool): those run one task per
// call, while a stream encoder is a long-lived conversation of many writes with one state.
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { EncoderReply, EncoderRequest } from './encoder-worker.ts';
import type { StreamEncoder, StreamEncodeSpec } from './stream-encoder.ts';

export interface EncoderPoolOptions {
  /** Worker threads (default: the machine's parallelism). */
  size?: number;
  /** Writes a stream may have in flight before write() waits (default 2: bounded memory per item). */
  maxInFlight?: number;
}

interface StreamState {
  onData: (bytes: Uint8Array) => void;
  inFlight: number;
  waiters: (() => void)[];
  error: Error | undefined;
  ended: { resolve: () => void; reject: (e: Error) => void } | undefined;
  thread: Thread;
}

interface Thread {
  worker: Worker;
  streams: number;
}

export class EncoderPool {
  readonly size: number;
  readonly #maxInFlight: number;
  readonly #threads: Thread[];
  readonly #streams = new Map<number, StreamState>();
  #nextId = 0;

  constructor(options: EncoderPoolOptions = {}) {
    this.size = Math.max(1, options.size ?? availableParallelism());
    this.#maxInFlight = Math.max(1, options.maxInFlight ?? 2);
    this.#threads = Array.from({ length: this.size }, () => this.#spawn());
  }

  /** Streams open right now. */
  get active(): number {
    return this.#streams.size;
  }

  /** Opens a stream encoder on the least busy thread; onData receives the file's bytes in order. */
  async open(spec: StreamEncodeSpec, onData: (bytes: Uint8Array) => void): Promise<StreamEncoder> {
    const thread = this.#threads.reduce((a, b) => (b.streams < a.streams ? b : a));
    const id = this.#nextId++;
    const state: StreamState = {
      onData,
      inFlight: 0,
      waiters: [],
      error: undefined,
      ended: undefined,
      thread,
    };
    this.#streams.set(id, state);
    thread.streams++;
    this.#post(thread, { op: 'open', id, spec });
    const fail = () => state.error ?? new Error('encoder stream closed');
    return {
      write: async (channels) => {
        while (state.inFlight >= this.#maxInFlight && !state.error)
          await new Promise<void>((r) => state.waiters.push(r));
        if (state.error || !this.#streams.has(id)) throw fail();
        state.inFlight++;
        const { message, transfer } = writeMessage(id, channels);
        this.#post(thread, message, transfer);
      },
      end: () =>
        new Promise<void>((resolve, reject) => {
          if (state.error || !this.#streams.has(id)) return reject(fail());
          state.ended = { resolve, reject };
          this.#post(thread, { op: 'end', id });
        }),
      abort: () => {
        if (!this.#streams.has(id)) return;
        this.#post(thread, { op: 'abort', id });
        this.#finish(id, new Error('encoder stream aborted'));
      },
    };
  }

  /** Stops the threads; open streams fail. */
  async close(): Promise<void> {
    for (const id of [...this.#streams.keys()]) this.#finish(id, new Error('encoder pool closed'));
    await Promise.all(this.#threads.map((t) => t.worker.terminate()));
  }

  #spawn(): Thread {
    // The name is the thread's name in /proc (bench/audio-path.ts counts the encoders' CPU by it).
    const worker = new Worker(new URL('./encoder-worker.ts', import.meta.url), { name: 'encoder' });
    const thread: Thread = { worker, streams: 0 };
    worker.unref(); // an idle pool never keeps the process alive
    worker.on('message', (reply: EncoderReply) => this.#onReply(reply));
    worker.on('error', (error) => {
      for (const [id, s] of this.#streams) if (s.thread === thread) this.#finish(id, error);
      const at = this.#threads.indexOf(thread);
      if (at >= 0) this.#threads[at] = this.#spawn(); // later streams get a fresh thread
    });
    return thread;
  }

  #post(thread: Thread, message: EncoderRequest, transfer: ArrayBuffer[] = []): void {
    thread.worker.postMessage(message, transfer);
  }

  #onReply(reply: EncoderReply): void {
    const state = this.#streams.get(reply.id);
    if (!state) return; // aborted: late bytes are dropped on purpose
    switch (reply.op) {
      case 'data':
        state.onData(reply.bytes);
        return;
      case 'written':
        state.inFlight--;
        state.waiters.shift()?.();
        return;
      case 'ended':
        this.#finish(reply.id);
        return;
      case 'error':
        this.#finish(reply.id, new Error(reply.message));
        return;
    }
  }

  #finish(id: number, error?: Error): void {
    const state = this.#streams.get(id);
    if (!state) return;
    this.#streams.delete(id);
    state.thread.streams--;
    state.error = error;
    for (const wake of state.waiters.splice(0)) wake();
    if (error) state.ended?.reject(error);
    else state.ended?.resolve();
  }
}

/** Moves channel buffers to the thread without copying when the views own them; copies otherwise. */
function writeMessage(id: number, channels: readonly Float32Array[]) {
  const buffers = new Set(channels.map((c) => c.buffer));
  const covered = channels.reduce((n, c) => n + c.byteLength, 0);
  const owned =
    buffers.size === 1 &&
    covered === channels[0]!.buffer.byteLength &&
    !(channels[0]!.buffer instanceof SharedArrayBuffer);
  const list = owned ? [...channels] : channels.map((c) => c.slice());
  const transfer = owned ? [channels[0]!.buffer as ArrayBuffer] : list.map((c) => c.buffer as ArrayBuffer);
  return { message: { op: 'write' as const, id, channels: list }, transfer };
}
