import { createHash } from 'node:crypto';
import { BitWriter } from './bit-writer.ts';
import type { PcmAudio } from './types.ts';
import { quantize } from './wav.ts';

/**
 * A small FLAC encoder (RFC 9639): fixed blocks of 4096, fixed predictors of order 0–4 with the best
 * chosen per subframe, partitioned Rice coding, and per-frame stereo decorrelation (independent,
 * left/side, side/right or mid/side, whichever is estimated smallest). No LPC, so files come out a
 * few percent larger than `flac -5`, but encoding is fast and exact. STREAMINFO carries the MD5.
 */
export type FlacBitDepth = 16 | 24;

export const FLAC_BLOCK_SIZE = 4096;
const BLOCK_SIZE = FLAC_BLOCK_SIZE;
const MAX_PARTITION_ORDER = 8;
const MAX_FIXED_ORDER = 4;

/** Encodes planar float PCM (quantised like WAV: ×2^(bits−1), rounded, saturated) to a FLAC file. */
export function encodeFlac(pcm: PcmAudio, bitDepth: FlacBitDepth): Uint8Array {
  const nch = pcm.channels.length;
  if (nch < 1 || nch > 8) throw new RangeError(`FLAC supports 1–8 channels, got ${nch}`);
  if (pcm.sampleRate < 1 || pcm.sampleRate > 1_048_575)
    throw new RangeError(`FLAC cannot store ${pcm.sampleRate} Hz`);
  const ints = pcm.channels.map((ch) => quantizeInts(ch, bitDepth));
  const frames = ints[0]!.length;
  const out = new BitWriter(Math.max(1024, frames * nch * (bitDepth / 8)));
  out.bytes(new Uint8Array([0x66, 0x4c, 0x61, 0x43])); // 'fLaC'
  const streamInfoAt = out.byteLength;
  out.bytes(new Uint8Array(4 + 34)); // filled in once frame sizes are known
  let minFrame = Number.MAX_SAFE_INTEGER;
  let maxFrame = 0;
  for (let start = 0, index = 0; start < frames; start += BLOCK_SIZE, index++) {
    const end = Math.min(frames, start + BLOCK_SIZE);
    const before = out.byteLength;
    writeFrame(
      out,
      ints.map((ch) => ch.subarray(start, end)),
      index,
      bitDepth,
      pcm.sampleRate,
    );
    minFrame = Math.min(minFrame, out.byteLength - before);
    maxFrame = Math.max(maxFrame, out.byteLength - before);
  }
  const file = out.finish();
  const info = streamInfo({
    sampleRate: pcm.sampleRate,
    channels: nch,
    bitDepth,
    frames,
    minFrame: frames === 0 ? 0 : minFrame,
    maxFrame,
    md5: md5OfSamples(ints, bitDepth),
  });
  file.set(info, streamInfoAt);
  return file;
}

export function quantizeInts(src: Float32Array, bits: number): Int32Array {
  const scale = 2 ** (bits - 1);
  const out = new Int32Array(src.length);
  for (let i = 0; i < src.length; i++) out[i] = quantize(src[i]!, scale);
  return out;
}

export interface StreamInfo {
  sampleRate: number;
  channels: number;
  bitDepth: number;
  frames: number;
  minFrame: number;
  maxFrame: number;
  md5: Uint8Array;
}

/** Metadata block header (last block, type 0) + the 34-byte STREAMINFO body. */
export function streamInfo(s: StreamInfo): Uint8Array {
  const w = new BitWriter(64);
  w.bits(1, 1); // last metadata block
  w.bits(0, 7); // STREAMINFO
  w.bits(34, 24);
  // Fixed-blocksize stream: min = max = 4096 (the last block may be shorter, which STREAMINFO allows).
  w.bits(BLOCK_SIZE, 16);
  w.bits(BLOCK_SIZE, 16);
  w.bits(s.minFrame, 24);
  w.bits(s.maxFrame, 24);
  w.bits(s.sampleRate, 20);
  w.bits(s.channels - 1, 3);
  w.bits(s.bitDepth - 1, 5);
  w.bits(Math.floor(s.frames / 2 ** 32), 4);
  w.bits(s.frames >>> 0, 32);
  w.bytes(s.md5);
  return w.finish();
}

/** MD5 of the interleaved little-endian samples, as STREAMINFO defines it. */
function md5OfSamples(ints: readonly Int32Array[], bitDepth: number): Uint8Array {
  const hash = createHash('md5');
  const width = bitDepth / 8;
  const nch = ints.length;
  const frames = ints[0]!.length;
  const step = 1 << 16;
  for (let start = 0; start < frames; start += step) {
    const end = Math.min(frames, start + step);
    const buf = new Uint8Array((end - start) * nch * width);
    let at = 0;
    for (let i = start; i < end; i++) {
      for (let c = 0; c < nch; c++) {
        const v = ints[c]![i]!;
        buf[at++] = v & 0xff;
        buf[at++] = (v >> 8) & 0xff;
        if (width === 3) buf[at++] = (v >> 16) & 0xff;
      }
    }
    hash.update(buf);
  }
  return new Uint8Array(hash.digest());
}

const SAMPLE_RATE_CODES: ReadonlyMap<number, number> = new Map([
  [88200, 1],
  [176400, 2],
  [192000, 3],
  [8000, 4],
  [16000, 5],
  [22050, 6],
  [24000, 7],
  [32000, 8],
  [44100, 9],
  [48000, 10],
  [96000, 11],
]);

/**
 * How a frame header states the rate: a table code, or an explicit 8-bit kHz / 16-bit Hz / 16-bit
 * ×10 Hz value after the header, as libFLAC does (some decoders cannot take it from STREAMINFO).
 */
function rateCoding(rate: number): { code: number; value: number; bits: number } {
  const code = SAMPLE_RATE_CODES.get(rate);
  if (code !== undefined) return { code, value: 0, bits: 0 };
  if (rate % 1000 === 0 && rate / 1000 <= 255) return { code: 12, value: rate / 1000, bits: 8 };
  if (rate <= 65535) return { code: 13, value: rate, bits: 16 };
  if (rate % 10 === 0 && rate / 10 <= 65535) return { code: 14, value: rate / 10, bits: 16 };
  return { code: 0, value: 0, bits: 0 }; // only in STREAMINFO
}

const CHANNELS_LEFT_SIDE = 8;
const CHANNELS_SIDE_RIGHT = 9;
const CHANNELS_MID_SIDE = 10;

export function writeFrame(
  out: BitWriter,
  block: Int32Array[],
  index: number,
  bitDepth: number,
  sampleRate: number,
): void {
  const n = block[0]!.length;
  const { assignment, subframes } = decorrelate(block, bitDepth);
  const start = out.byteLength;
  out.bits(0xfff8, 16); // sync code, reserved 0, fixed-blocksize stream
  const sizeCode = n === BLOCK_SIZE ? 12 : n <= 256 ? 6 : 7;
  const rate = rateCoding(sampleRate);
  out.bits(sizeCode, 4);
  out.bits(rate.code, 4);
  out.bits(assignment, 4);
  out.bits(bitDepth === 16 ? 4 : 6, 3);
  out.bits(0, 1);
  writeUtf8Number(out, index);
  if (sizeCode === 6) out.bits(n - 1, 8);
  if (sizeCode === 7) out.bits(n - 1, 16);
  if (rate.bits > 0) out.bits(rate.value, rate.bits);
  out.bits(crc8(out.view(start)), 8);
  for (const sub of subframes) writeSubframe(out, sub);
  out.align();
  out.bits(crc16(out.view(start)), 16);
}

interface SubframeInput {
  samples: Int32Array;
  bits: number;
  order: number;
}

/** Picks the channel assignment whose fixed-predictor residuals are smallest. */
function decorrelate(
  block: Int32Array[],
  bitDepth: number,
): { assignment: number; subframes: SubframeInput[] } {
  if (block.length !== 2) {
    return {
      assignment: block.length - 1,
      subframes: block.map((samples) => ({ samples, bits: bitDepth, order: bestFixedOrder(samples).order })),
    };
  }
  const left = block[0]!;
  const right = block[1]!;
  const n = left.length;
  const mid = new Int32Array(n);
  const side = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    mid[i] = (left[i]! + right[i]!) >> 1;
    side[i] = left[i]! - right[i]!;
  }
  const l = { samples: left, bits: bitDepth, ...bestFixedOrder(left) };
  const r = { samples: right, bits: bitDepth, ...bestFixedOrder(right) };
  const m = { samples: mid, bits: bitDepth, ...bestFixedOrder(mid) };
  const s = { samples: side, bits: bitDepth + 1, ...bestFixedOrder(side) };
  const options = [
    { assignment: 1, subframes: [l, r] },
    { assignment: CHANNELS_LEFT_SIDE, subframes: [l, s] },
    { assignment: CHANNELS_SIDE_RIGHT, subframes: [s, r] },
    { assignment: CHANNELS_MID_SIDE, subframes: [m, s] },
  ];
  const total = (o: (typeof options)[number]): number => o.subframes[0]!.cost + o.subframes[1]!.cost;
  return options.reduce((a, b) => (total(b) < total(a) ? b : a));
}

/** Sum of |residual| for each fixed order; the smallest wins (libFLAC's heuristic). */
function bestFixedOrder(x: Int32Array): { order: number; cost: number } {
  const n = x.length;
  if (n <= MAX_FIXED_ORDER) return { order: 0, cost: x.reduce((a, v) => a + Math.abs(v), 0) };
  let e0 = 0;
  let e1 = 0;
  let e2 = 0;
  let e3 = 0;
  let e4 = 0;
  for (let i = MAX_FIXED_ORDER; i < n; i++) {
    const a = x[i]!;
    const b = x[i - 1]!;
    const c = x[i - 2]!;
    const d = x[i - 3]!;
    const e = x[i - 4]!;
    e0 += Math.abs(a);
    e1 += Math.abs(a - b);
    e2 += Math.abs(a - 2 * b + c);
    e3 += Math.abs(a - 3 * b + 3 * c - d);
    e4 += Math.abs(a - 4 * b + 6 * c - 4 * d + e);
  }
  const costs = [e0, e1, e2, e3, e4];
  let order = 0;
  for (let k = 1; k <= MAX_FIXED_ORDER; k++) if (costs[k]! < costs[order]!) order = k;
  return { order, cost: costs[order]! };
}

/** Zigzag-mapped fixed-predictor residual (< 2^30 for 25-bit side samples at order 4). */
function fixedResidual(x: Int32Array, order: number): Uint32Array {
  const n = x.length;
  const res = new Uint32Array(n - order);
  for (let i = order; i < n; i++) {
    const a = x[i]!;
    let r: number;
    switch (order) {
      case 0:
        r = a;
        break;
      case 1:
        r = a - x[i - 1]!;
        break;
      case 2:
        r = a - 2 * x[i - 1]! + x[i - 2]!;
        break;
      case 3:
        r = a - 3 * x[i - 1]! + 3 * x[i - 2]! - x[i - 3]!;
        break;
      default:
        r = a - 4 * x[i - 1]! + 6 * x[i - 2]! - 4 * x[i - 3]! + x[i - 4]!;
    }
    res[i - order] = r >= 0 ? 2 * r : -2 * r - 1; // zigzag to unsigned
  }
  return res;
}

function writeSubframe(out: BitWriter, sub: SubframeInput): void {
  const { samples: x, bits } = sub;
  const n = x.length;
  if (x.every((v) => v === x[0])) {
    out.bits(0, 8); // pad 0, type CONSTANT, no wasted bits
    out.bits(x[0]!, bits);
    return;
  }
  const order = Math.min(sub.order, n - 1);
  const residual = fixedResidual(x, order);
  const plan = planRice(residual, n, order);
  const headerBits = 8 + order * bits + 6;
  if (headerBits + plan.bits >= 8 + n * bits) {
    out.bits(0b00000010, 8); // VERBATIM
    for (let i = 0; i < n; i++) out.bits(x[i]!, bits);
    return;
  }
  out.bits(0b00010000 | (order << 1), 8); // FIXED, order in the low 3 bits of the type
  for (let i = 0; i < order; i++) out.bits(x[i]!, bits);
  writeResidual(out, residual, n, order, plan);
}

interface RicePlan {
  partitionOrder: number;
  params: number[];
  bits: number;
  method: 0 | 1; // 0: 4-bit params (≤14), 1: 5-bit params (≤30)
}

/** Estimated bits of Rice coding `count` values summing to `sum` with parameter k. */
const riceBits = (sum: number, count: number, k: number): number =>
  count * (k + 1) + Math.floor(sum / 2 ** k);

/** The best parameter is near log2 of the mean value: check the three around it. */
function bestRiceParam(sum: number, count: number): { k: number; bits: number } {
  const mean = count > 0 ? sum / count : 0;
  const guess = mean < 1 ? 0 : Math.min(30, Math.floor(Math.log2(mean)));
  let best = { k: guess, bits: riceBits(sum, count, guess) };
  for (const k of [guess - 1, guess + 1]) {
    if (k < 0 || k > 30) continue;
    const bits = riceBits(sum, count, k);
    if (bits < best.bits) best = { k, bits };
  }
  return best;
}

/** Chooses the partition order and per-partition Rice parameters from partition sums. */
function planRice(residual: Uint32Array, blockSize: number, order: number): RicePlan {
  let maxOrder = 0;
  while (
    maxOrder < MAX_PARTITION_ORDER &&
    blockSize % (1 << (maxOrder + 1)) === 0 &&
    blockSize >> (maxOrder + 1) > order
  ) {
    maxOrder++;
  }
  // Sums of the finest partitions, merged pairwise for coarser orders.
  const finest = 1 << maxOrder;
  let sums = new Float64Array(finest);
  let counts = new Float64Array(finest);
  const part = blockSize >> maxOrder;
  for (let p = 0, at = 0; p < finest; p++) {
    const end = (p + 1) * part - order;
    let s = 0;
    for (; at < end; at++) s += residual[at]!;
    sums[p] = s;
    counts[p] = p === 0 ? part - order : part; // the warm-up samples of partition 0 carry no residual
  }
  let best: RicePlan | undefined;
  for (let po = maxOrder; po >= 0; po--) {
    const params: number[] = [];
    let bits = 0;
    let maxK = 0;
    for (let p = 0; p < sums.length; p++) {
      const r = bestRiceParam(sums[p]!, counts[p]!);
      params.push(r.k);
      bits += r.bits;
      maxK = Math.max(maxK, r.k);
    }
    const method = maxK > 14 ? 1 : 0;
    bits += 4 + params.length * (method === 1 ? 5 : 4);
    if (!best || bits < best.bits) best = { partitionOrder: po, params, bits, method };
    if (po > 0) {
      const nextSums = new Float64Array(sums.length / 2);
      const nextCounts = new Float64Array(sums.length / 2);
      for (let p = 0; p < nextSums.length; p++) {
        nextSums[p] = sums[2 * p]! + sums[2 * p + 1]!;
        nextCounts[p] = counts[2 * p]! + counts[2 * p + 1]!;
      }
      sums = nextSums;
      counts = nextCounts;
    }
  }
  return best!;
}

function writeResidual(
  out: BitWriter,
  residual: Uint32Array,
  blockSize: number,
  order: number,
  plan: RicePlan,
): void {
  out.bits(plan.method, 2);
  out.bits(plan.partitionOrder, 4);
  const part = blockSize >> plan.partitionOrder;
  const paramBits = plan.method === 1 ? 5 : 4;
  let at = 0;
  for (let p = 0; p < plan.params.length; p++) {
    const k = plan.params[p]!;
    out.bits(k, paramBits);
    const end = (p + 1) * part - order;
    for (; at < end; at++) out.rice(residual[at]!, k);
  }
}

/** FLAC's UTF-8-like variable-length integer (frame number). */
function writeUtf8Number(out: BitWriter, value: number): void {
  if (value < 0x80) {
    out.bits(value, 8);
    return;
  }
  let extra = 1;
  while (value >= 2 ** (6 + 5 * extra) && extra < 6) extra++;
  const lead = (0xff << (7 - extra)) & 0xff;
  out.bits(lead | Math.floor(value / 2 ** (6 * extra)), 8);
  for (let i = extra - 1; i >= 0; i--) out.bits(0x80 | (Math.floor(value / 2 ** (6 * i)) & 0x3f), 8);
}

function crc8(data: Uint8Array): number {
  let crc = 0;
  for (const byte of data) {
    crc ^= byte;
    for (let i = 0; i < 8; i++) crc = crc & 0x80 ? ((crc << 1) ^ 0x07) & 0xff : (crc << 1) & 0xff;
  }
  return crc;
}

const CRC16_TABLE = (() => {
  const table = new Uint16Array(256);
  for (let b = 0; b < 256; b++) {
    let crc = b << 8;
    for (let i = 0; i < 8; i++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x8005) & 0xffff : (crc << 1) & 0xffff;
    table[b] = crc;
  }
  return table;
})();

function crc16(data: Uint8Array): number {
  let crc = 0;
  for (const byte of data) crc = ((crc << 8) & 0xffff) ^ CRC16_TABLE[(crc >> 8) ^ byte]!;
  return crc;
}
