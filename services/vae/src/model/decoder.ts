// Tiled VAE decoding: time-major latents [T, 64] per item → planar 48 kHz
// stereo [2, T·hop], emitted tile by tile so the first audio leaves before the
// whole song is decoded and memory stays bounded by the tile size.

import type { GraphSession } from '@acestep/models';
import ort from 'onnxruntime-node';
import { slicePlanar, timeMajorToChannelMajor } from '../core/layout.ts';
import { planTiles } from '../core/tiling.ts';

export interface DecodeGeometry {
  latentDim: number;
  audioChannels: number;
  /** Samples per latent frame (1920). */
  hop: number;
}

export interface TileOptions {
  /** Frames per decoded tile (official default 512). */
  tileFrames: number;
  /** Context frames on each side of a tile's core (official default 64). */
  overlapFrames: number;
}

export interface AudioSegment {
  itemIndex: number;
  /** Sample index where this segment starts. */
  offset: number;
  /** Planar [channels, n]. */
  audio: Float32Array;
  samples: number;
}

/**
 * Decodes items of equal length together: tile k of every item runs as one
 * batch. Items of different lengths are decoded one length group at a time.
 */
export async function* decodeLatents(
  session: GraphSession,
  items: readonly Float32Array[],
  geometry: DecodeGeometry,
  tiles: TileOptions,
  signal?: AbortSignal,
): AsyncGenerator<AudioSegment> {
  const { latentDim, audioChannels, hop } = geometry;
  for (const group of groupByLength(items, latentDim)) {
    for (const tile of planTiles(group.frames, tiles.tileFrames, tiles.overlapFrames)) {
      signal?.throwIfAborted();
      const window = tile.windowEnd - tile.windowStart;
      const input = new Float32Array(group.indices.length * latentDim * window);
      group.indices.forEach((item, b) => {
        timeMajorToChannelMajor(
          items[item]!,
          latentDim,
          tile.windowStart,
          tile.windowEnd,
          input.subarray(b * latentDim * window),
        );
      });
      const { audio } = await session.run({
        latents: new ort.Tensor('float32', input, [group.indices.length, latentDim, window]),
      });
      const decoded = audio!.data as Float32Array;
      const windowSamples = window * hop;
      const keepStart = (tile.coreStart - tile.windowStart) * hop;
      const keepEnd = (tile.coreEnd - tile.windowStart) * hop;
      for (const [b, item] of group.indices.entries()) {
        const planar = decoded.subarray(
          b * audioChannels * windowSamples,
          (b + 1) * audioChannels * windowSamples,
        );
        yield {
          itemIndex: item,
          offset: tile.coreStart * hop,
          audio: slicePlanar(planar, audioChannels, windowSamples, keepStart, keepEnd),
          samples: keepEnd - keepStart,
        };
      }
    }
  }
}

function groupByLength(
  items: readonly Float32Array[],
  latentDim: number,
): { frames: number; indices: number[] }[] {
  const groups = new Map<number, number[]>();
  items.forEach((latents, i) => {
    const frames = latents.length / latentDim;
    groups.set(frames, [...(groups.get(frames) ?? []), i]);
  });
  return [...groups].map(([frames, indices]) => ({ frames, indices }));
}
