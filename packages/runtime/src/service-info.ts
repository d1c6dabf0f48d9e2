// The ServiceInfo every service answers Info with: who it is, what model set
// it serves, on which device, and the limits it enforces.
import os from 'node:os';
import { type ModelInfo, ModelInfoSchema, type ServiceInfo, ServiceInfoSchema } from '@acestep/proto/common';
import { create } from '@bufbuild/protobuf';
import type { ServiceConfig } from './config.ts';

/** Version of this serving stack (bumped with releases). */
export const STACK_VERSION = '0.1.0';

const startedAt = Date.now();

export interface ServiceInfoInput {
  service: string;
  config: ServiceConfig;
  model?: ModelInfo;
  capabilities?: Record<string, string>;
  executionProviders?: string[];
}

function providersOf(device: ServiceConfig['device']): string[] {
  if (device === 'cpu') return ['cpu'];
  return [device.startsWith('webgpu') ? 'webgpu' : 'cuda', 'cpu'];
}

export function buildServiceInfo(input: ServiceInfoInput): ServiceInfo {
  const { config } = input;
  return create(ServiceInfoSchema, {
    service: input.service,
    version: STACK_VERSION,
    instance: `${os.hostname()}/${process.pid}`,
    model: input.model ?? create(ModelInfoSchema, { directory: config.modelDir, loaded: false }),
    device: {
      device: config.device,
      executionProviders: input.executionProviders ?? providersOf(config.device),
      intraOpThreads: config.threads,
    },
    limits: {
      maxBatchSize: config.maxBatch,
      maxQueueDepth: config.maxQueue,
      maxTensorBytes: BigInt(config.maxTensorBytes),
    },
    capabilities: input.capabilities ?? {},
    startedAtUnixMs: BigInt(startedAt),
  });
}
