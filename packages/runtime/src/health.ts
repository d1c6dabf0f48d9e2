// grpc.health.v1 for Kubernetes gRPC probes and grpc_health_probe. The empty
// service name "" is the whole process; each gRPC service is also listed by its
// full name. Watch streams every change until the caller goes away.

import {
  type Health,
  HealthCheckResponseSchema,
  HealthCheckResponse_ServingStatus as ServingStatus,
} from '@acestep/proto/health';
import { create } from '@bufbuild/protobuf';
import type { ServiceImpl } from '@connectrpc/connect';
import { Code, ConnectError } from '@connectrpc/connect';

export { ServingStatus };

export class HealthRegistry {
  readonly #statuses = new Map<string, ServingStatus>();
  readonly #listeners = new Set<() => void>();

  constructor(serviceNames: readonly string[]) {
    for (const name of ['', ...serviceNames]) this.#statuses.set(name, ServingStatus.NOT_SERVING);
  }

  /** Sets one service's status ("" = the process). */
  set(service: string, status: ServingStatus): void {
    this.#statuses.set(service, status);
    for (const listener of this.#listeners) listener();
  }

  /** Sets every registered service at once (start-up done, shutdown begun). */
  setAll(status: ServingStatus): void {
    for (const name of this.#statuses.keys()) this.#statuses.set(name, status);
    for (const listener of this.#listeners) listener();
  }

  get(service: string): ServingStatus | undefined {
    return this.#statuses.get(service);
  }

  get serving(): boolean {
    return this.#statuses.get('') === ServingStatus.SERVING;
  }

  /** Yields the status now and after every change, until signal aborts. */
  async *watch(service: string, signal: AbortSignal): AsyncGenerator<ServingStatus> {
    let wake: (() => void) | undefined;
    const listener = () => wake?.();
    this.#listeners.add(listener);
    const onAbort = () => wake?.();
    signal.addEventListener('abort', onAbort);
    try {
      let last: ServingStatus | undefined;
      while (!signal.aborted) {
        const status = this.#statuses.get(service) ?? ServingStatus.SERVICE_UNKNOWN;
        if (status !== last) {
          last = status;
          yield status;
        }
        await new Promise<void>((resolve) => {
          wake = resolve;
        });
      }
    } finally {
      this.#listeners.delete(listener);
      signal.removeEventListener('abort', onAbort);
    }
  }
}

export function healthService(registry: HealthRegistry): ServiceImpl<typeof Health> {
  return {
    check(req) {
      const status = registry.get(req.service);
      if (status === undefined) throw new ConnectError(`unknown service "${req.service}"`, Code.NotFound);
      return create(HealthCheckResponseSchema, { status });
    },
    async *watch(req, ctx) {
      for await (const status of registry.watch(req.service, ctx.signal)) {
        yield create(HealthCheckResponseSchema, { status });
      }
    },
  };
}
