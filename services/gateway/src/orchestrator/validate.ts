// GenerationConfig → ResolvedConfig: applies the spec's defaults and checks
// every value, collecting all problems before throwing one error that lists them.

import {
  AUDIO_CODES_PER_SECOND,
  AudioCodeSyntaxError,
  type AudioFormatName,
  BASE_ONLY_TASKS,
  canonicalKeyScale,
  canonicalTimeSignature,
  isInstrumental,
  isValidSeed,
  parseAudioCodes,
  SEED_ALLOWED,
  SOURCE_AUDIO_TASKS,
  TASK_INSTRUCTIONS,
  TASK_NAMES,
  type TaskName,
  VOCAL_LANGUAGES,
} from '@acestep/acestep';
import { AudioFormat, type AudioSource, type GenerationConfig, TaskType } from '@acestep/proto/gateway';
import type { AudioRef, Deployment, ResolvedConfig } from './types.ts';

export type ProblemCode = 'INVALID_ARGUMENT' | 'FAILED_PRECONDITION';

export interface ConfigProblem {
  /** The spec's snake_case field name. */
  field: string;
  code: ProblemCode;
  /** Text of the allowed range or values. */
  allowed: string;
  /** The value given, as text ("unset" when missing). */
  given: string;
  message: string;
}

/**
 * Every problem of one request. `field`, `code`, `allowed` are the main
 * problem's: the first INVALID_ARGUMENT one (the request itself is wrong), else
 * the first FAILED_PRECONDITION one (this deployment lacks what it needs).
 */
export class ConfigValidationError extends Error {
  readonly field: string;
  readonly code: ProblemCode;
  readonly allowed: string;
  readonly problems: readonly ConfigProblem[];

  constructor(problems: readonly ConfigProblem[]) {
    const main = problems.find((p) => p.code === 'INVALID_ARGUMENT') ?? problems[0];
    if (!main) throw new Error('ConfigValidationError needs at least one problem');
    super(problems.map((p) => p.message).join('; '));
    this.name = 'ConfigValidationError';
    this.field = main.field;
    this.code = main.code;
    this.allowed = main.allowed;
    this.problems = problems;
  }
}

/** The model's own limits (acestep-dit-vae.md §6.1, §8; inference-api.md). */
export const LIMITS = {
  bpm: [30, 300],
  audioDuration: [10, 600],
  inferenceSteps: { turbo: 8, base: 200, sft: 200 },
  guidanceScale: [1, 15],
  batchSize: 8,
  lmTemperature: [0, 2],
  lmCfgScale: [1, 5],
  lmBatchChunkSize: [1, 8],
} as const;

const TASK_BY_ENUM: Readonly<Record<number, TaskName>> = {
  [TaskType.UNSPECIFIED]: 'text2music',
  [TaskType.TEXT2MUSIC]: 'text2music',
  [TaskType.COVER]: 'cover',
  [TaskType.REPAINT]: 'repaint',
  [TaskType.LEGO]: 'lego',
  [TaskType.EXTRACT]: 'extract',
  [TaskType.COMPLETE]: 'complete',
};

const FORMAT_BY_ENUM: Readonly<Record<number, AudioFormatName>> = {
  [AudioFormat.UNSPECIFIED]: 'mp3',
  [AudioFormat.MP3]: 'mp3',
  [AudioFormat.WAV]: 'wav',
  [AudioFormat.FLAC]: 'flac',
};

/** Which of the request's inputs each task needs (inference-api.md "Required"). */
const REQUIRED: Readonly<Record<TaskName, readonly ('src_audio' | 'caption' | 'instruction')[]>> = {
  text2music: [],
  cover: ['src_audio', 'caption'],
  repaint: ['src_audio', 'caption'],
  lego: ['src_audio', 'instruction', 'caption'],
  extract: ['src_audio', 'instruction'],
  complete: ['src_audio', 'instruction', 'caption'],
};

/** Tasks that take audio codes: elsewhere codes would replace the source audio (dit-vae §5.4). */
const CODE_TASKS: ReadonlySet<TaskName> = new Set(['text2music', 'cover']);

/** A given value shown as is (a size or a count), not quoted like a string value. */
interface Raw {
  raw: string;
}

function describe(value: unknown): string {
  if (value === undefined) return 'unset';
  if (typeof value === 'object' && value !== null && 'raw' in value) return String((value as Raw).raw);
  if (typeof value === 'string') {
    const shown = value.length > 40 ? `${value.slice(0, 40)}…` : value;
    return JSON.stringify(shown);
  }
  return String(value);
}

class Problems {
  readonly list: ConfigProblem[] = [];

  add(field: string, given: unknown, allowed: string, opts: { code?: ProblemCode; why?: string } = {}): void {
    const givenText = describe(given);
    const why = opts.why ? ` (${opts.why})` : '';
    this.list.push({
      field,
      code: opts.code ?? 'INVALID_ARGUMENT',
      allowed,
      given: givenText,
      message: `${field}: ${givenText} is not allowed${why}; allowed: ${allowed}`,
    });
  }

  /** A number in [min, max] (integer when asked); returns whether it passed. */
  range(field: string, value: number, min: number, max: number, integer = false): boolean {
    const allowed = `${integer ? 'an integer' : 'a number'} from ${min} to ${max}`;
    const ok =
      Number.isFinite(value) && (!integer || Number.isInteger(value)) && value >= min && value <= max;
    if (!ok) this.add(field, value, allowed);
    return ok;
  }

  maxChars(field: string, value: string, max: number): void {
    const chars = [...value].length;
    if (chars > max) this.add(field, { raw: `${chars} characters` }, `at most ${max} characters`);
  }
}

function audioRef(source: AudioSource | undefined): AudioRef | null {
  const s = source?.source;
  if (s?.case === 'data' && s.value.length > 0) return { kind: 'data', data: s.value };
  if (s?.case === 'objectId' && s.value !== '') return { kind: 'object', objectId: s.value };
  return null;
}

/**
 * Applies the spec defaults to `config` and checks it against the spec's
 * ranges and this deployment. Throws ConfigValidationError listing every problem.
 */
export function resolveConfig(config: GenerationConfig, deployment: Deployment): ResolvedConfig {
  const problems = new Problems();
  const notes: string[] = [];
  const { limits, ditVariant } = deployment;

  const taskType = TASK_BY_ENUM[config.taskType];
  if (!taskType) problems.add('task_type', config.taskType, TASK_NAMES.join(', '));
  const task = taskType ?? 'text2music';

  // --- Text inputs ---
  problems.maxChars('caption', config.caption, limits.maxCaptionChars);
  problems.maxChars('lyrics', config.lyrics, limits.maxLyricsChars);

  // --- Music metadata ---
  const bpm = config.bpm ?? null;
  if (bpm !== null) problems.range('bpm', bpm, LIMITS.bpm[0], LIMITS.bpm[1], true);

  const keyScale = canonicalKeyScale(config.keyScale);
  if (keyScale === null) {
    problems.add(
      'key_scale',
      config.keyScale,
      'a note A-G, optionally #, b, ♯ or ♭, then major or minor (e.g. "C major", "F# minor", "Am"); "" = auto',
    );
  }
  const timeSignature = canonicalTimeSignature(config.timeSignature);
  if (timeSignature === null) {
    problems.add('time_signature', config.timeSignature, '"2/4", "3/4", "4/4", "6/8"; "" = auto');
  }
  const language = (config.vocalLanguage ?? '').trim().toLowerCase() || 'unknown';
  if (!VOCAL_LANGUAGES.includes(language)) {
    problems.add('vocal_language', config.vocalLanguage, `one of ${VOCAL_LANGUAGES.join(', ')}`);
  }
  const maxDuration = Math.min(LIMITS.audioDuration[1], limits.maxDurationSeconds);
  const audioDuration = config.audioDuration ?? null;
  if (audioDuration !== null)
    problems.range('audio_duration', audioDuration, LIMITS.audioDuration[0], maxDuration);

  // --- Generation parameters ---
  const inferenceSteps = config.inferenceSteps ?? 8;
  const maxSteps = LIMITS.inferenceSteps[ditVariant];
  if (!Number.isInteger(inferenceSteps) || inferenceSteps < 1 || inferenceSteps > maxSteps) {
    problems.add(
      'inference_steps',
      inferenceSteps,
      `an integer from 1 to ${maxSteps} on the ${ditVariant} DiT`,
    );
  }
  const guidanceScale = config.guidanceScale ?? 7.0;
  problems.range('guidance_scale', guidanceScale, LIMITS.guidanceScale[0], LIMITS.guidanceScale[1]);
  if (ditVariant === 'turbo' && config.guidanceScale !== undefined) {
    notes.push('guidance_scale is ignored: the turbo DiT runs without classifier-free guidance');
  }
  const useRandomSeed = config.useRandomSeed ?? true;
  const seed = config.seed ?? -1n;
  if (!isValidSeed(seed)) problems.add('seed', seed, SEED_ALLOWED);
  if (useRandomSeed && seed !== -1n) notes.push('seed is ignored because use_random_seed is true');
  const batchSize = config.batchSize ?? 1;
  problems.range('batch_size', batchSize, 1, Math.min(LIMITS.batchSize, deployment.maxBatch), true);

  // --- Advanced DiT parameters ---
  if (config.useAdg && ditVariant !== 'base') {
    notes.push(`use_adg is ignored: adaptive dual guidance needs the base DiT (this is ${ditVariant})`);
  }
  const cfgIntervalStart = config.cfgIntervalStart;
  const cfgIntervalEnd = config.cfgIntervalEnd ?? 1.0;
  const startOk = problems.range('cfg_interval_start', cfgIntervalStart, 0, 1);
  const endOk = problems.range('cfg_interval_end', cfgIntervalEnd, 0, 1);
  if (startOk && endOk && cfgIntervalEnd < cfgIntervalStart) {
    problems.add('cfg_interval_end', cfgIntervalEnd, `from cfg_interval_start (${cfgIntervalStart}) to 1`);
  }
  const audioFormat = FORMAT_BY_ENUM[config.audioFormat];
  if (!audioFormat) problems.add('audio_format', config.audioFormat, 'mp3, wav, flac');

  // --- Task-specific parameters ---
  const referenceAudio = audioRef(config.referenceAudio);
  const srcAudio = audioRef(config.srcAudio);
  const audioCodes = resolveAudioCodes(config.audioCodeString, batchSize, maxDuration, task, problems);
  const repaintingStart = config.repaintingStart;
  const repaintingEnd = config.repaintingEnd ?? -1;
  const repaintStartOk = Number.isFinite(repaintingStart) && repaintingStart >= 0;
  if (!repaintStartOk) problems.add('repainting_start', repaintingStart, 'a number of seconds ≥ 0');
  const repaintEndOk =
    repaintingEnd === -1 ||
    (Number.isFinite(repaintingEnd) && (!repaintStartOk || repaintingEnd > repaintingStart));
  if (!repaintEndOk) {
    problems.add(
      'repainting_end',
      repaintingEnd,
      `-1 (end of the source) or seconds > repainting_start (${repaintingStart})`,
    );
  }
  if (
    audioDuration !== null &&
    srcAudio !== null &&
    SOURCE_AUDIO_TASKS.has(task) &&
    audioCodes.length === 0
  ) {
    notes.push(`audio_duration is ignored: ${task} keeps the length of src_audio`);
  }
  const audioCoverStrength = config.audioCoverStrength ?? 1.0;
  problems.range('audio_cover_strength', audioCoverStrength, 0, 1);
  const repaintInjectionRatio = config.repaintInjectionRatio ?? 0.5;
  problems.range('repaint_injection_ratio', repaintInjectionRatio, 0, 1);
  const repaintCrossfadeFrames = config.repaintCrossfadeFrames ?? 10;
  problems.range('repaint_crossfade_frames', repaintCrossfadeFrames, 0, 250, true);
  problems.maxChars('instruction', config.instruction, limits.maxCaptionChars);

  // --- 5 Hz LM parameters ---
  const lmTemperature = config.lmTemperature ?? 0.85;
  problems.range('lm_temperature', lmTemperature, LIMITS.lmTemperature[0], LIMITS.lmTemperature[1]);
  const lmCfgScale = config.lmCfgScale ?? 2.0;
  problems.range('lm_cfg_scale', lmCfgScale, LIMITS.lmCfgScale[0], LIMITS.lmCfgScale[1]);
  if (!Number.isInteger(config.lmTopK) || config.lmTopK < 0) {
    problems.add('lm_top_k', config.lmTopK, 'an integer ≥ 0 (0 = off)');
  }
  const lmTopP = config.lmTopP ?? 0.9;
  problems.range('lm_top_p', lmTopP, 0, 1);
  const lmNegativePrompt = config.lmNegativePrompt ?? 'NO USER INPUT';
  if (config.lmNegativePrompt !== undefined) {
    problems.maxChars('lm_negative_prompt', config.lmNegativePrompt, limits.maxCaptionChars);
  }
  const lmBatchChunkSize = config.lmBatchChunkSize ?? 4;
  problems.range(
    'lm_batch_chunk_size',
    lmBatchChunkSize,
    LIMITS.lmBatchChunkSize[0],
    LIMITS.lmBatchChunkSize[1],
    true,
  );

  // --- What the task needs ---
  if (taskType) checkTaskInputs(config, taskType, srcAudio, audioCodes.length > 0, problems);
  if (taskType && BASE_ONLY_TASKS.has(taskType) && ditVariant !== 'base') {
    problems.add('task_type', taskType, 'text2music, cover, repaint on this deployment', {
      code: 'FAILED_PRECONDITION',
      why: `${taskType} needs the base DiT (acestep-v15-base); this deployment runs the ${ditVariant} DiT`,
    });
  }
  if (config.useLlmThinking && deployment.lmAvailable === false) {
    problems.add('use_llm_thinking', true, 'false on this deployment', {
      code: 'FAILED_PRECONDITION',
      why: 'this deployment has no 5 Hz LM',
    });
  }
  if (config.useLlmThinking && (task === 'cover' || task === 'repaint')) {
    notes.push(
      `use_llm_thinking is ignored: the LM does not run for ${task} (it keeps the source's structure)`,
    );
  }

  if (problems.list.length > 0) throw new ConfigValidationError(problems.list);

  return {
    taskType: task,
    caption: config.caption,
    lyrics: config.lyrics,
    instrumental: isInstrumental(config.lyrics),
    bpm,
    keyScale: keyScale ?? '',
    timeSignature: timeSignature ?? '',
    vocalLanguage: language,
    audioDuration,
    inferenceSteps,
    guidanceScale,
    useRandomSeed,
    seed,
    batchSize,
    useAdg: config.useAdg,
    cfgIntervalStart,
    cfgIntervalEnd,
    audioFormat: audioFormat ?? 'mp3',
    referenceAudio,
    srcAudio,
    audioCodes,
    repaintingStart,
    repaintingEnd,
    audioCoverStrength,
    repaintInjectionRatio,
    repaintCrossfadeFrames,
    instruction: config.instruction.trim() === '' ? TASK_INSTRUCTIONS[task] : config.instruction,
    instructionGiven: config.instruction.trim() !== '',
    useLlmThinking: config.useLlmThinking,
    lmTemperature,
    lmCfgScale,
    lmTopK: config.lmTopK,
    lmTopP,
    lmNegativePrompt,
    useCotMetas: config.useCotMetas ?? true,
    useCotCaption: config.useCotCaption ?? true,
    useCotLanguage: config.useCotLanguage ?? true,
    isFormatCaption: config.isFormatCaption,
    constrainedDecodingDebug: config.constrainedDecodingDebug,
    allowLmBatch: config.allowLmBatch,
    lmBatchChunkSize,
    notes,
  };
}

/** Entries that are all blank count as "no codes" (a client sending the spec's default ""). */
function resolveAudioCodes(
  entries: readonly string[],
  batchSize: number,
  maxDurationSeconds: number,
  task: TaskName,
  problems: Problems,
): number[][] {
  if (entries.every((e) => e.trim() === '')) return [];
  const field = 'audio_code_string';
  if (!CODE_TASKS.has(task)) {
    problems.add(field, { raw: `${entries.length} entries` }, 'empty for this task', {
      why: `${task} works on src_audio; audio codes would replace it`,
    });
    return [];
  }
  if (entries.length !== 1 && entries.length !== batchSize) {
    problems.add(
      field,
      { raw: `${entries.length} entries` },
      `1 entry, or batch_size (${batchSize}) entries`,
    );
  }
  const maxCodes = Math.floor(maxDurationSeconds * AUDIO_CODES_PER_SECOND);
  const parsed: number[][] = [];
  entries.forEach((entry, index) => {
    const label = `${field}[${index}]`;
    const codes = parseCodesOrReason(entry);
    if (!Array.isArray(codes)) {
      problems.add(label, entry, '"<|audio_code_N|>" tokens with N from 0 to 63999', { why: codes.error });
    } else if (codes.length > maxCodes) {
      problems.add(
        label,
        { raw: `${codes.length} codes` },
        `at most ${maxCodes} codes (${maxDurationSeconds} s at 5 codes/s)`,
      );
    } else {
      parsed.push(codes);
    }
  });
  return parsed;
}

/** The codes of one entry, or why it is not a non-empty code string. */
function parseCodesOrReason(entry: string): number[] | { error: string } {
  try {
    const codes = parseAudioCodes(entry);
    return codes.length > 0 ? codes : { error: 'no audio codes' };
  } catch (error) {
    if (error instanceof AudioCodeSyntaxError) return { error: error.message };
    throw error;
  }
}

function checkTaskInputs(
  config: GenerationConfig,
  task: TaskName,
  srcAudio: AudioRef | null,
  hasCodes: boolean,
  problems: Problems,
): void {
  const why = `required for task_type=${task}`;
  if (task === 'text2music' && config.caption.trim() === '' && config.lyrics.trim() === '') {
    problems.add('caption', config.caption, 'a non-empty caption or lyrics', { why });
  }
  for (const field of REQUIRED[task]) {
    if (field === 'src_audio' && srcAudio === null && !(task === 'cover' && hasCodes)) {
      const allowed =
        task === 'cover'
          ? 'uploaded bytes or an object_id (or audio_code_string)'
          : 'uploaded bytes or an object_id';
      problems.add('src_audio', undefined, allowed, { why });
    }
    if (field === 'caption' && config.caption.trim() === '') {
      problems.add('caption', config.caption, 'a non-empty caption', { why });
    }
    if (field === 'instruction' && config.instruction.trim() === '') {
      problems.add(
        'instruction',
        config.instruction,
        `a non-empty instruction naming the track(s), e.g. "${example(task)}"`,
        {
          why,
        },
      );
    }
  }
}

function example(task: TaskName): string {
  if (task === 'extract') return 'Extract the vocals track from the audio:';
  if (task === 'lego') return 'Generate the guitar track based on the audio context:';
  return 'Complete the input track with drums, bass:';
}
