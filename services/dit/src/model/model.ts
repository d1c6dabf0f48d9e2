// The DiT's loaded model: six graphs of a model set, the manifest constants, the silence latent,
// the CFG null condition and the tokenizer.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  DeviceCopier,
  type DitVariant,
  ditVariant,
  type GraphName,
  type GraphSession,
  hasDeviceTensors,
  loadManifest,
  type Manifest,
  type ModelSet,
  openModelSet,
} from '@acestep/models';
import { type ModelInfo, ModelInfoSchema } from '@acestep/proto/common';
import type { ServiceConfig } from '@acestep/runtime';
import { loadQwen3Tokenizer, type Qwen3Tokenizer } from '@acestep/tokenizer';
import { create } from '@bufbuild/protobuf';
import type { ModelFamily } from '../core/schedule.ts';
import type { ModelRef } from '../core/tasks.ts';

export const DIT_GRAPHS = [
  'text_encoder',
  'text_token_embedding',
  'condition_encoder',
  'dit_step',
  'audio_tokenizer',
  'audio_detokenizer',
] as const satisfies readonly GraphName[];
export type DitGraph = (typeof DIT_GRAPHS)[number];

/** What the gRPC thread knows of the model: the manifest, no sessions. */
export interface DitModelMeta {
  dir: string;
  manifest: Manifest;
  family: ModelFamily;
  /** The set's DiT variant: official name and sampling defaults. */
  variant: DitVariant;
  ref: ModelRef;
}

export interface DitModel extends DitModelMeta {
  modelSet: ModelSet;
  /** silence_latent.bin, [15000, 64] time-major. */
  silence: Float32Array;
  /** null_condition_emb.bin, [hidden]: CFG rows' encoder hidden state at every position. */
  nullCondition: Float32Array;
  /** Width H of encoder_hidden_states. */
  hidden: number;
  tokenizer: Qwen3Tokenizer;
  session(name: DitGraph): GraphSession;
  /**
   * On WebGPU with in-thread sessions: uploads a run's conditioning once, so the denoising
   * steps reuse it on the device instead of copying it in on every step.
   */
  copier?: DeviceCopier;
}

async function readFloat32(dir: string, file: string, count: number): Promise<Float32Array> {
  const bytes = await readFile(join(dir, file));
  if (bytes.byteLength !== count * 4) {
    throw new Error(`${file}: ${bytes.byteLength} bytes, manifest shape wants ${count * 4}`);
  }
  // Copy into an aligned buffer (a Buffer may sit at any offset of a shared pool).
  const out = new Float32Array(count);
  new Uint8Array(out.buffer).set(bytes);
  return out;
}

const product = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);

export function modelMeta(dir: string, manifest: Manifest): DitModelMeta {
  const variant = ditVariant(manifest);
  const family = variant.family;
  return {
    dir,
    manifest,
    family,
    variant,
    ref: { family, name: `${manifest.name} (acestep-v15-${variant.name})` },
  };
}

export async function loadDitMeta(dir: string): Promise<DitModelMeta> {
  return modelMeta(dir, await loadManifest(dir));
}

/**
 * Opens the six graphs. The service calls this inside its engine worker (engine-worker.ts) with
 * in-thread sessions; `worker: true` puts the sessions in the model set's own worker instead.
 */
export async function loadDit(
  config: Pick<ServiceConfig, 'modelDir' | 'device' | 'threads'>,
  options: { worker?: boolean } = {},
): Promise<DitModel> {
  const modelSet = await openModelSet(config.modelDir, {
    device: config.device,
    graphs: DIT_GRAPHS,
    worker: options.worker ?? false,
    ...(config.threads > 0 ? { intraOpThreads: config.threads } : {}),
  });
  try {
    const model = await bindModel(modelSet);
    // Device tensors cannot cross threads: only in-thread sessions (the engine worker) keep state.
    if (hasDeviceTensors(config.device) && !options.worker) model.copier = new DeviceCopier();
    return model;
  } catch (error) {
    await modelSet.close();
    throw error;
  }
}

async function bindModel(modelSet: ModelSet): Promise<DitModel> {
  const { manifest, dir } = modelSet;
  const { silenceLatent, nullConditionEmbedding } = manifest.tensors;
  const [silence, nullCondition, tokenizer] = await Promise.all([
    readFloat32(dir, silenceLatent.file, product(silenceLatent.shape)),
    readFloat32(dir, nullConditionEmbedding.file, product(nullConditionEmbedding.shape)),
    loadQwen3Tokenizer(),
  ]);
  return {
    ...modelMeta(dir, manifest),
    modelSet,
    silence,
    nullCondition,
    hidden: nullCondition.length,
    tokenizer,
    session: (name) => modelSet.session(name),
  };
}

export function modelInfo(model: DitModelMeta): ModelInfo {
  const { manifest, dir } = model;
  const c = manifest.constants;
  return create(ModelInfoSchema, {
    name: manifest.name,
    variant: model.variant.name,
    contractVersion: manifest.contractVersion,
    directory: dir,
    loaded: true,
    graphs: [...DIT_GRAPHS],
    constants: {
      latent_rate: String(c.latentRate),
      latent_dim: String(c.latentDim),
      dit_hidden: String(c.ditHidden),
      max_text_tokens: String(c.maxTextTokens),
      max_lyric_tokens: String(c.maxLyricTokens),
      min_latent_frames: String(c.minLatentFrames),
      min_duration_seconds: String(c.minDurationSeconds),
      max_duration_seconds: String(c.maxDurationSeconds),
      timbre_frames: String(c.timbreFrames),
      weights: manifest.variant.weights,
      family: model.family,
      size: model.variant.size,
      default_steps: String(model.variant.defaultSteps),
      default_shift: String(model.variant.defaultShift),
      shifts: model.variant.shifts ? model.variant.shifts.join(',') : 'continuous',
    },
  });
}
