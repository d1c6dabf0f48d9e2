import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DitInputError } from './errors.ts';
import {
  baseSchedule,
  buildSchedule,
  roundTurboShift,
  snapTurboTimestep,
  TURBO_SCHEDULES,
  TURBO_VALID_TIMESTEPS,
  turboSchedule,
} from './schedule.ts';

function isInputError(field: string, code = 'INVALID_ARGUMENT') {
  return (e: unknown) => e instanceof DitInputError && e.field === field && e.code === code;
}

test('turbo tables equal s·t/(1 + (s − 1)·t) at t = 1 − i/8', () => {
  for (const s of [1, 2, 3] as const) {
    TURBO_SCHEDULES[s].forEach((value, i) => {
      const t = 1 - i / 8;
      assert.ok(Math.abs(value - (s * t) / (1 + (s - 1) * t)) < 1e-15, `shift ${s} step ${i}`);
    });
  }
  // The valid set is exactly the union of the three tables (20 distinct values).
  const union = new Set([...TURBO_SCHEDULES[1], ...TURBO_SCHEDULES[2], ...TURBO_SCHEDULES[3]]);
  assert.equal(union.size, 20);
  assert.deepEqual(
    [...union].sort((a, b) => b - a),
    [...TURBO_VALID_TIMESTEPS],
  );
});

test('turbo: shift rounds to 1/2/3, 8 steps ending in 0, steps ignored', () => {
  assert.equal(roundTurboShift(1.4), 1);
  assert.equal(roundTurboShift(1.5), 1); // tie keeps the first, like Python min
  assert.equal(roundTurboShift(2.6), 3);
  assert.equal(roundTurboShift(5), 3);
  const s = turboSchedule({ shift: 3, steps: 4 });
  assert.equal(s.steps, 8);
  assert.equal(s.shift, 3);
  assert.deepEqual(
    s.timesteps,
    [1.0, 0.9545454545454546, 0.9, 0.8333333333333334, 0.75, 0.6428571428571429, 0.5, 0.3, 0],
  );
  assert.deepEqual(s.renoiseTo, s.timesteps.slice(1));
  assert.equal(turboSchedule().shift, 3); // default shift 3.0 as the UI/API
});

test('turbo custom timesteps: trailing zeros dropped, snapped to the nearest valid value', () => {
  assert.equal(snapTurboTimestep(0.97), 0.9545454545454546);
  assert.equal(snapTurboTimestep(0.76), 0.7692307692307693);
  assert.equal(snapTurboTimestep(0.01), 0.125);
  const s = turboSchedule({ timesteps: [0.97, 0.76, 0.31, 0, 0] });
  assert.deepEqual(s.timesteps, [0.9545454545454546, 0.7692307692307693, 0.3, 0]);
  assert.equal(s.steps, 3);
  assert.equal(s.shift, null);
  assert.equal(turboSchedule({ timesteps: [0, 0], shift: 2 }).shift, 2); // all zeros → shift table
  assert.throws(() => turboSchedule({ timesteps: Array(21).fill(0.5) }), isInputError('timesteps'));
  assert.throws(() => turboSchedule({ timesteps: [1.2, 0.5] }), isInputError('timesteps[0]'));
});

test('base/SFT: linspace with shift, SDE targets unshifted', () => {
  const s1 = baseSchedule('base', { steps: 4, shift: 1 });
  assert.deepEqual(s1.timesteps, [1, 0.75, 0.5, 0.25, 0]);
  const s3 = baseSchedule('sft', { steps: 4, shift: 3 });
  // By hand: 3t/(1 + 2t) at t = .75, .5, .25 → .9, .75, .5
  assert.deepEqual(s3.timesteps, [1, 0.9, 0.75, 0.5, 0]);
  assert.deepEqual(s3.renoiseTo, [0.75, 0.5, 0.25, 0]);
  assert.equal(baseSchedule('base').steps, 32);
  assert.equal(buildSchedule('base', { steps: 200 }).timesteps.length, 201);
});

test('schedule validation names the field and range', () => {
  assert.throws(() => baseSchedule('base', { steps: 0 }), isInputError('inference_steps'));
  assert.throws(
    () => baseSchedule('base', { steps: 201 }),
    /inference_steps: must be an integer in \[1, 200\]/,
  );
  assert.throws(() => baseSchedule('base', { steps: 2.5 }), isInputError('inference_steps'));
  assert.throws(() => turboSchedule({ shift: 0.5 }), /shift: must be a number in \[1, 5\]/);
  assert.throws(() => turboSchedule({ steps: 9 }), /inference_steps: must be an integer in \[1, 8\]/);
  assert.throws(
    () => baseSchedule('sft', { timesteps: [0.5] }),
    isInputError('timesteps', 'FAILED_PRECONDITION'),
  );
});

test('variant defaults: turbo-shift1 defaults to shift 1, turbo-continuous does not round, base steps', () => {
  const shift1 = { defaultShift: 1, defaultSteps: 8, shifts: [1, 2, 3] };
  assert.equal(buildSchedule('turbo', {}, shift1).shift, 1);
  assert.deepEqual(buildSchedule('turbo', {}, shift1).timesteps, [...TURBO_SCHEDULES[1], 0]);
  // A request's shift still wins, rounded as for every turbo table.
  assert.equal(buildSchedule('turbo', { shift: 2.4 }, shift1).shift, 2);
  const continuous = { defaultShift: 3, defaultSteps: 8, shifts: null };
  const s = buildSchedule('turbo', { shift: 2.5 }, continuous);
  // By hand: 2.5·t / (1 + 1.5·t) at t = 1, 7/8, …, 1/8 (no rounding to 2 or 3).
  const expected = [1, 0.875, 0.75, 0.625, 0.5, 0.375, 0.25, 0.125].map((t) => (2.5 * t) / (1 + 1.5 * t));
  assert.equal(s.shift, 2.5);
  assert.equal(s.steps, 8);
  s.timesteps.slice(0, 8).forEach((t, i) => {
    assert.ok(Math.abs(t - expected[i]!) < 1e-12);
  });
  assert.equal(s.timesteps[8], 0);
  // Default shift 3 on the continuous variant equals the shift-3 table.
  buildSchedule('turbo', {}, continuous)
    .timesteps.slice(0, 8)
    .forEach((t, i) => {
      assert.ok(Math.abs(t - TURBO_SCHEDULES[3][i]!) < 1e-12);
    });
  assert.equal(buildSchedule('base', {}, { defaultShift: 1, defaultSteps: 50, shifts: null }).steps, 50);
  assert.equal(buildSchedule('base', {}, { defaultShift: 1, defaultSteps: 50, shifts: null }).shift, 1);
});
