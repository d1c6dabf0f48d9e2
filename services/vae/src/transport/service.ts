// The VAE service's gRPC layer: reads spec + tensors, validates them, admits
// the work through a bounded queue and streams the core's output back.

import { SAMPLE_RATE } from '@acestep/acestep';
import {
  type DecodeRequest,
  DecodeResponseSchema,
  type DecodeSpec,
  type EncodeRequest,
  EncodeResponseSchema,
  type EncodeSpec,
  InfoResponseSchema,
  LatentSampling,
  VaeService,
  WarmupResponseSchema,
} from '@acestep/proto/vae';
import {
  buildServiceInfo,
  readSpecAndTensors,
  type ServiceContext,
  type ServiceSpec,
  type SpecOrChunk,
  tensorToChunks,
  vaeMetrics,
  WorkQueue,
} from '@acestep/runtime';
import { create } from '@bufbuild/protobuf';
import { Code, ConnectError, type ServiceImpl } from '@connectrpc/connect';
import { loadVae, modelInfo, type VaeModel } from '../model/model.ts';
import { validateAudioItems, validateDecodeTiles, validateLatentItems } from './validate.ts';

const CAPABILITIES: Record<string, string> = {
  'audio.sample_rate': String(SAMPLE_RATE),
  'audio.channels': '2',
  'decode.output': 'exactly frames x hop samples per channel, streamed tile by tile',
  'encode.sampling': 'LATENT_SAMPLING_MEAN (default) or LATENT_SAMPLING_SAMPLE with a seed per item',
};

function nanos(since: bigint): bigint {
  return process.hrtime.bigint() - since;
}

function decodePart(req: DecodeRequest): SpecOrChunk<DecodeSpec> {
  if (req.part.case === 'latents') return { case: 'chunk', value: req.part.value };
  if (req.part.case === 'spec') return { case: 'spec', value: req.part.value };
  return { case: undefined };
}

function encodePart(req: EncodeRequest): SpecOrChunk<EncodeSpec> {
  if (req.part.case === 'audio') return { case: 'chunk', value: req.part.value };
  if (req.part.case === 'spec') return { case: 'spec', value: req.part.value };
  return { case: undefined };
}

export function vaeService(
  context: ServiceContext,
  model: VaeModel,
): Partial<ServiceImpl<typeof VaeService>> {
  const { config, metrics } = context;
  const vaeMeters = vaeMetrics(metrics.registry);
  const queue = new WorkQueue({
    name: 'vae',
    concurrency: 1,
    maxQueue: config.maxQueue,
    depthGauge: metrics.queueDepth,
    rejectedCounter: metrics.queueRejected,
  });
  const limits = { maxTensorBytes: config.maxTensorBytes, maxTensors: config.maxBatch };
  return {
    info() {
      return create(InfoResponseSchema, {
        info: buildServiceInfo({
          service: 'vae',
          config,
          model: modelInfo(model),
          capabilities: CAPABILITIES,
        }),
      });
    },

    async warmup(_req, ctx) {
      const started = process.hrtime.bigint();
      const release = await queue.acquire(ctx.signal);
      try {
        const steps = await model.warmup(ctx.signal);
        return create(WarmupResponseSchema, { report: { totalNs: nanos(started), steps } });
      } finally {
        release();
      }
    },

    async *decode(requests, ctx) {
      const received = process.hrtime.bigint();
      const { spec, tensors } = await readSpecAndTensors(requests, decodePart, limits);
      const items = validateLatentItems(spec.itemCount, tensors, model.geometry, config.maxBatch);
      const tiles = validateDecodeTiles(spec, model.defaultDecodeTiles);
      const release = await queue.acquire(ctx.signal);
      const started = process.hrtime.bigint();
      try {
        for await (const segment of model.decode(items, tiles, ctx.signal)) {
          const tensor = {
            name: 'audio',
            dtype: 'float32' as const,
            shape: [model.geometry.audioChannels, segment.samples],
            data: new Uint8Array(segment.audio.buffer, segment.audio.byteOffset, segment.audio.byteLength),
            itemIndex: segment.itemIndex,
            offset: segment.offset,
          };
          for (const chunk of tensorToChunks(tensor)) {
            metrics.tensorBytes.inc({ direction: 'out' }, chunk.data.byteLength);
            yield create(DecodeResponseSchema, { event: { case: 'audio', value: chunk } });
          }
        }
      } finally {
        release();
      }
      const audioSeconds =
        items.reduce(
          (sum, latents) => sum + (latents.length / model.geometry.latentDim) * model.geometry.hop,
          0,
        ) / model.modelSet.manifest.constants.sampleRate;
      const computeSeconds = Number(process.hrtime.bigint() - started) / 1e9;
      vaeMeters.audioSeconds.inc(audioSeconds);
      if (computeSeconds > 0) vaeMeters.realtimeFactor.observe(audioSeconds / computeSeconds);
      yield create(DecodeResponseSchema, {
        event: {
          case: 'done',
          value: {
            samples: items.map((latents) =>
              BigInt((latents.length / model.geometry.latentDim) * model.geometry.hop),
            ),
            timings: { queueNs: started - received, computeNs: nanos(started), totalNs: nanos(received) },
          },
        },
      });
    },

    async *encode(requests, ctx) {
      const received = process.hrtime.bigint();
      const { spec, tensors } = await readSpecAndTensors(requests, encodePart, limits);
      const items = validateAudioItems(spec, tensors, model.geometry, config.maxBatch);
      const release = await queue.acquire(ctx.signal);
      const started = process.hrtime.bigint();
      const frames: bigint[] = [];
      try {
        for (const [i, item] of items.entries()) {
          const latents = await model.encode(item, spec.sampling, spec.seeds[i], ctx.signal);
          frames.push(BigInt(latents.length / model.geometry.latentDim));
          const tensor = {
            name: 'latents',
            dtype: 'float32' as const,
            shape: [latents.length / model.geometry.latentDim, model.geometry.latentDim],
            data: new Uint8Array(latents.buffer, latents.byteOffset, latents.byteLength),
            itemIndex: i,
          };
          for (const chunk of tensorToChunks(tensor)) {
            yield create(EncodeResponseSchema, { event: { case: 'latents', value: chunk } });
          }
        }
      } finally {
        release();
      }
      yield create(EncodeResponseSchema, {
        event: {
          case: 'done',
          value: {
            frames,
            timings: { queueNs: started - received, computeNs: nanos(started), totalNs: nanos(received) },
          },
        },
      });
    },
  };
}

export { LatentSampling };

export function vaeSpec(): ServiceSpec {
  let model: VaeModel | undefined;
  return {
    name: 'vae',
    grpcServices: [VaeService.typeName],
    start: async (context) => {
      model = await loadVae(context.config);
      context.logger.info('model set loaded', {
        dir: model.modelSet.dir,
        name: model.modelSet.manifest.name,
      });
    },
    routes: (router, context) => {
      if (!model) throw new ConnectError('vae started without a model', Code.Internal);
      router.service(VaeService, vaeService(context, model));
    },
    stop: async () => {
      await model?.modelSet.close();
    },
  };
}
