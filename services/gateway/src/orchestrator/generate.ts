// generate_music across the stages, one small function per stage with a typed hand-off:
//   planStages (validate + seeds + stage plan) → encode sources (VAE) → LM chunks → DiT
//   → decode + encode files + store (audio-out.ts, overlapped) → the result (result.ts).
// Every step reports progress; every stage call goes through its Stage (attempts, deadline,
// request/job ids, errors) with the caller's signal, so a cancel reaches the stage doing the work.

import {
  AUDIO_CODES_PER_SECOND,
  HOP_SAMPLES,
  LATENT_CHANNELS,
  LATENT_FRAMES_PER_SECOND,
  resolveSeeds,
} from '@acestep/acestep';
import {
  type AudioLimits,
  decodeAudioOffThread,
  type EncoderPool,
  formatFromSpec,
  isAudioInputError,
} from '@acestep/audio';
import type { GenerationConfig, GenerationResult, Progress } from '@acestep/proto/gateway';
import { ProgressSchema, Stage as ProgressStage } from '@acestep/proto/gateway';
import { type Logger, StatusError } from '@acestep/runtime';
import { create } from '@bufbuild/protobuf';
import type { ResultStore } from '../jobs/index.ts';
import { type AudioBytes, type AudioOutResult, decodeToFiles } from './audio-out.ts';
import {
  type AudioRef,
  ConfigValidationError,
  type Deployment,
  ditConditioning,
  type GenerationPlan,
  type LmMetadataView,
  planGeneration,
  type ResolvedConfig,
  resolveConfig,
} from './index.ts';
import { buildResult, publicMetadata } from './result.ts';
import {
  ditGenerate,
  type LmCallResult,
  type LmSequenceResult,
  lmGenerate,
  vaeEncode,
} from './stage-calls.ts';
import type { Stages } from './stages.ts';
import { ditTaskType } from './vocab.ts';

export interface GenerateContext {
  stages: Stages;
  store: ResultStore;
  deployment: () => Promise<Deployment>;
  audioLimits: Partial<AudioLimits>;
  logger: Logger;
  /** Where output files are encoded, off the event loop (one stream per item). */
  encoders: EncoderPool;
}

/** Reports one progress event. */
export type ReportProgress = (
  stage: ProgressStage,
  step?: number,
  total?: number,
  message?: string,
  lmMetadata?: ReturnType<typeof publicMetadata>,
) => void;

/** Hand-off of `planStages`: the request with every default applied, the seeds, and what each stage does. */
export interface Planned {
  config: ResolvedConfig;
  seeds: bigint[];
  plan: GenerationPlan;
}

/** Hand-off of `encodeSources`: the source and reference audio as latents [T, 64]. */
export interface SourceLatents {
  src?: Float32Array;
  reference?: Float32Array;
  ms: number;
}

/** Hand-off of `runLm`: each chunk's answer, and the LM's sequence of each batch item. */
export interface LmOutcome {
  chunks: LmCallResult[];
  perItem: (index: number) => LmSequenceResult | undefined;
  /** The slowest chunk (chunks run concurrently); undefined when the LM did not run. */
  totalMs: number | undefined;
}

/** Hand-off of `runDit`: latents [T, 64] per item, and the seeds the DiT's noise came from. */
export interface DitOutcome {
  latents: Float32Array[];
  /** What the DiT reports it used, one per item: the seeds reported back. */
  seeds: bigint[];
  ms: number;
}

/** Hand-off of `decodeAndStore`: the stored files and when the decode and encoding ended. */
export interface StoredOutcome extends AudioOutResult {
  startedAt: number;
}

/** The config checked against the deployment, as the request gives it: the one validation. */
export async function checkConfig(context: Pick<GenerateContext, 'deployment'>, request: GenerationConfig) {
  try {
    return resolveConfig(request, await context.deployment());
  } catch (error) {
    if (error instanceof ConfigValidationError) throw validationError(error);
    throw error;
  }
}

/** The core's validation error as a status error listing every problem. */
function validationError(error: ConfigValidationError): StatusError {
  return new StatusError(error.code, error.problems.map((p) => p.message).join('; '), { cause: error });
}

export async function runGeneration(
  context: GenerateContext,
  request: GenerationConfig,
  report: (progress: Progress) => void,
  signal: AbortSignal,
  onAudio?: (bytes: AudioBytes) => void,
): Promise<GenerationResult> {
  const started = Date.now();
  const progress: ReportProgress = (stage, step = 0, total = 0, message = '', lmMetadata = undefined) =>
    report(create(ProgressSchema, { stage, step, total, message, ...(lmMetadata ? { lmMetadata } : {}) }));
  const planned = await planStages(context, request);
  progress(ProgressStage.QUEUED, 0, 0, 'preparing inputs');
  const sources = await encodeSources(context, planned, signal);
  const lm = await runLm(context, planned, progress, signal);
  const firstMetadata = publicMetadata(lm.perItem(0)?.metadata);
  if (firstMetadata) progress(ProgressStage.LM_METADATA, 0, 0, 'metadata ready', firstMetadata);
  const dit = await runDit(context, planned, sources, lm, progress, signal);
  const stored = await decodeAndStore(context, planned, dit, progress, signal, onAudio);
  progress(ProgressStage.ENCODING, stored.items.length, stored.items.length);
  return buildResult({ ...planned, sources, lm, dit, stored, firstMetadata, started });
}

/** Validate and default the request, draw the seeds, plan the stages. */
async function planStages(context: GenerateContext, request: GenerationConfig): Promise<Planned> {
  const config = await checkConfig(context, request);
  const seeds = resolveSeeds(config.batchSize, config.useRandomSeed, config.seed);
  return { config, seeds, plan: planGeneration(config, seeds) };
}

/** Source and reference audio → latents, when the task uses them. */
async function encodeSources(
  context: GenerateContext,
  planned: Planned,
  signal: AbortSignal,
): Promise<SourceLatents> {
  const { config, plan } = planned;
  const t0 = Date.now();
  const encode = async (ref: AudioRef) => {
    const audio = await readAudio(context, ref);
    return context.stages.vae.call(async (vae, call) => (await vaeEncode(vae, [audio], call))[0], { signal });
  };
  const src = plan.vae.encodeSrcAudio ? await encode(config.srcAudio!) : undefined;
  const reference = plan.vae.encodeReferenceAudio ? await encode(config.referenceAudio!) : undefined;
  return { ...(src ? { src } : {}), ...(reference ? { reference } : {}), ms: Date.now() - t0 };
}

/** The LM's chunks, concurrently (each chunk may land on another LM replica). */
async function runLm(
  context: GenerateContext,
  planned: Planned,
  progress: ReportProgress,
  signal: AbortSignal,
): Promise<LmOutcome> {
  const { config, plan } = planned;
  const { lm } = plan;
  if (lm.phases === 'none') return { chunks: [], perItem: () => undefined, totalMs: undefined };
  const writesCodes = lm.phases === 'codes' || lm.phases === 'metadata+codes';
  const chunks = await Promise.all(
    lm.chunks.map((chunk) =>
      context.stages.lm.call(
        (client, call) =>
          lmGenerate(
            client,
            {
              sequences: chunk.map((i) => ({
                caption: config.caption,
                lyrics: config.lyrics,
                userMetadata: {
                  ...(lm.forced.bpm !== undefined ? { bpm: lm.forced.bpm } : {}),
                  ...(lm.forced.duration !== undefined ? { duration: lm.forced.duration } : {}),
                  keyscale: lm.forced.keyscale ?? '',
                  timesignature: lm.forced.timesignature ?? '',
                  language: lm.forced.language ?? '',
                },
                seed: plan.dit.items[i]!.seed,
              })),
              sampling: {
                temperature: lm.sampling.temperature,
                cfgScale: lm.sampling.cfgScale,
                topK: lm.sampling.topK,
                topP: lm.sampling.topP,
                repetitionPenalty: 1,
                negativePrompt: lm.sampling.negativePrompt,
              },
              generateAudioCodes: writesCodes,
              useCotMetas: lm.phases === 'metadata' || lm.phases === 'metadata+codes',
              useCotCaption: lm.writesCaption,
              useCotLanguage: lm.writesLanguage,
            },
            (phase, tokens, total) =>
              progress(
                phase === 'audio_codes' ? ProgressStage.LM_AUDIO_CODES : ProgressStage.LM_METADATA,
                tokens,
                total,
              ),
            call,
          ),
        { signal },
      ),
    ),
  );
  const perItem = (i: number) => {
    const chunkIndex = plan.dit.items[i]?.lmChunk;
    if (chunkIndex === null || chunkIndex === undefined) return undefined;
    const position = plan.lm.chunks[chunkIndex]!.indexOf(i);
    return chunks[chunkIndex]?.sequences[position];
  };
  const totalMs = chunks.length > 0 ? chunks.reduce((ms, r) => Math.max(ms, r.totalMs), 0) : undefined;
  return { chunks, perItem, totalMs };
}

/** The DiT's denoising of the whole batch, conditioned on the LM's metadata and codes. */
async function runDit(
  context: GenerateContext,
  planned: Planned,
  sources: SourceLatents,
  lm: LmOutcome,
  progress: ReportProgress,
  signal: AbortSignal,
): Promise<DitOutcome> {
  const { config, plan } = planned;
  const items = plan.dit.items.map((item) => {
    const sequence = lm.perItem(item.index);
    const metadata = (sequence?.metadata as LmMetadataView | undefined) ?? null;
    const conditioning = ditConditioning(config, plan, metadata);
    const codes =
      item.codes.source === 'user'
        ? item.codes.codes
        : item.codes.source === 'lm'
          ? (sequence?.codes ?? [])
          : [];
    return { conditioning, codes, seed: item.seed };
  });
  const spec = {
    taskType: ditTaskType(plan.dit.task),
    instruction: plan.dit.instruction,
    durationSeconds: targetSeconds(plan, items, sources.src),
    inferenceSteps: plan.dit.inferenceSteps,
    guidanceScale: plan.dit.guidanceScale,
    useAdg: plan.dit.useAdg,
    cfgIntervalStart: plan.dit.cfgIntervalStart,
    cfgIntervalEnd: plan.dit.cfgIntervalEnd,
    audioCoverStrength: plan.dit.audioCoverStrength,
    repaintingStart: plan.dit.repaintingStart,
    repaintingEnd: plan.dit.repaintingEnd,
    repaintInjectionRatio: plan.dit.repaintInjectionRatio,
    repaintCrossfadeFrames: plan.dit.repaintCrossfadeFrames,
    items: items.map(({ conditioning: c, codes, seed }) => ({
      caption: c.caption,
      lyrics: c.lyrics,
      vocalLanguage: c.vocalLanguage,
      metas: {
        ...(c.metas.bpm !== null ? { bpm: c.metas.bpm } : {}),
        keyScale: c.metas.keyScale,
        timeSignature: c.metas.timeSignature,
        ...(c.metas.durationSeconds !== null ? { duration: c.metas.durationSeconds } : {}),
      },
      audioCodes: codes,
      seed,
    })),
  };
  const tensors = {
    srcLatents: sources.src ? items.map(() => sources.src) : undefined,
    referenceLatents: sources.reference ? items.map(() => sources.reference) : undefined,
  };
  const t0 = Date.now();
  const { latents, seeds } = await context.stages.dit.call(
    (dit, call) =>
      ditGenerate(dit, spec, tensors, (step, total) => progress(ProgressStage.DIT, step, total), call),
    { signal },
  );
  if (seeds.length !== items.length)
    throw new Error(`the DiT reported ${seeds.length} seeds for ${items.length} items`);
  return { latents, seeds, ms: Date.now() - t0 };
}

/** VAE decode, file encoding and storing, overlapped: each tile is encoded and stored as it arrives. */
async function decodeAndStore(
  context: GenerateContext,
  planned: Planned,
  dit: DitOutcome,
  progress: ReportProgress,
  signal: AbortSignal,
  onAudio?: (bytes: AudioBytes) => void,
): Promise<StoredOutcome> {
  progress(ProgressStage.VAE, 0, dit.latents.length);
  const startedAt = performance.now();
  const format = formatFromSpec(planned.config.audioFormat);
  const out = await context.stages.vae.call(
    (vae, call) => decodeToFiles(context, vae, dit.latents, format, call, onAudio),
    {
      signal,
    },
  );
  return { ...out, startedAt };
}

/** The batch's length in seconds, from the plan's duration source. */
function targetSeconds(
  plan: GenerationPlan,
  items: { codes: number[]; conditioning: { metas: { durationSeconds: number | null } } }[],
  srcLatents: Float32Array | undefined,
): number {
  const d = plan.duration;
  switch (d.source) {
    case 'user':
    case 'codes':
    case 'estimate':
      return d.seconds;
    case 'source-audio':
      return srcLatents ? srcLatents.length / LATENT_CHANNELS / LATENT_FRAMES_PER_SECOND : 30;
    case 'lm-codes': {
      const longest = Math.max(0, ...items.map((i) => i.codes.length));
      if (longest > 0) return longest / AUDIO_CODES_PER_SECOND;
      return d.targetSeconds ?? items[0]?.conditioning.metas.durationSeconds ?? 30;
    }
  }
}

/** Input audio (uploaded bytes or a stored object) → 48 kHz stereo, planar [2, S]. */
async function readAudio(context: GenerateContext, ref: AudioRef): Promise<Float32Array> {
  const bytes = ref.kind === 'data' ? ref.data : await context.store.readObject(ref.objectId);
  const pcm = await decodeAudioOffThread(bytes, context.audioLimits).catch((error: unknown) => {
    throw isAudioInputError(error)
      ? new StatusError('INVALID_ARGUMENT', `audio input: ${error.message}`, { cause: error })
      : error;
  });
  const samples = pcm.channels[0]!.length;
  if (samples < HOP_SAMPLES)
    throw new StatusError(
      'INVALID_ARGUMENT',
      `input audio is shorter than one latent frame (${HOP_SAMPLES} samples at 48 kHz)`,
    );
  const planar = new Float32Array(2 * samples);
  planar.set(pcm.channels[0]!, 0);
  planar.set(pcm.channels[1] ?? pcm.channels[0]!, samples);
  return planar;
}
