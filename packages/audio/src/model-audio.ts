import { type ResampleQuality, resample } from './resample.ts';
import { MODEL_SAMPLE_RATE, type PcmAudio } from './types.ts';

export interface ToModelAudioOptions {
  /** Resampler quality when the source is not 48 kHz (default 'medium'). */
  quality?: ResampleQuality;
}

/**
 * The reference loader's normalisation (docs/official-behaviour.md "Audio in"): mono is duplicated to two channels, channels
 * beyond the first two are dropped (not downmixed, as the reference does), the result is resampled to
 * 48 kHz, then clamped to [−1, 1]. No loudness normalisation. Always returns new arrays.
 */
export async function toModelAudio(pcm: PcmAudio, options: ToModelAudioOptions = {}): Promise<PcmAudio> {
  const stereo = toStereo(pcm);
  const at48k = await resample(stereo, MODEL_SAMPLE_RATE, options.quality);
  for (const ch of at48k.channels) clampInPlace(ch);
  return at48k;
}

/** Mono → both channels the same; more than two → the first two. Shares the input arrays. */
export function toStereo(pcm: PcmAudio): PcmAudio {
  const [first, second] = pcm.channels;
  if (!first) throw new RangeError('audio has no channels');
  return { sampleRate: pcm.sampleRate, channels: [first, second ?? first] };
}

/** Clamps to [−1, 1] in place; NaN becomes 0. */
export function clampInPlace(ch: Float32Array): void {
  for (let i = 0; i < ch.length; i++) {
    const v = ch[i]!;
    ch[i] = v > 1 ? 1 : v < -1 ? -1 : Number.isNaN(v) ? 0 : v;
  }
}

/** Largest |sample| over all channels. */
export function peakOf(pcm: PcmAudio): number {
  let peak = 0;
  for (const ch of pcm.channels) {
    for (let i = 0; i < ch.length; i++) {
      const a = Math.abs(ch[i]!);
      if (a > peak) peak = a;
    }
  }
  return peak;
}

/**
 * The reference anti-clipping guard (docs/official-behaviour.md "Audio out"): if the peak over all channels exceeds 1, divide every
 * sample by the peak; otherwise leave the audio as is. Returns new arrays only when it scales.
 */
export function peakGuard(pcm: PcmAudio): PcmAudio {
  const peak = peakOf(pcm);
  if (!(peak > 1)) return pcm;
  return {
    sampleRate: pcm.sampleRate,
    channels: pcm.channels.map((ch) => ch.map((v) => v / peak)),
  };
}

/** The reference silence test before saving (docs/official-behaviour.md "Audio out"): RMS ≤ 1e-5 and peak ≤ 1e-5. */
export function isSilent(pcm: PcmAudio, threshold = 1e-5): boolean {
  let sumSq = 0;
  let count = 0;
  for (const ch of pcm.channels) {
    for (let i = 0; i < ch.length; i++) sumSq += ch[i]! * ch[i]!;
    count += ch.length;
  }
  const rms = count === 0 ? 0 : Math.sqrt(sumSq / count);
  return rms <= threshold && peakOf(pcm) <= threshold;
}
