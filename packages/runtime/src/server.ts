// One way to run a service: a Connect handler on one port that speaks HTTP/2
// cleartext and HTTP/1.1 (gRPC, gRPC-Web and Connect/JSON), the standard health
// service, the tensor diagnostics service, an HTTP side port for /metrics, and
// graceful shutdown. A service only registers its own routes.
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type http2 from 'node:http2';
import type net from 'node:net';
import type { AddressInfo } from 'node:net';
import { DiagnosticsService } from '@acestep/proto/diag';
import { Health } from '@acestep/proto/health';
import { Code, ConnectError, type ConnectRouter, type Interceptor } from '@connectrpc/connect';
import type { ServiceConfig } from './config.ts';
import { connectHandler } from './connect-adapter.ts';
import { diagnosticsService } from './diagnostics.ts';
import { continueIfExpected, createDualProtocolServer, type NodeHandler } from './dual-protocol.ts';
import { HealthRegistry, healthService, ServingStatus } from './health.ts';
import { createLogger, type Logger, type RequestScope, withRequestScope } from './logger.ts';
import { createServiceMetrics, type ServiceMetrics } from './metrics.ts';
import { registerReflection } from './reflection.ts';
import { operatorInfo } from './service-info.ts';
import { toConnectError } from './status.ts';
import { tracingInterceptor } from './tracing.ts';

/** HTTP/2 flow-control window: large enough that 1 MiB tensor chunks stream without stalls. */
const FLOW_CONTROL_WINDOW = 16 << 20;
/** Protobuf message limit; tensor chunks are 1 MiB, uploads are chunked too. */
export const MAX_MESSAGE_BYTES = 8 << 20;
/**
 * Memory (MB) one HTTP/2 session may buffer. Node's default of 10 MB is less
 * than one 16 MiB flow-control window: a client sending a large message faster
 * than the handler reads it got the session torn down with
 * NGHTTP2_ENHANCE_YOUR_CALM instead of a RESOURCE_EXHAUSTED answer.
 */
const MAX_SESSION_MEMORY_MB = 128;

export interface ServiceContext<C extends ServiceConfig = ServiceConfig> {
  config: C;
  logger: Logger;
  metrics: ServiceMetrics;
  health: HealthRegistry;
  /** Aborted when the grace period of a shutdown runs out. */
  shutdownSignal: AbortSignal;
}

export interface ServiceSpec<C extends ServiceConfig = ServiceConfig> {
  /** "lm", "dit", "vae" or "gateway". */
  name: string;
  /** Full names of the gRPC services registered, for health ("acestep.vae.v1.VaeService"). */
  grpcServices: string[];
  routes: (router: ConnectRouter, context: ServiceContext<C>) => void;
  /** Runs before the port reports SERVING (load models, connect to NATS...). */
  start?: (context: ServiceContext<C>) => Promise<void>;
  /** Interceptors of the service's own routes (API keys...), after the runtime's own. */
  interceptors?: (context: ServiceContext<C>) => Interceptor[];
  /** Wraps the port's HTTP handler (plain HTTP routes, CORS); `connect` serves the RPC routes. */
  http?: (connect: NodeHandler, context: ServiceContext<C>) => NodeHandler;
  /** Runs after in-flight calls finished or were cancelled (close sessions...). */
  stop?: (context: ServiceContext<C>) => Promise<void>;
}

export interface RunningService<C extends ServiceConfig = ServiceConfig> {
  context: ServiceContext<C>;
  port: number;
  metricsPort: number;
  /** Stops accepting calls, lets in-flight ones finish within the grace period, then closes. */
  shutdown(reason: string): Promise<void>;
}

function codeName(error: ConnectError): string {
  return Code[error.code] ?? 'Unknown';
}

/**
 * Request ids, the status of every error (status.ts: the one mapping), logs and metrics for every
 * call, streaming ones until their last message.
 */
function observe(
  context: Pick<ServiceContext, 'logger' | 'metrics'>,
  inFlight: { count: number; idle: () => void },
) {
  const interceptor: Interceptor = (next) => async (req) => {
    const method = `${req.service.typeName.split('.').pop()}/${req.method.name}`;
    const requestId = req.header.get('x-request-id') || randomUUID();
    const jobId = req.header.get('x-job-id') || undefined;
    const scope = { requestId, method, ...(jobId ? { jobId } : {}) };
    const started = process.hrtime.bigint();
    const { metrics, logger } = context;
    inFlight.count++;
    metrics.rpcInFlight.inc({ method });
    let finished = false;
    const finish = (error?: ConnectError) => {
      if (finished) return;
      finished = true;
      const code = error === undefined ? 'OK' : codeName(error);
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      metrics.rpcRequests.inc({ method, code });
      metrics.rpcDuration.observe({ method, code }, seconds);
      metrics.rpcInFlight.dec({ method });
      withRequestScope(scope, () => {
        const fields = { code, ms: Math.round(seconds * 1000) };
        if (error === undefined || code === 'Canceled') logger.debug('rpc done', fields);
        else logger.warn('rpc failed', { ...fields, error: error.rawMessage });
      });
      if (--inFlight.count === 0) inFlight.idle();
    };
    // A write to a stream the client already closed fails with a plain error ("the stream has been
    // destroyed"); toConnectError takes the real reason from the call's signal (client cancel,
    // deadline, shutdown).
    const status = (error: unknown) => toConnectError(error, req.signal);
    try {
      const res = await withRequestScope(scope, () => next(req));
      res.header.set('x-request-id', requestId);
      if (!res.stream) {
        finish();
        return res;
      }
      return { ...res, message: scoped(res.message, scope, finish, status) };
    } catch (error) {
      const e = status(error);
      finish(e);
      throw e;
    }
  };
  return interceptor;
}

/** Iterates a response stream inside the request scope, reporting how it ended. */
async function* scoped<T>(
  messages: AsyncIterable<T>,
  scope: RequestScope,
  finish: (error?: ConnectError) => void,
  status: (error: unknown) => ConnectError,
): AsyncGenerator<T> {
  const iterator = messages[Symbol.asyncIterator]();
  try {
    for (;;) {
      const step = await withRequestScope(scope, () => iterator.next());
      if (step.done) break;
      yield step.value;
    }
    finish();
  } catch (error) {
    const e = status(error);
    finish(e);
    throw e;
  } finally {
    finish(new ConnectError('client went away', Code.Canceled));
    await iterator.return?.();
  }
}

/** GOAWAY after the connection's age (jittered so replicas' clients do not reconnect in lockstep). */
function maxAgeTimer(ageMs: number, onAge: () => void): NodeJS.Timeout | undefined {
  if (ageMs <= 0) return undefined;
  return setTimeout(onAge, ageMs * (0.9 + Math.random() * 0.2)).unref();
}

function startMetricsServer(name: string, context: ServiceContext): http.Server {
  return http.createServer(async (req, res) => {
    if (req.url === '/metrics') {
      res.setHeader('content-type', context.metrics.registry.contentType);
      res.end(await context.metrics.registry.metrics());
    } else if (req.url === '/info') {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify(operatorInfo(name, context.config)));
    } else if (req.url === '/healthz') {
      const serving = context.health.serving;
      res.writeHead(serving ? 200 : 503).end(serving ? 'SERVING\n' : 'NOT_SERVING\n');
    } else {
      res.writeHead(404).end('not found: try /metrics, /healthz or /info\n');
    }
  });
}

function listen(server: net.Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

export async function startService<C extends ServiceConfig>(
  spec: ServiceSpec<C>,
  config: C,
): Promise<RunningService<C>> {
  const shutdownController = new AbortController();
  const context: ServiceContext<C> = {
    config,
    logger: createLogger(spec.name, config.logLevel, { instance: `${process.pid}` }),
    metrics: createServiceMetrics(spec.name),
    health: new HealthRegistry(spec.grpcServices),
    shutdownSignal: shutdownController.signal,
  };
  let idle: () => void = () => {};
  const inFlight = { count: 0, idle: () => idle() };

  await spec.start?.(context);
  const handler = connectHandler({
    routes: (router) => {
      router.service(Health, healthService(context.health));
      router.service(DiagnosticsService, diagnosticsService(context));
      spec.routes(router, context);
      registerReflection(router);
    },
    interceptors: [observe(context, inFlight), tracingInterceptor(), ...(spec.interceptors?.(context) ?? [])],
    // Tensors and PCM do not compress; gzip would cost more CPU than it saves.
    acceptCompression: [],
    readMaxBytes: MAX_MESSAGE_BYTES,
    writeMaxBytes: MAX_MESSAGE_BYTES,
    // Connect/JSON answers with the proto (snake_case) names, as the spec writes them.
    jsonOptions: { useProtoFieldName: true },
    shutdownSignal: shutdownController.signal,
  });
  const rpc: NodeHandler = (req, res) => {
    continueIfExpected(req, res);
    handler(req, res);
  };
  const top = spec.http ? spec.http(rpc, context) : rpc;
  // Plain HTTP requests (uploads, downloads, REST) count as in flight too, so a
  // shutdown lets them finish within the grace period like RPCs (an RPC is
  // counted twice, here and by `observe`; each side undoes its own count).
  const counted: NodeHandler = (req, res) => {
    inFlight.count++;
    res.once('close', () => {
      if (--inFlight.count === 0) inFlight.idle();
    });
    top(req, res);
  };
  const ports = createDualProtocolServer(counted, {
    settings: { initialWindowSize: FLOW_CONTROL_WINDOW },
    maxSessionMemory: MAX_SESSION_MEMORY_MB,
  });
  const server = ports.listener;
  const sessions = new Set<http2.ServerHttp2Session>();
  // Every accepted socket, also those whose protocol is not known yet: a connection accepted just
  // before SIGTERM becomes an HTTP/2 session only after its first bytes are sniffed, which can be
  // after the shutdown looked at `sessions`; the shutdown waits for sockets, not only sessions.
  const sockets = new Set<net.Socket>();
  let stoppingNow = false;
  ports.listener.on('connection', (socket: net.Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  ports.http2.on('session', (session) => {
    sessions.add(session);
    // Opened while shutting down: its first stream was sent before our GOAWAY could reach the
    // client, so it runs; then GOAWAY (no more streams), or at once if none comes.
    if (stoppingNow) goAwayAfterFirstStream(session);
    const aged = maxAgeTimer(config.maxConnectionAgeMs, () => {
      context.logger.debug('connection reached its max age: GOAWAY');
      session.close();
    });
    session.once('close', () => {
      sessions.delete(session);
      if (aged) clearTimeout(aged);
    });
  });

  const port = await listen(server, config.port, config.host);
  const metricsServer = startMetricsServer(spec.name, context);
  const metricsPort = await listen(metricsServer, config.metricsPort, config.host);
  context.health.setAll(ServingStatus.SERVING);
  context.logger.info('serving', { port, metricsPort, host: config.host, device: config.device });

  let stopping: Promise<void> | undefined;
  const shutdown = (reason: string) => {
    stopping ??= (async () => {
      stoppingNow = true;
      const graceEnd = Date.now() + config.shutdownGraceMs;
      context.logger.info('shutting down', {
        reason,
        inFlight: inFlight.count,
        graceMs: config.shutdownGraceMs,
      });
      context.health.setAll(ServingStatus.NOT_SERVING);
      server.close();
      // GOAWAY: clients stop opening streams here; streams already open go on.
      for (const session of sessions) session.close();
      ports.http1.closeIdleConnections();
      let cancelled = false;
      if (inFlight.count > 0) {
        const drained = new Promise<void>((resolve) => {
          idle = resolve;
        });
        const graceOver = new Promise<'timeout'>((resolve) =>
          setTimeout(resolve, config.shutdownGraceMs, 'timeout').unref(),
        );
        if ((await Promise.race([drained, graceOver])) === 'timeout') {
          context.logger.warn('grace period over: cancelling in-flight calls', { inFlight: inFlight.count });
          shutdownController.abort(new ConnectError('server shutting down', Code.Unavailable));
          cancelled = true;
          await Promise.race([drained, new Promise((r) => setTimeout(r, 1000).unref())]);
        }
      }
      // Sessions close by themselves once their last stream has flushed; wait
      // for that so the final messages of a drained call — or the UNAVAILABLE
      // trailers of a cancelled one — are not cut off by a reset. The wait is
      // bounded by what is left of the grace period, not by a fixed time: a
      // handler's last messages can take seconds to flush (a VAE decode's PCM to
      // a slow reader), and a stream opened just before GOAWAY may not have
      // reached the interceptor's in-flight count yet. Both keep their session
      // open, and both must finish within the grace period.
      const flushMs = cancelled ? 300 : Math.max(300, graceEnd - Date.now());
      // HTTP/1.1 keep-alive sockets close once their response is done.
      const idleCloser = setInterval(() => ports.http1.closeIdleConnections(), 100);
      await Promise.race([
        Promise.all([...sockets].map((s) => new Promise((resolve) => s.once('close', resolve)))),
        new Promise((resolve) => setTimeout(resolve, flushMs).unref()),
      ]);
      clearInterval(idleCloser);
      for (const session of sessions) session.destroy();
      ports.http1.closeAllConnections();
      await spec.stop?.(context);
      metricsServer.close();
      context.logger.info('stopped', { reason });
    })();
    return stopping;
  };
  return { context, port, metricsPort, shutdown };
}

function goAwayAfterFirstStream(session: http2.ServerHttp2Session): void {
  const timer = setTimeout(() => session.close(), 1_000);
  session.once('stream', () => {
    clearTimeout(timer);
    setImmediate(() => session.close());
  });
}
