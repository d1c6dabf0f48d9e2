// Repaint injection and crossfade against values written down by hand from the official formulas
// (docs/model-contract.md, "Repaint and lego").
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DitInputError } from './errors.ts';
import { LATENT_CHANNELS } from './latents.ts';
import {
  checkCrossfadeFrames,
  checkInjectionRatio,
  crossfadeBoundaries,
  injectionSteps,
  injectSource,
  linspaceF32,
  type RepaintItem,
  roundHalfEven,
  softRepaintMask,
} from './repaint.ts';

const mask = (length: number, start: number, end: number) => {
  const m = new Uint8Array(length);
  m.fill(1, start, end);
  return m;
};

test('injection covers round(ratio · n) steps, Python rounding (half to even)', () => {
  assert.equal(injectionSteps(8, 0.5), 4);
  assert.equal(injectionSteps(5, 0.5), 2); // round(2.5) = 2
  assert.equal(injectionSteps(7, 0.5), 4); // round(3.5) = 4
  assert.equal(injectionSteps(32, 0), 0);
  assert.equal(injectionSteps(32, 1), 32);
  assert.deepEqual([0.5, 1.5, 2.5, 3.5, 2.4, 2.6].map(roundHalfEven), [0, 2, 2, 4, 2, 3]);
});

test('injectSource replaces frames outside the span with t·noise + (1 − t)·source, only early', () => {
  const frames = 4;
  const n = frames * LATENT_CHANNELS;
  const x = new Float32Array(2 * n).fill(7);
  const noise = new Float32Array(2 * n).fill(2);
  const item: RepaintItem = {
    mask: mask(frames, 1, 3),
    source: new Float32Array(n).fill(-1),
    injectionRatio: 0.5,
    crossfadeFrames: 0,
  };
  injectSource(x, noise, [item, null], frames, 0, 4, 0.25);
  // Outside the span (frames 0 and 3): 0.25·2 + 0.75·(−1) = −0.25; inside and item 1 untouched.
  assert.equal(x[0], -0.25);
  assert.equal(x[3 * LATENT_CHANNELS + 63], -0.25);
  assert.equal(x[LATENT_CHANNELS], 7);
  assert.equal(x[2 * LATENT_CHANNELS + 5], 7);
  assert.ok(x.subarray(n).every((v) => v === 7));
  const late = new Float32Array(2 * n).fill(7);
  injectSource(late, noise, [item, null], frames, 2, 4, 0.25); // step 2 ≥ round(0.5·4)
  assert.ok(late.every((v) => v === 7));
});

test('soft mask: 1 in the span, ramps of linspace(0, 1, n + 2)[1:-1] beside it, 0 beyond', () => {
  const soft = softRepaintMask(mask(12, 4, 7), 3);
  assert.deepEqual(Array.from(soft), [0, 0.25, 0.5, 0.75, 1, 1, 1, 0.75, 0.5, 0.25, 0, 0]);
  // Clamped at the edges: one frame before the span (linspace(0,1,3)[1] = 0.5), two after.
  // (torch.linspace(1, 0, 4) in fp32 is [1, 0.6666666269302368, 0.3333333432674408, 0].)
  assert.deepEqual(
    Array.from(softRepaintMask(mask(6, 1, 4), 3)),
    [0.5, 1, 1, 1, 0.6666666269302368, 0.3333333432674408],
  );
  assert.deepEqual(Array.from(softRepaintMask(mask(5, 0, 5), 3)), [1, 1, 1, 1, 1]);
  assert.deepEqual(Array.from(softRepaintMask(mask(5, 0, 0), 3)), [0, 0, 0, 0, 0]);
  assert.deepEqual(Array.from(softRepaintMask(mask(5, 1, 2), 0)), [0, 1, 0, 0, 0]);
  assert.deepEqual(Array.from(linspaceF32(1, 0, 5)), [1, 0.75, 0.5, 0.25, 0]);
});

test('linspaceF32 gives the bits of CPU torch.linspace (values printed by torch 1.13)', () => {
  const torch12 = [
    0.0, 0.09090909361839294, 0.1818181872367859, 0.27272728085517883, 0.3636363744735718, 0.4545454680919647,
    0.5454545021057129, 0.6363636255264282, 0.7272727489471436, 0.8181818127632141, 0.9090908765792847, 1.0,
  ];
  assert.deepEqual(Array.from(linspaceF32(0, 1, 12)), torch12);
  assert.deepEqual(Array.from(linspaceF32(1, 0, 12)), [...torch12].reverse());
  assert.deepEqual(
    Array.from(linspaceF32(0, 1, 7)),
    [0.0, 0.1666666716337204, 0.3333333432674408, 0.5, 0.6666666269302368, 0.8333333134651184, 1.0],
  );
});

test('crossfade blends m·x + (1 − m)·source', () => {
  const frames = 6;
  const x = new Float32Array(frames * LATENT_CHANNELS).fill(1);
  const item: RepaintItem = {
    mask: mask(frames, 2, 4),
    source: new Float32Array(frames * LATENT_CHANNELS).fill(0),
    injectionRatio: 0.5,
    crossfadeFrames: 1,
  };
  crossfadeBoundaries(x, [item], frames);
  // cf = 1: one ramp frame each side with linspace(0, 1, 3)[1] = 0.5.
  const perFrame = Array.from({ length: frames }, (_, f) => x[f * LATENT_CHANNELS + 10]);
  assert.deepEqual(perFrame, [0, 0.5, 1, 1, 0.5, 0]);
});

test('request fields are checked with the field name and range', () => {
  assert.equal(checkInjectionRatio(undefined), 0.5);
  assert.equal(checkCrossfadeFrames(undefined), 10);
  assert.equal(checkCrossfadeFrames(0), 0);
  assert.throws(
    () => checkInjectionRatio(1.5),
    (e) => e instanceof DitInputError && /repaint_injection_ratio/.test(e.message),
  );
  assert.throws(() => checkCrossfadeFrames(-1), /repaint_crossfade_frames/);
  assert.throws(() => checkCrossfadeFrames(2.5), /repaint_crossfade_frames/);
});
