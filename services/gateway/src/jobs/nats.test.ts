// The NATS job service against a real nats-server (started here, killed at the
// end): the shared contract, cross-replica behaviour, idempotent redelivery,
// and a worker process killed mid-job.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { after, before, describe, test } from 'node:test';
import { JobState } from '@acestep/proto/gateway';
import {
  audioBytes,
  CRASH_WORKER_SCRIPT,
  collect,
  config,
  eventually,
  jobSemanticsTests,
  sha256Hex,
  testExecutor,
  until,
} from '@acestep/testkit/jobs';
import { type NatsServer, startNatsServer } from '@acestep/testkit/nats-server';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { isJobError } from './errors.ts';
import { NatsJobService } from './nats.ts';
import { encodeRecord } from './nats-record.ts';
import { DEFAULT_NAMES, nanos } from './nats-setup.ts';
import type { JobExecutor, JobServiceOptions, NatsNames } from './types.ts';

let server: NatsServer;
before(async () => {
  server = await startNatsServer();
});
after(async () => {
  await server?.stop();
});

let made = 0;
/** Fresh stream/bucket names, so each test has its own queue on the shared server. */
function uniqueNames(): NatsNames {
  const n = made++;
  return {
    stream: `JOBS_${n}`,
    subject: `test${n}.jobs.run`,
    consumer: `runners-${n}`,
    jobsBucket: `jobs_${n}`,
    objectBucket: `audio_${n}`,
  };
}

function options(
  executor: JobExecutor,
  names: NatsNames,
  overrides: Partial<JobServiceOptions> = {},
): JobServiceOptions & { natsUrl: string } {
  return {
    executor,
    natsUrl: server.url,
    concurrency: 1,
    maxQueued: 10,
    maxObjectBytes: 1024 * 1024,
    dataDir: '',
    progressIntervalMs: 0,
    ...overrides,
    nats: { ackWaitMs: 2_000, maxAttempts: 3, names },
  };
}

type WorkerEvent = Record<string, unknown>;

/** Spawns crash-worker.ts processes and gathers the events they print. */
function workerPool(names: NatsNames, ackWaitMs: number, maxAttempts: number) {
  const events: WorkerEvent[] = [];
  const workers: ChildProcess[] = [];
  const startWorker = async (worker: string, mode: 'steps' | 'die' = 'steps') => {
    const script = CRASH_WORKER_SCRIPT;
    const args = { url: server.url, names, worker, ackWaitMs, maxAttempts, mode };
    const child = spawn(process.execPath, [script, JSON.stringify(args)], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    workers.push(child);
    const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
    await new Promise<void>((resolve, reject) => {
      child.once('exit', (code) =>
        reject(new Error(`worker ${worker} exited (${code}) before it was ready`)),
      );
      lines.on('line', (line) => {
        if (!line.startsWith('{')) return;
        const event = JSON.parse(line) as WorkerEvent;
        events.push(event);
        if (event.event === 'ready') resolve();
      });
    });
    return child;
  };
  /** Waits until some event satisfies pred (the test's own timeout bounds it). */
  const nextEvent = async (pred: (e: WorkerEvent) => boolean) => {
    while (!events.some(pred)) await new Promise((resolve) => setTimeout(resolve, 50));
  };
  return { events, workers, startWorker, nextEvent };
}

describe('NATS job service', () => {
  jobSemanticsTests((executor, overrides) =>
    NatsJobService.start(options(executor, uniqueNames(), overrides)),
  );

  test('the default names are the documented ones', () => {
    assert.deepEqual(DEFAULT_NAMES, {
      stream: 'ACESTEP_JOBS',
      subject: 'acestep.jobs.run',
      consumer: 'acestep-job-runners',
      jobsBucket: 'acestep_jobs',
      objectBucket: 'acestep_audio',
    });
  });

  test('the stream, consumer and buckets carry the configured limits (nats-server 2.9 features only)', async () => {
    const names = uniqueNames();
    const jobs = await NatsJobService.start(
      options(testExecutor().executor, names, { maxQueued: 7, retentionMs: 3_600_000, concurrency: 0 }),
    );
    const nc = await connect({ servers: server.url });
    try {
      const jsm = await jetstreamManager(nc);
      const stream = (await jsm.streams.info(names.stream)).config;
      assert.equal(stream.retention, 'workqueue');
      assert.equal(stream.max_msgs, 7);
      assert.equal(stream.discard, 'new');
      assert.deepEqual(stream.subjects, [names.subject]);
      const consumer = (await jsm.consumers.info(names.stream, names.consumer)).config;
      assert.equal(consumer.ack_policy, 'explicit');
      assert.equal(consumer.ack_wait, nanos(2_000));
      assert.equal(consumer.max_deliver, 4);
      assert.equal((await jsm.streams.info(`KV_${names.jobsBucket}`)).config.max_age, 3_600_000 * 1e6);
      assert.equal((await jsm.streams.info(`OBJ_${names.objectBucket}`)).config.max_age, 3_600_000 * 1e6);
      // Starting again with a new bound updates the stream instead of failing.
      await jobs.close();
      const again = await NatsJobService.start(
        options(testExecutor().executor, names, { maxQueued: 9, concurrency: 0 }),
      );
      await again.close();
      assert.equal((await jsm.streams.info(names.stream)).config.max_msgs, 9);
    } finally {
      await nc.close();
      await jobs.close();
    }
  });

  test('any replica answers; a cancel on one replica stops the run on another', {
    timeout: 30_000,
  }, async () => {
    const names = uniqueNames();
    const t = testExecutor();
    const api = await NatsJobService.start(options(t.executor, names, { concurrency: 0 }));
    const worker = await NatsJobService.start(options(t.executor, names, { concurrency: 1 }));
    try {
      const job = await api.submit(config('hold-remote'));
      await t.holding('hold-remote');
      const seen = await until(worker.watch(job.id), (j) => j.state === JobState.RUNNING);
      assert.equal(seen.id, job.id);
      assert.equal((await api.list()).jobs[0]?.id, job.id);
      assert.equal((await api.cancel(job.id)).state, JobState.CANCELLED);
      assert.equal((await collect(worker.watch(job.id))).at(-1)?.state, JobState.CANCELLED);
      await worker.close({ graceMs: 10_000 }); // waits for the run to wind down
      assert.deepEqual(t.aborted, ['hold-remote']);
      assert.deepEqual(await api.store.listObjectIds(), [], 'the cancelled attempt left no object');
    } finally {
      await worker.close();
      await api.close();
    }
  });

  test('a redelivered message of an ended job does not run it again; garbage is dropped', {
    timeout: 30_000,
  }, async () => {
    const names = uniqueNames();
    const t = testExecutor();
    const jobs = await NatsJobService.start(options(t.executor, names));
    const nc = await connect({ servers: server.url });
    try {
      const job = await jobs.submit(config('song-once'));
      const end = (await collect(jobs.watch(job.id))).at(-1);
      assert.equal(end?.state, JobState.SUCCEEDED);
      // The same job message again, as a redelivery after a lost ack would bring it.
      const record = { job, owner: '', attempt: 0, objects: [], seq: 0, tenant: '', traceparent: '' };
      await jetstream(nc).publish(names.subject, encodeRecord(record), { msgID: `${job.id}-again` });
      await jetstream(nc).publish(names.subject, 'not a job'); // dropped (term), not retried
      const marker = await jobs.submit(config('song-after'));
      await collect(jobs.watch(marker.id)); // concurrency 1, FIFO: the duplicate was handled before this
      assert.deepEqual(t.started, ['song-once', 'song-after']);
      assert.deepEqual(await jobs.get(job.id), end, 'the stored result is untouched');
      const stream = await (await jetstreamManager(nc)).streams.info(names.stream);
      assert.equal(stream.state.messages, 0, 'every job message was acknowledged');
    } finally {
      await nc.close();
      await jobs.close();
    }
  });

  test('NATS failures surface as UNAVAILABLE', { timeout: 30_000 }, async () => {
    await assert.rejects(
      NatsJobService.start(
        options(testExecutor().executor, uniqueNames(), { natsUrl: 'nats://127.0.0.1:1' }),
      ),
      (error: unknown) => isJobError(error, 'UNAVAILABLE') && error.message.includes('nats://127.0.0.1:1'),
    );
  });

  test('a replica that shuts down hands its running job back at once', { timeout: 30_000 }, async () => {
    const names = uniqueNames();
    const t = testExecutor();
    const first = await NatsJobService.start(options(t.executor, names, { concurrency: 1 }));
    const job = await first.submit(config('hold-handoff'));
    await t.holding('hold-handoff');
    await first.close({ graceMs: 0 });
    const second = await NatsJobService.start(options(t.executor, names, { concurrency: 1 }));
    try {
      await until(second.watch(job.id), (j) => j.state === JobState.RUNNING && j.progress?.step === 1);
      t.release('hold-handoff');
      const end = (await collect(second.watch(job.id))).at(-1);
      assert.equal(end?.state, JobState.SUCCEEDED);
      assert.deepEqual(t.started, ['hold-handoff', 'hold-handoff']);
      assert.deepEqual(t.aborted, ['hold-handoff'], 'the first run was aborted by the shutdown');
      // Both partial objects go (the first by the hand-back, the second after success): only the result stays.
      await eventually(async () =>
        assert.deepEqual(await second.store.listObjectIds(), [end?.result?.audio[0]?.objectId]),
      );
    } finally {
      await second.close();
    }
  });

  test('a job whose runner crashes on every attempt ends FAILED after maxAttempts', {
    timeout: 30_000,
  }, async () => {
    const names = uniqueNames();
    const ackWaitMs = 1_000;
    const { events, workers, startWorker, nextEvent } = workerPool(names, ackWaitMs, 1);
    const t = testExecutor();
    const api = await NatsJobService.start({ ...options(t.executor, names, { concurrency: 0 }) });
    let survivor: NatsJobService | undefined;
    try {
      await startWorker('crasher', 'die');
      const job = await api.submit(config('song-doomed'));
      await nextEvent((e) => e.event === 'start');
      // The only attempt died; the redelivery (after ack_wait) goes to a healthy replica, which gives up.
      survivor = await NatsJobService.start({
        ...options(t.executor, names, { concurrency: 1 }),
        nats: { ackWaitMs, maxAttempts: 1, names },
      });
      const end = (await collect(api.watch(job.id))).at(-1);
      assert.equal(end?.state, JobState.FAILED);
      assert.match(end?.result?.error ?? '', /gave up after 1 attempts/);
      assert.deepEqual(t.started, [], 'the healthy replica did not run it again');
      assert.equal(events.filter((e) => e.event === 'start').length, 1);
    } finally {
      for (const child of workers) if (child.exitCode === null) child.kill('SIGKILL');
      await survivor?.close();
      await api.close();
    }
  });

  test('a worker killed mid-job: every job still ends SUCCEEDED exactly once', {
    timeout: 60_000,
  }, async () => {
    const names = uniqueNames();
    const ackWaitMs = 1_500;
    const api = await NatsJobService.start({
      ...options(testExecutor().executor, names, { concurrency: 0 }),
    });
    const { events, workers, startWorker, nextEvent } = workerPool(names, ackWaitMs, 3);
    try {
      const first = await startWorker('A');
      const captions = ['crash-0', 'crash-1', 'crash-2', 'crash-3', 'crash-4'];
      const submitted = [];
      for (const caption of captions) submitted.push(await api.submit(config(caption)));
      // A runs two jobs at once; kill it once one of them has stored its audio, mid-run.
      await nextEvent((e) => e.worker === 'A' && e.event === 'stored');
      const exited = new Promise((resolve) => first.once('exit', resolve));
      first.kill('SIGKILL');
      await exited;
      const startedOnA = new Set(
        events.filter((e) => e.worker === 'A' && e.event === 'start').map((e) => e.id),
      );
      const doneOnA = new Set(events.filter((e) => e.worker === 'A' && e.event === 'done').map((e) => e.id));
      assert.ok(startedOnA.size > doneOnA.size, 'A was killed with a job in flight');
      await startWorker('B');

      const ends = await Promise.all(submitted.map(async (job) => (await collect(api.watch(job.id))).at(-1)));
      const resultIds: string[] = [];
      for (const [i, end] of ends.entries()) {
        assert.equal(end?.state, JobState.SUCCEEDED, `${captions[i]} succeeded`);
        assert.equal(end?.result?.audio.length, 1);
        const objectId = end?.result?.audio[0]?.objectId ?? '';
        resultIds.push(objectId);
        const bytes = await api.store.readObject(objectId);
        assert.equal(sha256Hex(bytes), sha256Hex(audioBytes(captions[i] as string)));
      }
      // Exactly once: each job finished one run; jobs A never started ran once on B.
      const done = events.filter((e) => e.event === 'done').map((e) => e.id);
      assert.deepEqual([...done].sort(), submitted.map((job) => job.id).sort());
      for (const job of submitted) {
        const starts = events.filter((e) => e.event === 'start' && e.id === job.id);
        const expected = startedOnA.has(job.id) && !doneOnA.has(job.id) ? 2 : 1;
        assert.equal(starts.length, expected, `runs of ${job.config?.caption}`);
        if (expected === 2) assert.equal(starts[1]?.attempt, 2);
      }
      // Stored once: the killed attempts' objects were cleaned up by the takeover.
      assert.deepEqual((await api.store.listObjectIds()).sort(), [...resultIds].sort());
      const nc = await connect({ servers: server.url });
      const stream = await (await jetstreamManager(nc)).streams.info(names.stream);
      await nc.close();
      assert.equal(stream.state.messages, 0, 'nothing left in the work queue');
    } finally {
      for (const child of workers) if (child.exitCode === null) child.kill('SIGKILL');
      await api.close();
    }
  });
});
