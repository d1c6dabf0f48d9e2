// Checks and errors both job services share.
import type { Job } from '@acestep/proto/gateway';
import { timestampMs } from '@bufbuild/protobuf/wkt';
import { JobError } from './errors.ts';
import { stateName } from './job-record.ts';
import { DEFAULTS, type JobMetrics, type JobServiceOptions } from './types.ts';

/** Label of the queue metrics. */
export const QUEUE_NAME = 'jobs';

export function jobNotFound(id: string): JobError {
  return new JobError('NOT_FOUND', `job ${JSON.stringify(id)} not found (unknown id, or expired)`);
}

export function queueFull(maxQueued: number): JobError {
  return new JobError(
    'RESOURCE_EXHAUSTED',
    `the job queue is full (${maxQueued} jobs queued or running); retry later`,
  );
}

export function checkIdempotencyKey(key: string): void {
  if (key.length > DEFAULTS.maxIdempotencyKeyLength) {
    throw new JobError(
      'INVALID_ARGUMENT',
      `idempotency_key is ${key.length} characters; at most ${DEFAULTS.maxIdempotencyKeyLength} are allowed`,
    );
  }
}

/** Programming errors in the options: thrown as plain errors at start. */
export function checkServiceOptions(options: JobServiceOptions, minConcurrency: number): void {
  const positive = (name: string, value: number | undefined, min: number) => {
    if (value !== undefined && (!Number.isInteger(value) || value < min)) {
      throw new Error(`job service option ${name} must be an integer >= ${min}; got ${value}`);
    }
  };
  positive('concurrency', options.concurrency, minConcurrency);
  positive('maxQueued', options.maxQueued, 1);
  positive('maxObjectBytes', options.maxObjectBytes, 1);
  positive('retentionMs', options.retentionMs, 1);
  positive('maxRunMs', options.maxRunMs, 1);
  positive('progressIntervalMs', options.progressIntervalMs, 0);
  positive('nats.ackWaitMs', options.nats?.ackWaitMs, 100);
  positive('nats.maxAttempts', options.nats?.maxAttempts, 1);
  positive('nats.replicas', options.nats?.replicas, 1);
}

/** Idempotency keys are per tenant: two tenants using the same key get two jobs. '' stays ''. */
export function scopedIdempotencyKey(key: string, tenant: string): string {
  return key && tenant ? `${tenant}\u0000${key}` : key;
}

function secondsSinceSubmit(job: Job): number {
  return job.createdAt ? Math.max(0, (Date.now() - timestampMs(job.createdAt)) / 1000) : 0;
}

/** A run starts: how long the job waited. */
export function recordStart(metrics: JobMetrics | undefined, job: Job): void {
  metrics?.queueWait?.observe(secondsSinceSubmit(job));
}

/** A job ended (on this replica): counted by state, with its time from submit to end. */
export function recordEnd(metrics: JobMetrics | undefined, job: Job): void {
  const state = stateName(job.state);
  metrics?.jobsEnded?.inc({ state });
  metrics?.duration?.observe({ state }, secondsSinceSubmit(job));
}
