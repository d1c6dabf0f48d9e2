import { AudioInputError } from './errors.ts';
import { parseFlacStreamInfo } from './flac-info.ts';
import { scanFrames } from './frame-scan.ts';
import { checkDuration, checkFormat } from './limits.ts';
import { type ToModelAudioOptions, toModelAudio } from './model-audio.ts';
import { type AudioContainer, sniffContainer } from './sniff.ts';
import { type AudioLimits, DEFAULT_AUDIO_LIMITS, type PcmAudio } from './types.ts';
import { decodeWavSamples, parseWavInfo } from './wav.ts';

/**
 * Decodes an uploaded file (WAV, FLAC, MP3, Ogg Vorbis/Opus/FLAC) and normalises it for the model
 * (docs/official-behaviour.md "Audio in"): 48 kHz, stereo, clamped to [−1, 1]. Every problem with the input is reported as an
 * `AudioInputError`; nothing else escapes for bad input.
 */
export async function decodeAudio(
  bytes: Uint8Array,
  limits: Partial<AudioLimits> = {},
  options: ToModelAudioOptions = {},
): Promise<PcmAudio> {
  return toModelAudio(await decodeAudioSource(bytes, limits), options);
}

/** Like `decodeAudio` but returns the source rate and channels untouched (validated against the limits). */
export async function decodeAudioSource(
  bytes: Uint8Array,
  limits: Partial<AudioLimits> = {},
): Promise<PcmAudio> {
  const lim: AudioLimits = { ...DEFAULT_AUDIO_LIMITS, ...limits };
  if (bytes.length === 0) throw new AudioInputError('empty', 'audio input is empty');
  if (bytes.length > lim.maxBytes) {
    throw new AudioInputError(
      'too_large',
      `audio input is ${bytes.length} bytes; the limit is ${lim.maxBytes}`,
    );
  }
  const container = sniffContainer(bytes);
  const pcm = await decodeContainer(container, bytes, lim);
  const frames = pcm.channels[0]?.length ?? 0;
  if (frames === 0) throw new AudioInputError('empty', `${container} input contains no audio samples`);
  return pcm;
}

function decodeContainer(container: AudioContainer, bytes: Uint8Array, lim: AudioLimits): Promise<PcmAudio> {
  if (container !== 'wav') checkFramesBeforeDecoding(container, bytes, lim);
  switch (container) {
    case 'wav':
      return Promise.resolve(decodeWav(bytes, lim));
    case 'flac':
      return decodeFlac(bytes, lim);
    default:
      return decodeLossy(container, bytes, lim);
  }
}

function decodeWav(bytes: Uint8Array, lim: AudioLimits): PcmAudio {
  const info = parseWavInfo(bytes);
  checkFormat(info.sampleRate, info.channels, lim);
  checkDuration(info.frames, info.sampleRate, lim);
  return decodeWavSamples(bytes, info);
}

/**
 * Refuses a compressed file whose frames add up to more than the limits before anything is decoded
 * (see frame-scan.ts): memory for decoding is then bounded by the limits, never by the compression
 * ratio. The declared lengths (FLAC STREAMINFO) are not trusted for this; the frames are counted.
 */
function checkFramesBeforeDecoding(
  container: Exclude<AudioContainer, 'wav'>,
  bytes: Uint8Array,
  lim: AudioLimits,
): void {
  let checked = false;
  const scan = scanFrames(container, bytes, (s) => {
    if (!checked) {
      checkFormat(s.sampleRate, s.channels, lim);
      checked = true;
    }
    checkDuration(s.frames, s.sampleRate, lim);
  });
  if (scan) checkDuration(scan.frames, scan.sampleRate, lim);
}

async function decodeFlac(bytes: Uint8Array, lim: AudioLimits): Promise<PcmAudio> {
  const info = parseFlacStreamInfo(bytes);
  checkFormat(info.sampleRate, info.channels, lim);
  checkDuration(info.totalFrames, info.sampleRate, lim);
  const pcm = await runDecoder('flac', bytes, lim, async () => {
    const { FLACDecoder } = await import('@wasm-audio-decoders/flac');
    return new FLACDecoder();
  });
  const frames = pcm.channels[0]?.length ?? 0;
  rescaleFlac(pcm, info.bitsPerSample);
  // FLAC is lossless and knows its length: anything short of it means the file was cut.
  if (info.totalFrames > 0 && frames < info.totalFrames) {
    throw new AudioInputError(
      'truncated',
      `FLAC declares ${info.totalFrames} samples but only ${frames} decode`,
    );
  }
  return pcm;
}

/**
 * The wasm FLAC decoder divides integers by 2^(bits−1) − 1, which maps −2^(bits−1) below −1 and makes
 * FLAC decode differently from the same samples in WAV. Restore the WAV convention (÷ 2^(bits−1)):
 * x·(2^(bits−1) − 1) is within 0.5 of the original integer (float32 keeps 24 bits), so rounding
 * recovers it exactly.
 */
function rescaleFlac(pcm: PcmAudio, bits: number): void {
  if (bits > 24) return;
  const decoderScale = 2 ** (bits - 1) - 1;
  const scale = 2 ** (bits - 1);
  for (const ch of pcm.channels) {
    for (let i = 0; i < ch.length; i++) ch[i] = Math.round(ch[i]! * decoderScale) / scale;
  }
}

async function decodeLossy(
  container: AudioContainer,
  bytes: Uint8Array,
  lim: AudioLimits,
): Promise<PcmAudio> {
  switch (container) {
    case 'mp3':
      return runDecoder(container, bytes, lim, async () => {
        const { MPEGDecoder } = await import('mpg123-decoder');
        return new MPEGDecoder();
      });
    case 'ogg-vorbis':
      return runDecoder(container, bytes, lim, async () => {
        const { OggVorbisDecoder } = await import('@wasm-audio-decoders/ogg-vorbis');
        return new OggVorbisDecoder();
      });
    case 'ogg-opus':
      return runDecoder(container, bytes, lim, async () => {
        const { OggOpusDecoder } = await import('ogg-opus-decoder');
        return new OggOpusDecoder();
      });
    default:
      return runDecoder(container, bytes, lim, async () => {
        const { FLACDecoder } = await import('@wasm-audio-decoders/flac');
        return new FLACDecoder();
      }); // Ogg FLAC: bit depth not validated up front, left at the decoder's scaling
  }
}

interface DecodedPiece {
  channelData: Float32Array[];
  samplesDecoded: number;
  sampleRate: number;
  errors: readonly { message: string }[];
}

/** The shape shared by the wasm-audio-decoders family. */
interface ChunkDecoder {
  ready: Promise<void>;
  decode(data: Uint8Array): DecodedPiece | Promise<DecodedPiece>;
  flush?: () => Promise<DecodedPiece>;
  free(): void;
}

/** Input fed per call, so the duration limit stops a long file early instead of decoding all of it. */
const FEED_BYTES = 64 * 1024;

/**
 * Feeds the file to a streaming decoder, checking rate, channels and duration as audio appears.
 * Decoder exceptions become `corrupt`. Decoder-reported frame errors are fatal only when no audio
 * decodes at all (lossy files in the wild often carry a damaged frame or trailing junk); FLAC is
 * additionally checked against its declared length by the caller.
 */
async function runDecoder(
  container: AudioContainer,
  bytes: Uint8Array,
  lim: AudioLimits,
  create: () => Promise<ChunkDecoder>,
): Promise<PcmAudio> {
  let decoder: ChunkDecoder | undefined;
  const acc = new Accumulator(container, lim);
  try {
    decoder = await create();
    await decoder.ready;
    for (let at = 0; at < bytes.length; at += FEED_BYTES) {
      acc.add(await decoder.decode(bytes.subarray(at, at + FEED_BYTES)));
    }
    if (decoder.flush) acc.add(await decoder.flush());
  } catch (err) {
    if (err instanceof AudioInputError) throw err;
    throw new AudioInputError('corrupt', `${container} decoder failed: ${messageOf(err)}`, { cause: err });
  } finally {
    try {
      decoder?.free();
    } catch {
      // freeing a decoder that failed half-way must not mask the real error
    }
  }
  return acc.finish();
}

class Accumulator {
  readonly #container: AudioContainer;
  readonly #lim: AudioLimits;
  #pieces: Float32Array[][] = [];
  #frames = 0;
  #sampleRate = 0;
  #channels = 0;
  #firstError: string | undefined;

  constructor(container: AudioContainer, lim: AudioLimits) {
    this.#container = container;
    this.#lim = lim;
  }

  add(piece: DecodedPiece): void {
    if (piece.errors.length > 0) this.#firstError ??= piece.errors[0]!.message;
    if (piece.samplesDecoded === 0) return;
    if (this.#frames === 0) {
      checkFormat(piece.sampleRate, piece.channelData.length, this.#lim);
      this.#sampleRate = piece.sampleRate;
      this.#channels = piece.channelData.length;
    } else if (piece.sampleRate !== this.#sampleRate || piece.channelData.length !== this.#channels) {
      throw new AudioInputError(
        'unsupported_codec',
        `${this.#container} stream changes format mid-file (${this.#sampleRate} Hz × ${this.#channels} → ` +
          `${piece.sampleRate} Hz × ${piece.channelData.length}); chained streams are not supported`,
      );
    }
    this.#frames += piece.samplesDecoded;
    checkDuration(this.#frames, this.#sampleRate, this.#lim);
    this.#pieces.push(piece.channelData.map((ch) => ch.subarray(0, piece.samplesDecoded)));
  }

  finish(): PcmAudio {
    if (this.#frames === 0 && this.#firstError !== undefined) {
      throw new AudioInputError('corrupt', `${this.#container} data does not decode: ${this.#firstError}`);
    }
    const channels = Array.from({ length: this.#channels }, (_, c) => {
      const out = new Float32Array(this.#frames);
      let at = 0;
      for (const piece of this.#pieces) {
        out.set(piece[c]!, at);
        at += piece[c]!.length;
      }
      return out;
    });
    return { sampleRate: this.#sampleRate || 1, channels };
  }
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
