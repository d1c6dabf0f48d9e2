import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  buildGenerationInfo,
  buildStatusMessage,
  failureStatus,
  lmFailureStatus,
  pyExp2,
  pyFixed2,
} from './generation-info.ts';

describe('pyFixed2 / pyExp2', () => {
  it('match Python formatting', () => {
    // Expected values printed by /usr/bin/python3:
    // f"{0.125:.2f} {0.375:.2f} {2.675:.2f} {1.005:.2f} {9.999:.2f} {0.625:.2f} {-0.125:.2f}"
    //   -> 0.12 0.38 2.67 1.00 10.00 0.62 -0.12
    // f"{1.234e-6:.2e} {0.0:.2e} {12345.0:.2e}" -> 1.23e-06 0.00e+00 1.23e+04
    assert.deepEqual([0.125, 0.375, 2.675, 1.005, 9.999, 0.625, -0.125].map(pyFixed2), [
      '0.12',
      '0.38',
      '2.67',
      '1.00',
      '10.00',
      '0.62',
      '-0.12',
    ]);
    assert.deepEqual([1.234e-6, 0, 12345].map(pyExp2), ['1.23e-06', '0.00e+00', '1.23e+04']);
  });
});

describe('buildGenerationInfo', () => {
  it('renders every section for a run with the LM', () => {
    const info = buildGenerationInfo({
      lmMetadata: {
        bpm: 120,
        caption: 'A bright pop song.',
        duration: 30,
        keyscale: 'G major',
        language: 'en',
        timesignature: '4',
      },
      timings: {
        lmPhase1: 1200,
        lmPhase2: 3400,
        lmTotal: 4600,
        ditEncoder: 50,
        ditModel: 900,
        vaeDecode: 300,
        ditTotal: 1250,
        audioConversion: 125,
      },
      seedValue: '42, 43',
      inferenceSteps: 8,
      audioCount: 2,
    });
    const expected = [
      '**🎯 Average Time per Track: 2.92s** (2 track(s))',
      '',
      '**🤖 LM-Generated Metadata:**',
      '- **BPM:** 120',
      '- **Refined Caption:** A bright pop song.',
      '- **Duration:** 30 seconds',
      '- **Key Scale:** G major',
      '- **Language:** en',
      '- **Time Signature:** 4',
      '',
      '**🧠 LM Time:**',
      '  - Phase 1 (CoT): 1.20s',
      '  - Phase 2 (Codes): 3.40s',
      '  - Total: 4.60s',
      '',
      '**🎵 DiT Time:**',
      '  - Encoder: 0.05s',
      '  - Model: 0.90s',
      '  - VAE Decode: 0.30s',
      '  - Total: 1.25s',
      '',
      '**🔧 Post-processing Time:**',
      '  - Audio Conversion: 0.12s',
      '',
      '**🎵 Generation Complete**',
      '  - **Seeds:** 42, 43',
      '  - **Steps:** 8',
      '  - **Audio Count:** 2 audio(s)',
      '',
      '**⏱️ Total Time: 5.85s**',
    ].join('\n');
    assert.equal(info, expected);
  });

  it("leaves out the LM sections without the LM (keeping the reference's blank line before DiT Time)", () => {
    const info = buildGenerationInfo({
      lmMetadata: null,
      timings: { ditModel: 500, ditTotal: 750 },
      seedValue: '7',
      inferenceSteps: 8,
      audioCount: 1,
    });
    assert.equal(
      info,
      '**🎯 Average Time per Track: 0.75s** (1 track(s))\n\n' +
        '\n**🎵 DiT Time:**\n  - Model: 0.50s\n  - Total: 0.75s\n\n' +
        '**🎵 Generation Complete**\n  - **Seeds:** 7\n  - **Steps:** 8\n  - **Audio Count:** 1 audio(s)\n\n' +
        '**⏱️ Total Time: 0.75s**',
    );
  });

  it('is only the summary when nothing was timed', () => {
    assert.equal(
      buildGenerationInfo({ lmMetadata: {}, timings: {}, seedValue: '1', inferenceSteps: 4, audioCount: 0 }),
      '**🎵 Generation Complete**\n  - **Seeds:** 1\n  - **Steps:** 4\n  - **Audio Count:** 0 audio(s)',
    );
  });
});

describe('buildStatusMessage', () => {
  it('one line per LM chunk, then the success line', () => {
    assert.equal(
      buildStatusMessage({
        lmChunks: [
          { phase1: 1200, phase2: 3400, total: 4600 },
          { phase1: 1000, phase2: 0, total: 1000 },
        ],
      }),
      '✅ LM chunk 1: phase1_time: 1.20s, phase2_time: 3.40s, total_time: 4.60s\n' +
        '✅ LM chunk 2: phase1_time: 1.00s, phase2_time: 0.00s, total_time: 1.00s\n' +
        '✅ Generation completed successfully!',
    );
  });

  it('puts a silent-output warning in front and notes last', () => {
    assert.equal(
      buildStatusMessage({
        lmChunks: [],
        silentItems: [{ index: 1, rms: 2.5e-6 }],
        notes: ['seed is ignored because use_random_seed is true'],
      }),
      '⚠️ Silent output detected:\nOutput 2: silent or near-silent (RMS≈2.50e-06).\n\n' +
        '✅ Generation completed successfully!\nℹ️ seed is ignored because use_random_seed is true',
    );
  });

  it('failure texts', () => {
    assert.equal(lmFailureStatus('boom'), '❌ LM generation failed: boom');
    assert.equal(failureStatus('boom'), 'Error: boom');
  });
});
