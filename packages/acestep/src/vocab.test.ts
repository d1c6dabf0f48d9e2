import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  canonicalKeyScale,
  canonicalTimeSignature,
  formatOfEnumName,
  KEY_SCALES,
  TASK_NAMES,
  taskEnumName,
  taskOfEnumName,
  VOCAL_LANGUAGES,
} from './vocab.ts';

describe('vocabulary', () => {
  it('maps contract enum names to tasks and back; UNSPECIFIED is text2music', () => {
    for (const task of TASK_NAMES) assert.equal(taskOfEnumName(taskEnumName(task)), task);
    assert.equal(taskOfEnumName('UNSPECIFIED'), 'text2music');
    assert.equal(taskOfEnumName('text2music'), undefined, 'only the enum spelling');
    assert.equal(taskOfEnumName(undefined), undefined, 'a number no enum names');
    assert.equal(formatOfEnumName('UNSPECIFIED'), 'mp3');
    assert.equal(formatOfEnumName('FLAC'), 'flac');
    assert.equal(formatOfEnumName('OGG'), undefined);
  });

  it('has the LM lists: 70 key scales, 51 languages', () => {
    assert.equal(KEY_SCALES.length, 70);
    assert.equal(VOCAL_LANGUAGES.length, 51);
    assert.equal(canonicalKeyScale('f#m'), 'F# minor');
    assert.equal(canonicalTimeSignature('6'), '6/8');
  });
});
