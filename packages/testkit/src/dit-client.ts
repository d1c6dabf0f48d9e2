// Test-side helpers for calling the DiT service: send a spec plus optional latents, collect the
// progress events, the per-item latents and the done message.

import {
  type DitService,
  type GenerateDone,
  type GenerateSpec,
  type GenerateSpecSchema,
  TaskType,
} from '@acestep/proto/dit';
import {
  chunksToTensors,
  type createStageClient,
  float32Tensor,
  float32View,
  tensorToChunks,
} from '@acestep/runtime';
import type { MessageInitShape } from '@bufbuild/protobuf';
import type { CallOptions } from '@connectrpc/connect';

export type DitClient = ReturnType<typeof createStageClient<typeof DitService>>;
/** The plain-object form of a GenerateSpec (spreadable). */
export type SpecInit = Exclude<MessageInitShape<typeof GenerateSpecSchema>, GenerateSpec>;

export interface Generated {
  latents: Float32Array[];
  shapes: number[][];
  progress: { step: number; totalSteps: number; timestep: number }[];
  done: GenerateDone | undefined;
}

export interface ItemTensors {
  srcLatents?: Float32Array;
  referenceLatents?: Float32Array;
  /** Overrides the [T, 64] shape of src_latents (malformed-input tests). */
  srcShape?: number[];
}

export async function generate(
  client: DitClient,
  spec: SpecInit,
  tensors: ItemTensors[] = [],
  options: CallOptions & { onProgress?: (step: number) => void } = {},
): Promise<Generated> {
  const requests = (async function* () {
    yield { part: { case: 'spec' as const, value: spec } };
    for (const [i, item] of tensors.entries()) {
      for (const [name, values] of [
        ['src_latents', item.srcLatents],
        ['reference_latents', item.referenceLatents],
      ] as const) {
        if (!values) continue;
        const shape = name === 'src_latents' && item.srcShape ? item.srcShape : [values.length / 64, 64];
        const tensor = { ...float32Tensor(name, shape, values), itemIndex: i };
        for (const chunk of tensorToChunks(tensor)) yield { part: { case: 'tensor' as const, value: chunk } };
      }
    }
  })();
  const progress: Generated['progress'] = [];
  let done: GenerateDone | undefined;
  const chunks = (async function* () {
    for await (const res of client.generate(requests, options)) {
      if (res.event.case === 'progress') {
        progress.push(res.event.value);
        options.onProgress?.(res.event.value.step);
      } else if (res.event.case === 'latents') yield res.event.value;
      else if (res.event.case === 'done') done = res.event.value;
    }
  })();
  const latents: Float32Array[] = [];
  const shapes: number[][] = [];
  for await (const t of chunksToTensors(chunks, { maxTensorBytes: 1 << 30 })) {
    latents[t.itemIndex ?? 0] = float32View(t);
    shapes[t.itemIndex ?? 0] = t.shape;
  }
  return { latents, shapes, progress, done };
}

export async function tokenize(client: DitClient, items: Float32Array[]): Promise<number[][]> {
  const requests = (async function* () {
    for (const [i, values] of items.entries()) {
      const tensor = { ...float32Tensor('latents', [values.length / 64, 64], values), itemIndex: i };
      for (const chunk of tensorToChunks(tensor)) yield { latents: chunk };
    }
  })();
  const res = await client.tokenizeLatents(requests);
  return res.items.map((item) => item.codes);
}

/** A 10-second text2music spec (250 frames). */
export function textSpec(overrides: SpecInit = {}, seeds: bigint[] = [1n]): SpecInit {
  return {
    taskType: TaskType.TEXT2MUSIC,
    durationSeconds: 10,
    items: seeds.map((seed) => ({
      caption: 'lo-fi piano with soft drums',
      lyrics: '[verse]\nhello world',
      vocalLanguage: 'en',
      metas: { bpm: 90, keyScale: 'C major', timeSignature: '4' },
      seed,
    })),
    ...overrides,
  };
}

/** Smooth pseudo-latents of a source song, varied across items. */
export function sourceLatents(frames: number, item = 0): Float32Array {
  return new Float32Array(frames * 64).map((_, i) => Math.sin(i * 0.13 + item) * 0.7);
}

export function bytesEqual(a: Float32Array, b: Float32Array): boolean {
  return (
    Buffer.compare(
      Buffer.from(a.buffer, a.byteOffset, a.byteLength),
      Buffer.from(b.buffer, b.byteOffset, b.byteLength),
    ) === 0
  );
}
