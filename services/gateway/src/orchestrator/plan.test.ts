import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { GenerationConfigSchema, TaskType } from '@acestep/proto/gateway';
import { create, type MessageInitShape } from '@bufbuild/protobuf';
import { ditConditioning, estimateDurationSeconds, lmChunks, planGeneration } from './plan.ts';
import type { Deployment } from './types.ts';
import { resolveConfig } from './validate.ts';

type Init = MessageInitShape<typeof GenerationConfigSchema>;

const base: Deployment = {
  ditVariant: 'base',
  maxBatch: 8,
  limits: { maxCaptionChars: 512, maxLyricsChars: 4096, maxDurationSeconds: 600 },
};
const SRC = { source: { case: 'objectId' as const, value: 'upload-1' } };
const THINK: Init = { useLlmThinking: true };
const ALL_METAS: Init = { bpm: 120, keyScale: 'C major', timeSignature: '4/4', audioDuration: 30 };

function resolved(init: Init) {
  return resolveConfig(create(GenerationConfigSchema, { caption: 'calm piano', ...init }), base);
}

function plan(init: Init) {
  const config = resolved(init);
  const seeds = Array.from({ length: config.batchSize }, (_, i) => BigInt(100 + i));
  return planGeneration(config, seeds);
}

describe('lmChunks', () => {
  it('splits the batch into chunks of lm_batch_chunk_size when batching is allowed', () => {
    assert.deepEqual(lmChunks(3, 2, true), [[0, 1], [2]]);
    assert.deepEqual(lmChunks(8, 4, true), [
      [0, 1, 2, 3],
      [4, 5, 6, 7],
    ]);
    assert.deepEqual(lmChunks(5, 8, true), [[0, 1, 2, 3, 4]]);
    assert.deepEqual(lmChunks(1, 4, true), [[0]]);
  });

  it('runs each item alone without allow_lm_batch', () => {
    assert.deepEqual(lmChunks(3, 2, false), [[0], [1], [2]]);
  });
});

describe('planGeneration: LM phases', () => {
  const cases: [string, Init, string][] = [
    ['no thinking', {}, 'none'],
    ['thinking, text2music', THINK, 'metadata+codes'],
    ['thinking, all four metas given', { ...THINK, ...ALL_METAS }, 'codes'],
    ['thinking, use_cot_metas false', { ...THINK, useCotMetas: false }, 'codes'],
    ['thinking, is_format_caption', { ...THINK, isFormatCaption: true }, 'codes'],
    ['thinking, user codes', { ...THINK, audioCodeString: ['<|audio_code_1|>'] }, 'metadata'],
    [
      'thinking, user codes and all metas',
      { ...THINK, ...ALL_METAS, audioCodeString: ['<|audio_code_1|>'] },
      'none',
    ],
    ['thinking, cover', { ...THINK, taskType: TaskType.COVER, srcAudio: SRC }, 'none'],
    ['thinking, repaint', { ...THINK, taskType: TaskType.REPAINT, srcAudio: SRC }, 'none'],
    [
      'thinking, lego',
      { ...THINK, taskType: TaskType.LEGO, srcAudio: SRC, instruction: 'Generate the bass track:' },
      'metadata',
    ],
  ];
  for (const [name, init, phases] of cases) {
    it(`${name} → ${phases}`, () => {
      const lm = plan(init).lm;
      assert.equal(lm.phases, phases, lm.reason);
      assert.equal(lm.chunks.length === 0, phases === 'none');
    });
  }

  it('forces the user metadata in the LM spelling', () => {
    const lm = plan({ ...THINK, bpm: 90, timeSignature: '6/8', audioDuration: 45.7, vocalLanguage: 'ja' }).lm;
    assert.deepEqual(lm.forced, { bpm: 90, duration: 45, timesignature: '6', language: 'ja' });
    assert.equal(lm.phases, 'metadata+codes', 'key_scale is still auto');
    assert.equal(lm.targetDurationSeconds, 45.7);
    assert.equal(lm.writesCaption, true);
    assert.equal(lm.writesLanguage, false, 'the language is given, so the LM does not choose it');
  });

  it('forces the keyscale in its canonical spelling', () => {
    assert.deepEqual(plan({ ...THINK, keyScale: 'ebm' }).lm.forced, { keyscale: 'Eb minor' });
  });

  it('writes caption and language per use_cot_*; no target without a duration', () => {
    const lm = plan({ ...THINK, useCotCaption: false }).lm;
    assert.deepEqual(lm.forced, {});
    assert.equal(lm.writesCaption, false);
    assert.equal(lm.writesLanguage, true);
    assert.equal(lm.targetDurationSeconds, null);
    assert.equal(plan({ ...THINK, ...ALL_METAS }).lm.writesCaption, false, 'no metadata phase, no caption');
  });

  it('chunks the batch for the LM', () => {
    assert.deepEqual(plan({ ...THINK, batchSize: 3, lmBatchChunkSize: 2, allowLmBatch: true }).lm.chunks, [
      [0, 1],
      [2],
    ]);
    const items = plan({ ...THINK, batchSize: 3 }).dit.items;
    assert.deepEqual(
      items.map((item) => item.lmChunk),
      [0, 1, 2],
    );
  });

  it('passes the LM sampling settings', () => {
    assert.deepEqual(plan({ ...THINK, lmTopK: 40, lmTopP: 1 }).lm.sampling, {
      temperature: 0.85,
      cfgScale: 2,
      topK: 40,
      topP: 1,
      negativePrompt: 'NO USER INPUT',
    });
  });
});

describe('planGeneration: VAE and DiT', () => {
  it('encodes the source audio for source tasks and the reference audio when given', () => {
    assert.deepEqual(plan({ taskType: TaskType.COVER, srcAudio: SRC }).vae, {
      encodeSrcAudio: true,
      encodeReferenceAudio: false,
    });
    assert.deepEqual(plan({ referenceAudio: SRC }).vae, {
      encodeSrcAudio: false,
      encodeReferenceAudio: true,
    });
    // Codes take the place of the source audio.
    assert.equal(
      plan({ taskType: TaskType.COVER, srcAudio: SRC, audioCodeString: ['<|audio_code_1|>'] }).vae
        .encodeSrcAudio,
      false,
    );
  });

  it('runs text2music with codes as cover, with the cover instruction unless one was given', () => {
    const withLm = plan(THINK).dit;
    assert.equal(withLm.task, 'cover');
    assert.equal(withLm.instruction, 'Generate audio semantic tokens based on the given conditions:');
    assert.deepEqual(withLm.items, [{ index: 0, seed: 100n, lmChunk: 0, codes: { source: 'lm' } }]);
    assert.equal(plan({ ...THINK, instruction: 'Mine:' }).dit.instruction, 'Mine:');
    const plain = plan({}).dit;
    assert.equal(plain.task, 'text2music');
    assert.equal(plain.instruction, 'Fill the audio semantic mask based on the given conditions:');
    assert.deepEqual(plain.items, [{ index: 0, seed: 100n, lmChunk: null, codes: { source: 'none' } }]);
  });

  it('gives user codes to every item, or entry i to item i', () => {
    const shared = plan({ batchSize: 2, audioCodeString: ['<|audio_code_1|><|audio_code_2|>'] }).dit.items;
    assert.deepEqual(
      shared.map((item) => item.codes),
      [
        { source: 'user', codes: [1, 2] },
        { source: 'user', codes: [1, 2] },
      ],
    );
    const perItem = plan({ batchSize: 2, audioCodeString: ['<|audio_code_1|>', '<|audio_code_3|>'] }).dit
      .items;
    assert.deepEqual(
      perItem.map((item) => [item.seed, item.codes]),
      [
        [100n, { source: 'user', codes: [1] }],
        [101n, { source: 'user', codes: [3] }],
      ],
    );
  });

  it('carries the DiT settings', () => {
    const dit = plan({
      inferenceSteps: 50,
      guidanceScale: 5,
      useAdg: true,
      cfgIntervalStart: 0.1,
      cfgIntervalEnd: 0.9,
    }).dit;
    assert.deepEqual(
      [dit.inferenceSteps, dit.guidanceScale, dit.useAdg, dit.cfgIntervalStart, dit.cfgIntervalEnd],
      [50, 5, true, 0.1, 0.9],
    );
  });

  it('needs one seed per item', () => {
    assert.throws(() => planGeneration(resolved({ batchSize: 2 }), [1n]), RangeError);
  });
});

describe('planGeneration: duration', () => {
  it('takes the length from codes, the source, the LM, the request, or the estimate', () => {
    const codes150 = '<|audio_code_7|>'.repeat(150);
    assert.deepEqual(plan({ batchSize: 2, audioCodeString: ['<|audio_code_7|>', codes150] }).duration, {
      source: 'codes',
      seconds: 30,
    });
    assert.deepEqual(plan({ taskType: TaskType.REPAINT, srcAudio: SRC, audioDuration: 50 }).duration, {
      source: 'source-audio',
    });
    assert.deepEqual(plan({ ...THINK, audioDuration: 50 }).duration, {
      source: 'lm-codes',
      targetSeconds: 50,
    });
    assert.deepEqual(plan(THINK).duration, { source: 'lm-codes', targetSeconds: null });
    assert.deepEqual(plan({ audioDuration: 50 }).duration, { source: 'user', seconds: 50 });
    assert.deepEqual(plan({}).duration, { source: 'estimate', seconds: 30 });
  });
});

describe('estimateDurationSeconds', () => {
  const lyrics = (lines: number) =>
    ['[verse]', ...Array.from({ length: lines }, (_, i) => `line ${i}`), '', '[chorus]'].join('\n');
  const est = (text: string, bpm: number | null = null, timeSignature: '' | '4/4' | '6/8' = '', max = 600) =>
    estimateDurationSeconds({ lyrics: text, instrumental: text.trim() === '', bpm, timeSignature }, max);

  it('instrumental → 30 s', () => {
    assert.equal(est(''), 30);
  });

  it('10 s plus 4 s per sung line when bpm is auto; section tags and blank lines do not count', () => {
    assert.equal(est(lyrics(20)), 90); // 10 + 20 × 4
  });

  it('two bars per line at the given bpm and time signature', () => {
    assert.equal(est(lyrics(20), 100, '4/4'), 106); // 10 + 20 × (2 × 4 × 60 / 100)
    assert.equal(est(lyrics(20), 120, '6/8'), 130); // 10 + 20 × (2 × 6 × 60 / 120)
  });

  it('clamps to [30, max]', () => {
    assert.equal(est(lyrics(2)), 30);
    assert.equal(est(lyrics(200)), 600);
    assert.equal(est(lyrics(200), null, '', 240), 240);
  });
});

describe('ditConditioning', () => {
  const lmMeta = {
    bpm: 128,
    caption: 'LM caption',
    duration: 95,
    keyscale: 'D minor',
    language: 'de',
    timesignature: '3',
  };

  it('fills what the request left on auto from the LM, and takes the LM caption', () => {
    const config = resolved(THINK);
    assert.deepEqual(ditConditioning(config, planGeneration(config, [1n]), lmMeta), {
      caption: 'LM caption',
      lyrics: '',
      vocalLanguage: 'de',
      metas: { bpm: 128, keyScale: 'D minor', timeSignature: '3/4', durationSeconds: 95 },
    });
  });

  it('keeps the user values', () => {
    const config = resolved({
      ...THINK,
      bpm: 90,
      keyScale: 'A minor',
      vocalLanguage: 'en',
      useCotCaption: false,
    });
    assert.deepEqual(ditConditioning(config, planGeneration(config, [1n]), lmMeta), {
      caption: 'calm piano',
      lyrics: '',
      vocalLanguage: 'en',
      metas: { bpm: 90, keyScale: 'A minor', timeSignature: '3/4', durationSeconds: 95 },
    });
  });

  it('drops LM values outside the vocabularies, and uses the request alone without the LM', () => {
    const config = resolved(THINK);
    const odd = { bpm: 999, keyscale: 'X lydian', language: 'klingon', timesignature: '5', duration: 0 };
    assert.deepEqual(ditConditioning(config, planGeneration(config, [1n]), odd).metas, {
      bpm: null,
      keyScale: '',
      timeSignature: '',
      durationSeconds: null,
    });
    const noLm = resolved({ audioDuration: 20 });
    assert.deepEqual(ditConditioning(noLm, planGeneration(noLm, [1n]), null), {
      caption: 'calm piano',
      lyrics: '',
      vocalLanguage: 'unknown',
      metas: { bpm: null, keyScale: '', timeSignature: '', durationSeconds: 20 },
    });
  });
});
