import { AudioInputError } from './errors.ts';
import type { PcmAudio } from './types.ts';

/** Sample encodings we write: signed 16-bit PCM, signed 24-bit PCM, 32-bit IEEE float. */
export type WavSampleFormat = 's16' | 's24' | 'f32';

const FORMAT_PCM = 1;
const FORMAT_FLOAT = 3;
const FORMAT_EXTENSIBLE = 0xfffe;
/** RIFF/data size written when the length is not known up front (the usual streaming convention). */
const UNKNOWN_SIZE = 0xffffffff;

const bytesPerSample = (format: WavSampleFormat): number => (format === 's16' ? 2 : format === 's24' ? 3 : 4);

export interface WavHeaderSpec {
  sampleFormat: WavSampleFormat;
  sampleRate: number;
  channels: number;
  /** Frames that will follow; omit when streaming an unknown length (sizes are then 0xFFFFFFFF). */
  frames?: number;
}

/** Bytes of the header `wavHeader` writes: 44 for PCM, 58 for float (fmt with cbSize + fact chunk). */
export function wavHeaderSize(format: WavSampleFormat): number {
  return format === 'f32' ? 58 : 44;
}

/** A canonical RIFF/WAVE header; PCM data of `frames` frames must follow it. */
export function wavHeader(spec: WavHeaderSpec): Uint8Array {
  const { sampleFormat, sampleRate, channels, frames } = spec;
  const width = bytesPerSample(sampleFormat);
  const headerSize = wavHeaderSize(sampleFormat);
  const dataBytes = frames === undefined ? UNKNOWN_SIZE : frames * channels * width;
  if (frames !== undefined && headerSize - 8 + dataBytes > UNKNOWN_SIZE - 1) {
    throw new RangeError(`WAV cannot hold ${frames} frames (4 GiB RIFF limit)`);
  }
  const out = new Uint8Array(headerSize);
  const view = new DataView(out.buffer);
  const text = (at: number, s: string): void => {
    for (let i = 0; i < s.length; i++) out[at + i] = s.charCodeAt(i);
  };
  const isFloat = sampleFormat === 'f32';
  text(0, 'RIFF');
  view.setUint32(4, frames === undefined ? UNKNOWN_SIZE : headerSize - 8 + dataBytes, true);
  text(8, 'WAVE');
  text(12, 'fmt ');
  view.setUint32(16, isFloat ? 18 : 16, true);
  view.setUint16(20, isFloat ? FORMAT_FLOAT : FORMAT_PCM, true);
  view.setUint16(22, channels, true);
  view.setUint32(24, sampleRate, true);
  view.setUint32(28, sampleRate * channels * width, true);
  view.setUint16(32, channels * width, true);
  view.setUint16(34, width * 8, true);
  let at = 36;
  if (isFloat) {
    // Non-PCM WAVE files carry cbSize and a fact chunk (sample frames per channel).
    view.setUint16(36, 0, true);
    text(38, 'fact');
    view.setUint32(42, 4, true);
    view.setUint32(46, frames === undefined ? UNKNOWN_SIZE : frames, true);
    at = 50;
  }
  text(at, 'data');
  view.setUint32(at + 4, dataBytes, true);
  return out;
}

/**
 * Interleaves planar float samples into WAV data bytes. Integer formats scale by 2^(bits−1), round to
 * nearest and saturate (so +1.0 becomes 32767); no dither. Float is written as is.
 */
export function wavSamples(channels: readonly Float32Array[], format: WavSampleFormat): Uint8Array {
  const frames = channels[0]?.length ?? 0;
  const nch = channels.length;
  const width = bytesPerSample(format);
  const out = new Uint8Array(frames * nch * width);
  const view = new DataView(out.buffer);
  for (let c = 0; c < nch; c++) {
    const src = channels[c]!;
    let at = c * width;
    const stride = nch * width;
    if (format === 'f32') {
      for (let i = 0; i < frames; i++, at += stride) view.setFloat32(at, src[i]!, true);
    } else if (format === 's16') {
      for (let i = 0; i < frames; i++, at += stride) view.setInt16(at, quantize(src[i]!, 32768), true);
    } else {
      for (let i = 0; i < frames; i++, at += stride) {
        const v = quantize(src[i]!, 8388608);
        out[at] = v & 0xff;
        out[at + 1] = (v >> 8) & 0xff;
        out[at + 2] = (v >> 16) & 0xff;
      }
    }
  }
  return out;
}

/** Float → integer sample at full scale `scale` (2^(bits−1)): round to nearest, saturate, NaN → 0. */
export function quantize(x: number, scale: number): number {
  const v = Math.round(x * scale);
  if (Number.isNaN(v)) return 0;
  return Math.min(scale - 1, Math.max(-scale, v));
}

/** A whole WAV file. */
export function encodeWav(pcm: PcmAudio, format: WavSampleFormat): Uint8Array {
  const frames = pcm.channels[0]?.length ?? 0;
  const header = wavHeader({
    sampleFormat: format,
    sampleRate: pcm.sampleRate,
    channels: pcm.channels.length,
    frames,
  });
  const data = wavSamples(pcm.channels, format);
  const out = new Uint8Array(header.length + data.length);
  out.set(header, 0);
  out.set(data, header.length);
  return out;
}

/**
 * Writes a WAV stream piece by piece: `header()` once, then `chunk()` per block of PCM.
 * When `frames` is given the header carries exact sizes and `chunk()` refuses to write past it;
 * otherwise sizes are 0xFFFFFFFF, which common readers (and `decodeAudio`) take as "until end of file".
 * Peak guard cannot be applied per chunk (it needs the global peak), so integer formats only saturate.
 */
export class WavStreamWriter {
  readonly spec: WavHeaderSpec;
  #written = 0;

  constructor(spec: WavHeaderSpec) {
    this.spec = spec;
  }

  header(): Uint8Array {
    return wavHeader(this.spec);
  }

  chunk(channels: readonly Float32Array[]): Uint8Array {
    if (channels.length !== this.spec.channels) {
      throw new RangeError(`chunk has ${channels.length} channels, stream has ${this.spec.channels}`);
    }
    const frames = channels[0]?.length ?? 0;
    if (this.spec.frames !== undefined && this.#written + frames > this.spec.frames) {
      throw new RangeError(`chunk would exceed the declared ${this.spec.frames} frames`);
    }
    this.#written += frames;
    return wavSamples(channels, this.spec.sampleFormat);
  }

  /** Frames written so far. */
  get framesWritten(): number {
    return this.#written;
  }
}

/** What the header of a WAV file says, before any sample is read. */
export interface WavInfo {
  encoding: 'int' | 'float';
  bitsPerSample: number;
  channels: number;
  sampleRate: number;
  blockAlign: number;
  dataOffset: number;
  frames: number;
}

/**
 * Parses RIFF/WAVE chunks up to `data`. Throws `AudioInputError` for anything malformed or unsupported.
 * `totalBytes` is the size of the whole file when `bytes` is only its beginning (an upload being probed).
 */
export function parseWavInfo(bytes: Uint8Array, totalBytes = bytes.length): WavInfo {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let fmt: Omit<WavInfo, 'dataOffset' | 'frames'> | undefined;
  let at = 12;
  while (at + 8 <= bytes.length) {
    const id = String.fromCharCode(...bytes.subarray(at, at + 4));
    const size = view.getUint32(at + 4, true);
    const body = at + 8;
    if (id === 'fmt ') {
      if (body + 16 > bytes.length || size < 16)
        throw new AudioInputError('truncated', 'WAV fmt chunk is cut short');
      fmt = parseFmt(view, body, size);
    } else if (id === 'data') {
      if (!fmt) throw new AudioInputError('corrupt', 'WAV data chunk comes before its fmt chunk');
      const available = totalBytes - body;
      // 0 and 0xFFFFFFFF are what streaming writers leave when they cannot seek back.
      const streamed = size === UNKNOWN_SIZE || size === 0;
      if (!streamed && size > available) {
        throw new AudioInputError(
          'truncated',
          `WAV data chunk declares ${size} bytes but only ${available} follow`,
        );
      }
      const dataBytes = streamed ? available : size;
      return { ...fmt, dataOffset: body, frames: Math.floor(dataBytes / fmt.blockAlign) };
    }
    at = body + size + (size & 1);
  }
  throw new AudioInputError('truncated', fmt ? 'WAV file has no data chunk' : 'WAV file has no fmt chunk');
}

function parseFmt(view: DataView, at: number, size: number): Omit<WavInfo, 'dataOffset' | 'frames'> {
  let tag = view.getUint16(at, true);
  const channels = view.getUint16(at + 2, true);
  const sampleRate = view.getUint32(at + 4, true);
  const blockAlign = view.getUint16(at + 12, true);
  const bitsPerSample = view.getUint16(at + 14, true);
  if (tag === FORMAT_EXTENSIBLE) {
    if (size < 40 || at + 26 > view.byteLength)
      throw new AudioInputError('truncated', 'WAV extensible fmt is cut short');
    tag = view.getUint16(at + 24, true); // first two bytes of the SubFormat GUID
  }
  const encoding = tag === FORMAT_PCM ? 'int' : tag === FORMAT_FLOAT ? 'float' : undefined;
  const supportedBits = encoding === 'int' ? [8, 16, 24, 32] : [32, 64];
  if (!encoding || !supportedBits.includes(bitsPerSample)) {
    throw new AudioInputError(
      'unsupported_codec',
      `WAV format tag 0x${tag.toString(16)} with ${bitsPerSample}-bit samples is not supported ` +
        '(supported: PCM 8/16/24/32-bit, IEEE float 32/64-bit)',
    );
  }
  if (channels > 0 && blockAlign !== channels * (bitsPerSample / 8)) {
    throw new AudioInputError(
      'corrupt',
      `WAV block align ${blockAlign} does not match ${channels}×${bitsPerSample} bits`,
    );
  }
  return { encoding, bitsPerSample, channels, sampleRate, blockAlign };
}

/** Reads the samples described by `info` into planar float32 (integers divided by 2^(bits−1)). */
export function decodeWavSamples(bytes: Uint8Array, info: WavInfo): PcmAudio {
  const { channels: nch, frames, blockAlign, dataOffset, bitsPerSample, encoding } = info;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const width = bitsPerSample / 8;
  const read = sampleReader(view, encoding, bitsPerSample);
  const channels: Float32Array[] = [];
  for (let c = 0; c < nch; c++) {
    const out = new Float32Array(frames);
    let at = dataOffset + c * width;
    for (let i = 0; i < frames; i++, at += blockAlign) out[i] = read(at);
    channels.push(out);
  }
  return { sampleRate: info.sampleRate, channels };
}

function sampleReader(view: DataView, encoding: 'int' | 'float', bits: number): (at: number) => number {
  if (encoding === 'float') {
    return bits === 32 ? (at) => view.getFloat32(at, true) : (at) => view.getFloat64(at, true);
  }
  switch (bits) {
    case 8:
      return (at) => (view.getUint8(at) - 128) / 128; // 8-bit WAV is unsigned
    case 16:
      return (at) => view.getInt16(at, true) / 32768;
    case 24:
      return (at) => (view.getUint16(at, true) | (view.getInt8(at + 2) << 16)) / 8388608;
    default:
      return (at) => view.getInt32(at, true) / 2147483648;
  }
}
