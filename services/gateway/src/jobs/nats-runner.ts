// The runner side of NATS mode: `concurrency` loops pull one job message each
// from the work queue, claim the job in KV with compare-and-set, run the
// executor while heart-beating the message (msg.working()), store the end
// state, and only then acknowledge. A replica that dies mid-run stops
// heart-beating; after ack_wait the message goes to another replica, which
// sees the dead runner's claim, takes it over (CAS again) and runs the job
// again. Redelivery of an ended job is acknowledged without running it.
import { GenerationConfigSchema, JobState } from '@acestep/proto/gateway';
import { type Logger, withJobScope } from '@acestep/runtime';
import { create } from '@bufbuild/protobuf';
import type { Consumer, JsMsg } from '@nats-io/jetstream';
import type { KV } from '@nats-io/kv';
import { errorMessage, JobError } from './errors.ts';
import {
  failed,
  isEnded,
  requeued,
  resultObjectIds,
  running,
  stateName,
  succeeded,
  withProgress,
} from './job-record.ts';
import { decodeRecord, encodeRecord, type JobRecord, recordOf } from './nats-record.ts';
import type { NatsResultStore } from './nats-store.ts';
import { JobScopedStore, ProgressThrottle, runDeadline } from './run-support.ts';
import { recordEnd, recordStart } from './service-common.ts';
import { isTransientNatsError, retryTransient } from './transient.ts';
import { DEFAULTS, type JobServiceOptions } from './types.ts';

export const jobKey = (id: string): string => `job.${id}`;

/** KV compare-and-set lost: someone else wrote the key since we read it. */
export function isConflict(error: unknown): boolean {
  return (error as { code?: unknown } | undefined)?.code === 10071;
}

interface ActiveRun {
  controller: AbortController;
  done: Promise<void>;
}

/** Serialized compare-and-set writes of one claimed job; the first lost CAS means the job is no longer ours. */
class RecordWriter {
  record: JobRecord;
  revision: number;
  lost = false;
  readonly #kv: KV;
  readonly #key: string;
  readonly #onLost: () => void;
  #chain: Promise<unknown> = Promise.resolve();

  readonly #signal: AbortSignal;
  readonly #logger: Logger | undefined;

  /** `signal` ends retries of writes while NATS is unreachable (the runner stopping). */
  constructor(
    kv: KV,
    record: JobRecord,
    revision: number,
    onLost: () => void,
    signal: AbortSignal,
    logger?: Logger,
  ) {
    this.#kv = kv;
    this.#key = jobKey(record.job.id);
    this.record = record;
    this.revision = revision;
    this.#onLost = onLost;
    this.#signal = signal;
    this.#logger = logger;
  }

  async #landed(bytes: Uint8Array): Promise<boolean> {
    const current = await this.#kv.get(this.#key);
    if (!current || !Buffer.from(current.value).equals(bytes)) return false;
    this.revision = current.revision;
    return true;
  }

  update(change: (record: JobRecord) => JobRecord): Promise<boolean> {
    const step = this.#chain.then(async () => {
      if (this.lost) return false;
      const next = change(this.record);
      const bytes = encodeRecord(next);
      let retried = false;
      try {
        this.revision = await retryTransient(
          'job record',
          async () => {
            try {
              return await this.#kv.update(this.#key, bytes, this.revision);
            } catch (error) {
              retried ||= isTransientNatsError(error);
              throw error;
            }
          },
          this.#signal,
          this.#logger,
        );
        this.record = next;
        return true;
      } catch (error) {
        if (!isConflict(error)) throw error;
        // A write whose answer was lost in an outage may have landed: then the stored record is ours.
        if (retried && (await this.#landed(bytes))) {
          this.record = next;
          return true;
        }
        this.lost = true;
        this.#onLost();
        return false;
      }
    });
    this.#chain = step.catch(() => undefined);
    return step;
  }
}

export class NatsRunner {
  readonly #kv: KV;
  readonly #store: NatsResultStore;
  readonly #options: JobServiceOptions;
  readonly #owner: string;
  readonly #active = new Map<string, ActiveRun>();
  readonly #loops: Promise<void>[] = [];
  readonly #shutdown = new JobError('UNAVAILABLE', 'the gateway shut down before the job finished');
  /** Aborted once stop()'s grace is over: ends the retries of writes while NATS is unreachable. */
  readonly #stopped = new AbortController();
  #closing = false;

  constructor(kv: KV, store: NatsResultStore, options: JobServiceOptions, owner: string) {
    this.#kv = kv;
    this.#store = store;
    this.#options = options;
    this.#owner = owner;
  }

  get #ackWaitMs(): number {
    return this.#options.nats?.ackWaitMs ?? DEFAULTS.ackWaitMs;
  }

  start(consumer: Consumer): void {
    for (let i = 0; i < this.#options.concurrency; i++) this.#loops.push(this.#loop(consumer));
  }

  /** Stops pulling; runs get graceMs, then are aborted and handed back to the queue. */
  async stop(graceMs: number): Promise<void> {
    this.#closing = true;
    const runs = [...this.#active.values()];
    // A run ended by the abort below settles with its reason; that is the expected end here.
    const all = Promise.allSettled(runs.map((run) => run.done));
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([all, new Promise((resolve) => (timer = setTimeout(resolve, graceMs)))]);
    clearTimeout(timer);
    for (const run of runs) run.controller.abort(this.#shutdown);
    this.#stopped.abort(this.#shutdown);
    await all;
  }

  /** Waits for the pull loops (they end once the connection closes). */
  async join(): Promise<void> {
    await Promise.all(this.#loops);
  }

  async #loop(consumer: Consumer): Promise<void> {
    while (!this.#closing) {
      let msg: JsMsg | null;
      try {
        msg = await consumer.next({ expires: 5_000 });
      } catch (error) {
        if (this.#closing) return;
        this.#options.logger?.warn('pulling a job failed; retrying', { error });
        await new Promise((resolve) => setTimeout(resolve, 1_000));
        continue;
      }
      if (!msg) continue;
      if (this.#closing) {
        msg.nak();
        return;
      }
      await this.#handle(msg).catch((error: unknown) => {
        // Not acknowledged: the message comes back after ack_wait.
        this.#options.logger?.error('handling a job message failed', { error });
      });
    }
  }

  async #handle(msg: JsMsg): Promise<void> {
    let sent: JobRecord;
    try {
      sent = decodeRecord(msg.data);
    } catch (error) {
      // Not a job message (or from an incompatible version): never deliver it again.
      this.#options.logger?.error('dropping an undecodable job message', { seq: msg.seq, error });
      msg.term();
      return;
    }
    // Everything about this job, its run included, is logged and forwarded as its own scope.
    await withJobScope(sent.job.id, () => this.#handleJob(msg, sent));
  }

  async #handleJob(msg: JsMsg, sent: JobRecord): Promise<void> {
    const id = sent.job.id;
    const maxAttempts = this.#options.nats?.maxAttempts ?? DEFAULTS.maxAttempts;
    for (;;) {
      const current = recordOf(await this.#kv.get(jobKey(id)));
      if (!current) {
        // The submitter died (or is slow) between publishing and recording: record it from the message.
        await this.#kv.create(jobKey(id), encodeRecord(sent)).catch((error: unknown) => {
          if (!isConflict(error)) throw error;
        });
        continue;
      }
      const { record, revision } = current;
      if (isEnded(record.job.state)) {
        // Ended earlier (a redelivery after the ack was lost, or cancelled while queued): never run twice.
        await msg.ackAck();
        return;
      }
      if (msg.info.deliveryCount > maxAttempts) {
        const next = { ...record, owner: '', objects: [], job: failed(record.job, gaveUp(maxAttempts)) };
        if (!(await this.#tryUpdate(id, next, revision))) continue;
        await this.#deleteObjects(record.objects);
        recordEnd(this.#options.metrics, next.job);
        await msg.ackAck();
        return;
      }
      const claimed: JobRecord = {
        ...record,
        owner: this.#owner,
        attempt: record.attempt + 1,
        objects: [],
        job: running(record.job),
      };
      const claimedRevision = await this.#tryUpdate(id, claimed, revision);
      if (claimedRevision === undefined) continue;
      if (record.owner) {
        this.#options.logger?.info('taking over a job whose runner stopped', {
          jobId: id,
          previous: record.owner,
        });
      }
      await this.#deleteObjects(record.objects); // the stopped attempt's partial output
      this.#options.logger?.info('job started', { jobId: id, attempt: claimed.attempt });
      recordStart(this.#options.metrics, record.job);
      await this.#run(msg, claimed, claimedRevision);
      return;
    }
  }

  async #tryUpdate(id: string, record: JobRecord, revision: number): Promise<number | undefined> {
    try {
      return await this.#kv.update(jobKey(id), encodeRecord(record), revision);
    } catch (error) {
      if (isConflict(error)) return undefined;
      throw error;
    }
  }

  async #run(msg: JsMsg, claimed: JobRecord, revision: number): Promise<void> {
    const id = claimed.job.id;
    const controller = new AbortController();
    const run: ActiveRun = { controller, done: Promise.resolve() };
    this.#active.set(id, run);
    const heartbeat = setInterval(() => msg.working(), Math.max(50, Math.floor(this.#ackWaitMs / 3)));
    try {
      run.done = this.#execute(msg, claimed, revision, controller);
      await run.done;
    } finally {
      clearInterval(heartbeat);
      this.#active.delete(id);
    }
  }

  async #execute(
    msg: JsMsg,
    claimed: JobRecord,
    revision: number,
    controller: AbortController,
  ): Promise<void> {
    const id = claimed.job.id;
    const changed = new JobError('ABORTED', `job ${id} was cancelled or taken over by another runner`);
    const writer = new RecordWriter(
      this.#kv,
      claimed,
      revision,
      () => controller.abort(changed),
      this.#stopped.signal,
      this.#options.logger,
    );
    const stopWatch = await this.#watchForChanges(id, revision, () => controller.abort(changed));
    const deadline = runDeadline(this.#options.maxRunMs ?? DEFAULTS.maxRunMs);
    const signal = AbortSignal.any([controller.signal, deadline.signal]);
    const store = new JobScopedStore(this.#store, id, signal, async (objectId) => {
      const registered = await writer.update((r) => ({ ...r, objects: [...r.objects, objectId] }));
      if (!registered) throw changed;
    });
    const throttle = new ProgressThrottle(
      this.#options.progressIntervalMs ?? DEFAULTS.progressIntervalMs,
      (p) => writer.update((r) => ({ ...r, job: withProgress(r.job, p) })),
    );
    let end: (record: JobRecord) => JobRecord;
    let handBack = false;
    try {
      const result = await this.#options.executor(
        {
          id,
          config: claimed.job.config ?? create(GenerationConfigSchema),
          attempt: claimed.attempt,
          traceparent: claimed.traceparent,
        },
        { signal, report: (p) => throttle.report(p), store },
      );
      signal.throwIfAborted(); // an executor that ignored the abort does not get to succeed
      end = (r) => ({ ...r, objects: [...resultObjectIds(result)], job: succeeded(r.job, result) });
    } catch (error) {
      const why = signal.aborted ? errorMessage(signal.reason) : errorMessage(error);
      end = (r) => ({ ...r, objects: [], job: failed(r.job, why) });
      // NATS went away under the run (its result could not be stored): not the job's fault, run it again.
      handBack = !signal.aborted && isTransientNatsError(error);
    } finally {
      deadline.clear();
      stopWatch();
      await throttle.stop();
    }
    if (signal.reason === this.#shutdown || handBack) {
      // Hand the job back now rather than after ack_wait.
      if (handBack)
        this.#options.logger?.warn('NATS failed under a run; handing the job back', { jobId: id });
      if (await writer.update((r) => ({ ...r, owner: '', objects: [], job: requeued(r.job) }))) {
        await this.#deleteObjects(store.objectIds);
        msg.nak(handBack ? 1_000 : undefined);
      }
      return;
    }
    if (await writer.update(end)) {
      const kept = new Set(writer.record.objects);
      await this.#deleteObjects(store.objectIds.filter((objectId) => !kept.has(objectId)));
      const { job } = writer.record;
      recordEnd(this.#options.metrics, job);
      this.#options.logger?.info('job ended', {
        jobId: id,
        state: stateName(job.state),
        error: job.result?.error,
      });
      // Only now: the end state is stored. A lost ack means a redelivery, which sees the end state.
      await retryTransient('job ack', () => msg.ackAck(), this.#stopped.signal, this.#options.logger);
      return;
    }
    await this.#afterLost(msg, id, store.objectIds);
  }

  /** Deletes objects of an abandoned attempt, retrying while NATS is unreachable (else they would leak). */
  async #deleteObjects(objectIds: Iterable<string>): Promise<void> {
    const signal = this.#stopped.signal;
    const remove = (id: string) =>
      retryTransient('object delete', () => this.#store.deleteObject(id), signal);
    await Promise.all([...objectIds].map((id) => remove(id).catch(() => false)));
  }

  /** Our CAS lost: cancelled (clean up, acknowledge) or taken over (leave the message to the new owner). */
  async #afterLost(msg: JsMsg, id: string, objectIds: string[]): Promise<void> {
    const current = recordOf(await this.#kv.get(jobKey(id)));
    if (current && current.record.owner !== this.#owner && !isEnded(current.record.job.state)) {
      this.#options.logger?.warn('another runner took the job over; dropping this run', { jobId: id });
      return;
    }
    await this.#deleteObjects(objectIds);
    await msg.ackAck();
  }

  /** Aborts the run as soon as anyone else writes the job (a cancel, or a takeover). */
  async #watchForChanges(id: string, claimedRevision: number, onChange: () => void): Promise<() => void> {
    const watcher = await this.#kv.watch({ key: jobKey(id) });
    void (async () => {
      for await (const entry of watcher) {
        if (entry.revision <= claimedRevision) continue;
        const record = entry.operation === 'PUT' ? decodeRecord(entry.value) : undefined;
        if (!record || record.owner !== this.#owner || record.job.state !== JobState.RUNNING) onChange();
      }
    })().catch(() => undefined);
    return () => watcher.stop();
  }
}

function gaveUp(maxAttempts: number): string {
  return `gave up after ${maxAttempts} attempts: the runner stopped (crashed or lost NATS) each time`;
}
