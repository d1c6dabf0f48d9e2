// The DiT service's gRPC layer: reads spec + tensors, validates them, admits the work through a
// bounded queue, hands prepared jobs to the dynamic batcher and streams progress and latents.

import { SEED_ALLOWED } from '@acestep/acestep';
import type { TensorChunk } from '@acestep/proto/common';
import {
  DitService,
  type GenerateRequest as GenerateMessage,
  GenerateResponseSchema,
  type GenerateSpec,
  InfoResponseSchema,
  TokenizeLatentsResponseSchema,
  WarmupResponseSchema,
} from '@acestep/proto/dit';
import {
  buildServiceInfo,
  chunksToTensors,
  ditMetrics,
  readSpecAndTensors,
  type ServiceContext,
  type ServiceSpec,
  ServingStatus,
  type SpecOrChunk,
  type Tensor,
  tensorToChunks,
  WorkQueue,
} from '@acestep/runtime';
import { create } from '@bufbuild/protobuf';
import { Code, ConnectError, type ServiceImpl } from '@connectrpc/connect';
import { pushable } from 'it-pushable';
import type { DitConfig } from '../config.ts';
import { Batcher } from '../core/batcher.ts';
import type { StepProgress } from '../core/sampler.ts';
import { TASKS_BY_FAMILY } from '../core/tasks.ts';
import { DitEngine, type JobHandle } from '../model/engine.ts';
import { type DitModelMeta, loadDitMeta, modelInfo } from '../model/model.ts';
import { planRequest } from '../model/pipeline.ts';
import { latentItem, toGenerateRequest } from './validate.ts';

function capabilities(model: DitModelMeta, config: DitConfig): Record<string, string> {
  const turbo = model.family === 'turbo';
  return {
    variant: model.variant.name,
    family: model.family,
    tasks: TASKS_BY_FAMILY[model.family].join(','),
    guidance: turbo
      ? 'ignored: turbo models accept and ignore guidance_scale, use_adg and cfg_interval (as the official turbo model)'
      : 'APG (default) or ADG (use_adg), guidance_scale 0..15 (<= 1 = off), cfg interval on the shifted t',
    inference_steps: turbo
      ? '1..8, then ignored (fixed 8-step table)'
      : `1..200 (default ${model.variant.defaultSteps})`,
    shift: model.variant.shifts
      ? `1..5 (default ${model.variant.defaultShift})${turbo ? `, rounded to ${model.variant.shifts.join('/')}` : ''}`
      : `1..5 (default ${model.variant.defaultShift}), continuous`,
    infer_method: 'ode,sde',
    seeds: `per item: ${SEED_ALLOWED}; noise = Philox4x32-10 keyed by all 64 bits (same bytes everywhere)`,
    batching: `dynamic: compatible concurrent requests share one batch of up to ${config.maxBatch} items (window ${config.batchWindowMs} ms)`,
    tensors_in: 'src_latents [T,64] and reference_latents [T,64] per item (item_index)',
  };
}

function nanos(since: bigint): bigint {
  return process.hrtime.bigint() - since;
}

function generatePart(req: GenerateMessage): SpecOrChunk<GenerateSpec> {
  if (req.part.case === 'tensor') return { case: 'chunk', value: req.part.value };
  if (req.part.case === 'spec') return { case: 'spec', value: req.part.value };
  return { case: undefined };
}

type JobResult = Float32Array[];

export function ditService(
  context: ServiceContext<DitConfig>,
  model: DitModelMeta,
  engine: DitEngine,
): Partial<ServiceImpl<typeof DitService>> {
  const { config, metrics, logger } = context;
  const ditMeters = ditMetrics(metrics.registry);
  // Two batches' worth of requests may be admitted: one running, one gathering its conditioning.
  const queue = new WorkQueue({
    name: 'dit',
    concurrency: 2 * config.maxBatch,
    maxQueue: config.maxQueue,
    depthGauge: metrics.queueDepth,
    rejectedCounter: metrics.queueRejected,
  });
  const batcher = new Batcher<JobHandle, JobResult>(
    async (jobs, control) => {
      let step = 0;
      let stepStarted = process.hrtime.bigint();
      const onStep = (progress: StepProgress) => {
        step = progress.step;
        const now = process.hrtime.bigint();
        ditMeters.stepSeconds.observe(Number(now - stepStarted) / 1e9);
        ditMeters.steps.inc();
        stepStarted = now;
        control.onStep(progress);
      };
      let result: Awaited<ReturnType<DitEngine['run']>>;
      try {
        result = await engine.run(jobs, { signal: control.signal, onStep });
      } catch (error) {
        // Every caller left (or the run failed): the sampler stopped after `step` steps.
        logger.info('batch stopped', { jobs: jobs.length, step, reason: (error as Error)?.message });
        throw error;
      }
      const { latents, stats } = result;
      logger.debug('batch done', {
        jobs: jobs.length,
        steps: stats.steps,
        totalMs: Number(stats.totalNs) / 1e6,
        hostMsPerStep: Number(stats.totalNs - stats.modelNs) / 1e6 / Math.max(1, stats.steps),
        hostToDeviceBytes: stats.hostToDeviceBytes,
        deviceToHostBytes: stats.deviceToHostBytes,
      });
      return latents;
    },
    {
      maxBatch: config.maxBatch,
      windowMs: config.batchWindowMs,
      onBatch: (items, jobs) => logger.info('batch start', { items, jobs }),
    },
  );
  const limits = { maxTensorBytes: config.maxTensorBytes, maxTensors: 2 * config.maxBatch };

  return {
    info() {
      return create(InfoResponseSchema, {
        info: buildServiceInfo({
          service: 'dit',
          config,
          model: modelInfo(model),
          capabilities: capabilities(model, config),
        }),
      });
    },

    async warmup(_req, ctx) {
      const started = process.hrtime.bigint();
      const release = await queue.acquire(ctx.signal);
      try {
        const steps = model.family === 'turbo' ? undefined : 2;
        const plan = planRequest(
          model,
          {
            task: 'text2music',
            items: [
              { caption: 'warmup', lyrics: '', vocalLanguage: '', metas: {}, audioCodes: [], seed: 0n },
            ],
            durationSeconds: 10,
            ...(steps ? { inferenceSteps: steps } : {}),
          },
          1,
        );
        const job = await engine.prepare(plan, ctx.signal);
        await engine.run([job], { signal: ctx.signal });
        return create(WarmupResponseSchema, {
          report: {
            totalNs: nanos(started),
            steps: [`text2music 1x${plan.frames} frames, ${plan.schedule.steps} steps`],
          },
        });
      } finally {
        release();
      }
    },

    async *generate(requests, ctx) {
      const received = process.hrtime.bigint();
      const { spec, tensors } = await readSpecAndTensors(requests, generatePart, limits);
      const plan = planRequest(model, toGenerateRequest(spec, tensors), config.maxBatch);
      const release = await queue.acquire(ctx.signal);
      const started = process.hrtime.bigint();
      // The job's step events, ended by its outcome.
      const events = pushable<StepProgress>({ objectMode: true });
      let stepsDone = 0;
      let latents: JobResult;
      let job: JobHandle | undefined;
      try {
        const prepared = batcher.expect();
        try {
          job = await engine.prepare(plan, ctx.signal);
        } catch (error) {
          prepared();
          throw error;
        }
        const result = batcher.submit(job, {
          key: job.key,
          size: plan.plans.length,
          signal: ctx.signal,
          onStep: (p) => events.push(p),
        });
        prepared();
        result.then(
          () => events.end(),
          () => events.end(),
        );
        for await (const p of events) {
          stepsDone = p.step;
          yield create(GenerateResponseSchema, {
            event: { case: 'progress', value: { step: p.step, totalSteps: p.steps, timestep: p.t } },
          });
        }
        latents = await result;
      } catch (error) {
        if (ctx.signal.aborted) {
          logger.info('generate cancelled', { step: stepsDone, steps: plan.schedule.steps });
          throw ctx.signal.reason;
        }
        throw error;
      } finally {
        // The worker forgets a job once it ran; this frees one whose caller left before.
        if (job) engine.drop([job]);
        release();
      }
      for (const [i, values] of latents.entries()) {
        const tensor = {
          name: 'latents',
          dtype: 'float32' as const,
          shape: [plan.frames, values.length / plan.frames],
          data: new Uint8Array(values.buffer, values.byteOffset, values.byteLength),
          itemIndex: i,
        };
        for (const chunk of tensorToChunks(tensor)) {
          metrics.tensorBytes.inc({ direction: 'out' }, chunk.data.byteLength);
          yield create(GenerateResponseSchema, { event: { case: 'latents', value: chunk } });
        }
      }
      yield create(GenerateResponseSchema, {
        event: {
          case: 'done',
          value: {
            seeds: plan.seeds,
            frames: BigInt(plan.frames),
            timings: { queueNs: started - received, computeNs: nanos(started), totalNs: nanos(received) },
          },
        },
      });
    },

    async tokenizeLatents(requests, ctx) {
      const chunks = (async function* (): AsyncGenerator<TensorChunk> {
        for await (const req of requests) {
          if (!req.latents)
            throw new ConnectError('empty request message: set latents', Code.InvalidArgument);
          yield req.latents;
        }
      })();
      const tensors: Tensor[] = [];
      for await (const t of chunksToTensors(chunks, { maxTensorBytes: config.maxTensorBytes })) {
        if (t.name !== 'latents') {
          throw new ConnectError(
            `unexpected tensor "${t.name}": this call takes "latents" tensors`,
            Code.InvalidArgument,
          );
        }
        if (tensors.length === config.maxBatch) {
          throw new ConnectError(`more than ${config.maxBatch} items in one request`, Code.InvalidArgument);
        }
        tensors.push(t);
      }
      const items = orderItems(tensors);
      const release = await queue.acquire(ctx.signal);
      try {
        const codes: number[][] = [];
        for (const latents of items) {
          ctx.signal.throwIfAborted();
          codes.push(await engine.tokenize(latents, ctx.signal));
        }
        return create(TokenizeLatentsResponseSchema, { items: codes.map((c) => ({ codes: c })) });
      } finally {
        release();
      }
    },
  };
}

/** "latents" tensors with item indices 0..n-1, each once. */
function orderItems(tensors: readonly Tensor[]): Float32Array[] {
  if (tensors.length === 0) throw new ConnectError('no "latents" tensor sent', Code.InvalidArgument);
  const items: Float32Array[] = [];
  for (const t of tensors) {
    const i = t.itemIndex ?? 0;
    if (i >= tensors.length) {
      throw new ConnectError(
        `tensor "latents" has item_index ${i}; ${tensors.length} tensors were sent (allowed 0..${tensors.length - 1})`,
        Code.InvalidArgument,
      );
    }
    if (items[i]) throw new ConnectError(`tensor "latents" sent twice for item ${i}`, Code.InvalidArgument);
    items[i] = latentItem(t, `tensor "latents" of item ${i}`);
  }
  return items;
}

export function ditSpec(): ServiceSpec<DitConfig> {
  let model: DitModelMeta | undefined;
  let engine: DitEngine | undefined;
  return {
    name: 'dit',
    grpcServices: [DitService.typeName],
    start: async (context) => {
      const { modelDir, device, threads } = context.config;
      model = await loadDitMeta(modelDir);
      engine = await DitEngine.start({ config: { modelDir, device, threads } });
      engine.onFailure((error) => {
        context.logger.error('dit engine failed; not serving', { error });
        context.health.setAll(ServingStatus.NOT_SERVING);
      });
      context.logger.info('model set loaded', {
        dir: model.dir,
        name: model.manifest.name,
        variant: model.variant.name,
        family: model.family,
      });
    },
    routes: (router, context) => {
      if (!model || !engine) throw new ConnectError('dit started without a model', Code.Internal);
      router.service(DitService, ditService(context, model, engine));
    },
    stop: async () => {
      await engine?.close();
    },
  };
}
