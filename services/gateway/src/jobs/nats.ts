// The NATS job service: jobs on a JetStream work-queue stream, job state in a
// KV bucket (any replica answers get/watch/list/cancel), objects in the
// Object Store. See README.md for the names and the delivery guarantees.
import { createHash, randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { type GenerationConfig, type Job, JobState } from '@acestep/proto/gateway';
import { type JetStreamClient, type JetStreamManager, jetstream, jetstreamManager } from '@nats-io/jetstream';
import type { KV } from '@nats-io/kv';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { errorMessage, JobError } from './errors.ts';
import { isJobId, newJobId } from './ids.ts';
import { cancelled, isEnded, newJob, stateName } from './job-record.ts';
import { encodeRecord, type JobRecord, recordOf } from './nats-record.ts';
import { isConflict, jobKey, NatsRunner } from './nats-runner.ts';
import { ensureResources } from './nats-setup.ts';
import { NatsResultStore } from './nats-store.ts';
import { pageOf, parseListRequest } from './paging.ts';
import { deleteObjects, storeInlineAudio } from './run-support.ts';
import {
  checkIdempotencyKey,
  checkServiceOptions,
  jobNotFound,
  QUEUE_NAME,
  queueFull,
  recordEnd,
  scopedIdempotencyKey,
} from './service-common.ts';
import type {
  JobService,
  JobServiceOptions,
  ListJobsPage,
  ListJobsRequest,
  NatsNames,
  SubmitMeta,
} from './types.ts';

/** An idempotency key whose job never got recorded (its submitter died) is taken over after this. */
const KEY_GRACE_MS = 10_000;
const DEPTH_POLL_MS = 5_000;
/** JetStream error: stream limit reached with discard=new. */
const MAX_MESSAGES_EXCEEDED = 10077;

const idemKey = (key: string): string => `idem.${createHash('sha256').update(key).digest('hex')}`;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export class NatsJobService implements JobService {
  readonly mode = 'nats';
  readonly store: NatsResultStore;
  /** This process's runner id, as written in the `owner` of the jobs it claims. */
  readonly owner: string;
  readonly #nc: NatsConnection;
  readonly #js: JetStreamClient;
  readonly #jsm: JetStreamManager;
  readonly #kv: KV;
  readonly #names: NatsNames;
  readonly #options: JobServiceOptions;
  readonly #runner: NatsRunner;
  #depthTimer: NodeJS.Timeout | undefined;
  #closed = false;

  private constructor(
    nc: NatsConnection,
    js: JetStreamClient,
    jsm: JetStreamManager,
    resources: Awaited<ReturnType<typeof ensureResources>>,
    options: JobServiceOptions,
  ) {
    this.#nc = nc;
    this.#js = js;
    this.#jsm = jsm;
    this.#kv = resources.kv;
    this.#names = resources.names;
    this.#options = options;
    this.store = new NatsResultStore(resources.os, options.maxObjectBytes);
    this.owner = `${hostname()}/${process.pid}/${randomBytes(4).toString('hex')}`;
    this.#runner = new NatsRunner(this.#kv, this.store, options, this.owner);
  }

  static async start(options: JobServiceOptions & { natsUrl: string }): Promise<NatsJobService> {
    checkServiceOptions(options, 0);
    const nc = await connect({
      servers: options.natsUrl,
      name: 'acestep-gateway-jobs',
      maxReconnectAttempts: -1,
    }).catch((error: unknown) => {
      throw new JobError('UNAVAILABLE', `cannot reach NATS at ${options.natsUrl}: ${errorMessage(error)}`, {
        cause: error,
      });
    });
    try {
      const js = jetstream(nc);
      const jsm = await jetstreamManager(nc);
      const service = new NatsJobService(nc, js, jsm, await ensureResources(js, jsm, options), options);
      if (options.concurrency > 0) {
        service.#runner.start(await js.consumers.get(service.#names.stream, service.#names.consumer));
      }
      if (options.metrics?.queueDepth) service.#pollDepth();
      return service;
    } catch (error) {
      await nc.close();
      throw error;
    }
  }

  async submit(config: GenerationConfig, rawKey = '', meta: SubmitMeta = {}): Promise<Job> {
    const tenant = meta.tenant ?? '';
    await this.#options.check?.(config);
    return this.#guard(async () => {
      this.#assertOpen();
      checkIdempotencyKey(rawKey);
      const idempotencyKey = scopedIdempotencyKey(rawKey, tenant);
      if (idempotencyKey) {
        const known = await this.#jobOfKey(idempotencyKey);
        if (known) return known;
      }
      const prepared = await storeInlineAudio(config, this.store);
      let published = false;
      try {
        const id = newJobId();
        if (idempotencyKey) {
          const other = await this.#claimKey(idempotencyKey, id);
          if (other) {
            await deleteObjects(this.store, prepared.objectIds);
            return other;
          }
        }
        const record: JobRecord = {
          job: newJob(id, prepared.config),
          owner: '',
          attempt: 0,
          objects: [],
          seq: 0,
          tenant,
          traceparent: meta.traceparent ?? '',
        };
        record.seq = await this.#publish(record, idempotencyKey);
        published = true;
        await this.#kv.create(jobKey(id), encodeRecord(record)).catch((error: unknown) => {
          // A runner already recorded it from the message (and maybe started it).
          if (isConflict(error)) return;
          this.#options.logger?.warn('recording a queued job failed; its runner will record it', {
            jobId: id,
            error,
          });
        });
        return record.job;
      } catch (error) {
        if (!published) await deleteObjects(this.store, prepared.objectIds);
        throw error;
      }
    });
  }

  get(id: string, tenant?: string): Promise<Job> {
    return this.#guard(async () => (await this.#require(id, tenant)).record.job);
  }

  async *watch(id: string, signal?: AbortSignal, tenant?: string): AsyncGenerator<Job> {
    const first = await this.#guard(() => this.#require(id, tenant));
    yield first.record.job;
    if (isEnded(first.record.job.state) || signal?.aborted) return;
    let lastRevision = first.revision;
    const watcher = await this.#guard(() => this.#kv.watch({ key: jobKey(id) }));
    const stop = () => watcher.stop();
    signal?.addEventListener('abort', stop, { once: true });
    try {
      for await (const entry of watcher) {
        if (entry.revision <= lastRevision) continue;
        lastRevision = entry.revision;
        const current = recordOf(entry);
        if (!current) return; // expired or deleted
        yield current.record.job;
        if (isEnded(current.record.job.state)) return;
      }
      if (!signal?.aborted)
        throw new JobError('UNAVAILABLE', `watching job ${id} was interrupted (NATS connection lost)`);
    } finally {
      signal?.removeEventListener('abort', stop);
      watcher.stop();
    }
  }

  cancel(id: string, tenant?: string): Promise<Job> {
    return this.#guard(async () => {
      for (;;) {
        const { record, revision } = await this.#require(id, tenant);
        const { job } = record;
        if (job.state === JobState.CANCELLED) return job;
        if (isEnded(job.state)) {
          throw new JobError(
            'FAILED_PRECONDITION',
            `job ${id} already ended (${stateName(job.state)}); nothing to cancel`,
          );
        }
        const next: JobRecord = { ...record, job: cancelled(job) };
        try {
          await this.#kv.update(jobKey(id), encodeRecord(next), revision);
        } catch (error) {
          if (isConflict(error)) continue; // progress or a claim landed meanwhile: read again
          throw error;
        }
        recordEnd(this.#options.metrics, next.job);
        // A queued job frees its queue slot at once; a running one is stopped by its runner's key watch.
        if (job.state === JobState.QUEUED && record.seq > 0) {
          await this.#jsm.streams.deleteMessage(this.#names.stream, record.seq, false).catch(() => false);
        }
        return next.job;
      }
    });
  }

  list(request?: ListJobsRequest): Promise<ListJobsPage> {
    return this.#guard(async () => {
      const query = parseListRequest(request);
      const ids: string[] = [];
      for await (const key of await this.#kv.keys('job.*')) ids.push(key.slice('job.'.length));
      return pageOf(ids, query, async (id) => {
        const record = recordOf(await this.#kv.get(jobKey(id)))?.record;
        if (request?.tenant !== undefined && record?.tenant !== request.tenant) return undefined;
        return record?.job;
      });
    });
  }

  /** Reads every job record (the quota check of a tenant; fine for thousands of retained jobs). */
  async countActive(tenant: string): Promise<number> {
    let count = 0;
    for (const record of await this.#allRecords())
      if (record.tenant === tenant && !isEnded(record.job.state)) count++;
    return count;
  }

  /** Reads every job record (a metrics scrape; fine for thousands of retained jobs). */
  async countByState(): Promise<Record<string, number>> {
    const counts: Record<string, number> = {};
    for (const { job } of await this.#allRecords())
      counts[stateName(job.state)] = (counts[stateName(job.state)] ?? 0) + 1;
    return counts;
  }

  #allRecords(): Promise<JobRecord[]> {
    return this.#guard(async () => {
      const records: JobRecord[] = [];
      for await (const key of await this.#kv.keys('job.*')) {
        const record = recordOf(await this.#kv.get(key))?.record;
        if (record) records.push(record);
      }
      return records;
    });
  }

  async close(options: { graceMs?: number } = {}): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#depthTimer);
    await this.#runner.stop(options.graceMs ?? 0);
    await this.#nc.close();
    await this.#runner.join();
  }

  async #require(id: string, tenant?: string): Promise<{ record: JobRecord; revision: number }> {
    const current = isJobId(id) ? recordOf(await this.#kv.get(jobKey(id))) : undefined;
    // Another tenant's job answers like an unknown one: ids are not a way to probe.
    if (!current || (tenant !== undefined && current.record.tenant !== tenant)) throw jobNotFound(id);
    return current;
  }

  async #publish(record: JobRecord, idempotencyKey: string): Promise<number> {
    const payload = encodeRecord(record);
    const limit = this.#nc.info?.max_payload ?? 1 << 20;
    if (payload.byteLength > limit) {
      throw new JobError(
        'INVALID_ARGUMENT',
        `the job's config is ${payload.byteLength} bytes; at most ${limit} fit`,
      );
    }
    try {
      return (await this.#js.publish(this.#names.subject, payload, { msgID: record.job.id })).seq;
    } catch (error) {
      if ((error as { code?: unknown }).code !== MAX_MESSAGES_EXCEEDED) throw error;
      if (idempotencyKey) await this.#kv.delete(idemKey(idempotencyKey)).catch(() => undefined);
      this.#options.metrics?.queueRejected?.inc({ queue: QUEUE_NAME });
      throw queueFull(this.#options.maxQueued);
    }
  }

  async #jobOfKey(key: string): Promise<Job | undefined> {
    const entry = await this.#kv.get(idemKey(key));
    if (entry?.operation !== 'PUT') return undefined;
    return recordOf(await this.#kv.get(jobKey(entry.string())))?.record.job;
  }

  /** Takes the key for id; returns the job that already holds it instead, if any. */
  async #claimKey(key: string, id: string): Promise<Job | undefined> {
    const k = idemKey(key);
    for (;;) {
      try {
        await this.#kv.create(k, id);
        return undefined;
      } catch (error) {
        if (!isConflict(error)) throw error;
      }
      const entry = await this.#kv.get(k);
      if (entry?.operation !== 'PUT') continue;
      const job = recordOf(await this.#kv.get(jobKey(entry.string())))?.record.job;
      if (job) return job;
      // The holder is between taking the key and recording its job, or died there.
      if (Date.now() - entry.created.getTime() < KEY_GRACE_MS) {
        await sleep(100);
        continue;
      }
      try {
        await this.#kv.update(k, id, entry.revision);
        return undefined;
      } catch (error) {
        if (!isConflict(error)) throw error;
      }
    }
  }

  #pollDepth(): void {
    const poll = async () => {
      const info = await this.#jsm.consumers.info(this.#names.stream, this.#names.consumer);
      this.#options.metrics?.queueDepth?.set({ queue: QUEUE_NAME }, info.num_pending);
    };
    this.#depthTimer = setInterval(() => void poll().catch(() => undefined), DEPTH_POLL_MS);
    this.#depthTimer.unref();
    void poll().catch(() => undefined);
  }

  #assertOpen(): void {
    if (this.#closed) throw new JobError('UNAVAILABLE', 'the job service is shutting down');
  }

  /** NATS failures become UNAVAILABLE (retryable); the layer's own errors pass through. */
  async #guard<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (error) {
      if (error instanceof JobError) throw error;
      throw new JobError('UNAVAILABLE', `job store (NATS) unavailable: ${errorMessage(error)}`, {
        cause: error,
      });
    }
  }
}
