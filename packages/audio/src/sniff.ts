import { AudioInputError } from './errors.ts';

/** Containers/codecs `decodeAudio` can decode. */
export type AudioContainer = 'wav' | 'flac' | 'mp3' | 'ogg-vorbis' | 'ogg-opus' | 'ogg-flac';

const ascii = (bytes: Uint8Array, at: number, length: number): string =>
  String.fromCharCode(...bytes.subarray(at, at + length));

/**
 * Identifies the container by its magic bytes. Throws `AudioInputError` with reason `unknown_format`
 * (nothing recognised), `unsupported_codec` (a recognised format we do not decode) or `truncated`.
 */
export function sniffContainer(bytes: Uint8Array): AudioContainer {
  if (bytes.length < 4) {
    throw new AudioInputError('truncated', `input is only ${bytes.length} bytes; no audio header fits`);
  }
  const magic = ascii(bytes, 0, 4);
  if (magic === 'RIFF') {
    if (bytes.length < 12) throw new AudioInputError('truncated', 'RIFF header is cut short');
    const form = ascii(bytes, 8, 4);
    if (form !== 'WAVE') throw new AudioInputError('unsupported_codec', `RIFF form '${form}' is not WAVE`);
    return 'wav';
  }
  if (magic === 'fLaC') return 'flac';
  if (magic === 'OggS') return sniffOgg(bytes);
  if (magic === 'RF64' || magic === 'BW64') {
    throw new AudioInputError(
      'unsupported_codec',
      `${magic} (64-bit WAV) is not supported; use WAV, FLAC or MP3`,
    );
  }
  if (magic === 'FORM') throw new AudioInputError('unsupported_codec', 'AIFF is not supported');
  if (bytes.length >= 8 && ascii(bytes, 4, 4) === 'ftyp') {
    throw new AudioInputError('unsupported_codec', 'MP4/M4A (AAC/ALAC) is not supported');
  }
  if (ascii(bytes, 0, 3) === 'ID3') return sniffAfterId3(bytes);
  const frame = mpegFrameKind(bytes, 0);
  if (frame === 'mp3') return 'mp3';
  if (frame === 'aac') throw new AudioInputError('unsupported_codec', 'ADTS AAC is not supported');
  throw new AudioInputError('unknown_format', 'unrecognised audio format (expected WAV, FLAC, MP3 or Ogg)');
}

/** Size of an ID3v2 tag starting at `at` (header + body + optional footer). */
export function id3v2Size(bytes: Uint8Array, at: number): number {
  const b = (i: number): number => bytes[at + i] ?? 0;
  const body = (b(6) << 21) | (b(7) << 14) | (b(8) << 7) | b(9);
  const footer = (b(5) & 0x10) !== 0 ? 10 : 0;
  return 10 + body + footer;
}

function sniffAfterId3(bytes: Uint8Array): AudioContainer {
  if (bytes.length < 10) throw new AudioInputError('truncated', 'ID3 tag header is cut short');
  const end = id3v2Size(bytes, 0);
  if (end >= bytes.length) throw new AudioInputError('truncated', 'file ends inside its ID3 tag');
  // Some writers leave padding or junk between the tag and the first frame: look a little way ahead.
  const limit = Math.min(bytes.length - 4, end + 64 * 1024);
  for (let i = end; i <= limit; i++) {
    const kind = mpegFrameKind(bytes, i);
    if (kind === 'mp3') return 'mp3';
    if (kind === 'aac') throw new AudioInputError('unsupported_codec', 'ADTS AAC is not supported');
  }
  throw new AudioInputError('unknown_format', 'ID3 tag is not followed by MPEG audio frames');
}

/** Classifies a 4-byte MPEG audio / ADTS header at `at`, or null when it is not one. */
function mpegFrameKind(bytes: Uint8Array, at: number): 'mp3' | 'aac' | null {
  const b0 = bytes[at] ?? 0;
  const b1 = bytes[at + 1] ?? 0;
  const b2 = bytes[at + 2] ?? 0;
  if (b0 !== 0xff || (b1 & 0xe0) !== 0xe0) return null;
  const version = (b1 >> 3) & 0x03; // 01 is reserved
  const layer = (b1 >> 1) & 0x03; // 00 is ADTS (AAC) when the version bits say MPEG-2/4
  if (layer === 0) return (b1 & 0xf6) === 0xf0 ? 'aac' : null;
  const bitrateIndex = b2 >> 4;
  const rateIndex = (b2 >> 2) & 0x03;
  if (version === 1 || bitrateIndex === 0x0f || rateIndex === 0x03) return null;
  return 'mp3';
}

/** Reads the codec of the first logical stream from the first Ogg page's first packet. */
function sniffOgg(bytes: Uint8Array): AudioContainer {
  if (bytes.length < 28) throw new AudioInputError('truncated', 'Ogg page header is cut short');
  const segments = bytes[26] ?? 0;
  const packet = 27 + segments;
  if (bytes.length < packet + 8) throw new AudioInputError('truncated', 'first Ogg page is cut short');
  if (ascii(bytes, packet, 7) === '\x01vorbis') return 'ogg-vorbis';
  if (ascii(bytes, packet, 8) === 'OpusHead') return 'ogg-opus';
  if (ascii(bytes, packet, 5) === '\x7fFLAC') return 'ogg-flac';
  const codec = ascii(bytes, packet, 8).startsWith('Speex') ? 'Speex' : 'an unknown codec';
  throw new AudioInputError(
    'unsupported_codec',
    `Ogg stream carries ${codec}; supported in Ogg: Vorbis, Opus, FLAC`,
  );
}
