// What serving code needs of a graph: names and run(). Both an in-thread
// onnxruntime session and a worker-thread proxy satisfy it.
import type ort from 'onnxruntime-node';

export interface GraphSession {
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  run(feeds: Record<string, ort.Tensor>): Promise<Record<string, ort.Tensor>>;
}

/** A tensor as it crosses between threads: its buffer is transferred, not copied. */
export interface WireTensor {
  type: ort.Tensor.Type;
  dims: readonly number[];
  data: ArrayBufferView;
}

export function toWire(tensor: ort.Tensor): { wire: WireTensor; transfer: ArrayBuffer[] } {
  let data = tensor.data as ArrayBufferView & { slice(): ArrayBufferView };
  // Only a view spanning its whole (non-shared) buffer can be handed over; copy anything else.
  if (
    !(data.buffer instanceof ArrayBuffer) ||
    data.byteOffset !== 0 ||
    data.byteLength !== data.buffer.byteLength
  ) {
    data = data.slice() as typeof data;
  }
  return { wire: { type: tensor.type, dims: tensor.dims, data }, transfer: [data.buffer as ArrayBuffer] };
}
