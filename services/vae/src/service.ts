// The vae service's gRPC layer: thin handlers over the vae core.

import { InfoResponseSchema, VaeService } from '@acestep/proto/vae';
import { buildServiceInfo, type ServiceContext, type ServiceSpec } from '@acestep/runtime';
import { create } from '@bufbuild/protobuf';
import { Code, ConnectError, type ServiceImpl } from '@connectrpc/connect';

/** What clients should know about this stage, reported by Info. */
const CAPABILITIES: Record<string, string> = {
  'audio.sample_rate': '48000',
  'audio.channels': '2',
  'vae.hop_length': '1920',
};

export function vaeService(context: ServiceContext): Partial<ServiceImpl<typeof VaeService>> {
  return {
    info() {
      return create(InfoResponseSchema, {
        info: buildServiceInfo({ service: 'vae', config: context.config, capabilities: CAPABILITIES }),
      });
    },
    warmup() {
      throw new ConnectError(
        `vae: no model set is loaded from ${context.config.modelDir}; build one with scripts/setup.sh`,
        Code.FailedPrecondition,
      );
    },
  };
}

export const vaeSpec: ServiceSpec = {
  name: 'vae',
  grpcServices: [VaeService.typeName],
  routes: (router, context) => router.service(VaeService, vaeService(context)),
};
