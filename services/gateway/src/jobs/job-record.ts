// Pure helpers on Job messages: creation, state transitions, the outcome of a
// run. Both implementations build every state through these, so a job looks
// the same whichever store holds it. Job snapshots are never mutated in place.
import {
  type GenerationConfig,
  type GenerationResult,
  GenerationResultSchema,
  type Job,
  JobSchema,
  JobState,
  type Progress,
  ProgressSchema,
  Stage,
} from '@acestep/proto/gateway';
import { clone, create } from '@bufbuild/protobuf';
import { timestampFromDate, timestampMs } from '@bufbuild/protobuf/wkt';

export function isEnded(state: JobState): boolean {
  return state === JobState.SUCCEEDED || state === JobState.FAILED || state === JobState.CANCELLED;
}

export function stateName(state: JobState): string {
  return JobState[state] ?? String(state);
}

export function newJob(id: string, config: GenerationConfig, now = new Date()): Job {
  return create(JobSchema, {
    id,
    state: JobState.QUEUED,
    config,
    progress: create(ProgressSchema, { stage: Stage.QUEUED, message: 'queued' }),
    createdAt: timestampFromDate(now),
    updatedAt: timestampFromDate(now),
  });
}

/** A copy of job with some fields replaced and updated_at set to now. */
export function withChanges(job: Job, changes: Partial<Pick<Job, 'state' | 'progress' | 'result'>>): Job {
  const next = clone(JobSchema, job);
  if (changes.state !== undefined) next.state = changes.state;
  if (changes.progress !== undefined) next.progress = changes.progress;
  if (changes.result !== undefined) next.result = changes.result;
  next.updatedAt = timestampFromDate(new Date());
  return next;
}

export function running(job: Job): Job {
  return withChanges(job, {
    state: JobState.RUNNING,
    progress: create(ProgressSchema, { stage: Stage.UNSPECIFIED, message: 'running' }),
  });
}

/** Back to the queue (a replica shut down mid-run and handed the job back). */
export function requeued(job: Job): Job {
  return withChanges(job, {
    state: JobState.QUEUED,
    progress: create(ProgressSchema, { stage: Stage.QUEUED, message: 'requeued' }),
  });
}

export function withProgress(job: Job, progress: Progress): Job {
  return withChanges(job, { progress });
}

/** SUCCEEDED with the executor's result, or FAILED when the result carries an error. */
export function succeeded(job: Job, result: GenerationResult): Job {
  const stored = clone(GenerationResultSchema, result);
  const failed = stored.error !== undefined && stored.error !== '';
  stored.success = !failed;
  if (!stored.statusMessage) stored.statusMessage = failed ? 'failed' : 'done';
  return withChanges(job, {
    state: failed ? JobState.FAILED : JobState.SUCCEEDED,
    result: stored,
    progress: create(ProgressSchema, { stage: Stage.DONE, message: stored.statusMessage }),
  });
}

export function failed(job: Job, error: string): Job {
  return ended(job, JobState.FAILED, error);
}

export function cancelled(job: Job): Job {
  return ended(job, JobState.CANCELLED, 'cancelled');
}

function ended(job: Job, state: JobState, error: string): Job {
  const result = create(GenerationResultSchema, { success: false, error, statusMessage: error });
  return withChanges(job, {
    state,
    result,
    progress: create(ProgressSchema, { stage: Stage.DONE, message: error }),
  });
}

export function updatedAtMs(job: Job): number {
  return job.updatedAt ? timestampMs(job.updatedAt) : 0;
}

/** Object ids a result refers to (its audio files). */
export function resultObjectIds(result: GenerationResult | undefined): Set<string> {
  return new Set((result?.audio ?? []).map((file) => file.objectId));
}
