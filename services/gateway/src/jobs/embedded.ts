// The embedded job service (default, nothing to install): an in-process
// bounded FIFO, `concurrency` runners, job state in a SQLite file and objects
// on the local disk, both under dataDir. Every state change is committed
// before it is visible, so a restarted (or killed) gateway resumes: queued
// jobs run once, a run cut short by the crash starts again (attempt + 1, its
// partial objects deleted), finished jobs keep serving their results. One
// process owns a data directory; use NATS for several gateway replicas.
import {
  type GenerationConfig,
  GenerationConfigSchema,
  type Job,
  JobSchema,
  JobState,
} from '@acestep/proto/gateway';
import { withJobScope } from '@acestep/runtime';
import { clone, create } from '@bufbuild/protobuf';
import { DiskResultStore } from './disk-store.ts';
import { errorMessage, JobError } from './errors.ts';
import { newJobId } from './ids.ts';
import { JobDb, type JobRow } from './job-db.ts';
import {
  cancelled,
  failed,
  isEnded,
  newJob,
  requeued,
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
  recordEnd,
  recordStart,
  scopedIdempotencyKey,
} from './service-common.ts';
import {
  DEFAULTS,
  type JobService,
  type JobServiceOptions,
  type ListJobsPage,
  type ListJobsRequest,
  type SubmitMeta,
} from './types.ts';

interface Run {
  controller: AbortController;
  done: Promise<void>;
}

export class EmbeddedJobService implements JobService {
  readonly mode = 'embedded';
  readonly store: DiskResultStore;
  readonly #options: JobServiceOptions;
  readonly #db: JobDb;
  readonly #rows = new Map<string, JobRow>();
  readonly #idByKey = new Map<string, string>();
  readonly #waiting: string[] = [];
  readonly #running = new Map<string, Run>();
  readonly #listeners = new Map<string, Set<() => void>>();
  #sweepTimer: NodeJS.Timeout | undefined;
  #closed = false;

  private constructor(options: JobServiceOptions, store: DiskResultStore, db: JobDb) {
    this.#options = options;
    this.store = store;
    this.#db = db;
  }

  static async start(options: JobServiceOptions): Promise<EmbeddedJobService> {
    checkServiceOptions(options, 1);
    // The database first: its lock keeps a second process out before the
    // object store clears leftovers of interrupted writes.
    const db = new JobDb(options.dataDir);
    let store: DiskResultStore;
    try {
      store = await DiskResultStore.open(options.dataDir, options.maxObjectBytes);
    } catch (error) {
      db.close();
      throw error;
    }
    const service = new EmbeddedJobService(options, store, db);
    await service.#resume();
    const retentionMs = options.retentionMs ?? DEFAULTS.retentionMs;
    service.#sweepTimer = setInterval(() => void service.#sweep(retentionMs), Math.min(retentionMs, 60_000));
    service.#sweepTimer.unref();
    service.#pump();
    return service;
  }

  async submit(config: GenerationConfig, idempotencyKey = '', meta: SubmitMeta = {}): Promise<Job> {
    const tenant = meta.tenant ?? '';
    this.#assertOpen();
    checkIdempotencyKey(idempotencyKey);
    await this.#options.check?.(config);
    const key = scopedIdempotencyKey(idempotencyKey, tenant);
    const known = this.#idByKey.get(key);
    if (known) return this.get(known);
    this.#checkCapacity();
    const prepared = await storeInlineAudio(config, this.store);
    // Re-check after the await: another submit may have taken the key or the last slot.
    const raced = this.#idByKey.get(key);
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
    const traceparent = meta.traceparent ?? '';
    this.#put({ job, tenant, attempts: 0, idempotencyKey: key, objects: [], traceparent });
    if (key) this.#idByKey.set(key, job.id);
    this.#waiting.push(job.id);
    this.#pump();
    return this.#view(job);
  }

  async get(id: string, tenant?: string): Promise<Job> {
    return this.#view(this.#require(id, tenant));
  }

  async *watch(id: string, signal?: AbortSignal, tenant?: string): AsyncGenerator<Job> {
    let job = this.#require(id, tenant);
    let view = this.#view(job);
    yield view;
    while (!isEnded(job.state) && !signal?.aborted) {
      const next = this.#rows.get(id)?.job;
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

  async cancel(id: string, tenant?: string): Promise<Job> {
    const job = this.#require(id, tenant);
    if (job.state === JobState.CANCELLED) return this.#view(job);
    if (isEnded(job.state)) {
      throw new JobError(
        'FAILED_PRECONDITION',
        `job ${id} already ended (${stateName(job.state)}); nothing to cancel`,
      );
    }
    const ended = cancelled(job);
    this.#set(ended);
    recordEnd(this.#options.metrics, ended);
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
    return pageOf(this.#rows.keys(), query, (id) => {
      const row = this.#rows.get(id);
      if (!row || (request?.tenant !== undefined && row.tenant !== request.tenant)) return undefined;
      return this.#view(row.job);
    });
  }

  async countByState(): Promise<Record<string, number>> {
    const counts: Record<string, number> = {};
    for (const { job } of this.#rows.values())
      counts[stateName(job.state)] = (counts[stateName(job.state)] ?? 0) + 1;
    return counts;
  }

  async countActive(tenant: string): Promise<number> {
    let count = 0;
    for (const row of this.#rows.values()) if (row.tenant === tenant && !isEnded(row.job.state)) count++;
    return count;
  }

  /**
   * Stops taking jobs. Queued jobs stay queued (a restart runs them); running
   * ones get graceMs, then are aborted and put back in the queue.
   */
  async close(options: { graceMs?: number } = {}): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#sweepTimer);
    this.#waiting.splice(0);
    const runs = [...this.#running.values()];
    const all = Promise.all(runs.map((run) => run.done));
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([all, new Promise((resolve) => (timer = setTimeout(resolve, options.graceMs ?? 0)))]);
    clearTimeout(timer);
    const reason = new JobError('UNAVAILABLE', 'the gateway shut down before the job finished');
    for (const run of runs) run.controller.abort(reason);
    await all;
    this.#db.close();
    this.#reportDepth();
  }

  /** Loads the stored jobs: queued ones wait again, runs cut short by a crash start over. */
  async #resume(): Promise<void> {
    for (const row of this.#db.all()) {
      this.#rows.set(row.job.id, row);
      if (row.idempotencyKey) this.#idByKey.set(row.idempotencyKey, row.job.id);
      if (row.job.state === JobState.RUNNING) {
        await deleteObjects(this.store, row.objects);
        this.#put({ ...row, job: requeued(row.job), objects: [] });
        this.#options.logger?.info('job requeued after a restart', { jobId: row.job.id });
      }
      if (this.#rows.get(row.job.id)?.job.state === JobState.QUEUED) this.#waiting.push(row.job.id);
    }
    if (this.#rows.size > 0)
      this.#options.logger?.info('jobs loaded', { jobs: this.#rows.size, queued: this.#waiting.length });
  }

  #require(id: string, tenant?: string): Job {
    const row = this.#rows.get(id);
    // Another tenant's job answers like an unknown one: ids are not a way to probe.
    if (!row || (tenant !== undefined && row.tenant !== tenant)) throw jobNotFound(id);
    return row.job;
  }

  /** A copy for callers, with the queue position of a waiting job (1 = next). */
  #view(job: Job): Job {
    const out = clone(JobSchema, job);
    if (out.state === JobState.QUEUED && out.progress)
      out.progress.queuePosition = this.#waiting.indexOf(job.id) + 1;
    return out;
  }

  #put(row: JobRow): void {
    this.#db.put(row, updatedAtMs(row.job));
    this.#rows.set(row.job.id, row);
    this.#notify(row.job.id);
  }

  /** Stores a new state of a known job. */
  #set(job: Job, changes: Partial<Pick<JobRow, 'attempts' | 'objects'>> = {}): void {
    const row = this.#rows.get(job.id);
    if (row) this.#put({ ...row, ...changes, job });
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

  /** Starts a run in the job's own scope: the pump may run in another job's or a submitter's. */
  #start(id: string): void {
    withJobScope(id, () => this.#startRun(id));
  }

  #startRun(id: string): void {
    const row = this.#rows.get(id);
    if (!row || row.job.state !== JobState.QUEUED) return;
    const controller = new AbortController();
    const run: Run = { controller, done: Promise.resolve() };
    this.#running.set(id, run);
    const attempt = row.attempts + 1;
    this.#set(running(row.job), { attempts: attempt, objects: [] });
    this.#options.logger?.info('job started', { jobId: id, attempt });
    recordStart(this.#options.metrics, row.job);
    run.done = this.#execute(row, attempt, controller).finally(() => {
      this.#running.delete(id);
      this.#pump();
    });
  }

  async #execute(row: JobRow, attempt: number, controller: AbortController): Promise<void> {
    const { job, traceparent } = row;
    const { id } = job;
    const deadline = runDeadline(this.#options.maxRunMs ?? DEFAULTS.maxRunMs);
    const signal = AbortSignal.any([controller.signal, deadline.signal]);
    // Registered before the bytes are written, so a crash mid-run leaves a
    // record of what to delete when the run starts over.
    const register = async (objectId: string) => {
      const row = this.#rows.get(id);
      if (row) this.#set(row.job, { objects: [...row.objects, objectId] });
    };
    const store = new JobScopedStore(this.store, id, signal, register);
    const throttle = new ProgressThrottle(
      this.#options.progressIntervalMs ?? DEFAULTS.progressIntervalMs,
      async (p) => {
        const current = this.#rows.get(id)?.job;
        if (current?.state === JobState.RUNNING) this.#set(withProgress(current, p));
      },
    );
    let finish: (current: Job) => Job;
    try {
      const config = job.config ?? create(GenerationConfigSchema);
      const result = await this.#options.executor(
        { id, config, attempt, traceparent },
        { signal, report: (p) => throttle.report(p), store },
      );
      signal.throwIfAborted(); // an executor that ignored the abort does not get to succeed
      finish = (current) => succeeded(current, result);
    } catch (error) {
      const why = signal.aborted ? errorMessage(signal.reason) : errorMessage(error);
      // Cut short by a shutdown: back to the queue, the next start runs it again.
      finish = this.#closed && controller.signal.aborted ? requeued : (current) => failed(current, why);
    } finally {
      deadline.clear();
      await throttle.stop();
    }
    const current = this.#rows.get(id)?.job;
    let keep = new Set<string>();
    if (current?.state === JobState.RUNNING) {
      const ended = finish(current);
      this.#set(ended, { objects: [] });
      if (isEnded(ended.state)) {
        recordEnd(this.#options.metrics, ended);
        this.#options.logger?.info('job ended', {
          jobId: id,
          state: stateName(ended.state),
          attempt,
          error: ended.result?.error,
        });
      }
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
    for (const [id, row] of this.#rows) {
      if (!isEnded(row.job.state) || updatedAtMs(row.job) >= cutoff) continue;
      this.#db.delete(id);
      this.#rows.delete(id);
      this.#notify(id);
      if (row.idempotencyKey) this.#idByKey.delete(row.idempotencyKey);
    }
    await this.store.deleteOlderThan(new Date(cutoff)).catch((error: unknown) => {
      this.#options.logger?.warn('object retention sweep failed', { error });
    });
  }
}
