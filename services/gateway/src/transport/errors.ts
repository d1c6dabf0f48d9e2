// The one error-to-status mapping at the gateway's edge: errors of the layers
// below (jobs, audio input) as gRPC codes, and gRPC codes as HTTP statuses for
// the plain HTTP routes (objects, REST). Connect calls answer with Connect's own
// HTTP mapping of the same codes.
import { isAudioInputError } from '@acestep/audio';
import { Code, ConnectError } from '@connectrpc/connect';
import { isJobError } from '../jobs/index.ts';
import { TOO_LARGE } from './uploads.ts';

/** Errors of the layers below as gRPC statuses a caller can act on. */
export function toStatus(error: unknown): ConnectError {
  if (error instanceof ConnectError) return error;
  if (isJobError(error)) return new ConnectError(error.message, error.grpcCode as Code);
  if (isAudioInputError(error))
    return new ConnectError(`audio input: ${error.message}`, Code.InvalidArgument);
  return ConnectError.from(error);
}

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
