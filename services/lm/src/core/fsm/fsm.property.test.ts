/**
 * Property test: the FSM over the real vocabulary with random logits (CFG rows from a random
 * pool) must always yield parseable, in-range metadata, verbatim user values, and exact code counts.
 * Sized for CI on a small box: captions are capped at 12 tokens here (512 upstream), code runs
 * are short. The per-token host time is reported as a diagnostic, never asserted.
 */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { loadQwen3Tokenizer, type Qwen3Tokenizer } from '@acestep/tokenizer';
import { parseLmOutput } from '../metadata.ts';
import { mulberry32, type Rng } from '../rng.ts';
import { TokenSampler } from '../sampling.ts';
import { type DecodeParams, selectToken } from '../step.ts';
import { createFsmState, type FsmOptions, type UserMetadata } from './state.ts';
import { buildFsmTables, type FsmTables } from './tables.ts';
import { VALID_KEYSCALES, VALID_LANGUAGES, VALID_TIME_SIGNATURES } from './values.ts';

const PHASE1_SEEDS = 200;
const CODE_SEEDS = 24;

let tok: Qwen3Tokenizer;
let tables: FsmTables;
let pool: Float32Array;
before(async () => {
  tok = await loadQwen3Tokenizer();
  tables = buildFsmTables(tok);
  // A pool of N(0, 3²) values; each logits row is a window at a random offset (cheap to draw).
  const rng = mulberry32(2026);
  pool = new Float32Array(1 << 20);
  for (let i = 0; i < pool.length; i += 2) {
    const r = Math.sqrt(-2 * Math.log(1 - rng.nextUniform()));
    const a = 2 * Math.PI * rng.nextUniform();
    pool[i] = 3 * r * Math.cos(a);
    pool[i + 1] = 3 * r * Math.sin(a);
  }
});

function randomRow(rng: Rng, out: Float32Array): Float32Array {
  const offset = rng.nextUint32() % (pool.length - out.length);
  out.set(pool.subarray(offset, offset + out.length));
  return out;
}

const PARAM_SETS: DecodeParams[] = [
  { temperature: 0.85, topK: 0, topP: undefined, cfgScale: 2.0, repetitionPenalty: 1 },
  { temperature: 0.85, topK: 0, topP: 0.9, cfgScale: 2.5, repetitionPenalty: 1 },
  { temperature: 1.0, topK: 50, topP: 0.9, cfgScale: 1.0, repetitionPenalty: 1.1 },
  { temperature: 0, topK: 0, topP: undefined, cfgScale: 2.0, repetitionPenalty: 1 },
];

const USER_CHOICES: UserMetadata[] = [
  {},
  { bpm: 120 },
  { duration: 95 },
  { keyscale: 'F# minor', timesignature: '4/4' },
  { bpm: 999, language: 'no' }, // user values are not validated upstream: forced verbatim
];

interface RunResult {
  ids: number[];
  hostMs: number;
}

function run(options: FsmOptions, params: DecodeParams, seed: number, maxSteps: number): RunResult {
  const fsm = createFsmState(tables, options);
  const sampler = new TokenSampler(tok.vocabSize);
  const rng = mulberry32(seed);
  const cond = new Float32Array(tok.vocabSize);
  const uncond = new Float32Array(tok.vocabSize);
  const ids: number[] = [];
  let hostMs = 0;
  while (!fsm.finished && ids.length < maxSteps) {
    randomRow(rng, cond);
    randomRow(rng, uncond);
    const t0 = performance.now();
    ids.push(selectToken({ cond, uncond, fsm, sampler, rng, params, previous: ids }));
    hostMs += performance.now() - t0;
  }
  return { ids, hostMs };
}

describe('FSM property: random logits over the real vocabulary', () => {
  it(`Phase 1 always parses into valid metadata (${PHASE1_SEEDS} seeds)`, (t) => {
    let tokens = 0;
    let hostMs = 0;
    for (let seed = 0; seed < PHASE1_SEEDS; seed++) {
      const user = USER_CHOICES[seed % USER_CHOICES.length]!;
      const params = PARAM_SETS[Math.floor(seed / USER_CHOICES.length) % PARAM_SETS.length]!;
      const skipCaption = seed % 7 === 3;
      const skipLanguage = seed % 11 === 5;
      const { ids, hostMs: ms } = run(
        {
          phase: 'cot',
          stopAtReasoning: true,
          userMetadata: user,
          skipCaption,
          skipLanguage,
          maxCaptionTokens: 12,
        },
        params,
        seed,
        400,
      );
      tokens += ids.length;
      hostMs += ms;
      const text = tok.decode(ids);
      const where = `seed ${seed}: ${JSON.stringify(text)}`;
      assert.equal(ids.at(-1), tables.eosId, where);
      assert.ok(text.startsWith('<think>\nbpm:'), where);
      assert.ok(!text.includes('</think>'), where);
      const m = parseLmOutput(text).metadata;
      if (user.bpm !== undefined) assert.equal(m.bpm, user.bpm, where);
      else assert.ok(typeof m.bpm === 'number' && m.bpm >= 30 && m.bpm <= 300, where);
      if (user.duration !== undefined) assert.equal(m.duration, user.duration, where);
      else assert.ok(typeof m.duration === 'number' && m.duration >= 10 && m.duration <= 600, where);
      if (user.keyscale !== undefined) assert.equal(m.keyscale, user.keyscale, where);
      else assert.ok(VALID_KEYSCALES.includes(m.keyscale!), where);
      if (user.timesignature !== undefined) assert.equal(m.timesignature, user.timesignature, where);
      else assert.ok((VALID_TIME_SIGNATURES as readonly string[]).includes(m.timesignature!), where);
      if (skipLanguage) assert.equal(m.language, undefined, where);
      else if (user.language !== undefined) assert.equal(m.language, user.language, where);
      else assert.ok((VALID_LANGUAGES as readonly string[]).includes(m.language!), where);
      if (skipCaption) assert.equal(m.caption, undefined, where);
      else assert.ok(typeof m.caption === 'string' && m.caption.length > 0, where);
      for (const [field, value] of Object.entries(user)) {
        if (field === 'language' && skipLanguage) continue;
        assert.ok(text.includes(`\n${field}: ${value}\n`), where);
      }
      assert.equal(m.genres, undefined, where);
    }
    t.diagnostic(
      `phase 1: ${tokens} tokens, host ${(hostMs / tokens).toFixed(3)} ms/token (CFG + mask + sample)`,
    );
  });

  it(`the code phase yields exactly int(duration·5) valid codes then EOS (${CODE_SEEDS} seeds)`, (t) => {
    let tokens = 0;
    let hostMs = 0;
    for (let seed = 0; seed < CODE_SEEDS; seed++) {
      const params = PARAM_SETS[seed % PARAM_SETS.length]!;
      const durationSeconds = 10 + (seed % 5) * 0.7; // 10.0 … 12.8 s → 50 … 64 codes
      const target = Math.trunc(durationSeconds * 5);
      const { ids, hostMs: ms } = run({ phase: 'codes', targetCodes: target }, params, 1000 + seed, 200);
      tokens += ids.length;
      hostMs += ms;
      assert.equal(ids.length, target + 1, `seed ${seed}`);
      assert.equal(ids.at(-1), tables.eosId);
      for (const id of ids.slice(0, -1))
        assert.ok(id >= 151669 && id < 151669 + 64000, `seed ${seed}: id ${id}`);
      const codes = parseLmOutput(tok.decode(ids)).audioCodes.match(/<\|audio_code_\d+\|>/g) ?? [];
      assert.equal(codes.length, target);
    }
    t.diagnostic(
      `code phase: ${tokens} tokens, host ${(hostMs / tokens).toFixed(3)} ms/token (CFG + mask + sample)`,
    );
  });
});
