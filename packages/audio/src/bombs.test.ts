import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { after, describe, it } from 'node:test';
import { closeDecodePool, decodeAudio, decodeAudioOffThread, isAudioInputError } from './index.ts';

/** CRC-8 (poly 0x07) over a FLAC frame header, as RFC 9639 defines it. */
function crc8(bytes: Uint8Array): number {
  let crc = 0;
  for (const b of bytes) {
    crc ^= b;
    for (let i = 0; i < 8; i++) crc = crc & 0x80 ? ((crc << 1) ^ 0x07) & 0xff : (crc << 1) & 0xff;
  }
  return crc;
}

/** CRC-16 (poly 0x8005) over a whole FLAC frame. */
function crc16(bytes: Uint8Array): number {
  let crc = 0;
  for (const b of bytes) {
    crc ^= b << 8;
    for (let i = 0; i < 8; i++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x8005) & 0xffff : (crc << 1) & 0xffff;
  }
  return crc;
}

/** UTF-8-style coded frame number (FLAC's variable-length integer). */
function codedNumber(n: number): number[] {
  if (n < 0x80) return [n];
  if (n < 0x800) return [0xc0 | (n >> 6), 0x80 | (n & 0x3f)];
  if (n < 0x10000) return [0xe0 | (n >> 12), 0x80 | ((n >> 6) & 0x3f), 0x80 | (n & 0x3f)];
  return [0xf0 | (n >> 18), 0x80 | ((n >> 12) & 0x3f), 0x80 | ((n >> 6) & 0x3f), 0x80 | (n & 0x3f)];
}

/**
 * A FLAC "decompression bomb": STREAMINFO says the length is unknown (0), then `frames` frames of 65,536
 * stereo samples each, every subframe CONSTANT (3 bytes for 65,536 samples). ~16 bytes per frame.
 */
function flacBomb(frames: number): Uint8Array {
  const streamInfo = new Uint8Array(4 + 4 + 34);
  streamInfo.set([0x66, 0x4c, 0x61, 0x43]); // fLaC
  streamInfo.set([0x80, 0, 0, 34], 4); // last metadata block, STREAMINFO, 34 bytes
  const si = streamInfo.subarray(8);
  si.set([0xff, 0xff, 0xff, 0xff]); // min/max block size 65535
  // sample rate 48000 (20 bits), channels-1 = 1 (3 bits), bits-1 = 15 (5 bits), total samples 0 (36 bits)
  const rate = 48_000;
  si[10] = rate >> 12;
  si[11] = (rate >> 4) & 0xff;
  si[12] = ((rate & 0x0f) << 4) | (1 << 1) | (15 >> 4);
  si[13] = (15 & 0x0f) << 4;
  const parts: Uint8Array[] = [streamInfo];
  for (let n = 0; n < frames; n++) {
    const header = [0xff, 0xf8, 0x7a, 0x18, ...codedNumber(n), 0xff, 0xfe];
    const h = Uint8Array.from(header);
    const subframes = [0x00, 0x00, 0x00, 0x00, 0x00, 0x00]; // CONSTANT 0 for both channels (16-bit)
    const body = Uint8Array.from([...h, crc8(h), ...subframes]);
    const crc = crc16(body);
    parts.push(Uint8Array.from([...body, crc >> 8, crc & 0xff]));
  }
  return concat(parts);
}

/**
 * A long, tiny MP3: MPEG-2.5 layer III, 8 kHz mono, 8 kbit/s frames of 72 bytes holding 576 samples of
 * silence each (all-zero side info = no spectral data).
 */
function mp3Bomb(frames: number): Uint8Array {
  const frame = new Uint8Array(72);
  frame.set([0xff, 0xe3, 0x18, 0xc4]); // sync, MPEG 2.5, layer III, no CRC, 8 kbit/s, 8 kHz, mono
  return concat(Array.from({ length: frames }, () => frame));
}

/** A WAV whose data chunk declares 4 GB of samples but carries a few bytes. */
function wavLiar(): Uint8Array {
  const b = new Uint8Array(44 + 16);
  const v = new DataView(b.buffer);
  const text = (at: number, s: string) => {
    for (let i = 0; i < 4; i++) b[at + i] = s.charCodeAt(i);
  };
  text(0, 'RIFF');
  v.setUint32(4, 0xfffffff0, true);
  text(8, 'WAVE');
  text(12, 'fmt ');
  v.setUint32(16, 16, true);
  v.setUint16(20, 1, true);
  v.setUint16(22, 2, true);
  v.setUint32(24, 48_000, true);
  v.setUint32(28, 48_000 * 4, true);
  v.setUint16(32, 4, true);
  v.setUint16(34, 16, true);
  text(36, 'data');
  v.setUint32(40, 0xffffffe0, true);
  return b;
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/**
 * Peak RSS since the last reset, from the kernel (VmHWM): a timer could not sample it while a decoder
 * blocks the thread, which is exactly when memory grows.
 */
function resetPeakRss(): void {
  writeFileSync('/proc/self/clear_refs', '5');
}
function peakRssBytes(): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
  return Number(m![1]) * 1024;
}

async function refusal(bytes: Uint8Array): Promise<{ reason: string; message: string; growthMb: number }> {
  const before = process.memoryUsage().rss;
  resetPeakRss();
  try {
    await decodeAudio(bytes);
  } catch (err) {
    assert.ok(isAudioInputError(err), `expected AudioInputError, got ${err}`);
    return { reason: err.reason, message: err.message, growthMb: (peakRssBytes() - before) / 2 ** 20 };
  }
  throw new assert.AssertionError({ message: 'bomb was decoded instead of refused' });
}

describe('decompression bombs are refused before decoding', () => {
  it('a 100 KB FLAC with unknown length that would decode to hours of audio', async () => {
    const bomb = flacBomb(6_300); // 6,300 × 65,535 samples ≈ 2.4 h at 48 kHz ≈ 3.3 GB of float PCM
    assert.ok(bomb.length < 120_000, `bomb is ${bomb.length} bytes`);
    const r = await refusal(bomb);
    assert.equal(r.reason, 'too_long');
    assert.match(r.message, /limit is 600 s/);
    assert.ok(r.growthMb < 50, `RSS grew by ${r.growthMb.toFixed(1)} MB`);
  });

  it('a FLAC that lies in STREAMINFO about a short length is still counted frame by frame', async () => {
    const bomb = flacBomb(600);
    bomb[8 + 17] = 10; // total samples = 10
    const r = await refusal(bomb);
    assert.equal(r.reason, 'too_long');
  });

  it('a FLAC within the limit still decodes', async () => {
    const pcm = await decodeAudio(flacBomb(3)); // 3 × 65,536 samples ≈ 4.1 s
    assert.equal(pcm.sampleRate, 48_000);
    assert.equal(pcm.channels[0]!.length, 3 * 65_535);
  });

  it('a 1.1 MB MP3 of > 600 s at 8 kbit/s', async () => {
    const bomb = mp3Bomb(15_000); // 15,000 × 576 samples at 8 kHz = 1,080 s
    const r = await refusal(bomb);
    assert.equal(r.reason, 'too_long');
    assert.ok(r.growthMb < 50, `RSS grew by ${r.growthMb.toFixed(1)} MB`);
  });

  it('a WAV that declares 4 GB but carries 16 bytes', async () => {
    const r = await refusal(wavLiar());
    assert.ok(['truncated', 'too_long', 'corrupt'].includes(r.reason), r.reason);
    assert.ok(r.growthMb < 50, `RSS grew by ${r.growthMb.toFixed(1)} MB`);
  });
});

describe('decodeAudioOffThread', () => {
  after(() => closeDecodePool());

  it('decodes on a worker: the event loop keeps running timers during a long decode', async () => {
    let ticks = 0;
    const timer = setInterval(() => ticks++, 5);
    const started = performance.now();
    const pcm = await decodeAudioOffThread(flacBomb(200)); // 200 × 65,535 samples ≈ 273 s
    const elapsedMs = performance.now() - started;
    clearInterval(timer);
    assert.equal(pcm.channels[0]!.length, 200 * 65_535);
    assert.equal(pcm.channels.length, 2);
    // The same decode on the calling thread lets no timer fire at all.
    assert.ok(ticks >= Math.min(5, elapsedMs / 50), `${ticks} timer ticks in ${elapsedMs.toFixed(0)} ms`);
  });

  it("takes a small Buffer from Node's shared pool (copied, not transferred)", async () => {
    const pooled = Buffer.from(flacBomb(1)); // < 4 KiB: allocated in the shared pool
    assert.equal(pooled.buffer.byteLength > pooled.length, true);
    const pcm = await decodeAudioOffThread(pooled);
    assert.equal(pcm.channels[0]!.length, 65_535);
  });

  it('keeps the reason of a refused input across the thread boundary', async () => {
    await assert.rejects(decodeAudioOffThread(flacBomb(6_300)), (err: unknown) => {
      assert.ok(isAudioInputError(err));
      assert.equal(err.reason, 'too_long');
      return true;
    });
    await assert.rejects(decodeAudioOffThread(new Uint8Array([1, 2, 3, 4, 5])), (err: unknown) => {
      assert.ok(isAudioInputError(err));
      assert.equal(err.reason, 'unknown_format');
      return true;
    });
  });
});
