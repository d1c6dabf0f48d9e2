// The thread side of EncoderPool: runs stream encoders for the main thread, one message queue per
// stream so writes stay in order while other streams on this thread interleave with them.
import { parentPort } from 'node:worker_threads';
import { openStreamEncoder, type StreamEncoder, type StreamEncodeSpec } from './stream-encoder.ts';

export type EncoderRequest =
  | { op: 'open'; id: number; spec: StreamEncodeSpec }
  | { op: 'write'; id: number; channels: Float32Array[] }
  | { op: 'end'; id: number }
  | { op: 'abort'; id: number };

export type EncoderReply =
  | { op: 'data'; id: number; bytes: Uint8Array }
  | { op: 'written'; id: number }
  | { op: 'ended'; id: number }
  | { op: 'error'; id: number; message: string };

const port = parentPort!;
const streams = new Map<number, { encoder: Promise<StreamEncoder>; queue: Promise<void>; failed: boolean }>();

const reply = (message: EncoderReply, transfer: ArrayBuffer[] = []) => port.postMessage(message, transfer);

port.on('message', (request: EncoderRequest) => {
  const { id } = request;
  if (request.op === 'open') {
    const encoder = openStreamEncoder(request.spec, (bytes) => {
      // Bytes that own their buffer move without a copy; views into a shared one are copied.
      const own = bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength;
      const out = own ? bytes : bytes.slice();
      reply({ op: 'data', id, bytes: out }, [out.buffer as ArrayBuffer]);
    });
    streams.set(id, { encoder, queue: encoder.then(() => {}), failed: false });
    return;
  }
  const stream = streams.get(id);
  if (!stream) return; // aborted or failed before: the main side already knows
  if (request.op === 'abort') {
    streams.delete(id);
    stream.encoder.then(
      (e) => e.abort(),
      () => {},
    );
    return;
  }
  stream.queue = stream.queue
    .then(async () => {
      if (stream.failed) return;
      const encoder = await stream.encoder;
      if (request.op === 'write') {
        await encoder.write(request.channels);
        reply({ op: 'written', id });
      } else {
        await encoder.end();
        streams.delete(id);
        reply({ op: 'ended', id });
      }
    })
    .catch((error: unknown) => {
      stream.failed = true;
      streams.delete(id);
      stream.encoder.then(
        (e) => e.abort(),
        () => {},
      );
      reply({ op: 'error', id, message: error instanceof Error ? error.message : String(error) });
    });
});
