import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { assertSameSamples, bestLag, snrDb, stereoTone, tone } from '@acestep/testkit/audio-signals';
import { MPEGDecoder } from 'mpg123-decoder';
import { createOggEncoder } from 'wasm-media-encoders';
import { decodeAudio, decodeAudioSource } from './decode.ts';
import { encodeAudio, formatFromSpec, type OutputFormat } from './encode.ts';
import { LAME_ENCODER_DELAY } from './mp3-info.ts';
import { encodeWav, WavStreamWriter, wavHeader } from './wav.ts';

const SR = 48_000;
const source = stereoTone(SR, 2);
const frames = source.channels[0]!.length;

// Thresholds: measured value minus a margin (measured here, L/R: wav16 91.7/90.2 dB,
// wav24 140.0/138.0 dB, flac = same-depth WAV (lossless), mp3 128k (the default) 26.0 dB).
const cases: { format: OutputFormat; flacBitDepth?: 16 | 24; minSnr: number }[] = [
  { format: 'wav16', minSnr: 85 },
  { format: 'wav24', minSnr: 130 },
  { format: 'wav32f', minSnr: Number.POSITIVE_INFINITY },
  { format: 'flac', flacBitDepth: 16, minSnr: 85 },
  { format: 'flac', flacBitDepth: 24, minSnr: 130 },
  { format: 'mp3', minSnr: 24 },
];

describe('codec round trips (2 s stereo, L 440 Hz / R 997 Hz)', () => {
  for (const c of cases) {
    test(`${c.format}${c.flacBitDepth ?? ''}: rate, channels, exact length, alignment and SNR`, async () => {
      const file = await encodeAudio(
        source,
        c.format,
        c.flacBitDepth ? { flacBitDepth: c.flacBitDepth } : {},
      );
      const decoded = await decodeAudioSource(file);
      assert.equal(decoded.sampleRate, SR);
      assert.equal(decoded.channels.length, 2);
      assert.equal(decoded.channels[0]!.length, frames);
      assert.equal(bestLag(source, decoded, -1200, 1200), 0);
      for (let ch = 0; ch < 2; ch++) {
        const snr = snrDb(source.channels[ch]!, decoded.channels[ch]!);
        assert.ok(snr >= c.minSnr, `${c.format} channel ${ch}: SNR ${snr.toFixed(1)} dB < ${c.minSnr} dB`);
      }
    });
  }

  test('flac is lossless: decodes to exactly the samples of the same-depth WAV', async () => {
    for (const [bits, wav] of [
      [16, 'wav16'],
      [24, 'wav24'],
    ] as const) {
      const fromFlac = await decodeAudioSource(await encodeAudio(source, 'flac', { flacBitDepth: bits }));
      const fromWav = await decodeAudioSource(await encodeAudio(source, wav));
      assertSameSamples(fromFlac.channels, fromWav.channels);
    }
  });

  test('flac encodes mono, silence, odd rates and lengths that are not a multiple of the block', async () => {
    // Rates outside FLAC's table take the explicit 8-bit kHz, 16-bit Hz and 16-bit ×10 Hz header codes.
    const odd = [22_000, 44_101, 100_000].map((sampleRate) => ({
      sampleRate,
      channels: [source.channels[0]!.subarray(0, 4096 * 2 + 17)],
    }));
    const silent = { sampleRate: SR, channels: [new Float32Array(5000), new Float32Array(5000)] };
    for (const pcm of [...odd, silent]) {
      const decoded = await decodeAudioSource(await encodeAudio(pcm, 'flac'));
      assert.equal(decoded.sampleRate, pcm.sampleRate);
      assert.equal(decoded.channels.length, pcm.channels.length);
      assertSameSamples(decoded.channels, (await decodeAudioSource(encodeWav(pcm, 's16'))).channels);
    }
  });

  test('flac of the tone is smaller than the WAV (prediction and Rice coding work)', async () => {
    const flac = await encodeAudio(source, 'flac');
    const wav = await encodeAudio(source, 'wav16');
    assert.ok(flac.length < wav.length * 0.5, `flac ${flac.length} vs wav ${wav.length}`);
  });

  test('mp3 without gapless decoding shows the documented LAME delay (576 + decoder 529)', async () => {
    const mp3 = await encodeAudio(source, 'mp3');
    const decoder = new MPEGDecoder({ enableGapless: false });
    await decoder.ready;
    const raw = decoder.decode(mp3);
    decoder.free();
    const pcm = { sampleRate: raw.sampleRate, channels: raw.channelData };
    assert.equal(bestLag(source, pcm, 0, 1500), LAME_ENCODER_DELAY + 529);
    assert.equal(raw.samplesDecoded % 1152, 0);
    assert.ok(raw.samplesDecoded >= frames + 1105 && raw.samplesDecoded < frames + 1105 + 2 * 1152);
  });

  test('mp3 bitrate option gives CBR frames of the expected size and keeps exact length', async () => {
    for (const mp3Bitrate of [128, 192, 320] as const) {
      const mp3 = await encodeAudio(source, 'mp3', { mp3Bitrate });
      // 48 kHz MPEG-1 Layer III: 144·bitrate/48000 bytes per frame, never padded.
      assert.equal(mp3.length % ((144 * mp3Bitrate * 1000) / SR), 0, `${mp3Bitrate} kbps`);
      assert.equal((await decodeAudioSource(mp3)).channels[0]!.length, frames, `${mp3Bitrate} kbps`);
    }
  });

  test('mp3 at 44.1 kHz keeps exact length through the Info tag', async () => {
    const pcm = stereoTone(44_100, 1.3);
    const decoded = await decodeAudioSource(await encodeAudio(pcm, 'mp3'));
    assert.equal(decoded.sampleRate, 44_100);
    assert.equal(decoded.channels[0]!.length, pcm.channels[0]!.length);
  });

  test('decodeAudio of a 48 kHz file returns it unchanged apart from the clamp', async () => {
    const decoded = await decodeAudio(await encodeAudio(source, 'wav32f'));
    assertSameSamples(decoded.channels, source.channels);
  });
});

describe('reference files', () => {
  const fixtures = new URL('../fixtures/', import.meta.url);
  const expected = JSON.parse(readFileSync(new URL('expected.json', fixtures), 'utf8')) as {
    sampleRate: number;
    left: number[];
    right: number[];
  };

  test('a WAV written by Python`s wave module decodes to its known samples', async () => {
    const pcm = await decodeAudioSource(readFileSync(new URL('tiny-s16.wav', fixtures)));
    assert.equal(pcm.sampleRate, expected.sampleRate);
    assert.deepEqual(Array.from(pcm.channels[0]!), expected.left);
    assert.deepEqual(Array.from(pcm.channels[1]!), expected.right);
  });

  test('our wav16 of those samples is byte-identical to Python`s', () => {
    const pcm = {
      sampleRate: expected.sampleRate,
      channels: [expected.left, expected.right].map((a) => new Float32Array(a)),
    };
    assert.deepEqual(encodeWav(pcm, 's16'), new Uint8Array(readFileSync(new URL('tiny-s16.wav', fixtures))));
  });

  test('a FLAC written by the reference flac encoder decodes to the same samples', async () => {
    const pcm = await decodeAudioSource(readFileSync(new URL('tiny-s16.flac', fixtures)));
    assert.equal(pcm.sampleRate, expected.sampleRate);
    assert.deepEqual(Array.from(pcm.channels[0]!), expected.left);
    assert.deepEqual(Array.from(pcm.channels[1]!), expected.right);
  });
});

describe('Ogg input', () => {
  test('Ogg Vorbis (libvorbis via wasm-media-encoders, q5) decodes aligned at the exact length', async () => {
    const pcm = stereoTone(44_100, 2);
    const encoder = await createOggEncoder();
    encoder.configure({ channels: 2, sampleRate: 44_100, vbrQuality: 5 });
    const body = encoder.encode(pcm.channels).slice();
    const ogg = Buffer.concat([body, encoder.finalize()]);
    const decoded = await decodeAudioSource(ogg);
    assert.equal(decoded.sampleRate, 44_100);
    assert.equal(decoded.channels[0]!.length, pcm.channels[0]!.length);
    assert.equal(bestLag(pcm, decoded, -1200, 1200), 0);
    // measured 41.3 / 40.9 dB
    for (let ch = 0; ch < 2; ch++) assert.ok(snrDb(pcm.channels[ch]!, decoded.channels[ch]!) > 36);
  });

  test('Ogg Opus written by opusenc (fixture) decodes to 48 kHz at the exact length', async () => {
    const bytes = readFileSync(new URL('../fixtures/tone-opus.ogg', import.meta.url));
    const decoded = await decodeAudioSource(bytes);
    assert.equal(decoded.sampleRate, 48_000);
    assert.equal(decoded.channels.length, 1);
    assert.equal(decoded.channels[0]!.length, 48_000);
    // measured 43.5 dB at lag 0, < 26 dB one sample off: the pre-skip is honoured.
    assert.ok(snrDb(tone(440, 48_000, 48_000, 0.5), decoded.channels[0]!, 0, 2400) > 38);
    const model = await decodeAudio(bytes);
    assert.equal(model.channels.length, 2);
  });
});

describe('formats and streaming WAV', () => {
  test('spec formats map to our defaults', () => {
    assert.equal(formatFromSpec('wav'), 'wav16');
    assert.equal(formatFromSpec('flac'), 'flac');
    assert.equal(formatFromSpec('mp3'), 'mp3');
  });

  for (const sampleFormat of ['s16', 's24', 'f32'] as const) {
    test(`WavStreamWriter (${sampleFormat}, known length) writes the same bytes as encodeWav`, () => {
      const writer = new WavStreamWriter({ sampleFormat, sampleRate: SR, channels: 2, frames });
      const parts = [writer.header()];
      for (let at = 0; at < frames; at += 10_000) {
        parts.push(writer.chunk(source.channels.map((ch) => ch.subarray(at, at + 10_000))));
      }
      assert.equal(writer.framesWritten, frames);
      assert.deepEqual(Buffer.concat(parts), Buffer.from(encodeWav(source, sampleFormat)));
      assert.throws(() => writer.chunk([new Float32Array(1), new Float32Array(1)]), RangeError);
    });
  }

  test('a streamed WAV of unknown length (sizes 0xFFFFFFFF) decodes to everything written', async () => {
    const writer = new WavStreamWriter({ sampleFormat: 'f32', sampleRate: SR, channels: 2 });
    const bytes = Buffer.concat([writer.header(), writer.chunk(source.channels)]);
    assert.equal(new DataView(bytes.buffer, bytes.byteOffset).getUint32(4, true), 0xffffffff);
    const decoded = await decodeAudioSource(bytes);
    assertSameSamples(decoded.channels, source.channels);
  });

  test('the PCM header has the canonical 44-byte layout', () => {
    const h = wavHeader({ sampleFormat: 's24', sampleRate: 44_100, channels: 2, frames: 10 });
    const v = new DataView(h.buffer);
    assert.equal(h.length, 44);
    assert.equal(v.getUint32(4, true), 36 + 60); // RIFF size
    assert.equal(v.getUint32(28, true), 44_100 * 6); // byte rate
    assert.equal(v.getUint16(32, true), 6); // block align
    assert.equal(v.getUint16(34, true), 24);
    assert.equal(v.getUint32(40, true), 60);
  });
});
