// The official REST server's request parameters (POST /release_task) mapped
// onto our GenerationConfig. Names and aliases are the official ones; the
// field table below is the one place that says which we take, what each
// becomes, and which we refuse. docs/rest-compat.md lists the same table for
// humans. Values are parsed strictly: a bad number or boolean is a 400 naming
// the parameter (the official server silently falls back to the default).
import type { JsonObject, JsonValue } from '@bufbuild/protobuf';
import { Code, ConnectError } from '@connectrpc/connect';

type Kind = 'string' | 'int' | 'float' | 'bool';

interface Param {
  /** Our GenerationConfig field (spec name). */
  field: string;
  kind: Kind;
  aliases?: readonly string[];
}

/** Official parameters we serve, by official name. */
export const PARAMS: Record<string, Param> = {
  prompt: { field: 'caption', kind: 'string', aliases: ['caption'] },
  lyrics: { field: 'lyrics', kind: 'string' },
  thinking: { field: 'use_llm_thinking', kind: 'bool' },
  bpm: { field: 'bpm', kind: 'int' },
  key_scale: { field: 'key_scale', kind: 'string', aliases: ['keyscale', 'keyScale', 'key'] },
  time_signature: { field: 'time_signature', kind: 'string', aliases: ['timesignature', 'timeSignature'] },
  audio_duration: {
    field: 'audio_duration',
    kind: 'float',
    aliases: ['duration', 'audioDuration', 'target_duration', 'targetDuration'],
  },
  vocal_language: { field: 'vocal_language', kind: 'string', aliases: ['vocalLanguage', 'language'] },
  inference_steps: { field: 'inference_steps', kind: 'int' },
  guidance_scale: { field: 'guidance_scale', kind: 'float' },
  use_random_seed: { field: 'use_random_seed', kind: 'bool' },
  seed: { field: 'seed', kind: 'int' },
  batch_size: { field: 'batch_size', kind: 'int' },
  repainting_start: { field: 'repainting_start', kind: 'float' },
  repainting_end: { field: 'repainting_end', kind: 'float' },
  instruction: { field: 'instruction', kind: 'string' },
  audio_cover_strength: { field: 'audio_cover_strength', kind: 'float' },
  task_type: { field: 'task_type', kind: 'string' },
  use_adg: { field: 'use_adg', kind: 'bool' },
  cfg_interval_start: { field: 'cfg_interval_start', kind: 'float' },
  cfg_interval_end: { field: 'cfg_interval_end', kind: 'float' },
  audio_format: { field: 'audio_format', kind: 'string' },
  lm_temperature: { field: 'lm_temperature', kind: 'float' },
  lm_cfg_scale: { field: 'lm_cfg_scale', kind: 'float' },
  lm_top_k: { field: 'lm_top_k', kind: 'int' },
  lm_top_p: { field: 'lm_top_p', kind: 'float' },
  lm_negative_prompt: { field: 'lm_negative_prompt', kind: 'string' },
  constrained_decoding_debug: { field: 'constrained_decoding_debug', kind: 'bool' },
  use_cot_caption: { field: 'use_cot_caption', kind: 'bool', aliases: ['cot_caption', 'cot-caption'] },
  use_cot_language: { field: 'use_cot_language', kind: 'bool', aliases: ['cot_language', 'cot-language'] },
  use_cot_metas: { field: 'use_cot_metas', kind: 'bool' },
  is_format_caption: { field: 'is_format_caption', kind: 'bool', aliases: ['isFormatCaption'] },
  allow_lm_batch: { field: 'allow_lm_batch', kind: 'bool', aliases: ['allowLmBatch', 'parallel_thinking'] },
  lm_batch_chunk_size: { field: 'lm_batch_chunk_size', kind: 'int' },
  audio_code_string: { field: 'audio_code_string', kind: 'string' },
};

/** Official parameters accepted only at the value where they change nothing here. */
const NEUTRAL: Record<string, { kind: Kind; value: string | number | boolean; why: string }> = {
  infer_method: { kind: 'string', value: 'ode', why: 'only the ODE sampler of the request path is served' },
  use_tiled_decode: { kind: 'bool', value: true, why: 'decoding is always tiled' },
  constrained_decoding: { kind: 'bool', value: true, why: 'constrained decoding is always on' },
  lm_repetition_penalty: { kind: 'float', value: 1, why: 'the official server ignores it too' },
};

/** Official parameters we do not serve, and why (each answers 400). */
export const UNSUPPORTED: Record<string, string> = {
  sample_mode: 'simple/sample mode is not served; call POST /create_random_sample, then release the task',
  sample_query: 'sample queries are not served; call POST /create_random_sample, then release the task',
  use_format: 'call POST /format_input first and send its caption and lyrics',
  model: 'one DiT model per gateway; GET /v1/models names it',
  analysis_only: 'analysis-only tasks are not served',
  full_analysis_only: 'analysis-only tasks are not served',
  shift: 'the schedule shift is fixed by the model set (its manifest)',
  timesteps: 'custom timesteps are not served',
  lm_model_path: 'the LM is chosen by the deployment, not per request',
  lm_backend: 'the LM is chosen by the deployment, not per request',
  reference_audio_path: 'server file paths are not accepted: upload the file (multipart reference_audio)',
  src_audio_path: 'server file paths are not accepted: upload the file (multipart src_audio)',
  track_name: 'send the instruction text instead',
  track_classes: 'send the instruction text instead',
};

const UNSUPPORTED_ALIASES: Record<string, string> = {
  sampleMode: 'sample_mode',
  sampleQuery: 'sample_query',
  description: 'sample_query',
  desc: 'sample_query',
  useFormat: 'use_format',
  format: 'use_format',
  model_name: 'model',
  modelName: 'model',
  dit_model: 'model',
  ditModel: 'model',
  ref_audio_path: 'reference_audio_path',
  ctx_audio_path: 'src_audio_path',
  trackName: 'track_name',
  trackClasses: 'track_classes',
  instruments: 'track_classes',
  constrainedDecoding: 'constrained_decoding',
  constrained: 'constrained_decoding',
};

/** Keys that carry nested parameters (object or JSON string), looked up after the top level. */
const NESTED = ['param_obj', 'metas', 'meta', 'metadata', 'user_metadata', 'userMetadata'];
/** Keys handled elsewhere: auth and multipart files. */
const OTHER = new Set(['ai_token', 'src_audio', 'ctx_audio', 'reference_audio', 'ref_audio']);

const BY_NAME = new Map<string, string>();
for (const [name, param] of Object.entries(PARAMS)) {
  BY_NAME.set(name, name);
  for (const alias of param.aliases ?? []) BY_NAME.set(alias, name);
}

export function badParam(message: string): ConnectError {
  return new ConnectError(message, Code.InvalidArgument);
}

function parseValue(name: string, kind: Kind, raw: JsonValue): JsonValue {
  if (raw === null) return null;
  if (kind === 'string') {
    if (typeof raw === 'string') return raw;
    if (typeof raw === 'number' || typeof raw === 'boolean') return String(raw);
    throw badParam(`${name}: expected a string`);
  }
  if (kind === 'bool') {
    if (typeof raw === 'boolean') return raw;
    const text = String(raw).trim().toLowerCase();
    if (['1', 'true', 'yes', 'y', 'on'].includes(text)) return true;
    if (['0', 'false', 'no', 'n', 'off'].includes(text)) return false;
    throw badParam(`${name}: ${JSON.stringify(raw)} is not a boolean (true/false, 1/0, yes/no, on/off)`);
  }
  const n =
    typeof raw === 'number' ? raw : typeof raw === 'string' && raw.trim() !== '' ? Number(raw) : Number.NaN;
  if (!Number.isFinite(n) || (kind === 'int' && !Number.isInteger(n))) {
    throw badParam(`${name}: ${JSON.stringify(raw)} is not ${kind === 'int' ? 'an integer' : 'a number'}`);
  }
  return n;
}

function nestedObject(key: string, value: JsonValue): JsonObject {
  if (typeof value === 'string') {
    try {
      value = JSON.parse(value) as JsonValue;
    } catch {
      throw badParam(`${key}: not valid JSON`);
    }
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value))
    throw badParam(`${key}: expected a JSON object`);
  return value;
}

/**
 * GenerationConfig JSON (spec names) from an official request body: top level
 * first, then param_obj, then metas/metadata/... (the official lookup order).
 * Unknown and unsupported parameters are 400s naming them.
 */
export function configFromOfficial(body: JsonObject): JsonObject {
  const config: JsonObject = {};
  const layers: [string, JsonObject][] = [['', body]];
  for (const key of NESTED)
    if (body[key] !== undefined && body[key] !== null) layers.push([key, nestedObject(key, body[key])]);
  for (const [prefix, layer] of layers) {
    for (const [key, raw] of Object.entries(layer)) {
      if (prefix === '' && (NESTED.includes(key) || OTHER.has(key))) continue;
      const at = prefix ? `${prefix}.${key}` : key;
      const official = BY_NAME.get(key);
      if (official) {
        const param = PARAMS[official]!;
        if (param.field in config) continue; // an earlier layer (or name) already set it
        const value = parseValue(at, param.kind, raw);
        if (value === null) continue;
        config[param.field] = param.field === 'audio_code_string' ? [value] : value;
        continue;
      }
      const neutral = NEUTRAL[key];
      if (neutral) {
        if (raw === null || parseValue(at, neutral.kind, raw) === neutral.value) continue;
        throw badParam(`${at}: only ${JSON.stringify(neutral.value)} is accepted (${neutral.why})`);
      }
      const unsupported = UNSUPPORTED[UNSUPPORTED_ALIASES[key] ?? key];
      if (unsupported) throw badParam(`${at} is not supported by this server: ${unsupported}`);
      throw badParam(
        `unknown parameter "${at}"; accepted: ${[...BY_NAME.keys()].join(', ')} (see docs/rest-compat.md)`,
      );
    }
  }
  return config;
}

/** Official defaults that differ from our GenerationConfig's, applied when the request leaves them unset. */
export const OFFICIAL_DEFAULTS: JsonObject = { batch_size: 2, lm_cfg_scale: 2.5 };
