// The LM graphs as the engine uses them: a metered run() (bytes in and out of every call, the
// figure that becomes PCIe traffic on a GPU) and the sequence-major KV cache of one batch.
import type { GraphSession, LmConstants } from '@acestep/models';
import ort from 'onnxruntime-node';
import type { Phase, PhaseTraffic, Traffic } from './protocol.ts';

export class CancelledError extends Error {
  override name = 'CancelledError';
}

/** Raised for requests the model cannot serve (too long a prompt); the service maps it to OUT_OF_RANGE. */
export class RequestError extends Error {
  override name = 'RequestError';
}

function emptyTraffic(): PhaseTraffic {
  return { runs: 0, bytesIn: 0, bytesOut: 0, tokens: 0, pastPositions: 0, runNs: 0, hostNs: 0 };
}

export function newTraffic(): Traffic {
  return { prefill: emptyTraffic(), metadata: emptyTraffic(), audio_codes: emptyTraffic() };
}

function bytesOf(tensors: Record<string, ort.Tensor>): number {
  let n = 0;
  for (const t of Object.values(tensors)) n += (t.data as ArrayBufferView).byteLength;
  return n;
}

/** Runs graphs, counting bytes and time per phase; host time is the time between runs of a phase. */
export class MeteredRunner {
  readonly traffic: Traffic = newTraffic();
  #lastEnd = 0n;
  #cancel: Int32Array | undefined;

  constructor(cancel?: Int32Array) {
    this.#cancel = cancel;
  }

  /** The job's shared cancel flag (non-zero = cancelled), if it has one. */
  get cancelFlag(): Int32Array | undefined {
    return this.#cancel;
  }

  throwIfCancelled(): void {
    if (this.#cancel && Atomics.load(this.#cancel, 0) !== 0) throw new CancelledError('cancelled');
  }

  /** Starts host-time accounting for a phase (call before the host work that precedes a run). */
  mark(): void {
    this.#lastEnd = process.hrtime.bigint();
  }

  async run(
    session: GraphSession,
    phase: Phase,
    feeds: Record<string, ort.Tensor>,
  ): Promise<Record<string, ort.Tensor>> {
    this.throwIfCancelled();
    const t = this.traffic[phase];
    const start = process.hrtime.bigint();
    if (this.#lastEnd > 0n) t.hostNs += Number(start - this.#lastEnd);
    const out = await session.run(feeds);
    const end = process.hrtime.bigint();
    t.runs++;
    t.pastPositions += feeds.past_kv?.dims[0] ?? 0;
    t.runNs += Number(end - start);
    t.bytesIn += bytesOf(feeds);
    t.bytesOut += bytesOf(out);
    this.#lastEnd = end;
    return out;
  }
}

export const i64 = (data: BigInt64Array, dims: readonly number[]) => new ort.Tensor('int64', data, dims);
export const f32 = (data: Float32Array, dims: readonly number[]) => new ort.Tensor('float32', data, dims);

/**
 * The KV cache of one batch, `[pos, layer, k|v, batch, kv_head, head_dim]`: new rows are appended
 * with one set(); the past is a subarray view (no per-token re-layout). Also holds the attention
 * mask, one 0/1 column per position.
 */
export class KvCache {
  readonly batch: number;
  readonly rowFloats: number;
  readonly #dims: readonly number[];
  #data: Float32Array;
  #mask: Uint8Array;
  #positions = 0;

  constructor(lm: Pick<LmConstants, 'layers' | 'kvHeads' | 'headDim'>, batch: number, capacity = 256) {
    this.batch = batch;
    this.#dims = [lm.layers, 2, batch, lm.kvHeads, lm.headDim];
    this.rowFloats = lm.layers * 2 * batch * lm.kvHeads * lm.headDim;
    this.#data = new Float32Array(capacity * this.rowFloats);
    this.#mask = new Uint8Array(capacity * batch);
  }

  get positions(): number {
    return this.#positions;
  }

  /** Positions the buffer holds before it must grow. */
  get capacity(): number {
    return this.#data.length / this.rowFloats;
  }

  /** Bytes of the cache buffer (allocated, not only used). */
  get bytes(): number {
    return this.#data.byteLength;
  }

  /** Cached positions of one row that are real tokens (mask 1). */
  validLength(row: number): number {
    let n = 0;
    for (let p = 0; p < this.#positions; p++) n += this.#mask[p * this.batch + row]!;
    return n;
  }

  /**
   * A new cache whose row r is row `refs[r].row` of `refs[r].cache` with its padding squeezed out:
   * only the real positions, in order, right-aligned, left-padded to the longest. Positions come
   * from the mask's cumulative sum, so a row's tokens keep their positions; attention sees the same
   * keys. This is how sequences join and leave a running batch at a step boundary.
   */
  static regroup(
    lm: Pick<LmConstants, 'layers' | 'kvHeads' | 'headDim'>,
    refs: readonly { cache: KvCache; row: number }[],
    capacity = 0,
  ): KvCache {
    const lengths = refs.map(({ cache, row }) => cache.validLength(row));
    const positions = Math.max(0, ...lengths);
    const out = new KvCache(lm, refs.length, Math.max(1, positions, capacity));
    const width = lm.kvHeads * lm.headDim;
    const blocks = lm.layers * 2;
    refs.forEach(({ cache, row }, r) => {
      let dst = positions - lengths[r]!;
      for (let p = 0; p < cache.#positions; p++) {
        if (cache.#mask[p * cache.batch + row] === 0) continue;
        out.#mask[dst * out.batch + r] = 1;
        for (let b = 0; b < blocks; b++) {
          const from = (p * blocks + b) * cache.batch * width + row * width;
          out.#data.set(
            cache.#data.subarray(from, from + width),
            (dst * blocks + b) * out.batch * width + r * width,
          );
        }
        dst++;
      }
    });
    out.#positions = positions;
    return out;
  }

  #reserve(positions: number): void {
    const need = this.#positions + positions;
    if (need * this.rowFloats <= this.#data.length) return;
    const capacity = Math.max(need, (this.#data.length / this.rowFloats) * 2);
    const data = new Float32Array(capacity * this.rowFloats);
    data.set(this.#data.subarray(0, this.#positions * this.rowFloats));
    this.#data = data;
    const mask = new Uint8Array(capacity * this.batch);
    mask.set(this.#mask.subarray(0, this.#positions * this.batch));
    this.#mask = mask;
  }

  /** Appends `new_kv` rows ([seq, L, 2, B, KV, D]) and their mask columns (mask[row] per position). */
  append(newKv: ort.Tensor, mask: (position: number, row: number) => number): void {
    const rows = newKv.dims[0]!;
    this.#reserve(rows);
    this.#data.set(newKv.data as Float32Array, this.#positions * this.rowFloats);
    for (let p = 0; p < rows; p++) {
      for (let r = 0; r < this.batch; r++) this.#mask[(this.#positions + p) * this.batch + r] = mask(p, r);
    }
    this.#positions += rows;
  }

  past(): ort.Tensor {
    return f32(this.#data.subarray(0, this.#positions * this.rowFloats), [this.#positions, ...this.#dims]);
  }

  /** `[batch, positions + extra]`: the cached mask, then `extra` columns from `next(row, column)`. */
  attentionMask(extra = 0, next: (row: number, column: number) => number = () => 1): ort.Tensor {
    const total = this.#positions + extra;
    const out = new BigInt64Array(this.batch * total);
    for (let r = 0; r < this.batch; r++) {
      for (let p = 0; p < this.#positions; p++) out[r * total + p] = BigInt(this.#mask[p * this.batch + r]!);
      for (let p = this.#positions; p < total; p++) out[r * total + p] = BigInt(next(r, p - this.#positions));
    }
    return i64(out, [this.batch, total]);
  }
}

/** Left-pads token rows into `[rows, width]` ids and mask. */
export function leftPad(rows: readonly (readonly number[])[], padId: number) {
  const width = Math.max(...rows.map((r) => r.length));
  const ids = new BigInt64Array(rows.length * width).fill(BigInt(padId));
  const mask = new BigInt64Array(rows.length * width);
  rows.forEach((row, r) => {
    const start = r * width + width - row.length;
    for (let j = 0; j < row.length; j++) {
      ids[start + j] = BigInt(row[j]!);
      mask[start + j] = 1n;
    }
  });
  return { ids, mask, width };
}
