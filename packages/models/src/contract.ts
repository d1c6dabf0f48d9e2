import type { InferenceSession } from 'onnxruntime-node';
import type { Dim, GraphEntry, TensorSpec } from './manifest.ts';

export class ContractError extends Error {
  override name = 'ContractError';
  readonly graph: string;
  readonly tensor: string | undefined;
  readonly detail: string;
  constructor(graph: string, tensor: string | undefined, detail: string) {
    super(`graph ${graph}${tensor === undefined ? '' : `, tensor ${tensor}`}: ${detail}`);
    this.graph = graph;
    this.tensor = tensor;
    this.detail = detail;
  }
}

type Metadata = readonly InferenceSession.ValueMetadata[];

/**
 * Compares one graph's manifest entry with what the ONNX file really declares
 * (names, dtypes, rank, fixed sizes, symbolic dimension names). Throws ContractError
 * naming the graph and the tensor on the first mismatch.
 */
export function checkGraph(
  graph: string,
  entry: GraphEntry,
  session: Pick<InferenceSession, 'inputMetadata' | 'outputMetadata'>,
): void {
  checkSide(graph, 'input', entry.inputs, session.inputMetadata);
  checkSide(graph, 'output', entry.outputs, session.outputMetadata);
}

function checkSide(graph: string, side: string, specs: TensorSpec[], meta: Metadata): void {
  const byName = new Map(meta.map((m) => [m.name, m]));
  for (const spec of specs) {
    const m = byName.get(spec.name);
    if (!m) throw new ContractError(graph, spec.name, `${side} is missing from the ONNX graph`);
    checkTensor(graph, side, spec, m);
  }
  const declared = new Set(specs.map((s) => s.name));
  for (const m of meta) {
    if (!declared.has(m.name)) throw new ContractError(graph, m.name, `${side} is not in the manifest`);
  }
}

function checkTensor(graph: string, side: string, spec: TensorSpec, m: InferenceSession.ValueMetadata): void {
  if (!m.isTensor) throw new ContractError(graph, spec.name, `${side} is not a tensor`);
  if (m.type !== spec.dtype) {
    throw new ContractError(graph, spec.name, `${side} dtype is ${m.type}, manifest says ${spec.dtype}`);
  }
  if (m.shape.length !== spec.dims.length) {
    throw new ContractError(
      graph,
      spec.name,
      `${side} rank is ${m.shape.length} [${m.shape.join(',')}], manifest says ${spec.dims.length} [${spec.dims.join(',')}]`,
    );
  }
  spec.dims.forEach((want, i) => {
    const got = m.shape[i];
    if (!sameDim(want, got)) {
      throw new ContractError(graph, spec.name, `${side} dim ${i} is ${String(got)}, manifest says ${want}`);
    }
  });
}

function sameDim(want: Dim, got: Dim | undefined): boolean {
  if (typeof want === 'number') return got === want;
  return typeof got === 'string' && got === want;
}
