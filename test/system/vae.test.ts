// The VAE service through its real process on the tiny model set.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type LaunchedService, launchService } from '@acestep/cli/launcher';
import { LatentSampling, VaeService } from '@acestep/proto/vae';
import { createStageClient, float32Tensor } from '@acestep/runtime';
import { maxAbsDiff } from '@acestep/testkit/compare';
import { decode, decodeRaw, encode, testLatents } from '@acestep/testkit/vae-client';
import { Code, type ConnectError } from '@connectrpc/connect';

/** Tiled vs untiled decode, max |difference|: see docs/vae.md for how it was measured. */
const TILED_TOLERANCE = 1e-4;

describe('vae service', () => {
  let vae: LaunchedService;
  let client: ReturnType<typeof createStageClient<typeof VaeService>>;
  before(async () => {
    vae = await launchService('vae', { args: ['--max-batch', '4', '--max-queue', '2'] });
    client = createStageClient(VaeService, { target: vae.address });
  });
  after(async () => {
    client?.close();
    await vae?.stop();
  });

  it('reports the manifest constants in Info and warms up', async () => {
    const { info } = await client.info({});
    assert.equal(info?.model?.loaded, true);
    assert.equal(info?.model?.constants.hop_length, '1920');
    assert.equal(info?.model?.constants.sample_rate, '48000');
    const { report } = await client.warmup({});
    assert.ok((report?.totalNs ?? 0n) > 0n);
    assert.deepEqual(report?.steps.length, 2);
  });

  it('decodes T frames to exactly T x 1920 samples per channel, short and tiled', async () => {
    for (const frames of [1, 37, 530]) {
      const out = await decode(client, [testLatents(frames)]);
      assert.equal(out.samples[0], frames * 1920, `${frames} frames`);
      assert.deepEqual(out.done?.samples, [BigInt(frames * 1920)]);
      assert.ok(out.audio[0]!.every(Number.isFinite));
    }
  });

  it('streams audio tile by tile: the first segment arrives before the whole song is decoded', async () => {
    const out = await decode(client, [testLatents(400)], { tileFrames: 64, overlapFrames: 8 });
    assert.equal(out.segments, Math.ceil(400 / (64 - 16)));
    assert.ok(
      out.firstAudioMs < out.totalMs * 0.6,
      `first audio at ${out.firstAudioMs} ms of ${out.totalMs} ms`,
    );
  });

  it('matches untiled output within the documented tolerance (seam test)', async () => {
    const latents = testLatents(600, 3);
    const untiled = await decode(client, [latents], { tileFrames: 4096 });
    for (const tiles of [{}, { tileFrames: 128, overlapFrames: 32 }, { tileFrames: 64, overlapFrames: 16 }]) {
      const tiled = await decode(client, [latents], tiles);
      const diff = maxAbsDiff(tiled.audio[0]!, untiled.audio[0]!);
      assert.ok(diff <= TILED_TOLERANCE, `tiles ${JSON.stringify(tiles)}: max diff ${diff}`);
    }
  });

  it('decodes a batch of items in one call, each equal to its own decode', async () => {
    const items = [testLatents(100, 0), testLatents(100, 1), testLatents(40, 2)];
    const batch = await decode(client, items);
    for (const [i, latents] of items.entries()) {
      const alone = await decode(client, [latents]);
      assert.equal(batch.samples[i], alone.samples[0]);
      const diff = maxAbsDiff(batch.audio[i]!, alone.audio[0]!);
      assert.ok(diff <= 1e-4, `item ${i}: max diff ${diff}`);
    }
  });

  it('round-trips encode -> decode shapes; the seeded sample is reproducible, the mean deterministic', async () => {
    const decoded = await decode(client, [testLatents(130)]);
    const audio = decoded.audio[0]!;
    const mean = await encode(client, [audio]);
    assert.deepEqual(mean.frames, [130]);
    assert.deepEqual(mean.done?.frames, [130n]);
    const again = await encode(client, [audio]);
    assert.deepEqual(again.latents[0], mean.latents[0]);
    const a = await encode(client, [audio, audio], { sampling: LatentSampling.SAMPLE, seeds: [7n, 8n] });
    const b = await encode(client, [audio], { sampling: LatentSampling.SAMPLE, seeds: [7n] });
    assert.deepEqual(a.latents[0], b.latents[0]);
    assert.notDeepEqual(a.latents[0], a.latents[1]);
    assert.notDeepEqual(a.latents[0], mean.latents[0]);
    // A partial last frame is dropped: floor(samples / 1920) frames.
    const trimmed = new Float32Array(2 * (130 * 1920 - 5));
    trimmed.set(audio.subarray(0, 130 * 1920 - 5));
    trimmed.set(audio.subarray(130 * 1920, 2 * 130 * 1920 - 5), 130 * 1920 - 5);
    assert.deepEqual((await encode(client, [trimmed])).frames, [129]);
    const roundTrip = await decode(client, [mean.latents[0]!]);
    assert.equal(roundTrip.samples[0], 130 * 1920);
  });

  it('answers bad requests with INVALID_ARGUMENT naming the problem, and stays healthy', async () => {
    const latents = (frames: number, dim = 64, itemIndex = 0) => ({
      ...float32Tensor('latents', [frames, dim], new Float32Array(frames * dim)),
      itemIndex,
    });
    const cases: [string, Parameters<typeof decodeRaw>[1], RegExp][] = [
      ['no spec', [{ tensor: latents(4) }], /tensor chunk before the spec/],
      ['empty stream', [], /ended without a spec/],
      ['zero items', [{ spec: { itemCount: 0 } }], /spec.item_count must be in 1..4, got 0/],
      ['too many items', [{ spec: { itemCount: 5 } }], /spec.item_count must be in 1..4, got 5/],
      [
        'wrong latent dim',
        [{ spec: { itemCount: 1 } }, { tensor: latents(4, 32) }],
        /shape \[frames, 64\], got \[4, 32\]/,
      ],
      ['missing item', [{ spec: { itemCount: 2 } }, { tensor: latents(4) }], /missing for item 1 of 2/],
      [
        'item out of range',
        [{ spec: { itemCount: 1 } }, { tensor: latents(4, 64, 3) }],
        /item_index 3; spec.item_count is 1/,
      ],
      [
        'too long',
        [{ spec: { itemCount: 1 } }, { tensor: latents(15001) }],
        /15001 frames; allowed 1..15000/,
      ],
      ['empty latents', [{ spec: { itemCount: 1 } }, { tensor: latents(0) }], /0 frames; allowed 1..15000/],
      [
        'bad overlap',
        [{ spec: { itemCount: 1, tileFrames: 64, overlapFrames: 40 } }, { tensor: latents(4) }],
        /overlap_frames must be in 0..31/,
      ],
      ['empty message', [{ empty: true }], /empty request message/],
    ];
    for (const [label, parts, message] of cases) {
      await assert.rejects(decodeRaw(client, parts), (e: ConnectError) => {
        assert.equal(e.code, Code.InvalidArgument, `${label}: ${e.message}`);
        assert.match(e.rawMessage, message, label);
        return true;
      });
    }
    const nan = new Float32Array(64).fill(Number.NaN);
    await assert.rejects(decode(client, [nan]), /NaN or infinite/);
    await assert.rejects(encode(client, [new Float32Array(2 * 100)]), /100 samples; allowed 1920\.\./);
    await assert.rejects(
      encode(client, [new Float32Array(2 * 1920)], { sampling: LatentSampling.SAMPLE }),
      /spec.seeds must hold one seed per item/,
    );
    assert.equal((await decode(client, [testLatents(8)])).samples[0], 8 * 1920);
  });

  it('refuses work beyond the bounded queue with RESOURCE_EXHAUSTED and finishes what it admitted', async () => {
    // One runs, two wait (--max-queue 2); the rest are refused at once.
    const calls = Array.from({ length: 6 }, () => decode(client, [testLatents(300)]));
    const results = await Promise.allSettled(calls);
    const refused = results.filter(
      (r) => r.status === 'rejected' && (r.reason as ConnectError).code === Code.ResourceExhausted,
    );
    const done = results.filter((r) => r.status === 'fulfilled');
    assert.ok(refused.length >= 1, 'some calls refused');
    assert.ok(done.length >= 3, 'admitted calls finished');
    assert.equal(refused.length + done.length, 6);
    for (const r of done)
      assert.equal((r as PromiseFulfilledResult<Awaited<(typeof calls)[0]>>).value.samples[0], 300 * 1920);
  });
});
