// The thread side of EncoderPool, served over `@acestep/runtime/worker-channel`: runs stream
// encoders for the main thread, one operation queue per stream so writes stay in order while
// other streams on this thread interleave with them. A stream is one long `open` call: its events
// are the file's bytes, and it ends when `end` has flushed (or fails with the stream's error).
import type { Method } from '@acestep/runtime/worker-channel';
import { serveChannel } from '@acestep/runtime/worker-channel-serve';
import { openStreamEncoder, type StreamEncoder, type StreamEncodeSpec } from './stream-encoder.ts';

export interface EncoderProtocol {
  ready: undefined;
  methods: {
    open: Method<{ id: number; spec: StreamEncodeSpec }, void, Uint8Array>;
    /** Resolves once the encoder has taken the samples (the pool's in-flight credit comes back). */
    write: Method<{ id: number; channels: Float32Array[] }, void>;
    end: Method<{ id: number }, void>;
    abort: Method<{ id: number }, void>;
  };
  notice: never;
}

interface Stream {
  encoder: Promise<StreamEncoder>;
  queue: Promise<void>;
  failed: Error | undefined;
  done: { resolve: () => void; reject: (error: Error) => void };
}

const streams = new Map<number, Stream>();

/** Ends a stream with an error: its encoder is abandoned and its `open` call rejects. */
function fail(id: number, stream: Stream, error: Error): void {
  stream.failed ??= error;
  if (streams.get(id) === stream) streams.delete(id);
  stream.encoder.then(
    (e) => e.abort(),
    () => {},
  );
  stream.done.reject(stream.failed);
}

/** Runs `op` after the stream's earlier operations; a failure fails the stream. */
function enqueue(id: number, op: (encoder: StreamEncoder) => Promise<void>): Promise<void> {
  const stream = streams.get(id);
  if (!stream) return Promise.reject(new Error(`encoder stream ${id} is closed`));
  const step = stream.queue.then(async () => {
    if (stream.failed) throw stream.failed;
    await op(await stream.encoder);
  });
  stream.queue = step.catch((error: unknown) =>
    fail(id, stream, error instanceof Error ? error : new Error(String(error))),
  );
  return step;
}

serveChannel<EncoderProtocol>(() => ({
  ready: undefined,
  handlers: {
    open: ({ id, spec }, { emit }) =>
      new Promise<void>((resolve, reject) => {
        const encoder = openStreamEncoder(spec, (bytes) => {
          // Bytes that own their buffer move without a copy; views into a shared one are copied.
          const own = bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength;
          const out = own ? bytes : bytes.slice();
          emit(out, [out.buffer as ArrayBuffer]);
        });
        const stream: Stream = {
          encoder,
          queue: Promise.resolve(),
          failed: undefined,
          done: { resolve, reject },
        };
        streams.set(id, stream);
        encoder.catch((error: Error) => fail(id, stream, error));
      }),
    write: ({ id, channels }) => enqueue(id, (encoder) => encoder.write(channels)),
    end: async ({ id }) => {
      const stream = streams.get(id);
      await enqueue(id, (encoder) => encoder.end());
      streams.delete(id);
      stream?.done.resolve();
    },
    abort: ({ id }) => {
      const stream = streams.get(id);
      if (stream) fail(id, stream, new Error('encoder stream aborted'));
    },
  },
}));
