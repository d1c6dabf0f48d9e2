import assert from 'node:assert/strict';
import { test } from 'node:test';
import { batchNoise } from '@acestep/rng';
import { DitInputError, DitNumericError } from './errors.ts';
import { LATENT_CHANNELS } from './latents.ts';
import { coverSwitchStep, resolveGuidance, sample, type VelocityRequest } from './sampler.ts';
import { baseSchedule, turboSchedule } from './schedule.ts';

const frames = 3;
const perItem = frames * LATENT_CHANNELS;

/** v = c·x for every row: the ODE result is x_T·Π(1 − c·dt) (hand formula, no sampler code). */
function linear(c: number) {
  return async (req: VelocityRequest<string>) => req.xt.map((x) => c * x);
}

function expectScaled(actual: Float32Array, start: Float32Array, factor: number, tol = 1e-5): void {
  for (let i = 0; i < actual.length; i++) {
    assert.ok(Math.abs(actual[i]! - start[i]! * factor) <= tol * Math.max(1, Math.abs(start[i]!)), `[${i}]`);
  }
}

test('ODE turbo shift 1 with v = x gives x·0.875^8', async () => {
  const noise = batchNoise([11], frames, LATENT_CHANNELS);
  const result = await sample({
    schedule: turboSchedule({ shift: 1 }),
    batch: 1,
    frames,
    seeds: [11n],
    conditioning: 'c',
    predictVelocity: linear(1),
  });
  assert.equal(result.steps, 8);
  expectScaled(result.latents, noise, 0.875 ** 8);
});

test('an oracle velocity lands on the target data for turbo, base, ODE and SDE', async () => {
  const target = Float32Array.from({ length: 2 * perItem }, (_, i) => Math.sin(i) * 0.5);
  // True flow-matching velocity towards `target`: v = (x_t − x0)/t.
  const oracle = async (req: VelocityRequest<null>) => req.xt.map((x, i) => (x - target[i]!) / req.t);
  for (const schedule of [turboSchedule({ shift: 3 }), baseSchedule('base', { steps: 20, shift: 2 })]) {
    for (const method of ['ode', 'sde'] as const) {
      const { latents } = await sample({
        schedule,
        batch: 2,
        frames,
        seeds: [1n, 2n],
        method,
        conditioning: null,
        predictVelocity: oracle,
      });
      latents.forEach((v, i) => {
        assert.ok(
          Math.abs(v - target[i]!) < 1e-4,
          `${schedule.family} ${method} [${i}] ${v} vs ${target[i]}`,
        );
      });
    }
  }
});

test('SDE re-noises with seeded noise: reproducible and different from ODE', async () => {
  const run = (method: 'ode' | 'sde') =>
    sample({
      schedule: turboSchedule({ shift: 3 }),
      batch: 1,
      frames,
      seeds: [5n],
      method,
      conditioning: 'c',
      predictVelocity: linear(0.5),
    });
  const a = await run('sde');
  const b = await run('sde');
  const ode = await run('ode');
  assert.deepEqual(a.latents, b.latents);
  assert.notDeepEqual(a.latents, ode.latents);
});

test('CFG doubles the batch and mixes inside the cfg interval only (base)', async () => {
  const schedule = baseSchedule('base', { steps: 4, shift: 1 }); // t = 1, .75, .5, .25
  const seen: { rows: number; null: boolean }[] = [];
  const model = async (req: VelocityRequest<string>) => {
    seen.push({ rows: req.rows, null: req.withNullCondition });
    const half = req.xt.length / 2;
    // cond half predicts x, uncond half predicts 0 → CFG gives scale·x, no guidance gives x.
    return req.xt.map((x, i) => (i < half ? x : 0));
  };
  const noise = batchNoise([3, 4], frames, LATENT_CHANNELS);
  const { latents, guided } = await sample({
    schedule,
    batch: 2,
    frames,
    seeds: [3n, 4n],
    guidance: { scale: 3, method: 'cfg', intervalStart: 0, intervalEnd: 0.6 },
    conditioning: 'c',
    predictVelocity: model,
  });
  assert.equal(guided, true);
  assert.deepEqual(seen, Array(4).fill({ rows: 4, null: true }));
  // Steps at t = 1 and .75 unguided (factor 1 − .25), t = .5 and .25 guided (1 − 3·.25).
  expectScaled(latents, noise, 0.75 * 0.75 * 0.25 * 0.25);
});

test('turbo ignores guidance: one batch, no null condition', async () => {
  const rows: number[] = [];
  await sample({
    schedule: turboSchedule(),
    batch: 2,
    frames,
    seeds: [1n, 2n],
    guidance: { scale: 7, method: 'apg', intervalStart: 0, intervalEnd: 1 },
    conditioning: 'c',
    predictVelocity: async (req) => {
      rows.push(req.rows);
      assert.equal(req.withNullCondition, false);
      return req.xt.map(() => 0.1);
    },
  });
  assert.deepEqual(rows, Array(8).fill(2));
});

test('audio_cover_strength switches conditioning at int(n·strength)', async () => {
  const used: string[] = [];
  await sample({
    schedule: turboSchedule(),
    batch: 1,
    frames,
    seeds: [1n],
    conditioning: 'cover',
    nonCoverConditioning: 'text2music',
    audioCoverStrength: 0.5,
    predictVelocity: async (req) => {
      used.push(req.conditioning);
      return req.xt.map(() => 0.1);
    },
  });
  assert.deepEqual(used, [
    'cover',
    'cover',
    'cover',
    'cover',
    'text2music',
    'text2music',
    'text2music',
    'text2music',
  ]);
  assert.equal(coverSwitchStep(8, 1), null);
  assert.equal(coverSwitchStep(8, 0.3), 2);
  assert.equal(coverSwitchStep(8, 0), 0);
  assert.equal(coverSwitchStep(50, 0.99), 49);
});

test('progress reports every step; abort stops at the next step', async () => {
  const progress: string[] = [];
  const controller = new AbortController();
  let calls = 0;
  await assert.rejects(
    sample({
      schedule: turboSchedule(),
      batch: 1,
      frames,
      seeds: [1n],
      conditioning: 'c',
      signal: controller.signal,
      predictVelocity: async (req) => {
        calls++;
        return req.xt.map(() => 0.1);
      },
      onStep: (p) => {
        progress.push(`${p.step}/${p.steps}@${p.t}`);
        if (p.step === 3) controller.abort();
      },
    }),
    { name: 'AbortError' },
  );
  assert.equal(calls, 3);
  assert.deepEqual(progress, ['1/8@1', '2/8@0.9545454382896423', '3/8@0.8999999761581421']);
});

test('NaN or all-zero latents are refused', async () => {
  const base = { schedule: turboSchedule(), batch: 1, frames, seeds: [1n], conditioning: 'c' };
  await assert.rejects(
    sample({ ...base, predictVelocity: async (req) => req.xt.map(() => Number.NaN) }),
    DitNumericError,
  );
  // v = x/t on the final step sends x to exactly 0.
  await assert.rejects(
    sample({ ...base, predictVelocity: async (req) => req.xt.map((x) => x / req.t) }),
    /all zero/,
  );
  await assert.rejects(
    sample({ ...base, predictVelocity: async () => new Float32Array(1) }),
    /returned 1 values/,
  );
});

test('guidance request fields', () => {
  assert.equal(resolveGuidance('turbo', { guidanceScale: 7 }), null);
  assert.equal(resolveGuidance('base', { guidanceScale: 1 }), null);
  assert.deepEqual(resolveGuidance('sft', { useAdg: true }), {
    scale: 7,
    method: 'adg',
    intervalStart: 0,
    intervalEnd: 1,
  });
  assert.throws(
    () => resolveGuidance('base', { guidanceScale: 16 }),
    (e: unknown) => {
      return e instanceof DitInputError && e.field === 'guidance_scale' && /\[0, 15\]/.test(e.message);
    },
  );
  assert.throws(
    () => resolveGuidance('base', { cfgIntervalStart: 0.8, cfgIntervalEnd: 0.2 }),
    /cfg_interval_start/,
  );
});

test('repaint: source re-injected outside the span for round(ratio·n) steps, then the edge crossfade', async () => {
  // Hand reference in float64 of the documented loop: v = x, Euler x ← x·(1 − (t − t')),
  // after step i < round(0.5·8) = 4 frames outside [3, 5) become t'·noise + (1 − t')·source,
  // finally x = m·x + (1 − m)·source with m = 1 in the span, 0.5 beside it (cf = 1), 0 beyond.
  const T = 8;
  const seeds = [5n, 6n];
  const noise = batchNoise(seeds, T, LATENT_CHANNELS);
  const source = Float32Array.from({ length: T * LATENT_CHANNELS }, (_, i) => Math.cos(i) * 0.7);
  const mask = new Uint8Array(T);
  mask.fill(1, 3, 5);
  const schedule = turboSchedule({ shift: 1 });
  const { latents } = await sample({
    schedule,
    batch: 2,
    frames: T,
    seeds,
    conditioning: 'c',
    predictVelocity: linear(1),
    repaint: [{ mask, source, injectionRatio: 0.5, crossfadeFrames: 1 }, null],
  });
  const ts = [...schedule.timesteps];
  const soft = [0, 0, 0.5, 1, 1, 0.5, 0, 0];
  for (let f = 0; f < T; f++) {
    for (let c = 0; c < LATENT_CHANNELS; c += 21) {
      const k = f * LATENT_CHANNELS + c;
      let x = noise[k]!;
      for (let i = 0; i < 8; i++) {
        x = x * (1 - (ts[i]! - ts[i + 1]!));
        if (i < 4 && !mask[f]) x = ts[i + 1]! * noise[k]! + (1 - ts[i + 1]!) * source[k]!;
      }
      const want = soft[f]! * x + (1 - soft[f]!) * source[k]!;
      assert.ok(Math.abs(latents[k]! - want) < 1e-5, `frame ${f} ch ${c}: ${latents[k]} vs ${want}`);
      // Item 1 has no repaint guide: plain v = x decay.
      const free = noise[T * LATENT_CHANNELS + k]! * 0.875 ** 8;
      assert.ok(Math.abs(latents[T * LATENT_CHANNELS + k]! - free) < 1e-5);
    }
  }
});
