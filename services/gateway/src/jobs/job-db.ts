// Durable job state of the embedded mode: one SQLite file (`<dataDir>/jobs.sqlite`)
// through Node's built-in `node:sqlite`, so a single-box gateway that is
// restarted (or killed) resumes its queued jobs and still serves finished ones.
// Why node:sqlite: it ships with Node 24 (nothing to install or compile), is
// synchronous (a write is committed when the call returns, so the state a
// caller was answered with is on disk), and WAL mode keeps writes cheap.
// The Job is stored as its protobuf binary (fields a newer gateway added
// survive an older one), beside the columns the service queries.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { DatabaseSync, type StatementSync } from 'node:sqlite';
import { type Job, JobSchema } from '@acestep/proto/gateway';
import { fromBinary, toBinary } from '@bufbuild/protobuf';

/** One stored job and what the service keeps beside it. */
export interface JobRow {
  job: Job;
  /** The tenant (API key name) that submitted it; '' when keys are off. */
  tenant: string;
  /** Runs started so far (the executor's `attempt` is this + 1 on the next run). */
  attempts: number;
  /** The idempotency key it was submitted with ('' = none), already scoped to the tenant. */
  idempotencyKey: string;
  /** Objects the current attempt stored (deleted if the attempt does not succeed). */
  objects: string[];
  /** W3C traceparent of the submitting call ('' = none). */
  traceparent: string;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS jobs (
  id TEXT PRIMARY KEY,
  tenant TEXT NOT NULL,
  state INTEGER NOT NULL,
  updated_ms INTEGER NOT NULL,
  attempts INTEGER NOT NULL,
  idem_key TEXT,
  objects TEXT NOT NULL,
  traceparent TEXT NOT NULL,
  job BLOB NOT NULL
) STRICT;
CREATE UNIQUE INDEX IF NOT EXISTS jobs_idem ON jobs (idem_key) WHERE idem_key IS NOT NULL;
`;

const SQLITE_BUSY = 5;

export class JobDb {
  readonly path: string;
  readonly #db: DatabaseSync;
  readonly #upsert: StatementSync;
  readonly #delete: StatementSync;
  readonly #all: StatementSync;

  constructor(dataDir: string) {
    mkdirSync(dataDir, { recursive: true });
    this.path = join(dataDir, 'jobs.sqlite');
    this.#db = new DatabaseSync(this.path);
    try {
      // One process owns a data directory (two would both run its queued
      // jobs): the exclusive lock is taken here and held until the process
      // ends, however it ends (the OS drops the lock of a killed process).
      // WAL + synchronous=FULL: every committed write survives a process kill
      // and a power loss; a crash mid-write leaves the previous state.
      this.#db.exec(
        'PRAGMA busy_timeout = 0; PRAGMA locking_mode = EXCLUSIVE; PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;',
      );
      this.#db.exec(SCHEMA);
      this.#db.exec('BEGIN IMMEDIATE; COMMIT;');
    } catch (error) {
      this.#db.close();
      if ((error as { errcode?: number }).errcode === SQLITE_BUSY) {
        throw new Error(
          `the data directory ${dataDir} is in use by another gateway process (${this.path} is locked); ` +
            'give each gateway its own --data-dir, or share jobs between replicas with --nats-url',
        );
      }
      throw error;
    }
    this.#upsert = this.#db.prepare(
      `INSERT INTO jobs (id, tenant, state, updated_ms, attempts, idem_key, objects, traceparent, job)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (id) DO UPDATE SET state = excluded.state, updated_ms = excluded.updated_ms,
         attempts = excluded.attempts, objects = excluded.objects, job = excluded.job`,
    );
    this.#delete = this.#db.prepare('DELETE FROM jobs WHERE id = ?');
    this.#all = this.#db.prepare(
      'SELECT tenant, attempts, idem_key, objects, traceparent, job FROM jobs ORDER BY id',
    );
  }

  put(row: JobRow, updatedMs: number): void {
    this.#upsert.run(
      row.job.id,
      row.tenant,
      row.job.state,
      updatedMs,
      row.attempts,
      row.idempotencyKey || null,
      JSON.stringify(row.objects),
      row.traceparent,
      toBinary(JobSchema, row.job),
    );
  }

  delete(id: string): void {
    this.#delete.run(id);
  }

  /** Every stored job, oldest first (ids are ordered by creation time). */
  all(): JobRow[] {
    return this.#all.all().map((r) => ({
      job: fromBinary(JobSchema, r.job as Uint8Array),
      tenant: r.tenant as string,
      attempts: Number(r.attempts),
      idempotencyKey: (r.idem_key as string | null) ?? '',
      objects: JSON.parse(r.objects as string) as string[],
      traceparent: r.traceparent as string,
    }));
  }

  close(): void {
    if (this.#db.isOpen) this.#db.close();
  }
}
