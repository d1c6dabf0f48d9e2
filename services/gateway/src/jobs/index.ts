// The job layer: one JobService interface, two implementations. NATS when a
// URL is configured (jobs survive a crash and any replica serves them), the
// embedded in-process queue otherwise.
import { EmbeddedJobService } from './embedded.ts';
import { NatsJobService } from './nats.ts';
import type { JobService, JobServiceOptions } from './types.ts';

export { DiskResultStore } from './disk-store.ts';
export { EmbeddedJobService } from './embedded.ts';
export { errorMessage, isJobError, JobError, type JobErrorCode } from './errors.ts';
export { isJobId } from './ids.ts';
export { isEnded, stateName } from './job-record.ts';
export { NatsJobService } from './nats.ts';
export { DEFAULT_NAMES } from './nats-setup.ts';
export { NatsResultStore } from './nats-store.ts';
export * from './types.ts';

export async function createJobService(options: JobServiceOptions): Promise<JobService> {
  const { natsUrl } = options;
  if (natsUrl) return NatsJobService.start({ ...options, natsUrl });
  return EmbeddedJobService.start(options);
}
