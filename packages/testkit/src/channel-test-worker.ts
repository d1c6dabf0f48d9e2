// A real worker thread for WorkerChannel's tests: each method exercises one part of the channel
// (results, events, transfers, cancellation by message and by flag, errors, crashes, close).

import type { Method } from '@acestep/runtime/worker-channel';
import { serveChannel, Transfer } from '@acestep/runtime/worker-channel-serve';

export class FieldError extends Error {
  override name = 'FieldError';
  readonly field: string;
  constructor(field: string, message: string) {
    super(message);
    this.field = field;
  }
}

export interface TestProtocol {
  ready: { greeting: string };
  methods: {
    echo: Method<string, string>;
    count: Method<{ to: number }, number, number>;
    /** Returns its input bytes doubled; the result's buffer is transferred back. */
    double: Method<Float32Array, Float32Array>;
    /** Emits ticks until its AbortSignal aborts (the cancel message), then rejects. */
    waitForCancel: Method<undefined, never, string>;
    /** Busy-loops without yielding, polling only the shared cancel flag. */
    spinUntilFlag: Method<undefined, number>;
    fail: Method<string, never>;
    /** Kills the thread from inside a call (an uncaught error). */
    crash: Method<undefined, never>;
    /** Ends the thread with process.exit(code). */
    exit: Method<number, never>;
  };
  notice: { tick: number };
}

export interface TestWorkerData {
  failSetup?: boolean;
  /** Set to 1 by the close hook. */
  closed?: SharedArrayBuffer;
}

serveChannel<TestProtocol>(async ({ notify, workerData }) => {
  const { failSetup, closed } = (workerData ?? {}) as TestWorkerData;
  if (failSetup) throw new FieldError('model_dir', 'no such model');
  notify({ tick: 1 });
  return {
    ready: { greeting: 'hello' },
    handlers: {
      echo: (text) => text,
      count: async ({ to }, { emit }) => {
        for (let i = 1; i <= to; i++) emit(i);
        return to;
      },
      double: (data) => {
        const out = data.map((x) => x * 2);
        return new Transfer(out, [out.buffer]);
      },
      waitForCancel: (_, { signal, emit }) =>
        new Promise((_resolve, reject) => {
          emit('started');
          const stop = () => reject(new Error('stopped by cancel message'));
          if (signal.aborted) stop();
          else signal.addEventListener('abort', stop);
        }),
      spinUntilFlag: (_, { cancelFlag }) => {
        let spins = 0;
        while (Atomics.load(cancelFlag, 0) === 0) spins++;
        return spins;
      },
      fail: (field) => {
        throw new FieldError(field, `${field}: must be positive`);
      },
      crash: () => {
        setImmediate(() => {
          throw new Error('boom');
        });
        return new Promise(() => {});
      },
      exit: (code) => process.exit(code),
    },
    close: () => {
      if (closed) Atomics.store(new Int32Array(closed), 0, 1);
    },
  };
});
