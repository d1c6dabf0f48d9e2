// The DiT engine thread: owns the onnxruntime sessions (in-thread here), the conditioning of
// prepared jobs and the sampling loops. The gRPC thread sends plans and job ids; conditioning is
// computed here and stays here, so a denoising step copies nothing but x_t across threads.
import { parentPort, workerData } from 'node:worker_threads';
import { tokenizeLatents } from './conditioning.ts';
import type { EngineInit, EngineReply, EngineRequest, WireError } from './engine.ts';
import { loadDit } from './model.ts';
import { type Job, prepareJob, type RequestPlan, runJobs } from './pipeline.ts';

const port = parentPort!;
const init = workerData as EngineInit;

function wireError(error: unknown): WireError {
  const e = error as Error & { field?: string; code?: string };
  return {
    name: e?.name ?? 'Error',
    message: e?.message ?? String(error),
    ...(typeof e?.field === 'string' ? { field: e.field } : {}),
    ...(typeof e?.code === 'string' ? { code: e.code } : {}),
  };
}

try {
  const model = await loadDit(init.config);
  const jobs = new Map<number, Job>();
  const controllers = new Map<number, AbortController>();
  const reply = (message: EngineReply, transfer: ArrayBuffer[] = []) => port.postMessage(message, transfer);

  const handle = async (request: EngineRequest): Promise<void> => {
    switch (request.kind) {
      case 'prepare': {
        const job = await prepareJob(model, request.plan as RequestPlan, signalOf(request.id));
        jobs.set(request.id, job);
        reply({ kind: 'prepared', id: request.id, key: job.key });
        return;
      }
      case 'run': {
        const batch = request.jobs.map((id) => {
          const job = jobs.get(id);
          if (!job) throw new Error(`engine: job ${id} is not prepared`);
          return job;
        });
        try {
          const { latents, stats } = await runJobs(model, batch, {
            signal: signalOf(request.id),
            onStep: (progress) => reply({ kind: 'step', id: request.id, progress }),
          });
          const transfer = latents.flat().map((l) => l.buffer as ArrayBuffer);
          reply({ kind: 'ran', id: request.id, latents, stats }, transfer);
        } finally {
          for (const id of request.jobs) jobs.delete(id);
        }
        return;
      }
      case 'tokenize': {
        const codes = await tokenizeLatents(model, request.latents);
        reply({ kind: 'tokenized', id: request.id, codes });
        return;
      }
      case 'drop':
        for (const id of request.jobs) jobs.delete(id);
        return;
      case 'abort':
        controllers.get(request.id)?.abort(new Error('cancelled'));
        return;
      case 'close':
        await model.modelSet.close();
        reply({ kind: 'closed' });
        return;
    }
  };

  const signalOf = (id: number): AbortSignal => {
    const controller = new AbortController();
    controllers.set(id, controller);
    return controller.signal;
  };

  port.on('message', (request: EngineRequest) => {
    handle(request).then(
      () => controllers.delete('id' in request ? request.id : -1),
      (error: unknown) => {
        const id = 'id' in request ? request.id : -1;
        controllers.delete(id);
        reply({ kind: 'error', id, error: wireError(error) });
      },
    );
  });
  reply({ kind: 'ready', hidden: model.hidden });
} catch (error) {
  port.postMessage({ kind: 'failed', error: wireError(error) } satisfies EngineReply);
}
