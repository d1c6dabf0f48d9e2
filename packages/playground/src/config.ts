// The form's state and the GenerationConfig it makes. Empty text fields are
// left unset so the gateway applies the model's defaults ("auto").
import { AudioFormat, type GenerationConfigSchema, TaskType } from '@acestep/proto/gateway';
import type { MessageInitShape } from '@bufbuild/protobuf';

export type ConfigInit = MessageInitShape<typeof GenerationConfigSchema>;

export const TASKS = {
  text2music: TaskType.TEXT2MUSIC,
  cover: TaskType.COVER,
  repaint: TaskType.REPAINT,
  lego: TaskType.LEGO,
  extract: TaskType.EXTRACT,
  complete: TaskType.COMPLETE,
} as const;
export type TaskName = keyof typeof TASKS;

/** Tasks that work on a source audio; the last three need the base model. */
export const SOURCE_TASKS: readonly TaskName[] = ['cover', 'repaint', 'lego', 'extract', 'complete'];
export const RANGE_TASKS: readonly TaskName[] = ['repaint', 'lego'];
export const INSTRUCTION_TASKS: readonly TaskName[] = ['lego', 'extract', 'complete'];

export const FORMATS = { mp3: AudioFormat.MP3, wav: AudioFormat.WAV, flac: AudioFormat.FLAC } as const;
export type FormatName = keyof typeof FORMATS;

export const TIME_SIGNATURES = ['', '2/4', '3/4', '4/4', '6/8'] as const;

/**
 * An input audio, always an object the gateway stores: a file from this
 * computer once uploaded (its bytes kept for the waveform), or a result.
 */
export interface SourceRef {
  origin: 'file' | 'result';
  name: string;
  objectId: string;
  bytes?: Uint8Array;
}

export interface FormState {
  caption: string;
  lyrics: string;
  bpm: string;
  keyScale: string;
  timeSignature: string;
  vocalLanguage: string;
  audioDuration: string;
  task: TaskName;
  repaintingStart: string;
  repaintingEnd: string;
  audioCoverStrength: string;
  instruction: string;
  batchSize: string;
  seed: string;
  format: FormatName;
  inferenceSteps: string;
  guidanceScale: string;
  useAdg: boolean;
  cfgIntervalStart: string;
  cfgIntervalEnd: string;
  useLlmThinking: boolean;
  lmTemperature: string;
  lmCfgScale: string;
  lmTopK: string;
  lmTopP: string;
  lmNegativePrompt: string;
  useCotMetas: boolean;
  useCotCaption: boolean;
  useCotLanguage: boolean;
  allowLmBatch: boolean;
  lmBatchChunkSize: string;
  audioCodeString: string;
}

export const INITIAL_FORM: FormState = {
  caption: '',
  lyrics: '',
  bpm: '',
  keyScale: '',
  timeSignature: '',
  vocalLanguage: '',
  audioDuration: '30',
  task: 'text2music',
  repaintingStart: '0',
  repaintingEnd: '',
  audioCoverStrength: '',
  instruction: '',
  batchSize: '1',
  seed: '',
  format: 'mp3',
  inferenceSteps: '',
  guidanceScale: '',
  useAdg: false,
  cfgIntervalStart: '',
  cfgIntervalEnd: '',
  useLlmThinking: false,
  lmTemperature: '',
  lmCfgScale: '',
  lmTopK: '',
  lmTopP: '',
  lmNegativePrompt: '',
  useCotMetas: true,
  useCotCaption: true,
  useCotLanguage: true,
  allowLmBatch: false,
  lmBatchChunkSize: '',
  audioCodeString: '',
};

/** A number field: unset when empty; anything else goes as typed (the gateway checks ranges). */
function num(text: string): number | undefined {
  return text.trim() === '' ? undefined : Number(text);
}

function source(ref: SourceRef | undefined): ConfigInit['srcAudio'] {
  return ref ? { source: { case: 'objectId', value: ref.objectId } } : undefined;
}

function seedOf(text: string): bigint | undefined {
  const t = text.trim();
  if (t === '') return undefined;
  if (!/^-?\d+$/.test(t)) throw new Error(`seed: "${t}" is not an integer (-1 or empty = random)`);
  return BigInt(t);
}

export function buildConfig(
  form: FormState,
  sources: { src?: SourceRef | undefined; reference?: SourceRef | undefined },
): ConfigInit {
  const seed = seedOf(form.seed);
  const usesSource = SOURCE_TASKS.includes(form.task);
  return {
    caption: form.caption,
    lyrics: form.lyrics,
    bpm: num(form.bpm),
    keyScale: form.keyScale,
    timeSignature: form.timeSignature,
    vocalLanguage: form.vocalLanguage || undefined,
    audioDuration: num(form.audioDuration),
    taskType: TASKS[form.task],
    srcAudio: usesSource ? source(sources.src) : undefined,
    referenceAudio: source(sources.reference),
    repaintingStart: RANGE_TASKS.includes(form.task) ? (num(form.repaintingStart) ?? 0) : 0,
    repaintingEnd: RANGE_TASKS.includes(form.task) ? num(form.repaintingEnd) : undefined,
    audioCoverStrength: form.task === 'cover' ? num(form.audioCoverStrength) : undefined,
    instruction: INSTRUCTION_TASKS.includes(form.task) ? form.instruction : '',
    batchSize: num(form.batchSize),
    useRandomSeed: seed === undefined || seed < 0,
    seed,
    audioFormat: FORMATS[form.format],
    inferenceSteps: num(form.inferenceSteps),
    guidanceScale: num(form.guidanceScale),
    useAdg: form.useAdg,
    cfgIntervalStart: num(form.cfgIntervalStart) ?? 0,
    cfgIntervalEnd: num(form.cfgIntervalEnd),
    useLlmThinking: form.useLlmThinking,
    lmTemperature: num(form.lmTemperature),
    lmCfgScale: num(form.lmCfgScale),
    lmTopK: num(form.lmTopK) ?? 0,
    lmTopP: num(form.lmTopP),
    lmNegativePrompt: form.lmNegativePrompt || undefined,
    useCotMetas: form.useCotMetas,
    useCotCaption: form.useCotCaption,
    useCotLanguage: form.useCotLanguage,
    allowLmBatch: form.allowLmBatch,
    lmBatchChunkSize: num(form.lmBatchChunkSize),
    audioCodeString: form.audioCodeString.trim() ? [form.audioCodeString.trim()] : [],
  };
}
