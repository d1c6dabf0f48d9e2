// The DiT engine thread: owns the onnxruntime sessions (in-thread here), the conditioning of
// prepared jobs and the sampling loops. The gRPC thread sends plans and job ids; conditioning is
// computed here and stays here, so a denoising step copies nothing but x_t across threads.
import { serveChannel, Transfer } from '@acestep/runtime/worker-channel-serve';
import { tokenizeLatents } from './conditioning.ts';
import type { DitProtocol, EngineInit } from './engine.ts';
import { loadDit } from './model.ts';
import { type Job, prepareJob, runJobs } from './pipeline.ts';

serveChannel<DitProtocol>(async ({ workerData }) => {
  const model = await loadDit((workerData as EngineInit).config);
  const jobs = new Map<number, Job>();
  return {
    ready: { hidden: model.hidden },
    handlers: {
      async prepare({ job, plan }, { signal }) {
        jobs.set(job, await prepareJob(model, plan, signal));
        return jobs.get(job)!.key;
      },
      async run(ids, { signal, emit }) {
        try {
          const batch = ids.map((id) => {
            const job = jobs.get(id);
            if (!job) throw new Error(`engine: job ${id} is not prepared`);
            return job;
          });
          const result = await runJobs(model, batch, { signal, onStep: emit });
          return new Transfer(
            result,
            result.latents.flat().map((l) => l.buffer as ArrayBuffer),
          );
        } finally {
          for (const id of ids) jobs.delete(id);
        }
      },
      tokenize: (latents) => tokenizeLatents(model, latents),
      drop(ids) {
        for (const id of ids) jobs.delete(id);
      },
    },
    close: () => model.modelSet.close(),
  };
});
