// A NATS outage must not fail jobs: ten jobs running when nats-server is
// SIGKILLed for 10 s all succeed once it is back, each exactly once.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { type Job, JobState } from '@acestep/proto/gateway';
import { collect, config, eventually, testExecutor } from '@acestep/testkit/jobs';
import { type NatsServer, startNatsServer } from '@acestep/testkit/nats-server';
import { isJobError } from './errors.ts';
import { NatsJobService } from './nats.ts';

let server: NatsServer;

async function finalState(jobs: NatsJobService, id: string): Promise<Job | undefined> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    try {
      return (await collect(jobs.watch(id))).at(-1);
    } catch (error) {
      if (!isJobError(error, 'UNAVAILABLE') || Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  }
}
before(async () => {
  server = await startNatsServer();
});
after(async () => {
  await server?.stop();
});

test('a 10 s nats-server outage during 10 running jobs: 10 succeed, none twice', {
  timeout: 180_000,
}, async () => {
  const t = testExecutor();
  const names = {
    stream: 'JOBS_OUTAGE',
    subject: 'outage.jobs.run',
    consumer: 'runners-outage',
    jobsBucket: 'jobs_outage',
    objectBucket: 'audio_outage',
  };
  const jobs = await NatsJobService.start({
    executor: t.executor,
    natsUrl: server.url,
    concurrency: 10,
    maxQueued: 20,
    maxObjectBytes: 1024 * 1024,
    dataDir: '',
    progressIntervalMs: 0,
    nats: { ackWaitMs: 30_000, maxAttempts: 5, names },
  });
  try {
    const captions = Array.from({ length: 10 }, (_, i) => `hold-outage-${i}`);
    const submitted = [];
    for (const caption of captions) submitted.push(await jobs.submit(config(caption)));
    await Promise.all(captions.map((c) => t.holding(c)));

    await server.kill();
    for (const caption of captions) t.release(caption); // each now stores its result: NATS is gone
    await new Promise((resolve) => setTimeout(resolve, 10_000));
    await server.restart();

    // A client retries UNAVAILABLE: the connection and JetStream take a few seconds to come back.
    const ends = await Promise.all(submitted.map((job) => finalState(jobs, job.id)));
    for (const [i, end] of ends.entries()) {
      assert.equal(end?.state, JobState.SUCCEEDED, `${captions[i]}: ${end?.result?.error ?? ''}`);
      assert.equal(end?.result?.audio.length, 1);
    }
    const stored = new Set(ends.map((end) => end?.result?.audio[0]?.objectId));
    assert.equal(stored.size, 10, 'one result object per job');
    // A runner deletes an attempt's leftovers right after it stores the end state the watch sees.
    await eventually(async () =>
      assert.deepEqual(
        (await jobs.store.listObjectIds()).sort(),
        [...stored].sort(),
        'no object of an abandoned attempt is left behind',
      ),
    );
  } finally {
    await jobs.close();
  }
});
