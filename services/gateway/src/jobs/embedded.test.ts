import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { JobState } from '@acestep/proto/gateway';
import { Counter, Gauge, Registry } from 'prom-client';
import { EmbeddedJobService } from './embedded.ts';
import { jobSemanticsTests } from './job-semantics.ts';
import { audioBytes, collect, config, testExecutor, until } from './test-executor.ts';
import type { JobExecutor, JobServiceOptions } from './types.ts';

let dir = '';
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'acestep-jobs-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

let made = 0;
function options(executor: JobExecutor, overrides: Partial<JobServiceOptions> = {}): JobServiceOptions {
  return {
    executor,
    concurrency: 1,
    maxQueued: 10,
    maxObjectBytes: 1024 * 1024,
    dataDir: join(dir, `service-${made++}`),
    progressIntervalMs: 0,
    ...overrides,
  };
}

describe('embedded job service', () => {
  jobSemanticsTests((executor, overrides) => EmbeddedJobService.start(options(executor, overrides)));

  test('results are files under the data directory, written atomically', { timeout: 30_000 }, async () => {
    const opts = options(testExecutor().executor);
    const jobs = await EmbeddedJobService.start(opts);
    try {
      const job = await jobs.submit(config('song-disk'));
      const end = (await collect(jobs.watch(job.id))).at(-1);
      const objectId = end?.result?.audio[0]?.objectId ?? '';
      assert.equal(jobs.store.pathOf(objectId), join(opts.dataDir, 'objects', objectId));
      assert.deepEqual(
        new Uint8Array(await readFile(join(opts.dataDir, 'objects', objectId))),
        audioBytes('song-disk'),
      );
      const info = JSON.parse(await readFile(join(opts.dataDir, 'objects', `${objectId}.json`), 'utf8'));
      assert.equal(info.jobId, job.id);
      assert.deepEqual(await readdir(join(opts.dataDir, 'tmp')), [], 'no temporary file is left');
    } finally {
      await jobs.close();
    }
  });

  test('close fails the jobs it cannot finish within the grace period', { timeout: 30_000 }, async () => {
    const t = testExecutor();
    const jobs = await EmbeddedJobService.start(options(t.executor));
    const a = await jobs.submit(config('hold-a'));
    const b = await jobs.submit(config('hold-b'));
    await until(jobs.watch(a.id), (job) => job.state === JobState.RUNNING);
    await jobs.close({ graceMs: 0 });
    const endA = await jobs.get(a.id);
    assert.equal(endA.state, JobState.FAILED);
    assert.match(endA.result?.error ?? '', /shut down before the job finished/);
    assert.match((await jobs.get(b.id)).result?.error ?? '', /shut down before the job ran/);
    await assert.rejects(jobs.submit(config('late')), /shutting down/);
  });

  test('metrics hooks count the waiting jobs and the refused submits', { timeout: 30_000 }, async () => {
    const registry = new Registry();
    const queueDepth = new Gauge({ name: 'depth', help: 'h', labelNames: ['queue'], registers: [registry] });
    const queueRejected = new Counter({
      name: 'rejected',
      help: 'h',
      labelNames: ['queue'],
      registers: [registry],
    });
    const jobsEnded = new Counter({ name: 'ended', help: 'h', labelNames: ['state'], registers: [registry] });
    const t = testExecutor();
    const jobs = await EmbeddedJobService.start(
      options(t.executor, { maxQueued: 3, metrics: { queueDepth, queueRejected, jobsEnded } }),
    );
    const value = async (metric: string, labels: Record<string, string>) => {
      const found = (await registry.getSingleMetric(metric)?.get())?.values.find((v) =>
        Object.entries(labels).every(([k, l]) => v.labels[k] === l),
      );
      return found?.value ?? 0;
    };
    try {
      const a = await jobs.submit(config('hold-a'));
      await jobs.submit(config('hold-b'));
      await jobs.submit(config('hold-c'));
      await t.holding('hold-a');
      await assert.rejects(jobs.submit(config('hold-d')), /queue is full/);
      assert.equal(await value('depth', { queue: 'jobs' }), 2);
      assert.equal(await value('rejected', { queue: 'jobs' }), 1);
      await jobs.cancel(a.id);
      assert.equal(await value('ended', { state: 'CANCELLED' }), 1);
    } finally {
      await jobs.close();
    }
  });

  test('a run longer than maxRunMs ends FAILED', { timeout: 30_000 }, async () => {
    const jobs = await EmbeddedJobService.start(options(testExecutor().executor, { maxRunMs: 50 }));
    try {
      const job = await jobs.submit(config('hold-forever'));
      const end = (await collect(jobs.watch(job.id))).at(-1);
      assert.equal(end?.state, JobState.FAILED);
      assert.match(end?.result?.error ?? '', /longer than 50 ms/);
    } finally {
      await jobs.close();
    }
  });
});
