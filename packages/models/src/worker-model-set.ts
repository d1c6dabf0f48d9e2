// A model set whose sessions live in a worker thread (see session-worker.ts),
// reached over `@acestep/runtime/worker-channel`. onnxruntime runs one graph at
// a time on that thread, in arrival order; tensors' output buffers move back
// without copies.
import { type WireError, WorkerChannel } from '@acestep/runtime/worker-channel';
import ort from 'onnxruntime-node';
import { ContractError } from './contract.ts';
import type { GraphSession, WireTensor } from './graph-session.ts';
import { type GraphName, loadManifest, ManifestError } from './manifest.ts';
import type { ModelSet, OpenOptions } from './modelSet.ts';
import type { SessionProtocol } from './session-worker.ts';

function fromWire(outputs: Record<string, WireTensor>): Record<string, ort.Tensor> {
  return Object.fromEntries(
    Object.entries(outputs).map(([name, t]) => [name, new ort.Tensor(t.type, t.data as never, t.dims)]),
  );
}

/** Rebuilds the loader's own error types, so callers see the same errors as in-thread loading. */
function decodeError(error: WireError): Error {
  const text = (field: string) => (typeof error[field] === 'string' ? (error[field] as string) : undefined);
  if (error.name === 'ContractError')
    return new ContractError(text('graph') ?? '', text('tensor'), text('detail') ?? error.message);
  if (error.name === 'ManifestError') return new ManifestError(error.message);
  return new Error(error.message);
}

export async function openModelSetInWorker(dir: string, options: OpenOptions): Promise<ModelSet> {
  const manifest = await loadManifest(dir);
  const { worker: _, ...workerOptions } = options;
  const { channel, ready } = await WorkerChannel.start<SessionProtocol>(
    new URL('./session-worker.ts', import.meta.url),
    { name: 'model set', workerData: { dir, options: workerOptions }, decodeError },
  );
  const sessions: Partial<Record<GraphName, GraphSession>> = {};
  for (const [name, names] of Object.entries(ready.graphs)) {
    const graph = name as GraphName;
    sessions[graph] = {
      ...names,
      async run(feeds) {
        // Inputs are copied (structured clone), not transferred: callers reuse
        // feeds across runs (conditioning across denoising steps, caches).
        const wire: Record<string, WireTensor> = {};
        for (const [input, tensor] of Object.entries(feeds)) {
          wire[input] = { type: tensor.type, dims: tensor.dims, data: tensor.data as ArrayBufferView };
        }
        return fromWire(await channel.call('run', { graph, feeds: wire }));
      },
    };
  }
  return {
    dir,
    manifest,
    sessions,
    session(name) {
      const s = sessions[name];
      if (!s) throw new Error(`graph ${name} was not opened`);
      return s;
    },
    close: () => channel.close(5000),
  };
}
