import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createEncoder, type WasmMediaEncoder } from 'wasm-media-encoders';
import { withInfoTag } from './mp3-info.ts';
import type { PcmAudio } from './types.ts';

/** Constant bitrates LAME accepts (kbps). */
export type Mp3Bitrate = 8 | 16 | 24 | 32 | 40 | 48 | 64 | 80 | 96 | 112 | 128 | 160 | 192 | 224 | 256 | 320;
/**
 * What the official server writes: torchaudio's ffmpeg backend sets no bitrate, so ffmpeg's
 * libmp3lame leaves LAME's own default, 128 kbps CBR at LAME quality 3.
 */
export const DEFAULT_MP3_BITRATE: Mp3Bitrate = 128;
/** LAME's algorithm quality (0 best … 9 fastest); 3 is the library default the official path gets. */
export const DEFAULT_MP3_QUALITY = 3;

export const MP3_RATES: ReadonlySet<number> = new Set([
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
  const encoder = await openWasmLame(nch, pcm.sampleRate, bitrate);
  const pieces: Uint8Array[] = [];
  const frames = pcm.channels[0]?.length ?? 0;
  const step = 1 << 16;
  for (let start = 0; start < frames; start += step) {
    const end = Math.min(frames, start + step);
    pieces.push(encoder.encode(pcm.channels.map((ch) => ch.subarray(start, end))));
  }
  pieces.push(encoder.finish());
  const stream = concat(pieces);
  return withInfoTag(stream, frames, bitrate);
}

/** An incremental wasm LAME encoder: raw frames out (no tag), each piece a copy the caller owns. */
export interface WasmLame {
  encode(channels: readonly Float32Array[]): Uint8Array;
  finish(): Uint8Array;
}

export async function openWasmLame(
  channels: number,
  sampleRate: number,
  bitrate: Mp3Bitrate,
): Promise<WasmLame> {
  const encoder = await createLame();
  encoder.configure({
    channels: channels as 1 | 2,
    sampleRate,
    bitrate,
    outputSampleRate: sampleRate as 48000,
  });
  // encode() returns a view into wasm memory that the next call overwrites: copy each piece.
  return {
    encode: (chs) => encoder.encode(chs as Float32Array[]).slice(),
    finish: () => encoder.finalize().slice(),
  };
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
