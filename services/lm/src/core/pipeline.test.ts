import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { loadQwen3Tokenizer, type Qwen3Tokenizer } from '@acestep/tokenizer';
import { buildFsmTables, createFsmState, type FsmTables } from './fsm/index.ts';
import { formatMetadataYaml, parseLmOutput } from './metadata.ts';
import { buildPhase1Prompts, buildPhase2Prompts } from './prompts.ts';
import { mulberry32 } from './rng.ts';
import { TokenSampler } from './sampling.ts';
import { DEFAULT_DECODE_PARAMS, selectToken } from './step.ts';

let tok: Qwen3Tokenizer;
let tables: FsmTables;
before(async () => {
  tok = await loadQwen3Tokenizer();
  tables = buildFsmTables(tok);
});

describe('Phase 1 → Phase 2 on real token ids', () => {
  it('prompts tokenize to the official shapes and the CoT round-trips through YAML', () => {
    const caption = 'dreamy shoegaze, no drums';
    const lyrics = '[Instrumental]';
    const p1 = buildPhase1Prompts(caption, lyrics);
    const ids1 = tok.encode(p1.cond);
    assert.deepEqual(ids1.slice(0, 3), [151644, 8948, 198]);
    assert.deepEqual(ids1.slice(-3), [151644, 77091, 198]);

    // Phase 1 with random logits and the default parameters (CFG 2.0, T 0.85, top-p 0.9).
    const fsm = createFsmState(tables, {
      phase: 'cot',
      stopAtReasoning: true,
      userMetadata: { duration: 30 },
    });
    const sampler = new TokenSampler(tok.vocabSize);
    const rng = mulberry32(11);
    const out: number[] = [];
    while (!fsm.finished && out.length < 600) {
      const cond = Float32Array.from({ length: tok.vocabSize }, () => rng.nextUniform() * 8);
      const uncond = Float32Array.from({ length: tok.vocabSize }, () => rng.nextUniform() * 8);
      out.push(selectToken({ cond, uncond, fsm, sampler, rng, params: DEFAULT_DECODE_PARAMS }));
    }
    const { metadata } = parseLmOutput(tok.decode(out));
    assert.equal(metadata.duration, 30);

    const yaml = formatMetadataYaml(metadata);
    const p2 = buildPhase2Prompts(caption, lyrics, yaml);
    const ids2 = tok.encode(p2.cond);
    assert.deepEqual(ids2.slice(-4), [151668, 271, 151645, 198]);
    const start = ids2.lastIndexOf(151667);
    assert.deepEqual(ids2.slice(start - 3, start + 2), [151644, 77091, 198, 151667, 198]);
    // The YAML the model sees parses back to the same metadata (quotes aside).
    const reparsed = parseLmOutput(`<think>\n${yaml}\n</think>`).metadata;
    assert.equal(reparsed.bpm, metadata.bpm);
    assert.equal(reparsed.duration, 30);
    assert.equal(reparsed.keyscale, metadata.keyscale);
    assert.deepEqual(tok.encode(p2.uncond).slice(-7), [198, 151667, 271, 151668, 271, 151645, 198]);
  });
});
