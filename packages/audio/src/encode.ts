import { encodeFlac, type FlacBitDepth } from './flac-encoder.ts';
import { peakGuard } from './model-audio.ts';
import { DEFAULT_MP3_BITRATE, encodeMp3, type Mp3Bitrate } from './mp3.ts';
import type { PcmAudio } from './types.ts';
import { encodeWav } from './wav.ts';

/** Output encodings. wav16/wav24: PCM; wav32f: IEEE float; flac: 16- or 24-bit; mp3: CBR LAME. */
export type OutputFormat = 'wav16' | 'wav24' | 'wav32f' | 'flac' | 'mp3';
/** The format names of the reference API (docs/official-behaviour.md "Audio out"). */
export type SpecFormat = 'wav' | 'flac' | 'mp3';

export interface EncodeOptions {
  /** MP3 constant bitrate in kbps (default 192). */
  mp3Bitrate?: Mp3Bitrate;
  /** FLAC sample depth (default 16; 24 keeps the model's float output to −146 dB). */
  flacBitDepth?: FlacBitDepth;
}

/** Our choice for each reference format: 16-bit WAV and FLAC (soundfile's defaults), 192 kbps MP3. */
export function formatFromSpec(format: SpecFormat): OutputFormat {
  switch (format) {
    case 'wav':
      return 'wav16';
    case 'flac':
      return 'flac';
    case 'mp3':
      return 'mp3';
  }
}

/** MIME type and file extension of an output format. */
export function formatInfo(format: OutputFormat): { mimeType: string; extension: string } {
  if (format === 'flac') return { mimeType: 'audio/flac', extension: 'flac' };
  if (format === 'mp3') return { mimeType: 'audio/mpeg', extension: 'mp3' };
  return { mimeType: 'audio/wav', extension: 'wav' };
}

/**
 * Encodes generated audio to a file. Applies the reference peak guard first (if the peak over all
 * channels exceeds 1, everything is divided by it), so integer formats never clip.
 */
export async function encodeAudio(
  pcm: PcmAudio,
  format: OutputFormat,
  options: EncodeOptions = {},
): Promise<Uint8Array> {
  const guarded = peakGuard(pcm);
  switch (format) {
    case 'wav16':
      return encodeWav(guarded, 's16');
    case 'wav24':
      return encodeWav(guarded, 's24');
    case 'wav32f':
      return encodeWav(guarded, 'f32');
    case 'flac':
      return encodeFlac(guarded, options.flacBitDepth ?? 16);
    case 'mp3':
      return encodeMp3(guarded, options.mp3Bitrate ?? DEFAULT_MP3_BITRATE);
  }
}
