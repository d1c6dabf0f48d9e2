// Prometheus metrics of a service (prom-client). Names follow
// acestep_<subsystem>_<what>, durations in seconds. docs/metrics.md lists them.
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

export interface ServiceMetrics {
  registry: Registry;
  /** Finished RPCs by method and gRPC code name. */
  rpcRequests: Counter<'method' | 'code'>;
  /** RPC wall time, from the first byte to the last message. */
  rpcDuration: Histogram<'method' | 'code'>;
  /** RPCs being served now. */
  rpcInFlight: Gauge<'method'>;
  /** Work admitted and waiting, by queue name. The autoscaler reads this. */
  queueDepth: Gauge<'queue'>;
  /** Requests refused because a queue was full. */
  queueRejected: Counter<'queue'>;
  /** Tensor bytes moved over streams, by direction ("in" | "out"). */
  tensorBytes: Counter<'direction'>;
}

/** Buckets from 1 ms to ~10 min: stage calls range from an Info to a 10-minute song. */
const DURATION_BUCKETS = [0.001, 0.005, 0.025, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600];

export function createServiceMetrics(service: string): ServiceMetrics {
  const registry = new Registry();
  registry.setDefaultLabels({ service });
  collectDefaultMetrics({ register: registry, prefix: 'acestep_' });
  return {
    registry,
    rpcRequests: new Counter({
      name: 'acestep_rpc_requests_total',
      help: 'Finished RPCs by method and gRPC status code.',
      labelNames: ['method', 'code'],
      registers: [registry],
    }),
    rpcDuration: new Histogram({
      name: 'acestep_rpc_duration_seconds',
      help: 'RPC wall time in seconds by method and gRPC status code.',
      labelNames: ['method', 'code'],
      buckets: DURATION_BUCKETS,
      registers: [registry],
    }),
    rpcInFlight: new Gauge({
      name: 'acestep_rpc_in_flight',
      help: 'RPCs being served now.',
      labelNames: ['method'],
      registers: [registry],
    }),
    queueDepth: new Gauge({
      name: 'acestep_queue_depth',
      help: 'Work admitted and waiting to run, by queue.',
      labelNames: ['queue'],
      registers: [registry],
    }),
    queueRejected: new Counter({
      name: 'acestep_queue_rejected_total',
      help: 'Requests refused with RESOURCE_EXHAUSTED because a queue was full.',
      labelNames: ['queue'],
      registers: [registry],
    }),
    tensorBytes: new Counter({
      name: 'acestep_tensor_bytes_total',
      help: 'Tensor bytes moved over streams, by direction.',
      labelNames: ['direction'],
      registers: [registry],
    }),
  };
}
