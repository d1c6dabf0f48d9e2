// The ServiceInfo every service answers Info with: who it is, what model set
// it serves, on which device, and the limits it enforces. It is public (any
// caller of Info): no host name, PID or file path. Operators get those, with
// the same instance id, from the metrics port's /info (operatorInfo).
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import { type ModelInfo, ModelInfoSchema, type ServiceInfo, ServiceInfoSchema } from '@acestep/proto/common';
import { clone, create } from '@bufbuild/protobuf';
import type { ServiceConfig } from './config.ts';

/** Version of this serving stack (bumped with releases). */
export const STACK_VERSION = '0.1.0';

const startedAt = Date.now();
/** This process's public id: random, so it says nothing about the host. */
export const INSTANCE_ID = randomBytes(6).toString('hex');

/** What operators see on the metrics port (not public): where this instance runs and what it loads. */
export function operatorInfo(service: string, config: ServiceConfig) {
  // The gateway's stage addresses (its *Target options).
  const targets = Object.fromEntries(Object.entries(config).filter(([key]) => key.endsWith('Target')));
  return {
    service,
    instance: INSTANCE_ID,
    host: os.hostname(),
    pid: process.pid,
    model_dir: config.modelDir,
    ...(Object.keys(targets).length ? { targets } : {}),
  };
}

/** The model info without its directory (a path of the server's file system). */
function publicModel(model: ModelInfo | undefined): ModelInfo {
  const out = model ? clone(ModelInfoSchema, model) : create(ModelInfoSchema, { loaded: false });
  out.directory = '';
  return out;
}

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
    instance: INSTANCE_ID,
    model: publicModel(input.model),
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
