// The engine's thread: owns the LM sessions, the KV caches, sampling and the FSM. onnxruntime-node's
// run() blocks the thread it is called on, so none of this may run on the service's event loop.
// Jobs run concurrently as async programs; their sequences share the continuous batcher's running
// batches. Events go back with postMessage as they happen; engine stats once a second.
import { parentPort, workerData } from 'node:worker_threads';
import { BudgetError } from './batcher.ts';
import { CancelledError, MeteredRunner, RequestError } from './graphs.ts';
import { type EngineOptions, engineInfo, type LmRuntime, openLmRuntime, runJob } from './jobs.ts';
import type { FromWorker, ToWorker } from './protocol.ts';

const port = parentPort!;
const { dir, options } = workerData as { dir: string; options: EngineOptions };
const post = (message: FromWorker) => port.postMessage(message);

let runtime: LmRuntime;
try {
  runtime = await openLmRuntime(dir, options);
  post({ kind: 'ready', info: engineInfo(runtime) });
} catch (error) {
  post({ kind: 'failed', message: error instanceof Error ? error.message : String(error) });
  process.exit(1);
}

setInterval(() => post({ kind: 'stats', stats: runtime.batcher.stats() }), 1000).unref();

async function run({ id, job, cancel }: ToWorker): Promise<void> {
  const runner = new MeteredRunner(new Int32Array(cancel));
  try {
    runner.throwIfCancelled();
    await runJob(runtime, job, (event) => post({ kind: 'event', id, event }), runner);
    post({ kind: 'end', id });
  } catch (error) {
    post({
      kind: 'error',
      id,
      message: error instanceof Error ? error.message : String(error),
      cancelled: error instanceof CancelledError,
      invalid: error instanceof RequestError,
      exhausted: error instanceof BudgetError,
    });
  }
}

port.on('message', (message: ToWorker) => {
  void run(message);
});
