// API keys, tenants and their limits. A key names a tenant; a tenant sees and
// cancels only its own jobs (an admin tenant sees every job), may make at most
// `maxRequests` public calls per `windowS` seconds and may have at most
// `maxActiveJobs` jobs queued or running plus Generate calls in flight.
// Over a limit: RESOURCE_EXHAUSTED with a `retry-after` header (seconds).
// Keys come from --api-keys-file (JSON, a mounted Secret) and/or the single
// --api-key (an admin key named "default"). Keys are kept as sha256 digests.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { StatusError } from '@acestep/runtime';
import { createContextKey } from '@connectrpc/connect';
import { RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible';

export interface TenantLimits {
  /** Public calls per window (fixed windows of windowS seconds); 0 = unlimited. */
  maxRequests: number;
  /** The rate window in seconds (default 60). */
  windowS: number;
  /** Jobs queued or running plus Generate calls in flight; 0 = unlimited. */
  maxActiveJobs: number;
}

export interface Tenant {
  name: string;
  admin: boolean;
  limits: TenantLimits;
}

/** The keys file: `{ "defaults": {limits}, "keys": [{ name, key | sha256, admin?, ...limits }] }`. */
export interface KeysFile {
  defaults?: Partial<TenantLimits>;
  keys: ({ name: string; key?: string; sha256?: string; admin?: boolean } & Partial<TenantLimits>)[];
}

/** The caller of the current public call (set by the auth interceptor; undefined when keys are off). */
export const TENANT = createContextKey<Tenant | undefined>(undefined, { description: 'tenant' });

/** The tenant a job call is scoped to: undefined = every job (an admin, or keys off). */
export function jobScope(tenant: Tenant | undefined): string | undefined {
  return tenant && !tenant.admin ? tenant.name : undefined;
}

/** The tenant recorded on a new job ('' when keys are off). */
export function jobOwner(tenant: Tenant | undefined): string {
  return tenant?.name ?? '';
}

const NAME = /^[A-Za-z0-9][\w.-]{0,63}$/;
const SHA256 = /^[0-9a-f]{64}$/;
const LIMITS: Record<keyof TenantLimits, [min: number, max: number]> = {
  maxRequests: [0, 1_000_000],
  windowS: [1, 86_400],
  maxActiveJobs: [0, 1_000_000],
};
const UNLIMITED: TenantLimits = { maxRequests: 0, windowS: 60, maxActiveJobs: 0 };

export function sha256Hex(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

/** Checks a parsed keys file; every problem is reported at once, naming the entry and field. */
export function parseKeysFile(raw: unknown, source: string): Map<string, Tenant> {
  const problems: string[] = [];
  const file = raw as KeysFile;
  if (typeof raw !== 'object' || raw === null || !Array.isArray(file.keys)) {
    throw new Error(`${source}: expected {"keys": [{"name", "key" or "sha256", "admin", ...limits}]}`);
  }
  const limitsOf = (from: Partial<TenantLimits> | undefined, where: string, base: TenantLimits) => {
    const out = { ...base };
    for (const [field, [min, max]] of Object.entries(LIMITS) as [keyof TenantLimits, [number, number]][]) {
      const value = from?.[field];
      if (value === undefined) continue;
      if (!Number.isInteger(value) || value < min || value > max)
        problems.push(`${where}.${field} must be an integer in ${min}..${max}; got ${JSON.stringify(value)}`);
      else out[field] = value;
    }
    return out;
  };
  const defaults = limitsOf(file.defaults, 'defaults', UNLIMITED);
  const tenants = new Map<string, Tenant>();
  const names = new Set<string>();
  file.keys.forEach((entry, i) => {
    const where = `keys[${i}]`;
    if (typeof entry?.name !== 'string' || !NAME.test(entry.name))
      problems.push(`${where}.name must match ${NAME} (letters, digits, _ . -); got ${entry?.name}`);
    else if (names.has(entry.name)) problems.push(`${where}.name "${entry.name}" is used twice`);
    names.add(entry?.name);
    const hasKey = typeof entry?.key === 'string' && entry.key.length >= 16;
    const hasHash = typeof entry?.sha256 === 'string' && SHA256.test(entry.sha256);
    if (hasKey === hasHash)
      problems.push(
        `${where} needs exactly one of "key" (at least 16 characters) or "sha256" (64 hex digits)`,
      );
    if (entry?.admin !== undefined && typeof entry.admin !== 'boolean')
      problems.push(`${where}.admin must be true or false`);
    const digest = hasKey ? sha256Hex(entry.key as string) : (entry?.sha256 ?? '');
    if (tenants.has(digest)) problems.push(`${where}: the same key is listed twice`);
    tenants.set(digest, {
      name: entry?.name,
      admin: entry?.admin === true,
      limits: limitsOf(entry, where, defaults),
    });
  });
  if (problems.length > 0) throw new Error(`${source}: ${problems.join('; ')}`);
  return tenants;
}

export class Tenants {
  /** By the sha256 (hex) of the key. */
  readonly #byDigest: Map<string, Tenant>;
  readonly #limiters = new Map<string, RateLimiterMemory>();
  readonly #generating = new Map<string, number>();
  readonly #submits = new Map<string, Promise<unknown>>();

  constructor(byDigest: Map<string, Tenant>) {
    this.#byDigest = byDigest;
  }

  /** From the gateway flags; throws (the process exits 2) on a bad file. */
  static load(options: { apiKey: string; apiKeysFile: string }): Tenants {
    const byDigest = new Map<string, Tenant>();
    if (options.apiKeysFile) {
      let raw: unknown;
      try {
        raw = JSON.parse(readFileSync(options.apiKeysFile, 'utf8'));
      } catch (error) {
        throw new Error(`--api-keys-file ${options.apiKeysFile}: ${(error as Error).message}`);
      }
      for (const [digest, tenant] of parseKeysFile(raw, `--api-keys-file ${options.apiKeysFile}`))
        byDigest.set(digest, tenant);
    }
    if (options.apiKey && !byDigest.has(sha256Hex(options.apiKey))) {
      byDigest.set(sha256Hex(options.apiKey), {
        name: 'default',
        admin: true,
        limits: UNLIMITED,
      });
    }
    return new Tenants(byDigest);
  }

  /** False: no keys configured, every call is anonymous and sees every job. */
  get enabled(): boolean {
    return this.#byDigest.size > 0;
  }

  /**
   * The tenant of a key (taken from the request by transport/auth.ts, the one
   * rule for every entry point); UNAUTHENTICATED when it is missing or unknown.
   */
  check(given: string | undefined): Tenant {
    if (given === undefined) {
      throw new StatusError(
        'UNAUTHENTICATED',
        'missing API key: send "Authorization: Bearer <key>" (or "X-Api-Key: <key>")',
      );
    }
    const tenant = this.#byDigest.get(sha256Hex(given));
    if (!tenant) throw new StatusError('UNAUTHENTICATED', 'invalid API key');
    return tenant;
  }

  /** Counts one call against the tenant's rate; RESOURCE_EXHAUSTED with a retry hint when over. */
  async takeRequest(tenant: Tenant): Promise<void> {
    const { maxRequests, windowS } = tenant.limits;
    if (maxRequests === 0) return;
    let limiter = this.#limiters.get(tenant.name);
    if (!limiter) {
      limiter = new RateLimiterMemory({ points: maxRequests, duration: windowS });
      this.#limiters.set(tenant.name, limiter);
    }
    try {
      await limiter.consume(tenant.name);
    } catch (error) {
      if (!(error instanceof RateLimiterRes)) throw error;
      throw overLimit(
        `API key "${tenant.name}" is over its rate limit (${maxRequests} calls per ${windowS} s)`,
        error.msBeforeNext,
      );
    }
  }

  /**
   * Runs submit when the tenant is under its concurrent-job quota. Submits of
   * one tenant run one after another here, so two at once cannot both take
   * the last slot (per gateway process; across NATS replicas the bound can be
   * passed by the number of replicas submitting at the same instant).
   */
  admitJob<T>(tenant: Tenant, active: () => Promise<number>, submit: () => Promise<T>): Promise<T> {
    if (tenant.limits.maxActiveJobs === 0) return submit();
    const previous = this.#submits.get(tenant.name) ?? Promise.resolve();
    const next = previous.then(async () => {
      this.checkQuota(tenant, await active());
      return submit();
    });
    const tail = next.then(
      () => undefined,
      () => undefined,
    );
    this.#submits.set(tenant.name, tail);
    void tail.then(() => {
      if (this.#submits.get(tenant.name) === tail) this.#submits.delete(tenant.name);
    });
    return next;
  }

  /** The concurrent-job quota; `active` is the tenant's queued and running jobs. */
  checkQuota(tenant: Tenant, active: number): void {
    const { maxActiveJobs } = tenant.limits;
    const inFlight = active + (this.#generating.get(tenant.name) ?? 0);
    if (maxActiveJobs > 0 && inFlight >= maxActiveJobs) {
      throw overLimit(
        `API key "${tenant.name}" has ${inFlight} jobs queued, running or generating; its quota is ${maxActiveJobs}`,
        QUOTA_RETRY_MS,
      );
    }
  }

  /** Marks a Generate call in flight until the returned function is called. */
  startGenerate(tenant: Tenant): () => void {
    this.#generating.set(tenant.name, (this.#generating.get(tenant.name) ?? 0) + 1);
    let ended = false;
    return () => {
      if (ended) return;
      ended = true;
      const left = (this.#generating.get(tenant.name) ?? 1) - 1;
      if (left > 0) this.#generating.set(tenant.name, left);
      else this.#generating.delete(tenant.name);
    };
  }
}

/** A job ends on its own time; a client over quota polls again after this long. */
const QUOTA_RETRY_MS = 5_000;

function overLimit(message: string, retryAfterMs: number): StatusError {
  const seconds = Math.max(1, Math.ceil(retryAfterMs / 1000));
  return new StatusError('RESOURCE_EXHAUSTED', `${message}; retry after ${seconds} s`, {
    metadata: { 'retry-after': String(seconds) },
  });
}
