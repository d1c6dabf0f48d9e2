// Tiled VAE encoding: planar 48 kHz stereo [2, S] per item → time-major
// latents [floor(S / hop), 64]. The posterior is N(mean, std²); the caller
// picks the mean (deterministic) or a sample drawn with the portable seeded
// RNG (the official encoder samples from an unseeded global RNG).

import type { GraphSession } from '@acestep/models';
import ort from 'onnxruntime-node';
import { channelMajorToTimeMajor, slicePlanar } from '../core/layout.ts';
import { planTiles } from '../core/tiling.ts';

export interface EncodeGeometry {
  latentDim: number;
  audioChannels: number;
  hop: number;
}

export interface EncodeTiles {
  /** Samples per encoded tile (official 30 s = 1,440,000). */
  tileSamples: number;
  /** Context samples on each side (official 2 s = 96,000). */
  overlapSamples: number;
}

export interface Posterior {
  /** [frames, 64] time-major. */
  mean: Float32Array;
  std: Float32Array;
  frames: number;
}

/** Encodes one item. Tiles are aligned to whole frames so trimming is exact. */
export async function encodeAudio(
  session: GraphSession,
  audio: Float32Array,
  samples: number,
  geometry: EncodeGeometry,
  tiles: EncodeTiles,
  signal?: AbortSignal,
): Promise<Posterior> {
  const { latentDim, audioChannels, hop } = geometry;
  const frames = Math.floor(samples / hop);
  const mean = new Float32Array(frames * latentDim);
  const std = new Float32Array(frames * latentDim);
  // Plan in frames: a tile boundary inside a frame would make its latent depend on the tiling.
  const tileFrames = Math.max(1, Math.floor(tiles.tileSamples / hop));
  const overlapFrames = Math.min(Math.floor(tiles.overlapSamples / hop), Math.floor((tileFrames - 1) / 2));
  for (const tile of planTiles(frames, tileFrames, overlapFrames)) {
    signal?.throwIfAborted();
    const window = tile.windowEnd - tile.windowStart;
    const input = slicePlanar(audio, audioChannels, samples, tile.windowStart * hop, tile.windowEnd * hop);
    const out = await session.run({
      audio: new ort.Tensor('float32', input, [1, audioChannels, window * hop]),
    });
    const keepStart = tile.coreStart - tile.windowStart;
    const keepEnd = tile.coreEnd - tile.windowStart;
    mean.set(
      channelMajorToTimeMajor(out.mean!.data as Float32Array, latentDim, window, keepStart, keepEnd),
      tile.coreStart * latentDim,
    );
    std.set(
      channelMajorToTimeMajor(out.std!.data as Float32Array, latentDim, window, keepStart, keepEnd),
      tile.coreStart * latentDim,
    );
  }
  return { mean, std, frames };
}

/** mean + std · noise, element by element (noise from the seeded RNG). */
export function samplePosterior(posterior: Posterior, noise: Float32Array): Float32Array {
  const out = new Float32Array(posterior.mean.length);
  for (let i = 0; i < out.length; i++) out[i] = posterior.mean[i]! + posterior.std[i]! * noise[i]!;
  return out;
}
