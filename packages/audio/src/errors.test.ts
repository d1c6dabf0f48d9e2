import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { handMadeWav, stereoTone } from '@acestep/testkit/audio-signals';
import { decodeAudio } from './decode.ts';
import { encodeAudio } from './encode.ts';
import { AudioInputError, type AudioInputReason } from './errors.ts';
import type { AudioLimits } from './types.ts';
import { encodeWav } from './wav.ts';

async function rejects(
  bytes: Uint8Array,
  reason: AudioInputReason,
  limits: Partial<AudioLimits> = {},
): Promise<void> {
  await assert.rejects(decodeAudio(bytes, limits), (err: unknown) => {
    assert.ok(err instanceof AudioInputError, `expected AudioInputError, got ${String(err)}`);
    assert.equal(err.reason, reason, err.message);
    assert.ok(err.message.length > 10);
    return true;
  });
}

const ascii = (s: string): Uint8Array => new Uint8Array([...s].map((c) => c.charCodeAt(0)));
const twoSeconds = stereoTone(48_000, 2);

describe('decodeAudio rejects bad input with AudioInputError', () => {
  test('empty input', () => rejects(new Uint8Array(0), 'empty'));

  test('upload over maxBytes (checked before parsing)', () =>
    rejects(encodeWav(twoSeconds, 's16'), 'too_large', { maxBytes: 1000 }));

  test('unknown magic bytes', async () => {
    await rejects(ascii('hello, this is not audio at all'), 'unknown_format');
    await rejects(new Uint8Array(1000).fill(0x42), 'unknown_format');
  });

  test('recognised but unsupported containers and codecs', async () => {
    const ogg = (packet: string): Uint8Array => {
      const page = new Uint8Array(28 + packet.length + 8);
      page.set(ascii('OggS'), 0);
      page[26] = 1;
      page[27] = packet.length;
      page.set(ascii(packet), 28);
      return page;
    };
    await rejects(ogg('Speex   version 1.2'), 'unsupported_codec');
    await rejects(ogg('\x80theora video'), 'unsupported_codec');
    await rejects(ascii('\x00\x00\x00\x20ftypM4A isom mp42 junk junk'), 'unsupported_codec');
    await rejects(ascii('FORM\x00\x00\x00\x20AIFFCOMM'), 'unsupported_codec');
    await rejects(new Uint8Array([0xff, 0xf1, 0x50, 0x80, 0, 0, 0, 0]), 'unsupported_codec'); // ADTS AAC
    await rejects(
      handMadeWav({ formatTag: 0x55, channels: 2, sampleRate: 44_100, dataBytes: 400 }),
      'unsupported_codec',
    );
    await rejects(
      handMadeWav({ formatTag: 3, channels: 2, sampleRate: 44_100, bitsPerSample: 16, dataBytes: 400 }),
      'unsupported_codec',
    );
  });

  test('truncated WAV: data shorter than its header declares', async () => {
    const wav = encodeWav(twoSeconds, 's16');
    await rejects(wav.subarray(0, wav.length - 1000), 'truncated');
    await rejects(wav.subarray(0, 30), 'truncated'); // cut inside fmt
    await rejects(wav.subarray(0, 8), 'truncated');
  });

  test('truncated FLAC: fewer samples than STREAMINFO declares', async () => {
    const flac = await encodeAudio(twoSeconds, 'flac');
    await rejects(flac.subarray(0, Math.floor(flac.length / 2)), 'truncated');
    await rejects(flac.subarray(0, 20), 'truncated');
  });

  test('absurd sample rates in a hand-made WAV header', async () => {
    await rejects(handMadeWav({ channels: 2, sampleRate: 1, dataBytes: 400 }), 'sample_rate');
    await rejects(handMadeWav({ channels: 2, sampleRate: 7_999, dataBytes: 400 }), 'sample_rate');
    await rejects(handMadeWav({ channels: 2, sampleRate: 384_001, dataBytes: 400 }), 'sample_rate');
    await rejects(handMadeWav({ channels: 2, sampleRate: 4_000_000_000, dataBytes: 400 }), 'sample_rate');
    await rejects(handMadeWav({ channels: 1, sampleRate: 0, dataBytes: 400 }), 'sample_rate');
    await rejects(handMadeWav({ channels: 1, sampleRate: 192_001, dataBytes: 400 }), 'sample_rate'); // odd > 192 k
  });

  test('the sample-rate bounds themselves are accepted', async () => {
    for (const sampleRate of [8_000, 384_000]) {
      const out = await decodeAudio(handMadeWav({ channels: 1, sampleRate, dataBytes: 2 * 4000 }));
      assert.equal(out.channels[0]!.length, Math.round((4000 * 48_000) / sampleRate));
    }
  });

  test('absurd channel counts (9 and 0)', async () => {
    await rejects(handMadeWav({ channels: 9, sampleRate: 48_000, dataBytes: 9 * 2 * 100 }), 'channels');
    await rejects(handMadeWav({ channels: 0, sampleRate: 48_000, dataBytes: 0 }), 'channels');
    await rejects(handMadeWav({ channels: 3, sampleRate: 48_000, dataBytes: 600 }), 'channels', {
      maxChannels: 2,
    });
  });

  test('audio longer than maxSeconds, for every container', async () => {
    for (const format of ['wav16', 'flac', 'mp3'] as const) {
      await rejects(await encodeAudio(twoSeconds, format), 'too_long', { maxSeconds: 1.5 });
      // and the same file passes a limit above its length
      const ok = await decodeAudio(await encodeAudio(twoSeconds, format), { maxSeconds: 2.5 });
      assert.equal(ok.channels[0]!.length, 96_000);
    }
  });

  test('the default maxSeconds is 600 s (checked from the header, before decoding samples)', async () => {
    // 601 s of 8 kHz mono 8-bit silence: 4.8 MB, rejected without reading the samples.
    const header = handMadeWav({ channels: 1, sampleRate: 8_000, bitsPerSample: 8, dataBytes: 8_000 * 601 });
    await rejects(header, 'too_long');
  });

  test('a WAV with no samples', () =>
    rejects(handMadeWav({ channels: 2, sampleRate: 48_000, dataBytes: 0 }), 'empty'));

  test('garbage behind valid magic bytes never escapes as another error', async () => {
    const seeds = [
      'RIFF\x00\x00\x00\x00WAVE',
      'fLaC',
      '\xff\xfb\x90\x64',
      'ID3\x04\x00\x00\x00\x00\x00\x10',
      'OggS',
    ];
    let state = 12345;
    const random = (): number => {
      state = (state * 1103515245 + 12345) & 0x7fffffff;
      return state & 0xff;
    };
    for (const seed of seeds) {
      for (const length of [20, 300, 5000]) {
        const bytes = new Uint8Array(length).map(random);
        bytes.set(ascii(seed), 0);
        try {
          await decodeAudio(bytes);
        } catch (err) {
          assert.ok(err instanceof AudioInputError, `${JSON.stringify(seed)} × ${length}: ${String(err)}`);
        }
      }
    }
  });
});
