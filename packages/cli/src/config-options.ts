// Every GenerationConfig field as a command-line option, named as in the spec
// (snake_case), with the default it has when left unset (the proto comments of
// proto/acestep/v1/generation.proto, in the user's words). Boolean fields are
// switches (--use_llm_thinking, --no-use_cot_caption); the others take a value.
// Numeric fields take their default and range from the parameter table of
// @acestep/acestep, so --help says what the gateway enforces.
import {
  AUDIO_FORMATS,
  DEFAULT_AUDIO_FORMAT,
  defaultText,
  PARAMETERS,
  type ParameterName,
  rangeText,
  SOURCE_AUDIO_TASKS,
  TASK_NAMES,
  TIME_SIGNATURES,
} from '@acestep/acestep';
import { GenerationConfigSchema } from '@acestep/proto/gateway';
import type { OptionSpec } from './args.ts';

/** Default and value placeholder of each field, as --help shows them. */
const FIELD_HELP: Record<string, { default: string; value?: string; describe: string }> = {
  caption: { default: '', value: 'TEXT', describe: 'text description of the music' },
  lyrics: {
    default: '',
    value: 'TEXT',
    describe: 'lyrics with section tags ([verse], [chorus]); "[Instrumental]"',
  },
  bpm: { default: 'auto', value: 'N', describe: 'beats per minute' },
  key_scale: { default: 'auto', value: 'KEY', describe: 'musical key, e.g. "C Major", "F# minor"' },
  time_signature: { default: 'auto', value: 'SIG', describe: TIME_SIGNATURES.join(', ') },
  vocal_language: { default: 'unknown', value: 'LANG', describe: 'ISO 639-1 code or "unknown"' },
  audio_duration: { default: 'auto', value: 'SECONDS', describe: 'length in seconds' },
  inference_steps: { default: '8', value: 'N', describe: 'denoising steps (turbo always runs 8)' },
  guidance_scale: { default: '7.0', value: 'X', describe: 'CFG scale (base/sft only)' },
  use_random_seed: { default: 'true', describe: 'random seed per item (--no-use_random_seed to use --seed)' },
  seed: { default: '-1', value: 'N', describe: 'seed when use_random_seed is false; -1 = random' },
  batch_size: { default: '1', value: 'N', describe: 'items generated' },
  use_adg: { default: 'false', describe: 'adaptive dual guidance (base model only)' },
  cfg_interval_start: { default: '0.0', value: 'X', describe: 'fraction of the schedule where CFG starts' },
  cfg_interval_end: { default: '1.0', value: 'X', describe: 'fraction of the schedule where CFG ends' },
  audio_format: { default: DEFAULT_AUDIO_FORMAT, value: 'FMT', describe: AUDIO_FORMATS.join(', ') },
  task_type: { default: TASK_NAMES[0], value: 'TASK', describe: TASK_NAMES.join(', ') },
  reference_audio: { default: '', value: 'FILE', describe: 'reference audio file for timbre/style' },
  src_audio: {
    default: '',
    value: 'FILE',
    describe: `source audio file (${[...SOURCE_AUDIO_TASKS].join(', ')})`,
  },
  audio_code_string: { default: '', value: 'CODES', describe: 'pre-extracted 5 Hz audio codes' },
  repainting_start: { default: '0.0', value: 'SECONDS', describe: 'start of the repainted range' },
  repainting_end: { default: '-1 (end)', value: 'SECONDS', describe: 'end of the repainted range' },
  audio_cover_strength: { default: '1.0', value: 'X', describe: 'influence of the source audio' },
  repaint_injection_ratio: {
    default: '0.5',
    value: 'X',
    describe: 'repaint/lego: share of the steps after which the source is re-injected',
  },
  repaint_crossfade_frames: {
    default: '10',
    value: 'N',
    describe: 'repaint/lego: latent frames (25/s) crossfaded at each edge of the range',
  },
  instruction: { default: "the task's", value: 'TEXT', describe: 'task instruction' },
  use_llm_thinking: { default: 'false', describe: 'run the 5 Hz LM (metadata and/or audio codes)' },
  lm_temperature: { default: '0.85', value: 'X', describe: 'LM temperature' },
  lm_cfg_scale: { default: '2.0', value: 'X', describe: 'LM CFG scale' },
  lm_top_k: { default: '0 (off)', value: 'N', describe: 'LM top-k' },
  lm_top_p: { default: '0.9', value: 'X', describe: 'LM top-p' },
  lm_negative_prompt: { default: 'NO USER INPUT', value: 'TEXT', describe: 'LM negative prompt' },
  use_cot_metas: { default: 'true', describe: 'LM writes the metadata' },
  use_cot_caption: { default: 'true', describe: 'LM rewrites the caption' },
  use_cot_language: { default: 'true', describe: 'LM picks the vocal language' },
  is_format_caption: { default: 'false', describe: 'caption is already formatted' },
  constrained_decoding_debug: { default: 'false', describe: 'log constrained-decoding decisions' },
  allow_lm_batch: { default: 'false', describe: 'batch the LM code generation' },
  lm_batch_chunk_size: {
    default: '4',
    value: 'N',
    describe: "sequences per LM call (at most the LM's --max-batch)",
  },
};

const BOOL_SCALAR = 8;

/** GenerationConfig fields without a FIELD_HELP entry (a unit test keeps this empty). */
export function fieldsWithoutHelp(): string[] {
  return GenerationConfigSchema.fields.map((f) => f.name).filter((name) => !FIELD_HELP[name]);
}

/** Option specs of every GenerationConfig field, in proto order. */
export function configOptions(): Record<string, OptionSpec> {
  const options: Record<string, OptionSpec> = {};
  for (const field of GenerationConfigSchema.fields) {
    // A field added to the proto works as a flag before its help text is written.
    const help = FIELD_HELP[field.name] ?? {
      default: 'see proto/acestep/v1/generation.proto',
      value: 'VALUE',
      describe: field.name,
    };
    const isBool = field.fieldKind === 'scalar' && field.scalar === BOOL_SCALAR;
    const numeric = field.name in PARAMETERS ? (field.name as ParameterName) : undefined;
    options[field.name] = {
      type: isBool ? 'boolean' : 'string',
      describe: numeric ? `${help.describe}, ${rangeText(numeric)}` : help.describe,
      default: numeric ? defaultText(numeric) : help.default,
      ...(help.value ? { value: help.value } : {}),
    };
  }
  return options;
}

/** The config fields the user set, as the flag map buildGenerationConfig reads. */
export function configFlags(values: Record<string, string | boolean | undefined>): Map<string, string> {
  const flags = new Map<string, string>();
  for (const field of GenerationConfigSchema.fields) {
    const value = values[field.name];
    if (value !== undefined) flags.set(field.name, String(value));
  }
  return flags;
}
