// Stream encoders on worker threads, so no encode ever runs on the caller's event loop. Streams
// are spread over `size` threads (the least busy first); items of a batch therefore encode in
// parallel up to the cores given. The native MP3 encoder is a child process of a worker thread.
// Each thread is a `@acestep/runtime/worker-channel` (encoder-worker.ts has the protocol), not a
// task pool (piscina, workerpool): those run one task per call, while a stream encoder is a
// long-lived conversation of many writes with one state.
import { availableParallelism } from 'node:os';
import { WorkerChannel } from '@acestep/runtime/worker-channel';
import type { EncoderProtocol } from './encoder-worker.ts';
import type { StreamEncoder, StreamEncodeSpec } from './stream-encoder.ts';

export interface EncoderPoolOptions {
  /** Worker threads (default: the machine's parallelism). */
  size?: number;
  /** Writes a stream may have in flight before write() waits (default 2: bounded memory per item). */
  maxInFlight?: number;
}

interface StreamState {
  inFlight: number;
  waiters: (() => void)[];
  error: Error | undefined;
  ended: { resolve: () => void; reject: (e: Error) => void } | undefined;
  thread: Thread;
}

interface Thread {
  channel: WorkerChannel<EncoderProtocol>;
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
      inFlight: 0,
      waiters: [],
      error: undefined,
      ended: undefined,
      thread,
    };
    this.#streams.set(id, state);
    thread.streams++;
    const { channel } = thread;
    // The stream lives as long as its `open` call: the bytes come as its events.
    channel.call('open', { id, spec }, { onEvent: (bytes) => this.#streams.has(id) && onData(bytes) }).then(
      () => this.#finish(id),
      (error: Error) => this.#finish(id, error),
    );
    const fail = () => state.error ?? new Error('encoder stream closed');
    return {
      write: async (channels) => {
        while (state.inFlight >= this.#maxInFlight && !state.error)
          await new Promise<void>((r) => state.waiters.push(r));
        if (state.error || !this.#streams.has(id)) throw fail();
        state.inFlight++;
        const { request, transfer } = writeRequest(id, channels);
        channel.call('write', request, { transfer }).then(
          () => {
            state.inFlight--;
            state.waiters.shift()?.();
          },
          (error: Error) => this.#finish(id, error),
        );
      },
      end: () =>
        new Promise<void>((resolve, reject) => {
          if (state.error || !this.#streams.has(id)) return reject(fail());
          state.ended = { resolve, reject };
          channel.call('end', { id }).then(
            () => this.#finish(id),
            (error: Error) => this.#finish(id, error),
          );
        }),
      abort: () => {
        if (!this.#streams.has(id)) return;
        channel.call('abort', { id }).catch(() => {}); // late bytes are dropped on purpose
        this.#finish(id, new Error('encoder stream aborted'));
      },
    };
  }

  /** Stops the threads; open streams fail. */
  async close(): Promise<void> {
    for (const id of [...this.#streams.keys()]) this.#finish(id, new Error('encoder pool closed'));
    await Promise.all(this.#threads.map((t) => t.channel.close(0)));
  }

  #spawn(): Thread {
    // The name is the thread's name in /proc (bench/audio-path.ts counts the encoders' CPU by it);
    // unref: an idle pool never keeps the process alive.
    const channel = new WorkerChannel<EncoderProtocol>(new URL('./encoder-worker.ts', import.meta.url), {
      name: 'encoder',
      unref: true,
    });
    const thread: Thread = { channel, streams: 0 };
    // Its streams fail with the thread (their calls are rejected); later streams get a fresh one.
    channel.onFailure = () => {
      const at = this.#threads.indexOf(thread);
      if (at >= 0) this.#threads[at] = this.#spawn();
    };
    return thread;
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
function writeRequest(id: number, channels: readonly Float32Array[]) {
  const buffers = new Set(channels.map((c) => c.buffer));
  const covered = channels.reduce((n, c) => n + c.byteLength, 0);
  const owned =
    buffers.size === 1 &&
    covered === channels[0]!.buffer.byteLength &&
    !(channels[0]!.buffer instanceof SharedArrayBuffer);
  const list = owned ? [...channels] : channels.map((c) => c.slice());
  const transfer = owned ? [channels[0]!.buffer as ArrayBuffer] : list.map((c) => c.buffer as ArrayBuffer);
  return { request: { id, channels: list }, transfer };
}
