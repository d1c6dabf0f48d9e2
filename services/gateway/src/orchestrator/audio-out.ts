// Latents → stored audio files, streamed: the VAE's tiles go to one encoder per item (on the
// encoder pool's threads) as they arrive, and each encoder's bytes go to the object store (and,
// when asked, to the caller) as they come out. The gateway never holds a song's PCM: per item a
// tile being received plus at most the pool's in-flight writes. A failure or cancel aborts every
// encoder and fails every store write, so no partial object remains.
import { AUDIO_CHANNELS, HOP_SAMPLES, LATENT_CHANNELS, SAMPLE_RATE } from '@acestep/acestep';
import type { EncoderPool, OutputFormat, StreamEncoder } from '@acestep/audio';
import { formatInfo } from '@acestep/audio';
import type { VaeService } from '@acestep/proto/vae';
import { float32View, type Tensor } from '@acestep/runtime';
import type { CallOptions, Client } from '@connectrpc/connect';
import { pushable } from 'it-pushable';
import type { ObjectInfo, ResultStore } from '../jobs/index.ts';
import { vaeDecodeSegments } from './stage-calls.ts';

/** The reference's silence rule: RMS and peak both at most this. */
const SILENCE = 1e-5;

/** The next bytes of one item's file (offset in bytes; 0 again when a retried decode restarts it). */
export interface AudioBytes {
  itemIndex: number;
  offset: number;
  data: Uint8Array;
  mimeType: string;
}

export interface AudioOutContext {
  store: ResultStore;
  encoders: EncoderPool;
}

export interface StoredItem {
  info: ObjectInfo;
  samples: number;
  /** RMS over both channels, for the silence note. */
  rms: number;
  silent: boolean;
}

export interface AudioOutResult {
  items: StoredItem[];
  /** When the VAE's last segment arrived and when the last file was complete (performance.now()). */
  lastTileAt: number;
  doneAt: number;
}

/** One attempt (a Stage.call of the VAE): decode every item's latents and store each as a file of `format`. */
export async function decodeToFiles(
  context: AudioOutContext,
  vae: Client<typeof VaeService>,
  latents: readonly Float32Array[],
  format: OutputFormat,
  call: CallOptions,
  onAudio?: (bytes: AudioBytes) => void,
): Promise<AudioOutResult> {
  const { extension, mimeType } = formatInfo(format);
  const writers = latents.map(
    (values, itemIndex) =>
      new ItemWriter(context, itemIndex, (values.length / LATENT_CHANNELS) * HOP_SAMPLES, format, {
        filename: `item-${itemIndex}.${extension}`,
        contentType: mimeType,
        onAudio: onAudio && ((offset, data) => onAudio({ itemIndex, offset, data, mimeType })),
      }),
  );
  try {
    await Promise.all(writers.map((w) => w.open()));
    for await (const segment of vaeDecodeSegments(vae, latents, call)) {
      const writer = writers[segment.itemIndex ?? 0];
      if (!writer) throw new Error(`VAE sent audio for item ${segment.itemIndex} of ${writers.length}`);
      await writer.write(segment);
    }
    const lastTileAt = performance.now();
    const items = await Promise.all(writers.map((w) => w.finish()));
    return { items, lastTileAt, doneAt: performance.now() };
  } catch (error) {
    await Promise.all(writers.map((w) => w.fail(error)));
    throw error;
  }
}

interface ItemOptions {
  filename: string;
  contentType: string;
  onAudio: ((offset: number, data: Uint8Array) => void) | undefined;
}

/** One item's encoder feeding one store write. */
class ItemWriter {
  readonly #context: AudioOutContext;
  readonly #itemIndex: number;
  readonly #samples: number;
  readonly #format: OutputFormat;
  readonly #options: ItemOptions;
  /** The encoder's bytes on their way to the store; a failure makes the store discard the object. */
  readonly #bytes = pushable<Uint8Array>();
  #failure: Error | undefined;
  #encoder: StreamEncoder | undefined;
  #stored: Promise<ObjectInfo> | undefined;
  #offset = 0;
  #received = 0;
  #sumSquares = 0;
  #peak = 0;

  constructor(
    context: AudioOutContext,
    itemIndex: number,
    samples: number,
    format: OutputFormat,
    options: ItemOptions,
  ) {
    this.#context = context;
    this.#itemIndex = itemIndex;
    this.#samples = samples;
    this.#format = format;
    this.#options = options;
  }

  async open(): Promise<void> {
    const { filename, contentType } = this.#options;
    this.#stored = this.#context.store.putObject(this.#storeBytes(), { filename, contentType });
    this.#stored.catch(() => {}); // awaited in finish()/fail()
    this.#encoder = await this.#context.encoders.open(
      { format: this.#format, sampleRate: SAMPLE_RATE, channels: AUDIO_CHANNELS, frames: this.#samples },
      (data) => {
        this.#bytes.push(data);
        this.#options.onAudio?.(this.#offset, data);
        this.#offset += data.byteLength;
      },
    );
  }

  /** Takes the next [2, n] segment; segments of an item must arrive in order. */
  async write(segment: Tensor): Promise<void> {
    const n = segment.shape[1] ?? 0;
    if (segment.shape[0] !== AUDIO_CHANNELS || (segment.offset ?? 0) !== this.#received)
      throw new Error(
        `VAE segment of item ${this.#itemIndex} at sample ${segment.offset} with shape [${segment.shape}] does not continue at ${this.#received}`,
      );
    const planar = float32View(segment);
    this.#measure(planar);
    this.#received += n;
    // Both channel views cover the segment's own buffer, so the pool moves it without a copy.
    await this.#encoder!.write([planar.subarray(0, n), planar.subarray(n, 2 * n)]);
  }

  async finish(): Promise<StoredItem> {
    await this.#encoder!.end();
    this.#bytes.end();
    const info = await this.#stored!;
    const rms = Math.sqrt(this.#sumSquares / Math.max(1, AUDIO_CHANNELS * this.#samples));
    return { info, samples: this.#samples, rms, silent: rms <= SILENCE && this.#peak <= SILENCE };
  }

  /** Stops the encoder and fails the store write (which then removes what it had written). */
  async fail(error: unknown): Promise<void> {
    this.#encoder?.abort();
    this.#failure ??= error instanceof Error ? error : new Error(String(error));
    this.#bytes.end(this.#failure);
    await this.#stored?.catch(() => {});
  }

  /** The bytes for the store; a failure, even one after the encoder ended, ends them with it. */
  async *#storeBytes(): AsyncGenerator<Uint8Array> {
    for await (const bytes of this.#bytes) {
      if (this.#failure) throw this.#failure;
      yield bytes;
    }
    if (this.#failure) throw this.#failure;
  }

  #measure(values: Float32Array): void {
    let sum = 0;
    let peak = this.#peak;
    for (let i = 0; i < values.length; i++) {
      const v = values[i]!;
      sum += v * v;
      const a = v < 0 ? -v : v;
      if (a > peak) peak = a;
    }
    this.#sumSquares += sum;
    this.#peak = peak;
  }
}
