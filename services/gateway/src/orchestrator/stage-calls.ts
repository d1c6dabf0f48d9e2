// One function per stage call the gateway makes, turning tensors and proto
// streams into plain arrays. Each is one whole attempt, run through the stage's
// `Stage.call` (stages.ts): a pure function of its input, so a call that fails
// with UNAVAILABLE (a replica died mid-call) can run again on another replica.
import type { GenerateSpec as DitGenerateSpec, DitService, GenerateSpecSchema } from '@acestep/proto/dit';
import type {
  GenerateRequest as LmGenerateRequest,
  GenerateRequestSchema as LmGenerateRequestSchema,
  LmMetadata,
  LmService,
} from '@acestep/proto/lm';
import { LatentSampling, type VaeService } from '@acestep/proto/vae';
import { chunksToTensors, float32Tensor, float32View, type Tensor, tensorToChunks } from '@acestep/runtime';
import type { MessageInitShape } from '@bufbuild/protobuf';
import type { CallOptions, Client } from '@connectrpc/connect';

const LATENT_DIM = 64;
const TENSOR_LIMITS = { maxTensorBytes: 1 << 30 };

/** Planar [2, S] float32 audio per item → latents [T, 64] per item (posterior mean). */
export async function vaeEncode(
  vae: Client<typeof VaeService>,
  audio: Float32Array[],
  call: CallOptions,
): Promise<Float32Array[]> {
  const requests = (async function* () {
    yield {
      part: { case: 'spec' as const, value: { itemCount: audio.length, sampling: LatentSampling.MEAN } },
    };
    for (const [i, values] of audio.entries()) {
      const tensor = { ...float32Tensor('audio', [2, values.length / 2], values), itemIndex: i };
      for (const chunk of tensorToChunks(tensor)) yield { part: { case: 'audio' as const, value: chunk } };
    }
  })();
  const chunks = (async function* () {
    for await (const res of vae.encode(requests, call))
      if (res.event.case === 'latents') yield res.event.value;
  })();
  const latents: Float32Array[] = [];
  for await (const t of chunksToTensors(chunks, TENSOR_LIMITS)) latents[t.itemIndex ?? 0] = float32View(t);
  return latents;
}

/**
 * Latents [T, 64] per item → audio segments [2, n] (itemIndex, offset in samples) in the order the
 * VAE decodes them, each yielded as soon as its last chunk arrived: consumers see a song's first
 * tile while the VAE still decodes the rest, and hold no more than they keep themselves.
 */
export async function* vaeDecodeSegments(
  vae: Client<typeof VaeService>,
  latents: readonly Float32Array[],
  call: CallOptions,
): AsyncGenerator<Tensor> {
  const requests = (async function* () {
    yield { part: { case: 'spec' as const, value: { itemCount: latents.length } } };
    for (const [i, values] of latents.entries()) {
      const tensor = {
        ...float32Tensor('latents', [values.length / LATENT_DIM, LATENT_DIM], values),
        itemIndex: i,
      };
      for (const chunk of tensorToChunks(tensor)) yield { part: { case: 'latents' as const, value: chunk } };
    }
  })();
  const chunks = (async function* () {
    for await (const res of vae.decode(requests, call)) if (res.event.case === 'audio') yield res.event.value;
  })();
  yield* chunksToTensors(chunks, TENSOR_LIMITS);
}

export interface LmSequenceResult {
  metadata: LmMetadata | undefined;
  codes: number[];
}

export interface LmCallResult {
  sequences: LmSequenceResult[];
  phase1Ms: number;
  phase2Ms: number;
  totalMs: number;
}

/** One LM call for a chunk of sequences; onTokens reports progress. */
export async function lmGenerate(
  lm: Client<typeof LmService>,
  request: MessageInitShape<typeof LmGenerateRequestSchema>,
  onProgress: (phase: string, tokens: number, total: number) => void,
  call: CallOptions,
): Promise<LmCallResult> {
  const count = (request as LmGenerateRequest).sequences?.length ?? 0;
  const sequences: LmSequenceResult[] = Array.from({ length: count }, () => ({
    metadata: undefined,
    codes: [],
  }));
  const started = Date.now();
  let phase1End: number | undefined;
  for await (const res of lm.generate(request, call)) {
    const { event } = res;
    if (event.case === 'metadata') {
      phase1End ??= Date.now();
      const seq = sequences[event.value.sequenceIndex];
      if (seq) seq.metadata = event.value.metadata;
    } else if (event.case === 'audioCodes') {
      phase1End ??= Date.now();
      sequences[event.value.sequenceIndex]?.codes.push(...event.value.codes);
    } else if (event.case === 'progress') {
      onProgress(event.value.phase, event.value.tokens, event.value.totalTokens);
    }
  }
  const end = Date.now();
  const split = phase1End ?? end;
  return { sequences, phase1Ms: split - started, phase2Ms: end - split, totalMs: end - started };
}

export interface DitTensors {
  /** [T, 64] per item, or undefined. */
  srcLatents?: (Float32Array | undefined)[];
  referenceLatents?: (Float32Array | undefined)[];
}

/** The DiT's denoising for a batch; onStep reports each step. */
export async function ditGenerate(
  dit: Client<typeof DitService>,
  spec: MessageInitShape<typeof GenerateSpecSchema>,
  tensors: DitTensors,
  onStep: (step: number, total: number) => void,
  call: CallOptions,
): Promise<{ latents: Float32Array[]; seeds: bigint[] }> {
  const requests = (async function* () {
    yield { part: { case: 'spec' as const, value: spec } };
    for (const [name, list] of [
      ['src_latents', tensors.srcLatents],
      ['reference_latents', tensors.referenceLatents],
    ] as const) {
      for (const [i, values] of (list ?? []).entries()) {
        if (!values) continue;
        const tensor = {
          ...float32Tensor(name, [values.length / LATENT_DIM, LATENT_DIM], values),
          itemIndex: i,
        };
        for (const chunk of tensorToChunks(tensor)) yield { part: { case: 'tensor' as const, value: chunk } };
      }
    }
  })();
  let seeds: bigint[] = [];
  const chunks = (async function* () {
    for await (const res of dit.generate(requests, call)) {
      const { event } = res;
      if (event.case === 'progress') onStep(event.value.step, event.value.totalSteps);
      else if (event.case === 'latents') yield event.value;
      else if (event.case === 'done') seeds = event.value.seeds;
    }
  })();
  const latents: Float32Array[] = [];
  for await (const t of chunksToTensors(chunks, TENSOR_LIMITS)) latents[t.itemIndex ?? 0] = float32View(t);
  return { latents, seeds };
}

export type { DitGenerateSpec };
