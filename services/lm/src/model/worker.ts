// The engine's thread: owns the LM sessions, the KV caches, sampling and the FSM. onnxruntime-node's
// run() blocks the thread it is called on, so none of this may run on the service's event loop.
// Jobs run concurrently as async programs; their sequences share the continuous batcher's running
// batches. Events go back as they happen; engine stats once a second.
import { serveChannel, toWireError } from '@acestep/runtime/worker-channel-serve';
import { BudgetError } from './batcher.ts';
import { CancelledError, MeteredRunner, RequestError } from './graphs.ts';
import { type EngineOptions, engineInfo, openLmRuntime, runJob } from './jobs.ts';
import type { EngineErrorFlags, LmProtocol } from './protocol.ts';

serveChannel<LmProtocol>(
  async ({ workerData, notify }) => {
    const { dir, options } = workerData as { dir: string; options: EngineOptions };
    const runtime = await openLmRuntime(dir, options);
    setInterval(() => notify(runtime.batcher.stats()), 1000).unref();
    return {
      ready: engineInfo(runtime),
      handlers: {
        async run(job, { cancelFlag, emit }) {
          // The runner checks the shared flag at every step boundary, even inside a long decode.
          const runner = new MeteredRunner(cancelFlag);
          runner.throwIfCancelled();
          await runJob(runtime, job, emit, runner);
        },
      },
    };
  },
  {
    encodeError: (error) =>
      ({
        ...toWireError(error),
        cancelled: error instanceof CancelledError,
        invalid: error instanceof RequestError,
        exhausted: error instanceof BudgetError,
      }) satisfies EngineErrorFlags,
    exitOnSetupFailure: true,
  },
);
