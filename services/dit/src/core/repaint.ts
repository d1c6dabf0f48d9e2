/**
 * The later official repaint refinements (they apply to repaint and lego items alike):
 *
 * 1. Source re-injection: after each of the first round(ratio · n) steps, every frame outside the
 *    span is replaced by the source noised to the step's target time,
 *    `t·noise + (1 − t)·source`, with the item's initial noise (docs/model-contract.md).
 * 2. Boundary crossfade: after sampling, `m·x + (1 − m)·source` with a soft mask m that is 1 in
 *    the span, 0 far from it and ramps over `crossfadeFrames` frames on each side
 *    (`linspace(0, 1, n + 2)[1:-1]` rising before the span, falling after it).
 *
 * Arithmetic follows PyTorch fp32 (a Python-float scalar times an fp32 tensor computes in fp32).
 */

import { PARAMETERS } from '@acestep/acestep';
import { checkParam } from './errors.ts';
import { LATENT_CHANNELS } from './latents.ts';

export const DEFAULT_REPAINT_INJECTION_RATIO = PARAMETERS.repaint_injection_ratio.default;
export const DEFAULT_REPAINT_CROSSFADE_FRAMES = PARAMETERS.repaint_crossfade_frames.default;
/** Our bound on the crossfade (10 s of latents); the official code has none. */
export const MAX_REPAINT_CROSSFADE_FRAMES = PARAMETERS.repaint_crossfade_frames.max;

/** One batch item's repaint guide; items without one are generated freely. */
export interface RepaintItem {
  /** [T]: 1 = generate (inside the span), 0 = keep the source. */
  mask: Uint8Array;
  /** Clean source latents [T, 64] (not the silenced context). */
  source: Float32Array;
  injectionRatio: number;
  crossfadeFrames: number;
}

export function checkInjectionRatio(value: number | undefined): number {
  return checkParam('repaint_injection_ratio', value);
}

export function checkCrossfadeFrames(value: number | undefined): number {
  return checkParam('repaint_crossfade_frames', value);
}

/** Python's round(): half to even. */
export function roundHalfEven(x: number): number {
  const floor = Math.floor(x);
  const diff = x - floor;
  if (diff > 0.5) return floor + 1;
  if (diff < 0.5) return floor;
  return floor % 2 === 0 ? floor : floor + 1;
}

/** Steps (from the first) after which the source is re-injected: round(ratio · n). */
export function injectionSteps(steps: number, ratio: number): number {
  return roundHalfEven(ratio * steps);
}

/**
 * After step `step` (0-based) of `steps`, re-inject item rows in place: x = where(mask, x, zt),
 * zt = t·noise + (1 − t)·source, t = the time the step ended at.
 */
export function injectSource(
  x: Float32Array,
  noise: Float32Array,
  items: readonly (RepaintItem | null)[],
  frames: number,
  step: number,
  steps: number,
  tAfter: number,
): void {
  const t = Math.fround(tAfter);
  const keep = Math.fround(1 - t);
  items.forEach((item, b) => {
    if (!item || step >= injectionSteps(steps, item.injectionRatio)) return;
    for (let f = 0; f < frames; f++) {
      if (item.mask[f]) continue;
      const row = (b * frames + f) * LATENT_CHANNELS;
      for (let c = 0; c < LATENT_CHANNELS; c++) {
        const src = item.source[f * LATENT_CHANNELS + c]!;
        x[row + c] = Math.fround(Math.fround(t * noise[row + c]!) + Math.fround(keep * src));
      }
    }
  });
}

/** torch.linspace(start, end, count) in fp32 (its kernel: from the start for the first half, from the end after). */
export function linspaceF32(start: number, end: number, count: number): Float32Array {
  const out = new Float32Array(count);
  if (count === 1) out[0] = start;
  const step = Math.fround((end - start) / (count - 1));
  const half = Math.floor(count / 2);
  for (let i = 0; i < count; i++) {
    out[i] =
      i < half
        ? Math.fround(start + Math.fround(step * i))
        : Math.fround(end - Math.fround(step * (count - 1 - i)));
  }
  return out;
}

/** Soft mask [T] of one item: the hard mask, ramped over `frames` frames beside the span. */
export function softRepaintMask(mask: Uint8Array, crossfadeFrames: number): Float32Array {
  const length = mask.length;
  const soft = Float32Array.from(mask);
  const left = mask.indexOf(1);
  if (left < 0 || crossfadeFrames <= 0) return soft;
  const right = mask.lastIndexOf(1) + 1;
  if (left === 0 && right === length && mask.every((m) => m === 1)) return soft;
  const fadeStart = Math.max(left - crossfadeFrames, 0);
  if (left > fadeStart) soft.set(linspaceF32(0, 1, left - fadeStart + 2).subarray(1, -1), fadeStart);
  const fadeEnd = Math.min(right + crossfadeFrames, length);
  if (fadeEnd > right) soft.set(linspaceF32(1, 0, fadeEnd - right + 2).subarray(1, -1), right);
  return soft;
}

/** After sampling: x = m·x + (1 − m)·source per item (no-op for crossfade 0 or no item). */
export function crossfadeBoundaries(
  x: Float32Array,
  items: readonly (RepaintItem | null)[],
  frames: number,
): void {
  items.forEach((item, b) => {
    if (!item || item.crossfadeFrames <= 0) return;
    const soft = softRepaintMask(item.mask, item.crossfadeFrames);
    for (let f = 0; f < frames; f++) {
      const m = soft[f]!;
      const rest = Math.fround(1 - m);
      const row = (b * frames + f) * LATENT_CHANNELS;
      for (let c = 0; c < LATENT_CHANNELS; c++) {
        const src = item.source[f * LATENT_CHANNELS + c]!;
        x[row + c] = Math.fround(Math.fround(m * x[row + c]!) + Math.fround(rest * src));
      }
    }
  });
}
