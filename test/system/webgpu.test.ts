// One generation through all four services with every stage on WebGPU (lavapipe in CI) gives
// the same audio as the same request on the CPU provider: the LM's tokens, the DiT's device-
// resident conditioning and the VAE's tiles all run on the WebGPU provider.
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { decodeAudio } from '@acestep/audio';
import { connectClient } from '@acestep/cli/client';
import { launchStack, type Stack } from '@acestep/cli/launcher';
import type { GenerationConfigSchema } from '@acestep/proto/gateway';
import { AudioFormat, GatewayService, type GenerationResult } from '@acestep/proto/gateway';
import { maxAbsDiff } from '@acestep/testkit/compare';
import type { MessageInitShape } from '@bufbuild/protobuf';

const CONFIG: MessageInitShape<typeof GenerationConfigSchema> = {
  caption: 'warm lo-fi beat with soft keys',
  lyrics: '[Instrumental]',
  audioDuration: 10,
  // All metadata given: the LM skips its CoT and writes the audio codes only (50 for 10 s),
  // which keeps the LM part short on a software GPU.
  bpm: 90,
  keyScale: 'A minor',
  timeSignature: '4/4',
  vocalLanguage: 'en',
  useLlmThinking: true,
  useRandomSeed: false,
  seed: 7n,
  audioFormat: AudioFormat.WAV,
};

/** PCM16 WAV: one quantisation step is 1/32768; a few steps of float32 noise are allowed. */
const AUDIO_TOLERANCE = 4 / 32768;

async function generateOn(
  device: string,
): Promise<{ result: GenerationResult; pcm: Float32Array[]; providers: string[] }> {
  // Opening every graph on WebGPU (shader compilation on lavapipe) takes longer than on the CPU.
  const stack: Stack = await launchStack({ env: { ACESTEP_DEVICE: device }, startTimeoutMs: 180_000 });
  try {
    const client = connectClient(GatewayService, stack.gateway.address);
    let result: GenerationResult | undefined;
    for await (const res of client.generate({ config: CONFIG }))
      if (res.event.case === 'result') result = res.event.value;
    assert.ok(result?.success, result?.error ?? 'no result');
    const parts: Uint8Array[] = [];
    for await (const piece of client.downloadAudio({ objectId: result.audio[0]!.objectId }))
      parts.push(piece.data);
    const info = await client.info({});
    const providers = Object.entries(info.stages).map(
      ([stage, s]) => `${stage}:${s.device?.executionProviders.join('+')}`,
    );
    process.stderr.write(`${device}: ${JSON.stringify(result.timingsMs)}\n`);
    return { result, pcm: (await decodeAudio(Buffer.concat(parts))).channels, providers };
  } finally {
    await stack.stop();
  }
}

describe('every stage on webgpu', () => {
  let cpu: Awaited<ReturnType<typeof generateOn>>;
  let gpu: Awaited<ReturnType<typeof generateOn>>;
  before(async () => {
    cpu = await generateOn('cpu');
    gpu = await generateOn('webgpu');
  });

  it('runs lm, dit and vae on the WebGPU provider', () => {
    for (const stage of ['lm', 'dit', 'vae'])
      assert.ok(
        gpu.providers.some((p) => p.includes(stage) && p.includes('webgpu')),
        `${gpu.providers}`,
      );
  });

  it('ran the LM on both', () => {
    for (const run of [cpu, gpu])
      assert.ok((run.result.timingsMs.lm ?? 0) > 0, JSON.stringify(run.result.timingsMs));
  });

  it('gives the same audio as on the CPU within PCM16 rounding', () => {
    assert.equal(gpu.pcm.length, cpu.pcm.length);
    for (const [i, channel] of cpu.pcm.entries()) {
      assert.equal(gpu.pcm[i]!.length, channel.length);
      const diff = maxAbsDiff(gpu.pcm[i]!, channel);
      assert.ok(diff <= AUDIO_TOLERANCE, `channel ${i}: max |webgpu - cpu| ${diff}`);
    }
  });
});
