/** MSB-first bit writer over a growing byte buffer (what FLAC and MPEG headers need). */
export class BitWriter {
  #buf: Uint8Array;
  #pos = 0; // bytes completed
  #acc = 0; // pending bits, right-aligned; fewer than 8 between calls
  #nacc = 0;

  constructor(initialBytes = 1 << 16) {
    this.#buf = new Uint8Array(initialBytes);
  }

  /** Writes the low `n` bits of `value` (n ≤ 32; negative values are written two's complement). */
  bits(value: number, n: number): void {
    if (n > 24) {
      this.bits(Math.floor(value / 65536), n - 16); // floor keeps two's complement for negatives
      this.bits(value & 0xffff, 16);
      return;
    }
    if (n === 0) return;
    // Fewer than 8 pending bits + at most 24 new ones stay below 2^31.
    this.#acc = (this.#acc << n) | (value & ((1 << n) - 1));
    this.#nacc += n;
    while (this.#nacc >= 8) {
      this.#nacc -= 8;
      this.#push((this.#acc >>> this.#nacc) & 0xff);
    }
    this.#acc &= (1 << this.#nacc) - 1;
  }

  /** Rice code of the unsigned `u` with parameter k: unary quotient, then the k low bits. */
  rice(u: number, k: number): void {
    const q = u >>> k;
    if (q + 1 + k <= 24) {
      this.bits((1 << k) | (u & ((1 << k) - 1)), q + 1 + k);
      return;
    }
    this.unary(q);
    this.bits(u & ((1 << k) - 1), k);
  }

  /** `count` zero bits followed by a one (Rice/unary quotient). */
  unary(count: number): void {
    let left = count;
    while (left >= 16) {
      this.bits(0, 16);
      left -= 16;
    }
    this.bits(1, left + 1);
  }

  /** Pads with zero bits to the next byte boundary. */
  align(): void {
    if (this.#nacc > 0) this.bits(0, 8 - this.#nacc);
  }

  bytes(data: Uint8Array): void {
    if (this.#nacc !== 0) throw new Error('BitWriter.bytes needs byte alignment');
    this.#ensure(data.length);
    this.#buf.set(data, this.#pos);
    this.#pos += data.length;
  }

  /** Bytes written so far (the writer must be aligned for this to be the whole content). */
  get byteLength(): number {
    return this.#pos;
  }

  /** Read-only view of bytes [start, end). */
  view(start = 0, end = this.#pos): Uint8Array {
    return this.#buf.subarray(start, end);
  }

  /** Copies out the finished content. */
  finish(): Uint8Array {
    this.align();
    return this.#buf.slice(0, this.#pos);
  }

  #push(byte: number): void {
    if (this.#pos === this.#buf.length) this.#ensure(1);
    this.#buf[this.#pos++] = byte;
  }

  #ensure(extra: number): void {
    if (this.#pos + extra <= this.#buf.length) return;
    let size = this.#buf.length * 2;
    while (size < this.#pos + extra) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.#buf.subarray(0, this.#pos));
    this.#buf = next;
  }
}
