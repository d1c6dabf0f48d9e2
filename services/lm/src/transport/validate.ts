// Checks of LM requests before any work is admitted. Every error is INVALID_ARGUMENT naming the
// field (`sequences[2].user_metadata.bpm`) and what is allowed. Proto3 scalars cannot say "unset",
// so a 0 sampling value means the default (see README).
import {
  AUDIO_CODE_COUNT,
  isValidSeed,
  MAX_AUDIO_CODES,
  PARAMETERS,
  type ParameterName,
  SEED_ALLOWED,
  useSeed,
} from '@acestep/acestep';
import type {
  CreateSampleRequest,
  FormatSampleRequest,
  GenerateRequest,
  LmMetadata,
  SamplingParams,
  UnderstandAudioRequest,
} from '@acestep/proto/lm';
import { Code, ConnectError } from '@connectrpc/connect';
import {
  BPM_MAX,
  BPM_MIN,
  DEFAULT_DECODE_PARAMS,
  DEFAULT_LM_NEGATIVE_PROMPT,
  type DecodeParams,
  DURATION_MAX,
  DURATION_MIN,
  type UserMetadata,
  VALID_KEYSCALES,
  VALID_LANGUAGES,
  VALID_TIME_SIGNATURES,
} from '../core/index.ts';
import type { CreateJob, FormatJob, GenerateJob, UnderstandJob } from '../model/protocol.ts';

export const DEFAULT_CODES_CHUNK = 16;
export const MAX_CODES_CHUNK = 256;
/** Understand takes at most the codes of the longest song (600 s at 5 Hz). */
export const MAX_UNDERSTAND_CODES = MAX_AUDIO_CODES;

function invalid(message: string): ConnectError {
  return new ConnectError(message, Code.InvalidArgument);
}

function inRange(field: string, value: number, lo: number, hi: number, note = ''): void {
  if (!(value >= lo && value <= hi)) throw invalid(`${field} must be in ${lo}..${hi}${note}, got ${value}`);
}

/** A sampling value against the range of its public field in the parameter table (lm_top_k, ...). */
function inTable(field: string, name: ParameterName, value: number, note: string): void {
  inRange(field, value, PARAMETERS[name].min, PARAMETERS[name].max, note);
}

function oneOf(field: string, value: string, allowed: readonly string[], describe: string): void {
  if (!allowed.includes(value)) throw invalid(`${field} must be ${describe}, got "${value}"`);
}

/** Sampling with unset fields replaced by defaults; `cfgDefault` differs for the single-turn calls. */
export function validateSampling(
  s: SamplingParams | undefined,
  cfgDefault = DEFAULT_DECODE_PARAMS.cfgScale,
): { params: DecodeParams; negativePrompt: string } {
  const d = DEFAULT_DECODE_PARAMS;
  if (!s) return { params: { ...d, cfgScale: cfgDefault }, negativePrompt: DEFAULT_LM_NEGATIVE_PROMPT };
  const topP = s.topP ?? d.topP!;
  inTable('sampling.top_p', 'lm_top_p', topP, ' (unset = 0.9; 1 disables top-p, 0 keeps only the top token)');
  // top_p 0 keeps only the most likely token: greedy decoding.
  const temperature = topP === 0 ? 0 : (s.temperature ?? d.temperature);
  inTable(
    'sampling.temperature',
    'lm_temperature',
    s.temperature ?? d.temperature,
    ' (unset = 0.85; 0 = greedy)',
  );
  const cfgScale = s.cfgScale ?? cfgDefault;
  inTable('sampling.cfg_scale', 'lm_cfg_scale', cfgScale, ` (unset = ${cfgDefault}; 1 disables CFG)`);
  inTable('sampling.top_k', 'lm_top_k', s.topK, ' (0 disables top-k)');
  const repetitionPenalty = s.repetitionPenalty ?? 1;
  if (!(repetitionPenalty > 0 && Number.isFinite(repetitionPenalty))) {
    throw invalid(`sampling.repetition_penalty must be > 0 (unset = 1.0, off), got ${repetitionPenalty}`);
  }
  return {
    params: {
      temperature,
      cfgScale,
      topK: s.topK,
      topP: topP > 0 && topP < 1 ? topP : undefined,
      repetitionPenalty,
    },
    negativePrompt: s.negativePrompt || DEFAULT_LM_NEGATIVE_PROMPT,
  };
}

const TIME_SIGNATURES = VALID_TIME_SIGNATURES.flatMap((n) => [n, `${n}/4`]);

/** User metadata → the core's UserMetadata (values forced verbatim); caption is not a metadata input. */
export function validateUserMetadata(prefix: string, m: LmMetadata | undefined): UserMetadata {
  const out: UserMetadata = {};
  if (!m) return out;
  if (m.bpm !== undefined) {
    inRange(`${prefix}.bpm`, m.bpm, BPM_MIN, BPM_MAX);
    out.bpm = m.bpm;
  }
  if (m.duration !== undefined) {
    inRange(`${prefix}.duration`, m.duration, DURATION_MIN, DURATION_MAX, ' seconds');
    out.duration = Math.trunc(m.duration);
  }
  const keyscale = m.keyscale.trim();
  if (keyscale) {
    oneOf(
      `${prefix}.keyscale`,
      keyscale,
      VALID_KEYSCALES,
      'a note A-G, an optional #, b, ♯ or ♭, then "major" or "minor" (e.g. "F# minor")',
    );
    out.keyscale = keyscale;
  }
  const ts = m.timesignature.trim();
  if (ts) {
    oneOf(`${prefix}.timesignature`, ts, TIME_SIGNATURES, `one of ${TIME_SIGNATURES.join(', ')}`);
    out.timesignature = ts;
  }
  const language = m.language.trim();
  if (language) {
    oneOf(`${prefix}.language`, language, VALID_LANGUAGES, `a language code (${VALID_LANGUAGES.join(', ')})`);
    out.language = language;
  }
  return out;
}

/** The seed used: the given one, or a drawn one for -1 (the shared seed rule of @acestep/acestep). */
export function resolveSeed(field: string, seed: bigint): bigint {
  if (!isValidSeed(seed)) throw invalid(`${field} must be ${SEED_ALLOWED}, got ${seed}`);
  return useSeed(seed);
}

export function validateGenerate(req: GenerateRequest, maxBatch: number): GenerateJob {
  const n = req.sequences.length;
  if (n < 1 || n > maxBatch) {
    throw invalid(
      `sequences must hold 1..${maxBatch} sequences (the gateway splits by lm_batch_chunk_size), got ${n}`,
    );
  }
  const { params, negativePrompt } = validateSampling(req.sampling);
  const chunk = req.codesChunkSize || DEFAULT_CODES_CHUNK;
  inRange('codes_chunk_size', chunk, 1, MAX_CODES_CHUNK, ` (0 = ${DEFAULT_CODES_CHUNK})`);
  return {
    kind: 'generate',
    sequences: req.sequences.map((s, i) => ({
      caption: s.caption,
      lyrics: s.lyrics,
      userMetadata: validateUserMetadata(`sequences[${i}].user_metadata`, s.userMetadata),
      seed: resolveSeed(`sequences[${i}].seed`, s.seed),
      durationSeconds: s.userMetadata?.duration,
    })),
    params,
    negativePrompt,
    generateAudioCodes: req.generateAudioCodes,
    useCotMetas: req.useCotMetas,
    useCotCaption: req.useCotCaption,
    useCotLanguage: req.useCotLanguage,
    codesChunkSize: chunk,
  };
}

export function validateUnderstand(req: UnderstandAudioRequest): UnderstandJob {
  if (req.audioCodes.length > MAX_UNDERSTAND_CODES) {
    throw invalid(
      `audio_codes may hold at most ${MAX_UNDERSTAND_CODES} codes (the longest song at 5 Hz), got ${req.audioCodes.length}`,
    );
  }
  const bad = req.audioCodes.findIndex((c) => c < 0 || c >= AUDIO_CODE_COUNT);
  if (bad >= 0)
    throw invalid(`audio_codes[${bad}] must be in 0..${AUDIO_CODE_COUNT - 1}, got ${req.audioCodes[bad]}`);
  // The single-turn LM calls run without CFG upstream (docs/official-behaviour.md); cfg_scale > 1 turns it on.
  const { params, negativePrompt } = validateSampling(req.sampling, 1);
  return {
    kind: 'understand',
    audioCodes: req.audioCodes,
    params,
    negativePrompt,
    seed: resolveSeed('seed', req.seed),
  };
}

export function validateFormat(req: FormatSampleRequest): FormatJob {
  const { params, negativePrompt } = validateSampling(req.sampling, 1);
  return {
    kind: 'format',
    caption: req.caption,
    lyrics: req.lyrics,
    userMetadata: validateUserMetadata('user_metadata', req.userMetadata),
    params,
    negativePrompt,
    seed: resolveSeed('seed', req.seed),
  };
}

export function validateCreate(req: CreateSampleRequest): CreateJob {
  const language = req.vocalLanguage.trim();
  if (language)
    oneOf('vocal_language', language, VALID_LANGUAGES, `a language code (${VALID_LANGUAGES.join(', ')})`);
  const { params, negativePrompt } = validateSampling(req.sampling, 1);
  return {
    kind: 'create',
    query: req.query,
    instrumental: req.instrumental,
    vocalLanguage: language,
    params,
    negativePrompt,
    seed: resolveSeed('seed', req.seed),
  };
}
