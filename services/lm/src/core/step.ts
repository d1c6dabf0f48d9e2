/**
 * One decode step on the host: CFG mix → FSM mask → repetition penalty → temperature → top-k →
 * top-p → seeded draw → FSM advance (docs/official-behaviour.md "Constrained decoding"; the mask goes after CFG).
 */
import { PARAMETERS } from '@acestep/acestep';
import { advance, type FsmState, forcedToken, maskLogits } from './fsm/state.ts';
import type { Rng } from './rng.ts';
import {
  ALL_CANDIDATES,
  applyRepetitionPenalty,
  type Candidates,
  mixCfg,
  type SamplingParams,
  type TokenSampler,
} from './sampling.ts';

export interface DecodeParams extends SamplingParams {
  /** CFG is on iff an unconditional row is given and cfgScale > 1 (official rule). */
  readonly cfgScale: number;
  /** 1 = off (the official fast backend drops it anyway). */
  readonly repetitionPenalty: number;
}

/** The public defaults of the lm_* fields (the parameter table of @acestep/acestep); no repetition penalty. */
export const DEFAULT_DECODE_PARAMS: DecodeParams = {
  temperature: PARAMETERS.lm_temperature.default,
  topK: PARAMETERS.lm_top_k.default,
  topP: PARAMETERS.lm_top_p.default,
  cfgScale: PARAMETERS.lm_cfg_scale.default,
  repetitionPenalty: 1.0,
};

export interface StepInput {
  /** Conditional logits row over the full vocabulary; mixed and masked in place. */
  readonly cond: Float32Array;
  /** Unconditional row for CFG. */
  readonly uncond?: Float32Array;
  readonly fsm?: FsmState;
  readonly sampler: TokenSampler;
  readonly rng: Rng;
  readonly params: DecodeParams;
  /** Prompt and generated ids, for the repetition penalty. */
  readonly previous?: Iterable<number>;
}

/** Returns the chosen token id; the FSM (if any) has already advanced past it. */
export function selectToken(input: StepInput): number {
  const { cond, uncond, fsm, params } = input;
  const forced = fsm ? forcedToken(fsm) : undefined;
  if (forced !== undefined) {
    // No choice to make: skip CFG and sampling (and draw no random number).
    advance(fsm!, forced);
    return forced;
  }
  if (uncond && params.cfgScale > 1) {
    if (fsm?.stage === 'CODES_GENERATION') {
      // Only the code range and EOS survive the mask: mix just those.
      const t = fsm.tables;
      mixCfg(cond, uncond, params.cfgScale, cond, t.codeLo, t.codeHi);
      mixCfg(cond, uncond, params.cfgScale, cond, t.eosId, t.eosId + 1);
    } else {
      mixCfg(cond, uncond, params.cfgScale, cond);
    }
  }
  const candidates: Candidates = fsm ? maskLogits(fsm, cond) : ALL_CANDIDATES;
  if (params.repetitionPenalty !== 1 && input.previous) {
    applyRepetitionPenalty(cond, input.previous, params.repetitionPenalty);
  }
  const token = input.sampler.sample(cond, params, input.rng, candidates);
  if (fsm) advance(fsm, token);
  return token;
}
