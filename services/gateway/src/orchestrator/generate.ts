// generate_music across the stages: validate → (VAE encode source/reference
// audio) → LM chunks in parallel → DiT → VAE decode → encode files → result.
// Every step reports progress; every stage call carries the caller's signal,
// so a cancel reaches the stage doing the work.
import { formatSeedValue, resolveSeeds } from '@acestep/acestep';
import { type AudioLimits, decodeAudioOffThread, type EncoderPool, formatFromSpec } from '@acestep/audio';
import { TaskType as DitTaskType } from '@acestep/proto/dit';
import type { GenerationConfig, GenerationResult, Progress } from '@acestep/proto/gateway';
import {
  AudioFileSchema,
  GenerationResultSchema,
  LmMetadataSchema,
  ProgressSchema,
  Stage,
} from '@acestep/proto/gateway';
import type { LmMetadata as StageLmMetadata } from '@acestep/proto/lm';
import type { Logger } from '@acestep/runtime';
import { create } from '@bufbuild/protobuf';
import { Code, ConnectError } from '@connectrpc/connect';
import type { ResultStore } from '../jobs/index.ts';
import { objectUrl } from '../object-url.ts';
import { type AudioBytes, decodeToFiles } from './audio-out.ts';
import {
  type AudioRef,
  buildGenerationInfo,
  buildStatusMessage,
  ConfigValidationError,
  type Deployment,
  ditConditioning,
  type GenerationPlan,
  type LmMetadataView,
  planGeneration,
  type ResolvedConfig,
  resolveConfig,
  type StageTimesMs,
} from './index.ts';
import { ditGenerate, type LmCallResult, lmGenerate, vaeEncode, withRetry } from './stage-calls.ts';
import type { Stages } from './stages.ts';

const HOP = 1920;
const FRAMES_PER_SECOND = 25;

export interface GenerateContext {
  stages: Stages;
  store: ResultStore;
  deployment: () => Promise<Deployment>;
  audioLimits: Partial<AudioLimits>;
  logger: Logger;
  /** Attempts per stage call (UNAVAILABLE is retried on another replica). */
  stageAttempts: number;
  /** Deadline of each stage call, in milliseconds (propagated to the stage as the gRPC deadline). */
  stageTimeoutMs: number;
  /** Where output files are encoded, off the event loop (one stream per item). */
  encoders: EncoderPool;
}

const DIT_TASKS: Record<ResolvedConfig['taskType'], DitTaskType> = {
  text2music: DitTaskType.TEXT2MUSIC,
  cover: DitTaskType.COVER,
  repaint: DitTaskType.REPAINT,
  lego: DitTaskType.LEGO,
  extract: DitTaskType.EXTRACT,
  complete: DitTaskType.COMPLETE,
};

/** Maps the core's validation error to the gRPC status, listing every problem. */
export function validationStatus(error: ConfigValidationError): ConnectError {
  const code = error.code === 'FAILED_PRECONDITION' ? Code.FailedPrecondition : Code.InvalidArgument;
  return new ConnectError(error.problems.map((p) => p.message).join('; '), code);
}

export async function runGeneration(
  context: GenerateContext,
  request: GenerationConfig,
  report: (progress: Progress) => void,
  signal: AbortSignal,
  onAudio?: (bytes: AudioBytes) => void,
): Promise<GenerationResult> {
  const started = Date.now();
  const progress = (
    stage: Stage,
    step = 0,
    total = 0,
    message = '',
    extra: { lmMetadata?: ReturnType<typeof publicMetadata> } = {},
  ) =>
    report(
      create(ProgressSchema, {
        stage,
        step,
        total,
        message,
        ...(extra.lmMetadata ? { lmMetadata: extra.lmMetadata } : {}),
      }),
    );
  let config: ResolvedConfig;
  try {
    config = resolveConfig(request, await context.deployment());
  } catch (error) {
    if (error instanceof ConfigValidationError) throw validationStatus(error);
    throw error;
  }
  const seeds = resolveSeeds(config.batchSize, config.useRandomSeed, config.seed);
  const plan = planGeneration(config, seeds);
  const retry = <T>(stage: string, fn: () => Promise<T>) =>
    withRetry(fn, {
      attempts: context.stageAttempts,
      signal,
      onRetry: (attempt, e) =>
        context.logger.warn('stage call failed; retrying on another replica', {
          stage,
          attempt,
          error: e.message,
        }),
    });
  const timings: StageTimesMs = {};
  const call = { signal, timeoutMs: context.stageTimeoutMs };

  // Source and reference audio → latents.
  progress(Stage.QUEUED, 0, 0, 'preparing inputs');
  const t0 = Date.now();
  const srcLatents = plan.vae.encodeSrcAudio
    ? await retry('vae', async () => (await encodeInputs(context, [config.srcAudio!], call))[0])
    : undefined;
  const referenceLatents = plan.vae.encodeReferenceAudio
    ? await retry('vae', async () => (await encodeInputs(context, [config.referenceAudio!], call))[0])
    : undefined;
  const encodeMs = Date.now() - t0;

  // LM chunks, concurrently (each chunk may land on another LM replica).
  const lmResults = await runLm(context, config, plan, progress, signal, retry);
  const lmPerItem = (i: number) => {
    const chunkIndex = plan.dit.items[i]?.lmChunk;
    if (chunkIndex === null || chunkIndex === undefined) return undefined;
    const position = plan.lm.chunks[chunkIndex]!.indexOf(i);
    return lmResults[chunkIndex]?.sequences[position];
  };
  if (lmResults.length > 0) timings.lmTotal = lmResults.reduce((ms, r) => Math.max(ms, r.totalMs), 0);
  const firstMetadata = publicMetadata(lmPerItem(0)?.metadata);
  if (firstMetadata) progress(Stage.LM_METADATA, 0, 0, 'metadata ready', { lmMetadata: firstMetadata });

  // DiT.
  const items = plan.dit.items.map((item) => {
    const lm = lmPerItem(item.index);
    const conditioning = ditConditioning(config, plan, (lm?.metadata as LmMetadataView | undefined) ?? null);
    const codes =
      item.codes.source === 'user' ? item.codes.codes : item.codes.source === 'lm' ? (lm?.codes ?? []) : [];
    return { conditioning, codes, seed: item.seed };
  });
  const durationSeconds = targetSeconds(plan, items, srcLatents);
  const t1 = Date.now();
  const dit = await retry('dit', () =>
    ditGenerate(
      context.stages.dit,
      {
        taskType: DIT_TASKS[plan.dit.task],
        instruction: plan.dit.instruction,
        durationSeconds,
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
      },
      {
        srcLatents: srcLatents ? items.map(() => srcLatents) : undefined,
        referenceLatents: referenceLatents ? items.map(() => referenceLatents) : undefined,
      },
      (step, total) => progress(Stage.DIT, step, total),
      call,
    ),
  );
  timings.ditModel = Date.now() - t1;
  // The seeds the DiT reports are the ones its noise came from: those are reported back.
  const usedSeeds = dit.seeds;
  if (usedSeeds.length !== items.length) {
    throw new Error(`the DiT reported ${usedSeeds.length} seeds for ${items.length} items`);
  }

  // VAE decode and file encoding, overlapped: each tile is encoded and stored as it arrives.
  progress(Stage.VAE, 0, items.length);
  const t2 = performance.now();
  const format = formatFromSpec(config.audioFormat);
  const out = await retry('vae', () => decodeToFiles(context, dit.latents, format, call, onAudio));
  timings.vaeDecode = Math.round(out.lastTileAt - t2);
  timings.ditTotal = timings.ditModel + timings.vaeDecode;
  // Only the encoding that did not overlap the decode is left to count.
  timings.audioConversion = Math.round(out.doneAt - out.lastTileAt);
  progress(Stage.ENCODING, out.items.length, out.items.length);
  const silentItems = out.items.flatMap((item, index) => (item.silent ? [{ index, rms: item.rms }] : []));
  const files = out.items.map((item, i) =>
    create(AudioFileSchema, {
      objectId: item.info.objectId,
      format: config.audioFormat,
      sizeBytes: BigInt(item.info.sizeBytes),
      durationSeconds: item.samples / 48_000,
      seed: usedSeeds[i]!,
      sha256: item.info.sha256,
    }),
  );

  const seedValue = formatSeedValue(usedSeeds);
  const lmMetadata = firstMetadata ? (firstMetadata as LmMetadataView) : null;
  const audioPaths = files.map((f) => objectUrl(f.objectId));
  return create(GenerationResultSchema, {
    audioPaths,
    ...(audioPaths[0] ? { firstAudio: audioPaths[0] } : {}),
    ...(audioPaths[1] ? { secondAudio: audioPaths[1] } : {}),
    generationInfo: buildGenerationInfo({
      lmMetadata,
      timings,
      seedValue,
      inferenceSteps: config.inferenceSteps,
      audioCount: files.length,
    }),
    statusMessage: buildStatusMessage({
      lmChunks: lmResults.map((r) => ({ phase1: r.phase1Ms, phase2: r.phase2Ms, total: r.totalMs })),
      silentItems,
      notes: config.notes,
    }),
    seedValue,
    ...(firstMetadata ? { lmMetadata: firstMetadata } : {}),
    success: true,
    audio: files,
    timingsMs: {
      inputs: encodeMs,
      lm: timings.lmTotal ?? 0,
      dit: timings.ditModel,
      vae: timings.vaeDecode,
      encoding: timings.audioConversion,
      total: Date.now() - started,
    },
  });
}

async function runLm(
  context: GenerateContext,
  config: ResolvedConfig,
  plan: GenerationPlan,
  progress: (stage: Stage, step?: number, total?: number, message?: string) => void,
  signal: AbortSignal,
  retry: <T>(stage: string, fn: () => Promise<T>) => Promise<T>,
): Promise<LmCallResult[]> {
  const { lm } = plan;
  if (lm.phases === 'none') return [];
  const writesCodes = lm.phases === 'codes' || lm.phases === 'metadata+codes';
  return Promise.all(
    lm.chunks.map((chunk) =>
      retry('lm', () =>
        lmGenerate(
          context.stages.lm,
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
            progress(phase === 'audio_codes' ? Stage.LM_AUDIO_CODES : Stage.LM_METADATA, tokens, total),
          { signal, timeoutMs: context.stageTimeoutMs },
        ),
      ),
    ),
  );
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
      return srcLatents ? srcLatents.length / 64 / FRAMES_PER_SECOND : 30;
    case 'lm-codes': {
      const longest = Math.max(0, ...items.map((i) => i.codes.length));
      if (longest > 0) return longest / 5;
      return d.targetSeconds ?? items[0]?.conditioning.metas.durationSeconds ?? 30;
    }
  }
}

/** Input audio (uploaded bytes or a stored object) → 48 kHz stereo → VAE latents. */
async function encodeInputs(
  context: GenerateContext,
  refs: AudioRef[],
  call: { signal: AbortSignal; timeoutMs: number },
): Promise<Float32Array[]> {
  const audio: Float32Array[] = [];
  for (const ref of refs) {
    const bytes = ref.kind === 'data' ? ref.data : await context.store.readObject(ref.objectId);
    const pcm = await decodeAudioOffThread(bytes, context.audioLimits);
    const samples = pcm.channels[0]!.length;
    if (samples < HOP)
      throw new ConnectError(
        `input audio is shorter than one latent frame (${HOP} samples at 48 kHz)`,
        Code.InvalidArgument,
      );
    const planar = new Float32Array(2 * samples);
    planar.set(pcm.channels[0]!, 0);
    planar.set(pcm.channels[1] ?? pcm.channels[0]!, samples);
    audio.push(planar);
  }
  return vaeEncode(context.stages.vae, audio, call);
}

/** The LM stage's metadata as the public API's message. */
function publicMetadata(m: StageLmMetadata | undefined) {
  if (!m) return undefined;
  return create(LmMetadataSchema, {
    ...(m.bpm !== undefined ? { bpm: m.bpm } : {}),
    ...(m.duration !== undefined ? { duration: m.duration } : {}),
    caption: m.caption,
    keyscale: m.keyscale,
    language: m.language,
    timesignature: m.timesignature,
  });
}
