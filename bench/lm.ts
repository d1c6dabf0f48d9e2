// LM engine throughput on a model set (default: the tiny random one), in this thread (no gRPC):
// tokens/s of phase 1 (metadata: lm_decode + host sampling + FSM) and phase 2 (audio codes:
// lm_decode_loop) at batch 1/4/8, host time per token outside run() at the real vocabulary, and
// bytes copied into and out of run() per generated token, next to docs/model-contract.md's formula.
// Then, side by side in the same run: phase-2 codes/s per sampling setting (greedy vs top-k/top-p,
// batch 1) and the continuous batcher (8 single-item requests at once vs one 8-sequence request
// vs 8 requests one after another).
//   node bench/lm.ts [--threads 2] [--duration 10] [--caption-tokens 32] [--k 16] [--runs 3]
//                    [--sections engine,sampling,concurrency]
// Prints tables; no assertions. Numbers from a shared 2-core VM are noisy (±30 %).
import os from 'node:os';
import { parseArgs } from 'node:util';
import { DEFAULT_DECODE_PARAMS, type DecodeParams } from '@acestep/lm';
import {
  type GenerateJob,
  MeteredRunner,
  openLmRuntime,
  type PhaseTraffic,
  runGenerate,
} from '@acestep/lm/internal';
import { defaultModelDir } from '@acestep/models';
import { medianMs } from './median.ts';

const { values } = parseArgs({
  options: {
    threads: { type: 'string', default: '2' },
    duration: { type: 'string', default: '10' },
    'caption-tokens': { type: 'string', default: '32' },
    k: { type: 'string', default: '16' },
    batches: { type: 'string', default: '1,4,8' },
    runs: { type: 'string', default: '3' },
    sections: { type: 'string', default: 'engine,sampling,concurrency' },
  },
});
const duration = Number(values.duration);
const k = Number(values.k);
const rt = await openLmRuntime(defaultModelDir(), {
  intraOpThreads: Number(values.threads),
  maxCaptionTokens: Number(values['caption-tokens']),
});
const lm = rt.modelSet.manifest.constants.lm;

async function generate(batch: number, seed: number) {
  const runner = new MeteredRunner();
  const t0 = performance.now();
  let phase1End = t0;
  await runGenerate(
    rt,
    {
      kind: 'generate',
      sequences: Array.from({ length: batch }, (_, i) => ({
        caption: 'lofi hip hop, mellow piano, vinyl crackle',
        lyrics: '[Instrumental]',
        userMetadata: { duration },
        seed: BigInt(seed + i),
        durationSeconds: duration,
      })),
      params: DEFAULT_DECODE_PARAMS,
      negativePrompt: 'NO USER INPUT',
      generateAudioCodes: true,
      useCotMetas: true,
      useCotCaption: true,
      useCotLanguage: true,
      codesChunkSize: k,
    },
    (e) => {
      if (e.type === 'metadata') phase1End = performance.now();
    },
    runner,
  );
  return { traffic: runner.traffic, phase1Ms: phase1End - t0, phase2Ms: performance.now() - phase1End };
}

const kib = (b: number) => (b / 1024).toFixed(1);
const perToken = (t: PhaseTraffic) => (t.bytesIn + t.bytesOut) / Math.max(1, t.tokens);

const sections = new Set(values.sections.split(','));
const runs = Number(values.runs);
await generate(1, 999); // warm-up
const rows: string[][] = [
  [
    'batch',
    'phase-1 tok',
    'phase-1 tok/s',
    'host ms/tok',
    'phase-1 KiB/tok',
    'phase-2 codes',
    'phase-2 codes/s',
    'phase-2 KiB/tok',
    'prefill KiB',
  ],
];
const contract: string[][] = [
  [
    'batch',
    'phase',
    'mean past P',
    'tokens/run/pair',
    'measured B/tok',
    'formula B/tok',
    'real model, same P/K: MiB/tok',
  ],
];
// One context position of one row (fp32), and a logits row: the terms of model-contract.md's formula.
const rowBytes = lm.layers * 2 * lm.kvHeads * lm.headDim * 4;
const logitsRow = lm.vocabSize * 4;
for (const batch of sections.has('engine') ? values.batches.split(',').map(Number) : []) {
  const { traffic: t, phase1Ms, phase2Ms } = await generate(batch, 100 * batch);
  const m = t.metadata;
  const c = t.audio_codes;
  rows.push([
    String(batch),
    String(m.tokens),
    ((m.tokens / phase1Ms) * 1000).toFixed(1),
    (m.hostNs / 1e6 / Math.max(1, m.tokens)).toFixed(2),
    kib(perToken(m)),
    String(c.tokens),
    ((c.tokens / phase2Ms) * 1000).toFixed(1),
    kib(perToken(c)),
    kib(t.prefill.bytesIn + t.prefill.bytesOut),
  ]);
  // model-contract.md: lm_decode moves (P + 1) cache rows of a pair and 2 logits rows per token;
  // the loop moves (P + K) rows of a pair per K tokens (+ ~20 B of ids/uniforms). The int64
  // attention mask (16 B per position and pair) is on top of both (negligible at real size).
  const pairRow = 2 * rowBytes;
  // The real 0.6B/1.7B LM: 28 layers × 8 KV heads × 128, fp32 — 448 KiB per position of a pair.
  const realPair = 28 * 2 * 8 * 128 * 4 * 2;
  const mib = (b: number) => (b / 2 ** 20).toFixed(2);
  // Phase 1 feeds forced tokens with the sampled one, so a run carries S ≥ 1 tokens per pair:
  // (P·pair + S·pair + 2 logits rows) / S per token; S = 1 is the contract's table.
  const meanP1 = m.pastPositions / Math.max(1, m.runs);
  const s1 = m.tokens / Math.max(1, m.runs * batch);
  const formula1 = (meanP1 * pairRow + s1 * pairRow + 2 * logitsRow) / s1;
  const real1 = (meanP1 * realPair + s1 * realPair + 2 * logitsRow) / s1;
  contract.push([
    String(batch),
    'metadata (lm_decode)',
    meanP1.toFixed(0),
    s1.toFixed(2),
    perToken(m).toFixed(0),
    formula1.toFixed(0),
    mib(real1),
  ]);
  const meanP2 = c.pastPositions / Math.max(1, c.runs);
  const kEff = c.tokens / Math.max(1, c.runs * batch);
  const formula2 = ((meanP2 + kEff) * pairRow) / kEff + 20;
  contract.push([
    String(batch),
    `codes (loop, K ≤ ${k})`,
    meanP2.toFixed(0),
    kEff.toFixed(1),
    perToken(c).toFixed(0),
    formula2.toFixed(0),
    mib(((meanP2 + kEff) * realPair) / kEff + 20),
  ]);
}

const print = (table: string[][]) => {
  const widths = table[0]!.map((_, i) => Math.max(...table.map((r) => r[i]!.length)));
  for (const r of table) console.log(`| ${r.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`);
};
console.log(
  `LM engine, model set ${rt.modelSet.manifest.name} (vocab ${lm.vocabSize}, ${lm.layers} layers × ${lm.kvHeads} KV heads × ${lm.headDim}), ${os.cpus()[0]?.model} × ${os.cpus().length}, ${values.threads} ORT threads, duration ${duration} s, caption ≤ ${values['caption-tokens']} tokens, K = ${k}`,
);
if (sections.has('engine')) print(rows);
if (sections.has('engine'))
  console.log(
    '\nbytes per generated token vs docs/model-contract.md formula (tiny dims: one cache row of one sequence = ' +
      rowBytes +
      ' B, logits row = ' +
      logitsRow +
      ' B)',
  );
if (sections.has('engine')) print(contract);

/** A phase-2-only job (all four metas given: no phase 1) of `n` sequences. */
function codesJob(n: number, seed: number, params: DecodeParams): GenerateJob {
  return {
    kind: 'generate',
    sequences: Array.from({ length: n }, (_, i) => ({
      caption: 'lofi hip hop, mellow piano, vinyl crackle',
      lyrics: '[Instrumental]',
      userMetadata: { bpm: 90, duration, keyscale: 'C major', timesignature: '4' },
      seed: BigInt(seed + i),
      durationSeconds: duration,
    })),
    params,
    negativePrompt: 'NO USER INPUT',
    generateAudioCodes: true,
    useCotMetas: true,
    useCotCaption: true,
    useCotLanguage: true,
    codesChunkSize: k,
  };
}

const run = (job: GenerateJob) => runGenerate(rt, job, () => undefined, new MeteredRunner());
const codesPerJob = Math.trunc(duration * 5);

if (sections.has('sampling')) {
  const settings: [string, DecodeParams][] = [
    ['greedy (temperature 0)', { ...DEFAULT_DECODE_PARAMS, temperature: 0 }],
    ['top-k 50 + top-p 0.9', { ...DEFAULT_DECODE_PARAMS, topK: 50, topP: 0.9 }],
    ['top-k 200', { ...DEFAULT_DECODE_PARAMS, topK: 200, topP: undefined }],
    ['plain (temperature only)', { ...DEFAULT_DECODE_PARAMS, topK: 0, topP: undefined }],
    ['top-p 0.9 alone (defaults)', DEFAULT_DECODE_PARAMS],
  ];
  const table = [
    ['phase 2, batch 1, K = ' + k, 'median ms per job', 'ms per code', 'codes/s', '× greedy time'],
  ];
  let greedyMs = 0;
  for (const [name, params] of settings) {
    const ms = await medianMs(() => run(codesJob(1, 7, params)), runs);
    if (greedyMs === 0) greedyMs = ms;
    table.push([
      name,
      ms.toFixed(0),
      (ms / codesPerJob).toFixed(2),
      ((codesPerJob / ms) * 1000).toFixed(1),
      (ms / greedyMs).toFixed(2),
    ]);
  }
  console.log(`\nsampling cost in lm_decode_loop (${codesPerJob} codes per job, median of ${runs})`);
  print(table);
}

if (sections.has('concurrency')) {
  const params = DEFAULT_DECODE_PARAMS;
  const full = (n: number, seed: number): GenerateJob => ({
    ...codesJob(n, seed, params),
    sequences: codesJob(n, seed, params).sequences.map((q) => ({ ...q, userMetadata: { duration } })),
  });
  const shapes: [string, () => Promise<unknown>][] = [
    ['one request of 8 sequences', () => run(full(8, 300))],
    [
      '8 single-item requests at once',
      () => Promise.all(Array.from({ length: 8 }, (_, i) => run(full(1, 300 + i)))),
    ],
    [
      '8 single-item requests one after another',
      async () => {
        for (let i = 0; i < 8; i++) await run(full(1, 300 + i));
      },
    ],
  ];
  const table = [['8 sequences (phase 1 + phase 2)', 'median ms', 'codes/s', '× one batch']];
  let batchMs = 0;
  for (const [name, fn] of shapes) {
    const ms = await medianMs(fn, runs);
    if (batchMs === 0) batchMs = ms;
    table.push([
      name,
      ms.toFixed(0),
      (((8 * codesPerJob) / ms) * 1000).toFixed(1),
      (batchMs / ms).toFixed(2),
    ]);
  }
  console.log(
    `\ncontinuous batching (${codesPerJob} codes per sequence, caption ≤ ${values['caption-tokens']} tokens, median of ${runs})`,
  );
  print(table);
}
await rt.modelSet.close();
