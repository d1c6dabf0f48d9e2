// Starts service processes the way a deployment would: one OS process per
// service, real gRPC over loopback between them. Used by `acestep serve`, the
// system tests and the benchmarks.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

const REPO_ROOT = new URL('../../../', import.meta.url).pathname;

/**
 * How long a process may take to load its models and report "serving". Two
 * minutes, not thirty seconds: on a shared 2-core machine under load, loading
 * the tiny LM took longer than 30 s and whole test files failed in `before`.
 */
const DEFAULT_START_TIMEOUT_MS = 120_000;

export type ServiceName = 'lm' | 'dit' | 'vae' | 'gateway';

export interface LaunchedService {
  name: ServiceName;
  child: ChildProcess;
  port: number;
  metricsPort: number;
  /** "127.0.0.1:port" */
  address: string;
  /** Resolves with the exit code or signal once the process has ended. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** SIGTERM, then SIGKILL after killAfterMs; resolves when the process is gone. */
  stop(killAfterMs?: number): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export interface LaunchOptions {
  /** Extra flags for the service (e.g. ["--model-dir", dir]). */
  args?: string[];
  env?: NodeJS.ProcessEnv;
  /** Receives every log line the process writes (JSON lines on stdout, anything on stderr). */
  onLog?: (service: ServiceName, line: string) => void;
  /** How long to wait for the "serving" line. */
  startTimeoutMs?: number;
  /**
   * Gateway only: without `--data-dir` (or ACESTEP_DATA_DIR) the gateway gets
   * a fresh temporary data directory, removed when it exits, so launches
   * never share (or lock each other out of) durable job state. False keeps
   * the gateway's own default (the user's data directory), as `acestep serve` does.
   */
  ephemeralData?: boolean;
}

/** Spawns `node services/<name>/src/main.ts` and waits until it reports its ports. */
export function launchService(name: ServiceName, options: LaunchOptions = {}): Promise<LaunchedService> {
  const startTimeoutMs = options.startTimeoutMs ?? DEFAULT_START_TIMEOUT_MS;
  const args = options.args ?? [];
  const ownData =
    name === 'gateway' &&
    options.ephemeralData !== false &&
    !args.includes('--data-dir') &&
    !options.env?.ACESTEP_DATA_DIR
      ? mkdtempSync(join(tmpdir(), 'acestep-gateway-'))
      : undefined;
  const child = spawn(
    process.execPath,
    [
      `${REPO_ROOT}services/${name}/src/main.ts`,
      '--port',
      '0',
      '--metrics-port',
      '0',
      ...(ownData ? ['--data-dir', ownData] : []),
      ...args,
    ],
    {
      cwd: REPO_ROOT,
      env: { ...process.env, ORT_DISABLE_TELEMETRY: '1', ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => {
      if (ownData) rmSync(ownData, { recursive: true, force: true });
      resolve({ code, signal });
    }),
  );
  const stderr: string[] = [];
  createInterface({ input: child.stderr! }).on('line', (line) => {
    stderr.push(line);
    options.onLog?.(name, line);
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${name} did not report "serving" within ${startTimeoutMs} ms`));
    }, startTimeoutMs);
    exited.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(
        new Error(`${name} exited (code ${code}, signal ${signal}) before serving:\n${stderr.join('\n')}`),
      );
    });
    createInterface({ input: child.stdout! }).on('line', (line) => {
      options.onLog?.(name, line);
      const record = parseLog(line);
      if (record?.msg !== 'serving') return;
      clearTimeout(timer);
      const port = Number(record.port);
      resolve({
        name,
        child,
        port,
        metricsPort: Number(record.metricsPort),
        address: `127.0.0.1:${port}`,
        exited,
        stop: (killAfterMs = 35_000) => stopProcess(child, exited, killAfterMs),
      });
    });
  });
}

function parseLog(line: string): Record<string, unknown> | undefined {
  try {
    return JSON.parse(line) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

async function stopProcess(
  child: ChildProcess,
  exited: LaunchedService['exited'],
  killAfterMs: number,
): ReturnType<LaunchedService['stop']> {
  if (child.exitCode === null && child.signalCode === null) {
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), killAfterMs);
    const result = await exited;
    clearTimeout(timer);
    return result;
  }
  return exited;
}

export interface Stack {
  lm: LaunchedService;
  dit: LaunchedService;
  vae: LaunchedService;
  gateway: LaunchedService;
  /** Stops the gateway first, then the stages; resolves with each exit. */
  stop(): Promise<Record<ServiceName, { code: number | null; signal: NodeJS.Signals | null }>>;
}

/** Starts the three stages, then the gateway pointed at them. */
export async function launchStack(
  options: LaunchOptions & {
    gatewayArgs?: string[];
    /** Extra flags of one service, after `args`. */
    serviceArgs?: Partial<Record<ServiceName, string[]>>;
  } = {},
): Promise<Stack> {
  const launched = await Promise.allSettled(
    (['lm', 'dit', 'vae'] as const).map((name) =>
      launchService(name, {
        ...options,
        args: [...(options.args ?? []), ...(options.serviceArgs?.[name] ?? [])],
      }),
    ),
  );
  const stages = launched.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  const failed = launched.find((r) => r.status === 'rejected');
  if (failed) {
    // Stop the stages that did start, or they keep the caller (a test file) alive.
    await Promise.all(stages.map((s) => s.stop()));
    throw failed.reason;
  }
  const [lm, dit, vae] = stages as [LaunchedService, LaunchedService, LaunchedService];
  let gateway: LaunchedService;
  try {
    gateway = await launchService('gateway', {
      ...options,
      args: [
        ...(options.args ?? []),
        ...(options.gatewayArgs ?? []),
        ...(options.serviceArgs?.gateway ?? []),
        '--lm-target',
        lm.address,
        '--dit-target',
        dit.address,
        '--vae-target',
        vae.address,
      ],
    });
  } catch (error) {
    await Promise.all(stages.map((s) => s.stop()));
    throw error;
  }
  return {
    lm,
    dit,
    vae,
    gateway,
    async stop() {
      const gatewayExit = await gateway.stop();
      const [lmExit, ditExit, vaeExit] = await Promise.all([lm.stop(), dit.stop(), vae.stop()]);
      return { gateway: gatewayExit, lm: lmExit!, dit: ditExit!, vae: vaeExit! };
    },
  };
}
