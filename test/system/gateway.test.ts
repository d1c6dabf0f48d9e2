// generate_music end to end: four real service processes over loopback, the
// public API called as a user would (Connect client), results downloaded and
// decoded back.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { decodeAudio, encodeAudio } from '@acestep/audio';
import { connectClient } from '@acestep/cli/client';
import { type LaunchedService, launchService, launchStack, type Stack } from '@acestep/cli/launcher';
import type { GenerationConfigSchema } from '@acestep/proto/gateway';
import {
  AudioFormat,
  GatewayService,
  type GenerationConfig,
  type GenerationResult,
  JobState,
  type Progress,
  Stage,
  TaskType,
} from '@acestep/proto/gateway';
import { Health, HealthCheckResponse_ServingStatus } from '@acestep/proto/health';
import { baseVariantSet } from '@acestep/testkit/model-sets';
import type { MessageInitShape } from '@bufbuild/protobuf';
import { type Client, Code, type ConnectError } from '@connectrpc/connect';

type ConfigInit = MessageInitShape<typeof GenerationConfigSchema>;

async function generate(client: Client<typeof GatewayService>, config: ConfigInit) {
  const progress: Progress[] = [];
  let result: GenerationResult | undefined;
  for await (const res of client.generate({ config })) {
    if (res.event.case === 'progress') progress.push(res.event.value);
    else if (res.event.case === 'result') result = res.event.value;
  }
  assert.ok(result, 'a result ends the stream');
  return { result, progress };
}

async function download(client: Client<typeof GatewayService>, objectId: string): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  for await (const res of client.downloadAudio({ objectId })) parts.push(res.data);
  return Buffer.concat(parts);
}

function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

const SECONDS = 10;
const UPLOAD_LIMIT = 12_000_000;

/** A WAV header + PCM16 body with whatever (possibly absurd) format fields a test needs. */
function wavFile(sampleRate: number, channels: number, frames: number, declaredBytes?: number): Uint8Array {
  const dataBytes = frames * channels * 2;
  const out = Buffer.alloc(44 + dataBytes);
  out.write('RIFF', 0);
  out.writeUInt32LE(36 + (declaredBytes ?? dataBytes), 4);
  out.write('WAVEfmt ', 8);
  out.writeUInt32LE(16, 16);
  out.writeUInt16LE(1, 20);
  out.writeUInt16LE(channels, 22);
  out.writeUInt32LE(sampleRate, 24);
  out.writeUInt32LE(sampleRate * channels * 2, 28);
  out.writeUInt16LE(channels * 2, 32);
  out.writeUInt16LE(16, 34);
  out.write('data', 36);
  out.writeUInt32LE(declaredBytes ?? dataBytes, 40);
  for (let i = 0; i < frames * channels; i++)
    out.writeInt16LE(Math.round(8000 * Math.sin(i / 10)), 44 + 2 * i);
  return out;
}

async function upload(client: Client<typeof GatewayService>, bytes: Uint8Array) {
  return client.uploadAudio(
    (async function* () {
      for (let offset = 0; offset < bytes.byteLength; offset += 1 << 20) {
        yield { data: bytes.subarray(offset, offset + (1 << 20)) };
      }
    })(),
  );
}
const base: ConfigInit = {
  caption: 'calm ambient piano with soft strings',
  lyrics: '[Instrumental]',
  audioDuration: SECONDS,
  bpm: 80,
  keyScale: 'C major',
  timeSignature: '4/4',
  useRandomSeed: false,
  seed: 42n,
  audioFormat: AudioFormat.WAV,
};

describe('gateway end to end', () => {
  let stack: Stack;
  let client: Client<typeof GatewayService>;
  before(async () => {
    stack = await launchStack({ gatewayArgs: ['--max-upload-bytes', String(UPLOAD_LIMIT)] });
    client = connectClient(GatewayService, stack.gateway.address);
  });
  after(async () => {
    await stack?.stop();
  });

  it('text2music without the LM: one file per item, 48 kHz stereo, the requested duration, progress from start to end', async () => {
    const { result, progress } = await generate(client, base);
    assert.equal(result.success, true, result.error);
    assert.equal(result.audio.length, 1);
    assert.equal(result.seedValue, '42');
    assert.match(result.generationInfo, /Seeds/);
    const stages = progress.map((p) => p.stage);
    assert.ok(
      stages.includes(Stage.DIT) && stages.includes(Stage.VAE) && stages.includes(Stage.ENCODING),
      `${stages}`,
    );
    const dit = progress.filter((p) => p.stage === Stage.DIT);
    assert.equal(dit.at(-1)?.step, dit.at(-1)?.total, 'the DiT reports every step to the last');
    const pcm = await decodeAudio(await download(client, result.audio[0]!.objectId));
    assert.equal(pcm.sampleRate, 48_000);
    assert.equal(pcm.channels.length, 2);
    assert.ok(
      Math.abs(pcm.channels[0]!.length - SECONDS * 48_000) <= 1920,
      `${pcm.channels[0]!.length} samples`,
    );
  });

  it('writes mp3, wav and flac that decode back to the same length', async () => {
    const formats = [
      [AudioFormat.MP3, 'mp3'],
      [AudioFormat.WAV, 'wav'],
      [AudioFormat.FLAC, 'flac'],
    ] as const;
    for (const [format, name] of formats) {
      const { result } = await generate(client, { ...base, audioFormat: format });
      const file = result.audio[0]!;
      assert.equal(file.format, name);
      const bytes = await download(client, file.objectId);
      assert.equal(sha256(bytes), file.sha256);
      const pcm = await decodeAudio(bytes);
      assert.equal(pcm.sampleRate, 48_000, file.format);
      assert.equal(pcm.channels.length, 2, file.format);
      assert.ok(
        Math.abs(pcm.channels[0]!.length - SECONDS * 48_000) <= 1920,
        `${file.format}: ${pcm.channels[0]!.length}`,
      );
    }
  });

  it('reproduces the same audio for the same seed and config, and differs for another seed', async () => {
    const a = await generate(client, base);
    const b = await generate(client, base);
    const c = await generate(client, { ...base, seed: 43n });
    assert.equal(a.result.audio[0]!.sha256, b.result.audio[0]!.sha256);
    assert.notEqual(a.result.audio[0]!.sha256, c.result.audio[0]!.sha256);
  });

  it('batch 3 with lm_batch_chunk_size 2 runs two LM chunks and reports a seed per item', async () => {
    const metricsBefore = await lmCalls(stack);
    const { result, progress } = await generate(client, {
      ...base,
      bpm: undefined,
      keyScale: '',
      useLlmThinking: true,
      batchSize: 3,
      allowLmBatch: true,
      lmBatchChunkSize: 2,
    });
    assert.equal(result.success, true, result.error);
    assert.equal(result.audio.length, 3);
    assert.equal(result.seedValue, '42, 43, 44');
    assert.equal((await lmCalls(stack)) - metricsBefore, 2, 'two LM Generate calls');
    assert.match(result.statusMessage, /LM chunk 1[\s\S]*LM chunk 2/);
    assert.ok(result.lmMetadata, 'lm_metadata is set');
    assert.ok(progress.some((p) => p.stage === Stage.LM_METADATA || p.stage === Stage.LM_AUDIO_CODES));
  });

  it('cover and repaint from uploaded source audio; audio codes passed straight to the DiT', async () => {
    const tone = new Float32Array(12 * 48_000).map(
      (_, i) => 0.3 * Math.sin((2 * Math.PI * 440 * i) / 48_000),
    );
    const wav = await encodeAudio({ sampleRate: 48_000, channels: [tone, tone] }, 'wav16');
    const cover = await generate(client, {
      ...base,
      taskType: TaskType.COVER,
      srcAudio: { source: { case: 'data', value: wav } },
      referenceAudio: { source: { case: 'data', value: wav } },
      audioCoverStrength: 0.5,
    });
    assert.equal(cover.result.success, true, cover.result.error);
    const upload = await client.uploadAudio(
      (async function* () {
        yield { data: wav.subarray(0, 100_000) };
        yield { data: wav.subarray(100_000) };
      })(),
    );
    const repaint = await generate(client, {
      ...base,
      taskType: TaskType.REPAINT,
      srcAudio: { source: { case: 'objectId', value: upload.objectId } },
      repaintingStart: 2,
      repaintingEnd: -1,
    });
    assert.equal(repaint.result.success, true, repaint.result.error);
    const repaintPcm = await decodeAudio(await download(client, repaint.result.audio[0]!.objectId));
    assert.ok(
      Math.abs(repaintPcm.channels[0]!.length - 12 * 48_000) <= 1920,
      'repaint keeps the source length',
    );
    const codes = Array.from({ length: 50 }, (_, i) => `<|audio_code_${(i * 997) % 64000}|>`).join('');
    const fromCodes = await generate(client, { ...base, audioCodeString: [codes] });
    assert.equal(fromCodes.result.success, true, fromCodes.result.error);
  });

  it('answers lego, extract and complete on a turbo-only deployment with FAILED_PRECONDITION naming the base model', async () => {
    for (const taskType of [TaskType.LEGO, TaskType.EXTRACT, TaskType.COMPLETE]) {
      await assert.rejects(
        generate(client, {
          ...base,
          taskType,
          instruction: 'Generate the guitar track based on the audio context:',
          srcAudio: { source: { case: 'data', value: new Uint8Array([1, 2, 3]) } },
        }),
        (e: ConnectError) => e.code === Code.FailedPrecondition && /base/i.test(e.rawMessage),
      );
    }
  });

  it('answers bad configs with INVALID_ARGUMENT naming the field and the allowed values', async () => {
    const cases: [GenerationConfig | ConfigInit, RegExp][] = [
      [{ ...base, bpm: 500 }, /bpm.*30.*300/],
      [{ ...base, audioDuration: 5 }, /audio_duration.*10.*600/],
      [{ ...base, batchSize: 9 }, /batch_size/],
      [{ ...base, inferenceSteps: 50 }, /inference_steps.*1.*8/],
      [{ ...base, caption: '', lyrics: '' }, /caption/],
      [{ ...base, taskType: TaskType.COVER }, /src_audio/],
      [{ ...base, lmTopP: 1.5, useLlmThinking: true }, /lm_top_p/],
    ];
    for (const [config, message] of cases) {
      await assert.rejects(generate(client, config), (e: ConnectError) => {
        assert.equal(e.code, Code.InvalidArgument, e.message);
        assert.match(e.rawMessage, message);
        return true;
      });
    }
    await assert.rejects(
      generate(client, {
        ...base,
        taskType: TaskType.COVER,
        srcAudio: { source: { case: 'data', value: new Uint8Array(64) } },
      }),
      (e: ConnectError) => e.code === Code.InvalidArgument && /audio input/.test(e.rawMessage),
    );
  });

  it('refuses bad audio uploads with INVALID_ARGUMENT naming the problem, and stays healthy', async () => {
    const cases: [string, Uint8Array, RegExp][] = [
      ['empty', new Uint8Array(0), /empty/],
      ['wrong magic bytes', Buffer.from('this is not audio at all, just text'), /unrecognised audio format/],
      [
        'truncated',
        wavFile(48_000, 2, 48_000, 4 * 48_000 * 2).subarray(0, 1000),
        /declares 384000 bytes but only 956 follow/,
      ],
      ['absurd sample rate', wavFile(1, 2, 100), /sample rate 1 Hz/],
      ['too many channels', wavFile(48_000, 9, 100), /9 channels/],
      ['too long', wavFile(8_000, 1, 601 * 8_000), /601\.0 s long/],
    ];
    for (const [label, bytes, message] of cases) {
      await assert.rejects(upload(client, bytes), (e: ConnectError) => {
        assert.equal(e.code, Code.InvalidArgument, `${label}: ${e.message}`);
        assert.match(e.rawMessage, message, label);
        return true;
      });
    }
    // Over the limit is RESOURCE_EXHAUSTED naming the limit (the upload stops there).
    await assert.rejects(upload(client, wavFile(48_000, 2, UPLOAD_LIMIT / 4 + 1)), (e: ConnectError) => {
      assert.equal(e.code, Code.ResourceExhausted, e.message);
      assert.match(e.rawMessage, /larger than max_upload_bytes \(12000000 bytes\)/);
      return true;
    });
    const ok = await upload(client, wavFile(44_100, 1, 44_100 * 2));
    assert.ok(Math.abs(ok.durationSeconds - 2) < 1e-9);
  });

  it('runs a job: submit, watch to SUCCEEDED, list, download; unknown ids are NOT_FOUND', async () => {
    const { job } = await client.submitJob({ config: base });
    assert.ok(job?.id);
    let last = job;
    for await (const res of client.watchJob({ id: job.id })) last = res.job!;
    assert.equal(last?.state, JobState.SUCCEEDED, last?.result?.error);
    const listed = await client.listJobs({});
    assert.ok(listed.jobs.some((j) => j.id === job.id));
    const file = last!.result!.audio[0]!;
    assert.equal(sha256(await download(client, file.objectId)), file.sha256);
    await assert.rejects(client.getJob({ id: 'no-such-job' }), (e: ConnectError) => e.code === Code.NotFound);
  });
});

/** Finished LmService/Generate calls, from the LM process's /metrics. */
async function lmCalls(stack: Stack): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${stack.lm.metricsPort}/metrics`)).text();
  const match = text.match(/acestep_rpc_requests_total\{method="LmService\/Generate",code="OK"[^}]*\} (\d+)/);
  return match ? Number(match[1]) : 0;
}

describe('gateway on a base-model deployment, with an API key', () => {
  let stack: Stack;
  let dit: LaunchedService;
  let gateway: LaunchedService;
  before(async () => {
    stack = await launchStack();
    dit = await launchService('dit', { args: ['--model-dir', await baseVariantSet()] });
    gateway = await launchService('gateway', {
      args: [
        '--lm-target',
        stack.lm.address,
        '--vae-target',
        stack.vae.address,
        '--dit-target',
        dit.address,
        '--api-key',
        'sesame',
      ],
    });
  });
  after(async () => {
    await gateway?.stop();
    await dit?.stop();
    await stack?.stop();
  });

  it('refuses calls without the API key, serves them with it, and leaves health open', async () => {
    const anonymous = connectClient(GatewayService, gateway.address);
    await assert.rejects(anonymous.info({}), (e: ConnectError) => e.code === Code.Unauthenticated);
    const health = await connectClient(Health, gateway.address).check({ service: '' });
    assert.equal(health.status, HealthCheckResponse_ServingStatus.SERVING);
    const keyed = connectClient(GatewayService, gateway.address, { authorization: 'Bearer sesame' });
    assert.equal((await keyed.info({})).stages.dit?.model?.variant, 'base');
  });

  it('runs lego, extract and complete on the base model', async () => {
    const client = connectClient(GatewayService, gateway.address, { authorization: 'Bearer sesame' });
    const tone = new Float32Array(10 * 48_000).map(
      (_, i) => 0.3 * Math.sin((2 * Math.PI * 220 * i) / 48_000),
    );
    const wav = await encodeAudio({ sampleRate: 48_000, channels: [tone, tone] }, 'wav16');
    const tasks = [
      [TaskType.LEGO, 'Generate the guitar track based on the audio context:'],
      [TaskType.EXTRACT, 'Extract the vocals track from the audio:'],
      [TaskType.COMPLETE, 'Complete the input track with drums, bass:'],
    ] as const;
    for (const [taskType, instruction] of tasks) {
      const { result } = await generate(client, {
        ...base,
        taskType,
        instruction,
        inferenceSteps: 4,
        srcAudio: { source: { case: 'data', value: wav } },
      });
      assert.equal(result.success, true, `${TaskType[taskType]}: ${result.error}`);
      const pcm = await decodeAudio(await download(client, result.audio[0]!.objectId));
      assert.ok(
        Math.abs(pcm.channels[0]!.length - 10 * 48_000) <= 1920,
        `${TaskType[taskType]} keeps the source length`,
      );
    }
  });
});
