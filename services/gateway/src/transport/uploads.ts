// Uploads, whatever the transport (gRPC UploadAudio, HTTP PUT/POST body,
// multipart parts): the bytes stream to the object store as they arrive, so a
// 200 MB WAV never sits in memory. The first PROBE_BYTES are kept to check the
// file: the container is sniffed before anything is stored, and WAV/FLAC are
// validated from their headers against the audio limits; MP3/Ogg carry no
// length and FLAC's may lie, so they are decoded once stored (the decoder
// counts frames first and stops at the duration limit). Over --max-upload-bytes the upload stops at once with
// RESOURCE_EXHAUSTED naming the limit (HTTP 413).
import {
  type AudioContainer,
  type AudioLimits,
  decodeAudioSourceOffThread,
  isAudioInputError,
  PROBE_BYTES,
  probeAudioHeader,
  sniffContainer,
} from '@acestep/audio';
import { Code, ConnectError } from '@connectrpc/connect';
import type { ResultStore } from '../jobs/index.ts';

export interface UploadOptions {
  maxBytes: number;
  audioLimits: Partial<AudioLimits>;
  filename?: string;
}

export interface StoredUpload {
  objectId: string;
  sizeBytes: number;
  durationSeconds: number;
  contentType: string;
  sha256: string;
}

export const MIME_TYPES: Record<AudioContainer, string> = {
  wav: 'audio/wav',
  flac: 'audio/flac',
  mp3: 'audio/mpeg',
  'ogg-vorbis': 'audio/ogg',
  'ogg-opus': 'audio/ogg',
  'ogg-flac': 'audio/ogg',
};

/** Marks the RESOURCE_EXHAUSTED of an upload over the limit; the HTTP routes answer it with 413. */
export const TOO_LARGE = 'upload-too-large';

export function uploadTooLarge(maxBytes: number): ConnectError {
  return new ConnectError(
    `upload is larger than max_upload_bytes (${maxBytes} bytes); the gateway's --max-upload-bytes sets it`,
    Code.ResourceExhausted,
    undefined,
    undefined,
    TOO_LARGE,
  );
}

function audioError(error: unknown): ConnectError {
  if (isAudioInputError(error))
    return new ConnectError(`audio input: ${error.message}`, Code.InvalidArgument);
  return ConnectError.from(error);
}

/** Counts bytes against the limit and keeps the first PROBE_BYTES. */
class UploadReader {
  readonly prefix: Uint8Array[] = [];
  prefixBytes = 0;
  total = 0;
  readonly #iterator: AsyncIterator<Uint8Array>;
  readonly #maxBytes: number;

  constructor(chunks: AsyncIterable<Uint8Array>, maxBytes: number) {
    this.#iterator = chunks[Symbol.asyncIterator]();
    this.#maxBytes = maxBytes;
  }

  async next(): Promise<Uint8Array | undefined> {
    const step = await this.#iterator.next();
    if (step.done) return undefined;
    this.total += step.value.byteLength;
    if (this.total > this.#maxBytes) throw uploadTooLarge(this.#maxBytes);
    if (this.prefixBytes < PROBE_BYTES) {
      this.prefix.push(step.value);
      this.prefixBytes += step.value.byteLength;
    }
    return step.value;
  }

  /** Reads until PROBE_BYTES are kept or the upload ended; returns what was read. */
  async fillPrefix(): Promise<Uint8Array[]> {
    const read: Uint8Array[] = [];
    while (this.prefixBytes < PROBE_BYTES) {
      const chunk = await this.next();
      if (!chunk) break;
      read.push(chunk);
    }
    return read;
  }

  head(): Uint8Array {
    return Buffer.concat(this.prefix);
  }

  async return(): Promise<void> {
    await this.#iterator.return?.();
  }
}

export async function storeUpload(
  store: ResultStore,
  chunks: AsyncIterable<Uint8Array>,
  options: UploadOptions,
): Promise<StoredUpload> {
  const reader = new UploadReader(chunks, options.maxBytes);
  const first = await reader.fillPrefix();
  let container: AudioContainer;
  try {
    if (reader.total === 0) throw new ConnectError('audio input: the upload is empty', Code.InvalidArgument);
    container = sniffContainer(reader.head());
  } catch (error) {
    await reader.return();
    throw audioError(error);
  }
  // The store wraps errors of the data stream; keep ours (the size limit) to rethrow as it is.
  let refused: unknown;
  async function* data(): AsyncGenerator<Uint8Array> {
    yield* first;
    try {
      for (let chunk = await reader.next(); chunk; chunk = await reader.next()) yield chunk;
    } catch (error) {
      refused = error;
      throw error;
    }
  }
  const contentType = MIME_TYPES[container];
  const meta = { contentType, ...(options.filename ? { filename: options.filename } : {}) };
  const info = await store.putObject(data(), meta).catch((error: unknown) => {
    throw refused ?? error;
  });
  try {
    const probe = probeAudioHeader(reader.head(), info.sizeBytes, options.audioLimits);
    let seconds = probe.seconds;
    // FLAC's STREAMINFO length is optional and unchecked (a 10-sample claim over 800 s of frames):
    // only counting the frames, as the decoder does, gives the real duration.
    if (seconds === undefined || probe.container === 'flac') {
      const pcm = await decodeAudioSourceOffThread(
        await store.readObject(info.objectId),
        options.audioLimits,
      );
      seconds = (pcm.channels[0]?.length ?? 0) / pcm.sampleRate;
    }
    return {
      objectId: info.objectId,
      sizeBytes: info.sizeBytes,
      durationSeconds: seconds,
      contentType,
      sha256: info.sha256,
    };
  } catch (error) {
    await store.deleteObject(info.objectId).catch(() => {});
    throw audioError(error);
  }
}
