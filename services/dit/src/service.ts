// The dit service's gRPC layer: thin handlers over the dit core.

import { DitService, InfoResponseSchema } from '@acestep/proto/dit';
import { buildServiceInfo, type ServiceContext, type ServiceSpec } from '@acestep/runtime';
import { create } from '@bufbuild/protobuf';
import { Code, ConnectError, type ServiceImpl } from '@connectrpc/connect';

/** What clients should know about this stage, reported by Info. */
const CAPABILITIES: Record<string, string> = {
  tasks: 'text2music,cover,repaint,lego,extract,complete',
  guidance: 'turbo models ignore guidance_scale, use_adg and cfg_interval (as the official turbo model does)',
};

export function ditService(context: ServiceContext): Partial<ServiceImpl<typeof DitService>> {
  return {
    info() {
      return create(InfoResponseSchema, {
        info: buildServiceInfo({ service: 'dit', config: context.config, capabilities: CAPABILITIES }),
      });
    },
    warmup() {
      throw new ConnectError(
        `dit: no model set is loaded from ${context.config.modelDir}; build one with scripts/setup.sh`,
        Code.FailedPrecondition,
      );
    },
  };
}

export const ditSpec: ServiceSpec = {
  name: 'dit',
  grpcServices: [DitService.typeName],
  routes: (router, context) => router.service(DitService, ditService(context)),
};
