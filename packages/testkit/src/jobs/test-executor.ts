// A deterministic executor for the job tests: its behaviour follows the
// caption ("fail…" throws, "hold…" stores a partial object and waits until the
// test releases it), and the audio it stores is a pure function of the caption.
import { createHash } from 'node:crypto';
import type { ExecutorContext, JobExecutor } from '@acestep/gateway/jobs';
import {
  type GenerationConfig,
  GenerationConfigSchema,
  type GenerationResult,
  GenerationResultSchema,
  type Job,
  JobState,
  ProgressSchema,
  Stage,
} from '@acestep/proto/gateway';
import { create } from '@bufbuild/protobuf';

export function audioBytes(caption: string): Uint8Array {
  return new TextEncoder().encode(`RIFF fake audio for ${caption};`.repeat(50));
}

export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

export function config(caption: string): GenerationConfig {
  return create(GenerationConfigSchema, { caption });
}

export function testExecutor() {
  const started: string[] = [];
  const aborted: string[] = [];
  const partials = new Map<string, string>();
  const releases = new Map<string, () => void>();
  const gates = new Map<string, Promise<void>>();
  const gate = (caption: string) => {
    let gated = gates.get(caption);
    if (!gated) {
      gated = new Promise<void>((resolve) => releases.set(caption, resolve));
      gates.set(caption, gated);
    }
    return gated;
  };
  const holdingWaits = new Map<string, { promise: Promise<void>; resolve: () => void }>();
  const holdingOf = (caption: string) => {
    let entry = holdingWaits.get(caption);
    if (!entry) {
      let resolve = () => {};
      const promise = new Promise<void>((r) => (resolve = r));
      entry = { promise, resolve };
      holdingWaits.set(caption, entry);
    }
    return entry;
  };
  const signalHolding = (caption: string) => holdingOf(caption).resolve();
  const executor: JobExecutor = async (job, ctx) => {
    started.push(job.config.caption);
    try {
      return await run(job.config.caption, ctx);
    } finally {
      if (ctx.signal.aborted) aborted.push(job.config.caption);
    }
  };
  const run = async (caption: string, ctx: ExecutorContext): Promise<GenerationResult> => {
    ctx.report(create(ProgressSchema, { stage: Stage.DIT, step: 1, total: 2, message: 'step 1' }));
    if (caption.startsWith('fail')) throw new Error(`boom: ${caption}`);
    if (caption.startsWith('hold')) {
      const partial = await ctx.store.putObject(new Uint8Array([1, 2, 3]), { filename: 'partial' });
      partials.set(caption, partial.objectId);
      signalHolding(caption);
      await new Promise<void>((resolve, reject) => {
        const onAbort = () => reject(ctx.signal.reason);
        if (ctx.signal.aborted) return onAbort();
        void gate(caption).then(resolve);
        ctx.signal.addEventListener('abort', onAbort, { once: true });
      });
    }
    const info = await ctx.store.putObject(audioBytes(caption), { contentType: 'audio/wav' });
    return create(GenerationResultSchema, {
      audio: [
        { objectId: info.objectId, format: 'wav', sizeBytes: BigInt(info.sizeBytes), sha256: info.sha256 },
      ],
      seedValue: '7',
    });
  };
  return {
    executor,
    started,
    aborted,
    partials,
    /** Resolves once a "hold" job has stored its partial object and waits at its gate. */
    holding: (caption: string) => holdingOf(caption).promise,
    release: (caption: string) => {
      void gate(caption);
      releases.get(caption)?.();
    },
  };
}

/** Follows a watch until pred holds; fails if the job ends first. */
export async function until(jobs: AsyncIterable<Job>, pred: (job: Job) => boolean): Promise<Job> {
  const seen: string[] = [];
  for await (const job of jobs) {
    if (pred(job)) return job;
    seen.push(JobState[job.state] ?? String(job.state));
  }
  throw new Error(`watch ended before the condition held; states seen: ${seen.join(', ')}`);
}

/** Every state a watch yields, to its end. */
export async function collect(jobs: AsyncIterable<Job>): Promise<Job[]> {
  const out: Job[] = [];
  for await (const job of jobs) out.push(job);
  return out;
}

/** Retries check until it passes (at most 10 s): for effects that follow an observable state. */
export async function eventually(check: () => Promise<void>): Promise<void> {
  for (let i = 0; ; i++) {
    try {
      return await check();
    } catch (error) {
      if (i >= 200) throw error;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
}
