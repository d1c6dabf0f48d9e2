import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { codeLimit, hasAllMetas, targetCodesForDuration } from './phases.ts';

describe('phase planning', () => {
  it('target codes = int(duration × 5)', () => {
    assert.equal(targetCodesForDuration(180), 900);
    assert.equal(targetCodesForDuration(30.3), 151);
    assert.equal(targetCodesForDuration(10.19), 50);
    assert.equal(targetCodesForDuration(-1), undefined);
    assert.equal(targetCodesForDuration(undefined), undefined);
  });

  it('code limit: the user target exactly; without one the official max_model_len − 64, within the context', () => {
    // With a duration: exactly int(duration × 5), whatever the prompt.
    assert.equal(codeLimit({ targetCodes: 900, maxModelLen: 4096, promptTokens: 700 }), 900);
    // Without: vllm max_tokens = max_model_len − 64 = 4032 for a short prompt ...
    assert.equal(codeLimit({ targetCodes: undefined, maxModelLen: 4096, promptTokens: 20 }), 4032);
    // ... and never past the context for a long one.
    assert.equal(codeLimit({ targetCodes: undefined, maxModelLen: 4096, promptTokens: 700 }), 3396);
    assert.equal(codeLimit({ targetCodes: undefined, maxModelLen: 4096, promptTokens: 5000 }), 0);
  });

  it('skips Phase 1 only when bpm, keyscale, timesignature and duration are all given', () => {
    assert.ok(hasAllMetas({ bpm: 90, keyscale: 'A minor', timesignature: '3', duration: 60 }));
    assert.ok(!hasAllMetas({ bpm: 90, keyscale: 'A minor', timesignature: '3' }));
    assert.ok(!hasAllMetas(undefined));
  });
});
