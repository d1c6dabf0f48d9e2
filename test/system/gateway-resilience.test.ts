// What must survive failures: a job whose gateway is SIGKILLed mid-run is
// finished by another gateway (jobs on NATS JetStream), and a request whose DiT
// replica is SIGKILLed mid-call completes on the other replica.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { connectClient } from '@acestep/cli/client';
import { type LaunchedService, launchService } from '@acestep/cli/launcher';
import { AudioFormat, GatewayService, type GenerationConfigSchema, JobState } from '@acestep/proto/gateway';
import { type NatsServer, startNatsServer } from '@acestep/testkit/nats-server';
import type { MessageInitShape } from '@bufbuild/protobuf';

const config: MessageInitShape<typeof GenerationConfigSchema> = {
  caption: 'slow evolving drone',
  lyrics: '[Instrumental]',
  audioDuration: 30,
  bpm: 90,
  keyScale: 'D minor',
  timeSignature: '4/4',
  useRandomSeed: false,
  seed: 7n,
  batchSize: 2,
  audioFormat: AudioFormat.WAV,
};

async function inFlight(service: LaunchedService, method: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${service.metricsPort}/metrics`)).text();
  const match = text.match(new RegExp(`acestep_rpc_in_flight\\{method="${method}"[^}]*\\} (\\d+)`));
  return match ? Number(match[1]) : 0;
}

async function waitFor<T>(probe: () => Promise<T | undefined>, what: string, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const value = await probe();
    if (value !== undefined) return value;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe('resilience', () => {
  const stages: LaunchedService[] = [];
  let lm: LaunchedService;
  let vae: LaunchedService;
  let dit: LaunchedService;
  let nats: NatsServer;
  before(async () => {
    [lm, vae, dit] = await Promise.all([launchService('lm'), launchService('vae'), launchService('dit')]);
    stages.push(lm, vae, dit);
    nats = await startNatsServer();
  });
  after(async () => {
    await Promise.all(stages.map((s) => s.stop()));
    await nats?.stop();
  });

  const gatewayArgs = (ditTarget: string) => [
    '--lm-target',
    lm.address,
    '--vae-target',
    vae.address,
    '--dit-target',
    ditTarget,
  ];

  it('a job on NATS survives SIGKILL of the gateway running it: another gateway finishes it, once', async () => {
    const args = [
      ...gatewayArgs(dit.address),
      '--nats-url',
      nats.url,
      '--job-ack-wait-ms',
      '1500',
      '--job-concurrency',
      '1',
    ];
    const first = await launchService('gateway', { args });
    const client = connectClient(GatewayService, first.address);
    const { job } = await client.submitJob({ config });
    // Kill the first gateway once its run has reached the DiT.
    await waitFor(
      async () => ((await inFlight(dit, 'DitService/Generate')) > 0 ? true : undefined),
      'the DiT call',
    );
    first.child.kill('SIGKILL');
    await first.exited;
    const second = await launchService('gateway', { args });
    stages.push(second);
    const other = connectClient(GatewayService, second.address);
    let last = (await other.getJob({ id: job!.id })).job;
    for await (const res of other.watchJob({ id: job!.id })) last = res.job;
    assert.equal(last?.state, JobState.SUCCEEDED, last?.result?.error);
    assert.equal(last?.result?.audio.length, 2);
    const listed = await other.listJobs({});
    assert.equal(listed.jobs.filter((j) => j.id === job!.id).length, 1, 'one job, not two');
    for (const file of last!.result!.audio) {
      let bytes = 0;
      for await (const piece of other.downloadAudio({ objectId: file.objectId }))
        bytes += piece.data.byteLength;
      assert.equal(BigInt(bytes), file.sizeBytes);
    }
  });

  it('a request completes when the DiT replica serving it is SIGKILLed mid-call, with the same audio', async () => {
    const spare = await launchService('dit');
    stages.push(spare);
    const gateway = await launchService('gateway', {
      args: gatewayArgs(`ipv4:${dit.address},${spare.address}`),
    });
    stages.push(gateway);
    const client = connectClient(GatewayService, gateway.address);
    const generate = async () => {
      for await (const res of client.generate({ config }))
        if (res.event.case === 'result') return res.event.value;
      throw new Error('no result');
    };
    const reference = await generate();
    const pending = generate();
    const busy = await waitFor(async () => {
      for (const replica of [dit, spare])
        if ((await inFlight(replica, 'DitService/Generate')) > 0) return replica;
      return undefined;
    }, 'a DiT replica at work');
    busy.child.kill('SIGKILL');
    const result = await pending;
    assert.equal(result.success, true, result.error);
    assert.deepEqual(
      result.audio.map((a) => a.sha256),
      reference.audio.map((a) => a.sha256),
      'the retry on the other replica gives the same audio for the same seeds',
    );
  });
});
