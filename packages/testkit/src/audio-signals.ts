// Test signals for the audio tests: tones, SNR, lag search, hand-made WAV headers.
import type { PcmAudio } from '@acestep/audio';

/** Sine of `freq` Hz at `amplitude`, `frames` long, phase 0 at sample 0. */
export function tone(freq: number, sampleRate: number, frames: number, amplitude: number): Float32Array {
  const out = new Float32Array(frames);
  for (let i = 0; i < frames; i++) out[i] = amplitude * Math.sin((2 * Math.PI * freq * i) / sampleRate);
  return out;
}

/** The standard test signal: L 440 Hz at 0.5, R 997 Hz at 0.4. */
export function stereoTone(sampleRate: number, seconds: number): PcmAudio {
  const frames = Math.round(sampleRate * seconds);
  return { sampleRate, channels: [tone(440, sampleRate, frames, 0.5), tone(997, sampleRate, frames, 0.4)] };
}

/** SNR in dB of `actual` against `reference`, comparing reference[i] with actual[i + lag], edges skipped. */
export function snrDb(reference: Float32Array, actual: Float32Array, lag = 0, edge = 0): number {
  let signal = 0;
  let noise = 0;
  const end = Math.min(reference.length, actual.length - lag) - edge;
  for (let i = Math.max(edge, -lag); i < end; i++) {
    const r = reference[i]!;
    const d = r - actual[i + lag]!;
    signal += r * r;
    noise += d * d;
  }
  return noise === 0 ? Number.POSITIVE_INFINITY : 10 * Math.log10(signal / noise);
}

/**
 * The lag (actual = reference delayed by lag) that maximises the joint SNR of all channels, searched
 * over [minLag, maxLag]. Two tones of co-prime periods make the peak unambiguous.
 */
export function bestLag(reference: PcmAudio, actual: PcmAudio, minLag: number, maxLag: number): number {
  let best = minLag;
  let bestErr = Number.POSITIVE_INFINITY;
  const edge = 4800;
  for (let lag = minLag; lag <= maxLag; lag++) {
    let err = 0;
    reference.channels.forEach((ref, c) => {
      const act = actual.channels[c]!;
      const end = Math.min(ref.length, act.length - lag) - edge;
      for (let i = edge; i < end; i += 7) err += (ref[i]! - act[i + lag]!) ** 2;
    });
    if (err < bestErr) {
      bestErr = err;
      best = lag;
    }
  }
  return best;
}

/** A WAV header with arbitrary (possibly absurd) fields followed by `dataBytes` zero bytes. */
export function handMadeWav(fields: {
  formatTag?: number;
  channels: number;
  sampleRate: number;
  bitsPerSample?: number;
  dataBytes: number;
  declaredDataBytes?: number;
}): Uint8Array {
  const bits = fields.bitsPerSample ?? 16;
  const block = (fields.channels * bits) / 8;
  const out = new Uint8Array(44 + fields.dataBytes);
  const v = new DataView(out.buffer);
  const text = (at: number, s: string): void => {
    for (let i = 0; i < 4; i++) out[at + i] = s.charCodeAt(i);
  };
  text(0, 'RIFF');
  v.setUint32(4, 36 + fields.dataBytes, true);
  text(8, 'WAVE');
  text(12, 'fmt ');
  v.setUint32(16, 16, true);
  v.setUint16(20, fields.formatTag ?? 1, true);
  v.setUint16(22, fields.channels, true);
  v.setUint32(24, fields.sampleRate, true);
  v.setUint32(28, fields.sampleRate * block, true);
  v.setUint16(32, block, true);
  v.setUint16(34, bits, true);
  text(36, 'data');
  v.setUint32(40, fields.declaredDataBytes ?? fields.dataBytes, true);
  return out;
}

/**
 * Asserts two channel sets are sample-identical, reporting the first difference (assert.deepEqual on
 * large typed arrays builds a diff so slow that a failing test appears to hang).
 */
export function assertSameSamples(actual: readonly Float32Array[], expected: readonly Float32Array[]): void {
  if (actual.length !== expected.length) throw new Error(`channels: ${actual.length} !== ${expected.length}`);
  actual.forEach((a, c) => {
    const e = expected[c]!;
    if (a.length !== e.length) throw new Error(`channel ${c} length: ${a.length} !== ${e.length}`);
    for (let i = 0; i < a.length; i++) {
      if (!Object.is(a[i], e[i])) throw new Error(`channel ${c} sample ${i}: ${a[i]} !== ${e[i]}`);
    }
  });
}

/**
 * Two tones per channel plus low-level noise: the benchmarks' signal, so lossless coders cannot
 * compress it to nothing and lossy ones have real content to encode.
 */
export function tonesAndNoise(sampleRate: number, seconds: number): PcmAudio {
  const frames = Math.round(sampleRate * seconds);
  let seed = 1;
  const noise = (): number => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed / 0x7fffffff - 0.5;
  };
  const channel = (f1: number, f2: number): Float32Array => {
    const out = new Float32Array(frames);
    for (let i = 0; i < frames; i++) {
      const t = i / sampleRate;
      out[i] = 0.4 * Math.sin(2 * Math.PI * f1 * t) + 0.2 * Math.sin(2 * Math.PI * f2 * t) + 0.01 * noise();
    }
    return out;
  };
  return { sampleRate, channels: [channel(440, 3520), channel(997, 6000)] };
}
