import { AudioInputError } from './errors.ts';

/** The fields of a FLAC file's STREAMINFO block that validation needs. */
export interface FlacStreamInfo {
  sampleRate: number;
  channels: number;
  bitsPerSample: number;
  /** Total frames (samples per channel); 0 means the encoder did not know. */
  totalFrames: number;
}

/** Reads STREAMINFO, which RFC 9639 requires to be the first metadata block right after 'fLaC'. */
export function parseFlacStreamInfo(bytes: Uint8Array): FlacStreamInfo {
  if (bytes.length < 8 + 34) throw new AudioInputError('truncated', 'FLAC STREAMINFO is cut short');
  if ((bytes[4]! & 0x7f) !== 0)
    throw new AudioInputError('corrupt', 'FLAC file does not start with STREAMINFO');
  const b = (i: number): number => bytes[8 + i]!;
  const sampleRate = (b(10) << 12) | (b(11) << 4) | (b(12) >> 4);
  const channels = ((b(12) >> 1) & 0x07) + 1;
  const bitsPerSample = (((b(12) & 0x01) << 4) | (b(13) >> 4)) + 1;
  const totalFrames =
    (b(13) & 0x0f) * 2 ** 32 + ((b(14) << 24) >>> 0) + ((b(15) << 16) | (b(16) << 8) | b(17));
  return { sampleRate, channels, bitsPerSample, totalFrames };
}
