import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createEncoder, type WasmMediaEncoder } from 'wasm-media-encoders';
import type { PcmAudio } from './types.ts';

/** Constant bitrates LAME accepts (kbps). */
export type Mp3Bitrate = 8 | 16 | 24 | 32 | 40 | 48 | 64 | 80 | 96 | 112 | 128 | 160 | 192 | 224 | 256 | 320;
export const DEFAULT_MP3_BITRATE: Mp3Bitrate = 192;

/** LAME's encoder delay in samples (ENCDELAY); decoders add their own 529 on top. */
export const LAME_ENCODER_DELAY = 576;

const MP3_RATES: ReadonlySet<number> = new Set([
  8000, 11025, 12000, 16000, 22050, 24000, 32000, 44100, 48000,
]);

/** The compiled LAME module, typed through the library (lib es2024 has no WebAssembly types). */
type LameModule = Parameters<NonNullable<Parameters<typeof createEncoder>[2]>>[0];
let lameModule: LameModule | undefined;

/**
 * Creates a LAME encoder, compiling the wasm only on first use: createMp3Encoder() would decode
 * and recompile it (~60 ms) on every call; reusing the compiled module costs ~0.2 ms.
 */
async function createLame(): Promise<WasmMediaEncoder<'audio/mpeg'>> {
  if (lameModule) return createEncoder('audio/mpeg', lameModule);
  const path = createRequire(import.meta.url).resolve('wasm-media-encoders/wasm/mp3');
  return createEncoder('audio/mpeg', readFileSync(path), (module) => {
    lameModule = module;
  });
}

/**
 * CBR MP3 via LAME (wasm). LAME delays the signal by 576 samples and pads the last frame, so the raw
 * stream decodes to more samples than went in; we therefore prepend a LAME "Info" tag frame carrying
 * the exact delay and padding, which gapless decoders (mpg123, ffmpeg, browsers, `decodeAudio`) use
 * to return exactly the input length. Decoders that ignore the tag see 1105 extra samples in front
 * (576 + their own 529) and the padding at the end.
 */
export async function encodeMp3(
  pcm: PcmAudio,
  bitrate: Mp3Bitrate = DEFAULT_MP3_BITRATE,
): Promise<Uint8Array> {
  const nch = pcm.channels.length;
  if (nch !== 1 && nch !== 2) throw new RangeError(`MP3 supports 1 or 2 channels, got ${nch}`);
  if (!MP3_RATES.has(pcm.sampleRate)) throw new RangeError(`MP3 cannot store ${pcm.sampleRate} Hz`);
  const encoder = await createLame();
  encoder.configure({
    channels: nch,
    sampleRate: pcm.sampleRate,
    bitrate,
    outputSampleRate: pcm.sampleRate as 48000,
  });
  // encode() returns a view into wasm memory that the next call overwrites: copy each piece.
  const pieces: Uint8Array[] = [];
  const frames = pcm.channels[0]?.length ?? 0;
  const step = 1 << 16;
  for (let start = 0; start < frames; start += step) {
    const end = Math.min(frames, start + step);
    pieces.push(encoder.encode(pcm.channels.map((ch) => ch.subarray(start, end))).slice());
  }
  pieces.push(encoder.finalize().slice());
  const stream = concat(pieces);
  return withInfoTag(stream, frames, bitrate);
}

function concat(pieces: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(pieces.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of pieces) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

const BITRATES_V1 = [0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320];
const BITRATES_V2 = [0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160];
const RATES: Record<number, number[]> = {
  3: [44100, 48000, 32000],
  2: [22050, 24000, 16000],
  0: [11025, 12000, 8000],
};

/** A parsed MPEG audio Layer III frame header. */
export interface Mp3FrameHeader {
  version: number; // 3 = MPEG-1, 2 = MPEG-2, 0 = MPEG-2.5
  sampleRate: number;
  bitrateKbps: number;
  mono: boolean;
  length: number;
  samplesPerFrame: number;
  sideInfoSize: number;
}

/** Parses the Layer III header at `at`, or returns null when there is none. */
export function parseMp3FrameHeader(bytes: Uint8Array, at: number): Mp3FrameHeader | null {
  if (at + 4 > bytes.length) return null;
  const b1 = bytes[at + 1]!;
  const b2 = bytes[at + 2]!;
  const b3 = bytes[at + 3]!;
  if (bytes[at] !== 0xff || (b1 & 0xe0) !== 0xe0 || ((b1 >> 1) & 3) !== 1) return null;
  const version = (b1 >> 3) & 3;
  const sampleRate = RATES[version]?.[(b2 >> 2) & 3];
  const bitrateKbps = (version === 3 ? BITRATES_V1 : BITRATES_V2)[b2 >> 4];
  if (!sampleRate || !bitrateKbps) return null;
  const v1 = version === 3;
  const mono = b3 >> 6 === 3;
  const padding = (b2 >> 1) & 1;
  const length = Math.floor(((v1 ? 144 : 72) * bitrateKbps * 1000) / sampleRate) + padding;
  const sideInfoSize = v1 ? (mono ? 17 : 32) : mono ? 9 : 17;
  return { version, sampleRate, bitrateKbps, mono, length, samplesPerFrame: v1 ? 1152 : 576, sideInfoSize };
}

/** Prepends a LAME-style "Info" frame (frame count, byte count, TOC, encoder delay and padding). */
function withInfoTag(stream: Uint8Array, inputFrames: number, bitrate: number): Uint8Array {
  const first = parseMp3FrameHeader(stream, 0);
  if (!first) return stream; // nothing was encoded (empty input): no frame to describe
  let count = 0;
  for (let at = 0; at < stream.length; count++) {
    const h = parseMp3FrameHeader(stream, at);
    if (!h) throw new Error(`LAME output has no frame header at byte ${at}`);
    at += h.length;
  }
  const header = infoFrameHeader(stream, first);
  const frameLength = parseMp3FrameHeader(header, 0)!.length;
  const frame = new Uint8Array(frameLength);
  frame.set(header, 0);
  const view = new DataView(frame.buffer);
  const tag = 4 + first.sideInfoSize;
  const text = (at: number, s: string): void => {
    for (let i = 0; i < s.length; i++) frame[at + i] = s.charCodeAt(i);
  };
  const total = frameLength + stream.length;
  text(tag, 'Info'); // "Info" rather than "Xing" marks a CBR stream
  view.setUint32(tag + 4, 0x0f, false); // frames, bytes, TOC and quality fields present
  view.setUint32(tag + 8, count, false);
  view.setUint32(tag + 12, total, false);
  for (let i = 0; i < 100; i++) frame[tag + 16 + i] = Math.floor((i * 256) / 100); // CBR: linear seek table
  view.setUint32(tag + 116, 0, false);
  const lame = tag + 120;
  text(lame, 'LAME3.100');
  frame[lame + 9] = 0x01; // tag revision 0, CBR
  frame[lame + 20] = Math.min(255, bitrate);
  const padding = count * first.samplesPerFrame - inputFrames - LAME_ENCODER_DELAY;
  frame[lame + 21] = LAME_ENCODER_DELAY >> 4;
  frame[lame + 22] = ((LAME_ENCODER_DELAY & 0x0f) << 4) | ((padding >> 8) & 0x0f);
  frame[lame + 23] = padding & 0xff;
  view.setUint32(lame + 28, total, false);
  view.setUint16(lame + 32, crc16Arc(stream, 0), false);
  view.setUint16(lame + 34, crc16Arc(frame.subarray(0, lame + 34), 0), false);
  const out = new Uint8Array(total);
  out.set(frame, 0);
  out.set(stream, frameLength);
  return out;
}

/** The first audio frame's header without padding/CRC, bumped to 128 kbps if the tag would not fit. */
function infoFrameHeader(stream: Uint8Array, first: Mp3FrameHeader): Uint8Array {
  const header = stream.slice(0, 4);
  header[1] = header[1]! | 0x01; // no CRC
  header[2] = header[2]! & ~0x02; // no padding
  const needed = 4 + first.sideInfoSize + 120 + 36;
  if (first.length < needed) {
    const table = first.version === 3 ? BITRATES_V1 : BITRATES_V2;
    header[2] = (table.indexOf(128) << 4) | (header[2]! & 0x0f);
  }
  return header;
}

/** CRC-16/ARC (reflected 0x8005), the checksum LAME uses in its tag. */
function crc16Arc(data: Uint8Array, init: number): number {
  let crc = init;
  for (const byte of data) crc = (crc >> 8) ^ CRC_ARC[(crc ^ byte) & 0xff]!;
  return crc;
}

const CRC_ARC = (() => {
  const table = new Uint16Array(256);
  for (let b = 0; b < 256; b++) {
    let crc = b;
    for (let i = 0; i < 8; i++) crc = crc & 1 ? (crc >> 1) ^ 0xa001 : crc >> 1;
    table[b] = crc;
  }
  return table;
})();
