// Pieces both implementations use around one run of the executor: progress
// coalescing, the job-scoped store handed to the executor, the run deadline,
// and moving inline audio out of a submitted config.
import {
  type AudioSource,
  type GenerationConfig,
  GenerationConfigSchema,
  type Progress,
} from '@acestep/proto/gateway';
import { clone } from '@bufbuild/protobuf';
import { JobError } from './errors.ts';
import { newObjectId } from './ids.ts';
import type { ObjectBackend } from './object-data.ts';
import type { ObjectData, ObjectInfo, ObjectMeta, ResultStore } from './types.ts';

/**
 * Coalesces progress reports: the first is written at once, later ones at most
 * every intervalMs, and only the newest of a burst (an LM reports per token).
 * Writes never overlap.
 */
export class ProgressThrottle {
  readonly #intervalMs: number;
  readonly #write: (progress: Progress) => Promise<unknown>;
  #pending: Progress | undefined;
  #timer: NodeJS.Timeout | undefined;
  #lastWrite = 0;
  #writing: Promise<unknown> = Promise.resolve();
  #stopped = false;

  constructor(intervalMs: number, write: (progress: Progress) => Promise<unknown>) {
    this.#intervalMs = intervalMs;
    this.#write = write;
  }

  report(progress: Progress): void {
    if (this.#stopped) return;
    this.#pending = progress;
    if (this.#timer) return;
    const wait = Math.max(0, this.#lastWrite + this.#intervalMs - Date.now());
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      void this.#flushPending();
    }, wait);
  }

  /** Stops taking reports and waits for the writes under way (the final state is written after them). */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#pending = undefined;
    await this.#writing;
  }

  #flushPending(): Promise<unknown> {
    const progress = this.#pending;
    if (!progress || this.#stopped) return this.#writing;
    this.#pending = undefined;
    this.#lastWrite = Date.now();
    this.#writing = this.#writing.then(() => this.#write(progress)).catch(() => undefined);
    return this.#writing;
  }
}

/**
 * The store an executor gets: every object it puts is tagged with the job id
 * and registered (before its bytes are written) so that the objects of an
 * attempt that does not succeed can be deleted, even after a crash.
 */
export class JobScopedStore implements ResultStore {
  readonly #backend: ObjectBackend;
  readonly #jobId: string;
  readonly #register: (objectId: string) => Promise<void>;
  readonly #signal: AbortSignal;
  readonly objectIds: string[] = [];

  constructor(
    backend: ObjectBackend,
    jobId: string,
    signal: AbortSignal,
    register: (id: string) => Promise<void>,
  ) {
    this.#backend = backend;
    this.#jobId = jobId;
    this.#signal = signal;
    this.#register = register;
  }

  get maxObjectBytes(): number {
    return this.#backend.maxObjectBytes;
  }

  async putObject(data: ObjectData, meta: ObjectMeta = {}): Promise<ObjectInfo> {
    this.#signal.throwIfAborted();
    const objectId = newObjectId();
    await this.#register(objectId);
    this.objectIds.push(objectId);
    this.#signal.throwIfAborted();
    const info = await this.#backend.writeObject(objectId, data, { ...meta, jobId: this.#jobId });
    this.#signal.throwIfAborted();
    return info;
  }

  statObject(objectId: string): Promise<ObjectInfo> {
    return this.#backend.statObject(objectId);
  }

  getObject(objectId: string): Promise<{ info: ObjectInfo; data: AsyncIterable<Uint8Array> }> {
    return this.#backend.getObject(objectId);
  }

  readObject(objectId: string): Promise<Uint8Array> {
    return this.#backend.readObject(objectId);
  }

  deleteObject(objectId: string): Promise<boolean> {
    return this.#backend.deleteObject(objectId);
  }
}

/** Deletes objects, ignoring failures (retention removes what is left). */
export async function deleteObjects(store: ResultStore, objectIds: Iterable<string>): Promise<void> {
  await Promise.all([...objectIds].map((id) => store.deleteObject(id).catch(() => false)));
}

/**
 * Moves audio bytes sent inline in a config (src_audio, reference_audio) into
 * the store and refers to them by object id, so a stored job stays small (NATS
 * messages and KV values are limited to 1 MiB). Unknown object ids are refused
 * here rather than when the job runs.
 */
export async function storeInlineAudio(
  config: GenerationConfig,
  store: ResultStore,
): Promise<{ config: GenerationConfig; objectIds: string[] }> {
  const out = clone(GenerationConfigSchema, config);
  const objectIds: string[] = [];
  const fields = ['srcAudio', 'referenceAudio'] as const;
  try {
    for (const field of fields) {
      const source: AudioSource | undefined = out[field];
      if (source?.source.case === 'data') {
        const info = await store.putObject(source.source.value, { filename: field });
        objectIds.push(info.objectId);
        source.source = { case: 'objectId', value: info.objectId };
      } else if (source?.source.case === 'objectId') {
        await store.statObject(source.source.value).catch((error: unknown) => {
          throw new JobError('INVALID_ARGUMENT', `${field}: ${(error as Error).message}`);
        });
      }
    }
  } catch (error) {
    await deleteObjects(store, objectIds);
    throw error;
  }
  return { config: out, objectIds };
}

/** An AbortSignal that fires after ms, with a reason saying so; call clear() when the run ends. */
export function runDeadline(ms: number): { signal: AbortSignal; clear: () => void } {
  const controller = new AbortController();
  const timer = setTimeout(
    () => controller.abort(new JobError('DEADLINE_EXCEEDED', `the run took longer than ${ms} ms`)),
    ms,
  );
  timer.unref();
  return { signal: controller.signal, clear: () => clearTimeout(timer) };
}
