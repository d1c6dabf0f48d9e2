import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AudioCodeSyntaxError, formatAudioCodes, parseAudioCodes } from './audio-codes.ts';

const syntaxError = (pattern: RegExp) => (e: unknown) =>
  e instanceof AudioCodeSyntaxError && pattern.test(e.message);

describe('audio codes: the one parser', () => {
  it('reads tokens with optional whitespace between them, and round-trips the format', () => {
    assert.deepEqual(
      parseAudioCodes('<|audio_code_0|><|audio_code_63999|>\n <|audio_code_12|>'),
      [0, 63999, 12],
    );
    assert.deepEqual(parseAudioCodes(formatAudioCodes([18953, 13833])), [18953, 13833]);
    assert.equal(formatAudioCodes([18953, 13833]), '<|audio_code_18953|><|audio_code_13833|>');
  });

  it('an empty or blank string is no codes', () => {
    assert.deepEqual(parseAudioCodes(''), []);
    assert.deepEqual(parseAudioCodes('  \n'), []);
  });

  it('refuses other text, leading zeros and codes outside the codebook, saying where', () => {
    assert.throws(
      () => parseAudioCodes('<|audio_code_1|>junk'),
      syntaxError(/at character 16, found "junk"/),
    );
    assert.throws(
      () => parseAudioCodes('<|audio_code_1|><|audio_code_007|>'),
      syntaxError(/at character 16/),
    );
    assert.throws(
      () => parseAudioCodes('<|audio_code_64000|>'),
      syntaxError(/code #0 must be .* \[0, 63999\]/),
    );
    assert.throws(() => parseAudioCodes('<|audio_code_5|>x<|audio_code_6|>'), syntaxError(/character 16/));
  });
});
