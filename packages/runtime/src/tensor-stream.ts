// Sends and receives tensors as streams of TensorChunk messages: a header in the
// first chunk, then raw bytes in pieces of at most 1 MiB. The receiver checks
// every chunk, so a malformed stream fails fast with INVALID_ARGUMENT instead of
// allocating what a bad header asks for.

import { type TensorChunk, TensorChunkSchema, TensorHeaderSchema } from '@acestep/proto/common';
import { create } from '@bufbuild/protobuf';
import { Code, ConnectError } from '@connectrpc/connect';
import { bytesPerElement, type DType, dtypeFromWire, dtypeToWire, type Tensor } from './tensor.ts';

/** The wire limit for one chunk's data. */
export const MAX_CHUNK_BYTES = 1 << 20;

export interface TensorLimits {
  /** Largest tensor a receiver accepts, in bytes. */
  maxTensorBytes: number;
  /** Largest rank a receiver accepts. */
  maxRank?: number;
}

/** Splits a tensor into chunks of at most chunkBytes (default and maximum 1 MiB). */
export function* tensorToChunks(tensor: Tensor, chunkBytes = MAX_CHUNK_BYTES): Generator<TensorChunk> {
  if (chunkBytes <= 0 || chunkBytes > MAX_CHUNK_BYTES) {
    throw new RangeError(`chunkBytes must be in 1..${MAX_CHUNK_BYTES}, got ${chunkBytes}`);
  }
  const header = create(TensorHeaderSchema, {
    name: tensor.name,
    dtype: dtypeToWire(tensor.dtype),
    shape: tensor.shape.map(BigInt),
    itemIndex: tensor.itemIndex ?? 0,
    offset: BigInt(tensor.offset ?? 0),
  });
  const { data } = tensor;
  let sent = 0;
  do {
    const piece = data.subarray(sent, Math.min(sent + chunkBytes, data.byteLength));
    yield create(TensorChunkSchema, sent === 0 ? { header, data: piece } : { data: piece });
    sent += piece.byteLength;
  } while (sent < data.byteLength);
}

function invalid(message: string): ConnectError {
  return new ConnectError(message, Code.InvalidArgument);
}

interface PendingTensor {
  tensor: Tensor;
  received: number;
}

/**
 * Reassembles tensors from chunks, one at a time. push() returns the tensor a
 * chunk completes, or undefined while more bytes are due.
 */
export class TensorAssembler {
  readonly #limits: Required<TensorLimits>;
  #pending: PendingTensor | undefined;

  constructor(limits: TensorLimits) {
    this.#limits = { maxRank: 8, ...limits };
  }

  /** True while a tensor has started and not all its bytes have arrived. */
  get inProgress(): boolean {
    return this.#pending !== undefined;
  }

  push(chunk: TensorChunk): Tensor | undefined {
    if (chunk.data.byteLength > MAX_CHUNK_BYTES) {
      throw invalid(
        `tensor chunk of ${chunk.data.byteLength} bytes exceeds the ${MAX_CHUNK_BYTES}-byte limit`,
      );
    }
    if (chunk.header) {
      if (this.#pending) {
        const { tensor, received } = this.#pending;
        throw invalid(
          `tensor "${chunk.header.name}" started before "${tensor.name}" was complete (${received} of ${tensor.data.byteLength} bytes)`,
        );
      }
      this.#pending = { tensor: this.#start(chunk), received: 0 };
    } else if (!this.#pending) {
      throw invalid('tensor chunk without a header: the first chunk of each tensor must carry its header');
    }
    return this.#append(this.#pending, chunk.data);
  }

  /** Throws when the stream ended in the middle of a tensor. */
  finish(): void {
    if (this.#pending) {
      const { tensor, received } = this.#pending;
      throw invalid(
        `stream ended inside tensor "${tensor.name}": ${received} of ${tensor.data.byteLength} bytes received`,
      );
    }
  }

  #start(chunk: TensorChunk): Tensor {
    const header = chunk.header!;
    const name = header.name || '(unnamed)';
    const dtype = dtypeFromWire(header.dtype);
    if (!dtype) throw invalid(`tensor "${name}": unknown dtype ${header.dtype}`);
    if (header.shape.length > this.#limits.maxRank) {
      throw invalid(
        `tensor "${name}": rank ${header.shape.length} exceeds the limit of ${this.#limits.maxRank}`,
      );
    }
    const byteLength = this.#byteLength(name, dtype, header.shape);
    const shape = header.shape.map(Number);
    return {
      name,
      dtype,
      shape,
      data: new Uint8Array(byteLength),
      itemIndex: header.itemIndex,
      offset: Number(header.offset),
    };
  }

  /** Computes the byte length in bigint so a hostile shape cannot overflow into a small number. */
  #byteLength(name: string, dtype: DType, shape: bigint[]): number {
    let bytes = BigInt(bytesPerElement(dtype));
    for (const dim of shape) {
      if (dim < 0n)
        throw invalid(`tensor "${name}": negative dimension ${dim} in shape [${shape.join(', ')}]`);
      bytes *= dim;
      if (bytes > BigInt(this.#limits.maxTensorBytes)) {
        throw invalid(
          `tensor "${name}": shape [${shape.join(', ')}] of ${dtype} exceeds the ${this.#limits.maxTensorBytes}-byte tensor limit`,
        );
      }
    }
    return Number(bytes);
  }

  #append(pending: PendingTensor, data: Uint8Array): Tensor | undefined {
    const { tensor } = pending;
    const expected = tensor.data.byteLength;
    if (pending.received + data.byteLength > expected) {
      throw invalid(
        `tensor "${tensor.name}": received ${pending.received + data.byteLength} bytes, shape [${tensor.shape.join(', ')}] of ${tensor.dtype} holds ${expected}`,
      );
    }
    tensor.data.set(data, pending.received);
    pending.received += data.byteLength;
    if (pending.received < expected) return undefined;
    this.#pending = undefined;
    return tensor;
  }
}

/** Reads every tensor of a chunk stream, in order; throws INVALID_ARGUMENT on a malformed stream. */
export async function* chunksToTensors(
  chunks: AsyncIterable<TensorChunk>,
  limits: TensorLimits,
): AsyncGenerator<Tensor> {
  const assembler = new TensorAssembler(limits);
  for await (const chunk of chunks) {
    const tensor = assembler.push(chunk);
    if (tensor) yield tensor;
  }
  assembler.finish();
}
