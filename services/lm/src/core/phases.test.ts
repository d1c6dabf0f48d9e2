import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { audioCodesFromTokenIds } from './codes.ts';
import { buildUserMetadata, codeLimit, hasAllMetas, planPhases, targetCodesForDuration } from './phases.ts';

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

  it('builds user metadata like generate_music', () => {
    assert.deepEqual(
      buildUserMetadata({ bpm: 120.7, keyscale: ' G major ', timesignature: 'N/A', durationSeconds: 30.9 }),
      {
        bpm: 120,
        keyscale: 'G major',
        duration: 30,
      },
    );
    assert.equal(buildUserMetadata({ bpm: 0, keyscale: '', durationSeconds: -1 }), undefined);
  });

  it('skips Phase 1 when bpm, keyscale, timesignature and duration are all given', () => {
    const all = buildUserMetadata({ bpm: 90, keyscale: 'A minor', timesignature: '3', durationSeconds: 60 });
    assert.ok(hasAllMetas(all));
    assert.deepEqual(
      planPhases({ userMetadata: all, useCotMetas: true, thinking: true, hasUserAudioCodes: false }),
      {
        runPhase1: false,
        runPhase2: true,
      },
    );
    const some = buildUserMetadata({ bpm: 90 });
    assert.ok(!hasAllMetas(some));
    assert.deepEqual(
      planPhases({ userMetadata: some, useCotMetas: true, thinking: false, hasUserAudioCodes: false }),
      {
        runPhase1: true,
        runPhase2: false,
      },
    );
    assert.equal(
      planPhases({ userMetadata: some, useCotMetas: true, thinking: true, hasUserAudioCodes: true })
        .runPhase2,
      false,
    );
  });
});

describe('audio codes from token ids', () => {
  it('keeps the audio-code ids in order and skips the rest', () => {
    assert.deepEqual(audioCodesFromTokenIds([151669, 198, 151669 + 63999, 151645]), [0, 63999]);
  });
});
