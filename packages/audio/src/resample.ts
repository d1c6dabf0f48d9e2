import lsr from '@alexanderolsen/libsamplerate-js';
import type { PcmAudio } from './types.ts';

const { create, ConverterType } = lsr;

/** libsamplerate sinc converters: medium (~122 dB SNR, ~35× real time) or best (~143 dB, ~12×). */
export type ResampleQuality = 'medium' | 'best';

/** Frames the resampled signal has: round(frames · to / from) — the length an ideal resampler gives. */
export function resampledLength(frames: number, from: number, to: number): number {
  return Math.round((frames * to) / from);
}

const LIBRARY_MAX_RATE = 192_000;

/** Input frames per chunk fed to libsamplerate (bounds its wasm buffers). */
const CHUNK_FRAMES = 1 << 15;

/**
 * Band-limited sinc resampling (libsamplerate) of every channel to `rate`. The output has exactly
 * `resampledLength(n, from, to)` frames and is time-aligned with the input (libsamplerate compensates
 * its filter delay). Its simple API drops the filter tail, so we feed trailing zeros to flush it
 * and cut the result to the exact length.
 */
export async function resample(
  pcm: PcmAudio,
  rate: number,
  quality: ResampleQuality = 'medium',
): Promise<PcmAudio> {
  const frames = pcm.channels[0]?.length ?? 0;
  if (pcm.sampleRate === rate) return { sampleRate: rate, channels: pcm.channels.map((ch) => ch.slice()) };
  const nch = pcm.channels.length;
  const target = resampledLength(frames, pcm.sampleRate, rate);
  const converterType =
    quality === 'best' ? ConverterType.SRC_SINC_BEST_QUALITY : ConverterType.SRC_SINC_MEDIUM_QUALITY;
  // libsamplerate-js refuses rates above 192 kHz, but the converter depends only on the ratio:
  // halve both rates as often as needed.
  let scale = 1;
  while (Math.max(pcm.sampleRate, rate) * scale > LIBRARY_MAX_RATE) scale /= 2;
  const src = await create(nch, pcm.sampleRate * scale, rate * scale, { converterType });
  try {
    // The sinc filters reach a few hundred input samples (up to ~2000 at strong downsampling) ahead.
    const tail = Math.ceil(pcm.sampleRate / 20) + 4096;
    const out = pcm.channels.map(() => new Float32Array(target));
    let written = 0;
    const dataOut = new Float32Array(Math.ceil((CHUNK_FRAMES * rate) / pcm.sampleRate + 64) * nch);
    const outLength = { frames: 0 };
    for (let start = 0; start < frames + tail && written < target; start += CHUNK_FRAMES) {
      const chunk = interleave(pcm.channels, start, Math.min(CHUNK_FRAMES, frames + tail - start));
      src.full(chunk, dataOut, outLength);
      written += deinterleave(dataOut, outLength.frames, out, written, target);
    }
    return { sampleRate: rate, channels: out };
  } finally {
    src.destroy();
  }
}

/** Interleaves `count` frames from `start`; positions past the end of the input are zero. */
function interleave(channels: readonly Float32Array[], start: number, count: number): Float32Array {
  const nch = channels.length;
  const out = new Float32Array(count * nch);
  for (let c = 0; c < nch; c++) {
    const ch = channels[c]!;
    const end = Math.min(ch.length, start + count);
    for (let i = start, j = c; i < end; i++, j += nch) out[j] = ch[i]!;
  }
  return out;
}

/** Copies up to `frames` interleaved frames into the planar outputs at `at`, never past `target`. */
function deinterleave(
  data: Float32Array,
  frames: number,
  out: Float32Array[],
  at: number,
  target: number,
): number {
  const nch = out.length;
  const n = Math.min(frames, target - at);
  for (let c = 0; c < nch; c++) {
    const ch = out[c]!;
    for (let i = 0, j = c; i < n; i++, j += nch) ch[at + i] = data[j]!;
  }
  return n;
}
