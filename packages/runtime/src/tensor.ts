// A tensor as it travels between services: dtype + shape + raw little-endian bytes.
import { DataType } from '@acestep/proto/common';

export type DType = 'float32' | 'float16' | 'bfloat16' | 'int64' | 'int32' | 'uint8' | 'bool';

export interface Tensor {
  name: string;
  dtype: DType;
  shape: number[];
  /** Raw little-endian bytes, exactly product(shape) * bytesPerElement(dtype). */
  data: Uint8Array;
  /** Batch item the tensor belongs to, for streams that carry items separately. */
  itemIndex?: number;
  /** Start index along the streamed axis, for tensors sent in segments. */
  offset?: number;
}

const BYTES_PER_ELEMENT: Record<DType, number> = {
  float32: 4,
  float16: 2,
  bfloat16: 2,
  int64: 8,
  int32: 4,
  uint8: 1,
  bool: 1,
};

const TO_WIRE: Record<DType, DataType> = {
  float32: DataType.FLOAT32,
  float16: DataType.FLOAT16,
  bfloat16: DataType.BFLOAT16,
  int64: DataType.INT64,
  int32: DataType.INT32,
  uint8: DataType.UINT8,
  bool: DataType.BOOL,
};

const FROM_WIRE = new Map<DataType, DType>(Object.entries(TO_WIRE).map(([k, v]) => [v, k as DType]));

export function bytesPerElement(dtype: DType): number {
  return BYTES_PER_ELEMENT[dtype];
}

export function dtypeToWire(dtype: DType): DataType {
  return TO_WIRE[dtype];
}

/** The dtype for a wire value, or undefined for UNSPECIFIED and values this build does not know. */
export function dtypeFromWire(value: DataType): DType | undefined {
  return FROM_WIRE.get(value);
}

export function elementCount(shape: readonly number[]): number {
  return shape.reduce((n, d) => n * d, 1);
}

/** Wraps a Float32Array (little-endian hosts only, which is every platform onnxruntime-node ships for). */
export function float32Tensor(name: string, shape: number[], values: Float32Array): Tensor {
  if (values.length !== elementCount(shape)) {
    throw new RangeError(`${name}: ${values.length} values do not fill shape [${shape.join(', ')}]`);
  }
  return {
    name,
    dtype: 'float32',
    shape,
    data: new Uint8Array(values.buffer, values.byteOffset, values.byteLength),
  };
}

/** A Float32Array view of a float32 tensor's bytes (copies only when unaligned). */
export function float32View(tensor: Tensor): Float32Array {
  if (tensor.dtype !== 'float32')
    throw new TypeError(`${tensor.name}: expected float32, got ${tensor.dtype}`);
  const { data } = tensor;
  if (data.byteOffset % 4 === 0) return new Float32Array(data.buffer, data.byteOffset, data.byteLength / 4);
  return new Float32Array(data.slice().buffer);
}

/**
 * Joins float32 segments [C, n] — each starting at its `offset` along the last
 * axis, as the VAE streams decoded audio — into one planar [C, total] array.
 */
export function joinSegments(segments: readonly Tensor[], channels: number): Float32Array {
  const total = segments.reduce((n, s) => Math.max(n, (s.offset ?? 0) + s.shape[1]!), 0);
  const out = new Float32Array(channels * total);
  for (const s of segments) {
    const n = s.shape[1]!;
    const values = float32View(s);
    for (let c = 0; c < channels; c++)
      out.set(values.subarray(c * n, (c + 1) * n), c * total + (s.offset ?? 0));
  }
  return out;
}
