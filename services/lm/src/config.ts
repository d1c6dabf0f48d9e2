// The LM service's own options on top of the common ones.
import { intOption, type OptionTable, type ServiceConfig } from '@acestep/runtime';

export interface LmExtraConfig {
  /** Caption cap of the constrained decoder (the caption ends at the next line break after it). */
  maxCaptionTokens: number;
  /** Cap on the lyrics written after `</think>` by UnderstandAudio, FormatSample and CreateSample. */
  maxLyricsTokens: number;
}

export type LmConfig = ServiceConfig & LmExtraConfig;

export const LM_OPTIONS: OptionTable<LmExtraConfig> = {
  maxCaptionTokens: intOption('max-caption-tokens', 'caption cap of the constrained decoder', 1, 4096),
  maxLyricsTokens: intOption('max-lyrics-tokens', 'lyrics cap of understand/format/create', 1, 4096),
};

export function lmDefaults(base: ServiceConfig): LmConfig {
  return { ...base, maxCaptionTokens: 512, maxLyricsTokens: 2048 };
}
