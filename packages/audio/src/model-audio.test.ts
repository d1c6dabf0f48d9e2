import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { assertSameSamples, snrDb, tone } from '@acestep/testkit/audio-signals';
import { decodeAudio } from './decode.ts';
import { encodeAudio } from './encode.ts';
import { isSilent, peakGuard, peakOf, toModelAudio } from './model-audio.ts';
import { resample, resampledLength } from './resample.ts';
import { encodeWav } from './wav.ts';

describe('resampling to 48 kHz', () => {
  test('the length rule is round(n · to / from)', () => {
    assert.equal(resampledLength(44_100, 44_100, 48_000), 48_000);
    assert.equal(resampledLength(1, 44_100, 48_000), 1); // 1.088… → 1
    assert.equal(resampledLength(100, 44_100, 48_000), 109); // 108.84 → 109
    assert.equal(resampledLength(88_237, 44_100, 48_000), 96_040); // 96 040.27 → 96 040
    assert.equal(resampledLength(3, 8_000, 48_000), 18);
  });

  for (const quality of ['medium', 'best'] as const) {
    test(`44.1 kHz → 48 kHz (${quality}): exact length and > 90 dB SNR against the ideal 48 kHz tone`, async () => {
      const frames = 88_237; // 2.0009 s, not a whole number of output samples
      const x = tone(1000, 44_100, frames, 0.5);
      const y = await resample(
        { sampleRate: 44_100, channels: [x, tone(15_000, 44_100, frames, 0.2)] },
        48_000,
        quality,
      );
      const want = Math.round((frames * 48_000) / 44_100);
      assert.equal(y.sampleRate, 48_000);
      assert.equal(y.channels[0]!.length, want);
      assert.equal(y.channels[1]!.length, want);
      // Skip 10 ms at each edge, where the filter sees the implicit silence outside the clip.
      const snr1k = snrDb(tone(1000, 48_000, want, 0.5), y.channels[0]!, 0, 480);
      const snr15k = snrDb(tone(15_000, 48_000, want, 0.2), y.channels[1]!, 0, 480);
      assert.ok(snr1k > 90, `1 kHz: ${snr1k.toFixed(1)} dB`);
      assert.ok(snr15k > 90, `15 kHz: ${snr15k.toFixed(1)} dB`);
    });
  }

  test('other source rates (8 k, 22.05 k, 96 k, 384 k) land on the exact length with a clean tone', async () => {
    for (const from of [8_000, 22_050, 96_000, 384_000]) {
      const frames = Math.round(from * 0.5) + 3;
      const y = await resample({ sampleRate: from, channels: [tone(440, from, frames, 0.5)] }, 48_000);
      const want = resampledLength(frames, from, 48_000);
      assert.equal(y.channels[0]!.length, want, `${from} Hz`);
      const snr = snrDb(tone(440, 48_000, want, 0.5), y.channels[0]!, 0, 960);
      assert.ok(snr > 80, `${from} Hz: ${snr.toFixed(1)} dB`);
    }
  });

  test('a 48 kHz source is copied, not filtered', async () => {
    const x = tone(440, 48_000, 1000, 0.5);
    const y = await resample({ sampleRate: 48_000, channels: [x] }, 48_000);
    assertSameSamples(y.channels, [x]);
    assert.notEqual(y.channels[0], x);
  });
});

describe('toModelAudio / decodeAudio normalisation (official behaviour "Audio in")', () => {
  test('mono is duplicated to two identical channels', async () => {
    const mono = tone(440, 48_000, 4800, 0.5);
    const out = await decodeAudio(encodeWav({ sampleRate: 48_000, channels: [mono] }, 'f32'));
    assert.equal(out.channels.length, 2);
    assertSameSamples(out.channels, [mono, mono]);
  });

  test('more than two channels: the first two are kept, the rest dropped (reference behaviour)', async () => {
    const chans = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6].map((v) => new Float32Array(100).fill(v));
    const out = await decodeAudio(encodeWav({ sampleRate: 48_000, channels: chans }, 'f32'));
    assertSameSamples(out.channels, [chans[0]!, chans[1]!]);
  });

  test('samples outside [−1, 1] are clamped after resampling; in-range samples are untouched', async () => {
    const ch = new Float32Array([1.5, -2, 0.25, -0.75, 1, -1, 3.25, 0]);
    const out = await decodeAudio(encodeWav({ sampleRate: 48_000, channels: [ch, ch] }, 'f32'));
    const want = new Float32Array([1, -1, 0.25, -0.75, 1, -1, 1, 0]);
    assertSameSamples(out.channels, [want, want]);
  });

  test('a 44.1 kHz mono WAV comes out 48 kHz stereo at the exact length', async () => {
    const frames = 44_100 + 17;
    const out = await decodeAudio(
      encodeWav({ sampleRate: 44_100, channels: [tone(440, 44_100, frames, 0.5)] }, 's16'),
    );
    assert.equal(out.sampleRate, 48_000);
    assert.equal(out.channels.length, 2);
    assert.equal(out.channels[0]!.length, Math.round((frames * 48_000) / 44_100));
    assertSameSamples([out.channels[1]!], [out.channels[0]!]);
  });

  test('toModelAudio does not modify its input', async () => {
    const ch = new Float32Array([2, -3, 0.5]);
    await toModelAudio({ sampleRate: 48_000, channels: [ch] });
    assertSameSamples([ch], [new Float32Array([2, -3, 0.5])]);
  });
});

describe('output guards (official behaviour "Audio out")', () => {
  test('peak guard divides by the peak over all channels when it exceeds 1', () => {
    const pcm = { sampleRate: 48_000, channels: [new Float32Array([0.5, -1]), new Float32Array([2, 0.25])] };
    const out = peakGuard(pcm);
    assertSameSamples(out.channels, [new Float32Array([0.25, -0.5]), new Float32Array([1, 0.125])]);
    assert.equal(peakOf(out), 1);
  });

  test('peak guard leaves audio with peak ≤ 1 untouched (no normalisation up)', () => {
    const pcm = { sampleRate: 48_000, channels: [new Float32Array([0.5, -1]), new Float32Array([0.9, 0])] };
    assert.equal(peakGuard(pcm), pcm);
  });

  test('encodeAudio applies the peak guard: a peak of 4 comes back as a peak of 1, not clipped', async () => {
    const x = tone(440, 48_000, 4800, 4);
    const wav = await encodeAudio({ sampleRate: 48_000, channels: [x, x] }, 'wav32f');
    const out = await decodeAudio(wav);
    const scaled = x.map((v) => v / peakOf({ sampleRate: 48_000, channels: [x] }));
    assertSameSamples(out.channels, [scaled, scaled]);
  });

  test('silence check: RMS and peak ≤ 1e-5', () => {
    const quiet = new Float32Array(1000).fill(1e-6);
    assert.equal(isSilent({ sampleRate: 48_000, channels: [quiet, quiet] }), true);
    quiet[500] = 1e-3;
    assert.equal(isSilent({ sampleRate: 48_000, channels: [quiet, quiet] }), false);
  });
});
