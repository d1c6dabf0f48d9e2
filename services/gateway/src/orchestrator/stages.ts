// The gateway's clients of the three stages, one load-balanced channel each.
import { DitService } from '@acestep/proto/dit';
import { LmService } from '@acestep/proto/lm';
import { VaeService } from '@acestep/proto/vae';
import { createStageClient } from '@acestep/runtime';
import type { GatewayConfig } from '../config.ts';

export type StageName = 'lm' | 'dit' | 'vae';

export function connectStages(config: GatewayConfig) {
  return {
    lm: createStageClient(LmService, { target: config.lmTarget }),
    dit: createStageClient(DitService, { target: config.ditTarget }),
    vae: createStageClient(VaeService, { target: config.vaeTarget }),
  };
}

export type Stages = ReturnType<typeof connectStages>;

export function closeStages(stages: Stages): void {
  for (const client of Object.values(stages)) client.close();
}
