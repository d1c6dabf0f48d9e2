import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Code, ConnectError } from '@connectrpc/connect';
import { StatusError, statusName, toConnectError } from './status.ts';

describe('toConnectError (the one error → status mapping)', () => {
  it('keeps the status and message of errors that carry one, and their metadata', () => {
    const e = toConnectError(
      new StatusError('RESOURCE_EXHAUSTED', 'over the limit', { metadata: { 'retry-after': '3' } }),
    );
    assert.equal(e.code, Code.ResourceExhausted);
    assert.equal(e.rawMessage, 'over the limit');
    assert.equal(e.metadata.get('retry-after'), '3');
    // Any error class of a core with a status name in `code` (no import of this module needed).
    class CoreInputError extends Error {
      readonly code = 'FAILED_PRECONDITION';
    }
    assert.equal(toConnectError(new CoreInputError('no model for that')).code, Code.FailedPrecondition);
    const connect = new ConnectError('as it is', Code.NotFound);
    assert.equal(toConnectError(connect), connect);
  });

  it('a fault of ours is INTERNAL; a Node error code is not a status', () => {
    assert.equal(toConnectError(new Error('bug')).code, Code.Internal);
    const fs = Object.assign(new Error('ENOENT: no such file'), { code: 'ENOENT' });
    assert.equal(toConnectError(fs).code, Code.Internal);
  });

  it("an aborted call answers with its abort's reason: a deadline is DEADLINE_EXCEEDED, a cancel CANCELLED", () => {
    const deadline = AbortSignal.abort(new DOMException('timed out', 'TimeoutError'));
    const cut = new ConnectError('stage call cancelled', Code.Canceled);
    assert.equal(toConnectError(cut, deadline).code, Code.DeadlineExceeded);
    assert.equal(toConnectError(new Error('stream destroyed'), deadline).code, Code.DeadlineExceeded);
    assert.equal(toConnectError(cut, AbortSignal.abort()).code, Code.Canceled);
    const server = AbortSignal.abort(new ConnectError('server deadline', Code.DeadlineExceeded));
    assert.equal(toConnectError(cut, server).code, Code.DeadlineExceeded);
    // A status of its own still wins over the abort (the handler's answer, not the cut).
    assert.equal(
      toConnectError(new StatusError('INVALID_ARGUMENT', 'x'), deadline).code,
      Code.InvalidArgument,
    );
  });

  it('statusName reads both kinds', () => {
    assert.equal(statusName(new ConnectError('x', Code.Canceled)), 'CANCELLED');
    assert.equal(statusName(new StatusError('NOT_FOUND', 'x')), 'NOT_FOUND');
    assert.equal(statusName(new Error('x')), 'UNKNOWN');
  });
});
