// A service's routes served inside the calling process through Connect's
// router transport: the same handlers, models and validation, without
// sockets or HTTP/2. Benchmarks use it to measure what the process split costs.
import { createRouterTransport, type Transport } from '@connectrpc/connect';
import type { ServiceConfig } from './config.ts';
import { HealthRegistry } from './health.ts';
import { createLogger } from './logger.ts';
import { createServiceMetrics } from './metrics.ts';
import type { ServiceContext, ServiceSpec } from './server.ts';

export interface InProcessService {
  transport: Transport;
  stop(): Promise<void>;
}

export async function startInProcess<C extends ServiceConfig>(
  spec: ServiceSpec<C>,
  config: C,
): Promise<InProcessService> {
  const shutdown = new AbortController();
  const context: ServiceContext<C> = {
    config,
    logger: createLogger(spec.name, 'error'),
    metrics: createServiceMetrics(spec.name),
    health: new HealthRegistry(spec.grpcServices),
    shutdownSignal: shutdown.signal,
  };
  await spec.start?.(context);
  const transport = createRouterTransport((router) => spec.routes(router, context), {
    router: { interceptors: spec.interceptors?.(context) ?? [] },
  });
  return {
    transport,
    async stop() {
      shutdown.abort();
      await spec.stop?.(context);
    },
  };
}
