// The engine in this thread on the tiny model set: the KV cache layout, and the K-step loop's
// promise that K changes only how codes are chunked, never which codes come out.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { requireModelDir } from '@acestep/models';
import ort from 'onnxruntime-node';
import { DEFAULT_DECODE_PARAMS } from '../core/index.ts';
import { KvCache, leftPad, MeteredRunner } from './graphs.ts';
import { type LmRuntime, openLmRuntime, runGenerate } from './jobs.ts';
import type { EngineEvent, GenerateJob } from './protocol.ts';

describe('KvCache and leftPad', () => {
  it('appends sequence-major rows, grows, and keeps the mask per row', () => {
    const lm = { layers: 1, kvHeads: 1, headDim: 2 } as ConstructorParameters<typeof KvCache>[0];
    const cache = new KvCache(lm, 2, 1); // row = 1·2·2·1·2 = 8 floats
    assert.equal(cache.rowFloats, 8);
    const rows = (n: number, start: number) =>
      new ort.Tensor(
        'float32',
        Float32Array.from({ length: n * 8 }, (_, i) => start + i),
        [n, 1, 2, 2, 1, 2],
      );
    cache.append(rows(2, 0), (p, r) => (r === 1 && p === 0 ? 0 : 1));
    cache.append(rows(1, 100), () => 1);
    const past = cache.past();
    assert.deepEqual(past.dims, [3, 1, 2, 2, 1, 2]);
    assert.deepEqual(Array.from((past.data as Float32Array).slice(15, 18)), [15, 100, 101]);
    const mask = cache.attentionMask(1, (r) => r);
    assert.deepEqual(mask.dims, [2, 4]);
    assert.deepEqual(Array.from(mask.data as BigInt64Array, Number), [1, 1, 1, 0, 0, 1, 1, 1]);
  });

  it('left-pads prompt rows', () => {
    const { ids, mask, width } = leftPad([[5, 6, 7], [8]], 0);
    assert.equal(width, 3);
    assert.deepEqual(Array.from(ids, Number), [5, 6, 7, 0, 0, 8]);
    assert.deepEqual(Array.from(mask, Number), [1, 1, 1, 0, 0, 1]);
  });
});

describe('engine on the tiny LM', () => {
  let rt: LmRuntime;
  before(async () => {
    rt = await openLmRuntime(requireModelDir(), { intraOpThreads: 1, maxCaptionTokens: 8 });
  });
  after(async () => {
    await rt?.modelSet.close();
  });

  const job = (k: number): GenerateJob => ({
    kind: 'generate',
    sequences: [1, 2].map((seed) => ({
      caption: 'ambient',
      lyrics: '[Instrumental]',
      userMetadata: { duration: 10 },
      seed: BigInt(seed),
      durationSeconds: 7,
    })),
    params: DEFAULT_DECODE_PARAMS,
    negativePrompt: 'NO USER INPUT',
    generateAudioCodes: true,
    useCotMetas: true,
    useCotCaption: true,
    useCotLanguage: false,
    codesChunkSize: k,
  });

  async function run(k: number) {
    const events: EngineEvent[] = [];
    const runner = new MeteredRunner();
    await runGenerate(rt, job(k), (e) => events.push(e), runner);
    const codes = [0, 1].map((i) =>
      events.flatMap((e) => (e.type === 'codes' && e.index === i ? e.codes : [])),
    );
    return { events, codes, runner };
  }

  it('gives the same codes whatever K (K only sets the chunking), exactly int(7 × 5) = 35 each', async () => {
    const a = await run(4);
    const b = await run(35);
    assert.equal(a.codes[0]!.length, 35);
    assert.deepEqual(a.codes, b.codes);
    assert.notDeepEqual(a.codes[0], a.codes[1]);
    // 35 codes at K = 4: 9 loop calls; at K = 35: one.
    assert.equal(a.runner.traffic.audio_codes.runs, 9);
    assert.equal(b.runner.traffic.audio_codes.runs, 1);
    assert.equal(a.runner.traffic.audio_codes.tokens, 70);
    // Loop bytes per token: the past goes in once per call, so fewer calls move fewer bytes.
    const perToken = (t: typeof a.runner.traffic.audio_codes) => (t.bytesIn + t.bytesOut) / t.tokens;
    assert.ok(perToken(b.runner.traffic.audio_codes) < perToken(a.runner.traffic.audio_codes));
  });

  it('a sequence gives the same CoT and codes alone or in a batch (padding and positions are per row)', async () => {
    const seq = (
      seed: number,
      caption: string,
      userMetadata: GenerateJob['sequences'][0]['userMetadata'],
    ) => ({
      caption,
      lyrics: '[Instrumental]',
      userMetadata,
      seed: BigInt(seed),
      durationSeconds: 10,
    });
    const generate = async (sequences: GenerateJob['sequences']) => {
      const events: EngineEvent[] = [];
      const runner = new MeteredRunner();
      await runGenerate(rt, { ...job(16), sequences, useCotLanguage: true }, (e) => events.push(e), runner);
      return { events, runner };
    };
    const alone = await generate([seq(5, 'ambient drone', { duration: 10 })]);
    const batch = await generate([
      seq(9, 'loud metal with a much longer caption than the others', { bpm: 140, duration: 10 }),
      seq(5, 'ambient drone', { duration: 10 }),
      seq(7, 'jazz', { duration: 10, keyscale: 'C major' }),
    ]);
    const pick = (events: EngineEvent[], i: number) => ({
      cot: events.find((e) => e.type === 'metadata' && e.index === i),
      codes: events.flatMap((e) => (e.type === 'codes' && e.index === i ? e.codes : [])),
    });
    const a = pick(alone.events, 0);
    const b = pick(batch.events, 1);
    assert.equal(a.codes.length, 50);
    assert.deepEqual(b, { ...a, cot: { ...a.cot!, index: 1 } as EngineEvent });
    // Forced runs (field names, user values) share one lm_decode call: fewer runs than tokens.
    const m = alone.runner.traffic.metadata;
    assert.ok(m.runs < m.tokens, `${m.runs} runs for ${m.tokens} tokens`);
  });

  it('a cancel flag stops decoding before the next graph run', async () => {
    const flag = new Int32Array(new SharedArrayBuffer(4));
    const runner = new MeteredRunner(flag);
    let codeChunks = 0;
    await assert.rejects(
      runGenerate(
        rt,
        job(4),
        (e) => {
          if (e.type === 'codes' && ++codeChunks === 2) Atomics.store(flag, 0, 1);
        },
        runner,
      ),
      { name: 'CancelledError' },
    );
    assert.equal(runner.traffic.audio_codes.runs, 1, 'stopped after the loop call that produced the chunks');
  });
});
