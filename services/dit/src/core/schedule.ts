/**
 * Timestep schedules (docs/official-behaviour.md "Schedules"). Convention: t = 1 is pure noise, t = 0 is data.
 *
 * A schedule is `timesteps` with n + 1 entries ending in 0: step i goes from timesteps[i] to
 * timesteps[i + 1]. Turbo's tables list only the 8 starting values; its last step jumps to
 * x0 = x − t·v, which is the same as an Euler step to 0, so both families share one form.
 * `renoiseTo[i]` is where the SDE update re-noises after step i: turbo uses the next schedule
 * value, base/SFT the *unshifted* linear value 1 − (i + 1)/n (an upstream quirk kept on purpose).
 */

import {
  BASE_DEFAULT_STEPS,
  TURBO_STEPS as FIXED_STEPS,
  BASE_MAX_STEPS as MAX_STEPS,
} from '@acestep/acestep';
import { checkInt, checkRange, invalid, precondition } from './errors.ts';

export const MODEL_FAMILIES = ['turbo', 'sft', 'base'] as const;
export type ModelFamily = (typeof MODEL_FAMILIES)[number];

export const TURBO_STEPS = FIXED_STEPS;
export const TURBO_SHIFTS = [1, 2, 3] as const;
export type TurboShift = (typeof TURBO_SHIFTS)[number];

/** The three fixed 8-step tables of the turbo modeling file, without the final 0. */
export const TURBO_SCHEDULES: Readonly<Record<TurboShift, readonly number[]>> = {
  1: [1.0, 0.875, 0.75, 0.625, 0.5, 0.375, 0.25, 0.125],
  2: [
    1.0, 0.9333333333333333, 0.8571428571428571, 0.7692307692307693, 0.6666666666666666, 0.5454545454545454,
    0.4, 0.2222222222222222,
  ],
  3: [1.0, 0.9545454545454546, 0.9, 0.8333333333333334, 0.75, 0.6428571428571429, 0.5, 0.3],
};

/** Union of the three tables, in the upstream order (descending); custom timesteps snap to these. */
export const TURBO_VALID_TIMESTEPS: readonly number[] = [
  1.0, 0.9545454545454546, 0.9333333333333333, 0.9, 0.875, 0.8571428571428571, 0.8333333333333334,
  0.7692307692307693, 0.75, 0.6666666666666666, 0.6428571428571429, 0.625, 0.5454545454545454, 0.5, 0.4,
  0.375, 0.3, 0.25, 0.2222222222222222, 0.125,
];

export const MAX_CUSTOM_TIMESTEPS = 20;
export const BASE_MIN_STEPS = 1;
export const BASE_MAX_STEPS = MAX_STEPS;
export const SHIFT_MIN = 1;
export const SHIFT_MAX = 5;

export interface Schedule {
  readonly family: ModelFamily;
  /** n + 1 values from the first (noisiest) t down to 0. */
  readonly timesteps: readonly number[];
  /** n values: SDE re-noise target after each step (0 after the last). */
  readonly renoiseTo: readonly number[];
  /** Number of model evaluations (steps), n. */
  readonly steps: number;
  /** Shift actually used (turbo: rounded to 1/2/3; null when custom timesteps were given). */
  readonly shift: number | null;
}

export interface ScheduleParams {
  /** Base/SFT: 1–200 (default 32). Turbo: validated to 1–8, then ignored (fixed table), as upstream. */
  steps?: number;
  /** 1–5. Turbo rounds it to the nearest of 1/2/3. Default 3 (the UI/API default). */
  shift?: number;
  /** Turbo only: custom timesteps, snapped to TURBO_VALID_TIMESTEPS. */
  timesteps?: readonly number[];
}

export const DEFAULT_SHIFT = 3;
export const DEFAULT_BASE_STEPS = BASE_DEFAULT_STEPS;

/** A model set's sampling defaults (its manifest's DiT variant). */
export interface VariantDefaults {
  defaultShift: number;
  defaultSteps: number;
  /** Turbo: shifts a request is rounded to; null = continuous (turbo-continuous: any shift 1–5). */
  shifts: readonly number[] | null;
}

/** `t' = s·t / (1 + (s − 1)·t)`; identity for s = 1 (upstream skips the formula then). */
export function shiftTimestep(t: number, shift: number): number {
  return shift === 1 ? t : (shift * t) / (1 + (shift - 1) * t);
}

/** Nearest of 1/2/3; ties go to the smaller shift (Python `min` keeps the first). */
export function roundTurboShift(shift: number): TurboShift {
  let best: TurboShift = 1;
  for (const s of TURBO_SHIFTS) if (Math.abs(s - shift) < Math.abs(best - shift)) best = s;
  return best;
}

/** Nearest valid turbo timestep; ties go to the earlier (larger) entry, as Python `min`. */
export function snapTurboTimestep(t: number): number {
  let best = TURBO_VALID_TIMESTEPS[0]!;
  for (const v of TURBO_VALID_TIMESTEPS) if (Math.abs(v - t) < Math.abs(best - t)) best = v;
  return best;
}

function fromStarts(family: ModelFamily, starts: readonly number[], shift: number | null): Schedule {
  const timesteps = [...starts, 0];
  return { family, timesteps, renoiseTo: timesteps.slice(1), steps: starts.length, shift };
}

/**
 * Turbo: the fixed table for the rounded shift, or custom timesteps (trailing zeros dropped,
 * each snapped to the nearest valid value). All-zero/empty custom timesteps fall back to the
 * shift table, as upstream. More than 20 non-zero entries is an error (upstream truncates).
 */
export function turboSchedule(params: ScheduleParams = {}, defaults?: VariantDefaults): Schedule {
  const shift = checkRange(
    'shift',
    params.shift ?? defaults?.defaultShift ?? DEFAULT_SHIFT,
    SHIFT_MIN,
    SHIFT_MAX,
  );
  if (params.steps !== undefined) checkInt('inference_steps', params.steps, 1, TURBO_STEPS);
  const custom = params.timesteps ? trimTrailingZeros(params.timesteps) : [];
  if (custom.length === 0 && defaults?.shifts === null) {
    // turbo-continuous: the same 8 steps t = 1 − i/8, shifted by the formula at any shift.
    const starts = Array.from({ length: TURBO_STEPS }, (_, i) => shiftTimestep(1 - i / TURBO_STEPS, shift));
    return fromStarts('turbo', starts, shift);
  }
  if (custom.length === 0) {
    const rounded = roundTurboShift(shift);
    return fromStarts('turbo', TURBO_SCHEDULES[rounded], rounded);
  }
  if (custom.length > MAX_CUSTOM_TIMESTEPS) {
    throw invalid('timesteps', `at most ${MAX_CUSTOM_TIMESTEPS} non-zero values, got ${custom.length}`);
  }
  custom.forEach((t, i) => {
    checkRange(`timesteps[${i}]`, t, 0, 1);
  });
  return fromStarts('turbo', custom.map(snapTurboTimestep), null);
}

function trimTrailingZeros(values: readonly number[]): number[] {
  const out = [...values];
  while (out.length > 0 && out[out.length - 1] === 0) out.pop();
  return out;
}

/** Base/SFT: `linspace(1, 0, steps + 1)` then the shift formula; SDE re-noises to 1 − (i+1)/n. */
export function baseSchedule(
  family: 'base' | 'sft',
  params: ScheduleParams = {},
  defaults?: VariantDefaults,
): Schedule {
  const steps = checkInt(
    'inference_steps',
    params.steps ?? defaults?.defaultSteps ?? DEFAULT_BASE_STEPS,
    BASE_MIN_STEPS,
    BASE_MAX_STEPS,
  );
  const shift = checkRange(
    'shift',
    params.shift ?? defaults?.defaultShift ?? DEFAULT_SHIFT,
    SHIFT_MIN,
    SHIFT_MAX,
  );
  if (params.timesteps !== undefined && params.timesteps.length > 0) {
    throw precondition('timesteps', `custom timesteps are only supported by turbo models, not ${family}`);
  }
  const timesteps: number[] = [];
  // (n − i)/n is the exact linspace value rounded once; torch's fp32 linspace may differ by 1 ulp.
  for (let i = 0; i <= steps; i++) timesteps.push(shiftTimestep((steps - i) / steps, shift));
  const renoiseTo: number[] = [];
  for (let i = 0; i < steps; i++) renoiseTo.push(1 - (i + 1) / steps);
  return { family, timesteps, renoiseTo, steps, shift };
}

/** `defaults`: the model set's variant (turbo-shift1 defaults to shift 1, turbo-continuous does not round). */
export function buildSchedule(
  family: ModelFamily,
  params: ScheduleParams = {},
  defaults?: VariantDefaults,
): Schedule {
  return family === 'turbo' ? turboSchedule(params, defaults) : baseSchedule(family, params, defaults);
}
