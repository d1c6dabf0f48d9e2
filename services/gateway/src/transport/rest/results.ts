// Official result shapes of POST /query_result, built from our Job. The status
// codes are the official ones: 0 queued or running, 1 succeeded, 2 failed
// (cancelled counts as failed). `file` is the official "/v1/audio?path=..."
// form; the path is the object id plus the format extension.
import { type Job, JobState, Stage } from '@acestep/proto/gateway';
import { timestampMs } from '@bufbuild/protobuf/wkt';

export const STATUS = { running: 0, succeeded: 1, failed: 2 } as const;

const STAGE_TEXT: Record<number, string> = {
  [Stage.QUEUED]: 'queued',
  [Stage.LM_METADATA]: 'LM metadata',
  [Stage.LM_AUDIO_CODES]: 'LM audio codes',
  [Stage.DIT]: 'diffusion',
  [Stage.VAE]: 'VAE decode',
  [Stage.ENCODING]: 'encoding',
  [Stage.DONE]: 'done',
};

/** The official download path of one of our objects. */
export function audioFile(objectId: string, format: string): string {
  return `/v1/audio?path=${encodeURIComponent(`${objectId}.${format}`)}`;
}

export function officialStatus(job: Job): number {
  if (job.state === JobState.SUCCEEDED) return STATUS.succeeded;
  if (job.state === JobState.FAILED || job.state === JobState.CANCELLED) return STATUS.failed;
  return STATUS.running;
}

/** Rough overall progress: the stage's share of the pipeline plus its step fraction. */
function progressOf(job: Job): number {
  const p = job.progress;
  if (!p) return 0;
  const order = [
    Stage.QUEUED,
    Stage.LM_METADATA,
    Stage.LM_AUDIO_CODES,
    Stage.DIT,
    Stage.VAE,
    Stage.ENCODING,
    Stage.DONE,
  ];
  const at = Math.max(0, order.indexOf(p.stage));
  const within = p.total > 0 ? p.step / p.total : 0;
  return Math.min(0.99, (at + within) / order.length);
}

const na = (v: unknown) => (v === undefined || v === null || v === '' ? 'N/A' : v);

export interface ResultContext {
  env: string;
  ditModel: string;
  lmModel: string;
}

/** The parsed `result` list of one job (the route sends it JSON-encoded, as the official server does). */
export function officialResult(job: Job, context: ResultContext): Record<string, unknown>[] {
  const createTime = job.createdAt ? Math.floor(timestampMs(job.createdAt) / 1000) : 0;
  const status = officialStatus(job);
  const common = { file: '', wave: '', status, create_time: createTime, env: context.env };
  if (status === STATUS.running) {
    return [
      { ...common, progress: progressOf(job), stage: STAGE_TEXT[job.progress?.stage ?? 0] ?? 'running' },
    ];
  }
  const result = job.result;
  if (status === STATUS.failed || !result) {
    const error = result?.error || (job.state === JobState.CANCELLED ? 'cancelled' : 'failed');
    return [{ ...common, progress: 0, stage: 'failed', error }];
  }
  const config = job.config;
  const lm = result.lmMetadata;
  const metas = {
    bpm: na(config?.bpm ?? lm?.bpm),
    duration: na(config?.audioDuration ?? lm?.duration),
    genres: 'N/A',
    keyscale: na(config?.keyScale || lm?.keyscale),
    timesignature: na(config?.timeSignature || lm?.timesignature),
    prompt: config?.caption ?? '',
    lyrics: config?.lyrics ?? '',
  };
  return result.audio.map((audio) => ({
    ...common,
    file: audioFile(audio.objectId, audio.format),
    prompt: lm?.caption || config?.caption || '',
    lyrics: config?.lyrics ?? '',
    metas,
    generation_info: result.generationInfo,
    seed_value: result.seedValue,
    lm_model: context.lmModel,
    dit_model: context.ditModel,
    progress: 1,
    stage: 'succeeded',
  }));
}

export function progressText(job: Job): string {
  return job.progress?.message ?? '';
}
