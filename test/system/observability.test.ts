// Traces and the job/stage metrics. One trace from the client through
// gateway → LM → DiT → VAE: the four
// services run as real servers on loopback sockets inside this process, so one
// in-memory exporter (the OpenTelemetry SDK's own) sees every span. The client
// sends a W3C traceparent; a Generate call and a job (whose run happens later,
// from the job store) must each stay in the caller's trace.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { connectClient } from '@acestep/cli/client';
import { defaultDitConfig, ditSpec } from '@acestep/dit/internal';
import { gatewaySpec } from '@acestep/gateway';
import { defaultGatewayConfig } from '@acestep/gateway/internal';
import { lmDefaults, lmSpec } from '@acestep/lm/internal';
import { AudioFormat, GatewayService, type GenerationConfigSchema, JobState } from '@acestep/proto/gateway';
import {
  defaultServiceConfig,
  type RunningService,
  startService,
  startTracing,
  type Tracing,
} from '@acestep/runtime';
import { vaeSpec } from '@acestep/vae/internal';
import type { MessageInitShape } from '@bufbuild/protobuf';
import { InMemorySpanExporter, type ReadableSpan, SimpleSpanProcessor } from '@opentelemetry/sdk-trace';

const config: MessageInitShape<typeof GenerationConfigSchema> = {
  caption: 'traced',
  lyrics: '[Instrumental]',
  audioDuration: 10,
  useRandomSeed: false,
  seed: 5n,
  useLlmThinking: true,
  audioFormat: AudioFormat.WAV,
};

const ports = { port: 0, metricsPort: 0 };

async function scrape(service: RunningService): Promise<Map<string, number>> {
  const text = await (await fetch(`http://127.0.0.1:${service.metricsPort}/metrics`)).text();
  const values = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line.startsWith('#') || !line.trim()) continue;
    const at = line.lastIndexOf(' ');
    // Series names without the constant service label, e.g. acestep_jobs{state="SUCCEEDED"}.
    const name = line
      .slice(0, at)
      .replace(/service="[^"]*"/, '')
      .replace('{,', '{')
      .replace(',}', '}')
      .replace('{}', '');
    values.set(name, Number(line.slice(at + 1)));
  }
  return values;
}

describe('traces and metrics', () => {
  const exporter = new InMemorySpanExporter();
  let tracing: Tracing;
  const services: RunningService[] = [];
  let gateway: RunningService;
  let dataDir = '';
  before(async () => {
    tracing = startTracing({ service: 'test', processors: [new SimpleSpanProcessor({ exporter })] });
    dataDir = await mkdtemp(join(tmpdir(), 'acestep-trace-'));
    const lm = await startService(lmSpec(), lmDefaults(defaultServiceConfig(ports)));
    const dit = await startService(ditSpec(), { ...defaultDitConfig(), ...ports });
    const vae = await startService(vaeSpec(), defaultServiceConfig(ports));
    services.push(lm, dit, vae);
    gateway = await startService(gatewaySpec(), {
      ...defaultGatewayConfig(),
      ...ports,
      dataDir,
      lmTarget: `127.0.0.1:${lm.port}`,
      ditTarget: `127.0.0.1:${dit.port}`,
      vaeTarget: `127.0.0.1:${vae.port}`,
    });
    services.push(gateway);
  });
  after(async () => {
    for (const service of services.reverse()) await service.shutdown('test done');
    await tracing?.shutdown();
    await rm(dataDir, { recursive: true, force: true });
  });

  const newTrace = () => {
    const traceId = randomBytes(16).toString('hex');
    return { traceId, traceparent: `00-${traceId}-${randomBytes(8).toString('hex')}-01` };
  };
  const servicesIn = (spans: ReadableSpan[]) => new Set(spans.map((s) => s.name.split('/')[0]));

  it('a Generate call spans gateway → LM → DiT → VAE with the caller’s trace id', async () => {
    const { traceId, traceparent } = newTrace();
    const client = connectClient(GatewayService, `127.0.0.1:${gateway.port}`, { traceparent });
    for await (const res of client.generate({ config })) {
      if (res.event.case === 'result') assert.equal(res.event.value.success, true, res.event.value.error);
    }
    const spans = exporter.getFinishedSpans().filter((s) => s.spanContext().traceId === traceId);
    const names = servicesIn(spans);
    for (const service of [
      'acestep.v1.GatewayService',
      'acestep.lm.v1.LmService',
      'acestep.dit.v1.DitService',
      'acestep.vae.v1.VaeService',
    ]) {
      assert.ok(names.has(service), `${service} in the trace; got ${[...names].join(', ')}`);
    }
    const root = spans.find((s) => s.name === 'acestep.v1.GatewayService/Generate');
    assert.equal(root?.parentSpanContext?.spanId, traceparent.split('-')[2], 'continues the caller');
    for (const span of spans.filter((s) => s !== root))
      assert.equal(span.parentSpanContext?.spanId, root?.spanContext().spanId, `${span.name} is a child`);
  });

  it('a job runs in the trace of its SubmitJob call', async () => {
    const { traceId, traceparent } = newTrace();
    const client = connectClient(GatewayService, `127.0.0.1:${gateway.port}`, { traceparent });
    const { job } = await client.submitJob({ config });
    for await (const { job: seen } of connectClient(GatewayService, `127.0.0.1:${gateway.port}`).watchJob({
      id: job!.id,
    })) {
      if (seen?.state === JobState.FAILED) assert.fail(seen.result?.error);
    }
    const spans = exporter.getFinishedSpans().filter((s) => s.spanContext().traceId === traceId);
    const run = spans.find((s) => s.name === 'acestep.job.run');
    assert.equal(run?.attributes['acestep.job.id'], job!.id);
    const submit = spans.find((s) => s.name === 'acestep.v1.GatewayService/SubmitJob');
    assert.equal(run?.parentSpanContext?.spanId, submit?.spanContext().spanId);
    const names = servicesIn(spans);
    for (const service of [
      'acestep.lm.v1.LmService',
      'acestep.dit.v1.DitService',
      'acestep.vae.v1.VaeService',
    ])
      assert.ok(names.has(service), `${service} in the job's trace; got ${[...names].join(', ')}`);
  });

  it('job and stage metrics move with the work', async () => {
    const [lm, dit, vae] = services as [RunningService, RunningService, RunningService];
    const g = await scrape(gateway);
    assert.ok((g.get('acestep_jobs{state="SUCCEEDED"}') ?? 0) >= 1, 'jobs by state');
    assert.ok((g.get('acestep_jobs_ended_total{state="SUCCEEDED"}') ?? 0) >= 1);
    assert.ok((g.get('acestep_job_queue_wait_seconds_count') ?? 0) >= 1);
    assert.ok((g.get('acestep_job_duration_seconds_count{state="SUCCEEDED"}') ?? 0) >= 1);
    // One Generate and one job of 10 s each were delivered.
    assert.equal(g.get('acestep_generated_audio_seconds_total{via="generate"}'), 10);
    assert.equal(g.get('acestep_generated_audio_seconds_total{via="job"}'), 10);
    const l = await scrape(lm);
    for (const phase of ['metadata', 'audio_codes']) {
      assert.ok((l.get(`acestep_lm_phase_seconds_total{phase="${phase}"}`) ?? 0) > 0, `LM time, ${phase}`);
      assert.ok((l.get(`acestep_lm_tokens_per_second_count{phase="${phase}"}`) ?? 0) >= 2, phase);
    }
    const d = await scrape(dit);
    assert.ok((d.get('acestep_dit_steps_total') ?? 0) >= 2);
    assert.equal(d.get('acestep_dit_step_seconds_count'), d.get('acestep_dit_steps_total'));
    const v = await scrape(vae);
    assert.ok((v.get('acestep_vae_audio_seconds_total') ?? 0) >= 20);
    assert.ok((v.get('acestep_vae_realtime_factor_count') ?? 0) >= 2);
  });
});
