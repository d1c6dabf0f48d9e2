// gRPC codes as HTTP statuses for the gateway's plain HTTP routes (objects, REST). The status of
// an error is decided once, by @acestep/runtime's toConnectError (the server's interceptor applies
// it to every RPC; these routes call it themselves). Connect calls answer with Connect's own HTTP
// mapping of the same codes.
import { Code, type ConnectError } from '@connectrpc/connect';
import { TOO_LARGE } from './uploads.ts';

const HTTP_STATUS: Partial<Record<Code, number>> = {
  [Code.InvalidArgument]: 400,
  [Code.FailedPrecondition]: 400,
  [Code.OutOfRange]: 416,
  [Code.Unauthenticated]: 401,
  [Code.PermissionDenied]: 403,
  [Code.NotFound]: 404,
  [Code.AlreadyExists]: 409,
  [Code.ResourceExhausted]: 429,
  [Code.Canceled]: 499,
  [Code.Unimplemented]: 501,
  [Code.Unavailable]: 503,
  [Code.DeadlineExceeded]: 504,
};

/** HTTP status of an error; an upload over --max-upload-bytes is 413. */
export function httpStatusOf(error: ConnectError): number {
  if (error.cause === TOO_LARGE) return 413;
  return HTTP_STATUS[error.code] ?? 500;
}

/** Headers an error carries to an HTTP client: Retry-After when the status has a retry hint. */
export function httpHeadersOf(error: ConnectError): Record<string, string> {
  const retryAfter = error.metadata.get('retry-after');
  return retryAfter ? { 'retry-after': retryAfter } : {};
}
