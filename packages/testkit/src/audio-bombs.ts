// Hostile audio files for tests: decompression bombs (a few KB that would
// decode to hours), files whose headers lie about their length, and truncated
// files of each container. Built byte by byte so every test knows exactly what
// it sends (packages/audio/src/bombs.test.ts builds the same bombs for the
// decoder alone).

/** CRC-8 (poly 0x07) over a FLAC frame header, as RFC 9639 defines it. */
function crc8(bytes: Uint8Array): number {
  let crc = 0;
  for (const b of bytes) {
    crc ^= b;
    for (let i = 0; i < 8; i++) crc = crc & 0x80 ? ((crc << 1) ^ 0x07) & 0xff : (crc << 1) & 0xff;
  }
  return crc;
}

/** CRC-16 (poly 0x8005) over a whole FLAC frame. */
function crc16(bytes: Uint8Array): number {
  let crc = 0;
  for (const b of bytes) {
    crc ^= b << 8;
    for (let i = 0; i < 8; i++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x8005) & 0xffff : (crc << 1) & 0xffff;
  }
  return crc;
}

/** UTF-8-style coded frame number (FLAC's variable-length integer). */
function codedNumber(n: number): number[] {
  if (n < 0x80) return [n];
  if (n < 0x800) return [0xc0 | (n >> 6), 0x80 | (n & 0x3f)];
  if (n < 0x10000) return [0xe0 | (n >> 12), 0x80 | ((n >> 6) & 0x3f), 0x80 | (n & 0x3f)];
  return [0xf0 | (n >> 18), 0x80 | ((n >> 12) & 0x3f), 0x80 | ((n >> 6) & 0x3f), 0x80 | (n & 0x3f)];
}

export function concatBytes(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/**
 * A FLAC bomb: STREAMINFO leaves the length unknown (0) — or states `declaredSamples` —, then `frames`
 * frames of 65,535 stereo 48 kHz samples, every subframe CONSTANT (~16 bytes per 1.4 s of audio).
 */
export function flacBomb(frames: number, declaredSamples = 0): Uint8Array {
  const streamInfo = new Uint8Array(4 + 4 + 34);
  streamInfo.set([0x66, 0x4c, 0x61, 0x43]); // fLaC
  streamInfo.set([0x80, 0, 0, 34], 4); // last metadata block, STREAMINFO, 34 bytes
  const si = streamInfo.subarray(8);
  si.set([0xff, 0xff, 0xff, 0xff]); // min/max block size 65535
  const rate = 48_000; // 20 bits rate, 3 bits channels-1 = 1, 5 bits bits-1 = 15, 36 bits total samples
  si[10] = rate >> 12;
  si[11] = (rate >> 4) & 0xff;
  si[12] = ((rate & 0x0f) << 4) | (1 << 1) | (15 >> 4);
  si[13] = (15 & 0x0f) << 4;
  si[17] = declaredSamples & 0xff;
  const parts: Uint8Array[] = [streamInfo];
  for (let n = 0; n < frames; n++) {
    const h = Uint8Array.from([0xff, 0xf8, 0x7a, 0x18, ...codedNumber(n), 0xff, 0xfe]);
    const body = Uint8Array.from([...h, crc8(h), 0, 0, 0, 0, 0, 0]); // CONSTANT 0, both channels
    const crc = crc16(body);
    parts.push(Uint8Array.from([...body, crc >> 8, crc & 0xff]));
  }
  return concatBytes(parts);
}

/** A long, tiny MP3: MPEG-2.5 layer III, 8 kHz mono, 72-byte frames of 576 silent samples each. */
export function mp3Bomb(frames: number): Uint8Array {
  const frame = new Uint8Array(72);
  frame.set([0xff, 0xe3, 0x18, 0xc4]); // sync, MPEG 2.5, layer III, no CRC, 8 kbit/s, 8 kHz, mono
  return concatBytes(Array.from({ length: frames }, () => frame));
}

/** A 16-bit stereo 48 kHz WAV header whose RIFF and data chunks declare `dataBytes`, then `payload`. */
export function wavWithHeader(dataBytes: number, payload: Uint8Array, format = 1): Uint8Array {
  const b = new Uint8Array(44 + payload.length);
  const v = new DataView(b.buffer);
  const text = (at: number, s: string) => {
    for (let i = 0; i < 4; i++) b[at + i] = s.charCodeAt(i);
  };
  text(0, 'RIFF');
  v.setUint32(4, Math.min(0xffffffff, 36 + dataBytes), true);
  text(8, 'WAVE');
  text(12, 'fmt ');
  v.setUint32(16, 16, true);
  v.setUint16(20, format, true);
  v.setUint16(22, 2, true);
  v.setUint32(24, 48_000, true);
  v.setUint32(28, 48_000 * 4, true);
  v.setUint16(32, 4, true);
  v.setUint16(34, 16, true);
  text(36, 'data');
  v.setUint32(40, Math.min(0xffffffff, dataBytes), true);
  b.set(payload, 44);
  return b;
}

/** A WAV that declares 4 GB of samples but carries 16 bytes. */
export function wavLiar(): Uint8Array {
  return wavWithHeader(0xffffffe0, new Uint8Array(16));
}

/** A valid short WAV: `seconds` of quiet noise, 16-bit stereo 48 kHz. */
export function smallWav(seconds: number): Uint8Array {
  const frames = Math.round(seconds * 48_000);
  const pcm = new Uint8Array(frames * 4);
  const v = new DataView(pcm.buffer);
  let x = 12_345;
  for (let i = 0; i < frames * 2; i++) {
    x = (x * 1_103_515_245 + 12_345) & 0x7fffffff;
    v.setInt16(i * 2, (x % 2001) - 1000, true);
  }
  return wavWithHeader(pcm.length, pcm);
}
