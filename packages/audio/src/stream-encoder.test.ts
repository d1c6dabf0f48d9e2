import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { assertSameSamples, snrDb, stereoTone } from '@acestep/testkit/audio-signals';
import { decodeAudioSource } from './decode.ts';
import { encodeAudio } from './encode.ts';
import { EncoderPool } from './encoder-pool.ts';
import { lameCliAvailable } from './lame-cli.ts';
import { lameFrameCount } from './mp3-info.ts';
import { openStreamEncoder, type StreamEncodeSpec } from './stream-encoder.ts';
import type { PcmAudio } from './types.ts';

const SR = 48_000;
// 2.3 s in uneven tiles, so blocks and frames straddle tile boundaries.
const source = stereoTone(SR, 2.3);
const frames = source.channels[0]!.length;
const TILES = [1, 4095, 4097, 30_000, 1920 * 7];

function* tiles(pcm: PcmAudio): Generator<Float32Array[]> {
  let at = 0;
  for (let i = 0; at < frames; i++) {
    const n = Math.min(frames - at, TILES[i % TILES.length]!);
    yield pcm.channels.map((ch) => ch.slice(at, at + n));
    at += n;
  }
}

function concat(pieces: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(pieces.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of pieces) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

async function streamed(
  spec: Omit<StreamEncodeSpec, 'sampleRate' | 'channels' | 'frames'>,
  pool?: EncoderPool,
) {
  const pieces: Uint8Array[] = [];
  const full = { ...spec, sampleRate: SR, channels: 2, frames };
  const onData = (b: Uint8Array) => pieces.push(b);
  const encoder = pool ? await pool.open(full, onData) : await openStreamEncoder(full, onData);
  for (const tile of tiles(source)) await encoder.write(tile);
  await encoder.end();
  return { file: concat(pieces), pieces: pieces.length };
}

const mp3Encoders = lameCliAvailable() ? (['lame', 'wasm'] as const) : (['wasm'] as const);

describe('stream encoders: tile by tile, header first', () => {
  test('wav16 is byte-identical to the whole-file encoder', async () => {
    const { file } = await streamed({ format: 'wav16' });
    assert.deepEqual(file, await encodeAudio(source, 'wav16'));
  });

  test('flac 16/24 decodes to exactly the whole-file samples', async () => {
    for (const flacBitDepth of [16, 24] as const) {
      const { file } = await streamed({ format: 'flac', flacBitDepth });
      const whole = await decodeAudioSource(await encodeAudio(source, 'flac', { flacBitDepth }));
      const decoded = await decodeAudioSource(file);
      assert.equal(decoded.channels[0]!.length, frames);
      assertSameSamples(decoded.channels, whole.channels);
    }
  });

  for (const mp3Encoder of mp3Encoders) {
    test(`mp3 (${mp3Encoder}): the up-front Info tag gives the exact length, aligned, same quality as whole-file`, async () => {
      const { file } = await streamed({ format: 'mp3', mp3Encoder });
      assert.equal(file.length, 384 * (1 + lameFrameCount(frames)), '128 kbps at 48 kHz: 384-byte frames');
      const decoded = await decodeAudioSource(file);
      const whole = await decodeAudioSource(await encodeAudio(source, 'mp3'));
      assert.equal(decoded.channels[0]!.length, frames);
      for (let ch = 0; ch < 2; ch++) {
        const streamedSnr = snrDb(source.channels[ch]!, decoded.channels[ch]!);
        const wholeSnr = snrDb(source.channels[ch]!, whole.channels[ch]!);
        assert.ok(
          streamedSnr > wholeSnr - 1,
          `channel ${ch}: streamed ${streamedSnr} dB, whole ${wholeSnr} dB`,
        );
      }
    });
  }

  test('a stream that ends short or overruns its declared length is an error', async () => {
    for (const format of ['wav16', 'flac', 'mp3'] as const) {
      const spec = { format, sampleRate: SR, channels: 2, frames: 1000 };
      const short = await openStreamEncoder(spec, () => {});
      await short.write([new Float32Array(999), new Float32Array(999)]);
      await assert.rejects(short.end(), /999 of the declared 1000/, format);
      short.abort();
      const long = await openStreamEncoder(spec, () => {});
      await assert.rejects(
        (async () => long.write([new Float32Array(1001), new Float32Array(1001)]))(),
        /exceed the declared 1000/,
        format,
      );
      long.abort();
    }
  });
});

describe('encoder pool (worker threads)', () => {
  const pool = new EncoderPool({ size: 2 });
  after(() => pool.close());

  test('streams on the pool give the same bytes as in-thread streams, several at once', async () => {
    const formats = [{ format: 'wav16' }, { format: 'flac' }, { format: 'mp3' }, { format: 'mp3' }] as const;
    const results = await Promise.all(formats.map((f) => streamed(f, pool)));
    for (const [i, f] of formats.entries())
      assert.deepEqual(results[i]!.file, (await streamed(f)).file, f.format);
    assert.equal(pool.active, 0);
  });

  test('an error in the thread rejects the stream with its message; the pool keeps working', async () => {
    const encoder = await pool.open({ format: 'wav16', sampleRate: SR, channels: 2, frames: 10 }, () => {});
    await encoder.write([new Float32Array(20), new Float32Array(20)]);
    await assert.rejects(encoder.end(), /exceed the declared 10 frames/);
    const { file } = await streamed({ format: 'wav16' }, pool);
    assert.equal(file.length, 44 + frames * 4);
  });

  test('an aborted stream delivers nothing more and frees its slot', async () => {
    let bytes = 0;
    const encoder = await pool.open({ format: 'mp3', sampleRate: SR, channels: 2, frames }, (b) => {
      bytes += b.length;
    });
    await encoder.write(source.channels.map((c) => c.slice(0, 48_000)));
    encoder.abort();
    const seen = bytes;
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(bytes, seen);
    assert.equal(pool.active, 0);
    await assert.rejects(encoder.end(), /aborted/);
  });
});
