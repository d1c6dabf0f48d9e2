// Metrics of the model stages and of jobs, beside the RPC metrics every
// service has (metrics.ts). Each stage creates only its own group on its
// registry. docs/metrics.md lists them with the PromQL that turns them into
// rates (tokens/s, audio-seconds/s).
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

/** 1 ms .. ~2 min per step or phase. */
const STEP_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 120];
/** Tokens/s of one LM phase: CPU tiny models to a GPU's batched decode. */
const RATE_BUCKETS = [1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000];
/** Audio seconds per compute second: < 1 means slower than real time. */
const RTF_BUCKETS = [0.1, 0.25, 0.5, 1, 2, 5, 10, 25, 50, 100, 250, 1000];
/** Jobs: seconds in the queue or from submit to end (up to the 1 h run limit and beyond). */
const JOB_BUCKETS = [0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600, 7200];

/**
 * One group per registry: a service's routes may be built more than once (one
 * handler per HTTP version), and prom-client refuses a second metric of a name.
 */
const groups = new WeakMap<Registry, Map<string, unknown>>();
function once<T>(registry: Registry, name: string, make: () => T): T {
  const made = groups.get(registry) ?? new Map<string, unknown>();
  groups.set(registry, made);
  if (!made.has(name)) made.set(name, make());
  return made.get(name) as T;
}

export function lmMetrics(registry: Registry) {
  return once(registry, 'lm', () => ({
    phaseSeconds: new Counter({
      name: 'acestep_lm_phase_seconds_total',
      help: 'Seconds LM calls spent generating, by phase (acestep_lm_tokens_total, from the engine, counts their tokens).',
      labelNames: ['phase'],
      registers: [registry],
    }),
    tokensPerSecond: new Histogram({
      name: 'acestep_lm_tokens_per_second',
      help: 'Decode speed of one call in one phase (tokens/s).',
      labelNames: ['phase'],
      buckets: RATE_BUCKETS,
      registers: [registry],
    }),
  }));
}
export type LmMetrics = ReturnType<typeof lmMetrics>;

/**
 * Measures one LM call's phases from its cumulative progress events: a phase
 * runs from its first event (or the previous phase's end) to the next phase
 * or the end of the call.
 */
export class LmPhaseMeter {
  readonly #metrics: LmMetrics;
  #phase = '';
  #tokens = 0;
  #since: bigint;

  constructor(metrics: LmMetrics, started = process.hrtime.bigint()) {
    this.#metrics = metrics;
    this.#since = started;
  }

  progress(phase: string, tokens: number): void {
    if (phase !== this.#phase) this.end();
    this.#phase = phase;
    this.#tokens = Math.max(this.#tokens, tokens);
  }

  /** Closes the current phase (call at the end of the call too). */
  end(): void {
    const now = process.hrtime.bigint();
    if (this.#phase && this.#tokens > 0) {
      const seconds = Number(now - this.#since) / 1e9;
      this.#metrics.phaseSeconds.inc({ phase: this.#phase }, seconds);
      if (seconds > 0) this.#metrics.tokensPerSecond.observe({ phase: this.#phase }, this.#tokens / seconds);
    }
    this.#phase = '';
    this.#tokens = 0;
    this.#since = now;
  }
}

export function ditMetrics(registry: Registry) {
  return once(registry, 'dit', () => ({
    stepSeconds: new Histogram({
      name: 'acestep_dit_step_seconds',
      help: 'Wall time of one diffusion step of a batch (dit_step run plus host work).',
      buckets: STEP_BUCKETS,
      registers: [registry],
    }),
    steps: new Counter({
      name: 'acestep_dit_steps_total',
      help: 'Diffusion steps run (one per batch step, whatever the batch size).',
      registers: [registry],
    }),
  }));
}

export function vaeMetrics(registry: Registry) {
  return once(registry, 'vae', () => ({
    realtimeFactor: new Histogram({
      name: 'acestep_vae_realtime_factor',
      help: 'Audio seconds decoded per second of decode compute, per call (> 1 = faster than real time).',
      buckets: RTF_BUCKETS,
      registers: [registry],
    }),
    audioSeconds: new Counter({
      name: 'acestep_vae_audio_seconds_total',
      help: 'Seconds of audio decoded.',
      registers: [registry],
    }),
  }));
}

/** countByState is read at each scrape (the acestep_jobs gauge). */
export function jobMetrics(registry: Registry, countByState: () => Promise<Record<string, number>>) {
  return once(registry, 'jobs', () => ({
    jobsEnded: new Counter({
      name: 'acestep_jobs_ended_total',
      help: 'Jobs that ended on this replica, by state (SUCCEEDED, FAILED, CANCELLED).',
      labelNames: ['state'],
      registers: [registry],
    }),
    jobs: new Gauge({
      name: 'acestep_jobs',
      help: 'Jobs held by the job store, by state (embedded: this gateway; NATS: the cluster).',
      labelNames: ['state'],
      registers: [registry],
      async collect() {
        const counts = await countByState().catch(() => undefined);
        if (!counts) return; // store unreachable: keep the last values
        this.reset();
        for (const [state, count] of Object.entries(counts)) this.set({ state }, count);
      },
    }),
    queueWait: new Histogram({
      name: 'acestep_job_queue_wait_seconds',
      help: 'Seconds from submit to the start of a run.',
      buckets: JOB_BUCKETS,
      registers: [registry],
    }),
    duration: new Histogram({
      name: 'acestep_job_duration_seconds',
      help: 'Seconds from submit to the end, by end state.',
      labelNames: ['state'],
      buckets: JOB_BUCKETS,
      registers: [registry],
    }),
    audioSeconds: new Counter({
      name: 'acestep_generated_audio_seconds_total',
      help: 'Seconds of audio the gateway delivered (Generate and jobs); rate() = audio-seconds/s.',
      labelNames: ['via'],
      registers: [registry],
    }),
  }));
}
