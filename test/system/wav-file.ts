// WAV files for upload tests, written to disk in pieces so a test can make a
// 200 MB file without holding it: a header and a quiet sine in 16-bit or
// 32-bit float PCM.

import { once } from 'node:events';
import { createWriteStream } from 'node:fs';

export interface WavSpec {
  seconds: number;
  sampleRate?: number;
  channels?: number;
  format?: 's16' | 'f32';
  /** Bytes appended after the data chunk as an unknown chunk (pads a file to an exact size). */
  padBytes?: number;
}

export async function writeWav(path: string, spec: WavSpec): Promise<number> {
  const { sampleRate = 48_000, channels = 2, format = 's16' } = spec;
  const width = format === 's16' ? 2 : 4;
  const frames = Math.round(spec.seconds * sampleRate);
  const dataBytes = frames * channels * width;
  const pad = spec.padBytes ? 8 + spec.padBytes : 0;
  const header = Buffer.alloc(44);
  header.write('RIFF', 0);
  header.writeUInt32LE(36 + dataBytes + pad, 4);
  header.write('WAVEfmt ', 8);
  header.writeUInt32LE(16, 16);
  header.writeUInt16LE(format === 's16' ? 1 : 3, 20);
  header.writeUInt16LE(channels, 22);
  header.writeUInt32LE(sampleRate, 24);
  header.writeUInt32LE(sampleRate * channels * width, 28);
  header.writeUInt16LE(channels * width, 32);
  header.writeUInt16LE(width * 8, 34);
  header.write('data', 36);
  header.writeUInt32LE(dataBytes, 40);
  const out = createWriteStream(path);
  out.write(header);
  const block = 48_000;
  for (let start = 0; start < frames; start += block) {
    const n = Math.min(block, frames - start);
    const buf = Buffer.alloc(n * channels * width);
    for (let i = 0; i < n; i++) {
      const x = 0.25 * Math.sin((2 * Math.PI * 220 * (start + i)) / sampleRate);
      for (let c = 0; c < channels; c++) {
        const at = (i * channels + c) * width;
        if (format === 's16') buf.writeInt16LE(Math.round(x * 32767), at);
        else buf.writeFloatLE(x, at);
      }
    }
    if (!out.write(buf)) await once(out, 'drain');
  }
  if (spec.padBytes) {
    const chunk = Buffer.alloc(8 + spec.padBytes);
    chunk.write('junk', 0);
    chunk.writeUInt32LE(spec.padBytes, 4);
    out.write(chunk);
  }
  out.end();
  await once(out, 'finish');
  return 44 + dataBytes + pad;
}
