// Incremental encoders: a file's bytes come out while its PCM is still arriving, tile by tile.
// Every header is written first and is final at once, because the length is known before the
// first sample (the VAE turns T latent frames into exactly T·1920 samples): WAV sizes, FLAC's
// total sample count and the MP3 Info tag (frame count, byte count, delay, padding) are all
// derived from it, so nothing needs a seek back, and storage can take the bytes as they come.
//
// No peak guard: it needs the whole song's peak. Integer formats saturate at ±1 instead, which
// gives the same samples whenever the song's peak is ≤ 1 (docs/architecture.md, "Streamed audio").
import type { OutputFormat } from './encode.ts';
import type { FlacBitDepth } from './flac-encoder.ts';
import { FlacStreamWriter } from './flac-stream.ts';
import { LameProcess, lameCliAvailable } from './lame-cli.ts';
import { DEFAULT_MP3_BITRATE, DEFAULT_MP3_QUALITY, type Mp3Bitrate, openWasmLame } from './mp3.ts';
import { infoTagFrame, lameFrameCount, mp3FrameHeaderBytes, parseMp3FrameHeader } from './mp3-info.ts';
import { quantize, WavStreamWriter } from './wav.ts';

/** Which LAME runs the MP3 encode: the native CLI (default when installed) or the wasm build. */
export type Mp3Encoder = 'lame' | 'wasm';

export interface StreamEncodeSpec {
  format: OutputFormat;
  sampleRate: number;
  channels: number;
  /** Samples per channel the file will hold; write() must deliver exactly these. */
  frames: number;
  mp3Bitrate?: Mp3Bitrate;
  /** LAME algorithm quality 0..9 (the native CLI only; default 3). */
  mp3Quality?: number;
  mp3Encoder?: Mp3Encoder;
  flacBitDepth?: FlacBitDepth;
}

export interface StreamEncoder {
  /** Encodes the next samples (planar); resolves when the encoder can take more. */
  write(channels: readonly Float32Array[]): Promise<void>;
  /** Flushes the last bytes; throws if the samples or bytes do not match what the header said. */
  end(): Promise<void>;
  /** Abandons the stream (kills a child process); no more bytes are delivered. */
  abort(): void;
}

/** The MP3 encoder used when the spec names none: the native CLI when `lame` is installed. */
export function defaultMp3Encoder(): Mp3Encoder {
  return lameCliAvailable() ? 'lame' : 'wasm';
}

/** Opens an encoder; its header has been passed to onData before this resolves. */
export async function openStreamEncoder(
  spec: StreamEncodeSpec,
  onData: (bytes: Uint8Array) => void,
): Promise<StreamEncoder> {
  if (!Number.isSafeInteger(spec.frames) || spec.frames < 0)
    throw new RangeError(`frames must be a non-negative integer, got ${spec.frames}`);
  switch (spec.format) {
    case 'wav16':
    case 'wav24':
    case 'wav32f':
      return wavEncoder(spec, onData);
    case 'flac':
      return flacEncoder(spec, onData);
    case 'mp3':
      return mp3Encoder(spec, onData);
  }
}

/** Counts the frames written, so end() can tell a short stream from a complete one. */
function frameCounter(spec: StreamEncodeSpec) {
  let written = 0;
  return {
    add(channels: readonly Float32Array[]): void {
      if (channels.length !== spec.channels)
        throw new RangeError(`chunk has ${channels.length} channels, stream has ${spec.channels}`);
      const n = channels[0]?.length ?? 0;
      if (written + n > spec.frames)
        throw new RangeError(`chunk would exceed the declared ${spec.frames} frames`);
      written += n;
    },
    check(): void {
      if (written !== spec.frames)
        throw new RangeError(`stream got ${written} of the declared ${spec.frames} frames`);
    },
  };
}

function wavEncoder(spec: StreamEncodeSpec, onData: (bytes: Uint8Array) => void): StreamEncoder {
  const sampleFormat = spec.format === 'wav24' ? 's24' : spec.format === 'wav32f' ? 'f32' : 's16';
  const writer = new WavStreamWriter({
    sampleFormat,
    sampleRate: spec.sampleRate,
    channels: spec.channels,
    frames: spec.frames,
  });
  onData(writer.header());
  return {
    write: async (channels) => onData(writer.chunk(channels)),
    end: async () => {
      if (writer.framesWritten !== spec.frames)
        throw new RangeError(`stream got ${writer.framesWritten} of the declared ${spec.frames} frames`);
    },
    abort: () => {},
  };
}

function flacEncoder(spec: StreamEncodeSpec, onData: (bytes: Uint8Array) => void): StreamEncoder {
  const writer = new FlacStreamWriter({
    sampleRate: spec.sampleRate,
    channels: spec.channels,
    bitDepth: spec.flacBitDepth ?? 16,
    frames: spec.frames,
  });
  onData(writer.header());
  const emit = (bytes: Uint8Array) => {
    if (bytes.length > 0) onData(bytes);
  };
  return {
    write: async (channels) => emit(writer.chunk(channels)),
    end: async () => emit(writer.finish()),
    abort: () => {},
  };
}

async function mp3Encoder(
  spec: StreamEncodeSpec,
  onData: (bytes: Uint8Array) => void,
): Promise<StreamEncoder> {
  const { sampleRate, channels, frames } = spec;
  if (channels !== 1 && channels !== 2) throw new RangeError(`MP3 supports 1 or 2 channels, got ${channels}`);
  const bitrate = spec.mp3Bitrate ?? DEFAULT_MP3_BITRATE;
  const audioHeader = mp3FrameHeaderBytes(sampleRate, bitrate, channels);
  const frame = parseMp3FrameHeader(audioHeader, 0)!;
  // The byte count in the tag is only known up front when every frame has the same length.
  const slots = ((frame.samplesPerFrame / 8) * bitrate * 1000) / sampleRate;
  if (!Number.isInteger(slots))
    throw new RangeError(
      `streamed MP3 needs whole-byte frames: ${bitrate} kbps at ${sampleRate} Hz has padded frames`,
    );
  const frameCount = lameFrameCount(frames, frame.samplesPerFrame);
  const audioBytes = frameCount * frame.length;
  onData(
    infoTagFrame({
      audioHeader,
      frameCount,
      audioBytes,
      inputFrames: frames,
      bitrateKbps: bitrate,
      musicCrc: 0,
    }),
  );
  let produced = 0;
  const emit = (bytes: Uint8Array) => {
    produced += bytes.length;
    if (bytes.length > 0) onData(bytes);
  };
  const counter = frameCounter(spec);
  const checkBytes = () => {
    if (produced !== audioBytes)
      throw new Error(
        `LAME wrote ${produced} bytes of audio where ${frameCount} frames of ${frame.length} were due`,
      );
  };
  if ((spec.mp3Encoder ?? defaultMp3Encoder()) === 'wasm') {
    const lame = await openWasmLame(channels, sampleRate, bitrate);
    return {
      write: async (chs) => {
        counter.add(chs);
        emit(lame.encode(chs));
      },
      end: async () => {
        counter.check();
        emit(lame.finish());
        checkBytes();
      },
      abort: () => {},
    };
  }
  const lame = new LameProcess(
    { sampleRate, channels, bitrate, quality: spec.mp3Quality ?? DEFAULT_MP3_QUALITY },
    emit,
  );
  return {
    write: (chs) => {
      counter.add(chs);
      return lame.write(interleaveS16(chs));
    },
    end: async () => {
      counter.check();
      await lame.end();
      checkBytes();
    },
    abort: () => lame.kill(),
  };
}

/** Planar float → interleaved little-endian s16 (the same rounding and saturation as WAV). */
export function interleaveS16(channels: readonly Float32Array[]): Uint8Array {
  const nch = channels.length;
  const n = channels[0]?.length ?? 0;
  const out = new Int16Array(n * nch);
  for (let c = 0; c < nch; c++) {
    const src = channels[c]!;
    for (let i = 0, at = c; i < n; i++, at += nch) out[at] = quantize(src[i]!, 32768);
  }
  return new Uint8Array(out.buffer);
}
