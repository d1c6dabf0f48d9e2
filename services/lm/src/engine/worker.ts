// The engine's thread: owns the LM sessions, the KV caches, sampling and the FSM. onnxruntime-node's
// run() blocks the thread it is called on, so none of this may run on the service's event loop.
// Jobs run one at a time in arrival order; events go back with postMessage as they happen.
import { parentPort, workerData } from 'node:worker_threads';
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

let chain: Promise<void> = Promise.resolve();

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
    });
  }
}

port.on('message', (message: ToWorker) => {
  chain = chain.then(() => run(message));
});
