// Errors with a gRPC status, and the one mapping from any thrown value to the status a caller sees.
//
// Code below the transport edge (orchestrator, jobs, cores) throws plain errors that carry a status
// name in `code` (StatusError, or any error class of its own with such a `code`); it never builds a
// ConnectError. The server's interceptor (server.ts) passes every error a handler throws through
// toConnectError, so one rule decides every status on every service.
import { Code, ConnectError } from '@connectrpc/connect';

/** gRPC status names and numbers (the same numbers as Connect's `Code`). */
export const STATUS = {
  CANCELLED: 1,
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  ALREADY_EXISTS: 6,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9,
  ABORTED: 10,
  OUT_OF_RANGE: 11,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  DATA_LOSS: 15,
  UNAUTHENTICATED: 16,
} as const;

export type StatusName = keyof typeof STATUS;

/** An error that says which status it is. */
export class StatusError extends Error {
  readonly code: StatusName;
  /** Sent with the status (gRPC trailers, HTTP headers), e.g. retry-after. */
  readonly metadata: Headers;

  constructor(
    code: StatusName,
    message: string,
    options?: { cause?: unknown; metadata?: Record<string, string> },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'StatusError';
    this.code = code;
    this.metadata = new Headers(options?.metadata);
  }

  get grpcCode(): number {
    return STATUS[this.code];
  }
}

/** True for any error whose `code` is a status name (StatusError, JobError, a core's input error...). */
export function hasStatus(error: unknown): error is Error & { code: StatusName } {
  return (
    error instanceof Error &&
    typeof (error as Error & { code?: unknown }).code === 'string' &&
    Object.hasOwn(STATUS, (error as Error & { code: string }).code)
  );
}

/** The status name of any thrown value (UNKNOWN when it carries none). */
export function statusName(error: unknown): StatusName {
  if (hasStatus(error)) return error.code;
  const code = error instanceof ConnectError ? (error.code as number) : STATUS.UNKNOWN;
  return STATUS_NAMES[code] ?? 'UNKNOWN';
}

const STATUS_NAMES: Record<number, StatusName> = Object.fromEntries(
  Object.entries(STATUS).map(([name, code]) => [code, name as StatusName]),
);

/** An abort reason as a status: a deadline is DEADLINE_EXCEEDED, anything else CANCELLED. */
function abortStatus(reason: unknown): ConnectError {
  if (reason instanceof ConnectError) return reason;
  if (hasStatus(reason)) return new ConnectError(reason.message, STATUS[reason.code] as number as Code);
  const name = (reason as { name?: unknown } | undefined)?.name;
  if (name === 'TimeoutError') return new ConnectError('the deadline was exceeded', Code.DeadlineExceeded);
  return new ConnectError('the call was cancelled', Code.Canceled);
}

/**
 * The status of a thrown value. `signal` is the call's: when it has aborted, the abort's reason
 * decides (a client's deadline answers DEADLINE_EXCEEDED, not the CANCELLED the work saw when its
 * stage calls were cut).
 */
export function toConnectError(error: unknown, signal?: AbortSignal): ConnectError {
  if (signal?.aborted) {
    // A status of the handler's own wins; a cut (CANCELLED) or a plain error takes the abort's reason.
    const name = error instanceof ConnectError || hasStatus(error) ? statusName(error) : undefined;
    if (name === undefined || name === 'CANCELLED' || name === 'DEADLINE_EXCEEDED')
      return abortStatus(signal.reason);
  }
  if (error instanceof ConnectError) return error;
  if (hasStatus(error)) {
    const metadata = error instanceof StatusError ? error.metadata : undefined;
    return new ConnectError(error.message, STATUS[error.code] as number as Code, metadata);
  }
  if (error instanceof Error && (error.name === 'AbortError' || error.name === 'TimeoutError'))
    return abortStatus(error);
  // Anything else is a fault of ours, not of the request.
  return ConnectError.from(error, Code.Internal);
}
