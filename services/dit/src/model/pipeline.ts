// One Generate request end to end, split where the batcher needs it:
//   planRequest  (sync: every check, no model work) → prepareJob (hints + conditioning)
//   → runJobs (one sampler run for one or more compatible jobs) → latents per item.
import { useSeed } from '@acestep/acestep';
import ort from 'onnxruntime-node';
import { parseAudioCodes } from '../core/audio-codes.ts';
import { DitInputError, invalid } from '../core/errors.ts';
import { LATENT_CHANNELS } from '../core/latents.ts';
import { checkVocalLanguage, DEFAULT_DIT_INSTRUCTION, type Metas } from '../core/prompts.ts';
import { checkCrossfadeFrames, checkInjectionRatio, type RepaintItem } from '../core/repaint.ts';
import {
  checkAudioCoverStrength,
  checkInferMethod,
  coverSwitchStep,
  type GuidanceConfig,
  type InferMethod,
  resolveGuidance,
  type StepProgress,
  sample,
} from '../core/sampler.ts';
import { buildSchedule, type Schedule } from '../core/schedule.ts';
import {
  batchFrames,
  buildItemContext,
  checkTaskType,
  nonCoverItemContext,
  planTask,
  type TaskPlan,
} from '../core/tasks.ts';
import {
  type ConditionItem,
  type Conditioning,
  encodeConditions,
  hintsFromCodes,
  hintsFromSource,
} from './conditioning.ts';
import type { DitModel, DitModelMeta } from './model.ts';
import { type Feeds, hostBytes, StepFeeds, tensorBytes } from './step-feeds.ts';

export interface GenerateItem {
  caption: string;
  lyrics: string;
  /** '' = unknown. */
  vocalLanguage: string;
  metas: Metas & { durationSeconds?: number };
  /** 5 Hz codes; empty = none. */
  audioCodes: readonly number[];
  /** 0 .. 2^63 - 1: this seed; -1: drawn at random (reported back); see @acestep/acestep seeds. */
  seed: bigint;
  srcLatents?: Float32Array;
  referenceLatents?: Float32Array;
}

/** A Generate request in plain types; undefined = the field's default. */
export interface GenerateRequest {
  task: string;
  instruction?: string;
  items: GenerateItem[];
  durationSeconds?: number;
  inferenceSteps?: number;
  timesteps?: number[];
  shift?: number;
  guidanceScale?: number;
  useAdg?: boolean;
  cfgIntervalStart?: number;
  cfgIntervalEnd?: number;
  inferMethod?: string;
  audioCoverStrength?: number;
  repaintingStart?: number;
  repaintingEnd?: number;
  /** Repaint/lego: share of the steps that re-inject the source outside the span (default 0.5). */
  repaintInjectionRatio?: number;
  /** Repaint/lego: frames ramped at each span edge after sampling (default 10). */
  repaintCrossfadeFrames?: number;
  trackNames?: string[];
}

export interface RequestPlan {
  request: GenerateRequest;
  plans: TaskPlan[];
  frames: number;
  schedule: Schedule;
  method: InferMethod;
  guidance: GuidanceConfig | null;
  audioCoverStrength: number;
  switchAt: number | null;
  seeds: bigint[];
  codes: number[][] | null;
  repaintInjectionRatio: number;
  repaintCrossfadeFrames: number;
}

/** A prepared request: conditioning computed, ready to be sampled alone or batched with others. */
export interface Job {
  plan: RequestPlan;
  conditioning: Conditioning;
  nonCoverConditioning?: Conditioning;
  /** Per item: source re-injection and crossfade of repaint/lego items, null for the others. */
  repaint: (RepaintItem | null)[];
  /** Jobs with equal keys can share one sampler run (same T, schedule, guidance, encoder length). */
  key: string;
}

function withItem(i: number, batch: number, error: unknown): unknown {
  if (!(error instanceof DitInputError) || batch === 1) return error;
  return new DitInputError(
    error.field,
    `item ${i}: ${error.message.slice(error.field.length + 2)}`,
    error.code,
  );
}

/** Every check of a request, before any model work (errors: DitInputError). */
export function planRequest(model: DitModelMeta, request: GenerateRequest, maxBatch: number): RequestPlan {
  const batch = request.items.length;
  if (batch < 1 || batch > maxBatch) throw invalid('items', `must hold 1..${maxBatch} items, got ${batch}`);
  const task = checkTaskType(request.task);
  const codes = checkCodes(request.items);
  const plans = request.items.map((item, i) => {
    try {
      checkVocalLanguage(item.vocalLanguage || 'unknown');
      return planTask({
        task,
        model: model.ref,
        ...(request.durationSeconds !== undefined ? { durationSeconds: request.durationSeconds } : {}),
        ...(item.srcLatents ? { sourceLatents: item.srcLatents } : {}),
        ...(codes ? { audioCodeCount: codes[i]!.length } : {}),
        ...(request.repaintingStart !== undefined ? { repaintStartSeconds: request.repaintingStart } : {}),
        ...(request.repaintingEnd !== undefined ? { repaintEndSeconds: request.repaintingEnd } : {}),
        ...(request.trackNames ? { trackNames: request.trackNames } : {}),
        ...(request.instruction ? { instruction: request.instruction } : {}),
      });
    } catch (error) {
      throw withItem(i, batch, error);
    }
  });
  const schedule = buildSchedule(
    model.family,
    {
      ...(request.inferenceSteps !== undefined ? { steps: request.inferenceSteps } : {}),
      ...(request.shift !== undefined ? { shift: request.shift } : {}),
      ...(request.timesteps?.length ? { timesteps: request.timesteps } : {}),
    },
    model.variant,
  );
  const guidance = resolveGuidance(model.family, {
    ...(request.guidanceScale !== undefined ? { guidanceScale: request.guidanceScale } : {}),
    ...(request.useAdg !== undefined ? { useAdg: request.useAdg } : {}),
    ...(request.cfgIntervalStart !== undefined ? { cfgIntervalStart: request.cfgIntervalStart } : {}),
    ...(request.cfgIntervalEnd !== undefined ? { cfgIntervalEnd: request.cfgIntervalEnd } : {}),
  });
  const audioCoverStrength = checkAudioCoverStrength(request.audioCoverStrength);
  const repaintInjectionRatio = checkInjectionRatio(request.repaintInjectionRatio);
  const repaintCrossfadeFrames = checkCrossfadeFrames(request.repaintCrossfadeFrames);
  const anyCover = plans.some((p) => p.isCover);
  return {
    request,
    plans,
    frames: batchFrames(plans),
    schedule,
    method: checkInferMethod(request.inferMethod),
    guidance,
    audioCoverStrength,
    // The switch only matters when some item is a cover.
    switchAt: anyCover ? coverSwitchStep(schedule.steps, audioCoverStrength) : null,
    seeds: request.items.map((it) => useSeed(it.seed)),
    codes,
    repaintInjectionRatio,
    repaintCrossfadeFrames,
  };
}

/** Codes are all-or-none across items, with one count (the items share T). */
function checkCodes(items: readonly GenerateItem[]): number[][] | null {
  const withCodes = items.filter((it) => it.audioCodes.length > 0).length;
  if (withCodes === 0) return null;
  if (withCodes !== items.length) {
    throw invalid(
      'items.audio_codes',
      `either every item has audio codes or none; ${withCodes} of ${items.length} have`,
    );
  }
  const count = items[0]!.audioCodes.length;
  return items.map((it, i) => {
    if (it.audioCodes.length !== count) {
      throw invalid(
        `items[${i}].audio_codes`,
        `every item needs the same number of codes (item 0 has ${count}), got ${it.audioCodes.length}`,
      );
    }
    return parseAudioCodes(it.audioCodes, `items[${i}].audio_codes`);
  });
}

/** Hints and conditioning of a planned request (runs the encoder graphs). */
export async function prepareJob(model: DitModel, plan: RequestPlan, signal?: AbortSignal): Promise<Job> {
  const { frames, request } = plan;
  const contexts = plan.plans.map((p, i) =>
    buildItemContext(p, request.items[i]!.srcLatents, model.silence, frames),
  );
  const hints: (Float32Array | undefined)[] = plan.codes ? await hintsFromCodes(model, plan.codes) : [];
  for (const [i, p] of plan.plans.entries()) {
    signal?.throwIfAborted();
    if (p.hints === 'tokenized-source') hints[i] = await hintsFromSource(model, contexts[i]!.srcLatents);
  }
  const items: ConditionItem[] = plan.plans.map((p, i) => {
    const item = request.items[i]!;
    return {
      prompt: {
        instruction: p.instruction,
        caption: item.caption,
        metas: { ...item.metas, durationSeconds: item.metas.durationSeconds ?? p.metasDurationSeconds },
        language: item.vocalLanguage || 'unknown',
        // Empty lyrics stay empty, as upstream's DiT prompt ("# Lyric\n<|endoftext|>").
        lyrics: item.lyrics,
      },
      context: contexts[i]!,
      ...(hints[i] ? { hints: hints[i] } : {}),
      ...(item.referenceLatents ? { reference: item.referenceLatents } : {}),
    };
  });
  signal?.throwIfAborted();
  const conditioning = await encodeConditions(model, items, frames);
  let nonCoverConditioning: Conditioning | undefined;
  if (plan.switchAt !== null) {
    // After the switch the model sees text2music's instruction and a silence context (docs/official-behaviour.md "Tasks").
    signal?.throwIfAborted();
    const nonCover = items.map((it) => ({
      ...it,
      prompt: { ...it.prompt, instruction: DEFAULT_DIT_INSTRUCTION },
      context: nonCoverItemContext(it.context, model.silence),
    }));
    // Upstream pads the non-cover caption ids to the cover prompts' length, cropping longer rows.
    nonCoverConditioning = await encodeConditions(model, nonCover, frames, conditioning.textLen);
  }
  const { schedule, guidance, method, switchAt } = plan;
  const key = JSON.stringify([
    frames,
    schedule.timesteps,
    method,
    guidance,
    switchAt,
    conditioning.encLen,
    nonCoverConditioning?.encLen ?? null,
  ]);
  const repaint = contexts.map((c): RepaintItem | null =>
    c.repaint
      ? {
          ...c.repaint,
          injectionRatio: plan.repaintInjectionRatio,
          crossfadeFrames: plan.repaintCrossfadeFrames,
        }
      : null,
  );
  return { plan, conditioning, ...(nonCoverConditioning ? { nonCoverConditioning } : {}), repaint, key };
}

/** Host-side cost accounting of a sampler run, for logs and the benchmark. */
export interface RunStats {
  steps: number;
  /** Wall time of the whole loop. */
  totalNs: bigint;
  /** Time spent awaiting dit_step runs (worker copy + inference). */
  modelNs: bigint;
  /**
   * Bytes of host tensors fed to dit_step and of its outputs: what crosses between host and
   * device (on CUDA every run copies them; on WebGPU the conditioning is uploaded once per run
   * and counted once).
   */
  hostToDeviceBytes: number;
  deviceToHostBytes: number;
}

export interface JobsResult {
  /** [T, 64] latents per item, per job. */
  latents: Float32Array[][];
  stats: RunStats;
}

/** Stacks B-item conditionings of equal shape into one. */
export function mergeConditioning(parts: readonly Conditioning[]): Conditioning {
  if (parts.length === 1) return parts[0]!;
  const concat = (arrays: Float32Array[]) => {
    const out = new Float32Array(arrays.reduce((n, a) => n + a.length, 0));
    let at = 0;
    for (const a of arrays) {
      out.set(a, at);
      at += a.length;
    }
    return out;
  };
  return {
    batch: parts.reduce((n, p) => n + p.batch, 0),
    frames: parts[0]!.frames,
    encLen: parts[0]!.encLen,
    textLen: parts[0]!.textLen,
    encoderHiddenStates: concat(parts.map((p) => p.encoderHiddenStates)),
    contextLatents: concat(parts.map((p) => p.contextLatents)),
  };
}

/** dit_step inputs: x_t [rows, T, 64], t for every row, and the conditioning feeds. */
export function stepInputs(
  xt: Float32Array,
  t: number,
  rows: number,
  frames: number,
  feeds: Feeds,
): Record<string, ort.Tensor> {
  return {
    xt: new ort.Tensor('float32', xt, [rows, frames, LATENT_CHANNELS]),
    timestep: new ort.Tensor('float32', new Float32Array(rows).fill(t), [rows]),
    ...feeds,
  };
}

/** One sampler run over compatible jobs (equal keys): rows in job order, noise per item from its seed. */
export async function runJobs(
  model: DitModel,
  jobs: readonly Job[],
  options: { signal?: AbortSignal; onStep?: (progress: StepProgress) => void } = {},
): Promise<JobsResult> {
  const first = jobs[0]!.plan;
  const conditioning = mergeConditioning(jobs.map((j) => j.conditioning));
  const nonCover =
    first.switchAt !== null ? mergeConditioning(jobs.map((j) => j.nonCoverConditioning!)) : undefined;
  const dit = model.session('dit_step');
  const stats: RunStats = { steps: 0, totalNs: 0n, modelNs: 0n, hostToDeviceBytes: 0, deviceToHostBytes: 0 };
  const feeds = new StepFeeds(model, stats);
  const started = process.hrtime.bigint();
  let result: Awaited<ReturnType<typeof sample>>;
  try {
    result = await sample<Conditioning>({
      schedule: first.schedule,
      batch: conditioning.batch,
      frames: conditioning.frames,
      seeds: jobs.flatMap((j) => j.plan.seeds),
      method: first.method,
      guidance: first.guidance,
      conditioning,
      ...(nonCover ? { nonCoverConditioning: nonCover, audioCoverStrength: first.audioCoverStrength } : {}),
      repaint: jobs.flatMap((j) => j.repaint),
      ...(options.signal ? { signal: options.signal } : {}),
      ...(options.onStep ? { onStep: options.onStep } : {}),
      predictVelocity: async (req) => {
        const conditioning = await feeds.get(req.conditioning, req.withNullCondition);
        const inputs = stepInputs(req.xt, req.t, req.rows, req.frames, conditioning);
        const runStarted = process.hrtime.bigint();
        const out = await dit.run(inputs);
        stats.modelNs += process.hrtime.bigint() - runStarted;
        stats.hostToDeviceBytes += hostBytes(inputs);
        stats.deviceToHostBytes += tensorBytes(out.velocity!);
        stats.steps++;
        // In-thread sessions block this thread while they run: yield to the event loop once per
        // step so an abort (or a request's conditioning work) gets in before the next step.
        await new Promise<void>((resolve) => setImmediate(resolve));
        return out.velocity!.data as Float32Array;
      },
    });
  } finally {
    await feeds.dispose();
  }
  stats.totalNs = process.hrtime.bigint() - started;
  const perItem = conditioning.frames * LATENT_CHANNELS;
  let row = 0;
  // Every item decodes at its request's batch length T (upstream pads shorter items with silence).
  const latents = jobs.map((job) =>
    job.plan.plans.map(() => {
      const start = row++ * perItem;
      return result.latents.slice(start, start + perItem);
    }),
  );
  return { latents, stats };
}
