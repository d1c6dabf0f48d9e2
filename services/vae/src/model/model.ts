// The VAE's loaded model: the two graphs of a model set plus the constants of
// its manifest, with the core's decode/encode bound to them.

import { type ModelSet, openModelSet } from '@acestep/models';
import { type ModelInfo, ModelInfoSchema } from '@acestep/proto/common';
import { LatentSampling } from '@acestep/proto/vae';
import { normalNoise } from '@acestep/rng';
import type { ServiceConfig } from '@acestep/runtime';
import { create } from '@bufbuild/protobuf';
import { type AudioSegment, type DecodeGeometry, decodeLatents, type TileOptions } from './decoder.ts';
import { type EncodeTiles, encodeAudio, samplePosterior } from './encoder.ts';

export interface AudioItem {
  /** Planar [channels, samples]. */
  audio: Float32Array;
  samples: number;
}

export interface VaeModel {
  modelSet: ModelSet;
  geometry: DecodeGeometry;
  defaultDecodeTiles: TileOptions;
  encodeTiles: EncodeTiles;
  /** Longest input accepted, in latent frames (the manifest's max duration × 25). */
  maxFrames: number;
  decode(items: Float32Array[], tiles: TileOptions, signal?: AbortSignal): AsyncGenerator<AudioSegment>;
  encode(
    item: AudioItem,
    sampling: LatentSampling,
    seed: bigint | undefined,
    signal?: AbortSignal,
  ): Promise<Float32Array>;
  /** Runs a short decode and encode so the first real request does not pay for kernel set-up. */
  warmup(signal?: AbortSignal): Promise<string[]>;
}

export async function loadVae(config: ServiceConfig): Promise<VaeModel> {
  const modelSet = await openModelSet(config.modelDir, {
    device: config.device,
    graphs: ['vae_decoder', 'vae_encoder'],
    worker: true,
    ...(config.threads > 0 ? { intraOpThreads: config.threads } : {}),
  });
  const c = modelSet.manifest.constants;
  const geometry = { latentDim: c.latentDim, audioChannels: c.audioChannels, hop: c.hop };
  const encodeTiles = { tileSamples: c.vaeEncodeChunk.samples, overlapSamples: c.vaeEncodeChunk.overlap };
  const decoder = modelSet.session('vae_decoder');
  const encoder = modelSet.session('vae_encoder');
  const model: VaeModel = {
    modelSet,
    geometry,
    defaultDecodeTiles: { tileFrames: c.vaeDecodeChunk.frames, overlapFrames: c.vaeDecodeChunk.overlap },
    encodeTiles,
    maxFrames: c.maxDurationSeconds * c.latentRate,
    decode: (items, tiles, signal) => decodeLatents(decoder, items, geometry, tiles, signal),
    async encode(item, sampling, seed, signal) {
      const posterior = await encodeAudio(encoder, item.audio, item.samples, geometry, encodeTiles, signal);
      if (sampling !== LatentSampling.SAMPLE) return posterior.mean;
      return samplePosterior(posterior, normalNoise(Number(seed ?? 0n), posterior.mean.length));
    },
    async warmup(signal) {
      const frames = 32;
      for await (const _ of model.decode(
        [new Float32Array(frames * c.latentDim)],
        model.defaultDecodeTiles,
        signal,
      ));
      const samples = frames * c.hop;
      await model.encode(
        { audio: new Float32Array(samples * c.audioChannels), samples },
        LatentSampling.MEAN,
        0n,
        signal,
      );
      return [`decode 1x${frames} frames`, `encode 1x${samples} samples`];
    },
  };
  return model;
}

export function modelInfo(model: VaeModel): ModelInfo {
  const { manifest, dir } = model.modelSet;
  const c = manifest.constants;
  return create(ModelInfoSchema, {
    name: manifest.name,
    variant: manifest.variant.dit,
    contractVersion: manifest.contractVersion,
    directory: dir,
    loaded: true,
    graphs: ['vae_decoder', 'vae_encoder'],
    constants: {
      sample_rate: String(c.sampleRate),
      hop_length: String(c.hop),
      latent_dim: String(c.latentDim),
      decode_tile_frames: String(c.vaeDecodeChunk.frames),
      decode_overlap_frames: String(c.vaeDecodeChunk.overlap),
      encode_tile_samples: String(c.vaeEncodeChunk.samples),
      encode_overlap_samples: String(c.vaeEncodeChunk.overlap),
      max_duration_seconds: String(c.maxDurationSeconds),
    },
  });
}
