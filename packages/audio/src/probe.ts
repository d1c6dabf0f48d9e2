import { AudioInputError } from './errors.ts';
import { parseFlacStreamInfo } from './flac-info.ts';
import { checkDuration, checkFormat } from './limits.ts';
import { type AudioContainer, sniffContainer } from './sniff.ts';
import { type AudioLimits, DEFAULT_AUDIO_LIMITS } from './types.ts';
import { parseWavInfo } from './wav.ts';

/** Bytes of a file's beginning that `probeAudioHeader` needs (WAV chunks before `data` included). */
export const PROBE_BYTES = 256 * 1024;

export interface AudioProbe {
  container: AudioContainer;
  /** From the header; undefined when the format only tells by decoding (MP3, Ogg). */
  sampleRate?: number;
  channels?: number;
  seconds?: number;
}

/**
 * Checks an upload from its first bytes and its total size, without holding
 * the file: WAV and FLAC headers carry rate, channels and length, so a file of
 * hundreds of MB is validated against the limits from PROBE_BYTES of it. MP3
 * and Ogg only tell by decoding; their header is sniffed here and
 * `decodeAudioSource` checks the rest.
 */
export function probeAudioHeader(
  prefix: Uint8Array,
  totalBytes: number,
  limits: Partial<AudioLimits> = {},
): AudioProbe {
  const lim: AudioLimits = { ...DEFAULT_AUDIO_LIMITS, ...limits };
  if (totalBytes === 0) throw new AudioInputError('empty', 'audio input is empty');
  if (totalBytes > lim.maxBytes) {
    throw new AudioInputError(
      'too_large',
      `audio input is ${totalBytes} bytes; the limit is ${lim.maxBytes}`,
    );
  }
  const container = sniffContainer(prefix);
  if (container === 'wav') {
    const info = parseWavInfo(prefix, totalBytes);
    checkFormat(info.sampleRate, info.channels, lim);
    checkDuration(info.frames, info.sampleRate, lim);
    if (info.frames === 0) throw new AudioInputError('empty', 'wav input contains no audio samples');
    return {
      container,
      sampleRate: info.sampleRate,
      channels: info.channels,
      seconds: info.frames / info.sampleRate,
    };
  }
  if (container === 'flac') {
    const info = parseFlacStreamInfo(prefix);
    checkFormat(info.sampleRate, info.channels, lim);
    checkDuration(info.totalFrames, info.sampleRate, lim);
    const seconds = info.totalFrames > 0 ? info.totalFrames / info.sampleRate : undefined;
    return {
      container,
      sampleRate: info.sampleRate,
      channels: info.channels,
      ...(seconds ? { seconds } : {}),
    };
  }
  return { container };
}
