// The gateway's three stages, one load-balanced channel each. Every call goes through
// `Stage.call` (@acestep/runtime stage-call.ts): attempts (--stage-attempts), deadline
// (--stage-timeout-ms), request and job ids, and errors that name the stage, not its address.

import type { ServiceInfo, WarmupReport } from '@acestep/proto/common';
import { DitService } from '@acestep/proto/dit';
import { LmService } from '@acestep/proto/lm';
import { VaeService } from '@acestep/proto/vae';
import { type CallSettings, connectStage, type Logger, type Stage } from '@acestep/runtime';
import type { GatewayConfig } from '../config.ts';

export type StageName = 'lm' | 'dit' | 'vae';

type StageConfig = Pick<
  GatewayConfig,
  'lmTarget' | 'ditTarget' | 'vaeTarget' | 'stageAttempts' | 'stageTimeoutMs'
>;

export function connectStages(config: StageConfig, logger?: Logger): Stages {
  const common = {
    attempts: config.stageAttempts,
    timeoutMs: config.stageTimeoutMs,
    ...(logger ? { logger } : {}),
  };
  return {
    lm: connectStage(LmService, { name: 'lm', label: 'LM', target: config.lmTarget, ...common }),
    dit: connectStage(DitService, { name: 'dit', label: 'DiT', target: config.ditTarget, ...common }),
    vae: connectStage(VaeService, { name: 'vae', label: 'VAE', target: config.vaeTarget, ...common }),
  };
}

export interface Stages {
  lm: Stage<typeof LmService>;
  dit: Stage<typeof DitService>;
  vae: Stage<typeof VaeService>;
}

export function closeStages(stages: Stages): void {
  for (const stage of Object.values(stages)) stage.close();
}

/** The Info of one stage: every stage serves Info with the common ServiceInfo inside. */
export async function stageInfo(
  stages: Stages,
  name: StageName,
  settings: CallSettings,
): Promise<ServiceInfo | undefined> {
  switch (name) {
    case 'lm':
      return (await stages.lm.call((c, call) => c.info({}, call), settings)).info;
    case 'dit':
      return (await stages.dit.call((c, call) => c.info({}, call), settings)).info;
    case 'vae':
      return (await stages.vae.call((c, call) => c.info({}, call), settings)).info;
  }
}

/** Warm-up of one stage: every stage serves Warmup with the common WarmupReport inside. */
export async function stageWarmup(
  stages: Stages,
  name: StageName,
  settings: CallSettings,
): Promise<WarmupReport | undefined> {
  switch (name) {
    case 'lm':
      return (await stages.lm.call((c, call) => c.warmup({}, call), settings)).report;
    case 'dit':
      return (await stages.dit.call((c, call) => c.warmup({}, call), settings)).report;
    case 'vae':
      return (await stages.vae.call((c, call) => c.warmup({}, call), settings)).report;
  }
}
