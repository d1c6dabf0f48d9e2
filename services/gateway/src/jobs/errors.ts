// Typed errors of the job layer: StatusErrors (@acestep/runtime) limited to the statuses this layer
// answers with. The server's one mapping turns them into gRPC statuses; this layer knows nothing of
// gRPC.
import { StatusError } from '@acestep/runtime';

export type JobErrorCode =
  | 'INVALID_ARGUMENT'
  | 'DEADLINE_EXCEEDED'
  | 'NOT_FOUND'
  | 'RESOURCE_EXHAUSTED'
  | 'FAILED_PRECONDITION'
  | 'ABORTED'
  | 'INTERNAL'
  | 'UNAVAILABLE';

export class JobError extends StatusError {
  declare readonly code: JobErrorCode;

  constructor(code: JobErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
    this.name = 'JobError';
  }
}

export function isJobError(error: unknown, code?: JobErrorCode): error is JobError {
  return error instanceof JobError && (code === undefined || error.code === code);
}

/** The message of any thrown value, for logs and FAILED results. */
export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
