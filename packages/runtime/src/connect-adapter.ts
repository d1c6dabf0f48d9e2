// The Connect routes of a port as a Node request handler — connect-node's
// connectNodeAdapter plus the JSON rule of json-codec.ts on Connect/JSON
// calls: request messages are checked and normalized (spec enum words,
// unknown fields refused with the field named) before Connect parses them, and
// response messages get 64-bit integers as numbers. Binary (gRPC, gRPC-Web,
// Connect proto) request messages are checked to parse as the method's input
// before Connect sees them: a malformed message is INVALID_ARGUMENT with the
// parser's reason (Connect itself answers INTERNAL "parse binary", as if it were
// our fault). Written here because Connect offers no hook into its parsing
// other than "ignore unknown fields: yes/no". The check parses each message once
// more (bytes fields are views, not copies) and joins an envelope split across
// HTTP/2 frames once: one extra copy of a tensor chunk, small next to the wire.
import type http from 'node:http';
import { type DescMessage, fromBinary, type JsonObject, type JsonValue } from '@bufbuild/protobuf';
import {
  Code,
  ConnectError,
  type ConnectRouter,
  type ConnectRouterOptions,
  createConnectRouter,
} from '@connectrpc/connect';
import type { UniversalHandler } from '@connectrpc/connect/protocol';
import { universalRequestFromNodeRequest, universalResponseToNodeResponse } from '@connectrpc/connect-node';
import type { NodeHandler } from './dual-protocol.ts';
import { int64AsNumbers, JsonInputError, normalizeJson } from './json-codec.ts';

export interface ConnectHandlerOptions extends ConnectRouterOptions {
  routes: (router: ConnectRouter) => void;
  /** Largest request message (bytes). */
  readMaxBytes: number;
}

const UNARY_JSON = /^application\/json(;|$)/i;
const STREAM_JSON = /^application\/connect\+json(;|$)/i;
const UNARY_BINARY = /^application\/proto(;|$)/i;
const STREAM_BINARY = /^application\/(grpc|grpc\+proto|grpc-web|grpc-web\+proto|connect\+proto)(;|$)/i;
const END_STREAM = 0b10;

export function connectHandler(options: ConnectHandlerOptions): NodeHandler {
  const router = createConnectRouter(options);
  options.routes(router);
  const paths = new Map<string, UniversalHandler>(router.handlers.map((h) => [h.requestPath, h]));
  return (req, res) => {
    const handler = paths.get((req.url ?? '').split('?', 1)[0] ?? '');
    const contentType = String(req.headers['content-type'] ?? '');
    const refusal = refuse(handler, contentType, req);
    if (refusal) {
      req.resume();
      const out = res as http.ServerResponse;
      if (!handler && /^application\/grpc/i.test(contentType))
        out.writeHead(200, {
          'content-type': contentType,
          'grpc-status': '12',
          'grpc-message': encodeURIComponent(refusal.message),
        });
      else out.writeHead(refusal.status, { 'content-type': 'application/json' });
      out.end(JSON.stringify({ code: refusal.code, message: refusal.message }));
      return;
    }
    if (!handler) return;
    const uReq = universalRequestFromNodeRequest(req as never, res as never, undefined, undefined);
    const kind = UNARY_JSON.test(contentType)
      ? 'unary'
      : STREAM_JSON.test(contentType)
        ? 'stream'
        : undefined;
    if (kind && uReq.method === 'POST' && isBytes(uReq.body)) {
      const check = (json: JsonValue) => normalizeJson(handler.method.input, json);
      // The normalized body differs in length from the sent one (spec enum words become proto
      // names): a stale Content-Length makes Connect refuse it ("promised N bytes, received M").
      uReq.header.delete('content-length');
      uReq.body =
        kind === 'unary'
          ? unaryBody(uReq.body, options.readMaxBytes, jsonMessage(check))
          : mapEnvelopes(uReq.body, options.readMaxBytes, jsonMessage(check), 'request');
    } else if (uReq.method === 'POST' && isBytes(uReq.body)) {
      const check = binaryMessage(handler.method.input);
      if (UNARY_BINARY.test(contentType)) uReq.body = unaryBody(uReq.body, options.readMaxBytes, check);
      else if (STREAM_BINARY.test(contentType))
        uReq.body = checkEnvelopes(
          uReq.body,
          options.readMaxBytes,
          check,
          uReq.header.has('grpc-encoding') || uReq.header.has('connect-content-encoding'),
        );
    }
    handler(uReq)
      .then((uRes) => {
        if (kind && uRes.body && uRes.status === 200) {
          const out = (json: JsonValue) => int64AsNumbers(handler.method.output, json as JsonObject);
          uRes.body =
            kind === 'unary'
              ? unaryBody(uRes.body, Number.POSITIVE_INFINITY, jsonMessage(out))
              : mapEnvelopes(uRes.body, Number.POSITIVE_INFINITY, jsonMessage(out), 'response');
          uRes.header?.delete('content-length');
        }
        return universalResponseToNodeResponse(uRes, res as never);
      })
      .then(() => {
        // A call refused before its request was read (a message over readMaxBytes):
        // drop the rest of the body, so the client can finish sending and read the
        // answer instead of having its stream reset.
        if (!req.readableEnded) req.resume();
      })
      .catch((reason: unknown) => {
        if (ConnectError.from(reason).code === Code.Aborted) return;
        console.error(`handler for rpc ${handler.method.name} of ${handler.service.typeName} failed`, reason);
      });
  };
}

const KNOWN_TYPES = [UNARY_JSON, STREAM_JSON, UNARY_BINARY, STREAM_BINARY];
const CONTENT_TYPES =
  'application/json, application/proto (unary); application/connect+json, application/connect+proto, ' +
  'application/grpc, application/grpc-web (any method)';

/**
 * The answer to a call Connect would refuse with an empty body (an unknown method, a content type
 * no protocol claims, a streaming method called with unary JSON): the same HTTP status, with a
 * message that says what to send instead. gRPC callers of an unknown method get UNIMPLEMENTED.
 */
function refuse(
  handler: UniversalHandler | undefined,
  contentType: string,
  req: http.IncomingMessage | { url?: string; method?: string },
): { status: number; code: string; message: string } | undefined {
  const path = (req.url ?? '').split('?', 1)[0] ?? '';
  if (!handler) return { status: 404, code: 'unimplemented', message: `no method ${path} on this port` };
  if (req.method === 'POST' && !KNOWN_TYPES.some((t) => t.test(contentType)))
    return {
      status: 415,
      code: 'invalid_argument',
      message: `content-type "${contentType}" is not supported; send ${CONTENT_TYPES}`,
    };
  if (handler.method.methodKind !== 'unary' && UNARY_JSON.test(contentType))
    return {
      status: 415,
      code: 'invalid_argument',
      message: `${handler.method.name} is a streaming method: send application/connect+json with enveloped messages`,
    };
  return undefined;
}

function isBytes(body: unknown): body is AsyncIterable<Uint8Array> {
  return typeof body === 'object' && body !== null && Symbol.asyncIterator in body;
}

function tooLarge(limit: number): ConnectError {
  return new ConnectError(
    `message is larger than the limit of ${limit} bytes per message; send audio with UploadAudio ` +
      '(or PUT /v1/objects) and pass its object_id',
    Code.ResourceExhausted,
  );
}

const UTF8 = new TextDecoder('utf-8', { fatal: true });
/** Deeper than any message of ours (a GenerationConfig is 3 levels): the normalizer recurses. */
export const MAX_JSON_DEPTH = 64;

function parse(bytes: Uint8Array): JsonValue {
  let text: string;
  try {
    text = UTF8.decode(bytes);
  } catch {
    // Replacing the bad bytes would store text the caller never sent.
    throw new JsonInputError('body', 'the body is not valid UTF-8');
  }
  let json: JsonValue;
  try {
    json = JSON.parse(text) as JsonValue;
  } catch (error) {
    throw new JsonInputError('body', `the body is not valid JSON: ${(error as Error).message}`);
  }
  if (depthOver(json, MAX_JSON_DEPTH))
    throw new JsonInputError('body', `the body nests deeper than ${MAX_JSON_DEPTH} levels`);
  return json;
}

/** Whether `json` nests deeper than `limit` (iterative: a deep value must not overflow our stack). */
function depthOver(json: JsonValue, limit: number): boolean {
  const stack: [JsonValue, number][] = [[json, 0]];
  while (stack.length > 0) {
    const [value, depth] = stack.pop()!;
    if (value === null || typeof value !== 'object') continue;
    if (depth >= limit) return true;
    for (const child of Array.isArray(value) ? value : Object.values(value)) stack.push([child, depth + 1]);
  }
  return false;
}

/** A JSON message rewritten by `map`. */
function jsonMessage(map: (json: JsonValue) => JsonValue): (message: Uint8Array) => Uint8Array {
  return (message) => encode(map(parse(message)));
}

/** A binary message passed as it is once it parses as `schema`. */
function binaryMessage(schema: DescMessage): (message: Uint8Array) => Uint8Array {
  return (message) => {
    try {
      fromBinary(schema, message);
    } catch (error) {
      throw new ConnectError(
        `the request message is not a valid ${schema.typeName}: ${(error as Error).message}`,
        Code.InvalidArgument,
      );
    }
    return message;
  };
}

/** A unary body read whole (at most `limit` bytes), then passed through `transform` once. */
async function* unaryBody(
  body: AsyncIterable<Uint8Array>,
  limit: number,
  transform: (message: Uint8Array) => Uint8Array,
): AsyncGenerator<Uint8Array> {
  const parts: Uint8Array[] = [];
  let total = 0;
  for await (const part of body) {
    total += part.byteLength;
    if (total > limit) throw tooLarge(limit);
    parts.push(part);
  }
  yield transform(Buffer.concat(parts));
}

/**
 * Checks each message envelope (flags 0) of a binary stream (gRPC, gRPC-Web and Connect framing:
 * one flags byte, a 4-byte big-endian length) and passes the bytes on. Parts are joined once per
 * envelope (tensor chunks of 1 MiB arrive in many HTTP/2 frames), never re-copied per part.
 */
async function* checkEnvelopes(
  body: AsyncIterable<Uint8Array>,
  limit: number,
  check: (message: Uint8Array) => Uint8Array,
  compressed: boolean,
): AsyncGenerator<Uint8Array> {
  let parts: Uint8Array[] = [];
  let held = 0;
  for await (const part of body) {
    parts.push(part);
    held += part.byteLength;
    while (held >= 5) {
      const head = parts[0]!.byteLength >= 5 ? parts[0]! : Buffer.concat(parts).subarray(0, 5);
      const flags = head[0]!;
      const length = Buffer.from(head.buffer, head.byteOffset, 5).readUInt32BE(1);
      if (length > limit) throw tooLarge(limit);
      if (held < 5 + length) break;
      const joined = parts.length === 1 ? parts[0]! : Buffer.concat(parts);
      const message = joined.subarray(5, 5 + length);
      if (flags & 1 && !compressed)
        throw new ConnectError(
          'a message is flagged compressed but the request names no grpc-encoding',
          Code.InvalidArgument,
        );
      if (!(flags & END_STREAM || flags & 1)) check(message);
      yield joined.subarray(0, 5 + length);
      const rest = joined.subarray(5 + length);
      parts = rest.byteLength > 0 ? [rest] : [];
      held = rest.byteLength;
    }
  }
  if (held > 0)
    throw new ConnectError('the request stream ends inside a message envelope', Code.InvalidArgument);
}

/**
 * Rewrites each message envelope (flags 0) of a Connect stream; end-of-stream and compressed
 * envelopes pass.
 */
async function* mapEnvelopes(
  body: AsyncIterable<Uint8Array>,
  limit: number,
  map: (message: Uint8Array) => Uint8Array,
  side: 'request' | 'response',
): AsyncGenerator<Uint8Array> {
  let buffer: Buffer = Buffer.alloc(0);
  for await (const part of body) {
    buffer = buffer.length === 0 ? Buffer.from(part) : Buffer.concat([buffer, part]);
    while (buffer.length >= 5) {
      const flags = buffer.readUInt8(0);
      const length = buffer.readUInt32BE(1);
      if (length > limit) throw tooLarge(limit);
      if (buffer.length < 5 + length) break;
      const message = buffer.subarray(5, 5 + length);
      buffer = buffer.subarray(5 + length);
      yield flags & END_STREAM || flags & 1 ? envelope(flags, message) : envelope(flags, map(message));
    }
  }
  if (buffer.length > 0 && side === 'request')
    throw new ConnectError('the request stream ends inside a message envelope', Code.InvalidArgument);
}

function encode(json: JsonValue): Uint8Array {
  return Buffer.from(JSON.stringify(json));
}

function envelope(flags: number, message: Uint8Array): Uint8Array {
  const out = Buffer.alloc(5 + message.byteLength);
  out.writeUInt8(flags, 0);
  out.writeUInt32BE(message.byteLength, 1);
  out.set(message, 5);
  return out;
}
