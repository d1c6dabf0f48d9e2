// Objects on the local disk (embedded mode): <dir>/objects/<id> holds the
// bytes and <id>.json the info. Both are written to <dir>/tmp first and
// renamed into place, bytes before info, so a reader never sees a partial
// object: the info file is the commit marker.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, open, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { errorMessage, JobError } from './errors.ts';
import { isObjectId, newObjectId } from './ids.ts';
import { limitedChunks, metaFields, notFound, type ObjectBackend, readAll } from './object-data.ts';
import type { ObjectData, ObjectInfo, ObjectMeta } from './types.ts';

interface StoredInfo extends ObjectMeta {
  objectId: string;
  sizeBytes: number;
  sha256: string;
  createdAt: string;
}

export class DiskResultStore implements ObjectBackend {
  readonly maxObjectBytes: number;
  readonly #objects: string;
  readonly #tmp: string;

  private constructor(dir: string, maxObjectBytes: number) {
    this.maxObjectBytes = maxObjectBytes;
    this.#objects = join(dir, 'objects');
    this.#tmp = join(dir, 'tmp');
  }

  static async open(dir: string, maxObjectBytes: number): Promise<DiskResultStore> {
    const store = new DiskResultStore(dir, maxObjectBytes);
    await mkdir(store.#objects, { recursive: true });
    // Leftovers of writes interrupted by a crash.
    await rm(store.#tmp, { recursive: true, force: true });
    await mkdir(store.#tmp, { recursive: true });
    return store;
  }

  /** Where an object's bytes live (tests, operators). */
  pathOf(objectId: string): string {
    return join(this.#objects, objectId);
  }

  putObject(data: ObjectData, meta: ObjectMeta = {}): Promise<ObjectInfo> {
    return this.writeObject(newObjectId(), data, meta);
  }

  async writeObject(objectId: string, data: ObjectData, meta: ObjectMeta): Promise<ObjectInfo> {
    const tmpData = join(this.#tmp, `${objectId}.${process.pid}.data`);
    const tmpInfo = join(this.#tmp, `${objectId}.${process.pid}.json`);
    try {
      const hash = createHash('sha256');
      let sizeBytes = 0;
      const file = await open(tmpData, 'w');
      try {
        for await (const chunk of limitedChunks(data, this.maxObjectBytes)) {
          hash.update(chunk);
          sizeBytes += chunk.byteLength;
          await file.write(chunk);
        }
        await file.sync();
      } finally {
        await file.close();
      }
      const info: StoredInfo = {
        objectId,
        sizeBytes,
        sha256: hash.digest('hex'),
        createdAt: new Date().toISOString(),
        ...metaFields(meta),
      };
      await writeFile(tmpInfo, JSON.stringify(info));
      await rename(tmpData, this.pathOf(objectId));
      await rename(tmpInfo, `${this.pathOf(objectId)}.json`);
      return toInfo(info);
    } catch (error) {
      await rm(tmpData, { force: true });
      await rm(tmpInfo, { force: true });
      if (error instanceof JobError) throw error;
      throw new JobError('INTERNAL', `storing object ${objectId} failed: ${errorMessage(error)}`, {
        cause: error,
      });
    }
  }

  async statObject(objectId: string): Promise<ObjectInfo> {
    if (!isObjectId(objectId)) throw notFound(objectId);
    try {
      return toInfo(JSON.parse(await readFile(`${this.pathOf(objectId)}.json`, 'utf8')) as StoredInfo);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw notFound(objectId);
      throw error;
    }
  }

  async getObject(objectId: string): Promise<{ info: ObjectInfo; data: AsyncIterable<Uint8Array> }> {
    const info = await this.statObject(objectId);
    const stream = createReadStream(this.pathOf(objectId), { highWaterMark: 1 << 20 });
    return { info, data: stream as AsyncIterable<Uint8Array> };
  }

  async readObject(objectId: string): Promise<Uint8Array> {
    return readAll((await this.getObject(objectId)).data);
  }

  async deleteObject(objectId: string): Promise<boolean> {
    if (!isObjectId(objectId)) return false;
    const existed = await stat(`${this.pathOf(objectId)}.json`).then(
      () => true,
      () => false,
    );
    // Info first: without it the object is invisible even if removing the bytes fails.
    await rm(`${this.pathOf(objectId)}.json`, { force: true });
    await rm(this.pathOf(objectId), { force: true });
    return existed;
  }

  /** Deletes objects written before the cutoff (the retention sweep); returns how many. */
  async deleteOlderThan(cutoff: Date): Promise<number> {
    let deleted = 0;
    for (const name of await readdir(this.#objects)) {
      if (!name.endsWith('.json')) continue;
      const objectId = name.slice(0, -'.json'.length);
      const info = await this.statObject(objectId).catch(() => undefined);
      if (info && info.createdAt < cutoff && (await this.deleteObject(objectId))) deleted++;
    }
    return deleted;
  }
}

function toInfo(stored: StoredInfo): ObjectInfo {
  return { ...stored, createdAt: new Date(stored.createdAt) };
}
