// The gateway's config: the common service options plus where each stage
// lives, where jobs and results are kept, and per-request limits.
import { availableParallelism, homedir } from 'node:os';
import { join } from 'node:path';
import {
  defaultServiceConfig,
  intOption,
  type OptionTable,
  type ServiceConfig,
  stringOption,
} from '@acestep/runtime';

export interface GatewayConfig extends ServiceConfig {
  /** grpc-js targets of the stages; "dns:///name:port" balances over every replica. */
  lmTarget: string;
  ditTarget: string;
  vaeTarget: string;
  /** NATS server for durable jobs; '' = the embedded in-process queue. Also read from NATS_URL. */
  natsUrl: string;
  /** Embedded mode: where results and uploads are stored. */
  dataDir: string;
  /** Jobs this replica runs at once. */
  jobConcurrency: number;
  /** Jobs accepted and not ended before SubmitJob answers RESOURCE_EXHAUSTED. */
  maxJobs: number;
  /** Largest upload (and result file) in bytes. */
  maxUploadBytes: number;
  maxCaptionChars: number;
  maxLyricsChars: number;
  /** When set, every public call needs `authorization: Bearer <key>` (or `x-api-key: <key>`). */
  apiKey: string;
  /** JSON file of API keys, tenants and their limits (a mounted Secret); see tenants.ts. */
  apiKeysFile: string;
  /** Ended jobs and stored results are removed after this many hours. */
  jobRetentionHours: number;
  /** A job running longer than this ends FAILED. */
  maxJobRunS: number;
  /** Attempts per stage call (the only retry of a stage call): UNAVAILABLE (a replica died) runs again on another replica. */
  stageAttempts: number;
  /** Deadline of one stage call (LM, DiT, VAE), propagated as the gRPC deadline. */
  stageTimeoutMs: number;
  /** NATS: a job whose runner stopped heart-beating is redelivered after this long. */
  jobAckWaitMs: number;
  /** Browser origins allowed to call the gateway: "" = no CORS (default), "*" = any, or a comma list. */
  corsOrigins: string;
  /** Serve the web playground at / ("on", the default) or not. */
  playground: 'on' | 'off';
  /** Worker threads that encode output files (items of a batch encode in parallel up to this). */
  encoderThreads: number;
}

const TARGET = /^[\w.:/,[\]-]+$/;
const ALLOWED = 'a grpc target such as 127.0.0.1:50051 or dns:///lm.acestep.svc:50051';

export const GATEWAY_OPTIONS: OptionTable<Omit<GatewayConfig, keyof ServiceConfig>> = {
  lmTarget: stringOption('lm-target', 'LM stage address', ALLOWED, TARGET),
  ditTarget: stringOption('dit-target', 'DiT stage address', ALLOWED, TARGET),
  vaeTarget: stringOption('vae-target', 'VAE stage address', ALLOWED, TARGET),
  natsUrl: stringOption(
    'nats-url',
    'NATS server for durable jobs',
    'a nats:// URL or empty',
    /^(nats:\/\/[\w.:,@/-]+)?$/,
  ),
  dataDir: stringOption(
    'data-dir',
    'embedded jobs: job database and results directory (one gateway per directory)',
    'a directory path',
    /^.+$/,
  ),
  jobConcurrency: intOption('job-concurrency', 'jobs run at once by this replica', 0, 64),
  maxJobs: intOption('max-jobs', 'jobs queued or running before RESOURCE_EXHAUSTED', 1, 1_000_000),
  maxUploadBytes: intOption('max-upload-bytes', 'largest upload in bytes', 1024, 2 ** 31 - 1),
  maxCaptionChars: intOption('max-caption-chars', 'longest caption', 1, 100_000),
  maxLyricsChars: intOption('max-lyrics-chars', 'longest lyrics', 1, 1_000_000),
  apiKey: stringOption('api-key', 'an admin API key for public calls (empty = none)', 'a string', /^.*$/),
  apiKeysFile: stringOption(
    'api-keys-file',
    'JSON file of API keys: tenants, admin, rate limits, job quotas (empty = none)',
    'a file path or empty',
    /^.*$/,
  ),
  jobRetentionHours: intOption('job-retention-hours', 'hours ended jobs and results are kept', 1, 8760),
  maxJobRunS: intOption('max-job-run-s', 'longest run of one job in seconds', 1, 86_400),
  stageAttempts: intOption(
    'stage-attempts',
    'attempts per stage call: UNAVAILABLE runs it again on another replica; 1 = exactly one attempt',
    1,
    10,
  ),
  stageTimeoutMs: intOption('stage-timeout-ms', 'deadline of one stage call', 1000, 3_600_000),
  jobAckWaitMs: intOption('job-ack-wait-ms', 'NATS redelivery delay of an abandoned job', 500, 3_600_000),
  corsOrigins: stringOption(
    'cors-origins',
    'browser origins allowed to call (CORS); empty = none',
    'empty, "*", or comma-separated origins such as https://app.example,http://localhost:5173',
    /^(\*|(https?:\/\/[\w.-]+(:\d+)?)(,\s*https?:\/\/[\w.-]+(:\d+)?)*)?$/,
  ),
  playground: stringOption('playground', 'serve the web playground at /', 'on or off', /^(on|off)$/),
  encoderThreads: intOption('encoder-threads', 'threads encoding output files', 1, 256),
};

/**
 * Where the embedded job state and results live by default: the user's data
 * directory (XDG base directory spec: $XDG_DATA_HOME, else ~/.local/share),
 * never the source tree.
 */
export function defaultDataDir(env: NodeJS.ProcessEnv = process.env): string {
  const base = env.XDG_DATA_HOME || join(homedir(), '.local', 'share');
  return join(base, 'acestep', 'gateway');
}

export function defaultGatewayConfig(env: NodeJS.ProcessEnv = process.env): GatewayConfig {
  return {
    ...defaultServiceConfig({ port: 50050, metricsPort: 9460 }),
    lmTarget: '127.0.0.1:50051',
    ditTarget: '127.0.0.1:50052',
    vaeTarget: '127.0.0.1:50053',
    natsUrl: env.NATS_URL ?? '',
    dataDir: defaultDataDir(env),
    jobConcurrency: 2,
    maxJobs: 256,
    // A 10-minute 24-bit 48 kHz stereo WAV is 172.8 MB.
    maxUploadBytes: 192 << 20,
    maxCaptionChars: 4096,
    maxLyricsChars: 32_768,
    apiKey: '',
    apiKeysFile: '',
    jobRetentionHours: 24,
    maxJobRunS: 3600,
    stageAttempts: 3,
    stageTimeoutMs: 600_000,
    jobAckWaitMs: 30_000,
    corsOrigins: '',
    playground: 'on',
    encoderThreads: availableParallelism(),
  };
}
