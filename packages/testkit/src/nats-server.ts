// Starts a real nats-server with JetStream for the tests (store in a temp
// directory, a free port, loopback only). No server, no test: a missing binary
// fails loudly instead of skipping.
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';

export interface NatsServer {
  url: string;
  /** SIGKILL, keeping the JetStream store: an outage. */
  kill(): Promise<void>;
  /** Starts the server again on the same port and store (after kill(), or killing it first). */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

function findBinary(): string {
  const fromEnv = process.env.NATS_SERVER_BIN;
  if (fromEnv) return fromEnv;
  const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/sbin', '/usr/local/bin'];
  for (const dir of dirs) {
    if (dir && existsSync(join(dir, 'nats-server'))) return join(dir, 'nats-server');
  }
  throw new Error(
    'nats-server not found (PATH, /usr/sbin, NATS_SERVER_BIN): the NATS job tests need a real server. ' +
      'Install it (Debian: apt-get install nats-server) or set NATS_SERVER_BIN.',
  );
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ port, host: '127.0.0.1' });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

interface RunningProcess {
  child: ChildProcess;
  exited: Promise<void>;
}

/** Spawns nats-server on `port` with its JetStream store in `dir`; resolves once it accepts connections. */
async function spawnServer(binary: string, dir: string, port: number): Promise<RunningProcess> {
  const child: ChildProcess = spawn(binary, ['-js', '-sd', dir, '-p', String(port), '-a', '127.0.0.1'], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let log = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    log = (log + chunk.toString()).slice(-4000);
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  for (let i = 0; i < 100; i++) {
    if (child.exitCode !== null) break;
    if (await accepts(port)) return { child, exited };
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  child.kill('SIGKILL');
  throw new Error(`nats-server (${binary}) did not start on port ${port}:\n${log}`);
}

export async function startNatsServer(): Promise<NatsServer> {
  const binary = findBinary();
  const dir = await mkdtemp(join(tmpdir(), 'acestep-nats-'));
  const port = await freePort();
  let running: RunningProcess | undefined;
  try {
    running = await spawnServer(binary, dir, port);
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
  const kill = async () => {
    running?.child.kill('SIGKILL');
    await running?.exited;
    running = undefined;
  };
  return {
    url: `nats://127.0.0.1:${port}`,
    kill,
    restart: async () => {
      await kill();
      running = await spawnServer(binary, dir, port);
    },
    stop: async () => {
      await kill();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
