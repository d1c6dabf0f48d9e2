import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { describe, it } from 'node:test';
import {
  allowedText,
  defaultText,
  inRange,
  PARAMETERS,
  type ParameterName,
  parameterDefault,
  parameterMax,
  parameterProblem,
  rangeText,
} from './parameters.ts';

const names = Object.keys(PARAMETERS) as ParameterName[];

describe('parameter table', () => {
  it('gives every numeric field a finite upper bound above its lower bound', () => {
    for (const name of names) {
      const { min, max } = PARAMETERS[name];
      assert.ok(Number.isFinite(max) && max > min, name);
    }
  });

  it('documents every field with its range in docs/model-rules.md', async () => {
    const doc = await readFile(new URL('../../../docs/model-rules.md', import.meta.url), 'utf8');
    for (const name of names) {
      const { min, max } = PARAMETERS[name];
      const row = doc.split('\n').find((line) => line.startsWith(`| \`${name}\``));
      assert.ok(row, `docs/model-rules.md has a row for ${name}`);
      assert.ok(row.includes(`${min} … ${max}`), `${name}: the row says ${min} … ${max}: ${row}`);
    }
  });

  it('per-variant defaults apply, and narrower limits', () => {
    assert.equal(parameterDefault('inference_steps', 'turbo'), 8);
    assert.equal(parameterDefault('inference_steps', 'base'), 32);
    assert.equal(parameterDefault('inference_steps', 'sft'), 32);
    assert.equal(parameterDefault('inference_steps'), 8);
    assert.equal(parameterDefault('bpm'), null);
    assert.equal(parameterMax('inference_steps', 'turbo'), 8);
    assert.equal(parameterMax('inference_steps', 'base'), 200);
    assert.equal(parameterMax('batch_size', undefined, 2), 2);
  });

  it('checks kind and range, and says the allowed values naming the field', () => {
    assert.ok(inRange('lm_top_k', 1000));
    assert.ok(!inRange('lm_top_k', 1001));
    assert.ok(!inRange('lm_top_k', 2.5));
    assert.ok(!inRange('lm_temperature', Number.NaN));
    assert.ok(inRange('lm_temperature', 0.5));
    assert.equal(allowedText('inference_steps', 'turbo'), 'an integer from 1 to 8 on the turbo DiT');
    assert.equal(allowedText('inference_steps', 'base'), 'an integer from 1 to 200');
    assert.equal(
      parameterProblem('lm_top_k', 2 ** 31 - 1, { field: 'sampling.top_k' }),
      'sampling.top_k must be an integer from 0 to 1000 (0 = off), got 2147483647',
    );
    assert.equal(parameterProblem('lm_top_k', 40), null);
  });

  it('help texts', () => {
    assert.equal(defaultText('inference_steps'), '8 on turbo, 32 on base and sft');
    assert.equal(defaultText('lm_temperature'), '0.85');
    assert.equal(defaultText('audio_duration'), 'auto');
    assert.equal(rangeText('inference_steps'), '1..200 (turbo: 1..8)');
    assert.equal(rangeText('lm_top_k'), '0..1000 (0 = off)');
  });
});
