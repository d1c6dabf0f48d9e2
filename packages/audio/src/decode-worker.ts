/**
 * The worker side of `decodeAudioOffThread`: decoding (and resampling) a 10-minute upload takes
 * seconds of CPU in wasm, which would stall every other request on the gateway's event loop.
 * Errors come back as values so the caller can rebuild the exact `AudioInputError` (a thrown error
 * loses its class and `reason` when it crosses threads).
 */
import { Piscina } from 'piscina';
import { decodeAudio, decodeAudioSource } from './decode.ts';
import { isAudioInputError } from './errors.ts';
import type { AudioLimits, PcmAudio } from './types.ts';

export interface DecodeTask {
  bytes: Uint8Array;
  limits: Partial<AudioLimits>;
  /** 'model': 48 kHz stereo for the model; 'source': the file's own rate and channels. */
  mode: 'model' | 'source';
}

export type DecodeOutcome =
  | { ok: true; pcm: PcmAudio }
  | { ok: false; audioError: boolean; reason: string; message: string };

export default async function decode(task: DecodeTask): Promise<unknown> {
  try {
    const pcm =
      task.mode === 'model'
        ? await decodeAudio(task.bytes, task.limits)
        : await decodeAudioSource(task.bytes, task.limits);
    const outcome: DecodeOutcome = { ok: true, pcm };
    // Channels may share one buffer (mono duplicated to stereo); a transfer list must name each once.
    const buffers = [...new Set(pcm.channels.map((c) => c.buffer))];
    return Piscina.move({
      [Piscina.transferableSymbol]: buffers,
      [Piscina.valueSymbol]: outcome,
    } as never);
  } catch (err) {
    const outcome: DecodeOutcome = isAudioInputError(err)
      ? { ok: false, audioError: true, reason: err.reason, message: err.message }
      : { ok: false, audioError: false, reason: 'internal', message: String(err) };
    return outcome;
  }
}
