// The embedded (single-box) gateway keeps its jobs on disk: SIGKILLed with
// finished, running and queued jobs, a gateway restarted on the same data
// directory finishes every unfinished job exactly once and still serves the
// finished results. Real stage processes, a real gateway process, a real kill.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { connectClient } from '@acestep/cli/client';
import { type LaunchedService, launchService } from '@acestep/cli/launcher';
import { AudioFormat, GatewayService, type GenerationConfigSchema, JobState } from '@acestep/proto/gateway';
import type { MessageInitShape } from '@bufbuild/protobuf';
import type { Client } from '@connectrpc/connect';

const config = (seed: number): MessageInitShape<typeof GenerationConfigSchema> => ({
  caption: 'restart survivor',
  lyrics: '[Instrumental]',
  audioDuration: 10,
  bpm: 100,
  keyScale: 'C major',
  timeSignature: '4/4',
  useRandomSeed: false,
  seed: BigInt(seed),
  batchSize: 1,
  audioFormat: AudioFormat.WAV,
});

async function download(client: Client<typeof GatewayService>, objectId: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const res of client.downloadAudio({ objectId })) hash.update(res.data);
  return hash.digest('hex');
}

async function waitState(client: Client<typeof GatewayService>, id: string, state: JobState) {
  for await (const { job } of client.watchJob({ id })) if (job?.state === state) return job;
  throw new Error(`job ${id} ended without reaching ${JobState[state]}`);
}

describe('embedded gateway restart', () => {
  const stages: LaunchedService[] = [];
  let dataDir = '';
  const events: { event: string; jobId: string; gateway: number }[] = [];
  before(async () => {
    const patient = { startTimeoutMs: 120_000 }; // a loaded machine takes a while to load the models
    stages.push(
      ...(await Promise.all([
        launchService('lm', patient),
        launchService('dit', patient),
        launchService('vae', patient),
      ])),
    );
    dataDir = await mkdtemp(join(tmpdir(), 'acestep-restart-'));
  });
  after(async () => {
    await Promise.all(stages.map((s) => s.stop()));
    await rm(dataDir, { recursive: true, force: true });
  });

  const startGateway = (n: number) =>
    launchService('gateway', {
      startTimeoutMs: 120_000,
      args: [
        ...['--lm-target', stages[0]!.address, '--dit-target', stages[1]!.address],
        ...['--vae-target', stages[2]!.address, '--data-dir', dataDir, '--job-concurrency', '1'],
      ],
      onLog: (_service, line) => {
        const record = JSON.parse(line.startsWith('{') ? line : '{}') as { msg?: string; jobId?: string };
        if ((record.msg === 'job started' || record.msg === 'job ended') && record.jobId)
          events.push({ event: record.msg, jobId: record.jobId, gateway: n });
      },
    });

  it('finishes queued jobs exactly once after a SIGKILL and still serves finished results', {
    timeout: 240_000,
  }, async () => {
    const first = await startGateway(1);
    let client = connectClient(GatewayService, first.address);
    const { job: done } = await client.submitJob({ config: config(1) });
    const finished = await waitState(client, done!.id, JobState.SUCCEEDED);
    const file = finished.result!.audio[0]!;
    assert.equal(await download(client, file.objectId), file.sha256);

    const ids: string[] = [];
    for (const seed of [2, 3, 4, 5]) ids.push((await client.submitJob({ config: config(seed) })).job!.id);
    const before = new Map<string, JobState>();
    for (const id of ids) before.set(id, (await client.getJob({ id })).job!.state);
    first.child.kill('SIGKILL');
    assert.equal((await first.exited).signal, 'SIGKILL');
    const queuedAtKill = ids.filter((id) => before.get(id) === JobState.QUEUED);
    assert.ok(queuedAtKill.length >= 2, `jobs still queued at the kill: ${queuedAtKill.length}`);

    const second = await startGateway(2);
    try {
      client = connectClient(GatewayService, second.address);
      const kept = (await client.getJob({ id: done!.id })).job!;
      assert.equal(kept.state, JobState.SUCCEEDED);
      assert.equal(await download(client, file.objectId), file.sha256, 'the finished result is served');
      for (const id of ids) {
        const end = await waitState(client, id, JobState.SUCCEEDED);
        const audio = end.result!.audio[0]!;
        assert.equal(await download(client, audio.objectId), audio.sha256);
      }
      const count = (event: string, id: string) =>
        events.filter((e) => e.event === event && e.jobId === id).length;
      for (const id of ids) assert.equal(count('job ended', id), 1, `job ${id} ends exactly once`);
      for (const id of queuedAtKill) {
        assert.equal(count('job started', id), 1, `queued job ${id} runs exactly once`);
        assert.ok(events.some((e) => e.jobId === id && e.event === 'job started' && e.gateway === 2));
      }
      assert.equal(count('job started', done!.id), 1, 'a finished job is not run again');
    } finally {
      await second.stop();
    }
  });
});
