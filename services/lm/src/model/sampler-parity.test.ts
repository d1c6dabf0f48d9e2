// The in-graph code sampler of lm_decode_loop against the host TokenSampler: the same CFG-mixed
// logits (from lm_decode, fed the same token) and the same uniform must give the same code, with
// different sampling parameters per pair in one loop call (plain, greedy, top-k, top-p, both,
// top-k above the graph's first TopK, a flat enough top-p to need the full TopK).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type ModelSet, openModelSet, requireModelDir } from '@acestep/models';
import { mixCfg, type Rng, type SamplingParams, TokenSampler } from '../core/index.ts';
import { f32, i64 } from './graphs.ts';

interface PairCase extends SamplingParams {
  cfgScale: number;
  rand: number;
}

const CASES: PairCase[] = [
  { cfgScale: 2.0, temperature: 1.0, topK: 0, topP: undefined, rand: 0.31 },
  { cfgScale: 1.0, temperature: 0.85, topK: 0, topP: undefined, rand: 0.93 },
  { cfgScale: 2.0, temperature: 0, topK: 0, topP: undefined, rand: 0.5 },
  { cfgScale: 3.0, temperature: 0.85, topK: 50, topP: undefined, rand: 0.77 },
  { cfgScale: 2.0, temperature: 0.5, topK: 0, topP: 0.9, rand: 0.12 },
  { cfgScale: 2.0, temperature: 0.85, topK: 40, topP: 0.95, rand: 0.66 },
  { cfgScale: 2.5, temperature: 1.0, topK: 300, topP: undefined, rand: 0.41 },
  { cfgScale: 2.0, temperature: 2.0, topK: 0, topP: 0.99, rand: 0.58 },
];

describe('lm_decode_loop sampling agrees with the host sampler', () => {
  let set: ModelSet;
  before(async () => {
    set = await openModelSet(requireModelDir(), {
      graphs: ['lm_decode', 'lm_decode_loop'],
      intraOpThreads: 1,
    });
  });
  after(async () => {
    await set.close();
  });

  it('draws the same code per pair for every sampling setting', async () => {
    const lm = set.manifest.constants.lm;
    const n = CASES.length;
    // Pair i: the conditional prompt varies with i so the pairs see different logits.
    const cond = CASES.map((_, i) => [151644, 8948, 198, 2 + i, 3, 4, 198]);
    const uncond = CASES.map(() => [151644, 872, 198, 5, 6, 7, 198]);
    const rows = [...cond, ...uncond];
    const width = 7;
    const mask = new BigInt64Array(2 * n * width).fill(1n);
    const pre = await set.session('lm_decode').run({
      input_ids: i64(BigInt64Array.from(rows.flat(), BigInt), [2 * n, width]),
      attention_mask: i64(mask, [2 * n, width]),
      past_kv: f32(new Float32Array(0), [0, lm.layers, 2, 2 * n, lm.kvHeads, lm.headDim]),
    });
    const first = lm.audioCodeOffset + 11;
    const rand = Float32Array.from(CASES, (c) => c.rand);
    const loop = await set.session('lm_decode_loop').run({
      input_ids: i64(new BigInt64Array(n).fill(BigInt(first)), [n]),
      attention_mask: i64(mask, [2 * n, width]),
      past_kv: pre.new_kv!,
      rand: f32(rand, [1, n]),
      cfg_scale: f32(
        Float32Array.from(CASES, (c) => c.cfgScale),
        [n],
      ),
      temperature: f32(
        Float32Array.from(CASES, (c) => (c.temperature > 0 ? c.temperature : 1)),
        [n],
      ),
      top_k: i64(
        BigInt64Array.from(CASES, (c) => BigInt(c.temperature > 0 ? c.topK : 1)),
        [n],
      ),
      top_p: f32(
        Float32Array.from(CASES, (c) => c.topP ?? 1),
        [n],
      ),
      codes_left: i64(new BigInt64Array(n).fill(-1n), [n]),
    });
    const graphTokens = Array.from(loop.tokens!.data as BigInt64Array, Number);

    const step = await set.session('lm_decode').run({
      input_ids: i64(new BigInt64Array(2 * n).fill(BigInt(first)), [2 * n, 1]),
      attention_mask: i64(new BigInt64Array(2 * n * (width + 1)).fill(1n), [2 * n, width + 1]),
      past_kv: pre.new_kv!,
    });
    const logits = step.logits!.data as Float32Array;
    const vocab = lm.vocabSize;
    const sampler = new TokenSampler(vocab);
    const lo = lm.audioCodeOffset;
    const hi = lo + lm.audioCodeValid;
    const hostTokens = CASES.map((c, i) => {
      const row = logits.slice(i * vocab, (i + 1) * vocab);
      const u = logits.subarray((n + i) * vocab, (n + i + 1) * vocab);
      mixCfg(row, u, c.cfgScale, row, lo, hi);
      mixCfg(row, u, c.cfgScale, row, lm.eosTokenId, lm.eosTokenId + 1);
      const rng: Rng = { nextUint32: () => 0, nextUniform: () => rand[i]! };
      return sampler.sample(row, c, rng, { kind: 'range', lo, hi, extra: lm.eosTokenId });
    });
    assert.deepEqual(graphTokens, hostTokens);
    assert.ok(new Set(hostTokens).size > 4, `draws too alike: ${hostTokens}`);
  });
});
