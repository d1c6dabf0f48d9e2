// Request bodies of the official REST routes: JSON (or *+json), form-encoded,
// multipart (files streamed to the store as they arrive), or no content type
// with a JSON or k=v body (sniffed, as the official server does).
import type { JsonObject, JsonValue } from '@bufbuild/protobuf';
import { Code, ConnectError } from '@connectrpc/connect';
import type { ResultStore } from '../../jobs/index.ts';
import type { HttpRequest } from '../node-http.ts';
import { multipartFiles } from '../objects.ts';
import { type StoredUpload, storeUpload, type UploadOptions, uploadTooLarge } from '../uploads.ts';

const MAX_FORM_BYTES = 1 << 20;

export interface RestBody {
  fields: JsonObject;
  /** Uploaded files by their (official) field name. */
  files: Record<string, StoredUpload>;
}

async function readText(req: HttpRequest): Promise<string> {
  const parts: Buffer[] = [];
  let total = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    total += chunk.byteLength;
    if (total > MAX_FORM_BYTES)
      throw new ConnectError(`request body is larger than ${MAX_FORM_BYTES} bytes`, Code.InvalidArgument);
    parts.push(chunk);
  }
  try {
    return UTF8.decode(Buffer.concat(parts));
  } catch {
    throw new ConnectError('request body is not valid UTF-8', Code.InvalidArgument);
  }
}

const UTF8 = new TextDecoder('utf-8', { fatal: true });

function parseJsonObject(text: string): JsonObject {
  let value: JsonValue;
  try {
    value = JSON.parse(text) as JsonValue;
  } catch (error) {
    throw new ConnectError(`invalid JSON: ${(error as Error).message}`, Code.InvalidArgument);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value))
    throw new ConnectError('JSON payload must be an object', Code.InvalidArgument);
  return value;
}

function formObject(text: string): JsonObject {
  return Object.fromEntries(new URLSearchParams(text));
}

export async function readRestBody(
  req: HttpRequest,
  upload: { store: ResultStore; options: Omit<UploadOptions, 'filename'>; fileFields: readonly string[] },
): Promise<RestBody> {
  const type = String(req.headers['content-type'] ?? '')
    .split(';', 1)[0]!
    .trim()
    .toLowerCase();
  if (type === 'multipart/form-data') {
    // A form declaring more than one file and its text fields is refused before reading it.
    const declared = Number(req.headers['content-length'] ?? Number.NaN);
    if (declared > upload.options.maxBytes + MAX_FORM_BYTES) throw uploadTooLarge(upload.options.maxBytes);
    const form = multipartFiles(req, upload.options.maxBytes);
    const files: Record<string, StoredUpload> = {};
    for await (const part of form.parts) {
      if (!upload.fileFields.includes(part.field)) {
        part.stream.resume();
        throw new ConnectError(
          `file field "${part.field}" is not accepted; file fields: ${upload.fileFields.join(', ')}`,
          Code.InvalidArgument,
        );
      }
      files[part.field] = await storeUpload(upload.store, part.stream, {
        ...upload.options,
        filename: part.filename,
      });
    }
    return { fields: { ...form.fields }, files };
  }
  if (type === 'application/json' || type.endsWith('+json'))
    return { fields: parseJsonObject(await readText(req)), files: {} };
  if (type === 'application/x-www-form-urlencoded')
    return { fields: formObject(await readText(req)), files: {} };
  if (type === '') {
    const text = (await readText(req)).trim();
    if (text === '') return { fields: {}, files: {} };
    return { fields: text.startsWith('{') ? parseJsonObject(text) : formObject(text), files: {} };
  }
  throw new ConnectError(
    `Unsupported Content-Type: ${type}; use application/json, application/x-www-form-urlencoded, or multipart/form-data`,
    Code.InvalidArgument,
    undefined,
    undefined,
    'unsupported-media-type',
  );
}
