import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import {
  adgGuide,
  apgGuide,
  cfgIntervalActive,
  cfgMix,
  createMomentumBuffer,
  type LatentShape,
} from './guidance.ts';

interface Golden {
  shape: [number, number, number];
  scale: number;
  apg: Record<'cond1' | 'uncond1' | 'cond2' | 'uncond2' | 'out1' | 'out2' | 'out1_eta05', number[]>;
  adg: { x: number[]; cond: number[]; uncond: number[]; sigma: number; out: number[] };
  cfg: { out: number[] };
}
const g = JSON.parse(
  readFileSync(new URL('./fixtures/guidance_golden.json', import.meta.url), 'utf8'),
) as Golden;
const shape: LatentShape = { batch: g.shape[0], frames: g.shape[1], channels: g.shape[2] };
const f32 = (a: number[]) => Float32Array.from(a);

function assertClose(actual: Float32Array, expected: number[], tol = 2e-5): void {
  assert.equal(actual.length, expected.length);
  expected.forEach((e, i) => {
    assert.ok(Math.abs(actual[i]! - e) <= tol * Math.max(1, Math.abs(e)), `[${i}] ${actual[i]} vs ${e}`);
  });
}

test('APG (norm cap + projection over time, momentum across two steps) matches numpy', () => {
  const buffer = createMomentumBuffer();
  assertClose(apgGuide(f32(g.apg.cond1), f32(g.apg.uncond1), g.scale, shape, buffer), g.apg.out1);
  assertClose(apgGuide(f32(g.apg.cond2), f32(g.apg.uncond2), g.scale, shape, buffer), g.apg.out2);
  assertClose(
    apgGuide(f32(g.apg.cond1), f32(g.apg.uncond1), g.scale, shape, createMomentumBuffer(), { eta: 0.5 }),
    g.apg.out1_eta05,
  );
});

test('APG at scale 1 returns the conditional prediction', () => {
  const cond = f32(g.apg.cond1);
  assert.deepEqual(apgGuide(cond, f32(g.apg.uncond1), 1, shape, null), cond);
});

test('ADG matches numpy, including the near-parallel branch', () => {
  const out = adgGuide(f32(g.adg.x), f32(g.adg.cond), f32(g.adg.uncond), g.adg.sigma, g.scale, shape);
  assertClose(out, g.adg.out);
});

test('plain CFG mix', () => {
  assertClose(cfgMix(f32(g.apg.cond1), f32(g.apg.uncond1), g.scale), g.cfg.out);
  assert.deepEqual(Array.from(cfgMix(f32([1, 2]), f32([0, 1]), 3)), [3, 4]);
});

test('cfg interval is inclusive on both ends, on the t scale', () => {
  assert.equal(cfgIntervalActive(0.5, 0, 1), true);
  assert.equal(cfgIntervalActive(0.3, 0.3, 0.6), true);
  assert.equal(cfgIntervalActive(0.6, 0.3, 0.6), true);
  assert.equal(cfgIntervalActive(0.7, 0.3, 0.6), false);
  assert.equal(cfgIntervalActive(0.2, 0.3, 0.6), false);
});

test('shape mismatches are rejected', () => {
  assert.throws(() => apgGuide(f32([1]), f32([1]), 2, shape, null), /expected 30 values/);
});
