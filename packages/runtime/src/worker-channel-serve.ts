// The worker side of WorkerChannel (worker-channel.ts): runs the worker's setup once, then answers
// each call with its method's handler. Calls run concurrently, as they arrive; a handler that
// wants them in order awaits its own queue. Kept apart from worker-channel.ts so that a worker
// thread loads only this file and the wire types, none of the main side.
import { parentPort, workerData } from 'node:worker_threads';
import {
  type FromWorker,
  type Protocol,
  type ToWorker,
  type Transferable,
  toWireError,
  type WireError,
} from './worker-channel-wire.ts';

export * from './worker-channel-wire.ts';

/** What a handler gets besides its request. */
export interface CallContext<Event> {
  /** Aborted when the caller's cancel message arrives (the worker must reach its event loop). */
  signal: AbortSignal;
  /** Set to 1 the moment the caller cancels: loops that never yield to the event loop poll it. */
  cancelFlag: Int32Array;
  /** Sends one event to the caller, moving the buffers in `transfer`. */
  emit(event: Event, transfer?: readonly Transferable[]): void;
}

/** A handler's result with the buffers to move rather than copy. */
export class Transfer<T> {
  readonly value: T;
  readonly list: readonly Transferable[];
  constructor(value: T, list: readonly Transferable[]) {
    this.value = value;
    this.list = list;
  }
}

export type Handlers<P extends Protocol> = {
  [M in keyof P['methods']]: (
    request: P['methods'][M]['request'],
    context: CallContext<P['methods'][M]['event']>,
  ) =>
    | P['methods'][M]['result']
    | Transfer<P['methods'][M]['result']>
    | Promise<P['methods'][M]['result'] | Transfer<P['methods'][M]['result']>>;
};

export interface Served<P extends Protocol> {
  ready: P['ready'];
  handlers: Handlers<P>;
  /** Runs on close() before the thread is terminated (e.g. releases sessions). */
  close?: () => Promise<void> | void;
}

export interface ServeOptions {
  /** How errors cross (default `toWireError`: name, message, plain own fields). */
  encodeError?: (error: unknown) => WireError;
  /** Exit the thread after a failed setup (default: stay, the main side terminates it). */
  exitOnSetupFailure?: boolean;
}

export interface Setup {
  workerData: unknown;
  /** Sends an unsolicited message to the main side. */
  notify(notice: unknown): void;
}

export function serveChannel<P extends Protocol>(
  setup: (context: Setup) => Promise<Served<P>> | Served<P>,
  options: ServeOptions = {},
): void {
  const port = parentPort;
  if (!port) throw new Error('serveChannel runs in a worker thread');
  const encode = options.encodeError ?? toWireError;
  const post = (message: FromWorker, transfer?: readonly Transferable[]) =>
    port.postMessage(message, transfer as Transferable[]);
  const controllers = new Map<number, AbortController>();
  // Calls that arrive during setup wait for it (the port delivers them as soon as we listen).
  const served = (async () => setup({ workerData, notify: (value) => post({ t: 'notice', value }) }))();

  const run = async (message: Extract<ToWorker, { t: 'call' }>, s: Served<P>) => {
    const { id } = message;
    const controller = new AbortController();
    controllers.set(id, controller);
    const cancelFlag = new Int32Array(message.cancel);
    if (Atomics.load(cancelFlag, 0) !== 0) controller.abort(new Error('cancelled'));
    try {
      const handler = s.handlers[message.method as keyof P['methods']];
      if (!handler) throw new Error(`unknown method ${message.method}`);
      const emit = (event: unknown, transfer?: readonly Transferable[]) =>
        post({ t: 'event', id, event }, transfer);
      const out = await handler(message.request as never, { signal: controller.signal, cancelFlag, emit });
      if (out instanceof Transfer) post({ t: 'result', id, value: out.value }, out.list);
      else post({ t: 'result', id, value: out });
    } catch (error) {
      post({ t: 'error', id, error: encode(error) });
    } finally {
      controllers.delete(id);
    }
  };

  port.on('message', (message: ToWorker) => {
    if (message.t === 'cancel') {
      controllers.get(message.id)?.abort(new Error('cancelled'));
      return;
    }
    void served.then(
      async (s) => {
        if (message.t === 'call') return run(message, s);
        await s.close?.();
        post({ t: 'closed' });
      },
      // Setup failed: the main side already has 'failed' and rejects every call itself.
      () => {},
    );
  });

  served.then(
    (s) => post({ t: 'ready', value: s.ready }),
    (error: unknown) => {
      post({ t: 'failed', error: encode(error) });
      if (options.exitOnSetupFailure) process.exit(1);
    },
  );
}
