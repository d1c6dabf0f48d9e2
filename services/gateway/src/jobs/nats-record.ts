// What a job's KV value (and its work-queue message) holds: the Job message
// (protobuf binary, base64, so fields unknown to an older replica survive a
// rewrite) plus the runner's bookkeeping, in JSON so `nats kv get` is legible.
import { type Job, JobSchema } from '@acestep/proto/gateway';
import { fromBinary, toBinary } from '@bufbuild/protobuf';
import type { KvEntry } from '@nats-io/kv';

export interface JobRecord {
  job: Job;
  /** The runner that claimed the job last ("" = none); a runner whose id is gone from here stops. */
  owner: string;
  /** Claims so far (runs started). */
  attempt: number;
  /** Objects the current attempt stored (registered before their bytes are written). */
  objects: string[];
  /** Stream sequence of the job's work-queue message (0 = unknown). */
  seq: number;
  /** The tenant (API key name) that submitted the job; '' when keys are off. */
  tenant: string;
  /** W3C traceparent of the submitting call ('' = none). */
  traceparent: string;
}

interface Wire {
  v: 1;
  owner: string;
  attempt: number;
  objects: string[];
  seq: number;
  /** Absent in records written before tenants existed. */
  tenant?: string;
  traceparent?: string;
  job: string;
}

export function encodeRecord(record: JobRecord): Uint8Array {
  const wire: Wire = {
    v: 1,
    owner: record.owner,
    attempt: record.attempt,
    objects: record.objects,
    seq: record.seq,
    tenant: record.tenant,
    traceparent: record.traceparent,
    job: Buffer.from(toBinary(JobSchema, record.job)).toString('base64'),
  };
  return new TextEncoder().encode(JSON.stringify(wire));
}

export function decodeRecord(bytes: Uint8Array): JobRecord {
  const wire = JSON.parse(new TextDecoder().decode(bytes)) as Wire;
  if (wire.v !== 1) throw new Error(`job record version ${String(wire.v)} is not supported`);
  return {
    owner: wire.owner,
    attempt: wire.attempt,
    objects: wire.objects,
    seq: wire.seq,
    tenant: wire.tenant ?? '',
    traceparent: wire.traceparent ?? '',
    job: fromBinary(JobSchema, Buffer.from(wire.job, 'base64')),
  };
}

/** The record of a KV entry, undefined for a missing or deleted key. */
export function recordOf(entry: KvEntry | null): { record: JobRecord; revision: number } | undefined {
  if (entry?.operation !== 'PUT') return undefined;
  return { record: decodeRecord(entry.value), revision: entry.revision };
}
