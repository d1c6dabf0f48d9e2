// The lm service's gRPC layer: thin handlers over the lm core.

import { InfoResponseSchema, LmService } from '@acestep/proto/lm';
import { buildServiceInfo, type ServiceContext, type ServiceSpec } from '@acestep/runtime';
import { create } from '@bufbuild/protobuf';
import { Code, ConnectError, type ServiceImpl } from '@connectrpc/connect';

/** What clients should know about this stage, reported by Info. */
const CAPABILITIES: Record<string, string> = {
  'lm.max_sequences_per_request': 'max_batch (the gateway splits batches by lm_batch_chunk_size)',
};

export function lmService(context: ServiceContext): Partial<ServiceImpl<typeof LmService>> {
  return {
    info() {
      return create(InfoResponseSchema, {
        info: buildServiceInfo({ service: 'lm', config: context.config, capabilities: CAPABILITIES }),
      });
    },
    warmup() {
      throw new ConnectError(
        `lm: no model set is loaded from ${context.config.modelDir}; build one with scripts/setup.sh`,
        Code.FailedPrecondition,
      );
    },
  };
}

export const lmSpec: ServiceSpec = {
  name: 'lm',
  grpcServices: [LmService.typeName],
  routes: (router, context) => router.service(LmService, lmService(context)),
};
