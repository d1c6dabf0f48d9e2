// acestep.diag.v1: echoes tensors back bit-exact after reassembling and
// validating them, so the whole tensor-stream path (chunking, limits,
// back-pressure, flow control) can be checked and measured between any two
// processes without a model.

import { type DiagnosticsService, EchoTensorsResponseSchema } from '@acestep/proto/diag';
import { create } from '@bufbuild/protobuf';
import type { ServiceImpl } from '@connectrpc/connect';
import type { ServiceContext } from './server.ts';
import { chunksToTensors, tensorToChunks } from './tensor-stream.ts';

export function diagnosticsService(
  context: Pick<ServiceContext, 'config' | 'metrics'>,
): ServiceImpl<typeof DiagnosticsService> {
  const { tensorBytes } = context.metrics;
  return {
    async *echoTensors(requests) {
      const chunks = (async function* () {
        for await (const req of requests) {
          if (req.chunk) {
            tensorBytes.inc({ direction: 'in' }, req.chunk.data.byteLength);
            yield req.chunk;
          }
        }
      })();
      for await (const tensor of chunksToTensors(chunks, { maxTensorBytes: context.config.maxTensorBytes })) {
        for (const chunk of tensorToChunks(tensor)) {
          tensorBytes.inc({ direction: 'out' }, chunk.data.byteLength);
          yield create(EchoTensorsResponseSchema, { chunk });
        }
      }
    },
  };
}
