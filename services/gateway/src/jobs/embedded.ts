// The embedded job service (default, nothing to install): an in-process
// bounded FIFO, `concurrency` runners, job state in memory, objects on the
// local disk. A process restart forgets the jobs (the objects stay until the
// retention sweep); use NATS for jobs that survive a crash.
import {
  type GenerationConfig,
  GenerationConfigSchema,
  type Job,
  JobSchema,
  JobState,
} from '@acestep/proto/gateway';
import { clone, create } from '@bufbuild/protobuf';
import { DiskResultStore } from './disk-store.ts';
import { errorMessage, JobError } from './errors.ts';
import { newJobId } from './ids.ts';
import {
  cancelled,
  failed,
  isEnded,
  newJob,
  resultObjectIds,
  running,
  stateName,
  succeeded,
  updatedAtMs,
  withProgress,
} from './job-record.ts';
import { pageOf, parseListRequest } from './paging.ts';
import {
  deleteObjects,
  JobScopedStore,
  ProgressThrottle,
  runDeadline,
  storeInlineAudio,
} from './run-support.ts';
import {
  checkIdempotencyKey,
  checkServiceOptions,
  jobNotFound,
  QUEUE_NAME,
  queueFull,
} from './service-common.ts';
import {
  DEFAULTS,
  type JobService,
  type JobServiceOptions,
  type ListJobsPage,
  type ListJobsRequest,
} from './types.ts';

interface Run {
  controller: AbortController;
  done: Promise<void>;
}

export class EmbeddedJobService implements JobService {
  readonly mode = 'embedded';
  readonly store: DiskResultStore;
  readonly #options: JobServiceOptions;
  readonly #jobs = new Map<string, Job>();
  readonly #idByKey = new Map<string, string>();
  readonly #keyById = new Map<string, string>();
  readonly #waiting: string[] = [];
  readonly #running = new Map<string, Run>();
  readonly #listeners = new Map<string, Set<() => void>>();
  #sweepTimer: NodeJS.Timeout | undefined;
  #closed = false;

  private constructor(options: JobServiceOptions, store: DiskResultStore) {
    this.#options = options;
    this.store = store;
  }

  static async start(options: JobServiceOptions): Promise<EmbeddedJobService> {
    checkServiceOptions(options, 1);
    const service = new EmbeddedJobService(
      options,
      await DiskResultStore.open(options.dataDir, options.maxObjectBytes),
    );
    const retentionMs = options.retentionMs ?? DEFAULTS.retentionMs;
    service.#sweepTimer = setInterval(() => void service.#sweep(retentionMs), Math.min(retentionMs, 60_000));
    service.#sweepTimer.unref();
    service.#reportDepth();
    return service;
  }

  async submit(config: GenerationConfig, idempotencyKey = ''): Promise<Job> {
    this.#assertOpen();
    checkIdempotencyKey(idempotencyKey);
    const known = this.#idByKey.get(idempotencyKey);
    if (known) return this.get(known);
    this.#checkCapacity();
    const prepared = await storeInlineAudio(config, this.store);
    // Re-check after the await: another submit may have taken the key or the last slot.
    const raced = this.#idByKey.get(idempotencyKey);
    try {
      this.#assertOpen();
      if (!raced) this.#checkCapacity();
    } catch (error) {
      await deleteObjects(this.store, prepared.objectIds);
      throw error;
    }
    if (raced) {
      await deleteObjects(this.store, prepared.objectIds);
      return this.get(raced);
    }
    const job = newJob(newJobId(), prepared.config);
    this.#set(job);
    if (idempotencyKey) {
      this.#idByKey.set(idempotencyKey, job.id);
      this.#keyById.set(job.id, idempotencyKey);
    }
    this.#waiting.push(job.id);
    this.#pump();
    return this.#view(job);
  }

  async get(id: string): Promise<Job> {
    return this.#view(this.#require(id));
  }

  async *watch(id: string, signal?: AbortSignal): AsyncGenerator<Job> {
    let job = this.#require(id);
    let view = this.#view(job);
    yield view;
    while (!isEnded(job.state) && !signal?.aborted) {
      const next = this.#jobs.get(id);
      if (!next) return; // swept by retention
      const nextView = next === job ? this.#view(next) : undefined;
      if (next !== job || nextView?.progress?.queuePosition !== view.progress?.queuePosition) {
        job = next;
        view = nextView ?? this.#view(next);
        yield view;
        continue;
      }
      if (!(await this.#changed(id, signal))) return;
    }
  }

  async cancel(id: string): Promise<Job> {
    const job = this.#require(id);
    if (job.state === JobState.CANCELLED) return this.#view(job);
    if (isEnded(job.state)) {
      throw new JobError(
        'FAILED_PRECONDITION',
        `job ${id} already ended (${stateName(job.state)}); nothing to cancel`,
      );
    }
    const ended = cancelled(job);
    this.#set(ended);
    this.#options.metrics?.jobsEnded?.inc({ state: stateName(ended.state) });
    const at = this.#waiting.indexOf(id);
    if (at >= 0) {
      this.#waiting.splice(at, 1);
      this.#notifyWaiting();
    }
    this.#running.get(id)?.controller.abort(new JobError('ABORTED', `job ${id} was cancelled`));
    return this.#view(ended);
  }

  async list(request?: ListJobsRequest): Promise<ListJobsPage> {
    const query = parseListRequest(request);
    return pageOf(this.#jobs.keys(), query, (id) => {
      const job = this.#jobs.get(id);
      return job && this.#view(job);
    });
  }

  async close(options: { graceMs?: number } = {}): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#sweepTimer);
    for (const id of this.#waiting.splice(0)) {
      const job = this.#jobs.get(id);
      if (job) this.#set(failed(job, 'the gateway shut down before the job ran'));
    }
    const runs = [...this.#running.values()];
    const all = Promise.all(runs.map((run) => run.done));
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([all, new Promise((resolve) => (timer = setTimeout(resolve, options.graceMs ?? 0)))]);
    clearTimeout(timer);
    const reason = new JobError('UNAVAILABLE', 'the gateway shut down before the job finished');
    for (const run of runs) run.controller.abort(reason);
    await all;
    this.#reportDepth();
  }

  #require(id: string): Job {
    const job = this.#jobs.get(id);
    if (!job) throw jobNotFound(id);
    return job;
  }

  /** A copy for callers, with the queue position of a waiting job (1 = next). */
  #view(job: Job): Job {
    const out = clone(JobSchema, job);
    if (out.state === JobState.QUEUED && out.progress)
      out.progress.queuePosition = this.#waiting.indexOf(job.id) + 1;
    return out;
  }

  #set(job: Job): void {
    this.#jobs.set(job.id, job);
    this.#notify(job.id);
  }

  #notify(id: string): void {
    for (const listener of this.#listeners.get(id) ?? []) listener();
  }

  #notifyWaiting(): void {
    for (const id of this.#waiting) this.#notify(id);
    this.#reportDepth();
  }

  /** Resolves true at the next change of the job, false when the signal aborts. */
  #changed(id: string, signal?: AbortSignal): Promise<boolean> {
    return new Promise((resolve) => {
      const listeners = this.#listeners.get(id) ?? new Set();
      this.#listeners.set(id, listeners);
      const done = (changed: boolean) => {
        listeners.delete(onChange);
        if (listeners.size === 0) this.#listeners.delete(id);
        signal?.removeEventListener('abort', onAbort);
        resolve(changed);
      };
      const onChange = () => done(true);
      const onAbort = () => done(false);
      listeners.add(onChange);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  #assertOpen(): void {
    if (this.#closed) throw new JobError('UNAVAILABLE', 'the job service is shutting down');
  }

  #checkCapacity(): void {
    if (this.#waiting.length + this.#running.size < this.#options.maxQueued) return;
    this.#options.metrics?.queueRejected?.inc({ queue: QUEUE_NAME });
    throw queueFull(this.#options.maxQueued);
  }

  #pump(): void {
    while (!this.#closed && this.#running.size < this.#options.concurrency && this.#waiting.length > 0) {
      this.#start(this.#waiting.shift() as string);
    }
    this.#notifyWaiting();
  }

  #start(id: string): void {
    const job = this.#jobs.get(id);
    if (!job || job.state !== JobState.QUEUED) return;
    const controller = new AbortController();
    const run: Run = { controller, done: Promise.resolve() };
    this.#running.set(id, run);
    this.#set(running(job));
    run.done = this.#execute(job, controller).finally(() => {
      this.#running.delete(id);
      this.#pump();
    });
  }

  async #execute(job: Job, controller: AbortController): Promise<void> {
    const { id } = job;
    const deadline = runDeadline(this.#options.maxRunMs ?? DEFAULTS.maxRunMs);
    const signal = AbortSignal.any([controller.signal, deadline.signal]);
    const store = new JobScopedStore(this.store, id, signal, async () => {});
    const throttle = new ProgressThrottle(
      this.#options.progressIntervalMs ?? DEFAULTS.progressIntervalMs,
      async (p) => {
        const current = this.#jobs.get(id);
        if (current?.state === JobState.RUNNING) this.#set(withProgress(current, p));
      },
    );
    let finish: (current: Job) => Job;
    try {
      const config = job.config ?? create(GenerationConfigSchema);
      const result = await this.#options.executor(
        { id, config, attempt: 1 },
        { signal, report: (p) => throttle.report(p), store },
      );
      signal.throwIfAborted(); // an executor that ignored the abort does not get to succeed
      finish = (current) => succeeded(current, result);
    } catch (error) {
      const why = signal.aborted ? errorMessage(signal.reason) : errorMessage(error);
      finish = (current) => failed(current, why);
    } finally {
      deadline.clear();
      await throttle.stop();
    }
    const current = this.#jobs.get(id);
    let keep = new Set<string>();
    if (current?.state === JobState.RUNNING) {
      const ended = finish(current);
      this.#set(ended);
      this.#options.metrics?.jobsEnded?.inc({ state: stateName(ended.state) });
      this.#options.logger?.info('job ended', {
        jobId: id,
        state: stateName(ended.state),
        error: ended.result?.error,
      });
      if (ended.state === JobState.SUCCEEDED) keep = resultObjectIds(ended.result);
    }
    await deleteObjects(
      this.store,
      store.objectIds.filter((objectId) => !keep.has(objectId)),
    );
  }

  #reportDepth(): void {
    this.#options.metrics?.queueDepth?.set({ queue: QUEUE_NAME }, this.#waiting.length);
  }

  async #sweep(retentionMs: number): Promise<void> {
    const cutoff = Date.now() - retentionMs;
    for (const [id, job] of this.#jobs) {
      if (!isEnded(job.state) || updatedAtMs(job) >= cutoff) continue;
      this.#jobs.delete(id);
      this.#notify(id);
      const key = this.#keyById.get(id);
      if (key !== undefined) this.#idByKey.delete(key);
      this.#keyById.delete(id);
    }
    await this.store.deleteOlderThan(new Date(cutoff)).catch((error: unknown) => {
      this.#options.logger?.warn('object retention sweep failed', { error });
    });
  }
}
