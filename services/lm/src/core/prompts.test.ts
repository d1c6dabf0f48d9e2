import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatMetadataYaml } from './metadata.ts';
import {
  buildFormatPrompts,
  buildInspirationPrompts,
  buildPhase1Prompts,
  buildPhase2Prompts,
  buildUnderstandPrompts,
} from './prompts.ts';

// Literal templates of the official prompts (the `\n` there are newlines).
const SPEC_PHASE1 =
  '<|im_start|>system\n# Instruction\nGenerate audio semantic tokens based on the given conditions:\n\n<|im_end|>\n<|im_start|>user\n# Caption\n{caption}\n\n# Lyric\n{lyrics}\n<|im_end|>\n<|im_start|>assistant\n';
const SPEC_PHASE2 =
  '<|im_start|>system\n# Instruction\nGenerate audio semantic tokens based on the given conditions:\n\n<|im_end|>\n<|im_start|>user\n# Caption\n{caption}\n\n# Lyric\n{lyrics}\n<|im_end|>\n<|im_start|>assistant\n<think>\n{yaml}\n</think>\n\n<|im_end|>\n';

function fill(template: string, values: Record<string, string>): string {
  return template.replace(/\{(\w+)\}/g, (_, k: string) => values[k] ?? `{${k}}`);
}

const caption = 'Upbeat synth-pop: bright pads, 120 BPM';
const lyrics = '[Verse]\nNeon lights\n\n[Chorus]\nWe run';

describe('Phase 1 prompts', () => {
  it('conditional prompt equals the spec literal', () => {
    assert.equal(buildPhase1Prompts(caption, lyrics).cond, fill(SPEC_PHASE1, { caption, lyrics }));
  });

  it('default negative removes the caption section', () => {
    const expected = SPEC_PHASE1.replace('# Caption\n{caption}\n\n', '').replace('{lyrics}', lyrics);
    assert.equal(buildPhase1Prompts(caption, lyrics).uncond, expected);
    assert.equal(buildPhase1Prompts(caption, lyrics, 'NO USER INPUT').uncond, expected);
    assert.equal(buildPhase1Prompts(caption, lyrics, '  ').uncond, expected);
  });

  it('a meaningful negative prompt replaces the caption', () => {
    assert.equal(
      buildPhase1Prompts(caption, lyrics, 'lo-fi noise').uncond,
      fill(SPEC_PHASE1, { caption: 'lo-fi noise', lyrics }),
    );
  });

  it('empty lyrics give "# Lyric\\n\\n"', () => {
    assert.ok(buildPhase1Prompts('x', '').cond.endsWith('# Lyric\n\n<|im_end|>\n<|im_start|>assistant\n'));
  });
});

describe('Phase 2 prompts', () => {
  const yaml = formatMetadataYaml({ bpm: 120, duration: 180, keyscale: 'G major', timesignature: '4/4' });

  it('formats the metadata as PyYAML does', () => {
    assert.equal(yaml, 'bpm: 120\nduration: 180\nkeyscale: G major\ntimesignature: 4');
  });

  it('conditional prompt equals the spec literal, ending </think>\\n\\n<|im_end|>\\n', () => {
    assert.equal(
      buildPhase2Prompts(caption, lyrics, yaml).cond,
      fill(SPEC_PHASE2, { caption, lyrics, yaml }),
    );
  });

  it('negative has the empty CoT and keeps the caption unless a negative prompt is meaningful', () => {
    const emptyCot = SPEC_PHASE2.replace('<think>\n{yaml}\n</think>', '<think>\n\n</think>');
    assert.equal(buildPhase2Prompts(caption, lyrics, yaml).uncond, fill(emptyCot, { caption, lyrics }));
    assert.equal(
      buildPhase2Prompts(caption, lyrics, yaml, 'harsh').uncond,
      fill(emptyCot, { caption: 'harsh', lyrics }),
    );
  });

  it('with no metadata the conditional prompt equals the negative', () => {
    const p = buildPhase2Prompts(caption, lyrics, '');
    assert.equal(p.cond, p.uncond);
  });
});

describe('single-turn prompts', () => {
  const head = (instruction: string) =>
    `<|im_start|>system\n# Instruction\n${instruction}\n\n<|im_end|>\n<|im_start|>user\n`;
  const tail = '<|im_end|>\n<|im_start|>assistant\n';

  it('understand', () => {
    const instr = 'Understand the given musical conditions and describe the audio semantics accordingly:';
    const codes = '<|audio_code_18953|><|audio_code_13833|>';
    assert.equal(buildUnderstandPrompts(codes).cond, `${head(instr)}${codes}${tail}`);
    assert.equal(buildUnderstandPrompts('').cond, `${head(instr)}NO USER INPUT${tail}`);
    assert.equal(buildUnderstandPrompts(codes).uncond, `${head(instr)}${tail}`);
  });

  it('inspiration / create_sample', () => {
    const instr = "Expand the user's input into a more detailed and specific musical description:";
    assert.equal(
      buildInspirationPrompts('a soft Bengali love song', false).cond,
      `${head(instr)}a soft Bengali love song\n\ninstrumental: false${tail}`,
    );
    assert.equal(
      buildInspirationPrompts(' ', true).cond,
      `${head(instr)}NO USER INPUT\n\ninstrumental: true${tail}`,
    );
  });

  it('format has no trailing newline after the lyrics', () => {
    const instr = "Format the user's input into a more detailed and specific musical description:";
    assert.equal(
      buildFormatPrompts('Latin pop', 'Tengo un nudo').cond,
      `${head(instr)}# Caption\nLatin pop\n\n# Lyric\nTengo un nudo${tail}`,
    );
    assert.equal(
      buildFormatPrompts('', '').cond,
      `${head(instr)}# Caption\nNO USER INPUT\n\n# Lyric\n[Instrumental]${tail}`,
    );
  });
});
