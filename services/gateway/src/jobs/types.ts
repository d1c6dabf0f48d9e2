// The job layer's public types. The layer is independent of how a generation
// runs: the executor is a function passed in, and it stores its audio through
// the ResultStore it is handed.
import type { GenerationConfig, GenerationResult, Job, JobState, Progress } from '@acestep/proto/gateway';
import type { Logger } from '@acestep/runtime';
import type { Counter, Gauge, Histogram } from 'prom-client';

/** What a stored object carries besides its bytes. */
export interface ObjectMeta {
  /** Kept for humans (UploadAudio's filename). */
  filename?: string;
  contentType?: string;
  /** The job that produced the object, when a job did. */
  jobId?: string;
}

export interface ObjectInfo extends ObjectMeta {
  objectId: string;
  sizeBytes: number;
  /** Hex sha256 of the bytes. */
  sha256: string;
  createdAt: Date;
}

export type ObjectData = Uint8Array | AsyncIterable<Uint8Array>;

/**
 * Audio bytes by object id: generated results and uploads alike. Every method
 * throws JobError NOT_FOUND for an unknown (or malformed) id, and putObject
 * throws INVALID_ARGUMENT for data larger than maxObjectBytes.
 */
export interface ResultStore {
  readonly maxObjectBytes: number;
  putObject(data: ObjectData, meta?: ObjectMeta): Promise<ObjectInfo>;
  statObject(objectId: string): Promise<ObjectInfo>;
  /** Streams the bytes; the info is checked before the first byte. */
  getObject(objectId: string): Promise<{ info: ObjectInfo; data: AsyncIterable<Uint8Array> }>;
  /** The whole object in memory (small objects, tests). */
  readObject(objectId: string): Promise<Uint8Array>;
  /** True when something was deleted. */
  deleteObject(objectId: string): Promise<boolean>;
}

export interface ExecutorContext {
  /** Aborted on cancel, on the run deadline, on shutdown, or when another replica took the job over. */
  signal: AbortSignal;
  /** Progress of the run; coalesced to at most one state update per progressIntervalMs. */
  report(progress: Progress): void;
  /** Where the executor stores its audio; objects of an attempt that does not succeed are deleted. */
  store: ResultStore;
}

/**
 * Runs one generation. Returning means success (the layer sets `success`);
 * a result with `error` set, or a throw, ends the job FAILED. It may run more
 * than once for one job if a replica dies mid-run (at-least-once delivery).
 */
export type JobExecutor = (
  job: { id: string; config: GenerationConfig; attempt: number; traceparent: string },
  ctx: ExecutorContext,
) => Promise<GenerationResult>;

/** Who submitted a job, kept with it. */
export interface SubmitMeta {
  /** The tenant (API key name); '' or unset when keys are off. */
  tenant?: string;
  /** W3C traceparent of the submitting call: the job's run continues that trace. */
  traceparent?: string;
}

export interface ListJobsRequest {
  /** 0 (or unset) = 20; 1..100. */
  pageSize?: number;
  pageToken?: string;
  /** Only jobs in this state; UNSPECIFIED (or unset) = all. */
  state?: JobState;
  /** Only this tenant's jobs; unset = every tenant's (an admin, or API keys off). */
  tenant?: string;
}

export interface ListJobsPage {
  jobs: Job[];
  /** "" on the last page. */
  nextPageToken: string;
}

export interface JobService {
  readonly mode: 'embedded' | 'nats';
  /** Uploads and results (DownloadAudio reads here). */
  readonly store: ResultStore;
  /**
   * Queues a job. The same idempotency key (of the same tenant) returns the
   * first job instead of a new one.
   */
  submit(config: GenerationConfig, idempotencyKey?: string, meta?: SubmitMeta): Promise<Job>;
  /**
   * `tenant` set: only that tenant's jobs exist for the call (another
   * tenant's id answers NOT_FOUND, like an unknown one); unset: every job.
   */
  get(id: string, tenant?: string): Promise<Job>;
  /** The current state first, then each change; ends when the job ends or the signal aborts. */
  watch(id: string, signal?: AbortSignal, tenant?: string): AsyncIterable<Job>;
  cancel(id: string, tenant?: string): Promise<Job>;
  list(request?: ListJobsRequest): Promise<ListJobsPage>;
  /** The tenant's jobs that are queued or running (its concurrent-job quota). */
  countActive(tenant: string): Promise<number>;
  /** Jobs held by the store, by state name (the acestep_jobs gauge). */
  countByState(): Promise<Record<string, number>>;
  /** Stops taking jobs; running ones get graceMs to finish, then are aborted (NATS: handed back to the queue). */
  close(options?: { graceMs?: number }): Promise<void>;
}

/** Optional prom-client hooks; label `queue` is "jobs". */
export interface JobMetrics {
  /** Jobs waiting to run (NATS: undelivered messages of the work queue, cluster-wide). */
  queueDepth?: Gauge<'queue'>;
  /** Submits refused with RESOURCE_EXHAUSTED. */
  queueRejected?: Counter<'queue'>;
  /** Jobs that ended on this process, by state name (SUCCEEDED, FAILED, CANCELLED). */
  jobsEnded?: Counter<'state'>;
  /** Seconds from submit to the start of a run. */
  queueWait?: Histogram;
  /** Seconds from submit to the end, by end state. */
  duration?: Histogram<'state'>;
}

export interface JobServiceOptions {
  executor: JobExecutor;
  /**
   * Checks a config before submit accepts it (throws the error the caller gets, e.g. INVALID_ARGUMENT
   * naming the field); unset = every config is accepted and checked only when the job runs.
   */
  check?: (config: GenerationConfig) => Promise<void>;
  /** Jobs this process runs at once (NATS: 0 = API only, runs nothing). */
  concurrency: number;
  /** Jobs accepted and not yet ended (queued + running) before submit answers RESOURCE_EXHAUSTED. */
  maxQueued: number;
  /** Largest object (upload or result file). */
  maxObjectBytes: number;
  /** Embedded: where the job database and the objects live. NATS: unused. */
  dataDir: string;
  /** Set to use NATS JetStream instead of the in-process queue. */
  natsUrl?: string;
  /** How long ended jobs and stored objects are kept. Default 24 h. */
  retentionMs?: number;
  /** A run longer than this is aborted and ends FAILED. Default 1 h. */
  maxRunMs?: number;
  /** Default 250 ms. */
  progressIntervalMs?: number;
  logger?: Logger;
  metrics?: JobMetrics;
  /** NATS only. */
  nats?: NatsJobOptions;
}

export interface NatsJobOptions {
  /** Redelivery delay of a job whose runner stopped heart-beating. Default 30 s. */
  ackWaitMs?: number;
  /** Runs of one job before it ends FAILED (crash loops). Default 3. */
  maxAttempts?: number;
  /** Stream/bucket replicas in a cluster. Default 1. */
  replicas?: number;
  names?: Partial<NatsNames>;
}

export interface NatsNames {
  stream: string;
  subject: string;
  consumer: string;
  jobsBucket: string;
  objectBucket: string;
}

export const DEFAULTS = {
  retentionMs: 24 * 3600_000,
  maxRunMs: 3600_000,
  progressIntervalMs: 250,
  ackWaitMs: 30_000,
  maxAttempts: 3,
  pageSize: 20,
  maxPageSize: 100,
  maxIdempotencyKeyLength: 256,
} as const;
