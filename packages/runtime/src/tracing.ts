// OpenTelemetry traces with the official OpenTelemetry JS SDK, off by default.
// With --otlp-endpoint (or OTEL_EXPORTER_OTLP_ENDPOINT) a service exports its
// spans over OTLP/HTTP (protobuf) to a collector. Every served call is a
// SERVER span continuing the caller's W3C `traceparent`; stage clients send
// the active context on, and jobs carry the `traceparent` of the SubmitJob
// call into their run, so one trace covers client → gateway → LM → DiT → VAE.
// Without a tracer provider the API hands out non-recording spans: the
// interceptor costs a header read and two function calls.

import { Code, ConnectError, type Interceptor } from '@connectrpc/connect';
import {
  type Context,
  context,
  propagation,
  ROOT_CONTEXT,
  type Span,
  SpanKind,
  SpanStatusCode,
  trace,
} from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BatchSpanProcessor, type SpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import { toConnectError } from './status.ts';

const TRACER = 'acestep';

export interface Tracing {
  /** Flushes and stops exporting. */
  shutdown(): Promise<void>;
}

/**
 * Installs the global tracer provider, the W3C propagator and the
 * AsyncLocalStorage context manager. `endpoint` is the collector's base URL
 * (http://collector:4318; spans go to /v1/traces); `processors` replace the
 * OTLP exporter (tests use an in-memory exporter).
 */
export function startTracing(options: {
  service: string;
  endpoint?: string;
  processors?: SpanProcessor[];
}): Tracing {
  const processors = options.processors ?? [
    new BatchSpanProcessor({ exporter: new OTLPTraceExporter({ url: traceUrl(options.endpoint ?? '') }) }),
  ];
  const provider = new TracerProvider({
    resource: resourceFromAttributes({ 'service.name': `acestep-${options.service}` }),
    spanProcessors: processors,
  });
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  trace.setGlobalTracerProvider(provider);
  return { shutdown: () => provider.shutdown() };
}

function traceUrl(endpoint: string): string {
  const base = endpoint.replace(/\/+$/, '');
  return base.endsWith('/v1/traces') ? base : `${base}/v1/traces`;
}

export function tracer() {
  return trace.getTracer(TRACER);
}

/** The W3C headers (`traceparent`, `tracestate`) of the active context, for the next hop. */
export function traceHeaders(ctx: Context = context.active()): Record<string, string> {
  const carrier: Record<string, string> = {};
  propagation.inject(ctx, carrier);
  return carrier;
}

/** The context a `traceparent` (stored with a job, or received) continues. */
export function contextFromTraceparent(traceparent: string | undefined): Context {
  return traceparent ? propagation.extract(ROOT_CONTEXT, { traceparent }) : ROOT_CONTEXT;
}

/** Runs fn inside a new span (child of the active context); the span ends when fn settles. */
export async function inSpan<T>(
  name: string,
  attributes: Record<string, string | number>,
  fn: (span: Span) => Promise<T>,
  parent: Context = context.active(),
): Promise<T> {
  return tracer().startActiveSpan(name, { attributes }, parent, async (span) => {
    try {
      return await fn(span);
    } catch (error) {
      span.setStatus({ code: SpanStatusCode.ERROR, message: toConnectError(error).rawMessage });
      throw error;
    } finally {
      span.end();
    }
  });
}

/** A SERVER span for every served call, continuing the caller's traceparent; streams end it at their end. */
export function tracingInterceptor(): Interceptor {
  return (next) => async (req) => {
    const parent = propagation.extract(ROOT_CONTEXT, req.header, {
      get: (headers, key) => headers.get(key) ?? undefined,
      keys: (headers) => [...headers.keys()],
    });
    const span = tracer().startSpan(
      `${req.service.typeName}/${req.method.name}`,
      {
        kind: SpanKind.SERVER,
        attributes: {
          'rpc.system': 'grpc',
          'rpc.service': req.service.typeName,
          'rpc.method': req.method.name,
        },
      },
      parent,
    );
    const active = trace.setSpan(parent, span);
    let ended = false;
    const end = (error?: unknown) => {
      if (ended) return;
      ended = true;
      if (error !== undefined) {
        // The status the caller gets: the one mapping (status.ts), as the server answers.
        const e = toConnectError(error, req.signal);
        span.setAttribute('rpc.grpc.status_code', e.code);
        if (e.code !== Code.Canceled) span.setStatus({ code: SpanStatusCode.ERROR, message: e.rawMessage });
      } else span.setAttribute('rpc.grpc.status_code', 0);
      span.end();
    };
    try {
      const res = await context.with(active, () => next(req));
      if (!res.stream) {
        end();
        return res;
      }
      return { ...res, message: inContext(res.message, active, end) };
    } catch (error) {
      end(error);
      throw error;
    }
  };
}

/** Iterates a response stream inside ctx (a generator runs in the context of whoever calls next()). */
async function* inContext<T>(
  messages: AsyncIterable<T>,
  ctx: Context,
  end: (error?: unknown) => void,
): AsyncGenerator<T> {
  const iterator = messages[Symbol.asyncIterator]();
  try {
    for (;;) {
      const step = await context.with(ctx, () => iterator.next());
      if (step.done) break;
      yield step.value;
    }
    end();
  } catch (error) {
    end(error);
    throw error;
  } finally {
    end(new ConnectError('client went away', Code.Canceled));
    await iterator.return?.();
  }
}
