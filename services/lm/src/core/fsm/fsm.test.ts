import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { loadQwen3Tokenizer, type Qwen3Tokenizer } from '@acestep/tokenizer';
import { parseLmOutput } from '../metadata.ts';
import { mulberry32 } from '../rng.ts';
import { TokenSampler } from '../sampling.ts';
import type { TreeNode } from './prefix-tree.ts';
import { advance, createFsmState, type FsmOptions, type FsmState, maskLogits } from './state.ts';
import { buildFsmTables, type FsmTables } from './tables.ts';
import { VALID_KEYSCALES, VALID_LANGUAGES } from './values.ts';

let tok: Qwen3Tokenizer;
let tables: FsmTables;
before(async () => {
  tok = await loadQwen3Tokenizer();
  tables = buildFsmTables(tok);
});

/** Every complete value spelled by a tree, as text. */
function treeValues(node: TreeNode, prefix: number[] = []): string[] {
  const out = node.terminal ? [tok.decode(prefix)] : [];
  for (const [id, child] of node.children) out.push(...treeValues(child, [...prefix, id]));
  return out;
}

const sorted = (xs: readonly string[]) => [...xs].sort();
const range = (a: number, b: number) => Array.from({ length: b - a + 1 }, (_, i) => ` ${a + i}`);

/**
 * Drives the FSM with logits that favour writing `text` (a stand-in model that "wants" that text)
 * and samples greedily. The wish is re-aligned line by line, so forced values that differ from the
 * text do not derail the following lines. Returns the produced ids.
 */
function teacherForce(state: FsmState, text: string, maxSteps = 400): number[] {
  const lines = text.split('\n');
  const out: number[] = [];
  const sampler = new TokenSampler(tok.vocabSize);
  const logits = new Float32Array(tok.vocabSize);
  for (let step = 0; step < maxSteps && !state.finished; step++) {
    logits.fill(0);
    const produced = tok.decode(out);
    const lineIndex = produced.split('\n').length - 1;
    const current = produced.slice(produced.lastIndexOf('\n') + 1);
    const target =
      lineIndex < lines.length ? lines[lineIndex]! + (lineIndex < lines.length - 1 ? '\n' : '') : '';
    if (target.startsWith(current) && target.length > current.length) {
      logits[tok.encode(target.slice(current.length))[0]!] = 10;
    }
    const candidates = maskLogits(state, logits);
    const id = sampler.sample(
      logits,
      { temperature: 0, topK: 0, topP: undefined },
      mulberry32(0),
      candidates,
    );
    advance(state, id);
    out.push(id);
  }
  return out;
}

describe('FSM tables from the real tokenizer', () => {
  it('value trees spell exactly the valid values', () => {
    assert.deepEqual(sorted(treeValues(tables.trees.bpm)), sorted(range(30, 300)));
    assert.deepEqual(sorted(treeValues(tables.trees.duration)), sorted(range(10, 600)));
    assert.deepEqual(sorted(treeValues(tables.trees.timesignature)), [' 2', ' 3', ' 4', ' 6']);
    assert.deepEqual(sorted(treeValues(tables.trees.keyscale)), sorted(VALID_KEYSCALES.map((k) => ` ${k}`)));
    assert.deepEqual(sorted(treeValues(tables.trees.language)), sorted(VALID_LANGUAGES.map((l) => ` ${l}`)));
    assert.equal(VALID_KEYSCALES.length, 70);
    assert.equal(VALID_LANGUAGES.length, 51);
  });

  it('a lower tier max duration shrinks the duration tree', () => {
    const small = buildFsmTables(tok, { maxDuration: 240 });
    assert.deepEqual(sorted(treeValues(small.trees.duration)), sorted(range(10, 240)));
  });

  it('field names decode to "<name>:"', () => {
    for (const [name, ids] of Object.entries(tables.fieldNameIds)) assert.equal(tok.decode(ids), `${name}:`);
    assert.equal(tables.thinkId, 151667);
    assert.equal(tables.thinkEndId, 151668);
    assert.equal(tables.newlineId, 198);
    assert.equal(tables.eosId, 151645);
  });
});

const COT =
  '<think>\nbpm: 120\ncaption: A soft piano ballad with warm strings and a slow build\n  towards a gentle climax\nduration: 95\nkeyscale: B♭ major\nlanguage: ja\ntimesignature: 3\n';

describe('Phase 1 (cot)', () => {
  const phase1: FsmOptions = { phase: 'cot', stopAtReasoning: true };

  it('lets a model write a full CoT and replaces </think> with EOS', () => {
    const ids = teacherForce(createFsmState(tables, phase1), COT);
    assert.equal(tok.decode(ids), `${COT}<|im_end|>`);
    assert.deepEqual(parseLmOutput(tok.decode(ids)).metadata, {
      bpm: 120,
      caption: 'A soft piano ballad with warm strings and a slow build towards a gentle climax',
      duration: 95,
      keyscale: 'B♭ major',
      language: 'ja',
      timesignature: '3',
    });
  });

  it('blocks out-of-range values: a model wanting bpm 999 gets a valid bpm', () => {
    const ids = teacherForce(createFsmState(tables, phase1), COT.replace('bpm: 120', 'bpm: 999'));
    const { metadata } = parseLmOutput(tok.decode(ids));
    assert.equal(typeof metadata.bpm, 'number');
    assert.ok((metadata.bpm as number) >= 30 && (metadata.bpm as number) <= 300);
  });

  it('forces user values verbatim, unvalidated, and skips caption/language when asked', () => {
    const state = createFsmState(tables, {
      ...phase1,
      skipCaption: true,
      skipLanguage: true,
      userMetadata: { bpm: 77, timesignature: '4/4' },
    });
    const ids = teacherForce(
      state,
      '<think>\nbpm: 130\nduration: 200\nkeyscale: C minor\ntimesignature: 3\n',
    );
    assert.equal(
      tok.decode(ids),
      '<think>\nbpm: 77\nduration: 200\nkeyscale: C minor\ntimesignature: 4/4\n<|im_end|>',
    );
  });

  it('without stopAtReasoning writes </think> and moves to the code phase', () => {
    const state = createFsmState(tables, { phase: 'cot', skipCaption: true, skipLanguage: true });
    const text = '<think>\nbpm: 130\nduration: 200\nkeyscale: C minor\ntimesignature: 3\n</think>';
    const ids = teacherForce(state, text, tok.encode(text).length);
    assert.equal(tok.decode(ids), text);
    assert.equal(state.stage, 'CODES_GENERATION');
  });

  it('ends the caption when the top token after a newline is not indented', () => {
    const state = createFsmState(tables, phase1);
    const ids = teacherForce(state, '<think>\nbpm: 90\ncaption: Lo-fi beat\nmood: chill\n');
    // The model wanted an unknown field; we continue with the next field in order instead.
    assert.match(tok.decode(ids), /^<think>\nbpm: 90\ncaption: Lo-fi beat\nduration:/);
  });
});

describe('code phase', () => {
  it('emits exactly targetCodes valid codes and then EOS', () => {
    for (const target of [0, 1, 37]) {
      const state = createFsmState(tables, { phase: 'codes', targetCodes: target });
      const sampler = new TokenSampler(tok.vocabSize);
      const rng = mulberry32(target);
      const logits = new Float32Array(tok.vocabSize);
      const ids: number[] = [];
      while (!state.finished && ids.length < 100) {
        for (let i = 0; i < logits.length; i++) logits[i] = (rng.nextUint32() / 2 ** 32) * 8;
        logits[tables.eosId] = 100; // the model would love to stop early
        const id = sampler.sample(
          logits,
          { temperature: 1, topK: 0, topP: undefined },
          rng,
          maskLogits(state, logits),
        );
        advance(state, id);
        ids.push(id);
      }
      assert.equal(ids.length, target + 1);
      assert.equal(ids.at(-1), tables.eosId);
      for (const id of ids.slice(0, -1)) assert.ok(id >= 151669 && id <= 215668, `id ${id}`);
    }
  });

  it('without a target lets EOS through and bans codes ≥ 64000', () => {
    const state = createFsmState(tables, { phase: 'codes' });
    const logits = new Float32Array(tok.vocabSize).fill(1);
    const c = maskLogits(state, logits);
    assert.deepEqual(c, { kind: 'range', lo: 151669, hi: 215669, extra: 151645 });
    assert.equal(logits[151645], 1);
    assert.equal(logits[215669], Number.NEGATIVE_INFINITY);
    assert.equal(logits[151668], Number.NEGATIVE_INFINITY);
  });
});

describe('understand phase', () => {
  it('writes genres, closes with </think>, then free text without audio codes', () => {
    const state = createFsmState(tables, { phase: 'understand', skipGenres: false });
    const text = `${COT.replace('duration: 95\n', 'duration: 95\ngenres: ambient, neo-classical\n')}</think>\n\n# Lyric\nLa la`;
    const ids = teacherForce(state, text, 120);
    const decoded = tok.decode(ids);
    assert.ok(decoded.startsWith(`${text}`), decoded);
    assert.equal(parseLmOutput(decoded).metadata.genres, 'ambient, neo-classical');
    const logits = new Float32Array(tok.vocabSize).fill(1);
    maskLogits(state, logits);
    assert.equal(logits[151669], Number.NEGATIVE_INFINITY);
    assert.equal(logits[151645], 1);
  });
});
