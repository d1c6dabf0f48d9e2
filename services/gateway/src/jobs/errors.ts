// Typed errors of the job layer. Each carries a gRPC status name and its
// number (the same numbers as Connect's `Code`), so the gRPC layer maps them
// with `new ConnectError(e.message, e.grpcCode)` and this layer knows nothing
// of gRPC.

const GRPC_CODES = {
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9,
  ABORTED: 10,
  INTERNAL: 13,
  UNAVAILABLE: 14,
} as const;

export type JobErrorCode = keyof typeof GRPC_CODES;

export class JobError extends Error {
  readonly code: JobErrorCode;
  readonly grpcCode: number;

  constructor(code: JobErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'JobError';
    this.code = code;
    this.grpcCode = GRPC_CODES[code];
  }
}

export function isJobError(error: unknown, code?: JobErrorCode): error is JobError {
  return error instanceof JobError && (code === undefined || error.code === code);
}

/** The message of any thrown value, for logs and FAILED results. */
export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
