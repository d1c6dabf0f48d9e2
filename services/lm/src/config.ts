// The LM service's own options on top of the common ones.
import { intOption, type OptionTable, type ServiceConfig } from '@acestep/runtime';

export interface LmExtraConfig {
  /** Caption cap of the constrained decoder (the caption ends at the next line break after it). */
  maxCaptionTokens: number;
  /** Cap on the lyrics written after `</think>` by UnderstandAudio, FormatSample and CreateSample. */
  maxLyricsTokens: number;
  /** KV-cache budget of the engine's running batches, MiB (sequences wait beyond it). */
  kvCacheMb: number;
  /** Requests decoding at once (their sequences share the running batches); more wait in the queue. */
  maxRunning: number;
}

export type LmConfig = ServiceConfig & LmExtraConfig;

export const LM_OPTIONS: OptionTable<LmExtraConfig> = {
  maxCaptionTokens: intOption('max-caption-tokens', 'caption cap of the constrained decoder', 1, 4096),
  maxLyricsTokens: intOption('max-lyrics-tokens', 'lyrics cap of understand/format/create', 1, 4096),
  kvCacheMb: intOption('kv-cache-mb', 'KV-cache budget of the running batches in MiB', 1, 1_048_576),
  maxRunning: intOption('max-running', 'requests decoding at once in the continuous batch', 1, 1024),
};

export function lmDefaults(base: ServiceConfig): LmConfig {
  return { ...base, maxCaptionTokens: 512, maxLyricsTokens: 2048, kvCacheMb: 1024, maxRunning: 16 };
}
