// Continuous batching on the tiny LM, in this thread: requests that join a running batch
// mid-flight, a cancelled neighbour, the KV budget, and the official end-of-codes rule.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { requireModelDir } from '@acestep/models';
import { buildPhase2Prompts, DEFAULT_DECODE_PARAMS, formatMetadataYaml } from '../core/index.ts';
import { BudgetError } from './batcher.ts';
import { MeteredRunner } from './graphs.ts';
import { type LmRuntime, openLmRuntime, runGenerate } from './jobs.ts';
import type { EngineEvent, GenerateJob, SequenceJob } from './protocol.ts';

function job(sequences: SequenceJob[], over: Partial<GenerateJob> = {}): GenerateJob {
  return {
    kind: 'generate',
    sequences,
    params: DEFAULT_DECODE_PARAMS,
    negativePrompt: 'NO USER INPUT',
    generateAudioCodes: true,
    useCotMetas: true,
    useCotCaption: true,
    useCotLanguage: false,
    codesChunkSize: 8,
    ...over,
  };
}

const seq = (seed: number, caption: string, seconds: number): SequenceJob => ({
  caption,
  lyrics: '[Instrumental]',
  userMetadata: { duration: seconds },
  seed: BigInt(seed),
  durationSeconds: seconds,
});

/** Runs a job; returns its metadata and codes per sequence, and the runner. */
function start(rt: LmRuntime, j: GenerateJob, onEvent?: (e: EngineEvent) => void, cancel?: Int32Array) {
  const events: EngineEvent[] = [];
  const runner = new MeteredRunner(cancel);
  const done = runGenerate(
    rt,
    j,
    (e) => {
      events.push(e);
      onEvent?.(e);
    },
    runner,
  ).then(() => {
    const n = j.sequences.length;
    return Array.from({ length: n }, (_, i) => ({
      metadata: events.find((e) => e.type === 'metadata' && e.index === i),
      codes: events.flatMap((e) => (e.type === 'codes' && e.index === i ? e.codes : [])),
    }));
  });
  return { done, runner };
}

describe('continuous batching on the tiny LM', () => {
  let rt: LmRuntime;
  before(async () => {
    rt = await openLmRuntime(requireModelDir(), { intraOpThreads: 1, maxCaptionTokens: 8 });
  });
  after(async () => {
    await rt?.modelSet.close();
  });

  const a = () => job([seq(11, 'slow ambient drone', 12), seq(12, 'dub techno', 10)]);
  const b = () =>
    job([seq(21, 'fast punk', 10)], {
      params: { ...DEFAULT_DECODE_PARAMS, cfgScale: 3, temperature: 1.1, topK: 40, topP: 0.95 },
      codesChunkSize: 5,
    });

  it('a request joining mid-flight writes what it writes alone, and so does the running one', async () => {
    const aloneA = await start(rt, a()).done;
    const aloneB = await start(rt, b()).done;
    assert.equal(aloneA[0]!.codes.length, 60);
    let joined: ReturnType<typeof start> | undefined;
    let codesOfA = 0;
    const runA = start(rt, a(), (e) => {
      // B arrives while A is in phase 2 (A's second codes chunk): B's phase 1 runs next to A's codes.
      if (e.type === 'codes' && ++codesOfA === 3) joined = start(rt, b());
    });
    const withA = await runA.done;
    assert.ok(joined, 'B was started while A ran');
    const withB = await joined.done;
    assert.deepEqual(withA, aloneA);
    assert.deepEqual(withB, aloneB);
    // A's codes calls carried B's pair too at some point: shared calls, not one after another.
    const shared = rt.batcher.stats().rows.audio_codes / rt.batcher.stats().steps.audio_codes;
    assert.ok(shared > 2, `mean rows per code call ${shared}`);
  });

  it('cancelling one request leaves the others unchanged and frees its rows', async () => {
    const aloneA = await start(rt, a()).done;
    const flag = new Int32Array(new SharedArrayBuffer(4));
    let chunks = 0;
    const victim = start(
      rt,
      b(),
      (e) => {
        if (e.type === 'codes' && ++chunks === 2) Atomics.store(flag, 0, 1);
      },
      flag,
    );
    const runA = start(rt, a());
    await assert.rejects(victim.done, { name: 'CancelledError' });
    assert.deepEqual(await runA.done, aloneA);
    assert.equal(chunks, 2, 'no codes after the cancel');
    assert.equal(rt.batcher.stats().running, 0);
    assert.equal(rt.batcher.stats().kvBytes, 0);
  });

  it('the official end-of-codes rule without a user duration: the model stops, capped by max_model_len', async () => {
    const lm = rt.modelSet.manifest.constants.lm;
    // All four metas given (no phase 1), no durationSeconds: no code target. A long caption puts
    // the context cap (max_model_len − prompt) below the max_model_len − 64 = 4032 cap.
    const meta = { bpm: 100, duration: 30, keyscale: 'C major', timesignature: '4' };
    const promptOf = (words: number) => {
      const caption = Array.from({ length: words }, (_, i) => `w${i % 97}`).join(' ');
      const p = buildPhase2Prompts(caption, '[Instrumental]', formatMetadataYaml(meta), 'NO USER INPUT');
      const longest = Math.max(rt.tokenizer.encode(p.cond).length, rt.tokenizer.encode(p.uncond).length);
      return { caption, longest };
    };
    // Tokens grow linearly with the words (w0..w96 repeat): aim at ~80 positions left, then step.
    const base = promptOf(0).longest;
    const slope = (promptOf(970).longest - base) / 970;
    let words = Math.floor((lm.maxModelLen - 100 - base) / slope);
    while (promptOf(words).longest < lm.maxModelLen - 80) words += 5;
    const { caption, longest } = promptOf(words);
    const s: SequenceJob = { caption, lyrics: '[Instrumental]', userMetadata: meta, seed: 5n };
    const cap = Math.min(lm.maxModelLen - 64, lm.maxModelLen - longest);
    assert.ok(cap > 0 && cap < 200, `test prompt leaves ${cap} codes`);
    const [out] = await start(rt, job([s], { codesChunkSize: 32 })).done;
    // The CoT duration (30 s = 150 codes) does not set the count; the random model never picks EOS.
    assert.equal(out!.codes.length, cap);
  });

  it('the KV budget refuses a request that can never fit, and queues one that must wait', async () => {
    const small = await openLmRuntime(requireModelDir(), {
      intraOpThreads: 1,
      maxCaptionTokens: 8,
      // Room for one short code pair at a time (the tiny LM: 256 B per position and pair; the
      // request below reserves ~110 positions: prompt + 50 codes + one chunk).
      kvCacheBytes: 40_000,
    });
    try {
      const long = job([seq(1, 'x', 600)], { useCotMetas: false });
      await assert.rejects(start(small, long).done, (e: Error) => {
        assert.ok(e instanceof BudgetError);
        assert.match(e.message, /KV cache.*budget/);
        return true;
      });
      const one = () => job([seq(3, 'drone', 10)], { useCotMetas: false });
      const alone = await start(small, one()).done;
      let waited = 0;
      const first = start(small, one(), () => {
        waited = Math.max(waited, small.batcher.stats().waiting);
      });
      const second = start(small, one());
      assert.deepEqual(await first.done, alone);
      assert.deepEqual(await second.done, alone);
      assert.equal(waited, 1, 'the second request waited for the first to leave');
    } finally {
      await small.modelSet.close();
    }
  });
});

describe('phase 1 through lm_decode_top (heads) vs whole logits rows', () => {
  it('writes the same metadata with less than half the bytes', async () => {
    const open = (hostLogits: 'heads' | 'rows') =>
      openLmRuntime(requireModelDir(), { intraOpThreads: 1, maxCaptionTokens: 12, hostLogits });
    const heads = await open('heads');
    const rows = await open('rows');
    try {
      const sequences = [seq(31, 'lofi piano', 10), seq(32, 'noisy garage rock with shouted vocals', 10)];
      const settings = [
        DEFAULT_DECODE_PARAMS,
        { ...DEFAULT_DECODE_PARAMS, topK: 40, topP: 0.95, temperature: 1.0 },
        { ...DEFAULT_DECODE_PARAMS, temperature: 0 },
      ];
      for (const params of settings) {
        const j = job(sequences, { params, generateAudioCodes: false, useCotLanguage: true });
        const a = start(heads, j);
        const b = start(rows, j);
        const [ha, hb] = [await a.done, await b.done];
        assert.deepEqual(ha, hb, `params ${JSON.stringify(params)}`);
        const perToken = (r: MeteredRunner) =>
          (r.traffic.metadata.bytesIn + r.traffic.metadata.bytesOut) / r.traffic.metadata.tokens;
        assert.ok(
          perToken(a.runner) * 2 < perToken(b.runner),
          `${perToken(a.runner)} vs ${perToken(b.runner)} B/token`,
        );
      }
    } finally {
      await heads.modelSet.close();
      await rows.modelSet.close();
    }
  });
});
