// The worker thread that owns a model set's onnxruntime sessions. onnxruntime-
// node's run() blocks the calling thread for the whole inference; running it
// here keeps the service's event loop free for I/O, health probes, admission
// and cancellation while a graph runs. Served over `@acestep/runtime/worker-channel`.
import type { Method } from '@acestep/runtime/worker-channel';
import { serveChannel, Transfer } from '@acestep/runtime/worker-channel-serve';
import ort from 'onnxruntime-node';
import { toWire, type WireTensor } from './graph-session.ts';
import type { GraphName } from './manifest.ts';
import { type OpenOptions, openModelSet } from './modelSet.ts';

export interface WorkerInit {
  dir: string;
  options: Omit<OpenOptions, 'worker'>;
}

export interface SessionProtocol {
  ready: { graphs: Record<string, { inputNames: string[]; outputNames: string[] }> };
  methods: {
    run: Method<{ graph: GraphName; feeds: Record<string, WireTensor> }, Record<string, WireTensor>>;
  };
  notice: never;
}

serveChannel<SessionProtocol>(async ({ workerData }) => {
  const { dir, options } = workerData as WorkerInit;
  const set = await openModelSet(dir, { ...options, worker: false });
  const graphs = Object.fromEntries(
    Object.entries(set.sessions).map(([name, s]) => [
      name,
      { inputNames: [...s.inputNames], outputNames: [...s.outputNames] },
    ]),
  );
  return {
    ready: { graphs },
    handlers: {
      async run({ graph, feeds }) {
        const tensors = Object.fromEntries(
          Object.entries(feeds).map(([name, t]) => [name, new ort.Tensor(t.type, t.data as never, t.dims)]),
        );
        const results = await set.session(graph).run(tensors);
        const outputs: Record<string, WireTensor> = {};
        const transfer: ArrayBuffer[] = [];
        for (const [name, tensor] of Object.entries(results)) {
          const w = toWire(tensor);
          outputs[name] = w.wire;
          transfer.push(...w.transfer);
        }
        return new Transfer(outputs, transfer);
      },
    },
    close: () => set.close(),
  };
});
