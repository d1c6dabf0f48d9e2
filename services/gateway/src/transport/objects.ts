// Stored audio over plain HTTP, so browsers and curl need no gRPC:
//   PUT|POST /v1/objects          raw body (any audio container) or
//                                  multipart/form-data (the first file part)
//                                  → 201 {object_id, size_bytes, duration_seconds, url}
//   GET|HEAD /v1/objects/{id}     the bytes, with Content-Type, Content-Length,
//                                  Accept-Ranges and Range → 206, so <audio> can seek.
// Uploads stream to the store (uploads.ts); a declared Content-Length over the
// limit is refused with 413 before any byte is read.
import { PassThrough, type Readable } from 'node:stream';
import { continueIfExpected, toConnectError } from '@acestep/runtime';
import { Code, ConnectError } from '@connectrpc/connect';
import busboy from 'busboy';
import { pushable } from 'it-pushable';
import type { ResultStore } from '../jobs/index.ts';
import { OBJECTS_PATH, objectUrl } from '../object-url.ts';
import { httpHeadersOf, httpStatusOf } from './errors.ts';
import type { HttpRoute } from './http.ts';
import {
  abortResponse,
  asResponse,
  type HttpRequest,
  type HttpResponse,
  pathOf,
  sendJson,
} from './node-http.ts';
import { type StoredUpload, storeUpload, type UploadOptions, uploadTooLarge } from './uploads.ts';

export interface ObjectRoutesOptions {
  store: ResultStore;
  upload: Omit<UploadOptions, 'filename'>;
  /** UNAUTHENTICATED without the API key; RESOURCE_EXHAUSTED when the key is over its rate limit. */
  authorize: (req: HttpRequest) => Promise<void>;
}

export function sendError(req: HttpRequest, res: HttpResponse, error: unknown): void {
  const e = toConnectError(error);
  if (res.headersSent) {
    abortResponse(res);
    return;
  }
  // A body we did not read (a refused upload) is read and dropped, so the
  // client finishes sending and sees the answer instead of a broken pipe.
  req.resume();
  sendJson(res, httpStatusOf(e), { error: e.rawMessage, code: Code[e.code] }, httpHeadersOf(e));
}

export function objectRoutes(options: ObjectRoutesOptions): HttpRoute {
  return async (req, res) => {
    const path = pathOf(req);
    if (path !== OBJECTS_PATH && !path.startsWith(`${OBJECTS_PATH}/`)) return false;
    try {
      await options.authorize(req);
      if (path === OBJECTS_PATH && (req.method === 'PUT' || req.method === 'POST')) {
        const stored = await receiveUpload(req, res, options);
        sendJson(res, 201, uploadJson(stored));
      } else if (path !== OBJECTS_PATH && (req.method === 'GET' || req.method === 'HEAD')) {
        await sendObject(req, res, options.store, decodeURIComponent(path.slice(OBJECTS_PATH.length + 1)));
      } else {
        sendJson(res, 405, {
          error: `${req.method} ${path}: use PUT/POST ${OBJECTS_PATH} or GET ${OBJECTS_PATH}/{id}`,
        });
      }
    } catch (error) {
      sendError(req, res, error);
    }
    return true;
  };
}

export function uploadJson(stored: StoredUpload) {
  return {
    object_id: stored.objectId,
    size_bytes: stored.sizeBytes,
    duration_seconds: stored.durationSeconds,
    content_type: stored.contentType,
    sha256: stored.sha256,
    url: objectUrl(stored.objectId),
  };
}

/** The uploaded file of a request: its raw body, or the first file part of a multipart form. */
export async function receiveUpload(
  req: HttpRequest,
  res: HttpResponse,
  options: Pick<ObjectRoutesOptions, 'store' | 'upload'>,
): Promise<StoredUpload> {
  const declared = Number(req.headers['content-length'] ?? Number.NaN);
  if (declared > options.upload.maxBytes) throw uploadTooLarge(options.upload.maxBytes);
  // The size is acceptable (or unknown): now let a client that sent "Expect: 100-continue" send.
  continueIfExpected(req, res);
  const type = req.headers['content-type'] ?? '';
  if (/^multipart\/form-data/i.test(type)) {
    const files = multipartFiles(req, options.upload.maxBytes);
    for await (const file of files.parts) {
      try {
        return await storeUpload(options.store, file.stream, { ...options.upload, filename: file.filename });
      } finally {
        files.stop();
      }
    }
    throw new ConnectError('the multipart form has no file part', Code.InvalidArgument);
  }
  const filename = String(req.headers['x-filename'] ?? '') || undefined;
  return storeUpload(options.store, req as AsyncIterable<Uint8Array>, { ...options.upload, filename });
}

export interface MultipartFile {
  field: string;
  filename: string;
  stream: Readable;
}

/**
 * The parts of a multipart/form-data request as they arrive: file parts as
 * streams (read one before asking for the next), text fields collected in
 * `fields`. `stop()` drops the rest of the request.
 */
export function multipartFiles(req: HttpRequest, maxFileBytes: number) {
  const fields: Record<string, string> = {};
  let parser: busboy.Busboy;
  try {
    parser = busboy({
      headers: req.headers as Record<string, string>,
      limits: { fileSize: maxFileBytes + 1, fieldSize: 1 << 20 },
    });
  } catch (error) {
    // busboy throws plain errors for a bad header (no boundary): the request's fault.
    throw new ConnectError(`multipart: ${(error as Error).message}`, Code.InvalidArgument);
  }
  const parts = pushable<MultipartFile>({ objectMode: true });
  parser.on('file', (field, stream, info) => {
    // A form cut inside a file part fails the file's stream with a plain error: say it is the request's.
    const file = new PassThrough();
    // After a reader has given up on the part (its upload already refused), nobody listens: the
    // error is then already answered and must not crash the process as an unhandled 'error'.
    file.on('error', () => {});
    stream.on('error', (error) =>
      file.destroy(new ConnectError(`multipart: ${error.message}`, Code.InvalidArgument)),
    );
    parts.push({ field, filename: info.filename ?? '', stream: stream.pipe(file) });
  });
  parser.on('field', (name, value) => {
    fields[name] = value;
  });
  parser.on('error', (error) =>
    parts.end(new ConnectError(`multipart: ${(error as Error).message}`, Code.InvalidArgument)),
  );
  parser.on('close', () => parts.end());
  (req as Readable).pipe(parser);
  return {
    fields,
    parts,
    stop: () => {
      (req as Readable).unpipe(parser);
      (req as Readable).resume();
    },
  };
}

interface ByteRange {
  start: number;
  end: number; // inclusive
}

/** Parses a single "bytes=a-b" range (suffix and open ranges too); undefined when absent. */
export function parseRange(
  header: string | undefined,
  size: number,
): ByteRange | 'unsatisfiable' | undefined {
  if (!header) return undefined;
  const match = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!match || (match[1] === '' && match[2] === '')) return undefined; // not a form we serve: the whole file
  let start: number;
  let end: number;
  if (match[1] === '') {
    start = Math.max(0, size - Number(match[2]));
    end = size - 1;
  } else {
    start = Number(match[1]);
    end = match[2] === '' ? size - 1 : Math.min(Number(match[2]), size - 1);
  }
  if (start >= size || start > end) return 'unsatisfiable';
  return { start, end };
}

export async function sendObject(
  req: HttpRequest,
  res: HttpResponse,
  store: ResultStore,
  objectId: string,
  contentTypeOverride?: string,
): Promise<void> {
  const info = await store.statObject(objectId);
  const size = info.sizeBytes;
  const range = parseRange(req.headers.range, size);
  const out = asResponse(res);
  const headers: Record<string, string> = {
    'content-type': contentTypeOverride ?? info.contentType ?? 'application/octet-stream',
    'accept-ranges': 'bytes',
    etag: `"${info.sha256}"`,
    'cache-control': 'private, max-age=3600',
  };
  if (range === 'unsatisfiable') {
    out.writeHead(416, { ...headers, 'content-range': `bytes */${size}` }).end();
    return;
  }
  const { start, end } = range ?? { start: 0, end: size - 1 };
  headers['content-length'] = String(end - start + 1);
  if (range) headers['content-range'] = `bytes ${start}-${end}/${size}`;
  out.writeHead(range ? 206 : 200, headers);
  if (req.method === 'HEAD' || size === 0) {
    out.end();
    return;
  }
  const { data } = await store.getObject(objectId);
  let at = 0;
  for await (const chunk of data) {
    const from = Math.max(start - at, 0);
    const to = Math.min(end + 1 - at, chunk.byteLength);
    at += chunk.byteLength;
    if (to <= from) {
      if (at > end) break;
      continue;
    }
    if (!out.write(chunk.subarray(from, to))) await new Promise((resolve) => out.once('drain', resolve));
    if (at > end) break;
  }
  out.end();
}
