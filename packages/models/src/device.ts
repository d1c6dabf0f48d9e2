// Where a model set's graphs run: the --device value, the execution providers it stands
// for, and the per-graph options a provider needs. See docs/gpu.md.
import { readFile } from 'node:fs/promises';
import onnxProto from 'onnx-proto';
import type ort from 'onnxruntime-node';

const { onnx } = onnxProto;

export type Device = 'cpu' | `cuda:${number}` | `webgpu:${number}` | 'webgpu';

export const DEVICE_PATTERN = /^(cpu|cuda:\d{1,2}|webgpu(:\d{1,2})?)$/;
export const DEVICE_ALLOWED = '"cpu", "cuda:N" or "webgpu[:N]"';

export interface ParsedDevice {
  provider: 'cpu' | 'cuda' | 'webgpu';
  index: number;
}

export class DeviceError extends Error {
  override name = 'DeviceError';
}

export function parseDevice(device: string): ParsedDevice {
  if (!DEVICE_PATTERN.test(device)) throw new DeviceError(`device "${device}": must be ${DEVICE_ALLOWED}`);
  const [provider, index] = device.split(':') as [ParsedDevice['provider'], string | undefined];
  return { provider, index: index === undefined ? 0 : Number(index) };
}

/** True when graphs on this device can take and give `gpu-buffer` tensors (WebGPU only). */
export function hasDeviceTensors(device: Device): boolean {
  return parseDevice(device).provider === 'webgpu';
}

/**
 * Ops whose WebGPU kernel in onnxruntime 1.30 is unusable at our sizes, pinned to the CPU
 * provider. CumSum's WebGPU shader has every output element re-add all elements before it
 * (O(n²) along the axis): over the LM's 217,204-token vocabulary (the in-graph top-p sampler)
 * that made one `lm_decode_loop` call of 4 steps take 50 s on lavapipe; on the CPU provider
 * it is linear and the logits it reads are already a single row per sequence.
 */
const WEBGPU_CPU_OPS: ReadonlySet<string> = new Set(['CumSum']);

/** Node names (subgraphs included) of a graph file whose op is in `ops`. */
export async function nodesWithOps(file: string, ops: ReadonlySet<string>): Promise<string[]> {
  const model = onnx.ModelProto.decode(await readFile(file));
  const found: string[] = [];
  const walk = (graph: onnxProto.onnx.IGraphProto | null | undefined) => {
    for (const node of graph?.node ?? []) {
      if (ops.has(node.opType ?? '') && node.name) found.push(node.name);
      for (const attribute of node.attribute ?? []) {
        walk(attribute.g);
        for (const g of attribute.graphs ?? []) walk(g);
      }
    }
  };
  walk(model.graph);
  return found;
}

/**
 * Execution providers for one graph file on a device. The Node binding of onnxruntime has no
 * adapter choice for WebGPU (it refuses `deviceId`): Dawn takes the first adapter, so a
 * process is given one GPU (the container runtime's NVIDIA_VISIBLE_DEVICES, as in Kubernetes)
 * and uses it as webgpu:0.
 */
export async function executionProviders(
  device: Device,
  graphFile: string,
): Promise<ort.InferenceSession.ExecutionProviderConfig[]> {
  const { provider, index } = parseDevice(device);
  if (provider === 'cpu') return ['cpu'];
  if (provider === 'cuda') return [{ name: 'cuda', deviceId: index }, 'cpu'];
  if (index !== 0)
    throw new DeviceError(
      `device "${device}": onnxruntime-node picks the first WebGPU adapter only; give the process ` +
        'one GPU (NVIDIA_VISIBLE_DEVICES / the device plugin) and use "webgpu:0"',
    );
  const forceCpuNodeNames = await nodesWithOps(graphFile, WEBGPU_CPU_OPS);
  const webgpu = { name: 'webgpu', ...(forceCpuNodeNames.length > 0 ? { forceCpuNodeNames } : {}) };
  return [webgpu as ort.InferenceSession.ExecutionProviderConfig, 'cpu'];
}
