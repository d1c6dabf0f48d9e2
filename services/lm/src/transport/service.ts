// The lm service's gRPC layer: validates requests, admits them through a bounded queue and streams
// the engine's events back. The engine (graphs, KV cache, sampling, FSM) lives in a worker thread,
// so this thread's event loop stays free for health checks, streams and cancellation.

import { type ModelInfo, ModelInfoSchema } from '@acestep/proto/common';
import {
  CreateSampleResponseSchema,
  FormatSampleResponseSchema,
  type GenerateResponse,
  GenerateResponseSchema,
  InfoResponseSchema,
  type LmMetadata as LmMetadataProto,
  LmMetadataSchema,
  LmService,
  UnderstandAudioResponseSchema,
  WarmupResponseSchema,
} from '@acestep/proto/lm';
import {
  buildServiceInfo,
  LmPhaseMeter,
  lmMetrics,
  type ServiceContext,
  type ServiceSpec,
  ServingStatus,
  WorkQueue,
} from '@acestep/runtime';
import { create } from '@bufbuild/protobuf';
import type { ServiceImpl } from '@connectrpc/connect';
import type { LmConfig } from '../config.ts';
import { DEFAULT_DECODE_PARAMS, DEFAULT_LM_NEGATIVE_PROMPT, type LmMetadata } from '../core/index.ts';
import { type EngineEvent, type EngineJob, LmEngine } from '../model/engine.ts';
import { engineMetrics } from './metrics.ts';
import {
  DEFAULT_CODES_CHUNK,
  validateCreate,
  validateFormat,
  validateGenerate,
  validateUnderstand,
} from './validate.ts';

const CAPABILITIES: Record<string, string> = {
  'lm.max_sequences_per_request': 'max_batch (the gateway splits batches by lm_batch_chunk_size)',
  'lm.batching':
    'continuous: sequences of all running requests share one phase-1 and one phase-2 batch, joining and leaving at step boundaries (--max-running requests, --kv-cache-mb budget)',
  'lm.top_p': 'applied (0 < top_p < 1) in both phases; 1 disables it (upstream vllm silently drops it)',
  'lm.seeds': 'reproducible: same seed, request and model set give the same metadata and codes',
  'lm.audio_codes':
    'exactly int(duration x 5) codes with a user duration; without one the model stops with EOS, at most max_model_len - 64 codes (official)',
  'lm.codes_chunk_size': `codes per lm_decode_loop call and streamed chunk (default ${DEFAULT_CODES_CHUNK})`,
  'lm.sampling_defaults':
    'unset sampling fields take the defaults: temperature 0.85, cfg_scale 2.0 (1.0 for understand/format/create), top_p 0.9, repetition_penalty 1.0; temperature 0 or top_p 0 is greedy',
};

function nanos(since: bigint): bigint {
  return process.hrtime.bigint() - since;
}

function toProtoMetadata(m: LmMetadata): LmMetadataProto {
  const num = (v: number | string | undefined) => {
    const n = typeof v === 'number' ? v : v === undefined ? Number.NaN : Number(v);
    return Number.isFinite(n) ? n : undefined;
  };
  const bpm = num(m.bpm);
  const duration = num(m.duration);
  return create(LmMetadataSchema, {
    ...(bpm !== undefined && Number.isInteger(bpm) && Math.abs(bpm) < 2 ** 31 ? { bpm } : {}),
    ...(duration !== undefined ? { duration } : {}),
    caption: m.caption ?? '',
    keyscale: m.keyscale ?? '',
    language: m.language ?? '',
    timesignature: m.timesignature === undefined ? '' : String(m.timesignature),
  });
}

function toResponse(event: EngineEvent, received: bigint, started: bigint): GenerateResponse | undefined {
  switch (event.type) {
    case 'metadata':
      return create(GenerateResponseSchema, {
        event: {
          case: 'metadata',
          value: {
            sequenceIndex: event.index,
            metadata: toProtoMetadata(event.metadata),
            cotText: event.cotText,
          },
        },
      });
    case 'codes':
      return create(GenerateResponseSchema, {
        event: {
          case: 'audioCodes',
          value: { sequenceIndex: event.index, codes: event.codes, offset: event.offset },
        },
      });
    case 'progress':
      return create(GenerateResponseSchema, {
        event: {
          case: 'progress',
          value: { phase: event.phase, tokens: event.tokens, totalTokens: event.totalTokens },
        },
      });
    case 'done':
      return create(GenerateResponseSchema, {
        event: {
          case: 'done',
          value: {
            seeds: event.seeds,
            generatedTokens: BigInt(event.generatedTokens),
            timings: {
              queueNs: started - received,
              computeNs: BigInt(event.computeNs),
              totalNs: nanos(received),
            },
          },
        },
      });
    case 'sample':
      return undefined;
  }
}

export function modelInfo(engine: LmEngine): ModelInfo {
  const { info } = engine;
  return create(ModelInfoSchema, {
    name: info.name,
    variant: info.variant,
    contractVersion: info.contractVersion,
    directory: info.dir,
    loaded: true,
    graphs: info.graphs,
    constants: info.constants,
  });
}

export function lmService(
  context: ServiceContext<LmConfig>,
  engine: LmEngine,
): Partial<ServiceImpl<typeof LmService>> {
  const { config, metrics, logger } = context;
  const lmMeters = lmMetrics(metrics.registry);
  const queue = new WorkQueue({
    name: 'lm',
    concurrency: config.maxRunning,
    maxQueue: config.maxQueue,
    depthGauge: metrics.queueDepth,
    rejectedCounter: metrics.queueRejected,
  });

  /** Runs a single-sequence job (understand / format / create) and returns its sample. */
  async function sample(job: EngineJob, signal: AbortSignal) {
    const release = await queue.acquire(signal);
    try {
      for await (const event of engine.run(job, signal)) {
        if (event.type === 'sample')
          return { metadata: toProtoMetadata(event.metadata), lyrics: event.lyrics };
      }
    } finally {
      release();
    }
    throw new Error('lm engine ended without a result');
  }

  return {
    info() {
      return create(InfoResponseSchema, {
        info: buildServiceInfo({
          service: 'lm',
          config,
          model: modelInfo(engine),
          capabilities: CAPABILITIES,
        }),
      });
    },

    async warmup(_req, ctx) {
      const started = process.hrtime.bigint();
      const release = await queue.acquire(ctx.signal);
      try {
        // A short phase 1 (bpm, keyscale, time signature) and 10 codes: touches both graphs.
        const job: EngineJob = {
          kind: 'generate',
          sequences: [
            {
              caption: 'warmup',
              lyrics: '[Instrumental]',
              userMetadata: { duration: 10 },
              seed: 0n,
              durationSeconds: 2,
            },
          ],
          params: DEFAULT_DECODE_PARAMS,
          negativePrompt: DEFAULT_LM_NEGATIVE_PROMPT,
          generateAudioCodes: true,
          useCotMetas: true,
          useCotCaption: false,
          useCotLanguage: false,
          codesChunkSize: DEFAULT_CODES_CHUNK,
        };
        for await (const _ of engine.run(job, ctx.signal));
        return create(WarmupResponseSchema, {
          report: {
            totalNs: nanos(started),
            steps: ['phase 1: bpm, keyscale, timesignature (1 CFG pair)', 'phase 2: 10 codes (1 CFG pair)'],
          },
        });
      } finally {
        release();
      }
    },

    async *generate(req, ctx) {
      const received = process.hrtime.bigint();
      const job = validateGenerate(req, config.maxBatch);
      const release = await queue.acquire(ctx.signal);
      const started = process.hrtime.bigint();
      const meter = new LmPhaseMeter(lmMeters, started);
      try {
        for await (const event of engine.run(job, ctx.signal)) {
          if (event.type === 'progress') meter.progress(event.phase, event.tokens);
          if (event.type === 'done') {
            meter.end();
            const t = event.traffic;
            logger.debug('lm traffic', {
              prefill: t.prefill,
              metadata: t.metadata,
              audioCodes: t.audio_codes,
            });
          }
          const response = toResponse(event, received, started);
          if (response) yield response;
        }
      } finally {
        release();
      }
    },

    async understandAudio(req, ctx) {
      return create(UnderstandAudioResponseSchema, await sample(validateUnderstand(req), ctx.signal));
    },

    async formatSample(req, ctx) {
      return create(FormatSampleResponseSchema, await sample(validateFormat(req), ctx.signal));
    },

    async createSample(req, ctx) {
      return create(CreateSampleResponseSchema, await sample(validateCreate(req), ctx.signal));
    },
  };
}

export function lmSpec(): ServiceSpec<LmConfig> {
  let engine: LmEngine | undefined;
  return {
    name: 'lm',
    grpcServices: [LmService.typeName],
    start: async (context) => {
      const { config } = context;
      engine = await LmEngine.start(config.modelDir, {
        device: config.device,
        ...(config.threads > 0 ? { intraOpThreads: config.threads } : {}),
        maxCaptionTokens: config.maxCaptionTokens,
        maxLyricsTokens: config.maxLyricsTokens,
        kvCacheBytes: config.kvCacheMb * 2 ** 20,
      });
      engine.onStats = engineMetrics(context.metrics.registry);
      engine.onFailure = (error) => {
        // Without its engine thread the process cannot serve: let probes and the balancer see it.
        context.logger.error('lm engine thread died', { error: error.message });
        context.health.setAll(ServingStatus.NOT_SERVING);
      };
      context.logger.info('lm engine ready', { dir: engine.info.dir, name: engine.info.name });
    },
    routes: (router, context) => {
      if (!engine) throw new Error('lm started without an engine');
      router.service(LmService, lmService(context, engine));
    },
    stop: async () => {
      await engine?.close();
    },
  };
}
