/**
 * Planar float32 PCM. `channels[c][i]` is sample i of channel c; every channel has the same length.
 * Samples are nominally in [-1, 1] (decoders of float files may return values outside it).
 */
export interface PcmAudio {
  sampleRate: number;
  channels: Float32Array[];
}

/** The rate every ACE-Step 1.5 component works at (VAE hop 1920 → 25 latent frames per second). */
export const MODEL_SAMPLE_RATE = 48_000;
/** The model always sees stereo. */
export const MODEL_CHANNELS = 2;

/** Limits applied to untrusted uploads by `decodeAudio`. */
export interface AudioLimits {
  /** Largest accepted upload in bytes (checked before anything is parsed). */
  maxBytes: number;
  /** Longest accepted audio in seconds, measured at the source rate before resampling. */
  maxSeconds: number;
  /** Lowest accepted source sample rate in Hz. */
  minSampleRate: number;
  /** Highest accepted source sample rate in Hz. */
  maxSampleRate: number;
  /** Most channels accepted in a source file (channels beyond the first two are then dropped). */
  maxChannels: number;
}

export const DEFAULT_AUDIO_LIMITS: Readonly<AudioLimits> = Object.freeze({
  // 600 s of 48 kHz stereo 32-bit float WAV is 230 MB; 256 MiB leaves room for headers and 24-bit 96 kHz
  // clips of a few minutes while still bounding memory per request.
  maxBytes: 256 * 1024 * 1024,
  // DURATION_MAX of the reference implementation (docs/official-behaviour.md "Durations and lengths").
  maxSeconds: 600,
  minSampleRate: 8_000,
  maxSampleRate: 384_000,
  maxChannels: 8,
});

export function numFrames(pcm: PcmAudio): number {
  return pcm.channels[0]?.length ?? 0;
}

export function durationSeconds(pcm: PcmAudio): number {
  return numFrames(pcm) / pcm.sampleRate;
}
