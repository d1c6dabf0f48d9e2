// GenerationConfig → ResolvedConfig: applies the defaults of the parameter
// table (@acestep/acestep, docs/model-rules.md "Parameters") for this
// deployment's DiT variant and checks every value, collecting all problems
// before throwing one error that lists them.

import {
  AUDIO_CODES_PER_SECOND,
  AudioCodeSyntaxError,
  type AudioFormatName,
  BASE_ONLY_TASKS,
  canonicalKeyScale,
  canonicalTimeSignature,
  fixedValue,
  ignoredReason,
  inRange,
  isInstrumental,
  isValidSeed,
  MAX_AUDIO_CODE,
  parameterMax,
  parseAudioCodes,
  RANDOM_SEED,
  SEED_ALLOWED,
  SOURCE_AUDIO_TASKS,
  TASK_INSTRUCTIONS,
  TASK_NAMES,
  type TaskName,
  VOCAL_LANGUAGES,
} from '@acestep/acestep';
import type { AudioSource, GenerationConfig } from '@acestep/proto/gateway';
import { Problems } from './problems.ts';
import type { AudioRef, Deployment, ResolvedConfig } from './types.ts';
import { formatOf, taskOf } from './vocab.ts';

export { type ConfigProblem, ConfigValidationError, type ProblemCode } from './problems.ts';

/** Which of the request's inputs each task needs (docs/model-rules.md, "Tasks"). */
const REQUIRED: Readonly<Record<TaskName, readonly ('src_audio' | 'caption' | 'instruction')[]>> = {
  text2music: [],
  cover: ['src_audio', 'caption'],
  repaint: ['src_audio', 'caption'],
  lego: ['src_audio', 'instruction', 'caption'],
  extract: ['src_audio', 'instruction'],
  complete: ['src_audio', 'instruction', 'caption'],
};

/** Tasks that take audio codes: elsewhere codes would replace the source audio. */
const CODE_TASKS: ReadonlySet<TaskName> = new Set(['text2music', 'cover']);

const KEY_SCALE_ALLOWED =
  'a note A-G, optionally #, b, ♯ or ♭, then major or minor (e.g. "C major", "F# minor", "Am"); "" = auto';

/**
 * Applies the defaults to `config` and checks it against the parameter table
 * and this deployment. Throws ConfigValidationError listing every problem.
 */
export function resolveConfig(config: GenerationConfig, deployment: Deployment): ResolvedConfig {
  const problems = new Problems();
  const task = resolveTask(config, problems);
  const metadata = resolveMetadata(config, deployment, problems);
  const diffusion = resolveDiffusion(config, deployment, problems);
  const sources = resolveSources(config, task, diffusion.batchSize, metadata.maxDuration, problems);
  if (metadata.audioDuration !== null && sources.srcAudio !== null && SOURCE_AUDIO_TASKS.has(task)) {
    if (sources.audioCodes.length === 0) {
      problems.notes.push(`audio_duration is ignored: ${task} keeps the length of src_audio`);
    }
  }
  problems.maxChars('instruction', config.instruction, deployment.limits.maxCaptionChars);
  const lm = resolveLm(config, deployment, problems);
  checkTaskInputs(config, task, sources.srcAudio, sources.audioCodes.length > 0, problems);
  checkDeployment(config, task, deployment, problems);
  problems.throwIfAny();
  const { maxDuration: _, ...meta } = metadata;
  return {
    taskType: task,
    caption: config.caption,
    lyrics: config.lyrics,
    instrumental: isInstrumental(config.lyrics),
    ...meta,
    ...diffusion,
    ...sources,
    instruction: config.instruction.trim() === '' ? TASK_INSTRUCTIONS[task] : config.instruction,
    instructionGiven: config.instruction.trim() !== '',
    ...lm,
    notes: problems.notes,
  };
}

function resolveTask(config: GenerationConfig, problems: Problems): TaskName {
  const task = taskOf(config.taskType);
  if (!task) problems.add('task_type', config.taskType, TASK_NAMES.join(', '));
  return task ?? 'text2music';
}

/** Text and music metadata; `maxDuration` is this deployment's longest song. */
function resolveMetadata(config: GenerationConfig, deployment: Deployment, problems: Problems) {
  const { limits } = deployment;
  problems.maxChars('caption', config.caption, limits.maxCaptionChars);
  problems.maxChars('lyrics', config.lyrics, limits.maxLyricsChars);
  const bpm = config.bpm ?? null;
  if (bpm !== null) problems.param('bpm', bpm);
  const keyScale = canonicalKeyScale(config.keyScale);
  if (keyScale === null) problems.add('key_scale', config.keyScale, KEY_SCALE_ALLOWED);
  const timeSignature = canonicalTimeSignature(config.timeSignature);
  if (timeSignature === null) {
    problems.add('time_signature', config.timeSignature, '"2/4", "3/4", "4/4", "6/8"; "" = auto');
  }
  const vocalLanguage = (config.vocalLanguage ?? '').trim().toLowerCase() || 'unknown';
  if (!VOCAL_LANGUAGES.includes(vocalLanguage)) {
    problems.add('vocal_language', config.vocalLanguage, `one of ${VOCAL_LANGUAGES.join(', ')}`);
  }
  const maxDuration = parameterMax('audio_duration', undefined, limits.maxDurationSeconds);
  const audioDuration = config.audioDuration ?? null;
  if (audioDuration !== null) problems.param('audio_duration', audioDuration, undefined, maxDuration);
  return {
    bpm,
    keyScale: keyScale ?? '',
    timeSignature: timeSignature ?? '',
    vocalLanguage,
    audioDuration,
    maxDuration,
  };
}

/** Steps, guidance, seeds, batch and the output format. */
function resolveDiffusion(config: GenerationConfig, deployment: Deployment, problems: Problems) {
  const variant = deployment.ditVariant;
  const inferenceSteps = resolveSteps(config.inferenceSteps, deployment, problems);
  const guidanceScale = problems.param('guidance_scale', config.guidanceScale, variant);
  const noGuidance = ignoredReason('guidance_scale', variant);
  if (noGuidance && config.guidanceScale !== undefined) {
    problems.notes.push(`guidance_scale is ignored: ${noGuidance}`);
  }
  const useRandomSeed = config.useRandomSeed ?? true;
  const seed = config.seed ?? RANDOM_SEED;
  if (!isValidSeed(seed)) problems.add('seed', seed, SEED_ALLOWED);
  if (useRandomSeed && seed !== RANDOM_SEED)
    problems.notes.push('seed is ignored because use_random_seed is true');
  const batchSize = problems.param('batch_size', config.batchSize, variant, deployment.maxBatch);
  if (config.useAdg && variant !== 'base') {
    problems.notes.push(`use_adg is ignored: adaptive dual guidance needs the base DiT (this is ${variant})`);
  }
  const cfgIntervalStart = problems.param('cfg_interval_start', config.cfgIntervalStart);
  const cfgIntervalEnd = problems.param('cfg_interval_end', config.cfgIntervalEnd);
  const bothOk =
    inRange('cfg_interval_start', cfgIntervalStart) && inRange('cfg_interval_end', cfgIntervalEnd);
  if (bothOk && cfgIntervalEnd < cfgIntervalStart) {
    problems.add('cfg_interval_end', cfgIntervalEnd, `from cfg_interval_start (${cfgIntervalStart}) to 1`);
  }
  const audioFormat: AudioFormatName | undefined = formatOf(config.audioFormat);
  if (!audioFormat) problems.add('audio_format', config.audioFormat, 'mp3, wav, flac');
  return {
    inferenceSteps,
    guidanceScale,
    useRandomSeed,
    seed,
    batchSize,
    useAdg: config.useAdg,
    cfgIntervalStart,
    cfgIntervalEnd,
    audioFormat: audioFormat ?? 'mp3',
  };
}

/**
 * The steps that will run: the given number, else the DiT's own default (its
 * manifest, via Info) or the variant's default from the table. A variant with a
 * fixed schedule (turbo) runs its fixed count whatever was asked, and says so.
 */
function resolveSteps(given: number | undefined, deployment: Deployment, problems: Problems): number {
  const variant = deployment.ditVariant;
  const steps = problems.param('inference_steps', given ?? deployment.defaultInferenceSteps, variant);
  const fixed = fixedValue('inference_steps', variant);
  if (fixed === undefined) return steps;
  if (given !== undefined && given !== fixed && inRange('inference_steps', given, variant)) {
    problems.notes.push(
      `inference_steps ${given} runs as ${fixed}: the ${variant} DiT has a fixed ${fixed}-step schedule`,
    );
  }
  return fixed;
}

function audioRef(source: AudioSource | undefined): AudioRef | null {
  const s = source?.source;
  if (s?.case === 'data' && s.value.length > 0) return { kind: 'data', data: s.value };
  if (s?.case === 'objectId' && s.value !== '') return { kind: 'object', objectId: s.value };
  return null;
}

/** Source and reference audio, audio codes, and the repaint/cover parameters. */
function resolveSources(
  config: GenerationConfig,
  task: TaskName,
  batchSize: number,
  maxDuration: number,
  problems: Problems,
) {
  return {
    referenceAudio: audioRef(config.referenceAudio),
    srcAudio: audioRef(config.srcAudio),
    audioCodes: resolveAudioCodes(config.audioCodeString, batchSize, maxDuration, task, problems),
    ...resolveRepaintRange(config, problems),
    audioCoverStrength: problems.param('audio_cover_strength', config.audioCoverStrength),
    repaintInjectionRatio: problems.param('repaint_injection_ratio', config.repaintInjectionRatio),
    repaintCrossfadeFrames: problems.param('repaint_crossfade_frames', config.repaintCrossfadeFrames),
  };
}

function resolveRepaintRange(config: GenerationConfig, problems: Problems) {
  const repaintingStart = problems.param('repainting_start', config.repaintingStart);
  const repaintingEnd = config.repaintingEnd ?? -1;
  const startOk = inRange('repainting_start', repaintingStart);
  const endOk =
    repaintingEnd === -1 ||
    (inRange('repainting_end', repaintingEnd) && (!startOk || repaintingEnd > repaintingStart));
  if (!endOk) {
    const max = parameterMax('repainting_end');
    const allowed = `-1 (end of the source) or seconds > repainting_start (${repaintingStart}) up to ${max}`;
    problems.add('repainting_end', repaintingEnd, allowed);
  }
  return { repaintingStart, repaintingEnd };
}

/**
 * The 5 Hz LM's parameters. `lm_batch_chunk_size` is what one LM call may take:
 * a chunk larger than the deployed LM's --max-batch (from its Info) runs as that
 * many sequences per call, so the request is split further instead of refused.
 */
function resolveLm(config: GenerationConfig, deployment: Deployment, problems: Problems) {
  const lmNegativePrompt = config.lmNegativePrompt ?? 'NO USER INPUT';
  if (config.lmNegativePrompt !== undefined) {
    problems.maxChars('lm_negative_prompt', config.lmNegativePrompt, deployment.limits.maxCaptionChars);
  }
  let lmBatchChunkSize = problems.param('lm_batch_chunk_size', config.lmBatchChunkSize);
  const lmMax = deployment.lmMaxBatch;
  if (lmMax !== undefined && lmMax >= 1 && lmBatchChunkSize > lmMax) {
    if (config.allowLmBatch) {
      problems.notes.push(
        `lm_batch_chunk_size ${lmBatchChunkSize} runs as ${lmMax}: the LM takes at most ${lmMax} sequences per call`,
      );
    }
    lmBatchChunkSize = lmMax;
  }
  return {
    useLlmThinking: config.useLlmThinking,
    lmTemperature: problems.param('lm_temperature', config.lmTemperature),
    lmCfgScale: problems.param('lm_cfg_scale', config.lmCfgScale),
    lmTopK: problems.param('lm_top_k', config.lmTopK),
    lmTopP: problems.param('lm_top_p', config.lmTopP),
    lmNegativePrompt,
    useCotMetas: config.useCotMetas ?? true,
    useCotCaption: config.useCotCaption ?? true,
    useCotLanguage: config.useCotLanguage ?? true,
    isFormatCaption: config.isFormatCaption,
    constrainedDecodingDebug: config.constrainedDecodingDebug,
    allowLmBatch: config.allowLmBatch,
    lmBatchChunkSize,
  };
}

/** What this deployment cannot do for the request (FAILED_PRECONDITION), and what it ignores. */
function checkDeployment(
  config: GenerationConfig,
  task: TaskName,
  deployment: Deployment,
  problems: Problems,
) {
  const variant = deployment.ditVariant;
  if (taskOf(config.taskType) && BASE_ONLY_TASKS.has(task) && variant !== 'base') {
    problems.add('task_type', task, 'text2music, cover, repaint on this deployment', {
      code: 'FAILED_PRECONDITION',
      why: `${task} needs the base DiT (acestep-v15-base); this deployment runs the ${variant} DiT`,
    });
  }
  if (config.useLlmThinking && (task === 'cover' || task === 'repaint')) {
    problems.notes.push(
      `use_llm_thinking is ignored: the LM does not run for ${task} (it keeps the source's structure)`,
    );
  }
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
  const parsed: number[][] = [];
  entries.forEach((entry, index) => {
    const codes = checkCodeEntry(`${field}[${index}]`, entry, maxDurationSeconds, problems);
    if (codes) parsed.push(codes);
  });
  return parsed;
}

function checkCodeEntry(
  label: string,
  entry: string,
  maxSeconds: number,
  problems: Problems,
): number[] | null {
  const codes = parseCodesOrReason(entry);
  if (!Array.isArray(codes)) {
    const allowed = `"<|audio_code_N|>" tokens with N from 0 to ${MAX_AUDIO_CODE}`;
    problems.add(label, entry, allowed, { why: codes.error });
    return null;
  }
  const maxCodes = Math.floor(maxSeconds * AUDIO_CODES_PER_SECOND);
  if (codes.length > maxCodes) {
    problems.add(
      label,
      { raw: `${codes.length} codes` },
      `at most ${maxCodes} codes (${maxSeconds} s at 5 codes/s)`,
    );
    return null;
  }
  return codes;
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
  if (!taskOf(config.taskType)) return;
  const why = `required for task_type=${task}`;
  if (task === 'text2music' && config.caption.trim() === '' && config.lyrics.trim() === '') {
    problems.add('caption', config.caption, 'a non-empty caption or lyrics', { why });
  }
  for (const field of REQUIRED[task]) {
    if (field === 'src_audio' && srcAudio === null && !(task === 'cover' && hasCodes)) {
      const codes = task === 'cover' ? ' (or audio_code_string)' : '';
      problems.add('src_audio', undefined, `uploaded bytes or an object_id${codes}`, { why });
    }
    if (field === 'caption' && config.caption.trim() === '') {
      problems.add('caption', config.caption, 'a non-empty caption', { why });
    }
    if (field === 'instruction' && config.instruction.trim() === '') {
      const allowed = `a non-empty instruction naming the track(s), e.g. "${example(task)}"`;
      problems.add('instruction', config.instruction, allowed, { why });
    }
  }
}

function example(task: TaskName): string {
  if (task === 'extract') return 'Extract the vocals track from the audio:';
  if (task === 'lego') return 'Generate the guitar track based on the audio context:';
  return 'Complete the input track with drums, bass:';
}
