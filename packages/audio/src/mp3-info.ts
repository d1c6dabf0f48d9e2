// MPEG Layer III frame headers and the LAME "Info" tag frame that tells gapless decoders the
// encoder delay and end padding. Written by hand: no maintained npm package writes a LAME tag.
//
// For a streamed file the tag goes out first, before any audio exists, so everything it holds is
// derived from what is known up front: the input length (the VAE's output is exactly T·1920
// samples), LAME's framing rule and the CBR frame length. The one field that needs the finished
// stream, the CRC of the music data, is then written as 0 (no decoder we know checks it: mpg123,
// ffmpeg and browsers read the delay and padding only).

/** LAME's encoder delay in samples (ENCDELAY); decoders add their own 529 on top. */
export const LAME_ENCODER_DELAY = 576;

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

/** The 4 header bytes of a CBR frame without CRC or padding (joint stereo, or mono). */
export function mp3FrameHeaderBytes(sampleRate: number, bitrateKbps: number, channels: number): Uint8Array {
  const version = Number(Object.keys(RATES).find((v) => RATES[Number(v)]!.includes(sampleRate)));
  if (Number.isNaN(version)) throw new RangeError(`MP3 cannot store ${sampleRate} Hz`);
  const table = version === 3 ? BITRATES_V1 : BITRATES_V2;
  const bitrateIndex = table.indexOf(bitrateKbps);
  if (bitrateIndex <= 0)
    throw new RangeError(`no MPEG-${version === 3 ? 1 : 2} bitrate of ${bitrateKbps} kbps`);
  const rateIndex = RATES[version]!.indexOf(sampleRate);
  const mode = channels === 1 ? 3 : 1; // mono, or joint stereo (LAME's choice for stereo CBR)
  return new Uint8Array([
    0xff,
    0xe0 | (version << 3) | (1 << 1) | 1,
    (bitrateIndex << 4) | (rateIndex << 2),
    mode << 6,
  ]);
}

/**
 * Frames LAME emits for `inputFrames` samples per channel: the input plus the 576-sample delay,
 * padded to whole frames with at least 576 samples of flush (lame_encode_flush's rule; checked
 * against the `lame` CLI and the wasm build for 0..480 000 samples).
 */
export function lameFrameCount(inputFrames: number, samplesPerFrame = 1152): number {
  const samples = inputFrames + LAME_ENCODER_DELAY;
  let padding = samplesPerFrame - (samples % samplesPerFrame);
  if (padding < 576) padding += samplesPerFrame;
  return (samples + padding) / samplesPerFrame;
}

export interface InfoTagSpec {
  /** The header of the audio frames (the tag frame copies rate, version and mode from it). */
  audioHeader: Uint8Array;
  /** Audio frames that follow the tag frame. */
  frameCount: number;
  /** Bytes of audio that follow the tag frame. */
  audioBytes: number;
  /** Input samples per channel (delay and padding are derived from it). */
  inputFrames: number;
  bitrateKbps: number;
  /** CRC-16/ARC of the audio bytes, or 0 when the tag is written before them. */
  musicCrc: number;
}

/** A LAME-style "Info" frame: frame count, byte count, linear TOC, encoder delay and padding, tag CRC. */
export function infoTagFrame(spec: InfoTagSpec): Uint8Array {
  const first = parseMp3FrameHeader(spec.audioHeader, 0);
  if (!first) throw new RangeError('infoTagFrame: audioHeader is not a Layer III header');
  const header = infoFrameHeader(spec.audioHeader, first);
  const frameLength = parseMp3FrameHeader(header, 0)!.length;
  const frame = new Uint8Array(frameLength);
  frame.set(header, 0);
  const view = new DataView(frame.buffer);
  const tag = 4 + first.sideInfoSize;
  const text = (at: number, s: string): void => {
    for (let i = 0; i < s.length; i++) frame[at + i] = s.charCodeAt(i);
  };
  const total = frameLength + spec.audioBytes;
  text(tag, 'Info'); // "Info" rather than "Xing" marks a CBR stream
  view.setUint32(tag + 4, 0x0f, false); // frames, bytes, TOC and quality fields present
  view.setUint32(tag + 8, spec.frameCount, false);
  view.setUint32(tag + 12, total, false);
  for (let i = 0; i < 100; i++) frame[tag + 16 + i] = Math.floor((i * 256) / 100); // CBR: linear seek table
  view.setUint32(tag + 116, 0, false);
  const lame = tag + 120;
  text(lame, 'LAME3.100');
  frame[lame + 9] = 0x01; // tag revision 0, CBR
  frame[lame + 20] = Math.min(255, spec.bitrateKbps);
  const padding = spec.frameCount * first.samplesPerFrame - spec.inputFrames - LAME_ENCODER_DELAY;
  frame[lame + 21] = LAME_ENCODER_DELAY >> 4;
  frame[lame + 22] = ((LAME_ENCODER_DELAY & 0x0f) << 4) | ((padding >> 8) & 0x0f);
  frame[lame + 23] = padding & 0xff;
  view.setUint32(lame + 28, total, false);
  view.setUint16(lame + 32, spec.musicCrc, false);
  view.setUint16(lame + 34, crc16Arc(frame.subarray(0, lame + 34), 0), false);
  return frame;
}

/** Prepends an Info frame to a finished LAME stream (the whole-file path: every field is exact). */
export function withInfoTag(stream: Uint8Array, inputFrames: number, bitrateKbps: number): Uint8Array {
  if (!parseMp3FrameHeader(stream, 0)) return stream; // nothing was encoded (empty input): no frame to describe
  let frameCount = 0;
  for (let at = 0; at < stream.length; frameCount++) {
    const h = parseMp3FrameHeader(stream, at);
    if (!h) throw new Error(`LAME output has no frame header at byte ${at}`);
    at += h.length;
  }
  const frame = infoTagFrame({
    audioHeader: stream.subarray(0, 4),
    frameCount,
    audioBytes: stream.length,
    inputFrames,
    bitrateKbps,
    musicCrc: crc16Arc(stream, 0),
  });
  const out = new Uint8Array(frame.length + stream.length);
  out.set(frame, 0);
  out.set(stream, frame.length);
  return out;
}

/** The first audio frame's header without padding/CRC, bumped to 128 kbps if the tag would not fit. */
function infoFrameHeader(audioHeader: Uint8Array, first: Mp3FrameHeader): Uint8Array {
  const header = audioHeader.slice(0, 4);
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
