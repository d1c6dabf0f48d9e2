import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  AudioFormatSchema,
  GenerateRequestSchema,
  GenerationConfigSchema,
  GenerationResultSchema,
  TaskTypeSchema,
} from '@acestep/proto/gateway';
import { create } from '@bufbuild/protobuf';
import { Code } from '@connectrpc/connect';
import { decodeJson, encodeJson, enumWords, JsonInputError } from './json-codec.ts';

function rejects(fn: () => unknown, field: string, pattern: RegExp): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof JsonInputError, String(error));
    assert.equal(error.code, Code.InvalidArgument);
    assert.equal(error.field, field);
    assert.match(error.rawMessage, pattern);
    return true;
  });
}

describe('json codec', () => {
  for (const [field, desc] of [
    ['task_type', TaskTypeSchema],
    ['audio_format', AudioFormatSchema],
  ] as const) {
    it(`accepts every ${field} value as the spec word (any case), the proto name and the number`, () => {
      for (const value of desc.values.filter((v) => v.number !== 0)) {
        const word = value.name.toLowerCase().replace(desc.sharedPrefix ?? '', '');
        for (const spelling of [word, word.toUpperCase(), ` ${word} `, value.name, value.number]) {
          const config = decodeJson(GenerationConfigSchema, { [field]: spelling });
          assert.equal(
            config[field === 'task_type' ? 'taskType' : 'audioFormat'],
            value.number,
            `${spelling}`,
          );
        }
      }
    });
  }

  it('spells the spec words of the enums', () => {
    assert.deepEqual(enumWords(TaskTypeSchema), [
      'text2music',
      'cover',
      'repaint',
      'lego',
      'extract',
      'complete',
    ]);
    assert.deepEqual(enumWords(AudioFormatSchema), ['mp3', 'wav', 'flac']);
  });

  it('accepts snake_case and lowerCamel field names, nested', () => {
    const req = decodeJson(GenerateRequestSchema, {
      config: { caption: 'x', audioDuration: 30, key_scale: 'C major', src_audio: { object_id: 'abc' } },
    });
    assert.equal(req.config?.audioDuration, 30);
    assert.equal(req.config?.keyScale, 'C major');
    assert.deepEqual(req.config?.srcAudio?.source, { case: 'objectId', value: 'abc' });
  });

  it('rejects an unknown field, naming it with its path and listing the fields', () => {
    rejects(
      () => decodeJson(GenerateRequestSchema, { config: { thinking: true } }),
      'config.thinking',
      /caption/,
    );
    rejects(() => decodeJson(GenerationConfigSchema, { prompt: 'x' }), 'prompt', /unknown field "prompt"/);
  });

  it('rejects a bad enum value, naming the field and the allowed words', () => {
    rejects(
      () => decodeJson(GenerateRequestSchema, { config: { task_type: 'remix' } }),
      'config.task_type',
      /"remix".*"text2music", "cover", "repaint", "lego", "extract", "complete"/,
    );
    rejects(
      () => decodeJson(GenerationConfigSchema, { audio_format: 9 }),
      'audio_format',
      /"mp3", "wav", "flac"/,
    );
  });

  it('rejects a wrongly typed scalar, naming the field', () => {
    rejects(() => decodeJson(GenerationConfigSchema, { bpm: 'fast' }), 'bpm', /bpm/);
  });

  it('writes proto names and 64-bit integers within 2^53 as numbers', () => {
    const json = encodeJson(
      GenerationResultSchema,
      create(GenerationResultSchema, {
        seedValue: '7',
        audio: [
          { objectId: 'a', sizeBytes: 1234n, seed: 42n },
          { objectId: 'b', seed: 2n ** 60n },
        ],
        audioPaths: ['/v1/objects/a'],
      }),
    );
    assert.deepEqual(json.audio_paths, ['/v1/objects/a']);
    const audio = json.audio as Record<string, unknown>[];
    assert.equal(audio[0]?.size_bytes, 1234);
    assert.equal(audio[0]?.seed, 42);
    assert.equal(audio[1]?.seed, String(2n ** 60n), 'beyond 2^53 stays an exact string');
  });
});
