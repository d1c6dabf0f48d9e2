import { AudioInputError } from './errors.ts';
import type { AudioLimits } from './types.ts';

/** Rejects a source whose rate or channel count is outside the limits. */
export function checkFormat(sampleRate: number, channels: number, limits: AudioLimits): void {
  if (!(sampleRate >= limits.minSampleRate && sampleRate <= limits.maxSampleRate)) {
    throw new AudioInputError(
      'sample_rate',
      `sample rate ${sampleRate} Hz is outside the accepted ${limits.minSampleRate}–${limits.maxSampleRate} Hz`,
    );
  }
  if (sampleRate > 192_000 && sampleRate % 2 !== 0) {
    // The resampler works at most at 192 kHz; above it we halve both rates, which needs an even rate.
    throw new AudioInputError(
      'sample_rate',
      `sample rate ${sampleRate} Hz: rates above 192 kHz must be even`,
    );
  }
  if (!(channels >= 1 && channels <= limits.maxChannels)) {
    throw new AudioInputError('channels', `${channels} channels; accepted are 1–${limits.maxChannels}`);
  }
}

/** Rejects a source longer than `maxSeconds` (measured at its own rate). */
export function checkDuration(frames: number, sampleRate: number, limits: AudioLimits): void {
  const seconds = frames / sampleRate;
  if (seconds > limits.maxSeconds) {
    throw new AudioInputError(
      'too_long',
      `audio is ${seconds.toFixed(1)} s long (or longer); the limit is ${limits.maxSeconds} s`,
    );
  }
}
