// A job worker process for the crash test (nats.test.ts): a NATS job service
// whose executor takes a few seconds in steps, reports progress, and stores
// its audio half-way (so a kill after that leaves an object to clean up).
// Prints one JSON line per event on stdout. Usage:
//   node crash-worker.ts '{"url":…,"names":{…},"worker":"A","ackWaitMs":1500,"maxAttempts":3,"mode":"steps"}'
// mode "die" kills the process as soon as a job starts (a crash loop).

import type { JobExecutor, NatsNames } from '@acestep/gateway/jobs';
import { NatsJobService } from '@acestep/gateway/jobs';
import { GenerationResultSchema, ProgressSchema, Stage } from '@acestep/proto/gateway';
import { create } from '@bufbuild/protobuf';
import { audioBytes } from './test-executor.ts';

interface WorkerArgs {
  url: string;
  names: Partial<NatsNames>;
  worker: string;
  ackWaitMs: number;
  maxAttempts: number;
  mode: 'steps' | 'die';
}
const args = JSON.parse(process.argv[2] ?? '{}') as WorkerArgs;
const { worker } = args;
const STEPS = 6;
const STEP_MS = 400;
const say = (event: Record<string, unknown>) =>
  process.stdout.write(`${JSON.stringify({ worker, ...event })}\n`);

const executor: JobExecutor = async (job, ctx) => {
  say({ event: 'start', id: job.id, attempt: job.attempt });
  if (args.mode === 'die') process.kill(process.pid, 'SIGKILL');
  let objectId = '';
  let sizeBytes = 0;
  for (let step = 1; step <= STEPS; step++) {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(resolve, STEP_MS);
      const onAbort = () => {
        clearTimeout(timer);
        reject(ctx.signal.reason);
      };
      ctx.signal.addEventListener('abort', onAbort, { once: true });
    });
    ctx.report(create(ProgressSchema, { stage: Stage.DIT, step, total: STEPS }));
    if (step === STEPS / 2) {
      const info = await ctx.store.putObject(audioBytes(job.config.caption), { contentType: 'audio/wav' });
      objectId = info.objectId;
      sizeBytes = info.sizeBytes;
      say({ event: 'stored', id: job.id, objectId });
    }
  }
  say({ event: 'done', id: job.id });
  return create(GenerationResultSchema, {
    audio: [{ objectId, format: 'wav', sizeBytes: BigInt(sizeBytes) }],
  });
};

const jobs = await NatsJobService.start({
  executor,
  natsUrl: args.url,
  concurrency: 2,
  maxQueued: 100,
  maxObjectBytes: 1024 * 1024,
  dataDir: '',
  progressIntervalMs: 100,
  nats: { ackWaitMs: args.ackWaitMs, maxAttempts: args.maxAttempts, names: args.names },
});
say({ event: 'ready', owner: jobs.owner });
process.once('SIGTERM', () => {
  void jobs.close({ graceMs: 10_000 }).then(() => process.exit(0));
});
