import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DitInputError } from './errors.ts';
import {
  captionPrompt,
  checkVocalLanguage,
  DEFAULT_DIT_INSTRUCTION,
  extractCaptionFromSftFormat,
  lyricPrompt,
  metasString,
} from './prompts.ts';

test('caption prompt, byte for byte (official template)', () => {
  const prompt = captionPrompt({
    instruction: DEFAULT_DIT_INSTRUCTION,
    caption: 'energetic rock music with electric guitar',
    metas: { bpm: 140, timeSignature: '4', keyScale: 'E minor', durationSeconds: 30.9 },
  });
  assert.equal(
    prompt,
    '# Instruction\nFill the audio semantic mask based on the given conditions:\n\n' +
      '# Caption\nenergetic rock music with electric guitar\n\n' +
      '# Metas\n- bpm: 140\n- timesignature: 4\n- keyscale: E minor\n- duration: 30 seconds\n<|endoftext|>\n',
  );
});

test('metas defaults: N/A for empty values, 30 seconds without a duration', () => {
  assert.equal(
    metasString({}),
    '- bpm: N/A\n- timesignature: N/A\n- keyscale: N/A\n- duration: 30 seconds\n',
  );
  assert.equal(
    metasString({ bpm: 0, timeSignature: 'N/A', keyScale: '  ', durationSeconds: 59.99 }),
    '- bpm: N/A\n- timesignature: N/A\n- keyscale: N/A\n- duration: 59 seconds\n',
  );
  assert.equal(metasString({ bpm: '96', keyScale: ' C Major' }).split('\n')[2], '- keyscale:  C Major');
});

test('instruction gets a trailing colon; an SFT-formatted caption is unwrapped', () => {
  const prompt = captionPrompt({
    instruction: 'Extract the VOCALS track from the audio',
    caption: '# Instruction\nwhatever:\n\n# Caption\n  soft piano  \n\n# Metas\n- bpm: 1\n',
    metas: { durationSeconds: 12 },
  });
  assert.ok(
    prompt.startsWith('# Instruction\nExtract the VOCALS track from the audio:\n\n# Caption\nsoft piano\n\n'),
  );
  assert.equal(extractCaptionFromSftFormat('just a caption # Caption'), 'just a caption # Caption');
});

test('lyric prompt, byte for byte, no trailing newline', () => {
  assert.equal(
    lyricPrompt({ language: 'en', lyrics: '[Verse]\nHello' }),
    '# Languages\nen\n\n# Lyric\n[Verse]\nHello<|endoftext|>',
  );
  assert.equal(
    lyricPrompt({ language: 'unknown', lyrics: '[Instrumental]' }),
    '# Languages\nunknown\n\n# Lyric\n[Instrumental]<|endoftext|>',
  );
});

test('vocal language must be a known code', () => {
  assert.equal(checkVocalLanguage('yue'), 'yue');
  assert.equal(checkVocalLanguage(undefined), 'unknown');
  assert.throws(
    () => checkVocalLanguage('english'),
    (e: unknown) => e instanceof DitInputError && e.field === 'vocal_language',
  );
});
