// logitNeeds (what the next mask reads) against maskLogits itself, over random FSM runs on the
// real vocabulary: `ids` covers every id the mask keeps, `range` names exactly the ids it keeps.
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { loadQwen3Tokenizer } from '@acestep/tokenizer';
import { mulberry32 } from '../rng.ts';
import { TokenSampler } from '../sampling.ts';
import { selectToken } from '../step.ts';
import { logitNeeds } from './needs.ts';
import { createFsmState, type FsmOptions, isFinished, maskLogits } from './state.ts';
import { buildFsmTables, type FsmTables } from './tables.ts';

let tables: FsmTables;
before(async () => {
  tables = buildFsmTables(await loadQwen3Tokenizer());
});

const RUNS: FsmOptions[] = [
  { phase: 'cot', stopAtReasoning: true, maxCaptionTokens: 6 },
  {
    phase: 'cot',
    stopAtReasoning: true,
    maxCaptionTokens: 6,
    userMetadata: { bpm: 120 },
    skipLanguage: true,
  },
  { phase: 'understand', skipGenres: false, maxCaptionTokens: 4 },
];

describe('logitNeeds agrees with maskLogits', () => {
  for (const [r, options] of RUNS.entries()) {
    it(`run ${r} (${options.phase})`, () => {
      const v = tables.vocabSize;
      const sampler = new TokenSampler(v);
      const kinds = new Set<string>();
      for (let seed = 0; seed < 4; seed++) {
        const rng = mulberry32(seed * 31 + r);
        const fsm = createFsmState(tables, options);
        const row = new Float32Array(v);
        for (let step = 0; step < 60 && !isFinished(fsm); step++) {
          for (let i = 0; i < v; i++) row[i] = (rng.nextUint32() / 2 ** 32) * 6 - 3;
          const needs = logitNeeds(fsm);
          kinds.add(needs.kind);
          if (needs.kind === 'ids' || needs.kind === 'range') {
            const copy = row.slice();
            const c = maskLogits(fsm, copy);
            if (needs.kind === 'ids') {
              assert.equal(c.kind, 'ids');
              const allowed = new Set(needs.ids);
              for (const id of (c as { ids: readonly number[] }).ids) assert.ok(allowed.has(id), `id ${id}`);
            } else {
              assert.equal(c.kind === 'range' || c.kind === 'all', true, `kind ${c.kind}`);
              const bans = new Set(needs.bans);
              for (let id = 0; id < v; id++) {
                const kept: boolean = id < needs.hi && !bans.has(id);
                assert.equal(copy[id]! > Number.NEGATIVE_INFINITY, kept, `id ${id}`);
              }
            }
          }
          if (options.phase === 'understand' && fsm.stage === 'COMPLETED' && step > 40) break;
          selectToken({
            cond: row,
            fsm,
            sampler,
            rng,
            params: { temperature: 0.9, topK: 0, topP: 0.9, cfgScale: 1, repetitionPenalty: 1 },
          });
        }
      }
      assert.ok(kinds.has('range') && kinds.has('none'), [...kinds].join());
    });
  }
});
