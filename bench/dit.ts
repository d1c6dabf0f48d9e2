// DiT speed on a model set (default: the tiny one):
//   1. sampler runs at batch 1/2/4/8: steps/s, item-steps/s and the host-side time per step
//      outside dit_step (noise, Euler update, feeds) with sessions in this thread, and ms/step of
//      the same run with the sessions in the model set's worker and in the service's engine worker;
//   2. the real service: 8 concurrent single-item requests (dynamic batching) vs the same 8 sent
//      one after another, wall time ratio in one run.
//   node bench/dit.ts [--seconds 10] [--runs 3] [--model-dir models/tiny]
// Prints tables; no assertions. Numbers from a shared 2-core VM are noisy (±30 %).
import { parseArgs } from 'node:util';
import { launchService } from '@acestep/cli/launcher';
import {
  DitEngine,
  defaultDitConfig,
  type GenerateRequest,
  loadDit,
  planRequest,
  prepareJob,
  runJobs,
} from '@acestep/dit/internal';
import { DitService } from '@acestep/proto/dit';
import { createStageClient } from '@acestep/runtime';
import { generate, textSpec } from '@acestep/testkit/dit-client';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '10' },
    runs: { type: 'string', default: '3' },
    'model-dir': { type: 'string' },
  },
});
const seconds = Number(values.seconds);
const runs = Number(values.runs);
const config = { ...defaultDitConfig(), ...(values['model-dir'] ? { modelDir: values['model-dir'] } : {}) };

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

function request(batch: number): GenerateRequest {
  return {
    task: 'text2music',
    durationSeconds: seconds,
    items: Array.from({ length: batch }, (_, i) => ({
      caption: 'lo-fi piano with soft drums',
      lyrics: '[verse]\nhello world',
      vocalLanguage: 'en',
      metas: { bpm: 90 },
      audioCodes: [],
      seed: BigInt(i),
    })),
  };
}

// Three ways to run the same sampler: sessions in this thread (the reference for host cost),
// sessions in the model set's worker (every dit_step run clones its inputs, conditioning
// included), and the service's engine worker (conditioning resident, whole loop in the worker).
const model = await loadDit(config);
const modelSetWorker = await loadDit(config, { worker: true });
const engine = await DitEngine.start({ config });

/** Elapsed ms of one call. */
async function timed(run: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  await run();
  return performance.now() - t0;
}

const rows: string[][] = [
  ['batch', 'steps/s', 'item-steps/s', 'host ms/step', 'ms/step', 'set-worker', 'engine'],
];
for (const batch of [1, 2, 4, 8]) {
  const plan = planRequest(model, request(batch), 8);
  const steps = plan.schedule.steps;
  const job = await prepareJob(model, plan);
  const workerJob = await prepareJob(modelSetWorker, plan);
  const host: number[] = [];
  const times: [number[], number[], number[]] = [[], [], []];
  // Round robin, so that load from other processes hits the three paths alike; run 0 warms up.
  for (let r = 0; r <= runs; r++) {
    const local = await timed(async () => {
      const { stats } = await runJobs(model, [job]);
      host.push(Number(stats.totalNs - stats.modelNs) / 1e6 / stats.steps);
    });
    const viaSetWorker = await timed(() => runJobs(modelSetWorker, [workerJob]));
    // The engine forgets a job once it ran: prepare it again outside the timed part.
    const handle = await engine.prepare(plan);
    const viaEngine = await timed(() => engine.run([handle]));
    if (r === 0) continue;
    times[0].push(local / steps);
    times[1].push(viaSetWorker / steps);
    times[2].push(viaEngine / steps);
  }
  const local = median(times[0]);
  rows.push([
    String(batch),
    (1000 / local).toFixed(1),
    ((1000 / local) * batch).toFixed(1),
    median(host).toFixed(3),
    local.toFixed(2),
    median(times[1]).toFixed(2),
    median(times[2]).toFixed(2),
  ]);
}
await engine.close();
await modelSetWorker.modelSet.close();
await model.modelSet.close();
// What one dit_step run would copy into a worker for a full-size model (H = 2048): CFG-doubled
// encoder states (enc_len ≈ 400: lyrics + timbre + caption) and context latents of a 60 s song.
{
  const states = new Float32Array(2 * 400 * 2048);
  const context = new Float32Array(2 * 1500 * 128);
  const clone: number[] = [];
  for (let r = 0; r < runs * 5; r++) {
    const t0 = performance.now();
    structuredClone({ states, context });
    clone.push(performance.now() - t0);
  }
  const mb = (states.byteLength + context.byteLength) / 2 ** 20;
  console.log(
    `\nfull-size per-step copy (B=1 with CFG, 60 s): ${mb.toFixed(1)} MiB, structuredClone ${median(clone).toFixed(2)} ms`,
  );
}
console.log(
  `\nDiT sampler, text2music ${seconds} s (${Math.floor(seconds * 25)} frames), ${config.modelDir}`,
);
console.log(
  '(ms/step: sessions in this thread; set-worker: in the model set worker; engine: the service engine worker)',
);
for (const r of rows) console.log(r.map((x) => x.padStart(14)).join(''));

// Dynamic batching through the service.
const dit = await launchService('dit', {
  args: ['--max-batch', '8', '--batch-window-ms', '5', '--model-dir', config.modelDir],
});
const client = createStageClient(DitService, { target: dit.address });
try {
  const spec = (seed: number) => textSpec({ durationSeconds: seconds }, [BigInt(seed)]);
  await generate(client, spec(0));
  const sequential: number[] = [];
  const concurrent: number[] = [];
  for (let r = 0; r < runs; r++) {
    let t0 = performance.now();
    for (let i = 0; i < 8; i++) await generate(client, spec(i));
    sequential.push(performance.now() - t0);
    t0 = performance.now();
    await Promise.all(Array.from({ length: 8 }, (_, i) => generate(client, spec(i))));
    concurrent.push(performance.now() - t0);
  }
  const seq = median(sequential);
  const con = median(concurrent);
  console.log('\n8 single-item requests through the service');
  console.log(
    `  sequential ${seq.toFixed(0)} ms, concurrent (batched) ${con.toFixed(0)} ms, gain ×${(seq / con).toFixed(2)}`,
  );
} finally {
  client.close();
  await dit.stop();
}
