/**
 * The flow-matching denoising loop (docs/official-behaviour.md "Schedules"). The DiT itself is injected as `predictVelocity`,
 * so this module knows nothing of onnxruntime; tests drive it with plain functions.
 *
 * Latents are time-major [B, T, 64] Float32Arrays (x_t, v and x0 are [B, T, 64]).
 * Convention: x_t = t·noise + (1 − t)·x0, the model predicts v = noise − x0, so x0 = x_t − t·v
 * and an Euler step is x ← x − v·(t − t_next).
 *
 * Arithmetic mimics PyTorch fp32: timesteps are rounded to float32 before use (they are fp32
 * tensors upstream) and every product/sum is rounded to float32 where PyTorch stores one.
 */

import { PARAMETERS } from '@acestep/acestep';
import { batchNoise } from '@acestep/rng';
import { checkParam, checkRange, DitNumericError, invalid } from './errors.ts';
import {
  adgGuide,
  apgGuide,
  cfgIntervalActive,
  cfgMix,
  createMomentumBuffer,
  type GuidanceMethod,
  type LatentShape,
  type MomentumBuffer,
} from './guidance.ts';
import { LATENT_CHANNELS } from './latents.ts';
import { crossfadeBoundaries, injectSource, type RepaintItem } from './repaint.ts';
import type { ModelFamily, Schedule } from './schedule.ts';

export const INFER_METHODS = ['ode', 'sde'] as const;
export type InferMethod = (typeof INFER_METHODS)[number];

export interface GuidanceConfig {
  /** > 1 (guidance is off otherwise). */
  scale: number;
  method: GuidanceMethod;
  /** Guidance applies while intervalStart ≤ t ≤ intervalEnd (t on the shifted scale, 1 = noise). */
  intervalStart: number;
  intervalEnd: number;
}

export interface VelocityRequest<C> {
  /** [rows, frames, 64]. Under CFG rows = 2·batch and the two halves are the same x_t. */
  xt: Float32Array;
  /** Current timestep (float32 value), the same for every row; pass it as both t and r. */
  t: number;
  rows: number;
  frames: number;
  conditioning: C;
  /** True under CFG: rows [batch, 2·batch) must use the null condition embedding instead of `conditioning`. */
  withNullCondition: boolean;
  /** 0-based step index and total steps, for logging; the model must not depend on them. */
  step: number;
  steps: number;
}

/** The DiT: returns v [rows, frames, 64]. */
export type PredictVelocity<C> = (request: VelocityRequest<C>) => Promise<Float32Array>;

export interface StepProgress {
  /** Steps completed so far, 1…steps. */
  step: number;
  steps: number;
  /** Timestep the finished step started from. */
  t: number;
}

export interface SampleOptions<C> {
  schedule: Schedule;
  batch: number;
  frames: number;
  /** One seed per batch item (see rng.ts); used for the initial noise and SDE re-noising. */
  seeds: readonly bigint[];
  /** [B, T, 64] initial noise overriding the seeded one (parity tests inject PyTorch's). */
  initialNoise?: Float32Array;
  method?: InferMethod;
  /** Ignored for turbo schedules (CFG-free models) and when scale ≤ 1. */
  guidance?: GuidanceConfig | null;
  conditioning: C;
  /** Text2music-style conditioning used from step floor(n·audioCoverStrength) on (docs/official-behaviour.md "Tasks", cover strength). */
  nonCoverConditioning?: C;
  /** In [0, 1]; 1 (default) never switches. */
  audioCoverStrength?: number;
  /** Per item: repaint/lego source re-injection and boundary crossfade (core/repaint.ts). */
  repaint?: readonly (RepaintItem | null)[];
  predictVelocity: PredictVelocity<C>;
  onStep?: (progress: StepProgress) => void;
  /** Checked before every step and after the last: an abort stops at the next step boundary. */
  signal?: AbortSignal;
}

export interface SampleResult {
  /** x0, [B, T, 64]. */
  latents: Float32Array;
  steps: number;
  /** Step index where the non-cover conditioning took over, or null. */
  coverSwitchStep: number | null;
  guided: boolean;
}

/** Step index from which the non-cover conditioning is used: int(n · strength). */
export function coverSwitchStep(steps: number, audioCoverStrength: number): number | null {
  const switchAt = Math.floor(steps * audioCoverStrength);
  return switchAt < steps ? switchAt : null;
}

export async function sample<C>(options: SampleOptions<C>): Promise<SampleResult> {
  const { schedule, batch, frames, signal } = options;
  const shape: LatentShape = { batch, frames, channels: LATENT_CHANNELS };
  const itemCount = batch * frames * LATENT_CHANNELS;
  const guidance = activeGuidance(schedule.family, options.guidance);
  const switchAt = coverSwitchStep(schedule.steps, options.audioCoverStrength ?? 1);
  if (switchAt !== null && options.nonCoverConditioning === undefined) {
    throw new Error('sample: audioCoverStrength < 1 needs nonCoverConditioning');
  }
  if (options.seeds.length !== batch)
    throw new Error(`sample: ${batch} items but ${options.seeds.length} seeds`);
  let x = options.initialNoise
    ? Float32Array.from(options.initialNoise)
    : batchNoise(options.seeds, frames, LATENT_CHANNELS, 0);
  if (x.length !== itemCount)
    throw new Error(`sample: initial noise has ${x.length} values, want ${itemCount}`);
  const repaint = options.repaint?.some((r) => r !== null) ? options.repaint : undefined;
  if (repaint && repaint.length !== batch)
    throw new Error(`sample: ${batch} items but ${repaint.length} repaint entries`);
  // Re-injection noises the source with the initial noise (upstream's prepare_noise output).
  const noise = repaint ? Float32Array.from(x) : undefined;
  const momentum = createMomentumBuffer();
  const n = schedule.steps;
  for (let i = 0; i < n; i++) {
    signal?.throwIfAborted();
    const t = Math.fround(schedule.timesteps[i]!);
    const conditioning =
      switchAt !== null && i >= switchAt ? (options.nonCoverConditioning as C) : options.conditioning;
    const raw = await options.predictVelocity({
      xt: guidance ? doubleBatch(x) : x,
      t,
      rows: guidance ? 2 * batch : batch,
      frames,
      conditioning,
      withNullCondition: guidance !== null,
      step: i,
      steps: n,
    });
    const expected = guidance ? 2 * itemCount : itemCount;
    if (raw.length !== expected)
      throw new Error(`predictVelocity returned ${raw.length} values, want ${expected}`);
    const v = guidance ? guide(raw, x, t, guidance, shape, momentum) : raw;
    x = i === n - 1 ? eulerStep(x, v, t, 0) : update(options, x, v, t, i);
    if (repaint && noise) {
      // The time the step ended at: SDE re-noise target, else the next schedule value (0 last).
      const tAfter =
        (options.method ?? 'ode') === 'sde' ? schedule.renoiseTo[i]! : schedule.timesteps[i + 1]!;
      injectSource(x, noise, repaint, frames, i, n, tAfter);
    }
    options.onStep?.({ step: i + 1, steps: n, t });
  }
  signal?.throwIfAborted();
  if (repaint) crossfadeBoundaries(x, repaint, frames);
  checkLatents(x);
  return { latents: x, steps: n, coverSwitchStep: switchAt, guided: guidance !== null };
}

function activeGuidance(
  family: ModelFamily,
  guidance: GuidanceConfig | null | undefined,
): GuidanceConfig | null {
  if (family === 'turbo' || !guidance || !(guidance.scale > 1)) return null;
  return guidance;
}

function doubleBatch(x: Float32Array): Float32Array {
  const out = new Float32Array(2 * x.length);
  out.set(x, 0);
  out.set(x, x.length);
  return out;
}

function guide(
  raw: Float32Array,
  x: Float32Array,
  t: number,
  guidance: GuidanceConfig,
  shape: LatentShape,
  momentum: MomentumBuffer,
): Float32Array {
  const cond = raw.subarray(0, x.length);
  const uncond = raw.subarray(x.length);
  if (!cfgIntervalActive(t, guidance.intervalStart, guidance.intervalEnd)) return Float32Array.from(cond);
  switch (guidance.method) {
    case 'apg':
      return apgGuide(cond, uncond, guidance.scale, shape, momentum);
    case 'adg':
      return adgGuide(x, cond, uncond, t, guidance.scale, shape);
    case 'cfg':
      return cfgMix(cond, uncond, guidance.scale);
  }
}

/** x − v·(t − tNext); with tNext = 0 this is the x0 estimate x − v·t. */
function eulerStep(x: Float32Array, v: Float32Array, t: number, tNext: number): Float32Array {
  const dt = Math.fround(t - Math.fround(tNext));
  const out = new Float32Array(x.length);
  for (let i = 0; i < x.length; i++) out[i] = x[i]! - Math.fround(v[i]! * dt);
  return out;
}

function update<C>(
  options: SampleOptions<C>,
  x: Float32Array,
  v: Float32Array,
  t: number,
  i: number,
): Float32Array {
  const { schedule } = options;
  if ((options.method ?? 'ode') === 'ode') return eulerStep(x, v, t, schedule.timesteps[i + 1]!);
  // SDE: predict x0, then re-noise to renoiseTo[i] with fresh seeded noise (stream i + 1).
  const x0 = eulerStep(x, v, t, 0);
  const r = Math.fround(schedule.renoiseTo[i]!);
  const keep = Math.fround(1 - r);
  const eps = batchNoise(options.seeds, options.frames, LATENT_CHANNELS, i + 1);
  const out = new Float32Array(x.length);
  for (let k = 0; k < x.length; k++) out[k] = Math.fround(r * eps[k]!) + Math.fround(keep * x0[k]!);
  return out;
}

/** Upstream refuses NaN/Inf or all-zero latents before decoding (docs/official-behaviour.md "Schedules"). */
export function checkLatents(latents: Float32Array): void {
  let nonZero = false;
  for (let i = 0; i < latents.length; i++) {
    const value = latents[i]!;
    if (!Number.isFinite(value)) throw new DitNumericError(`latents contain ${value} at index ${i}`);
    if (value !== 0) nonZero = true;
  }
  if (!nonZero) throw new DitNumericError('latents are all zero');
}

export interface GuidanceParams {
  guidanceScale?: number;
  useAdg?: boolean;
  cfgIntervalStart?: number;
  cfgIntervalEnd?: number;
}

export const GUIDANCE_SCALE_MAX = PARAMETERS.guidance_scale.max;
export const DEFAULT_GUIDANCE_SCALE = PARAMETERS.guidance_scale.default;

/**
 * Request fields → guidance (docs/official-behaviour.md "Guidance (base and SFT only)"): scale in [0, 15] (≤ 1 = off; default 7), APG unless
 * use_adg, interval within [0, 1] with start ≤ end. Turbo accepts and ignores all of them.
 */
export function resolveGuidance(family: ModelFamily, params: GuidanceParams): GuidanceConfig | null {
  // The stage also takes 0 ≤ scale ≤ 1 as "off"; the public API's range starts at 1.
  const scale = checkRange(
    'guidance_scale',
    params.guidanceScale ?? DEFAULT_GUIDANCE_SCALE,
    0,
    GUIDANCE_SCALE_MAX,
  );
  const intervalStart = checkParam('cfg_interval_start', params.cfgIntervalStart);
  const intervalEnd = checkParam('cfg_interval_end', params.cfgIntervalEnd);
  if (intervalStart > intervalEnd) {
    throw invalid('cfg_interval_start', `must be ≤ cfg_interval_end (${intervalEnd}), got ${intervalStart}`);
  }
  if (family === 'turbo' || scale <= 1) return null;
  return { scale, method: params.useAdg ? 'adg' : 'apg', intervalStart, intervalEnd };
}

/** audio_cover_strength, defaulted and bounded by the parameter table like every other field. */
export function checkAudioCoverStrength(value: number | undefined): number {
  return checkParam('audio_cover_strength', value);
}

export function checkInferMethod(value: string | undefined): InferMethod {
  const method = value ?? 'ode';
  if (!(INFER_METHODS as readonly string[]).includes(method)) {
    throw invalid(
      'infer_method',
      `must be one of ${INFER_METHODS.join(', ')}, got ${JSON.stringify(method)}`,
    );
  }
  return method as InferMethod;
}
