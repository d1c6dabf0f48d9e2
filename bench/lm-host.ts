/**
 * Host cost per decode step over the real vocabulary (217,204 ids), by FSM situation:
 *   node bench/lm-host.ts
 * Random N(0, 3²) logits for both CFG rows; reports CPU ms per `selectToken` (robust on a shared box) and the wall median
 * (CFG mix + FSM mask + sampler + advance). Not a test: numbers depend on the machine.
 */

import {
  buildFsmTables,
  createFsmState,
  type DecodeParams,
  type FsmOptions,
  type FsmState,
  mulberry32,
  selectToken,
  TokenSampler,
} from '@acestep/lm';
import { loadQwen3Tokenizer } from '@acestep/tokenizer';

const tok = await loadQwen3Tokenizer();
const tables = buildFsmTables(tok);
const rng = mulberry32(1);
const V = tok.vocabSize;
const base = Float32Array.from(
  { length: V * 2 },
  () => 3 * Math.sqrt(-2 * Math.log(1 - rng.nextUniform())) * Math.cos(6.283185307 * rng.nextUniform()),
);
const cond = new Float32Array(V);
const uncond = new Float32Array(V);
const sampler = new TokenSampler(V);

function measure(
  label: string,
  make: () => FsmState,
  params: DecodeParams,
  steps: number,
  prepare?: (s: FsmState) => void,
): void {
  const times: number[] = [];
  let cpuMicros = 0;
  for (let i = 0; i < steps; i++) {
    const fsm = make();
    prepare?.(fsm);
    const off = rng.nextUint32() % V;
    cond.set(base.subarray(off, off + V));
    uncond.set(base.subarray(V - off, 2 * V - off));
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    selectToken({ cond, uncond, fsm, sampler, rng, params });
    times.push(performance.now() - t0);
    const c = process.cpuUsage(c0);
    cpuMicros += c.user + c.system;
  }
  times.sort((a, b) => a - b);
  const median = times[Math.floor(times.length / 2)]!;
  console.log(
    `${label.padEnd(40)} cpu ${(cpuMicros / steps / 1000).toFixed(3)} ms/step  wall median ${median.toFixed(3)} ms`,
  );
}

const noTopP: DecodeParams = {
  temperature: 0.85,
  topK: 0,
  topP: undefined,
  cfgScale: 2,
  repetitionPenalty: 1,
};
const topP: DecodeParams = { ...noTopP, topP: 0.9 };
const topK: DecodeParams = { ...noTopP, topK: 50, topP: 0.9 };
const cot: FsmOptions = { phase: 'cot', stopAtReasoning: true };
const codes = (): FsmState => createFsmState(tables, { phase: 'codes', targetCodes: 1000 });
const atField = (field: number, valueTokens: number, lastNewline: boolean) => (s: FsmState) => {
  s.stage = 'FIELD_VALUE';
  s.fieldIndex = field;
  s.node = field === 0 ? tables.trees.bpm : undefined;
  s.valueTokens = valueTokens;
  s.lastEndedWithNewline = lastNewline;
};

measure('forced token (field name)', () => createFsmState(tables, cot), noTopP, 200);
measure('bpm value (prefix tree)', () => createFsmState(tables, cot), noTopP, 200, atField(0, 0, false));
for (const [name, params] of [
  ['no top-p', noTopP],
  ['top-p 0.9', topP],
  ['top-k 50 + top-p', topK],
] as const) {
  measure(`caption free text, ${name}`, () => createFsmState(tables, cot), params, 60, atField(1, 3, false));
  measure(`code phase, ${name}`, codes, params, 60);
}
measure(
  'caption after newline (argmax check)',
  () => createFsmState(tables, cot),
  noTopP,
  60,
  atField(1, 3, true),
);
