// What the gateway validates requests against, read from the stages' own Info
// instead of assumed: the DiT's variant, batch limit and default steps (from
// its model set's manifest), and how many sequences one LM call may take (the
// LM's --max-batch).
import { DIT_VARIANTS, type DitVariant, DURATION_MAX_SECONDS, MAX_BATCH } from '@acestep/acestep';
import type { ServiceInfo } from '@acestep/proto/common';
import type { Deployment } from './types.ts';

export interface TextLimits {
  maxCaptionChars: number;
  maxLyricsChars: number;
}

/** A positive number from Info, or undefined (proto3 reports "unset" as 0 or ""). */
function positive(value: number | string | undefined): number | undefined {
  const n = Number(value);
  return Number.isFinite(n) && n > 0 ? n : undefined;
}

/** The DiT's family (turbo, base, sft); its Info names it next to the official variant name. */
function ditVariantOf(dit: ServiceInfo | undefined): DitVariant {
  const family = dit?.model?.constants?.family ?? dit?.model?.variant;
  return DIT_VARIANTS.find((v) => v === family) ?? 'turbo';
}

/**
 * The deployment the stages describe. `lm` is undefined when the LM did not
 * answer: the gateway then knows no LM limit and leaves chunks as asked.
 */
export function deploymentFromInfo(
  dit: ServiceInfo | undefined,
  lm: ServiceInfo | undefined,
  text: TextLimits,
): Deployment {
  const defaultSteps = positive(dit?.model?.constants?.default_steps);
  const lmMaxBatch = positive(lm?.limits?.maxBatchSize);
  return {
    ditVariant: ditVariantOf(dit),
    maxBatch: Math.min(MAX_BATCH, positive(dit?.limits?.maxBatchSize) ?? MAX_BATCH),
    limits: { ...text, maxDurationSeconds: DURATION_MAX_SECONDS },
    ...(defaultSteps !== undefined ? { defaultInferenceSteps: defaultSteps } : {}),
    ...(lmMaxBatch !== undefined ? { lmMaxBatch } : {}),
  };
}
