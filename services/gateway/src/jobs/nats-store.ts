// Objects in a NATS Object Store bucket (NATS mode): any replica reads what
// any other stored. The object name is the object id; the description holds
// the meta as JSON (object `metadata` would need server 2.10). The sha256 is
// the store's own digest, converted to hex.
import type { ObjectInfo as NatsObjectInfo, ObjectStore } from '@nats-io/obj';
import { errorMessage, JobError } from './errors.ts';
import { isObjectId, newObjectId } from './ids.ts';
import { limitedChunks, metaFields, notFound, type ObjectBackend, readAll } from './object-data.ts';
import type { ObjectData, ObjectInfo, ObjectMeta } from './types.ts';

export class NatsResultStore implements ObjectBackend {
  readonly maxObjectBytes: number;
  readonly #os: ObjectStore;

  constructor(os: ObjectStore, maxObjectBytes: number) {
    this.#os = os;
    this.maxObjectBytes = maxObjectBytes;
  }

  putObject(data: ObjectData, meta: ObjectMeta = {}): Promise<ObjectInfo> {
    return this.writeObject(newObjectId(), data, meta);
  }

  async writeObject(objectId: string, data: ObjectData, meta: ObjectMeta): Promise<ObjectInfo> {
    let refused: JobError | undefined;
    const max = this.maxObjectBytes;
    async function* checked(): AsyncGenerator<Uint8Array> {
      try {
        yield* limitedChunks(data, max);
      } catch (error) {
        if (error instanceof JobError) refused = error;
        throw error;
      }
    }
    try {
      const info = await this.#os.put(
        { name: objectId, description: JSON.stringify(metaFields(meta)) },
        ReadableStream.from(checked()),
      );
      return toInfo(info);
    } catch (error) {
      if (refused) throw refused;
      throw new JobError('UNAVAILABLE', `storing object ${objectId} failed: ${errorMessage(error)}`, {
        cause: error,
      });
    }
  }

  async statObject(objectId: string): Promise<ObjectInfo> {
    return toInfo(await this.#info(objectId));
  }

  async getObject(objectId: string): Promise<{ info: ObjectInfo; data: AsyncIterable<Uint8Array> }> {
    if (!isObjectId(objectId)) throw notFound(objectId);
    const result = await unavailable(() => this.#os.get(objectId));
    if (!result || result.info.deleted) throw notFound(objectId);
    async function* data(): AsyncGenerator<Uint8Array> {
      for await (const chunk of result?.data ?? []) yield chunk;
      const error = await result?.error;
      if (error) throw new JobError('UNAVAILABLE', `reading object ${objectId} failed: ${error.message}`);
    }
    return { info: toInfo(result.info), data: data() };
  }

  async readObject(objectId: string): Promise<Uint8Array> {
    return readAll((await this.getObject(objectId)).data);
  }

  async deleteObject(objectId: string): Promise<boolean> {
    if (!isObjectId(objectId)) return false;
    const info = await unavailable(() => this.#os.info(objectId));
    if (!info || info.deleted) return false;
    await unavailable(() => this.#os.delete(objectId));
    return true;
  }

  /** Ids of every live object (tests, operators; reads every object's info). */
  async listObjectIds(): Promise<string[]> {
    return (await unavailable(() => this.#os.list()))
      .filter((info) => !info.deleted)
      .map((info) => info.name);
  }

  async #info(objectId: string): Promise<NatsObjectInfo> {
    const info = isObjectId(objectId) ? await unavailable(() => this.#os.info(objectId)) : null;
    if (!info || info.deleted) throw notFound(objectId);
    return info;
  }
}

/** NATS failures become UNAVAILABLE (retryable). */
async function unavailable<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (error) {
    throw new JobError('UNAVAILABLE', `object store (NATS) unavailable: ${errorMessage(error)}`, {
      cause: error,
    });
  }
}

function toInfo(info: NatsObjectInfo): ObjectInfo {
  let meta: ObjectMeta = {};
  try {
    meta = metaFields(JSON.parse(info.description ?? '{}') as ObjectMeta);
  } catch {
    // Written by something else: no meta.
  }
  const digest = info.digest.replace(/^SHA-256=/i, '');
  return {
    objectId: info.name,
    sizeBytes: info.size,
    sha256: Buffer.from(digest, 'base64url').toString('hex'),
    createdAt: new Date(info.mtime),
    ...meta,
  };
}
