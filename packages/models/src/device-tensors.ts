// Moving tensors between the host and a WebGPU device in onnxruntime-node 1.30.
//
// The Node binding can hand out device tensors (`preferredOutputLocation: 'gpu-buffer'`) and
// take them as inputs, but it cannot create one from host data, and `getData()` on one kills
// the process: the binding's `download` callback throws a bare C string ("not implemented"),
// which no N-API handler catches, so the C++ runtime terminates. Both directions therefore go
// through a one-node Identity graph on the same WebGPU device: its input on the host and output
// on the device uploads; its input on the device and output on the host downloads. Every
// session of a process on WebGPU shares one device (the EP's default context), so a device
// tensor from one session is a valid input of another in the same thread.
import onnxProto from 'onnx-proto';
import ort from 'onnxruntime-node';

const { onnx } = onnxProto;

export type DeviceTensorType = 'float32' | 'int64';

const ONNX_TYPES: Record<DeviceTensorType, number> = {
  float32: onnx.TensorProto.DataType.FLOAT,
  int64: onnx.TensorProto.DataType.INT64,
};

/** An Identity graph y = x of one element type and any shape. */
export function identityGraph(type: DeviceTensorType): Uint8Array {
  const value = (name: string) => ({ name, type: { tensorType: { elemType: ONNX_TYPES[type] } } });
  return onnx.ModelProto.encode({
    irVersion: 8,
    producerName: 'acestep-device-copy',
    opsetImport: [{ domain: '', version: 17 }],
    graph: {
      name: 'device_copy',
      node: [{ opType: 'Identity', input: ['x'], output: ['y'], name: 'copy' }],
      input: [value('x')],
      output: [value('y')],
    },
  }).finish();
}

/** Counts the bytes each direction has carried (the benchmark reads them). */
export interface CopyCounters {
  hostToDevice: number;
  deviceToHost: number;
}

const byteSize = (tensor: ort.Tensor): number =>
  tensor.dims.reduce((a, b) => a * b, 1) * (tensor.type === 'int64' ? 8 : 4);

/** Uploads and downloads through Identity sessions on the process's WebGPU device. */
export class DeviceCopier {
  readonly counters: CopyCounters = { hostToDevice: 0, deviceToHost: 0 };
  readonly #up = new Map<DeviceTensorType, Promise<ort.InferenceSession>>();
  readonly #down = new Map<DeviceTensorType, Promise<ort.InferenceSession>>();

  #session(type: DeviceTensorType, toDevice: boolean): Promise<ort.InferenceSession> {
    const cache = toDevice ? this.#up : this.#down;
    let session = cache.get(type);
    if (!session) {
      session = ort.InferenceSession.create(identityGraph(type), {
        executionProviders: ['webgpu'],
        logSeverityLevel: 3,
        ...(toDevice ? { preferredOutputLocation: 'gpu-buffer' as const } : {}),
      });
      cache.set(type, session);
    }
    return session;
  }

  /** A device copy of a host tensor; the caller disposes it (`tensor.dispose()`) when done. */
  async upload(tensor: ort.Tensor): Promise<ort.Tensor> {
    if (tensor.location !== 'cpu') throw new Error(`upload: tensor is on ${tensor.location}, not cpu`);
    const session = await this.#session(tensor.type as DeviceTensorType, true);
    const { y } = await session.run({ x: tensor });
    this.counters.hostToDevice += byteSize(tensor);
    return y!;
  }

  /** A host copy of a device tensor (the safe replacement of `getData()`). */
  async download(tensor: ort.Tensor): Promise<ort.Tensor> {
    if (tensor.location !== 'gpu-buffer')
      throw new Error(`download: tensor is on ${tensor.location}, not gpu-buffer`);
    const session = await this.#session(tensor.type as DeviceTensorType, false);
    const { y } = await session.run({ x: tensor });
    this.counters.deviceToHost += byteSize(tensor);
    return y!;
  }

  async release(): Promise<void> {
    const sessions = await Promise.all([...this.#up.values(), ...this.#down.values()]);
    await Promise.all(sessions.map((s) => s.release()));
    this.#up.clear();
    this.#down.clear();
  }
}
