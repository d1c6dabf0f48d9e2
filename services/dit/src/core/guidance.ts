/**
 * Classifier-free guidance for base/SFT (docs/official-behaviour.md "Guidance (base and SFT only)"). Turbo models are CFG-free: the sampler
 * never calls these for them. Tensors are time-major [B, T, C] Float32Arrays, B = un-doubled batch.
 *
 * Precision: PyTorch runs these in the model dtype (fp32 on CPU) except APG's projection, which
 * it does in float64. We accumulate every reduction in float64 and round to float32 where
 * PyTorch stores an fp32 tensor, so results agree to about 1e-6 relative, not bit for bit.
 */

export interface LatentShape {
  batch: number;
  frames: number;
  channels: number;
}

export const GUIDANCE_METHODS = ['apg', 'adg', 'cfg'] as const;
export type GuidanceMethod = (typeof GUIDANCE_METHODS)[number];

export const APG_MOMENTUM = -0.75;
export const APG_NORM_THRESHOLD = 2.5;
/** Upstream writes the ADG angle clip as the literal `3.14 / 6`, not π/6. */
export const ADG_ANGLE_CLIP = 3.14 / 6;

function size(shape: LatentShape): number {
  return shape.batch * shape.frames * shape.channels;
}

function checkSizes(shape: LatentShape, ...arrays: Float32Array[]): void {
  const n = size(shape);
  for (const a of arrays) {
    if (a.length !== n)
      throw new Error(`guidance: expected ${n} values for [${shapeText(shape)}], got ${a.length}`);
  }
}

function shapeText(s: LatentShape): string {
  return `${s.batch},${s.frames},${s.channels}`;
}

/** Guidance applies at step time t iff start ≤ t ≤ end (t on the shifted [0, 1] scale, 1 = noise). */
export function cfgIntervalActive(t: number, start: number, end: number): boolean {
  return t >= start && t <= end;
}

/** Plain CFG: uncond + scale·(cond − uncond). */
export function cfgMix(cond: Float32Array, uncond: Float32Array, scale: number): Float32Array {
  if (cond.length !== uncond.length) throw new Error('cfgMix: cond and uncond differ in length');
  const out = new Float32Array(cond.length);
  for (let i = 0; i < cond.length; i++) out[i] = uncond[i]! + scale * Math.fround(cond[i]! - uncond[i]!);
  return out;
}

/** APG's running average of the guidance difference; one per generation, starts at 0. */
export interface MomentumBuffer {
  running: Float32Array | null;
  readonly momentum: number;
}

export function createMomentumBuffer(momentum = APG_MOMENTUM): MomentumBuffer {
  return { running: null, momentum };
}

export interface ApgOptions {
  eta?: number;
  normThreshold?: number;
}

/**
 * Adaptive projected guidance: diff = cond − uncond; with momentum run = diff + m·run_prev;
 * per (b, c) the diff is capped to L2 norm ≤ threshold over the time axis; then only the part
 * orthogonal to cond (over time, per (b, c)) is added: v = cond + (scale − 1)·(orth + eta·par).
 * Updates `buffer` in place (call only on steps where guidance applies, as upstream).
 */
export function apgGuide(
  cond: Float32Array,
  uncond: Float32Array,
  scale: number,
  shape: LatentShape,
  buffer: MomentumBuffer | null,
  options: ApgOptions = {},
): Float32Array {
  checkSizes(shape, cond, uncond);
  const eta = options.eta ?? 0;
  const threshold = options.normThreshold ?? APG_NORM_THRESHOLD;
  let diff: Float32Array = new Float32Array(cond.length);
  for (let i = 0; i < cond.length; i++) diff[i] = cond[i]! - uncond[i]!;
  if (buffer) diff = updateMomentum(buffer, diff);
  if (threshold > 0) capNormOverTime(diff, shape, threshold);
  return projectAndMix(cond, diff, scale, eta, shape);
}

function updateMomentum(buffer: MomentumBuffer, diff: Float32Array): Float32Array {
  const prev = buffer.running;
  const next = new Float32Array(diff.length);
  for (let i = 0; i < diff.length; i++) {
    next[i] = prev ? diff[i]! + Math.fround(buffer.momentum * prev[i]!) : diff[i]!;
  }
  buffer.running = next;
  return Float32Array.from(next);
}

/** Index of element (b, t, c) in a [B, T, C] array. */
function at(shape: LatentShape, b: number, t: number, c: number): number {
  return (b * shape.frames + t) * shape.channels + c;
}

function capNormOverTime(diff: Float32Array, shape: LatentShape, threshold: number): void {
  for (let b = 0; b < shape.batch; b++) {
    for (let c = 0; c < shape.channels; c++) {
      let sq = 0;
      for (let t = 0; t < shape.frames; t++) sq += diff[at(shape, b, t, c)]! ** 2;
      const factor = Math.fround(Math.min(1, threshold / Math.fround(Math.sqrt(sq))));
      for (let t = 0; t < shape.frames; t++) {
        const i = at(shape, b, t, c);
        diff[i] = diff[i]! * factor;
      }
    }
  }
}

function projectAndMix(
  cond: Float32Array,
  diff: Float32Array,
  scale: number,
  eta: number,
  shape: LatentShape,
): Float32Array {
  const out = new Float32Array(cond.length);
  for (let b = 0; b < shape.batch; b++) {
    for (let c = 0; c < shape.channels; c++) {
      let condSq = 0;
      for (let t = 0; t < shape.frames; t++) condSq += cond[at(shape, b, t, c)]! ** 2;
      const norm = Math.max(Math.sqrt(condSq), 1e-12); // F.normalize's eps
      let dot = 0;
      for (let t = 0; t < shape.frames; t++) {
        const i = at(shape, b, t, c);
        dot += diff[i]! * (cond[i]! / norm);
      }
      for (let t = 0; t < shape.frames; t++) {
        const i = at(shape, b, t, c);
        const parallel = dot * (cond[i]! / norm);
        const update = Math.fround(Math.fround(diff[i]! - parallel) + eta * Math.fround(parallel));
        out[i] = cond[i]! + (scale - 1) * update;
      }
    }
  }
  return out;
}

export interface AdgOptions {
  angleClip?: number;
}

/**
 * Angle-based dynamic guidance for flow matching, per (b, t) row over the C channels:
 * x̂c = x − σ·cond, x̂u = x − σ·uncond; θ = angle(x̂c, x̂u); θ' = clip(w·θ, ±clip) with
 * w = max(scale − 1, 0) + 1e-3; x̂ = cos θ'·x̂c + (sin θ'/sin θ)·perp (w·perp when sin θ ≤ 1e-3)
 * where perp is the part of x̂c − x̂u orthogonal to x̂u; returns v = (x − x̂)/σ. σ = current t > 0.
 */
export function adgGuide(
  xt: Float32Array,
  cond: Float32Array,
  uncond: Float32Array,
  sigma: number,
  scale: number,
  shape: LatentShape,
  options: AdgOptions = {},
): Float32Array {
  checkSizes(shape, xt, cond, uncond);
  if (!(sigma > 0)) throw new Error(`adgGuide: sigma must be > 0, got ${sigma}`);
  const clip = options.angleClip ?? ADG_ANGLE_CLIP;
  const weight = Math.max(scale - 1, 0) + 1e-3;
  const C = shape.channels;
  const out = new Float32Array(xt.length);
  const hatC = new Float64Array(C);
  const hatU = new Float64Array(C);
  for (let row = 0; row < shape.batch * shape.frames; row++) {
    const base = row * C;
    let nc = 0;
    let nu = 0;
    let dotCU = 0;
    for (let c = 0; c < C; c++) {
      hatC[c] = Math.fround(xt[base + c]! - Math.fround(sigma * cond[base + c]!));
      hatU[c] = Math.fround(xt[base + c]! - Math.fround(sigma * uncond[base + c]!));
      nc += hatC[c]! ** 2;
      nu += hatU[c]! ** 2;
      dotCU += hatC[c]! * hatU[c]!;
    }
    const cos = Math.min(Math.max(dotCU / (Math.sqrt(nc) * Math.sqrt(nu)), -1 + 1e-6), 1 - 1e-6);
    const theta = Math.acos(cos);
    const thetaNew = Math.min(Math.max(weight * theta, -clip), clip);
    let dotDU = 0;
    for (let c = 0; c < C; c++) dotDU += (hatC[c]! - hatU[c]!) * hatU[c]!;
    const projCoef = dotDU / (nu + 1e-8);
    const sinTheta = Math.sin(theta);
    const perpScale = sinTheta > 1e-3 ? Math.sin(thetaNew) / sinTheta : weight;
    const cosNew = Math.cos(thetaNew);
    for (let c = 0; c < C; c++) {
      const perp = hatC[c]! - hatU[c]! - projCoef * hatU[c]!;
      const hat = cosNew * hatC[c]! + perp * perpScale;
      out[base + c] = (xt[base + c]! - hat) / sigma;
    }
  }
  return out;
}
