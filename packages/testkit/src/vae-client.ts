// Test-side helpers for calling the VAE service: send latents or PCM, collect
// the streamed segments back into whole items.

import { type DecodeDone, type EncodeDone, LatentSampling, type VaeService } from '@acestep/proto/vae';
import {
  chunksToTensors,
  float32Tensor,
  float32View,
  joinSegments,
  type Tensor,
  tensorToChunks,
} from '@acestep/runtime';
import type { Client } from '@connectrpc/connect';

export interface DecodedItems {
  /** Planar [2, samples] per item. */
  audio: Float32Array[];
  samples: number[];
  segments: number;
  done: DecodeDone | undefined;
  /** Milliseconds from the call to the first audio segment and to the end. */
  firstAudioMs: number;
  totalMs: number;
}

export async function decode(
  client: Client<typeof VaeService>,
  latents: Float32Array[],
  tiles: { tileFrames?: number; overlapFrames?: number } = {},
): Promise<DecodedItems> {
  const requests = (async function* () {
    yield { part: { case: 'spec' as const, value: { itemCount: latents.length, ...tiles } } };
    for (const [i, values] of latents.entries()) {
      const tensor = { ...float32Tensor('latents', [values.length / 64, 64], values), itemIndex: i };
      for (const chunk of tensorToChunks(tensor)) yield { part: { case: 'latents' as const, value: chunk } };
    }
  })();
  const started = Date.now();
  let firstAudioMs = -1;
  let done: DecodeDone | undefined;
  const chunks = (async function* () {
    for await (const res of client.decode(requests)) {
      if (res.event.case === 'audio') {
        if (firstAudioMs < 0) firstAudioMs = Date.now() - started;
        yield res.event.value;
      } else if (res.event.case === 'done') done = res.event.value;
    }
  })();
  const parts: Tensor[][] = latents.map(() => []);
  let segments = 0;
  for await (const t of chunksToTensors(chunks, { maxTensorBytes: 1 << 30 })) {
    parts[t.itemIndex ?? 0]!.push(t);
    segments++;
  }
  const audio = parts.map((item) => joinSegments(item, 2));
  return {
    audio,
    samples: audio.map((a) => a.length / 2),
    segments,
    done,
    firstAudioMs,
    totalMs: Date.now() - started,
  };
}

export async function encode(
  client: Client<typeof VaeService>,
  audio: Float32Array[],
  options: { sampling?: LatentSampling; seeds?: bigint[] } = {},
): Promise<{ latents: Float32Array[]; frames: number[]; done: EncodeDone | undefined }> {
  const requests = (async function* () {
    yield {
      part: {
        case: 'spec' as const,
        value: {
          itemCount: audio.length,
          sampling: options.sampling ?? LatentSampling.MEAN,
          seeds: options.seeds ?? [],
        },
      },
    };
    for (const [i, values] of audio.entries()) {
      const tensor = { ...float32Tensor('audio', [2, values.length / 2], values), itemIndex: i };
      for (const chunk of tensorToChunks(tensor)) yield { part: { case: 'audio' as const, value: chunk } };
    }
  })();
  let done: EncodeDone | undefined;
  const chunks = (async function* () {
    for await (const res of client.encode(requests)) {
      if (res.event.case === 'latents') yield res.event.value;
      else if (res.event.case === 'done') done = res.event.value;
    }
  })();
  const latents: Float32Array[] = [];
  const frames: number[] = [];
  for await (const t of chunksToTensors(chunks, { maxTensorBytes: 1 << 30 })) {
    latents[t.itemIndex ?? 0] = float32View(t);
    frames[t.itemIndex ?? 0] = t.shape[0]!;
  }
  return { latents, frames, done };
}

/** A raw request stream, for malformed-input tests. */
export async function decodeRaw(
  client: Client<typeof VaeService>,
  parts: (
    | { spec: { itemCount: number; tileFrames?: number; overlapFrames?: number } }
    | { tensor: Tensor }
    | { empty: true }
  )[],
): Promise<void> {
  const requests = (async function* () {
    for (const p of parts) {
      if ('spec' in p) yield { part: { case: 'spec' as const, value: p.spec } };
      else if ('tensor' in p) {
        for (const chunk of tensorToChunks(p.tensor))
          yield { part: { case: 'latents' as const, value: chunk } };
      } else yield { part: { case: undefined } };
    }
  })();
  for await (const _ of client.decode(requests));
}

/** Deterministic pseudo-latents: smooth enough to look like a song's, varied across items. */
export function testLatents(frames: number, item = 0): Float32Array {
  return new Float32Array(frames * 64).map((_, i) => Math.sin(i * 0.37 + item) * 0.8);
}
