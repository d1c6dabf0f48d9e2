// Typed clients for gateway -> stage calls, on @grpc/grpc-js. grpc-js brings
// what Connect's Node transport lacks for replica fan-out: client-side load
// balancing (round_robin over every address a DNS name resolves to, e.g. a
// Kubernetes headless Service), keepalive and connection-level flow-control
// windows. The surface is Connect's `Client<S>`, so callers see the same types
// and errors either way. Services call stages through stage-call.ts, which owns
// attempts, deadlines and error translation; this file has no retry policy of
// its own (grpc-js only re-sends a call that never reached a server, a
// "transparent retry", which no stage can see or count).
import { once } from 'node:events';
import {
  create,
  type DescMethod,
  type DescService,
  fromBinary,
  type MessageInitShape,
  toBinary,
} from '@bufbuild/protobuf';
import { type CallOptions, type Client, Code, ConnectError } from '@connectrpc/connect';
import * as grpc from '@grpc/grpc-js';
import { currentScope } from './logger.ts';
import { traceHeaders } from './tracing.ts';

export interface StageClientOptions {
  /**
   * grpc-js target: "dns:///vae.acestep.svc.cluster.local:50053" (every
   * replica), "127.0.0.1:50053", or "ipv4:127.0.0.1:50061,127.0.0.1:50062".
   */
  target: string;
}

const FLOW_CONTROL_WINDOW = 16 << 20;
const MAX_MESSAGE_BYTES = 8 << 20;

/** Round robin over every replica; no methodConfig retryPolicy (attempts are stage-call.ts's). */
const SERVICE_CONFIG = JSON.stringify({ loadBalancingConfig: [{ round_robin: {} }] });

/**
 * grpc-message is percent-encoded on the wire; Connect servers encode with
 * encodeURIComponent, and grpc-js decodes with decodeURI, which leaves
 * reserved characters such as "," as %2C. Finish the job.
 */
function decodeStatusMessage(message: string): string {
  try {
    return decodeURIComponent(message);
  } catch {
    return message;
  }
}

function toConnectError(error: unknown): ConnectError {
  const e = error as Partial<grpc.ServiceError>;
  if (typeof e?.code === 'number' && e.code >= 1 && e.code <= 16) {
    return new ConnectError(
      decodeStatusMessage(e.details ?? e.message ?? 'stage call failed'),
      e.code as number as Code,
    );
  }
  return ConnectError.from(error);
}

interface Call {
  metadata: grpc.Metadata;
  options: grpc.CallOptions;
  /** Wires an AbortSignal to a call's cancel(). */
  bind: (call: { cancel(): void }) => void;
}

function prepare(options: CallOptions | undefined): Call {
  const metadata = new grpc.Metadata();
  const scope = currentScope();
  if (scope?.requestId) metadata.set('x-request-id', scope.requestId);
  if (scope?.jobId) metadata.set('x-job-id', scope.jobId);
  for (const [key, value] of Object.entries(traceHeaders())) metadata.set(key, value);
  if (options?.headers) {
    for (const [key, value] of new Headers(options.headers)) metadata.set(key, value);
  }
  const callOptions: grpc.CallOptions = {};
  if (options?.timeoutMs) callOptions.deadline = Date.now() + options.timeoutMs;
  return {
    metadata,
    options: callOptions,
    bind: (call) => {
      const signal = options?.signal;
      if (!signal) return;
      if (signal.aborted) call.cancel();
      else signal.addEventListener('abort', () => call.cancel(), { once: true });
    },
  };
}

async function writeAll<I extends DescMethod['input']>(
  call: grpc.ClientWritableStream<unknown>,
  schema: I,
  requests: AsyncIterable<MessageInitShape<I>>,
): Promise<void> {
  try {
    for await (const init of requests) {
      // Back-pressure: wait for the HTTP/2 stream to drain before the next chunk.
      if (!call.write(create(schema, init))) await once(call, 'drain');
    }
    call.end();
  } catch (error) {
    call.cancel();
    throw error;
  }
}

async function* readAll<T>(stream: AsyncIterable<unknown>): AsyncGenerator<T> {
  try {
    for await (const message of stream) yield message as T;
  } catch (error) {
    throw toConnectError(error);
  }
}

/**
 * How fast a channel notices a stage that came back. grpc-js's defaults back off from 1 s up to 120 s
 * between reconnect attempts (×1.6 each) and re-resolve DNS at most every 30 s, so after a 30–90 s
 * outage the gateway kept answering UNAVAILABLE for another 11–24 s. Stages are on the same cluster
 * network, where a connection attempt costs a SYN: retrying every second at most is cheap, and a pod
 * that restarted with a new address is found within a second of its DNS record appearing.
 */
const RECONNECT_OPTIONS = {
  'grpc.initial_reconnect_backoff_ms': 250,
  'grpc.max_reconnect_backoff_ms': 1_000,
  'grpc.dns_min_time_between_resolutions_ms': 1_000,
} as const;

/** A typed client over one grpc-js channel; close() releases it. */
export function createStageClient<S extends DescService>(
  service: S,
  options: StageClientOptions,
): Client<S> & { close(): void } {
  const channel = new grpc.Client(options.target, grpc.credentials.createInsecure(), {
    'grpc.service_config': SERVICE_CONFIG,
    'grpc.enable_retries': 1, // transparent retries only: no retry policy above
    'grpc.keepalive_time_ms': 30_000,
    'grpc.keepalive_timeout_ms': 10_000,
    'grpc.keepalive_permit_without_calls': 1,
    'grpc-node.flow_control_window': FLOW_CONTROL_WINDOW,
    'grpc.max_receive_message_length': MAX_MESSAGE_BYTES,
    'grpc.max_send_message_length': MAX_MESSAGE_BYTES,
    ...RECONNECT_OPTIONS,
  });
  const client: Record<string, unknown> = { close: () => channel.close() };
  for (const method of service.methods) {
    const path = `/${service.typeName}/${method.name}`;
    const serialize = (value: unknown) => Buffer.from(toBinary(method.input, value as never));
    const deserialize = (bytes: Buffer) => fromBinary(method.output, bytes);
    client[method.localName] = methodCaller(channel, method, path, serialize, deserialize);
  }
  return client as Client<S> & { close(): void };
}

function methodCaller(
  channel: grpc.Client,
  method: DescMethod,
  path: string,
  serialize: (value: unknown) => Buffer,
  deserialize: (bytes: Buffer) => unknown,
) {
  switch (method.methodKind) {
    case 'unary':
      return (init: MessageInitShape<typeof method.input>, options?: CallOptions) => {
        const c = prepare(options);
        return new Promise((resolve, reject) => {
          const call = channel.makeUnaryRequest(
            path,
            serialize,
            deserialize,
            create(method.input, init),
            c.metadata,
            c.options,
            (error, response) => (error ? reject(toConnectError(error)) : resolve(response)),
          );
          c.bind(call);
        });
      };
    case 'server_streaming':
      return (init: MessageInitShape<typeof method.input>, options?: CallOptions) => {
        const c = prepare(options);
        const call = channel.makeServerStreamRequest(
          path,
          serialize,
          deserialize,
          create(method.input, init),
          c.metadata,
          c.options,
        );
        c.bind(call);
        return readAll(call);
      };
    case 'client_streaming':
      return async (
        requests: AsyncIterable<MessageInitShape<typeof method.input>>,
        options?: CallOptions,
      ) => {
        const c = prepare(options);
        let call: grpc.ClientWritableStream<unknown> | undefined;
        const response = new Promise((resolve, reject) => {
          call = channel.makeClientStreamRequest(
            path,
            serialize,
            deserialize,
            c.metadata,
            c.options,
            (error, res) => (error ? reject(toConnectError(error)) : resolve(res)),
          );
        });
        c.bind(call!);
        const written = writeAll(call!, method.input, requests);
        const [, res] = await Promise.all([written, response]);
        return res;
      };
    case 'bidi_streaming':
      return (requests: AsyncIterable<MessageInitShape<typeof method.input>>, options?: CallOptions) => {
        const c = prepare(options);
        const call = channel.makeBidiStreamRequest(path, serialize, deserialize, c.metadata, c.options);
        c.bind(call);
        // A failed write surfaces as the read side's error (the call is cancelled).
        writeAll(call, method.input, requests).catch(() => {});
        return readAll(call);
      };
  }
}

export { Code, ConnectError };
