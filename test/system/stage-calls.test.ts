// The stage caller and the call context, against real processes over loopback (and a real
// nats-server): --stage-attempts 1 means one attempt, counted at the stages; every job runs in its
// own scope — its logs and the stage calls made for it carry its own id, embedded and NATS alike;
// and the gateway's clear answers to a request without config, malformed protobuf framing, a
// client deadline and an invalid job config.
import assert from 'node:assert/strict';
import http2 from 'node:http2';
import { after, before, describe, it } from 'node:test';
import { connectClient } from '@acestep/cli/client';
import { type LaunchedService, launchService } from '@acestep/cli/launcher';
import {
  AudioFormat,
  GatewayService,
  GenerateRequestSchema,
  type GenerationConfigSchema,
  JobState,
} from '@acestep/proto/gateway';
import { type NatsServer, startNatsServer } from '@acestep/testkit/nats-server';
import { create, type MessageInitShape, toBinary } from '@bufbuild/protobuf';
import { Code, ConnectError } from '@connectrpc/connect';

const config: MessageInitShape<typeof GenerationConfigSchema> = {
  caption: 'stage call test',
  lyrics: '[Instrumental]',
  audioDuration: 10,
  bpm: 100,
  keyScale: 'C major',
  timeSignature: '4',
  useRandomSeed: false,
  seed: 3n,
  audioFormat: AudioFormat.WAV,
};

interface LogLine {
  service: string;
  msg: string;
  requestId?: string;
  jobId?: string;
  [key: string]: unknown;
}

/** Every JSON log line a process writes, kept for the assertions. */
function logSink(): { lines: LogLine[]; onLog: (service: string, line: string) => void } {
  const lines: LogLine[] = [];
  return {
    lines,
    onLog: (_service, line) => {
      try {
        lines.push(JSON.parse(line) as LogLine);
      } catch {
        // stderr text: not a log record
      }
    },
  };
}

async function metric(service: LaunchedService, series: RegExp): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${service.metricsPort}/metrics`)).text();
  let total = 0;
  for (const line of text.split('\n'))
    if (series.test(line)) total += Number(line.slice(line.lastIndexOf(' ') + 1));
  return total;
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

/** One raw gRPC call over HTTP/2: the status and message from the trailers. */
function rawGrpc(
  address: string,
  path: string,
  body: Buffer,
  headers: Record<string, string> = {},
): Promise<{ status: number; message: string }> {
  return new Promise((resolve, reject) => {
    const session = http2.connect(`http://${address}`);
    session.on('error', reject);
    const req = session.request({
      ':method': 'POST',
      ':path': path,
      'content-type': 'application/grpc',
      te: 'trailers',
      ...headers,
    });
    let status = -1;
    let message = '';
    const take = (h: http2.IncomingHttpHeaders) => {
      if (h['grpc-status'] !== undefined) {
        status = Number(h['grpc-status']);
        message = decodeURIComponent(String(h['grpc-message'] ?? ''));
      }
    };
    req.on('response', take);
    req.on('trailers', take);
    req.on('data', () => {});
    req.on('end', () => {
      session.close();
      resolve({ status, message });
    });
    req.on('error', reject);
    req.end(body);
  });
}

function frame(message: Buffer): Buffer {
  const head = Buffer.alloc(5);
  head.writeUInt32BE(message.byteLength, 1);
  return Buffer.concat([head, message]);
}

describe('stage caller and call context', () => {
  const started: LaunchedService[] = [];
  const ditLogs = logSink();
  const gatewayLogs = logSink();
  let lm: LaunchedService;
  let vae: LaunchedService;
  let dit: LaunchedService;
  let nats: NatsServer;
  before(async () => {
    [lm, vae, dit] = await Promise.all([
      launchService('lm'),
      launchService('vae'),
      launchService('dit', { onLog: ditLogs.onLog }),
    ]);
    started.push(lm, vae, dit);
    nats = await startNatsServer();
  });
  after(async () => {
    await Promise.all(started.map((s) => s.stop()));
    await nats?.stop();
  });

  const gateway = async (ditTarget: string, args: string[] = []) => {
    const g = await launchService('gateway', {
      args: ['--lm-target', lm.address, '--vae-target', vae.address, '--dit-target', ditTarget, ...args],
      onLog: gatewayLogs.onLog,
    });
    started.push(g);
    return g;
  };

  it('with --stage-attempts 1 a stage call that fails is attempted exactly once, and the error names no address', async () => {
    const spare = await launchService('dit');
    const doomed = await launchService('dit');
    started.push(spare, doomed);
    const g = await gateway(`ipv4:${doomed.address},${spare.address}`, ['--stage-attempts', '1']);
    const client = connectClient(GatewayService, g.address);
    const inFlight = (s: LaunchedService) =>
      metric(s, /^acestep_rpc_in_flight\{method="DitService\/Generate"/);
    // Round robin: keep asking until the call lands on the replica that will die.
    for (let i = 0; ; i++) {
      assert.ok(i < 6, 'a call reached the doomed replica');
      const pending = (async () => {
        for await (const res of client.generate({ config: { ...config, audioDuration: 60 } }))
          if (res.event.case === 'result') return res.event.value;
        throw new Error('no result');
      })();
      pending.catch(() => {});
      const busy = await waitFor(async () => {
        for (const replica of [doomed, spare]) if ((await inFlight(replica)) > 0) return replica;
        return undefined;
      }, 'a DiT replica at work');
      if (busy === spare) {
        await pending;
        continue;
      }
      const before = await metric(spare, /^acestep_rpc_requests_total\{method="DitService\/Generate"/);
      doomed.child.kill('SIGKILL');
      const error = await pending.then(
        () => assert.fail('the generation should fail: its only attempt died'),
        (e: unknown) => ConnectError.from(e),
      );
      assert.equal(error.code, Code.Unavailable, error.rawMessage);
      assert.equal(error.rawMessage, 'the DiT stage is unavailable, retry later');
      assert.doesNotMatch(error.rawMessage, /127\.0\.0\.1|:\d{2,5}/, 'no internal address');
      // Counted at the stages: the dead replica had the one call; the live one got none.
      assert.equal(await metric(spare, /^acestep_rpc_requests_total\{method="DitService\/Generate"/), before);
      assert.equal(await inFlight(spare), 0);
      break;
    }
  });

  for (const mode of ['embedded', 'nats'] as const) {
    it(`two ${mode} jobs each log and forward their own request id (the queue pump does not leak one job's id into the next)`, async () => {
      const args = ['--job-concurrency', '1', ...(mode === 'nats' ? ['--nats-url', nats.url] : [])];
      const g = await gateway(dit.address, args);
      const ids: string[] = [];
      for (const name of ['A', 'B']) {
        const client = connectClient(GatewayService, g.address, { 'x-request-id': `submit-${mode}-${name}` });
        const { job } = await client.submitJob({ config: { ...config, seed: BigInt(ids.length + 10) } });
        ids.push(job!.id);
      }
      const client = connectClient(GatewayService, g.address);
      for (const id of ids) {
        let last = (await client.getJob({ id })).job;
        for await (const res of client.watchJob({ id })) last = res.job;
        assert.equal(last?.state, JobState.SUCCEEDED, last?.result?.error);
      }
      for (const id of ids) {
        // The gateway's lines about the run, and the DiT's lines about the call made for it.
        const gatewayLines = gatewayLogs.lines.filter((l) => l.jobId === id && l.msg === 'job started');
        assert.ok(gatewayLines.length >= 1, `the gateway logged the start of ${id}`);
        for (const line of gatewayLines) assert.equal(line.requestId, id);
        const stageLines = ditLogs.lines.filter((l) => l.jobId === id);
        assert.ok(stageLines.length >= 1, `the DiT logged the call made for ${id} with its job id`);
        for (const line of stageLines) assert.equal(line.requestId, id, JSON.stringify(line));
      }
      const leaked = [...gatewayLogs.lines, ...ditLogs.lines].filter(
        (l) => l.requestId?.startsWith(`submit-${mode}-`) && l.jobId !== undefined,
      );
      assert.deepEqual(leaked, [], "no run logs under a submitter's request id");
      // The jobs-ended counter counts them.
      assert.ok((await metric(g, /^acestep_jobs_ended_total\{.*state="SUCCEEDED"/)) >= 2);
    });
  }

  it('answers a request without config, malformed protobuf, a client deadline and an invalid job config clearly', async () => {
    const g = await gateway(dit.address);
    const client = connectClient(GatewayService, g.address);
    const missing = async (call: () => Promise<unknown>) => {
      const e = await call().then(
        () => assert.fail('accepted a request without config'),
        (error: unknown) => ConnectError.from(error),
      );
      assert.equal(e.code, Code.InvalidArgument, e.rawMessage);
      assert.match(e.rawMessage, /^config: required/);
    };
    await missing(() => client.submitJob({}));
    await missing(async () => {
      for await (const _ of client.generate({})) {
      }
    });

    const submit = '/acestep.v1.GatewayService/SubmitJob';
    const junk = await rawGrpc(g.address, submit, frame(Buffer.from([0x0a, 0xff, 0xff])));
    assert.equal(junk.status, Code.InvalidArgument, junk.message);
    assert.match(junk.message, /not a valid acestep\.v1\.SubmitJobRequest: premature EOF/);
    const cut = await rawGrpc(g.address, submit, Buffer.from([0, 0, 0, 0, 10, 1]));
    assert.equal(cut.status, Code.InvalidArgument, cut.message);
    assert.match(cut.message, /ends inside a message envelope/);

    // A 60 s generation with a 300 ms deadline.
    const request = Buffer.from(
      toBinary(
        GenerateRequestSchema,
        create(GenerateRequestSchema, { config: { ...config, audioDuration: 60 } }),
      ),
    );
    const late = await rawGrpc(g.address, '/acestep.v1.GatewayService/Generate', frame(request), {
      'grpc-timeout': '300m',
    });
    assert.equal(late.status, Code.DeadlineExceeded, late.message);

    const before = (await client.listJobs({})).jobs.length;
    const bad = await client.submitJob({ config: { ...config, audioDuration: 5000 } }).then(
      () => assert.fail('accepted an invalid job'),
      (error: unknown) => ConnectError.from(error),
    );
    assert.equal(bad.code, Code.InvalidArgument, bad.rawMessage);
    assert.match(bad.rawMessage, /audio_duration/);
    assert.equal((await client.listJobs({})).jobs.length, before, 'nothing was queued');
  });
});
