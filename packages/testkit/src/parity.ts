import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { GraphName, TensorDtype } from '@acestep/models';
import ort from 'onnxruntime-node';
import { maxAbsDiff } from './compare.ts';

/** Parity fixtures written by `tools/export/export.py --parity-fixtures`. */
export interface FixtureTensor {
  name: string;
  dtype: TensorDtype;
  shape: number[];
  file: string;
}

export interface FixtureCase {
  name: string;
  inputs: FixtureTensor[];
  outputs: FixtureTensor[];
}

export interface GraphFixtures {
  tolerance: number;
  exactOutputs: string[];
  cases: FixtureCase[];
}

export interface FixtureIndex {
  graphs: Partial<Record<GraphName, GraphFixtures>>;
}

export async function loadFixtureIndex(modelDir: string): Promise<FixtureIndex> {
  return JSON.parse(await readFile(join(modelDir, 'parity', 'index.json'), 'utf8')) as FixtureIndex;
}

/** Reads a raw little-endian fixture file into an ORT tensor (copying into an aligned buffer). */
export async function readFixtureTensor(modelDir: string, t: FixtureTensor): Promise<ort.Tensor> {
  const buf = await readFile(join(modelDir, 'parity', t.file));
  const bytes = new Uint8Array(buf.byteLength);
  bytes.set(buf);
  const data =
    t.dtype === 'int64'
      ? new BigInt64Array(bytes.buffer)
      : t.dtype === 'int32'
        ? new Int32Array(bytes.buffer)
        : t.dtype === 'float64'
          ? new Float64Array(bytes.buffer)
          : new Float32Array(bytes.buffer);
  const count = t.shape.reduce((a, b) => a * b, 1);
  if (data.length !== count)
    throw new Error(`${t.file}: ${data.length} values, shape ${t.shape} needs ${count}`);
  return new ort.Tensor(t.dtype, data, t.shape);
}

export async function readFixtureInputs(
  modelDir: string,
  c: FixtureCase,
): Promise<Record<string, ort.Tensor>> {
  const feeds: Record<string, ort.Tensor> = {};
  for (const t of c.inputs) feeds[t.name] = await readFixtureTensor(modelDir, t);
  return feeds;
}

/** Largest |a - b| over two equally sized tensors (Infinity if shapes differ). */
export function maxAbsTensorDiff(a: ort.Tensor, b: ort.Tensor): number {
  if (a.dims.join(',') !== b.dims.join(',')) return Number.POSITIVE_INFINITY;
  return maxAbsDiff(a.data as Float32Array | BigInt64Array, b.data as Float32Array | BigInt64Array);
}
