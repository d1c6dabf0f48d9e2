// The gateway's gRPC layer (public acestep.v1 API). Served by Connect, so the
// same port speaks gRPC, gRPC-Web and Connect/JSON.

import type { ServiceInfo } from '@acestep/proto/common';
import { GatewayService, InfoResponseSchema, WarmupResponseSchema } from '@acestep/proto/gateway';
import { buildServiceInfo, type ServiceContext, type ServiceSpec } from '@acestep/runtime';
import { create } from '@bufbuild/protobuf';
import { Code, ConnectError, type ServiceImpl } from '@connectrpc/connect';
import type { GatewayConfig } from './config.ts';
import { closeStages, connectStages, type StageName, type Stages } from './stages.ts';

/** Deadline of Info/Warmup calls to a stage. */
const INFO_TIMEOUT_MS = 5_000;
const WARMUP_TIMEOUT_MS = 300_000;

export function gatewayService(
  context: ServiceContext<GatewayConfig>,
  stages: Stages,
): Partial<ServiceImpl<typeof GatewayService>> {
  return {
    async info(_req, ctx) {
      const capabilities: Record<string, string> = {};
      const answers = await Promise.allSettled(
        (Object.keys(stages) as StageName[]).map(async (name) => {
          const res = await stages[name].info({}, { signal: ctx.signal, timeoutMs: INFO_TIMEOUT_MS });
          return [name, res.info] as const;
        }),
      );
      const stageInfos: Record<string, ServiceInfo> = {};
      for (const [i, answer] of answers.entries()) {
        const name = Object.keys(stages)[i]!;
        if (answer.status === 'fulfilled' && answer.value[1]) stageInfos[name] = answer.value[1];
        else
          capabilities[`stage.${name}`] =
            `unavailable: ${ConnectError.from((answer as PromiseRejectedResult).reason).message}`;
      }
      const { config } = context;
      capabilities['stage.targets'] = `lm=${config.lmTarget} dit=${config.ditTarget} vae=${config.vaeTarget}`;
      return create(InfoResponseSchema, {
        gateway: buildServiceInfo({ service: 'gateway', config, capabilities }),
        stages: stageInfos,
      });
    },
    async warmup(_req, ctx) {
      const reports = await Promise.all(
        (Object.keys(stages) as StageName[]).map(async (name) => {
          try {
            const res = await stages[name].warmup({}, { signal: ctx.signal, timeoutMs: WARMUP_TIMEOUT_MS });
            return [name, res.report] as const;
          } catch (error) {
            const e = ConnectError.from(error);
            throw new ConnectError(`warm-up of the ${name} stage failed: ${e.rawMessage}`, e.code);
          }
        }),
      );
      return create(WarmupResponseSchema, {
        reports: Object.fromEntries(reports.flatMap(([name, report]) => (report ? [[name, report]] : []))),
      });
    },
  };
}

export function gatewaySpec(): ServiceSpec<GatewayConfig> {
  let stages: Stages | undefined;
  return {
    name: 'gateway',
    grpcServices: [GatewayService.typeName],
    start: async (context) => {
      stages = connectStages(context.config);
    },
    routes: (router, context) => {
      if (!stages) throw new ConnectError('gateway started without stage clients', Code.Internal);
      router.service(GatewayService, gatewayService(context, stages));
    },
    stop: async () => {
      if (stages) closeStages(stages);
    },
  };
}
