// The JobService contract, as tests run against both implementations
// (embedded.test.ts and nats.test.ts) with a real store underneath.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { JobExecutor, JobService, JobServiceOptions } from '@acestep/gateway/jobs';
import { isJobError, isJobId, type JobErrorCode } from '@acestep/gateway/jobs';
import { AudioSourceSchema, GenerationConfigSchema, JobState, Stage } from '@acestep/proto/gateway';
import { create } from '@bufbuild/protobuf';
import { audioBytes, collect, config, eventually, sha256Hex, testExecutor, until } from './test-executor.ts';

export type MakeService = (
  executor: JobExecutor,
  overrides?: Partial<JobServiceOptions>,
) => Promise<JobService>;

async function rejectsWith(promise: Promise<unknown>, code: JobErrorCode, text?: string): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(isJobError(error, code), `expected ${code}, got ${String(error)}`);
    if (text) assert.ok(error.message.includes(text), `"${error.message}" should mention "${text}"`);
    return true;
  });
}

const running = (job: { state: JobState }) => job.state === JobState.RUNNING;

export function jobSemanticsTests(make: MakeService): void {
  test('a job goes QUEUED → RUNNING → SUCCEEDED and its audio is in the store', {
    timeout: 30_000,
  }, async () => {
    const { executor } = testExecutor();
    const jobs = await make(executor);
    try {
      const submitted = await jobs.submit(config('song-a'));
      assert.equal(submitted.state, JobState.QUEUED);
      assert.ok(isJobId(submitted.id));
      assert.equal(submitted.config?.caption, 'song-a');
      const states = (await collect(jobs.watch(submitted.id))).map((job) => job.state);
      assert.equal(states.at(-1), JobState.SUCCEEDED);
      assert.deepEqual(
        states,
        [...states].sort((a, b) => a - b),
        'states only move forward',
      );
      const done = await jobs.get(submitted.id);
      assert.equal(done.state, JobState.SUCCEEDED);
      assert.equal(done.result?.success, true);
      assert.equal(done.result?.seedValue, '7');
      assert.equal(done.progress?.stage, Stage.DONE);
      const file = done.result?.audio[0];
      assert.ok(file);
      const expected = audioBytes('song-a');
      assert.deepEqual(new Uint8Array(await jobs.store.readObject(file.objectId)), expected);
      const info = await jobs.store.statObject(file.objectId);
      assert.equal(info.sha256, sha256Hex(expected));
      assert.equal(info.sizeBytes, expected.byteLength);
      assert.equal(info.jobId, submitted.id);
    } finally {
      await jobs.close();
    }
  });

  test('unknown ids answer NOT_FOUND naming the id', { timeout: 30_000 }, async () => {
    const jobs = await make(testExecutor().executor);
    try {
      await rejectsWith(jobs.get('nope'), 'NOT_FOUND', '"nope"');
      await rejectsWith(jobs.get('0000000000000000000000'), 'NOT_FOUND', '0000000000000000000000');
      await rejectsWith(jobs.cancel('nope'), 'NOT_FOUND', 'nope');
      await rejectsWith(collect(jobs.watch('nope')), 'NOT_FOUND', 'nope');
      await rejectsWith(jobs.store.readObject('../../etc/passwd'), 'NOT_FOUND', 'etc/passwd');
      await rejectsWith(jobs.store.statObject('oAAAAAAAAAAAAAAAAAAAAAA'), 'NOT_FOUND');
      const error = await jobs.get('nope').catch((e: unknown) => e);
      assert.ok(isJobError(error) && error.grpcCode === 5);
    } finally {
      await jobs.close();
    }
  });

  test('the queue is bounded; cancel stops queued and running jobs; ended jobs cannot be cancelled', {
    timeout: 30_000,
  }, async () => {
    const t = testExecutor();
    const jobs = await make(t.executor, { concurrency: 1, maxQueued: 3 });
    try {
      const a = await jobs.submit(config('hold-a'));
      const b = await jobs.submit(config('hold-b'));
      const c = await jobs.submit(config('hold-c'));
      await t.holding('hold-a');
      const runningA = await until(jobs.watch(a.id), (job) => running(job) && job.progress?.step === 1);
      assert.equal(runningA.progress?.stage, Stage.DIT);
      await rejectsWith(jobs.submit(config('song-d')), 'RESOURCE_EXHAUSTED', '3');
      const full = await jobs.submit(config('song-d')).catch((e: unknown) => e);
      assert.ok(isJobError(full) && full.grpcCode === 8);
      if (jobs.mode === 'embedded') {
        assert.equal((await jobs.get(b.id)).progress?.queuePosition, 1);
        assert.equal((await jobs.get(c.id)).progress?.queuePosition, 2);
      }

      const cancelledB = await jobs.cancel(b.id);
      assert.equal(cancelledB.state, JobState.CANCELLED);
      assert.equal((await jobs.cancel(b.id)).state, JobState.CANCELLED, 'cancelling twice is fine');
      const d = await jobs.submit(config('song-d')); // b's slot is free again

      assert.equal((await jobs.cancel(a.id)).state, JobState.CANCELLED);
      const endA = await collect(jobs.watch(a.id));
      assert.equal(endA.at(-1)?.state, JobState.CANCELLED);
      assert.equal(endA.at(-1)?.result?.success, false);

      await t.holding('hold-c');
      t.release('hold-c');
      assert.equal((await collect(jobs.watch(c.id))).at(-1)?.state, JobState.SUCCEEDED);
      assert.equal((await collect(jobs.watch(d.id))).at(-1)?.state, JobState.SUCCEEDED);
      await rejectsWith(jobs.cancel(c.id), 'FAILED_PRECONDITION', 'SUCCEEDED');

      assert.deepEqual(t.started, ['hold-a', 'hold-c', 'song-d'], 'the job cancelled while queued never ran');
      assert.deepEqual(t.aborted, ['hold-a']);
      // A cancelled attempt leaves no object; an object not in the result is removed too.
      // (Cleanup runs after the end state is written, so wait for it.)
      for (const caption of ['hold-a', 'hold-c']) {
        const partial = t.partials.get(caption);
        assert.ok(partial);
        await eventually(() => rejectsWith(jobs.store.statObject(partial), 'NOT_FOUND'));
      }
    } finally {
      await jobs.close();
    }
  });

  test('a watch ends when its signal aborts', { timeout: 30_000 }, async () => {
    const t = testExecutor();
    const jobs = await make(t.executor);
    try {
      const job = await jobs.submit(config('hold-w'));
      await t.holding('hold-w');
      const controller = new AbortController();
      const seen: JobState[] = [];
      for await (const state of jobs.watch(job.id, controller.signal)) {
        seen.push(state.state);
        if (state.state === JobState.RUNNING) controller.abort();
      }
      assert.equal(seen.at(-1), JobState.RUNNING);
      t.release('hold-w');
      assert.equal((await collect(jobs.watch(job.id))).at(-1)?.state, JobState.SUCCEEDED);
    } finally {
      await jobs.close();
    }
  });

  test('a failing executor ends the job FAILED with its error', { timeout: 30_000 }, async () => {
    const jobs = await make(testExecutor().executor);
    try {
      const job = await jobs.submit(config('fail-x'));
      const end = (await collect(jobs.watch(job.id))).at(-1);
      assert.equal(end?.state, JobState.FAILED);
      assert.equal(end?.result?.success, false);
      assert.equal(end?.result?.error, 'boom: fail-x');
      assert.deepEqual(await jobs.get(job.id), end);
    } finally {
      await jobs.close();
    }
  });

  test('list pages newest first, filters by state and checks its arguments', {
    timeout: 30_000,
  }, async () => {
    const jobs = await make(testExecutor().executor, { concurrency: 2 });
    try {
      const ids: string[] = [];
      for (const caption of ['song-1', 'song-2', 'fail-3', 'song-4', 'song-5']) {
        const job = await jobs.submit(config(caption));
        ids.push(job.id);
        await collect(jobs.watch(job.id));
      }
      const newestFirst = [...ids].sort().reverse();
      const pages: string[][] = [];
      let token = '';
      do {
        const page = await jobs.list({ pageSize: 2, pageToken: token });
        pages.push(page.jobs.map((job) => job.id));
        token = page.nextPageToken;
      } while (token);
      assert.deepEqual(pages, [newestFirst.slice(0, 2), newestFirst.slice(2, 4), newestFirst.slice(4)]);
      const all = await jobs.list();
      assert.deepEqual(
        all.jobs.map((job) => job.id),
        newestFirst,
      );
      assert.equal(all.nextPageToken, '');
      const failed = await jobs.list({ state: JobState.FAILED });
      assert.deepEqual(
        failed.jobs.map((job) => job.config?.caption),
        ['fail-3'],
      );
      await rejectsWith(jobs.list({ pageSize: 101 }), 'INVALID_ARGUMENT', '0..100');
      await rejectsWith(jobs.list({ pageSize: 1.5 }), 'INVALID_ARGUMENT', '0..100');
      await rejectsWith(jobs.list({ pageToken: 'not a token' }), 'INVALID_ARGUMENT', 'page_token');
      await rejectsWith(jobs.list({ pageToken: 'YWJj' }), 'INVALID_ARGUMENT', 'page_token');
    } finally {
      await jobs.close();
    }
  });

  test('the same idempotency key returns the first job', { timeout: 30_000 }, async () => {
    const t = testExecutor();
    const jobs = await make(t.executor);
    try {
      const first = await jobs.submit(config('song-k'), 'key-1');
      const again = await jobs.submit(config('song-other'), 'key-1');
      assert.equal(again.id, first.id);
      assert.equal(again.config?.caption, 'song-k');
      const other = await jobs.submit(config('song-k'), 'key-2');
      assert.notEqual(other.id, first.id);
      await collect(jobs.watch(first.id));
      await collect(jobs.watch(other.id));
      assert.equal((await jobs.submit(config('song-k'), 'key-1')).state, JobState.SUCCEEDED);
      assert.deepEqual(t.started, ['song-k', 'song-k']);
      await rejectsWith(jobs.submit(config('x'), 'k'.repeat(257)), 'INVALID_ARGUMENT', '256');
    } finally {
      await jobs.close();
    }
  });

  test('inline audio of a config is moved into the store; unknown object ids are refused', {
    timeout: 30_000,
  }, async () => {
    const jobs = await make(testExecutor().executor, { maxObjectBytes: 64 * 1024 });
    try {
      const bytes = audioBytes('reference');
      const cfg = create(GenerationConfigSchema, {
        caption: 'song-r',
        referenceAudio: create(AudioSourceSchema, { source: { case: 'data', value: bytes } }),
      });
      const job = await jobs.submit(cfg);
      const source = job.config?.referenceAudio?.source;
      assert.equal(source?.case, 'objectId');
      assert.deepEqual(new Uint8Array(await jobs.store.readObject(String(source?.value))), bytes);
      const missing = create(GenerationConfigSchema, {
        srcAudio: create(AudioSourceSchema, {
          source: { case: 'objectId', value: 'oAAAAAAAAAAAAAAAAAAAAAA' },
        }),
      });
      await rejectsWith(jobs.submit(missing), 'INVALID_ARGUMENT', 'srcAudio');
      const huge = create(GenerationConfigSchema, {
        srcAudio: create(AudioSourceSchema, {
          source: { case: 'data', value: new Uint8Array(64 * 1024 + 1) },
        }),
      });
      await rejectsWith(jobs.submit(huge), 'INVALID_ARGUMENT', '65536');
    } finally {
      await jobs.close();
    }
  });

  test('the store streams objects in and out, limits their size and deletes them', {
    timeout: 30_000,
  }, async () => {
    const jobs = await make(testExecutor().executor, { maxObjectBytes: 3 * 1024 * 1024 });
    try {
      const parts = [
        new Uint8Array(1024 * 1024).fill(1),
        new Uint8Array(1024 * 1024 + 5).fill(2),
        new Uint8Array(7),
      ];
      async function* upload() {
        yield* parts;
      }
      const info = await jobs.store.putObject(upload(), { filename: 'take.wav', contentType: 'audio/wav' });
      const whole = Buffer.concat(parts);
      assert.equal(info.sizeBytes, whole.byteLength);
      assert.equal(info.sha256, sha256Hex(whole));
      assert.equal(info.filename, 'take.wav');
      const { info: stat, data } = await jobs.store.getObject(info.objectId);
      assert.equal(stat.sha256, info.sha256);
      const back: Uint8Array[] = [];
      for await (const chunk of data) back.push(chunk);
      assert.ok(Buffer.concat(back).equals(whole));
      async function* tooBig() {
        yield* parts;
        yield new Uint8Array(1024 * 1024);
      }
      await rejectsWith(jobs.store.putObject(tooBig()), 'INVALID_ARGUMENT', String(3 * 1024 * 1024));
      assert.equal(await jobs.store.deleteObject(info.objectId), true);
      assert.equal(await jobs.store.deleteObject(info.objectId), false);
      await rejectsWith(jobs.store.readObject(info.objectId), 'NOT_FOUND');
    } finally {
      await jobs.close();
    }
  });
}
