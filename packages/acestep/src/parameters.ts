// The one table of the generation parameters' numbers (docs/model-rules.md,
// "Parameters"): for every numeric field of a request its kind, its range, the
// official default and what changes per DiT variant. The gateway validates and
// defaults with it, the stages check their own copies of a field against the
// same ranges, and the CLI's --help prints it. Every numeric field has an upper
// bound: an unbounded one is a way to make a stage slow (lm_top_k = 2^31 - 1
// made the LM 3.4x slower).
import {
  AUDIO_CODES_PER_SECOND,
  BPM_MAX,
  BPM_MIN,
  DURATION_MAX_SECONDS,
  DURATION_MIN_SECONDS,
  LATENT_FRAMES_PER_SECOND,
} from './constants.ts';
import type { DitVariant } from './vocab.ts';

/** What a DiT variant changes about one parameter. */
export interface VariantRule {
  /** The default when the request leaves the field unset. */
  readonly default?: number;
  /** A tighter upper bound than the table's. */
  readonly max?: number;
  /** The value the variant always runs, whatever the request says (turbo's fixed 8-step table). */
  readonly fixed?: number;
  /** Why the variant does not use the field at all (said back to the caller as a note). */
  readonly ignored?: string;
}

export interface ParameterRule {
  readonly kind: 'integer' | 'number';
  readonly min: number;
  readonly max: number;
  /** The official default; null = auto (left to the LM or to the source audio). */
  readonly default: number | null;
  /** Values with a meaning of their own, said in the help text ("0 = off"). */
  readonly note?: string;
  readonly byVariant?: Readonly<Partial<Record<DitVariant, VariantRule>>>;
}

/** Turbo DiTs run a fixed table of this many steps; base and sft take 1..200. */
export const TURBO_STEPS = 8;
export const BASE_MAX_STEPS = 200;
/** Base and sft default to 32 steps (the official UI's default) when the request leaves them unset. */
export const BASE_DEFAULT_STEPS = 32;
/** Items of one request, and LM sequences of one call. */
export const MAX_BATCH = 8;
/**
 * top-k beyond a few hundred keeps nearly the whole distribution while every
 * token costs a selection over that many logits; 1000 keeps the cost bounded.
 */
export const LM_TOP_K_MAX = 1000;
/** repaint_crossfade_frames: at most 10 s of latent frames. */
export const MAX_CROSSFADE_FRAMES = 10 * LATENT_FRAMES_PER_SECOND;

const NO_CFG = 'the turbo DiT runs without classifier-free guidance';

export const PARAMETERS = {
  bpm: { kind: 'integer', min: BPM_MIN, max: BPM_MAX, default: null },
  audio_duration: { kind: 'number', min: DURATION_MIN_SECONDS, max: DURATION_MAX_SECONDS, default: null },
  inference_steps: {
    kind: 'integer',
    min: 1,
    max: BASE_MAX_STEPS,
    default: TURBO_STEPS,
    byVariant: {
      turbo: { default: TURBO_STEPS, max: TURBO_STEPS, fixed: TURBO_STEPS },
      base: { default: BASE_DEFAULT_STEPS },
      sft: { default: BASE_DEFAULT_STEPS },
    },
  },
  guidance_scale: { kind: 'number', min: 1, max: 15, default: 7, byVariant: { turbo: { ignored: NO_CFG } } },
  batch_size: { kind: 'integer', min: 1, max: MAX_BATCH, default: 1 },
  cfg_interval_start: { kind: 'number', min: 0, max: 1, default: 0 },
  cfg_interval_end: { kind: 'number', min: 0, max: 1, default: 1 },
  repainting_start: { kind: 'number', min: 0, max: DURATION_MAX_SECONDS, default: 0 },
  repainting_end: {
    kind: 'number',
    min: -1,
    max: DURATION_MAX_SECONDS,
    default: -1,
    note: '-1 = the end of the source',
  },
  audio_cover_strength: { kind: 'number', min: 0, max: 1, default: 1 },
  repaint_injection_ratio: { kind: 'number', min: 0, max: 1, default: 0.5 },
  repaint_crossfade_frames: { kind: 'integer', min: 0, max: MAX_CROSSFADE_FRAMES, default: 10 },
  lm_temperature: { kind: 'number', min: 0, max: 2, default: 0.85, note: '0 = greedy' },
  lm_cfg_scale: { kind: 'number', min: 1, max: 5, default: 2, note: '1 = off' },
  lm_top_k: { kind: 'integer', min: 0, max: LM_TOP_K_MAX, default: 0, note: '0 = off' },
  lm_top_p: { kind: 'number', min: 0, max: 1, default: 0.9, note: '1 = off' },
  lm_batch_chunk_size: { kind: 'integer', min: 1, max: MAX_BATCH, default: 4 },
} as const satisfies Record<string, ParameterRule>;

export type ParameterName = keyof typeof PARAMETERS;

/** Longest audio-code string: the longest song at 5 codes per second. */
export const MAX_CODES_PER_ITEM = DURATION_MAX_SECONDS * AUDIO_CODES_PER_SECOND;

function rule(name: ParameterName): ParameterRule {
  return PARAMETERS[name];
}

function variantRule(name: ParameterName, variant: DitVariant | undefined): VariantRule | undefined {
  return variant === undefined ? undefined : rule(name).byVariant?.[variant];
}

/** The upper bound of `name` on `variant`, within an optional deployment cap (`limit`). */
export function parameterMax(name: ParameterName, variant?: DitVariant, limit = Infinity): number {
  return Math.min(variantRule(name, variant)?.max ?? rule(name).max, limit);
}

/** The value an unset field takes on `variant` (null = auto). */
export function parameterDefault(name: ParameterName, variant?: DitVariant): number | null {
  return variantRule(name, variant)?.default ?? rule(name).default;
}

/** The value `variant` runs whatever the request says, if it has one. */
export function fixedValue(name: ParameterName, variant: DitVariant): number | undefined {
  return variantRule(name, variant)?.fixed;
}

/** Why `variant` ignores `name`, or undefined when it uses it. */
export function ignoredReason(name: ParameterName, variant: DitVariant): string | undefined {
  return variantRule(name, variant)?.ignored;
}

/**
 * The allowed values as error messages and --help say them: "an integer from 1 to 8 on the
 * turbo DiT" (the variant is named only when it narrows the table's range).
 */
export function allowedText(name: ParameterName, variant?: DitVariant, limit = Infinity): string {
  const r = rule(name);
  const max = parameterMax(name, variant, limit);
  const on = variantRule(name, variant)?.max !== undefined ? ` on the ${variant} DiT` : '';
  const note = r.note ? ` (${r.note})` : '';
  return `${r.kind === 'integer' ? 'an integer' : 'a number'} from ${r.min} to ${max}${on}${note}`;
}

/** Whether `value` is allowed for `name` on `variant` (within `limit`). */
export function inRange(name: ParameterName, value: number, variant?: DitVariant, limit = Infinity): boolean {
  const r = rule(name);
  if (!Number.isFinite(value) || (r.kind === 'integer' && !Number.isInteger(value))) return false;
  return value >= r.min && value <= parameterMax(name, variant, limit);
}

/** The error text for a value out of range, naming `field` (default: the parameter); null when allowed. */
export function parameterProblem(
  name: ParameterName,
  value: number,
  opts: { variant?: DitVariant; limit?: number; field?: string } = {},
): string | null {
  if (inRange(name, value, opts.variant, opts.limit)) return null;
  return `${opts.field ?? name} must be ${allowedText(name, opts.variant, opts.limit)}, got ${value}`;
}

/** The default as help text says it: "8 on turbo, 32 on base and sft", "0.85", "auto". */
export function defaultText(name: ParameterName): string {
  const r = rule(name);
  const variants = Object.entries(r.byVariant ?? {}).filter(([, v]) => v.default !== undefined);
  if (variants.length === 0) return r.default === null ? 'auto' : String(r.default);
  const byValue = new Map<number, string[]>();
  for (const [variant, v] of variants) byValue.set(v.default!, [...(byValue.get(v.default!) ?? []), variant]);
  return [...byValue].map(([value, names]) => `${value} on ${names.join(' and ')}`).join(', ');
}

/** The range as help text says it: "1..200 (turbo: 1..8)", "0..1000 (0 = off)". */
export function rangeText(name: ParameterName): string {
  const r = rule(name);
  const narrower = Object.entries(r.byVariant ?? {}).filter(([, v]) => v.max !== undefined);
  const perVariant = narrower.map(([variant, v]) => `${variant}: ${r.min}..${v.max}`);
  const notes = [...perVariant, ...(r.note ? [r.note] : [])];
  return `${r.min}..${r.max}${notes.length > 0 ? ` (${notes.join('; ')})` : ''}`;
}
