import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AudioFormat, GenerationConfigSchema, TaskType } from '@acestep/proto/gateway';
import { create, type MessageInitShape } from '@bufbuild/protobuf';
import type { Deployment } from './types.ts';
import { ConfigValidationError, resolveConfig } from './validate.ts';

type Init = MessageInitShape<typeof GenerationConfigSchema>;

const turbo: Deployment = {
  ditVariant: 'turbo',
  maxBatch: 8,
  limits: { maxCaptionChars: 512, maxLyricsChars: 4096, maxDurationSeconds: 600 },
};
const base: Deployment = { ...turbo, ditVariant: 'base' };
const sft: Deployment = { ...turbo, ditVariant: 'sft' };

const SRC = { source: { case: 'objectId' as const, value: 'upload-1' } };

function config(init: Init) {
  return create(GenerationConfigSchema, { caption: 'calm piano', ...init });
}

function resolve(init: Init, deployment: Deployment = turbo) {
  return resolveConfig(config(init), deployment);
}

function problemsOf(init: Init, deployment: Deployment = turbo): ConfigValidationError {
  try {
    resolve(init, deployment);
  } catch (error) {
    assert.ok(error instanceof ConfigValidationError, `expected ConfigValidationError, got ${error}`);
    return error;
  }
  assert.fail(`expected ${show(init)} to be rejected`);
}

function show(init: Init): string {
  return JSON.stringify(init, (_key, value) => (typeof value === 'bigint' ? String(value) : value));
}

/** The value is rejected, with exactly one problem on `field` whose allowed text contains `allowed`. */
function assertRejected(init: Init, field: string, allowed: string, deployment: Deployment = turbo): void {
  const error = problemsOf(init, deployment);
  assert.equal(error.field, field);
  assert.equal(error.code, 'INVALID_ARGUMENT');
  assert.equal(error.problems.length, 1, error.message);
  assert.ok(error.allowed.includes(allowed), `allowed "${error.allowed}" should contain "${allowed}"`);
  assert.ok(error.message.startsWith(`${field}: `), error.message);
  assert.ok(error.message.includes(allowed), error.message);
}

describe('resolveConfig defaults', () => {
  it('fills every spec default for a bare text2music request', () => {
    const resolved = resolve({});
    assert.deepEqual(resolved, {
      taskType: 'text2music',
      caption: 'calm piano',
      lyrics: '',
      instrumental: true,
      bpm: null,
      keyScale: '',
      timeSignature: '',
      vocalLanguage: 'unknown',
      audioDuration: null,
      inferenceSteps: 8,
      guidanceScale: 7,
      useRandomSeed: true,
      seed: -1n,
      batchSize: 1,
      useAdg: false,
      cfgIntervalStart: 0,
      cfgIntervalEnd: 1,
      audioFormat: 'mp3',
      referenceAudio: null,
      srcAudio: null,
      audioCodes: [],
      repaintingStart: 0,
      repaintingEnd: -1,
      audioCoverStrength: 1,
      repaintInjectionRatio: 0.5,
      repaintCrossfadeFrames: 10,
      instruction: 'Fill the audio semantic mask based on the given conditions:',
      instructionGiven: false,
      useLlmThinking: false,
      lmTemperature: 0.85,
      lmCfgScale: 2,
      lmTopK: 0,
      lmTopP: 0.9,
      lmNegativePrompt: 'NO USER INPUT',
      useCotMetas: true,
      useCotCaption: true,
      useCotLanguage: true,
      isFormatCaption: false,
      constrainedDecodingDebug: false,
      allowLmBatch: false,
      lmBatchChunkSize: 4,
      notes: [],
    });
  });

  it('keeps given values and maps the enums', () => {
    const resolved = resolve({
      taskType: TaskType.COVER,
      srcAudio: { source: { case: 'data', value: new Uint8Array([1, 2, 3]) } },
      audioFormat: AudioFormat.FLAC,
      bpm: 120,
      audioDuration: 42.5,
      useRandomSeed: false,
      seed: 7n,
      instruction: 'My own instruction:',
      lyrics: '[verse]\nla la',
    });
    assert.equal(resolved.taskType, 'cover');
    assert.deepEqual(resolved.srcAudio, { kind: 'data', data: new Uint8Array([1, 2, 3]) });
    assert.equal(resolved.audioFormat, 'flac');
    assert.equal(resolved.bpm, 120);
    assert.equal(resolved.audioDuration, 42.5);
    assert.equal(resolved.seed, 7n);
    assert.equal(resolved.instruction, 'My own instruction:');
    assert.equal(resolved.instructionGiven, true);
    assert.equal(resolved.instrumental, false);
  });

  it('gives each task its default instruction', () => {
    assert.equal(
      resolve({ taskType: TaskType.REPAINT, srcAudio: SRC }).instruction,
      'Repaint the mask area based on the given conditions:',
    );
    assert.equal(
      resolve({ taskType: TaskType.COVER, srcAudio: SRC }).instruction,
      'Generate audio semantic tokens based on the given conditions:',
    );
  });

  it('treats "[Instrumental]" lyrics as instrumental', () => {
    assert.equal(resolve({ lyrics: ' [Instrumental] ' }).instrumental, true);
    assert.equal(resolve({ lyrics: '[inst]' }).instrumental, true);
  });
});

describe('resolveConfig ranges', () => {
  // [field in the spec, init with a value just inside, init just outside, text of the allowed range]
  const cases: [string, Init[], Init[], string, Deployment?][] = [
    ['bpm', [{ bpm: 30 }, { bpm: 300 }], [{ bpm: 29 }, { bpm: 301 }, { bpm: 120.5 }], 'from 30 to 300'],
    [
      'audio_duration',
      [{ audioDuration: 10 }, { audioDuration: 600 }],
      [{ audioDuration: 9.99 }, { audioDuration: 600.01 }, { audioDuration: Number.NaN }],
      'from 10 to 600',
    ],
    [
      'inference_steps',
      [{ inferenceSteps: 1 }, { inferenceSteps: 8 }],
      [{ inferenceSteps: 0 }, { inferenceSteps: 9 }],
      'from 1 to 8',
    ],
    ['inference_steps', [{ inferenceSteps: 200 }], [{ inferenceSteps: 201 }], 'from 1 to 200', base],
    ['inference_steps', [{ inferenceSteps: 200 }], [{ inferenceSteps: 201 }], 'from 1 to 200', sft],
    [
      'guidance_scale',
      [{ guidanceScale: 1 }, { guidanceScale: 15 }],
      [{ guidanceScale: 0.99 }, { guidanceScale: 15.01 }],
      'from 1 to 15',
      base,
    ],
    ['batch_size', [{ batchSize: 1 }, { batchSize: 8 }], [{ batchSize: 0 }, { batchSize: 9 }], 'from 1 to 8'],
    [
      'cfg_interval_start',
      [{ cfgIntervalStart: 0 }, { cfgIntervalStart: 1 }],
      [{ cfgIntervalStart: -0.01 }, { cfgIntervalStart: 1.01 }],
      'from 0 to 1',
    ],
    [
      'cfg_interval_end',
      [{ cfgIntervalEnd: 0 }, { cfgIntervalEnd: 1 }],
      [{ cfgIntervalEnd: -0.01 }, { cfgIntervalEnd: 1.01 }],
      'from 0 to 1',
    ],
    [
      'cfg_interval_end',
      [{ cfgIntervalStart: 0.4, cfgIntervalEnd: 0.4 }],
      [{ cfgIntervalStart: 0.4, cfgIntervalEnd: 0.39 }],
      'from cfg_interval_start (0.4) to 1',
    ],
    [
      'audio_cover_strength',
      [{ audioCoverStrength: 0 }, { audioCoverStrength: 1 }],
      [{ audioCoverStrength: -0.01 }, { audioCoverStrength: 1.01 }],
      'from 0 to 1',
    ],
    [
      'repaint_injection_ratio',
      [{ repaintInjectionRatio: 0 }, { repaintInjectionRatio: 1 }],
      [{ repaintInjectionRatio: -0.01 }, { repaintInjectionRatio: 1.01 }],
      'from 0 to 1',
    ],
    [
      'repaint_crossfade_frames',
      [{ repaintCrossfadeFrames: 0 }, { repaintCrossfadeFrames: 250 }],
      [{ repaintCrossfadeFrames: -1 }, { repaintCrossfadeFrames: 251 }],
      'integer from 0 to 250',
    ],
    [
      'lm_temperature',
      [{ lmTemperature: 0 }, { lmTemperature: 2 }],
      [{ lmTemperature: -0.01 }, { lmTemperature: 2.01 }],
      'from 0 to 2',
    ],
    [
      'lm_cfg_scale',
      [{ lmCfgScale: 1 }, { lmCfgScale: 5 }],
      [{ lmCfgScale: 0.99 }, { lmCfgScale: 5.01 }],
      'from 1 to 5',
    ],
    [
      'lm_top_k',
      [{ lmTopK: 0 }, { lmTopK: 100 }, { lmTopK: 1000 }],
      [{ lmTopK: -1 }, { lmTopK: 1001 }, { lmTopK: 2 ** 31 - 1 }],
      'an integer from 0 to 1000 (0 = off)',
    ],
    ['lm_top_p', [{ lmTopP: 0 }, { lmTopP: 1 }], [{ lmTopP: -0.01 }, { lmTopP: 1.01 }], 'from 0 to 1'],
    [
      'lm_batch_chunk_size',
      [{ lmBatchChunkSize: 1 }, { lmBatchChunkSize: 8 }],
      [{ lmBatchChunkSize: 0 }, { lmBatchChunkSize: 9 }],
      'from 1 to 8',
    ],
    [
      'repainting_start',
      [{ repaintingStart: 0 }, { repaintingStart: 600 }],
      [{ repaintingStart: -0.01 }, { repaintingStart: 600.01 }],
      'a number from 0 to 600',
    ],
    [
      'repainting_end',
      [
        { repaintingStart: 10, repaintingEnd: 10.01 },
        { repaintingStart: 10, repaintingEnd: -1 },
      ],
      [
        { repaintingStart: 10, repaintingEnd: 10 },
        { repaintingStart: 10, repaintingEnd: -0.5 },
      ],
      '-1 (end of the source) or seconds > repainting_start (10)',
    ],
    [
      'seed',
      [{ seed: -1n }, { seed: 0n }, { seed: (1n << 63n) - 1n }],
      [{ seed: -2n }],
      '-1 (random) or an integer from 0',
    ],
  ];

  for (const [field, inside, outside, allowed, deployment = turbo] of cases) {
    it(`${field} on ${deployment.ditVariant}: inside ok, outside names the field and "${allowed}"`, () => {
      for (const init of inside) assert.doesNotThrow(() => resolve(init, deployment), show(init));
      for (const init of outside) assertRejected(init, field, allowed, deployment);
    });
  }

  it('error message names the field, the value given and the allowed range', () => {
    const error = problemsOf({ bpm: 301 });
    assert.equal(error.message, 'bpm: 301 is not allowed; allowed: an integer from 30 to 300');
    assert.equal(error.problems[0]?.given, '301');
    const steps = problemsOf({ inferenceSteps: 9 });
    assert.equal(
      steps.message,
      'inference_steps: 9 is not allowed; allowed: an integer from 1 to 8 on the turbo DiT',
    );
  });

  it('applies the deployment limits: max batch, max duration, caption and lyrics size', () => {
    const small: Deployment = {
      ditVariant: 'turbo',
      maxBatch: 4,
      limits: { maxCaptionChars: 10, maxLyricsChars: 20, maxDurationSeconds: 240 },
    };
    assert.doesNotThrow(() => resolveConfig(config({ batchSize: 4, audioDuration: 240 }), small));
    assertRejected({ batchSize: 5 }, 'batch_size', 'from 1 to 4', small);
    assertRejected({ audioDuration: 240.5 }, 'audio_duration', 'from 10 to 240', small);
    // Characters are code points: ten emoji fit in ten.
    assert.doesNotThrow(() => resolveConfig(config({ caption: '🎹'.repeat(10) }), small));
    assertRejected({ caption: 'a'.repeat(11) }, 'caption', 'at most 10 characters', small);
    assert.doesNotThrow(() => resolveConfig(config({ lyrics: 'b'.repeat(20) }), small));
    assertRejected({ lyrics: 'b'.repeat(21) }, 'lyrics', 'at most 20 characters', small);
  });

  it('rejects enum values it does not know', () => {
    assertRejected(
      { taskType: 9 as TaskType },
      'task_type',
      'text2music, cover, repaint, lego, extract, complete',
    );
    assertRejected({ audioFormat: 7 as AudioFormat }, 'audio_format', 'mp3, wav, flac');
  });
});

describe('resolveConfig vocabularies', () => {
  it('key_scale: the 70 LM keyscales, case-insensitive, with short forms', () => {
    const accepted: [string, string][] = [
      ['C major', 'C major'],
      ['f# Minor', 'F# minor'],
      ['B♭ major', 'B♭ major'],
      ['Am', 'A minor'],
      ['Bb', 'Bb major'],
      ['Ebm', 'Eb minor'],
      ['G MAJOR', 'G major'],
      ['', ''],
      ['N/A', ''],
    ];
    for (const [given, expected] of accepted)
      assert.equal(resolve({ keyScale: given }).keyScale, expected, given);
    for (const given of ['H major', 'C dorian', 'CM', 'C## major', 'Cb5']) {
      assertRejected({ keyScale: given }, 'key_scale', 'major or minor');
    }
  });

  it('time_signature: 2/4, 3/4, 4/4, 6/8 or the LM numerator', () => {
    const accepted: [string, string][] = [
      ['4/4', '4/4'],
      ['6/8', '6/8'],
      ['3', '3/4'],
      ['6', '6/8'],
      ['', ''],
    ];
    for (const [given, expected] of accepted) {
      assert.equal(resolve({ timeSignature: given }).timeSignature, expected, given);
    }
    for (const given of ['5/4', '7/8', '4/3', '12/8']) {
      assertRejected({ timeSignature: given }, 'time_signature', '"2/4", "3/4", "4/4", "6/8"');
    }
  });

  it('vocal_language: the 51 LM codes, lowercased; "" = unknown', () => {
    assert.equal(resolve({ vocalLanguage: 'EN' }).vocalLanguage, 'en');
    assert.equal(resolve({ vocalLanguage: 'yue' }).vocalLanguage, 'yue');
    assert.equal(resolve({ vocalLanguage: '' }).vocalLanguage, 'unknown');
    assertRejected({ vocalLanguage: 'english' }, 'vocal_language', 'en');
    assertRejected({ vocalLanguage: 'xx' }, 'vocal_language', 'unknown');
  });
});

describe('resolveConfig audio codes', () => {
  const codes = (...n: number[]) => n.map((c) => `<|audio_code_${c}|>`).join('');

  it('parses one entry for all items, or one per item', () => {
    assert.deepEqual(resolve({ audioCodeString: [codes(0, 63999, 5)] }).audioCodes, [[0, 63999, 5]]);
    assert.deepEqual(
      resolve({ batchSize: 2, audioCodeString: [codes(1), ` ${codes(2)}\n${codes(3)} `] }).audioCodes,
      [[1], [2, 3]],
    );
  });

  it('treats blank entries as no codes', () => {
    assert.deepEqual(resolve({ audioCodeString: [''] }).audioCodes, []);
  });

  it('rejects a count other than 1 or batch_size', () => {
    assertRejected(
      { batchSize: 2, audioCodeString: [codes(1), codes(2), codes(3)] },
      'audio_code_string',
      '1 entry',
    );
  });

  it('rejects malformed tokens and codes outside the codebook', () => {
    assertRejected({ audioCodeString: [codes(64000)] }, 'audio_code_string[0]', 'N from 0 to 63999');
    assertRejected({ audioCodeString: ['<|audio_code_01|>'] }, 'audio_code_string[0]', 'N from 0 to 63999');
    assertRejected({ audioCodeString: [`${codes(1)} hello`] }, 'audio_code_string[0]', 'N from 0 to 63999');
  });

  it('rejects more codes than the longest audio', () => {
    const small: Deployment = { ...turbo, limits: { ...turbo.limits, maxDurationSeconds: 10 } };
    const fifty = Array.from({ length: 50 }, (_, i) => i);
    assert.doesNotThrow(() => resolveConfig(config({ audioCodeString: [codes(...fifty)] }), small));
    assertRejected(
      { audioCodeString: [codes(...fifty, 50)] },
      'audio_code_string[0]',
      'at most 50 codes',
      small,
    );
  });

  it('rejects codes for tasks that work on the source audio', () => {
    assertRejected(
      { taskType: TaskType.REPAINT, srcAudio: SRC, audioCodeString: [codes(1)] },
      'audio_code_string',
      'empty',
    );
  });
});

describe('resolveConfig per-task inputs', () => {
  it('text2music needs a caption or lyrics', () => {
    assert.doesNotThrow(() => resolve({ caption: '', lyrics: 'la la' }));
    assertRejected({ caption: ' ', lyrics: '' }, 'caption', 'a non-empty caption or lyrics');
  });

  it('cover needs src_audio (or codes) and a caption', () => {
    assert.doesNotThrow(() => resolve({ taskType: TaskType.COVER, srcAudio: SRC }));
    assert.doesNotThrow(() => resolve({ taskType: TaskType.COVER, audioCodeString: ['<|audio_code_1|>'] }));
    assertRejected({ taskType: TaskType.COVER }, 'src_audio', 'uploaded bytes or an object_id');
    assertRejected(
      { taskType: TaskType.COVER, srcAudio: SRC, caption: '' },
      'caption',
      'a non-empty caption',
    );
  });

  it('repaint needs src_audio and a caption', () => {
    assert.doesNotThrow(() => resolve({ taskType: TaskType.REPAINT, srcAudio: SRC }));
    assertRejected({ taskType: TaskType.REPAINT }, 'src_audio', 'uploaded bytes or an object_id');
    assertRejected(
      { taskType: TaskType.REPAINT, srcAudio: SRC, caption: '' },
      'caption',
      'a non-empty caption',
    );
    // An empty AudioSource is no audio.
    assertRejected({ taskType: TaskType.REPAINT, srcAudio: {} }, 'src_audio', 'an object_id');
  });

  it('lego and complete need src_audio, an instruction and a caption; extract no caption', () => {
    const instruction = 'Generate the guitar track based on the audio context:';
    for (const taskType of [TaskType.LEGO, TaskType.COMPLETE]) {
      assert.doesNotThrow(() => resolve({ taskType, srcAudio: SRC, instruction }, base));
      const error = problemsOf({ taskType, caption: '' }, base);
      assert.deepEqual(
        error.problems.map((p) => p.field),
        ['src_audio', 'instruction', 'caption'],
      );
    }
    assert.doesNotThrow(() =>
      resolve(
        { taskType: TaskType.EXTRACT, srcAudio: SRC, caption: '', instruction: 'Extract the vocals track' },
        base,
      ),
    );
    const extract = problemsOf({ taskType: TaskType.EXTRACT, caption: '' }, base);
    assert.deepEqual(
      extract.problems.map((p) => p.field),
      ['src_audio', 'instruction'],
    );
  });
});

describe('resolveConfig deployment preconditions', () => {
  const lego: Init = { taskType: TaskType.LEGO, srcAudio: SRC, instruction: 'Generate the bass track:' };

  it('base-only tasks need the base DiT', () => {
    assert.doesNotThrow(() => resolve(lego, base));
    for (const [deployment, taskType] of [
      [turbo, TaskType.LEGO],
      [sft, TaskType.EXTRACT],
      [turbo, TaskType.COMPLETE],
    ] as const) {
      const error = problemsOf({ ...lego, taskType }, deployment);
      assert.equal(error.code, 'FAILED_PRECONDITION');
      assert.equal(error.field, 'task_type');
      assert.equal(error.allowed, 'text2music, cover, repaint on this deployment');
      const name = ['', '', '', '', 'lego', 'extract', 'complete'][taskType];
      assert.ok(error.message.includes(`${name} needs the base DiT (acestep-v15-base)`), error.message);
      assert.ok(error.message.includes(`runs the ${deployment.ditVariant} DiT`), error.message);
    }
  });
});

describe('resolveConfig collects every problem', () => {
  it('reports all problems in field order, the first as the main one', () => {
    const error = problemsOf({ bpm: 10, guidanceScale: 20, batchSize: 0, lmTopP: 2 });
    assert.deepEqual(
      error.problems.map((p) => p.field),
      ['bpm', 'guidance_scale', 'batch_size', 'lm_top_p'],
    );
    assert.equal(error.field, 'bpm');
    assert.equal(error.allowed, 'an integer from 30 to 300');
    assert.equal(
      error.message,
      'bpm: 10 is not allowed; allowed: an integer from 30 to 300; ' +
        'guidance_scale: 20 is not allowed; allowed: a number from 1 to 15; ' +
        'batch_size: 0 is not allowed; allowed: an integer from 1 to 8; ' +
        'lm_top_p: 2 is not allowed; allowed: a number from 0 to 1 (1 = off)',
    );
  });

  it('an invalid argument is the main problem even after a failed precondition', () => {
    const error = problemsOf(
      { taskType: TaskType.LEGO, srcAudio: SRC, instruction: 'Generate the bass track:', bpm: 500 },
      turbo,
    );
    assert.deepEqual(
      error.problems.map((p) => [p.field, p.code]),
      [
        ['bpm', 'INVALID_ARGUMENT'],
        ['task_type', 'FAILED_PRECONDITION'],
      ],
    );
    assert.equal(error.code, 'INVALID_ARGUMENT');
    assert.equal(error.field, 'bpm');
  });
});

describe('resolveConfig per-variant defaults and stage limits', () => {
  it("inference_steps unset: 8 on turbo, 32 on base and sft, or the DiT manifest's default", () => {
    assert.equal(resolve({}).inferenceSteps, 8);
    assert.equal(resolve({}, base).inferenceSteps, 32);
    assert.equal(resolve({}, sft).inferenceSteps, 32);
    assert.equal(resolve({}, { ...base, defaultInferenceSteps: 50 }).inferenceSteps, 50);
    assert.equal(resolve({ inferenceSteps: 8 }, base).inferenceSteps, 8);
    assert.deepEqual(resolve({}, base).notes, []);
  });

  it('turbo runs its fixed 8 steps whatever is asked, and says so', () => {
    const four = resolve({ inferenceSteps: 4 });
    assert.equal(four.inferenceSteps, 8);
    assert.deepEqual(four.notes, ['inference_steps 4 runs as 8: the turbo DiT has a fixed 8-step schedule']);
    assert.deepEqual(resolve({ inferenceSteps: 8 }).notes, []);
  });

  it("lm_batch_chunk_size above the LM's --max-batch runs as the LM's limit", () => {
    const lm2: Deployment = { ...turbo, lmMaxBatch: 2 };
    const asked = resolve({ lmBatchChunkSize: 8, allowLmBatch: true, batchSize: 5 }, lm2);
    assert.equal(asked.lmBatchChunkSize, 2);
    assert.deepEqual(asked.notes, [
      'lm_batch_chunk_size 8 runs as 2: the LM takes at most 2 sequences per call',
    ]);
    assert.equal(resolve({ lmBatchChunkSize: 2 }, lm2).lmBatchChunkSize, 2);
    assert.equal(resolve({ lmBatchChunkSize: 8 }, turbo).lmBatchChunkSize, 8);
    // The table's range still holds: 9 is refused whatever the LM takes.
    assertRejected({ lmBatchChunkSize: 9 }, 'lm_batch_chunk_size', 'from 1 to 8', lm2);
  });
});

describe('resolveConfig notes', () => {
  it('notes settings the deployment or task ignores', () => {
    assert.deepEqual(resolve({ useAdg: true, guidanceScale: 5 }).notes, [
      'guidance_scale is ignored: the turbo DiT runs without classifier-free guidance',
      'use_adg is ignored: adaptive dual guidance needs the base DiT (this is turbo)',
    ]);
    assert.deepEqual(resolve({ useAdg: true, guidanceScale: 5 }, base).notes, []);
    assert.deepEqual(resolve({ taskType: TaskType.COVER, srcAudio: SRC, useLlmThinking: true }).notes, [
      "use_llm_thinking is ignored: the LM does not run for cover (it keeps the source's structure)",
    ]);
    assert.deepEqual(resolve({ seed: 5n }).notes, ['seed is ignored because use_random_seed is true']);
    assert.deepEqual(resolve({ taskType: TaskType.REPAINT, srcAudio: SRC, audioDuration: 20 }).notes, [
      'audio_duration is ignored: repaint keeps the length of src_audio',
    ]);
  });
});
