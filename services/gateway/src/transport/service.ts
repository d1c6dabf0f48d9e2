// The gateway's gRPC layer (public acestep.v1 API). Served by Connect, so the
// same port speaks gRPC, gRPC-Web and Connect/JSON. Generations run through
// the orchestrator; jobs through the job layer (embedded or NATS).

import { defaultMp3Encoder, EncoderPool } from '@acestep/audio';
import { PLAYGROUND_DIR } from '@acestep/playground';
import type { ServiceInfo } from '@acestep/proto/common';
import {
  AudioChunkSchema,
  DownloadAudioResponseSchema,
  GatewayService,
  type GenerateResponse,
  GenerateResponseSchema,
  type GenerationConfig,
  type GenerationResult,
  GenerationResultSchema,
  InfoResponseSchema,
  JobState,
  WarmupResponseSchema,
} from '@acestep/proto/gateway';
import { Health } from '@acestep/proto/health';
import {
  buildServiceInfo,
  contextFromTraceparent,
  inSpan,
  jobMetrics,
  type ServiceContext,
  type ServiceSpec,
  StatusError,
  statusName,
  toConnectError,
  traceHeaders,
  withJobScope,
} from '@acestep/runtime';
import { create } from '@bufbuild/protobuf';
import { Code, ConnectError, type Interceptor, type ServiceImpl } from '@connectrpc/connect';
import { pushable } from 'it-pushable';
import type { Counter } from 'prom-client';
import type { GatewayConfig } from '../config.ts';
import { createJobService, type JobService } from '../jobs/index.ts';
import { checkConfig, type GenerateContext, runGeneration } from '../orchestrator/generate.ts';
import { type Deployment, deploymentFromInfo } from '../orchestrator/index.ts';
import {
  closeStages,
  connectStages,
  type StageName,
  type Stages,
  stageInfo,
  stageWarmup,
} from '../orchestrator/stages.ts';
import { jobOwner, jobScope, TENANT, type Tenant, Tenants } from '../tenants.ts';
import { keyFromHeaders } from './auth.ts';
import { gatewayHttp } from './http.ts';
import { type HttpRequest, header } from './node-http.ts';
import { objectRoutes } from './objects.ts';
import { playgroundRoute } from './playground.ts';
import { restRoutes } from './rest/routes.ts';
import { storeUpload } from './uploads.ts';

/** Deadline of Info/Warmup calls to a stage. */
const INFO_TIMEOUT_MS = 5_000;
const WARMUP_TIMEOUT_MS = 300_000;
/** How long the DiT's Info (model variant, limits) is trusted before asking again. */
const DEPLOYMENT_TTL_MS = 30_000;
const DOWNLOAD_CHUNK = 1 << 20;
/** Largest stored object (results and uploads; uploads are also held to --max-upload-bytes). */
const RESULT_OBJECT_BYTES = 512 << 20;

/** The request's config; a request without one is INVALID_ARGUMENT naming the field. */
function requireConfig(config: GenerationConfig | undefined): GenerationConfig {
  if (!config)
    throw new StatusError('INVALID_ARGUMENT', 'config: required; the request has no generation config');
  return config;
}

/** Seconds of audio in a result (what acestep_generated_audio_seconds_total counts). */
function totalSeconds(result: GenerationResult): number {
  return result.success ? result.audio.reduce((sum, file) => sum + file.durationSeconds, 0) : 0;
}

function deploymentSource(context: ServiceContext<GatewayConfig>, stages: Stages): () => Promise<Deployment> {
  let cached: { at: number; value: Deployment } | undefined;
  return async () => {
    if (cached && Date.now() - cached.at < DEPLOYMENT_TTL_MS) return cached.value;
    const [dit, lm] = await Promise.all([
      stages.dit.call((client, call) => client.info({}, call), { timeoutMs: INFO_TIMEOUT_MS }),
      // Without an answer from the LM the gateway knows no LM limit; generation does not need one.
      stages.lm
        .call((client, call) => client.info({}, call), { timeoutMs: INFO_TIMEOUT_MS, attempts: 1 })
        .catch(() => undefined),
    ]);
    const value = deploymentFromInfo(dit.info, lm?.info, {
      maxCaptionChars: context.config.maxCaptionChars,
      maxLyricsChars: context.config.maxLyricsChars,
    });
    cached = { at: Date.now(), value };
    return value;
  };
}

export function gatewayService(
  context: ServiceContext<GatewayConfig>,
  stages: Stages,
  jobs: JobService,
  generate: GenerateContext,
  tenants: Tenants,
  audioSeconds: Counter<'via'>,
): Partial<ServiceImpl<typeof GatewayService>> {
  return {
    async *generate(req, ctx) {
      const config = requireConfig(req.config);
      const tenant = ctx.values.get(TENANT);
      if (tenant) tenants.checkQuota(tenant, await jobs.countActive(tenant.name).catch(() => 0));
      const generating = tenant ? tenants.startGenerate(tenant) : () => {};
      ctx.signal.addEventListener('abort', generating, { once: true });
      // The generation's events, ended when it settles.
      const events = pushable<GenerateResponse['event']>({ objectMode: true });
      const push = (event: GenerateResponse['event']) => events.push(event);
      const run = runGeneration(
        { ...generate, store: jobs.store },
        config,
        (p) => push({ case: 'progress', value: p }),
        ctx.signal,
        req.streamAudio
          ? (a) =>
              push({ case: 'audio', value: create(AudioChunkSchema, { ...a, offset: BigInt(a.offset) }) })
          : undefined,
      ).finally(() => {
        generating();
        events.end();
      });
      run.catch(() => {});
      for await (const event of events) yield create(GenerateResponseSchema, { event });
      const result = await run;
      audioSeconds.inc({ via: 'generate' }, totalSeconds(result));
      yield create(GenerateResponseSchema, { event: { case: 'result', value: result } });
    },

    async submitJob(req, ctx) {
      const config = requireConfig(req.config);
      const tenant = ctx.values.get(TENANT);
      const submit = () =>
        jobs.submit(config, req.idempotencyKey || undefined, {
          tenant: jobOwner(tenant),
          // The job's run continues this call's trace, whenever and wherever it runs.
          traceparent: traceHeaders().traceparent ?? '',
        });
      return {
        job: await (tenant
          ? tenants.admitJob(tenant, () => jobs.countActive(tenant.name), submit)
          : submit()),
      };
    },
    async getJob(req, ctx) {
      const scope = jobScope(ctx.values.get(TENANT));
      return { job: await jobs.get(req.id, scope) };
    },
    async *watchJob(req, ctx) {
      const scope = jobScope(ctx.values.get(TENANT));
      for await (const job of jobs.watch(req.id, ctx.signal, scope)) yield { job };
    },
    async cancelJob(req, ctx) {
      const scope = jobScope(ctx.values.get(TENANT));
      return { job: await jobs.cancel(req.id, scope) };
    },
    async listJobs(req, ctx) {
      const tenant = jobScope(ctx.values.get(TENANT));
      return await jobs.list({
        pageSize: req.pageSize,
        pageToken: req.pageToken,
        state: req.state,
        ...(tenant === undefined ? {} : { tenant }),
      });
    },

    async uploadAudio(requests) {
      let filename = '';
      async function* data(): AsyncGenerator<Uint8Array> {
        for await (const req of requests) {
          filename ||= req.filename;
          yield req.data;
        }
      }
      const stored = await storeUpload(jobs.store, data(), {
        maxBytes: context.config.maxUploadBytes,
        audioLimits: generate.audioLimits,
        get filename() {
          return filename || undefined;
        },
      });
      return {
        objectId: stored.objectId,
        sizeBytes: BigInt(stored.sizeBytes),
        durationSeconds: stored.durationSeconds,
      };
    },
    async *downloadAudio(req) {
      const object = await jobs.store.getObject(req.objectId);
      for await (const piece of object.data) {
        for (let offset = 0; offset < piece.byteLength; offset += DOWNLOAD_CHUNK) {
          yield create(DownloadAudioResponseSchema, {
            data: piece.subarray(offset, offset + DOWNLOAD_CHUNK),
          });
        }
      }
    },

    async info(_req, ctx) {
      const capabilities: Record<string, string> = { jobs: jobs.mode };
      const names = Object.keys(stages) as StageName[];
      const answers = await Promise.allSettled(
        names.map((name) =>
          stageInfo(stages, name, { signal: ctx.signal, timeoutMs: INFO_TIMEOUT_MS, attempts: 1 }),
        ),
      );
      const stageInfos: Record<string, ServiceInfo> = {};
      for (const [i, answer] of answers.entries()) {
        const name = names[i]!;
        if (answer.status === 'fulfilled' && answer.value) stageInfos[name] = answer.value;
        // The status only: the reason names the stage's address, which is not public (the
        // metrics port's /info has the targets).
        else
          capabilities[`stage.${name}`] =
            `unavailable (${statusName(toConnectError((answer as PromiseRejectedResult).reason))})`;
      }
      const { config } = context;
      return create(InfoResponseSchema, {
        gateway: buildServiceInfo({ service: 'gateway', config, capabilities }),
        stages: stageInfos,
      });
    },
    async warmup(_req, ctx) {
      const reports = await Promise.all(
        (Object.keys(stages) as StageName[]).map(async (name) => {
          try {
            const report = await stageWarmup(stages, name, {
              signal: ctx.signal,
              timeoutMs: WARMUP_TIMEOUT_MS,
            });
            return [name, report] as const;
          } catch (error) {
            const e = toConnectError(error, ctx.signal);
            throw new ConnectError(`warm-up of the ${name} stage failed: ${e.rawMessage}`, e.code);
          }
        }),
      );
      return create(WarmupResponseSchema, {
        reports: Object.fromEntries(reports.flatMap(([name, report]) => (report ? [[name, report]] : []))),
      });
    },
  };
}

/** Model set names of the DiT and LM stages (REST results and /v1/models), asked again after a while. */
function modelNames(stages: Stages): () => Promise<{ dit: string; lm: string }> {
  let cached: { at: number; value: { dit: string; lm: string } } | undefined;
  return async () => {
    if (cached && Date.now() - cached.at < DEPLOYMENT_TTL_MS) return cached.value;
    const settings = { timeoutMs: INFO_TIMEOUT_MS, attempts: 1 };
    const [dit, lm] = await Promise.allSettled([
      stages.dit.call((client, call) => client.info({}, call), settings),
      stages.lm.call((client, call) => client.info({}, call), settings),
    ]);
    const name = (r: typeof dit | typeof lm) =>
      r.status === 'fulfilled' ? r.value.info?.model?.name || 'unknown' : 'unavailable';
    cached = { at: Date.now(), value: { dit: name(dit), lm: name(lm) } };
    return cached.value;
  };
}

/** The API-key check and the per-key rate limit; health and reflection stay open (probes, tools). */
function tenantCheck(tenants: Tenants): Interceptor {
  return (next) => async (req) => {
    if (OPEN_SERVICES.has(req.service.typeName)) return next(req);
    const tenant = tenants.check(keyFromHeaders((name) => req.header.get(name)));
    await tenants.takeRequest(tenant);
    req.contextValues.set(TENANT, tenant);
    return next(req);
  };
}

const OPEN_SERVICES = new Set([
  Health.typeName,
  'grpc.reflection.v1.ServerReflection',
  'grpc.reflection.v1alpha.ServerReflection',
]);

export function gatewaySpec(): ServiceSpec<GatewayConfig> {
  let stages: Stages | undefined;
  let jobs: JobService | undefined;
  let generate: GenerateContext | undefined;
  let tenants: Tenants | undefined;
  let jobMetricSet: ReturnType<typeof jobMetrics> | undefined;
  let encoders: EncoderPool | undefined;
  return {
    name: 'gateway',
    grpcServices: [GatewayService.typeName],
    start: async (context) => {
      const { config, logger, metrics } = context;
      tenants = Tenants.load(config);
      const metricSet = jobMetrics(metrics.registry, () => jobs?.countByState() ?? Promise.resolve({}));
      jobMetricSet = metricSet;
      stages = connectStages(config, logger);
      const limits = { maxBytes: config.maxUploadBytes };
      const deployment = deploymentSource(context, stages);
      encoders = new EncoderPool({ size: config.encoderThreads });
      logger.info('output encoders ready', { threads: encoders.size, mp3: defaultMp3Encoder() });
      const base = {
        encoders,
        stages,
        deployment,
        audioLimits: limits,
        logger,
      };
      jobs = await createJobService({
        // A job is checked like a Generate call before it is accepted; only a deployment that cannot
        // be read (the DiT down) lets it through unchecked: its run checks it again.
        check: async (config) => {
          const known = await deployment().then(
            (value) => value,
            (error: unknown) =>
              logger.warn('config accepted unchecked: no deployment', { error: `${error}` }),
          );
          if (known) await checkConfig({ deployment: async () => known }, config);
        },
        executor: (job, ctx) =>
          // The run is the job's own scope: its logs and stage calls carry the job id as request id.
          withJobScope(job.id, async () => {
            try {
              const result = await inSpan(
                'acestep.job.run',
                { 'acestep.job.id': job.id, 'acestep.job.attempt': job.attempt },
                () => runGeneration({ ...base, store: ctx.store }, job.config, ctx.report, ctx.signal),
                contextFromTraceparent(job.traceparent),
              );
              metricSet.audioSeconds.inc({ via: 'job' }, totalSeconds(result));
              return result;
            } catch (error) {
              const e = toConnectError(error, ctx.signal);
              return create(GenerationResultSchema, {
                success: false,
                error: e.rawMessage,
                statusMessage: `Error: ${e.rawMessage}`,
              });
            }
          }),
        concurrency: config.jobConcurrency,
        maxQueued: config.maxJobs,
        // Results can be far larger than uploads: 600 s of 32-bit float WAV is 230 MB.
        maxObjectBytes: Math.max(config.maxUploadBytes, RESULT_OBJECT_BYTES),
        dataDir: config.dataDir,
        retentionMs: config.jobRetentionHours * 3600_000,
        maxRunMs: config.maxJobRunS * 1000,
        ...(config.natsUrl ? { natsUrl: config.natsUrl, nats: { ackWaitMs: config.jobAckWaitMs } } : {}),
        logger,
        metrics: {
          queueDepth: metrics.queueDepth,
          queueRejected: metrics.queueRejected,
          jobsEnded: metricSet.jobsEnded,
          queueWait: metricSet.queueWait,
          duration: metricSet.duration,
        },
      });
      generate = { ...base, store: jobs.store };
      logger.info('jobs ready', { mode: jobs.mode, dataDir: config.natsUrl ? undefined : config.dataDir });
    },
    routes: (router, context) => {
      if (!stages || !jobs || !generate || !tenants || !jobMetricSet)
        throw new ConnectError('gateway started without its parts', Code.Internal);
      router.service(
        GatewayService,
        gatewayService(context, stages, jobs, generate, tenants, jobMetricSet.audioSeconds),
      );
    },
    http: (connect, context) => {
      if (!jobs || !generate) throw new ConnectError('gateway started without its parts', Code.Internal);
      const { maxUploadBytes } = context.config;
      const keys = tenants;
      // One rule for every entry point: a key names a tenant (tenants.ts); keys off = open.
      const authenticate = (given: string | undefined) => (keys?.enabled ? keys.check(given) : undefined);
      const takeRequest = (tenant: Tenant) => keys?.takeRequest(tenant) ?? Promise.resolve();
      // /v1/objects counts against the key's rate like every other call (uploads included).
      const authorize = async (req: HttpRequest) => {
        // With keys off an Authorization header (a proxy's own) is none of our business.
        if (!keys?.enabled) return;
        const tenant = authenticate(keyFromHeaders((n) => header(req, n)));
        if (tenant) await takeRequest(tenant);
      };
      const upload = { maxBytes: maxUploadBytes, audioLimits: generate.audioLimits };
      return gatewayHttp(connect, context, [
        objectRoutes({ store: jobs.store, upload, authorize }),
        restRoutes({
          jobs,
          stages: generate.stages,
          authenticate,
          takeRequest,
          maxJobs: context.config.maxJobs,
          upload,
          models: modelNames(generate.stages),
        }),
        playgroundRoute(PLAYGROUND_DIR, context.config.playground === 'on', context.logger),
      ]);
    },
    interceptors: () => (tenants?.enabled ? [tenantCheck(tenants)] : []),
    stop: async (context) => {
      await jobs?.close({ graceMs: context.config.shutdownGraceMs });
      if (stages) closeStages(stages);
      await encoders?.close();
    },
  };
}

export { JobState };
