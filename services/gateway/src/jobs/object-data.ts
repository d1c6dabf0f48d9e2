// Byte plumbing shared by the object stores: size-limited chunk streams and
// the stores' internal write-with-a-chosen-id entry point.
import { JobError } from './errors.ts';
import type { ObjectData, ObjectInfo, ObjectMeta, ResultStore } from './types.ts';

/** A ResultStore that can also write under an id chosen beforehand (job runners record the id first). */
export interface ObjectBackend extends ResultStore {
  writeObject(objectId: string, data: ObjectData, meta: ObjectMeta): Promise<ObjectInfo>;
}

const SLICE = 1 << 20;

/** The chunks of data, failing with INVALID_ARGUMENT as soon as they pass maxBytes. */
export async function* limitedChunks(data: ObjectData, maxBytes: number): AsyncGenerator<Uint8Array> {
  let total = 0;
  const check = (chunk: Uint8Array) => {
    total += chunk.byteLength;
    if (total > maxBytes) {
      throw new JobError('INVALID_ARGUMENT', `object is larger than the limit of ${maxBytes} bytes`);
    }
  };
  if (data instanceof Uint8Array) {
    check(data);
    for (let at = 0; at < data.byteLength; at += SLICE) yield data.subarray(at, at + SLICE);
    return;
  }
  for await (const chunk of data) {
    check(chunk);
    if (chunk.byteLength > 0) yield chunk;
  }
}

export async function readAll(data: AsyncIterable<Uint8Array>): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  for await (const part of data) parts.push(part);
  return Buffer.concat(parts);
}

export function notFound(objectId: string): JobError {
  return new JobError('NOT_FOUND', `object ${JSON.stringify(objectId)} not found (it may have expired)`);
}

export function metaFields(meta: ObjectMeta): ObjectMeta {
  const out: ObjectMeta = {};
  if (meta.filename) out.filename = meta.filename;
  if (meta.contentType) out.contentType = meta.contentType;
  if (meta.jobId) out.jobId = meta.jobId;
  return out;
}
