// Wire → plain request: the GenerateSpec's proto3 defaults become "unset", the streamed tensors
// are checked and put in item order. Tensor problems are INVALID_ARGUMENT naming the tensor;
// field semantics are checked by the core (planRequest).

import { isValidSeed, SEED_ALLOWED, TASK_NAMES, taskOfEnumName } from '@acestep/acestep';
import { type GenerateSpec, TaskType } from '@acestep/proto/dit';
import { float32View, type Tensor } from '@acestep/runtime';
import { Code, ConnectError } from '@connectrpc/connect';
import { DitInputError } from '../core/errors.ts';
import { LATENT_CHANNELS } from '../core/latents.ts';
import { MAX_LATENT_FRAMES } from '../core/tasks.ts';
import type { GenerateItem, GenerateRequest } from '../model/pipeline.ts';

export const GENERATE_TENSORS = ['src_latents', 'reference_latents'] as const;

function invalid(message: string): ConnectError {
  return new ConnectError(message, Code.InvalidArgument);
}

/** Checks one [T, 64] float32 latent tensor. */
export function latentItem(t: Tensor, label: string): Float32Array {
  if (t.dtype !== 'float32') throw invalid(`${label} must be float32, got ${t.dtype}`);
  const [frames, dim] = t.shape;
  if (t.shape.length !== 2 || dim !== LATENT_CHANNELS) {
    throw invalid(`${label} must have shape [frames, ${LATENT_CHANNELS}], got [${t.shape.join(', ')}]`);
  }
  if (frames! < 1 || frames! > MAX_LATENT_FRAMES) {
    throw invalid(`${label} has ${frames} frames; allowed 1..${MAX_LATENT_FRAMES} (600 s at 25 frames/s)`);
  }
  const values = float32View(t);
  if (!values.every(Number.isFinite)) throw invalid(`${label} contains NaN or infinite values`);
  return values;
}

/** Tensors of one name by item index; each item at most once, indices below itemCount. */
export function tensorsByItem(
  tensors: readonly Tensor[],
  name: string,
  itemCount: number,
): Map<number, Float32Array> {
  const out = new Map<number, Float32Array>();
  for (const t of tensors) {
    if (t.name !== name) continue;
    const i = t.itemIndex ?? 0;
    const label = `tensor "${name}" of item ${i}`;
    if (i >= itemCount) {
      throw invalid(
        `tensor "${name}" has item_index ${i}; the spec has ${itemCount} items (allowed 0..${itemCount - 1})`,
      );
    }
    if (out.has(i)) throw invalid(`tensor "${name}" sent twice for item ${i}`);
    out.set(i, latentItem(t, label));
  }
  return out;
}

const unset = (x: number): number | undefined => (x === 0 ? undefined : x);

export function toGenerateRequest(spec: GenerateSpec, tensors: readonly Tensor[]): GenerateRequest {
  for (const t of tensors) {
    if (!(GENERATE_TENSORS as readonly string[]).includes(t.name)) {
      throw invalid(
        `unexpected tensor "${t.name}": Generate takes ${GENERATE_TENSORS.map((n) => `"${n}"`).join(' and ')}`,
      );
    }
  }
  const task = taskOfEnumName(TaskType[spec.taskType]);
  if (task === undefined) {
    throw new DitInputError(
      'task_type',
      `unknown task type ${spec.taskType} (allowed: ${TASK_NAMES.join(', ')})`,
    );
  }
  const count = spec.items.length;
  const sources = tensorsByItem(tensors, 'src_latents', count);
  const references = tensorsByItem(tensors, 'reference_latents', count);
  const items = spec.items.map((item, i): GenerateItem => {
    const seed = item.seed;
    if (!isValidSeed(seed))
      throw new DitInputError(`items[${i}].seed`, `must be ${SEED_ALLOWED}, got ${seed}`);
    const m = item.metas;
    return {
      caption: item.caption,
      lyrics: item.lyrics,
      vocalLanguage: item.vocalLanguage,
      metas: {
        ...(m?.bpm !== undefined ? { bpm: m.bpm } : {}),
        keyScale: m?.keyScale ?? '',
        timeSignature: m?.timeSignature ?? '',
        ...(m?.duration !== undefined ? { durationSeconds: m.duration } : {}),
      },
      audioCodes: item.audioCodes,
      seed,
      ...(sources.has(i) ? { srcLatents: sources.get(i)! } : {}),
      ...(references.has(i) ? { referenceLatents: references.get(i)! } : {}),
    };
  });
  const optional = <K extends string, V>(key: K, value: V | undefined) =>
    (value === undefined ? {} : { [key]: value }) as Partial<Record<K, V>>;
  return {
    task,
    items,
    ...optional('instruction', spec.instruction || undefined),
    ...optional('durationSeconds', unset(spec.durationSeconds)),
    ...optional('inferenceSteps', unset(spec.inferenceSteps)),
    ...optional('timesteps', spec.timesteps.length > 0 ? spec.timesteps : undefined),
    ...optional('shift', unset(spec.shift)),
    ...optional('guidanceScale', spec.guidanceScale),
    useAdg: spec.useAdg,
    cfgIntervalStart: spec.cfgIntervalStart,
    ...optional('cfgIntervalEnd', spec.cfgIntervalEnd),
    ...optional('inferMethod', spec.inferMethod || undefined),
    ...optional('audioCoverStrength', spec.audioCoverStrength),
    repaintingStart: spec.repaintingStart,
    // 0 is never a valid end (it must exceed the start ≥ 0): read it as "unset" = end of the source.
    ...optional('repaintingEnd', unset(spec.repaintingEnd)),
    ...optional('repaintInjectionRatio', spec.repaintInjectionRatio),
    ...optional('repaintCrossfadeFrames', spec.repaintCrossfadeFrames),
    trackNames: spec.trackNames,
  };
}
