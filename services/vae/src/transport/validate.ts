// Checks of a decode/encode request before any work is admitted. Every error
// is INVALID_ARGUMENT naming the field or tensor and what is allowed.

import { type DecodeSpec, type EncodeSpec, LatentSampling } from '@acestep/proto/vae';
import { float32View, type Tensor } from '@acestep/runtime';
import { Code, ConnectError } from '@connectrpc/connect';
import type { DecodeGeometry, TileOptions } from '../model/decoder.ts';
import type { AudioItem } from '../model/model.ts';

function invalid(message: string): ConnectError {
  return new ConnectError(message, Code.InvalidArgument);
}

/** Puts tensors in item order, checking names, dtypes, counts and indices. */
function byItem(itemCount: number, tensors: Tensor[], name: string, maxBatch: number): Tensor[] {
  if (itemCount < 1 || itemCount > maxBatch) {
    throw invalid(`spec.item_count must be in 1..${maxBatch}, got ${itemCount}`);
  }
  const items: Tensor[] = [];
  for (const t of tensors) {
    if (t.name !== name) throw invalid(`unexpected tensor "${t.name}": this call takes "${name}" tensors`);
    if (t.dtype !== 'float32')
      throw invalid(`tensor "${name}" of item ${t.itemIndex} must be float32, got ${t.dtype}`);
    const i = t.itemIndex ?? 0;
    if (i >= itemCount)
      throw invalid(
        `tensor "${name}" has item_index ${i}; spec.item_count is ${itemCount} (allowed 0..${itemCount - 1})`,
      );
    if (items[i]) throw invalid(`tensor "${name}" sent twice for item ${i}`);
    items[i] = t;
  }
  for (let i = 0; i < itemCount; i++) {
    if (!items[i]) throw invalid(`tensor "${name}" missing for item ${i} of ${itemCount}`);
  }
  return items;
}

export function validateLatentItems(
  itemCount: number,
  tensors: Tensor[],
  geometry: DecodeGeometry & { maxFrames?: number },
  maxBatch: number,
  maxFrames = 600 * 25,
): Float32Array[] {
  return byItem(itemCount, tensors, 'latents', maxBatch).map((t, i) => {
    const [frames, dim] = t.shape;
    if (t.shape.length !== 2 || dim !== geometry.latentDim) {
      throw invalid(
        `tensor "latents" of item ${i} must have shape [frames, ${geometry.latentDim}], got [${t.shape.join(', ')}]`,
      );
    }
    if (frames! < 1 || frames! > maxFrames) {
      throw invalid(
        `tensor "latents" of item ${i} has ${frames} frames; allowed 1..${maxFrames} (600 s at 25 frames/s)`,
      );
    }
    const values = float32View(t);
    if (!values.every(Number.isFinite))
      throw invalid(`tensor "latents" of item ${i} contains NaN or infinite values`);
    return values;
  });
}

export function validateDecodeTiles(spec: DecodeSpec, defaults: TileOptions): TileOptions {
  const tileFrames = spec.tileFrames || defaults.tileFrames;
  const overlapFrames = spec.overlapFrames || defaults.overlapFrames;
  if (tileFrames < 16 || tileFrames > 4096)
    throw invalid(`spec.tile_frames must be in 16..4096 (0 = ${defaults.tileFrames}), got ${tileFrames}`);
  const maxOverlap = Math.floor((tileFrames - 1) / 2);
  if (overlapFrames > maxOverlap) {
    throw invalid(
      `spec.overlap_frames must be in 0..${maxOverlap} for tile_frames ${tileFrames} (0 = ${defaults.overlapFrames}), got ${overlapFrames}`,
    );
  }
  return { tileFrames, overlapFrames };
}

export function validateAudioItems(
  spec: EncodeSpec,
  tensors: Tensor[],
  geometry: DecodeGeometry,
  maxBatch: number,
  maxSeconds = 600,
): AudioItem[] {
  if (spec.sampling === LatentSampling.SAMPLE && spec.seeds.length !== spec.itemCount) {
    throw invalid(
      `spec.seeds must hold one seed per item (${spec.itemCount}) with LATENT_SAMPLING_SAMPLE, got ${spec.seeds.length}`,
    );
  }
  const maxSamples = maxSeconds * geometry.hop * 25;
  return byItem(spec.itemCount, tensors, 'audio', maxBatch).map((t, i) => {
    const [channels, samples] = t.shape;
    if (t.shape.length !== 2 || channels !== geometry.audioChannels) {
      throw invalid(
        `tensor "audio" of item ${i} must have shape [${geometry.audioChannels}, samples], got [${t.shape.join(', ')}]`,
      );
    }
    if (samples! < geometry.hop || samples! > maxSamples) {
      throw invalid(
        `tensor "audio" of item ${i} has ${samples} samples; allowed ${geometry.hop}..${maxSamples} (one latent frame to ${maxSeconds} s at 48 kHz)`,
      );
    }
    const audio = float32View(t);
    if (!audio.every(Number.isFinite))
      throw invalid(`tensor "audio" of item ${i} contains NaN or infinite values`);
    return { audio, samples: samples! };
  });
}
