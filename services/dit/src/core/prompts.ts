/**
 * Text given to the condition encoders (docs/official-behaviour.md "DiT prompts"), byte-exact with upstream's
 * `SFT_GEN_PROMPT`, `_build_metadata_dict` + `_dict_to_meta_string` and `_format_lyrics`.
 * Tokenisation (bundled tokenizer.json, max 256 / 2048 tokens) happens elsewhere.
 */

import { TASK_INSTRUCTIONS, VOCAL_LANGUAGES } from '@acestep/acestep';
import { invalid } from './errors.ts';

export { VOCAL_LANGUAGES };
export const DEFAULT_DIT_INSTRUCTION = TASK_INSTRUCTIONS.text2music;
export const END_OF_TEXT = '<|endoftext|>';

/** A language code of the model's vocabulary (@acestep/acestep). */
export type VocalLanguage = string;

export interface Metas {
  /** Rendered verbatim; missing, empty or 0 → `N/A` (upstream tests truthiness). */
  bpm?: number | string | null;
  /** e.g. `4` or `4/4`, verbatim; empty/blank or `N/A` → `N/A`. */
  timeSignature?: string | null;
  /** e.g. `C Major`, verbatim (not trimmed); empty/blank → `N/A`. */
  keyScale?: string | null;
  /** Seconds, rendered as `int(duration)`; missing → `30 seconds` (upstream default). */
  durationSeconds?: number | null;
}

/** Upstream forces the instruction to end with a colon. */
export function formatInstruction(instruction: string): string {
  return instruction.endsWith(':') ? instruction : `${instruction}:`;
}

function blank(value: string | null | undefined): boolean {
  return value === undefined || value === null || value.trim() === '';
}

/** The four `- key: value` lines, each ending in a newline. */
export function metasString(metas: Metas): string {
  const bpm =
    metas.bpm === undefined || metas.bpm === null || metas.bpm === '' || metas.bpm === 0 ? 'N/A' : metas.bpm;
  const keyScale = blank(metas.keyScale) ? 'N/A' : metas.keyScale;
  const ts = metas.timeSignature;
  const timeSignature = blank(ts) || ts === 'N/A' ? 'N/A' : ts;
  const duration =
    metas.durationSeconds === undefined || metas.durationSeconds === null
      ? 30
      : Math.trunc(metas.durationSeconds);
  return (
    `- bpm: ${String(bpm)}\n` +
    `- timesignature: ${timeSignature}\n` +
    `- keyscale: ${keyScale}\n` +
    `- duration: ${duration} seconds\n`
  );
}

export interface CaptionPromptInput {
  instruction: string;
  caption: string;
  metas: Metas;
}

/** `# Instruction\n{instruction}\n\n# Caption\n{caption}\n\n# Metas\n{metas}<|endoftext|>\n`. */
export function captionPrompt(input: CaptionPromptInput): string {
  const instruction = formatInstruction(input.instruction);
  const caption = extractCaptionFromSftFormat(input.caption);
  return `# Instruction\n${instruction}\n\n# Caption\n${caption}\n\n# Metas\n${metasString(input.metas)}${END_OF_TEXT}\n`;
}

export interface LyricPromptInput {
  language: string;
  lyrics: string;
}

/** `# Languages\n{language}\n\n# Lyric\n{lyrics}<|endoftext|>` (no trailing newline). */
export function lyricPrompt(input: LyricPromptInput): string {
  return `# Languages\n${input.language}\n\n# Lyric\n${input.lyrics}${END_OF_TEXT}`;
}

/**
 * If a caption is itself a full caption prompt (contains `# Instruction` and `# Caption`), keep
 * only the text between `# Caption` and `# Metas`, trimmed — as upstream does before templating.
 */
export function extractCaptionFromSftFormat(caption: string): string {
  if (!caption.includes('# Instruction') || !caption.includes('# Caption')) return caption;
  const match = /#\s*Caption\s*\n([\s\S]*?)(?:\n\s*#\s*Metas|$)/.exec(caption);
  return match ? match[1]!.trim() : caption;
}

export function checkVocalLanguage(language: string | undefined): VocalLanguage {
  const value = language ?? 'unknown';
  if (!VOCAL_LANGUAGES.includes(value)) {
    throw invalid(
      'vocal_language',
      `must be one of ${VOCAL_LANGUAGES.join(', ')}; got ${JSON.stringify(value)}`,
    );
  }
  return value;
}
