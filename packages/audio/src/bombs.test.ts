import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { after, describe, it } from 'node:test';
import { flacBomb, mp3Bomb, wavLiar } from '@acestep/testkit/audio-bombs';
import { closeDecodePool, decodeAudio, decodeAudioOffThread, isAudioInputError } from './index.ts';

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
    const bomb = flacBomb(600, 10); // STREAMINFO: total samples = 10
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
