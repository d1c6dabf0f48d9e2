import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { JobState } from '@acestep/proto/gateway';
import { audioBytes, collect, config, jobSemanticsTests, testExecutor, until } from '@acestep/testkit/jobs';
import { Counter, Gauge, Registry } from 'prom-client';
import { EmbeddedJobService } from './embedded.ts';
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

  test('close keeps queued jobs and puts cut-short runs back; the next start runs each once', {
    timeout: 30_000,
  }, async () => {
    const first = testExecutor();
    const opts = options(first.executor);
    const jobs = await EmbeddedJobService.start(opts);
    const done = await jobs.submit(config('song-done'));
    await until(jobs.watch(done.id), (job) => job.state === JobState.SUCCEEDED);
    const a = await jobs.submit(config('hold-a'));
    const b = await jobs.submit(config('song-b'));
    await first.holding('hold-a');
    const partial = first.partials.get('hold-a') ?? '';
    await jobs.close({ graceMs: 0 });
    assert.equal((await jobs.get(a.id)).state, JobState.QUEUED, 'the aborted run is queued again');
    assert.equal((await jobs.get(b.id)).state, JobState.QUEUED);
    await assert.rejects(jobs.submit(config('late')), /shutting down/);
    await assert.rejects(jobs.store.statObject(partial), /not found/, 'the partial object is deleted');

    const second = testExecutor();
    second.release('hold-a');
    const again = await EmbeddedJobService.start({ ...opts, executor: second.executor });
    try {
      const endB = (await collect(again.watch(b.id))).at(-1);
      const endA = (await collect(again.watch(a.id))).at(-1);
      assert.equal(endA?.state, JobState.SUCCEEDED);
      assert.equal(endB?.state, JobState.SUCCEEDED);
      assert.deepEqual(second.started.sort(), ['hold-a', 'song-b'], 'only the unfinished jobs run again');
      const kept = await again.get(done.id);
      assert.equal(kept.state, JobState.SUCCEEDED);
      const objectId = kept.result?.audio[0]?.objectId ?? '';
      assert.deepEqual(new Uint8Array(await again.store.readObject(objectId)), audioBytes('song-done'));
    } finally {
      await again.close();
    }
  });

  test('a second service on the same data directory is refused while the first runs', async () => {
    const opts = options(testExecutor().executor);
    const jobs = await EmbeddedJobService.start(opts);
    try {
      await assert.rejects(EmbeddedJobService.start(opts), /in use by another gateway process/);
    } finally {
      await jobs.close();
    }
    await (await EmbeddedJobService.start(opts)).close();
  });

  test('tenants see, cancel and count only their own jobs; no tenant = every job', {
    timeout: 30_000,
  }, async () => {
    const t = testExecutor();
    const jobs = await EmbeddedJobService.start(options(t.executor, { concurrency: 1 }));
    try {
      const a = await jobs.submit(config('hold-a'), 'same-key', { tenant: 'alice' });
      const b = await jobs.submit(config('song-b'), 'same-key', { tenant: 'bob' });
      assert.notEqual(a.id, b.id, 'idempotency keys are per tenant');
      await assert.rejects(jobs.get(a.id, 'bob'), /not found/);
      await assert.rejects(jobs.cancel(a.id, 'bob'), /not found/);
      await assert.rejects(collect(jobs.watch(a.id, undefined, 'bob')), /not found/);
      assert.deepEqual(
        (await jobs.list({ tenant: 'bob' })).jobs.map((j) => j.id),
        [b.id],
      );
      assert.deepEqual(
        (await jobs.list()).jobs.map((j) => j.id),
        [b.id, a.id],
      );
      assert.equal(await jobs.countActive('alice'), 1);
      assert.equal(await jobs.countActive('bob'), 1);
      assert.equal((await jobs.cancel(a.id, 'alice')).state, JobState.CANCELLED);
      assert.equal(await jobs.countActive('alice'), 0);
    } finally {
      await jobs.close();
    }
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
