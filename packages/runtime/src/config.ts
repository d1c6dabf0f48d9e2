// Service configuration from flags and environment, validated once at start-up.
// Precedence: --flag, then ACESTEP_* environment variable, then the default.
// Every problem is collected and reported together, naming the flag, the
// variable and the allowed values, so an operator fixes a pod spec in one go.

// The same syntax as @acestep/models' parseDevice, which maps it to execution providers.
export type Device = 'cpu' | `cuda:${number}` | `webgpu:${number}` | 'webgpu';
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

/** What every service takes. */
export interface ServiceConfig {
  /** Interface to bind ("0.0.0.0" in a pod, "127.0.0.1" by default). */
  host: string;
  /** gRPC port (HTTP/2 cleartext: gRPC, gRPC-Web and Connect). */
  port: number;
  /** Port of the plain HTTP server for /metrics and /healthz. 0 = a free port. */
  metricsPort: number;
  /** Directory of the model set (manifest.json + graphs). */
  modelDir: string;
  device: Device;
  /** onnxruntime intra-op threads; 0 = onnxruntime's default. */
  threads: number;
  /** Requests admitted but not yet running; more are rejected with RESOURCE_EXHAUSTED. */
  maxQueue: number;
  /** Items run as one batch at most. */
  maxBatch: number;
  /** Largest tensor accepted on a stream, in bytes. */
  maxTensorBytes: number;
  /** On SIGTERM: how long in-flight work may take before it is cancelled. */
  shutdownGraceMs: number;
  /**
   * Connections get GOAWAY after this age (±10% jitter), so clients reconnect
   * and re-resolve DNS: replicas added by the autoscaler get traffic. 0 = never.
   */
  maxConnectionAgeMs: number;
  logLevel: LogLevel;
  /** OTLP/HTTP collector for traces (http://collector:4318); '' = tracing off. */
  otlpEndpoint: string;
}

export interface Option<T> {
  flag: string;
  env: string;
  describe: string;
  parse: (raw: string) => T | undefined;
  allowed: string;
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

export function intOption(flag: string, describe: string, min: number, max: number): Option<number> {
  return {
    flag,
    env: `ACESTEP_${flag.toUpperCase().replaceAll('-', '_')}`,
    describe,
    allowed: `an integer in ${min}..${max}`,
    parse: (raw) => {
      const n = Number(raw);
      return Number.isInteger(n) && n >= min && n <= max ? n : undefined;
    },
  };
}

export function stringOption<T extends string>(
  flag: string,
  describe: string,
  allowed: string,
  test: RegExp,
): Option<T> {
  return {
    flag,
    env: `ACESTEP_${flag.toUpperCase().replaceAll('-', '_')}`,
    describe,
    allowed,
    parse: (raw) => (test.test(raw) ? (raw as T) : undefined),
  };
}

/** The options every service takes. */
export const SERVICE_OPTIONS = {
  host: stringOption<string>('host', 'interface to bind', 'a host name or IP address', /^[\w.:-]+$/),
  port: intOption('port', 'gRPC port', 0, 65535),
  metricsPort: intOption('metrics-port', 'HTTP port for /metrics', 0, 65535),
  modelDir: stringOption<string>('model-dir', 'model set directory', 'a directory path', /^.+$/),
  device: stringOption<Device>(
    'device',
    'where graphs run',
    '"cpu", "cuda:N" or "webgpu[:N]"',
    /^(cpu|cuda:\d{1,2}|webgpu(:\d{1,2})?)$/,
  ),
  threads: intOption('threads', 'onnxruntime intra-op threads (0 = default)', 0, 1024),
  maxQueue: intOption('max-queue', 'queued requests before RESOURCE_EXHAUSTED', 1, 100_000),
  maxBatch: intOption('max-batch', 'items per batch', 1, 64),
  maxTensorBytes: intOption('max-tensor-bytes', 'largest tensor on a stream', 1024, 2 ** 31 - 1),
  shutdownGraceMs: intOption('shutdown-grace-ms', 'grace period for in-flight work on SIGTERM', 0, 3_600_000),
  maxConnectionAgeMs: intOption(
    'max-connection-age-ms',
    'GOAWAY after this connection age (0 = never)',
    0,
    86_400_000,
  ),
  logLevel: stringOption<LogLevel>(
    'log-level',
    'log level',
    'debug, info, warn or error',
    /^(debug|info|warn|error)$/,
  ),
  otlpEndpoint: stringOption<string>(
    'otlp-endpoint',
    'OTLP/HTTP collector for traces (also OTEL_EXPORTER_OTLP_ENDPOINT; empty = off)',
    'an http(s):// URL or empty',
    /^(https?:\/\/[\w.:@/[\]-]+)?$/,
  ),
} satisfies OptionTable<ServiceConfig>;

export type OptionTable<T> = { [K in keyof T]: Option<T[K]> };

/** Splits "--name value" and "--name=value" arguments into a map. */
export function parseFlags(argv: readonly string[]): Map<string, string> {
  const flags = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!arg.startsWith('--'))
      throw new ConfigError(`unexpected argument "${arg}": options look like --name value`);
    const eq = arg.indexOf('=');
    if (eq > 0) {
      flags.set(arg.slice(2, eq), arg.slice(eq + 1));
    } else {
      const value = argv[i + 1];
      if (value === undefined || value.startsWith('--')) throw new ConfigError(`option ${arg} needs a value`);
      flags.set(arg.slice(2), value);
      i++;
    }
  }
  return flags;
}

/**
 * Builds a config from argv and env over defaults. Unknown flags and invalid
 * values are errors, all reported at once.
 */
export function loadConfig<T extends object>(
  options: OptionTable<T>,
  defaults: T,
  argv: readonly string[] = process.argv.slice(2),
  env: NodeJS.ProcessEnv = process.env,
): T {
  const flags = parseFlags(argv);
  const problems: string[] = [];
  const table = Object.entries(options) as [keyof T & string, Option<unknown>][];
  const known = new Set(table.map(([, o]) => o.flag));
  for (const flag of flags.keys()) {
    if (!known.has(flag))
      problems.push(`unknown option --${flag} (known: ${[...known].map((f) => `--${f}`).join(', ')})`);
  }
  const config = { ...defaults } as Record<string, unknown>;
  for (const [key, option] of table) {
    const fromFlag = flags.get(option.flag);
    const raw = fromFlag ?? env[option.env];
    if (raw === undefined) continue;
    const value = option.parse(raw);
    const source = fromFlag !== undefined ? `--${option.flag}` : option.env;
    if (value === undefined)
      problems.push(`${source}="${raw}" is invalid: ${option.describe} must be ${option.allowed}`);
    else config[key] = value;
  }
  if (problems.length > 0) throw new ConfigError(`invalid configuration:\n  ${problems.join('\n  ')}`);
  return config as T;
}

/** The common service config. */
export function loadServiceConfig(
  defaults: ServiceConfig,
  argv: readonly string[] = process.argv.slice(2),
  env: NodeJS.ProcessEnv = process.env,
): ServiceConfig {
  return loadConfig(SERVICE_OPTIONS, defaults, argv, env);
}

/** One line per option, for --help. */
export function describeOptions(options: OptionTable<object> = SERVICE_OPTIONS): string {
  return (Object.values(options) as Option<unknown>[])
    .map((o) => `  --${o.flag.padEnd(18)} ${o.env.padEnd(28)} ${o.describe} (${o.allowed})`)
    .join('\n');
}

/** Where `pnpm acestep serve` and the tests find the tiny model set. */
export const DEFAULT_MODEL_DIR = new URL('../../../models/tiny', import.meta.url).pathname;

/** Defaults shared by every service; each passes its own ports. */
export function defaultServiceConfig(ports: { port: number; metricsPort: number }): ServiceConfig {
  return {
    host: '127.0.0.1',
    ...ports,
    modelDir: DEFAULT_MODEL_DIR,
    device: 'cpu',
    threads: 0,
    maxQueue: 32,
    maxBatch: 8,
    maxTensorBytes: 1 << 30,
    shutdownGraceMs: 30_000,
    maxConnectionAgeMs: 300_000,
    logLevel: 'info',
    otlpEndpoint: process.env.OTEL_EXPORTER_OTLP_ENDPOINT ?? '',
  };
}
