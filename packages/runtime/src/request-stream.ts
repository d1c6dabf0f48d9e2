// Reads the request side of a stage's streaming call: one spec message first,
// then tensors as chunk streams. Everything wrong with the stream's shape is an
// INVALID_ARGUMENT naming the part.
import type { TensorChunk } from '@acestep/proto/common';
import { Code, ConnectError } from '@connectrpc/connect';
import type { Tensor } from './tensor.ts';
import { TensorAssembler, type TensorLimits } from './tensor-stream.ts';

/** A request message is either the spec or a tensor chunk (a proto oneof). */
export type SpecOrChunk<S> =
  | { case: 'spec'; value: S }
  | { case: 'chunk'; value: TensorChunk }
  | { case: undefined };

export interface SpecAndTensors<S> {
  spec: S;
  tensors: Tensor[];
}

export async function readSpecAndTensors<R, S>(
  requests: AsyncIterable<R>,
  part: (request: R) => SpecOrChunk<S>,
  limits: TensorLimits & { maxTensors: number },
): Promise<SpecAndTensors<S>> {
  let spec: S | undefined;
  const tensors: Tensor[] = [];
  const assembler = new TensorAssembler(limits);
  for await (const request of requests) {
    const p = part(request);
    if (p.case === 'spec') {
      if (spec !== undefined)
        throw new ConnectError('spec sent twice: send it once, first', Code.InvalidArgument);
      spec = p.value;
    } else if (p.case === 'chunk') {
      if (spec === undefined)
        throw new ConnectError('tensor chunk before the spec: send the spec first', Code.InvalidArgument);
      const tensor = assembler.push(p.value);
      if (!tensor) continue;
      if (tensors.length === limits.maxTensors) {
        throw new ConnectError(`more than ${limits.maxTensors} tensors in one request`, Code.InvalidArgument);
      }
      tensors.push(tensor);
    } else {
      throw new ConnectError('empty request message: set the spec or a tensor chunk', Code.InvalidArgument);
    }
  }
  assembler.finish();
  if (spec === undefined) throw new ConnectError('request stream ended without a spec', Code.InvalidArgument);
  return { spec, tensors };
}
