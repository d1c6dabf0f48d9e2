// The worker thread that owns a model set's onnxruntime sessions. onnxruntime-
// node's run() blocks the calling thread for the whole inference; running it
// here keeps the service's event loop free for I/O, health probes, admission
// and cancellation while a graph runs.
import { parentPort, workerData } from 'node:worker_threads';
import ort from 'onnxruntime-node';
import { ContractError } from './contract.ts';
import { toWire, type WireTensor } from './graph-session.ts';
import type { GraphName } from './manifest.ts';
import { type OpenOptions, openModelSet } from './modelSet.ts';

export interface WorkerInit {
  dir: string;
  options: Omit<OpenOptions, 'worker'>;
}

export type WorkerRequest =
  | { kind: 'run'; id: number; graph: GraphName; feeds: Record<string, WireTensor> }
  | { kind: 'close' };

export type WorkerReply =
  | { kind: 'ready'; graphs: Record<string, { inputNames: string[]; outputNames: string[] }> }
  | { kind: 'failed'; message: string; name: string; graph?: string; tensor?: string; detail?: string }
  | { kind: 'result'; id: number; outputs: Record<string, WireTensor> }
  | { kind: 'error'; id: number; message: string }
  | { kind: 'closed' };

const port = parentPort!;
const { dir, options } = workerData as WorkerInit;

try {
  const set = await openModelSet(dir, { ...options, worker: false });
  const graphs = Object.fromEntries(
    Object.entries(set.sessions).map(([name, s]) => [
      name,
      { inputNames: [...s.inputNames], outputNames: [...s.outputNames] },
    ]),
  );
  port.on('message', async (request: WorkerRequest) => {
    if (request.kind === 'close') {
      await set.close();
      port.postMessage({ kind: 'closed' } satisfies WorkerReply);
      return;
    }
    try {
      const feeds = Object.fromEntries(
        Object.entries(request.feeds).map(([name, t]) => [
          name,
          new ort.Tensor(t.type, t.data as never, t.dims),
        ]),
      );
      const results = await set.session(request.graph).run(feeds);
      const outputs: Record<string, WireTensor> = {};
      const transfer: ArrayBuffer[] = [];
      for (const [name, tensor] of Object.entries(results)) {
        const w = toWire(tensor);
        outputs[name] = w.wire;
        transfer.push(...w.transfer);
      }
      port.postMessage({ kind: 'result', id: request.id, outputs } satisfies WorkerReply, transfer);
    } catch (error) {
      port.postMessage({
        kind: 'error',
        id: request.id,
        message: (error as Error).message,
      } satisfies WorkerReply);
    }
  });
  port.postMessage({ kind: 'ready', graphs } satisfies WorkerReply);
} catch (error) {
  const e = error as Error & { graph?: string; tensor?: string; detail?: string };
  port.postMessage({
    kind: 'failed',
    message: e.message,
    name: e.name,
    ...(e instanceof ContractError ? { graph: e.graph, tensor: e.tensor, detail: e.detail } : {}),
  } satisfies WorkerReply);
}
