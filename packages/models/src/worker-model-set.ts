// A model set whose sessions live in a worker thread (see session-worker.ts).
// Runs are queued in the worker in arrival order; tensors' buffers move
// between the threads without copies.
import { Worker } from 'node:worker_threads';
import ort from 'onnxruntime-node';
import { ContractError } from './contract.ts';
import type { GraphSession, WireTensor } from './graph-session.ts';
import { type GraphName, loadManifest, ManifestError } from './manifest.ts';
import type { ModelSet, OpenOptions } from './modelSet.ts';
import type { WorkerReply, WorkerRequest } from './session-worker.ts';

interface Pending {
  resolve: (outputs: Record<string, ort.Tensor>) => void;
  reject: (error: Error) => void;
}

function fromWire(outputs: Record<string, WireTensor>): Record<string, ort.Tensor> {
  return Object.fromEntries(
    Object.entries(outputs).map(([name, t]) => [name, new ort.Tensor(t.type, t.data as never, t.dims)]),
  );
}

/** Rebuilds the loader's own error types, so callers see the same errors as in-thread loading. */
function loadError(reply: Extract<WorkerReply, { kind: 'failed' }>): Error {
  if (reply.name === 'ContractError')
    return new ContractError(reply.graph ?? '', reply.tensor, reply.detail ?? reply.message);
  if (reply.name === 'ManifestError') return new ManifestError(reply.message);
  return new Error(reply.message);
}

export async function openModelSetInWorker(dir: string, options: OpenOptions): Promise<ModelSet> {
  const manifest = await loadManifest(dir);
  const { worker: _, ...workerOptions } = options;
  const worker = new Worker(new URL('./session-worker.ts', import.meta.url), {
    workerData: { dir, options: workerOptions },
  });
  const pending = new Map<number, Pending>();
  let nextId = 0;
  let failure: Error | undefined;
  const ready = new Promise<Extract<WorkerReply, { kind: 'ready' }>>((resolve, reject) => {
    worker.on('message', (reply: WorkerReply) => {
      if (reply.kind === 'ready') resolve(reply);
      else if (reply.kind === 'failed') reject(loadError(reply));
      else if (reply.kind === 'result') settle(reply.id, (p) => p.resolve(fromWire(reply.outputs)));
      else if (reply.kind === 'error') settle(reply.id, (p) => p.reject(new Error(reply.message)));
    });
    worker.on('error', (error) => {
      failure = error;
      reject(error);
      for (const p of pending.values()) p.reject(error);
      pending.clear();
    });
  });
  const settle = (id: number, fn: (p: Pending) => void) => {
    const p = pending.get(id);
    pending.delete(id);
    if (p) fn(p);
  };
  let info: Awaited<typeof ready>;
  try {
    info = await ready;
  } catch (error) {
    await worker.terminate();
    throw error;
  }
  const sessions: Partial<Record<GraphName, GraphSession>> = {};
  for (const [name, names] of Object.entries(info.graphs)) {
    const graph = name as GraphName;
    sessions[graph] = {
      ...names,
      run(feeds) {
        if (failure) return Promise.reject(failure);
        const id = nextId++;
        // Inputs are copied (structured clone), not transferred: callers reuse
        // feeds across runs (conditioning across denoising steps, caches).
        const wire: Record<string, WireTensor> = {};
        for (const [input, tensor] of Object.entries(feeds)) {
          wire[input] = { type: tensor.type, dims: tensor.dims, data: tensor.data as ArrayBufferView };
        }
        return new Promise((resolve, reject) => {
          pending.set(id, { resolve, reject });
          worker.postMessage({ kind: 'run', id, graph, feeds: wire } satisfies WorkerRequest);
        });
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
    async close() {
      const closed = new Promise<void>((resolve) =>
        worker.once('message', (m: WorkerReply) => m.kind === 'closed' && resolve()),
      );
      worker.postMessage({ kind: 'close' } satisfies WorkerRequest);
      await Promise.race([closed, new Promise((r) => setTimeout(r, 5000))]);
      await worker.terminate();
    },
  };
}
