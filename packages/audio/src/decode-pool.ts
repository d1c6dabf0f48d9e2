/**
 * Runs `decodeAudio` on worker threads (piscina, a maintained pool) so that decoding an upload never
 * blocks the caller's event loop: health checks, progress streams and other requests go on meanwhile.
 * The input bytes are copied once and transferred; the decoded channels are transferred back.
 */
import { availableParallelism } from 'node:os';
import { Piscina } from 'piscina';
import type { DecodeOutcome, DecodeTask } from './decode-worker.ts';
import { AudioInputError, type AudioInputReason } from './errors.ts';
import type { AudioLimits, PcmAudio } from './types.ts';

let pool: Piscina | undefined;

function getPool(): Piscina {
  pool ??= new Piscina({
    filename: new URL('./decode-worker.ts', import.meta.url).href,
    minThreads: 0,
    maxThreads: Math.max(1, Math.min(2, availableParallelism() - 1)),
    idleTimeout: 30_000,
  });
  return pool;
}

async function run(
  bytes: Uint8Array,
  limits: Partial<AudioLimits>,
  mode: DecodeTask['mode'],
): Promise<PcmAudio> {
  // A real copy in a fresh ArrayBuffer: Buffer#slice shares memory, and small Buffers live in Node's
  // shared pool, which cannot be transferred ("Cannot transfer object of unsupported type").
  const copy = new Uint8Array(bytes.length);
  copy.set(bytes);
  const task: DecodeTask = { bytes: copy, limits, mode };
  const outcome = (await getPool().run(task, { transferList: [copy.buffer] })) as DecodeOutcome;
  if (outcome.ok) return outcome.pcm;
  if (outcome.audioError) throw new AudioInputError(outcome.reason as AudioInputReason, outcome.message);
  throw new Error(`audio decoder worker failed: ${outcome.message}`);
}

/** `decodeAudio` (48 kHz stereo for the model) on a worker thread. */
export function decodeAudioOffThread(
  bytes: Uint8Array,
  limits: Partial<AudioLimits> = {},
): Promise<PcmAudio> {
  return run(bytes, limits, 'model');
}

/** `decodeAudioSource` (the file's own rate and channels, validated) on a worker thread. */
export function decodeAudioSourceOffThread(
  bytes: Uint8Array,
  limits: Partial<AudioLimits> = {},
): Promise<PcmAudio> {
  return run(bytes, limits, 'source');
}

/** Stops the worker threads (tests and shutdown); a later call starts them again. */
export async function closeDecodePool(): Promise<void> {
  const p = pool;
  pool = undefined;
  await p?.destroy();
}
