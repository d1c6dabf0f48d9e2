import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { mulberry32, samplerSeed } from './rng.ts';
import { applyRepetitionPenalty, argmax, mixCfg, TokenSampler } from './sampling.ts';

// Written by fixtures/make_sampling_fixtures.py (numpy full-sort reference, float32 CFG, python mulberry32).
const fx = JSON.parse(
  readFileSync(new URL('./fixtures/sampling-fixtures.json', import.meta.url), 'utf8'),
) as {
  vectors: (number | null)[][];
  distributions: {
    vector: number;
    temperature: number;
    topK: number;
    topP: number | null;
    ids: number[];
    probs: number[];
  }[];
  cfg: { cond: number[]; uncond: number[]; cases: { scale: number; out: number[] }[] };
  mulberry32: { seed: number; raw: number[]; uniforms: number[] }[];
};

const toLogits = (v: (number | null)[]) =>
  Float32Array.from(v, (x) => (x === null ? Number.NEGATIVE_INFINITY : x));

describe('TokenSampler.distribution vs numpy full-sort reference', () => {
  for (const [i, c] of fx.distributions.entries()) {
    const label = `case ${i}: n=${fx.vectors[c.vector]!.length} T=${c.temperature} k=${c.topK} p=${c.topP}`;
    it(label, () => {
      const logits = toLogits(fx.vectors[c.vector]!);
      const sampler = new TokenSampler(logits.length);
      const d = sampler.distribution(logits, {
        temperature: c.temperature,
        topK: c.topK,
        topP: c.topP ?? undefined,
      });
      assert.deepEqual(Array.from(d.ids.subarray(0, d.count)), c.ids);
      for (let j = 0; j < d.count; j++) {
        const p = d.weights[j]! / d.total;
        assert.ok(Math.abs(p - c.probs[j]!) < 1e-12, `prob ${j}: ${p} vs ${c.probs[j]}`);
      }
    });
  }
});

describe('top-p on large, tied distributions', () => {
  it('equals a plain full-sort reference (ties broken by id)', () => {
    const rng = mulberry32(3);
    const n = 30000;
    // Few distinct values: huge histogram bins and many ties.
    const logits = Float32Array.from({ length: n }, () => (rng.nextUint32() % 7) * 0.25);
    const params = { temperature: 0.9, topK: 0, topP: 0.7 };
    const d = new TokenSampler(n).distribution(logits, params);
    const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => logits[b]! - logits[a]! || a - b);
    const max = logits[order[0]!]! / 0.9;
    const w = order.map((i) => Math.exp(logits[i]! / 0.9 - max));
    const total = w.reduce((a, b) => a + b, 0);
    const kept: number[] = [];
    let before = 0;
    for (let j = 0; j < n && before < 0.7 * total; j++) {
      kept.push(order[j]!);
      before += w[j]!;
    }
    assert.deepEqual(Array.from(d.ids.subarray(0, d.count)), kept);
  });
});

describe('sample', () => {
  it('draws from the distribution (inverse CDF frequencies within 4 sigma)', () => {
    const c = fx.distributions.find((d) => d.topK === 50 && d.topP !== null)!;
    const logits = toLogits(fx.vectors[c.vector]!);
    const sampler = new TokenSampler(logits.length);
    const rng = mulberry32(7);
    const n = 20000;
    const counts = new Map<number, number>();
    const params = { temperature: c.temperature, topK: c.topK, topP: c.topP ?? undefined };
    for (let i = 0; i < n; i++) {
      const id = sampler.sample(logits, params, rng);
      counts.set(id, (counts.get(id) ?? 0) + 1);
    }
    for (const [j, id] of c.ids.entries()) {
      const p = c.probs[j]!;
      const sigma = Math.sqrt(n * p * (1 - p));
      assert.ok(Math.abs((counts.get(id) ?? 0) - n * p) <= 4 * sigma + 1, `id ${id}`);
    }
    for (const id of counts.keys()) assert.ok(c.ids.includes(id), `drew ${id} outside the nucleus`);
  });

  it('is reproducible per seed and equal over a candidate subset and over masked full logits', () => {
    const logits = toLogits(fx.vectors[2]!);
    const allowed = [3, 17, 40, 41, 99, 500, 999].filter((id) => Number.isFinite(logits[id]!));
    const masked = new Float32Array(logits.length).fill(Number.NEGATIVE_INFINITY);
    for (const id of allowed) masked[id] = logits[id]!;
    const sampler = new TokenSampler(logits.length);
    for (const params of [
      { temperature: 0.85, topK: 0, topP: undefined },
      { temperature: 0.85, topK: 0, topP: 0.9 },
      { temperature: 1, topK: 3, topP: undefined },
    ]) {
      const a = mulberry32(99);
      const b = mulberry32(99);
      for (let i = 0; i < 200; i++) {
        const x = sampler.sample(logits, params, a, { kind: 'ids', ids: allowed });
        const y = sampler.sample(masked, params, b);
        assert.equal(x, y);
      }
    }
  });

  it('range candidates with an extra id', () => {
    const logits = new Float32Array(10).fill(0);
    logits[9] = 50;
    const s = new TokenSampler(10);
    assert.equal(
      s.sample(logits, { temperature: 1, topK: 0, topP: undefined }, mulberry32(1), {
        kind: 'range',
        lo: 2,
        hi: 5,
        extra: 9,
      }),
      9,
    );
    const d = s.distribution(
      logits,
      { temperature: 1, topK: 0, topP: undefined },
      { kind: 'range', lo: 2, hi: 5, extra: 0 },
    );
    assert.deepEqual(Array.from(d.ids.subarray(0, d.count)), [0, 2, 3, 4]);
  });

  it('temperature 0 is argmax, ties to the lower id, masked tokens never win', () => {
    const logits = Float32Array.from([1, 5, 5, Number.NEGATIVE_INFINITY, 2]);
    const s = new TokenSampler(5);
    assert.equal(s.sample(logits, { temperature: 0, topK: 0, topP: undefined }, mulberry32(0)), 1);
    assert.equal(argmax(logits, { kind: 'ids', ids: [3, 4] }), 4);
    assert.throws(() => argmax(logits, { kind: 'ids', ids: [3] }));
  });
});

describe('mixCfg', () => {
  it('equals float32 numpy uncond + scale·(cond − uncond)', () => {
    const cond = Float32Array.from(fx.cfg.cond);
    const uncond = Float32Array.from(fx.cfg.uncond);
    for (const c of fx.cfg.cases) {
      const out = mixCfg(cond, uncond, c.scale, new Float32Array(cond.length));
      assert.deepEqual(Array.from(out), c.out);
    }
  });
});

describe('applyRepetitionPenalty', () => {
  it('divides positive and multiplies negative logits once per distinct token', () => {
    const logits = Float32Array.from([2, -2, 4, 1]);
    applyRepetitionPenalty(logits, [0, 1, 1, 0], 2);
    assert.deepEqual(Array.from(logits), [1, -4, 4, 1]);
  });
});

describe('mulberry32', () => {
  it('matches the python port of the algorithm', () => {
    for (const r of fx.mulberry32) {
      const g = mulberry32(r.seed);
      assert.deepEqual(
        Array.from({ length: r.raw.length }, () => g.nextUint32()),
        r.raw,
      );
      const u = mulberry32(r.seed);
      assert.deepEqual(
        Array.from({ length: r.uniforms.length }, () => u.nextUniform()),
        r.uniforms,
      );
    }
  });

  it('keys the sampler with all 64 bits of a seed; seeds below 2^32 key it with themselves', () => {
    assert.equal(samplerSeed(0n), 0);
    assert.equal(samplerSeed(4294967295n), 4294967295);
    assert.notEqual(samplerSeed(2n ** 32n + 1n), samplerSeed(1n));
    assert.notEqual(samplerSeed(2n ** 60n), samplerSeed(0n));
    assert.equal(samplerSeed((1n << 63n) - 1n), (0xffffffff ^ Math.imul(0x7fffffff, 0x9e3779b9)) >>> 0);
    assert.throws(() => samplerSeed(-1n), RangeError);
  });
});

describe('TokenSampler.sampleHead (the sorted head a graph returns) vs sample on the full row', () => {
  // Peaky and flat rows over 20,000 ids, candidates [0, 15,000) minus some bans.
  const n = 20_000;
  const hi = 15_000;
  const banned = new Set([3, 77, 4000, 14_999]);
  const rows = [0.5, 3].map((std, r) => {
    const rng = mulberry32(100 + r);
    return Float32Array.from({ length: n }, () => {
      const u = rng.nextUniform() + rng.nextUniform() + rng.nextUniform() - 1.5;
      return Math.fround(u * std * 2);
    });
  });
  const headOf = (row: Float32Array, t: number, size: number) => {
    const ids = [...Array(hi).keys()].filter((id) => !banned.has(id));
    ids.sort((a, b) => row[b]! - row[a]! || a - b);
    const max = row[ids[0]!]! / t;
    let total = 0;
    for (const id of ids) total += Math.exp(row[id]! / t - max);
    const values = new Float32Array(size).fill(Number.NEGATIVE_INFINITY);
    const out = new Int32Array(size);
    ids.slice(0, size).forEach((id, i) => {
      values[i] = row[id]!;
      out[i] = id;
    });
    return { values, ids: out, count: size, total };
  };
  const masked = (row: Float32Array) => {
    const m = row.slice();
    m.fill(Number.NEGATIVE_INFINITY, hi);
    for (const id of banned) m[id] = Number.NEGATIVE_INFINITY;
    return m;
  };
  const sampler = new TokenSampler(n);
  const settings = [
    { temperature: 0, topK: 0, topP: undefined },
    { temperature: 0.85, topK: 50, topP: undefined },
    { temperature: 0.85, topK: 40, topP: 0.9 },
    { temperature: 0.85, topK: 0, topP: 0.9 },
    { temperature: 1.3, topK: 0, topP: 0.5 },
  ];
  for (const [r, row] of rows.entries()) {
    for (const params of settings) {
      it(`row ${r}, T=${params.temperature} k=${params.topK} p=${params.topP}`, () => {
        const head = headOf(row, params.temperature > 0 ? params.temperature : 1, 4096);
        let decided = 0;
        for (let seed = 0; seed < 40; seed++) {
          const a = sampler.sampleHead(head, params, mulberry32(seed));
          const b = sampler.sample(masked(row), params, mulberry32(seed), { kind: 'range', lo: 0, hi });
          if (a === undefined) continue;
          decided++;
          assert.equal(a, b, `seed ${seed}`);
        }
        // The peaky row's nucleus fits in 4096; the flat row's top-p 0.9 nucleus does not.
        if (r === 1 || params.topP === undefined || params.topK > 0) assert.equal(decided, 40);
        else assert.equal(decided, 0);
      });
    }
  }
  it('declines plain multinomial (it walks every candidate in id order)', () => {
    const head = headOf(rows[1]!, 1, 64);
    assert.equal(
      sampler.sampleHead(head, { temperature: 1, topK: 0, topP: undefined }, mulberry32(1)),
      undefined,
    );
  });
});
