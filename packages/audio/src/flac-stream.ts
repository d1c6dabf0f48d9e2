import { BitWriter } from './bit-writer.ts';
import { FLAC_BLOCK_SIZE, type FlacBitDepth, quantizeInts, streamInfo, writeFrame } from './flac-encoder.ts';

export interface FlacStreamSpec {
  sampleRate: number;
  channels: number;
  bitDepth: FlacBitDepth;
  /** Samples per channel the stream will hold (the VAE knows T·1920 before it decodes). */
  frames: number;
}

/**
 * Writes a FLAC stream piece by piece: `header()` once, `chunk()` per block of PCM (returns the
 * frames completed so far; samples short of a 4096 block wait for the next call), `finish()` for
 * the last partial block. The frames are the ones `encodeFlac` writes for the same samples; only
 * STREAMINFO differs, because it goes out before the audio exists: the total sample count is
 * exact, the min/max frame sizes and the MD5 are 0, which RFC 9639 defines as "unknown".
 */
export class FlacStreamWriter {
  readonly spec: FlacStreamSpec;
  #pending: Int32Array[];
  #pendingFrames = 0;
  #index = 0;
  #written = 0;

  constructor(spec: FlacStreamSpec) {
    if (spec.channels < 1 || spec.channels > 8)
      throw new RangeError(`FLAC supports 1–8 channels, got ${spec.channels}`);
    if (spec.sampleRate < 1 || spec.sampleRate > 1_048_575)
      throw new RangeError(`FLAC cannot store ${spec.sampleRate} Hz`);
    this.spec = spec;
    this.#pending = Array.from({ length: spec.channels }, () => new Int32Array(FLAC_BLOCK_SIZE));
  }

  header(): Uint8Array {
    const { sampleRate, channels, bitDepth, frames } = this.spec;
    const info = streamInfo({
      sampleRate,
      channels,
      bitDepth,
      frames,
      minFrame: 0,
      maxFrame: 0,
      md5: new Uint8Array(16),
    });
    const out = new Uint8Array(4 + info.length);
    out.set([0x66, 0x4c, 0x61, 0x43], 0); // 'fLaC'
    out.set(info, 4);
    return out;
  }

  chunk(channels: readonly Float32Array[]): Uint8Array {
    if (channels.length !== this.spec.channels)
      throw new RangeError(`chunk has ${channels.length} channels, stream has ${this.spec.channels}`);
    const n = channels[0]?.length ?? 0;
    if (this.#written + n > this.spec.frames)
      throw new RangeError(`chunk would exceed the declared ${this.spec.frames} frames`);
    this.#written += n;
    const ints = channels.map((ch) => quantizeInts(ch, this.spec.bitDepth));
    const out = new BitWriter(Math.max(1024, n * this.spec.channels * (this.spec.bitDepth / 8)));
    let at = 0;
    while (at < n) {
      const take = Math.min(n - at, FLAC_BLOCK_SIZE - this.#pendingFrames);
      for (let c = 0; c < ints.length; c++)
        this.#pending[c]!.set(ints[c]!.subarray(at, at + take), this.#pendingFrames);
      this.#pendingFrames += take;
      at += take;
      if (this.#pendingFrames === FLAC_BLOCK_SIZE) this.#flush(out);
    }
    return out.finish();
  }

  /** The last, shorter block; throws if fewer samples arrived than the header declared. */
  finish(): Uint8Array {
    if (this.#written !== this.spec.frames)
      throw new RangeError(`FLAC stream got ${this.#written} of the declared ${this.spec.frames} frames`);
    const out = new BitWriter(1024 + this.#pendingFrames * this.spec.channels * 3);
    if (this.#pendingFrames > 0) this.#flush(out);
    return out.finish();
  }

  #flush(out: BitWriter): void {
    const block = this.#pending.map((ch) => ch.subarray(0, this.#pendingFrames));
    writeFrame(out, block, this.#index++, this.spec.bitDepth, this.spec.sampleRate);
    this.#pendingFrames = 0;
  }
}
