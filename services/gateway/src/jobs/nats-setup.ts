// Creates (or updates) the JetStream stream, the runners' durable consumer,
// the jobs KV bucket and the object bucket. Only features of nats-server 2.9
// are used: no consumer filter_subjects, no metadata, no compression, no
// per-key TTL (retention is the bucket's max_age).
import {
  AckPolicy,
  DiscardPolicy,
  type JetStreamClient,
  type JetStreamManager,
  RetentionPolicy,
  StorageType,
  type StreamConfig,
} from '@nats-io/jetstream';
import { type KV, Kvm } from '@nats-io/kv';
import { type ObjectStore, Objm } from '@nats-io/obj';
import { DEFAULTS, type JobServiceOptions, type NatsNames } from './types.ts';

export const DEFAULT_NAMES: NatsNames = {
  stream: 'ACESTEP_JOBS',
  subject: 'acestep.jobs.run',
  consumer: 'acestep-job-runners',
  jobsBucket: 'acestep_jobs',
  objectBucket: 'acestep_audio',
};

/** A message's id stays deduplicated this long (a retried publish of the same job is dropped). */
const DUPLICATE_WINDOW_MS = 120_000;

export const nanos = (ms: number): number => Math.round(ms * 1_000_000);

export interface NatsResources {
  names: NatsNames;
  kv: KV;
  os: ObjectStore;
}

export async function ensureResources(
  js: JetStreamClient,
  jsm: JetStreamManager,
  options: JobServiceOptions,
): Promise<NatsResources> {
  const names = { ...DEFAULT_NAMES, ...options.nats?.names };
  const replicas = options.nats?.replicas ?? 1;
  const retentionMs = options.retentionMs ?? DEFAULTS.retentionMs;
  const stream: Partial<StreamConfig> & { name: string } = {
    name: names.stream,
    subjects: [names.subject],
    retention: RetentionPolicy.Workqueue,
    storage: StorageType.File,
    num_replicas: replicas,
    // The queue bound, enforced by the server for every replica at once: a
    // message stays until its job has ended, so this counts queued + running.
    max_msgs: options.maxQueued,
    discard: DiscardPolicy.New,
    duplicate_window: nanos(DUPLICATE_WINDOW_MS),
  };
  const existing = await jsm.streams.info(names.stream).catch(() => undefined);
  if (existing) await jsm.streams.update(names.stream, stream);
  else await jsm.streams.add(stream);

  const consumer = {
    durable_name: names.consumer,
    ack_policy: AckPolicy.Explicit,
    ack_wait: nanos(options.nats?.ackWaitMs ?? DEFAULTS.ackWaitMs),
    // One delivery more than the attempts: the last one only records FAILED.
    max_deliver: (options.nats?.maxAttempts ?? DEFAULTS.maxAttempts) + 1,
  };
  const hasConsumer = await jsm.consumers.info(names.stream, names.consumer).then(
    () => true,
    () => false,
  );
  if (hasConsumer) await jsm.consumers.update(names.stream, names.consumer, consumer);
  else await jsm.consumers.add(names.stream, consumer);

  const kv = await new Kvm(js).create(names.jobsBucket, {
    history: 1,
    ttl: retentionMs,
    replicas,
    storage: StorageType.File,
  });
  const os = await new Objm(js).create(names.objectBucket, {
    ttl: nanos(retentionMs),
    replicas,
    storage: StorageType.File,
  });
  return { names, kv, os };
}
