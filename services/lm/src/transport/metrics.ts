// The LM engine's batching metrics (docs/metrics.md): the worker sends its counters about once a
// second and these turn them into Prometheus series. Rates (tokens/s, codes/s) are
// `rate(acestep_lm_tokens_total[1m])` by phase; occupancy is rows per step.
import { Counter, Gauge, type Registry } from 'prom-client';
import type { EngineStats } from '../model/engine.ts';

const PHASES = ['metadata', 'audio_codes'] as const;

export function engineMetrics(registry: Registry): (stats: EngineStats) => void {
  const tokens = new Counter({
    name: 'acestep_lm_tokens_total',
    help: 'Tokens written by the LM, by phase (metadata: phase 1 and single-turn calls; audio_codes: codes).',
    labelNames: ['phase'],
    registers: [registry],
  });
  const steps = new Counter({
    name: 'acestep_lm_batch_steps_total',
    help: 'Batch steps (graph calls) of the running batches, by phase.',
    labelNames: ['phase'],
    registers: [registry],
  });
  const rows = new Counter({
    name: 'acestep_lm_batch_rows_total',
    help: 'Rows carried by those steps (a CFG pair is 2); rows/steps is the batch occupancy.',
    labelNames: ['phase'],
    registers: [registry],
  });
  const batchRows = new Gauge({
    name: 'acestep_lm_batch_rows',
    help: 'Rows in each running batch now, by phase.',
    labelNames: ['phase'],
    registers: [registry],
  });
  const kvBytes = new Gauge({
    name: 'acestep_lm_kv_cache_bytes',
    help: 'Bytes of the running batches\u2019 KV caches now.',
    registers: [registry],
  });
  const kvBudget = new Gauge({
    name: 'acestep_lm_kv_cache_budget_bytes',
    help: 'The KV-cache budget (--kv-cache-mb).',
    registers: [registry],
  });
  const sequences = new Gauge({
    name: 'acestep_lm_sequences',
    help: 'Sequences in a running batch (state=running) or waiting for KV budget (state=waiting).',
    labelNames: ['state'],
    registers: [registry],
  });
  const last = {
    tokens: { metadata: 0, audio_codes: 0 },
    steps: { metadata: 0, audio_codes: 0 },
    rows: { metadata: 0, audio_codes: 0 },
  };
  return (s) => {
    for (const phase of PHASES) {
      tokens.inc({ phase }, s.tokens[phase] - last.tokens[phase]);
      steps.inc({ phase }, s.steps[phase] - last.steps[phase]);
      rows.inc({ phase }, s.rows[phase] - last.rows[phase]);
      batchRows.set({ phase }, s.batchRows[phase]);
      last.tokens[phase] = s.tokens[phase];
      last.steps[phase] = s.steps[phase];
      last.rows[phase] = s.rows[phase];
    }
    kvBytes.set(s.kvBytes);
    kvBudget.set(s.kvBudgetBytes);
    sequences.set({ state: 'running' }, s.running);
    sequences.set({ state: 'waiting' }, s.waiting);
  };
}
