// The serving image end to end: lm, dit, vae and gateway containers on a
// user-defined network, hardened as in the pods (read-only root, tmpfs /tmp,
// the image's non-root user, no capabilities, models read-only), and one
// generation through the gateway's mapped port, called from the host as a
// user would. The same check test/system/gateway.test.ts runs against processes.
// Run by scripts/container-e2e.sh, which provides the daemon, the image and the models:
//   ACESTEP_E2E_IMAGE   the serving image (default acestep/serving:dev-cpu)
//   ACESTEP_E2E_MODELS  host directory of the model set (default models/tiny)
//   ACESTEP_E2E_RUN     a run id put on every container as label io.acestep.e2e.run
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { decodeAudio } from '@acestep/audio';
import { connectClient } from '@acestep/cli/client';
import { AudioFormat, GatewayService, type GenerationResult } from '@acestep/proto/gateway';
import { Health, HealthCheckResponse_ServingStatus } from '@acestep/proto/health';
import type { Client } from '@connectrpc/connect';
import {
  GenericContainer,
  getContainerRuntimeClient,
  ImageName,
  Network,
  type StartedNetwork,
  type StartedTestContainer,
  Wait,
} from 'testcontainers';

const IMAGE = process.env.ACESTEP_E2E_IMAGE ?? 'acestep/serving:dev-cpu';
const MODELS = process.env.ACESTEP_E2E_MODELS ?? new URL('../../../models/tiny', import.meta.url).pathname;
const RUN = process.env.ACESTEP_E2E_RUN ?? `${Date.now()}-${process.pid}`;
const START_TIMEOUT_MS = 120_000;

type ServiceName = 'lm' | 'dit' | 'vae' | 'gateway';
const PORTS = { gateway: 50050, lm: 50051, dit: 50052, vae: 50053 } as const satisfies Record<
  ServiceName,
  number
>;

/** GenericContainer plus the one hardening option testcontainers has no builder for. */
class ServiceContainer extends GenericContainer {
  withReadOnlyRootFilesystem(): this {
    this.hostConfig.ReadonlyRootfs = true;
    return this;
  }
}

/** Fails with a message that says what to run, instead of testcontainers' generic one. */
async function requireDockerAndImage(): Promise<void> {
  let runtime: Awaited<ReturnType<typeof getContainerRuntimeClient>>;
  try {
    runtime = await getContainerRuntimeClient();
  } catch (error) {
    throw new Error(
      `Docker is not available (DOCKER_HOST=${process.env.DOCKER_HOST ?? 'unset'}): ` +
        `run scripts/container-e2e.sh, which starts a daemon and builds the image. ${(error as Error).message}`,
    );
  }
  if (!(await runtime.image.exists(ImageName.fromString(IMAGE))))
    throw new Error(`image ${IMAGE} is missing: scripts/container-e2e.sh builds it (deploy/docker/build.sh)`);
}

/** Every log line of a container, kept for the failure report. */
const logs = new Map<ServiceName, string[]>();

function dumpLogs(): void {
  for (const [name, lines] of logs) {
    process.stderr.write(`--- ${name} (last 40 lines) ---\n${lines.slice(-40).join('\n')}\n`);
  }
}

function serviceContainer(
  name: ServiceName,
  network: StartedNetwork,
  env: Record<string, string> = {},
): ServiceContainer {
  const lines: string[] = [];
  logs.set(name, lines);
  return new ServiceContainer(IMAGE)
    .withName(`acestep-e2e-${name}-${RUN}`)
    .withLabels({ 'io.acestep.e2e.run': RUN })
    .withNetwork(network)
    .withNetworkAliases(name)
    .withCommand([`services/${name}/src/main.ts`])
    .withEnvironment({ ACESTEP_PORT: String(PORTS[name]), ACESTEP_THREADS: '1', ...env })
    .withBindMounts([{ source: MODELS, target: '/models/default', mode: 'ro' }])
    .withReadOnlyRootFilesystem()
    .withTmpFs({ '/tmp': 'rw,nosuid,nodev,size=256m' })
    .withDroppedCapabilities('ALL')
    .withSecurityOpt('no-new-privileges')
    .withLogConsumer((stream) => {
      stream.setEncoding('utf8');
      stream.on('data', (chunk: string) => lines.push(...chunk.split('\n').filter(Boolean)));
    })
    .withWaitStrategy(Wait.forLogMessage(/"msg":"serving"/))
    .withStartupTimeout(START_TIMEOUT_MS);
}

async function download(client: Client<typeof GatewayService>, objectId: string): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  for await (const res of client.downloadAudio({ objectId })) parts.push(res.data);
  return Buffer.concat(parts);
}

const SECONDS = 10;
/** One latent frame: 1920 samples at 48 kHz (25 Hz latents). */
const FRAME = 1920;

describe('serving image end to end (containers)', { timeout: 600_000 }, () => {
  let network: StartedNetwork | undefined;
  const started: Partial<Record<ServiceName, StartedTestContainer>> = {};
  let gatewayAddress = '';

  before(async () => {
    await requireDockerAndImage();
    // Named after the run, so scripts/container-e2e.sh can remove it if this process dies.
    network = await new Network({ nextUuid: () => `acestep-e2e-${RUN}` }).start();
    const net = network;
    try {
      // allSettled: when one stage fails, the others are still registered for after().
      const stages = await Promise.allSettled(
        (['lm', 'dit', 'vae'] as const).map(async (name) => {
          started[name] = await serviceContainer(name, net).start();
        }),
      );
      for (const stage of stages) if (stage.status === 'rejected') throw stage.reason;
      // By container alias, as the pods reach their Services: dns:/// resolves
      // and balances over every address of the name.
      started.gateway = await serviceContainer('gateway', net, {
        ACESTEP_LM_TARGET: `dns:///lm:${PORTS.lm}`,
        ACESTEP_DIT_TARGET: `dns:///dit:${PORTS.dit}`,
        ACESTEP_VAE_TARGET: `vae:${PORTS.vae}`,
      })
        .withExposedPorts(PORTS.gateway)
        .start();
      const gateway = started.gateway;
      gatewayAddress = `${gateway.getHost()}:${gateway.getMappedPort(PORTS.gateway)}`;
    } catch (error) {
      dumpLogs();
      throw error;
    }
  });

  after(async () => {
    // The gateway first, then the stages, as a rolling shutdown would.
    await started.gateway?.stop({ timeout: 40 });
    await Promise.all((['lm', 'dit', 'vae'] as const).map((name) => started[name]?.stop({ timeout: 40 })));
    await network?.stop();
  });

  it('runs every service as the image user 10001, not root', async () => {
    for (const name of ['lm', 'dit', 'vae', 'gateway'] as const) {
      const { exitCode, output } = await started[name]!.exec([
        'node',
        '-e',
        'process.stdout.write(String(process.getuid()))',
      ]);
      assert.equal(exitCode, 0, output);
      assert.equal(output.trim(), '10001', name);
    }
  });

  it('answers grpc.health.v1 Check on the gateway with SERVING', async () => {
    const health = connectClient(Health, gatewayAddress);
    const res = await health.check({ service: '' });
    assert.equal(res.status, HealthCheckResponse_ServingStatus.SERVING);
  });

  it('generates 10 s of text2music through the three stage containers: wav, 48 kHz stereo, the requested length', async () => {
    const client = connectClient(GatewayService, gatewayAddress);
    try {
      let result: GenerationResult | undefined;
      const config = {
        caption: 'calm ambient piano with soft strings',
        lyrics: '[Instrumental]',
        audioDuration: SECONDS,
        bpm: 80,
        keyScale: 'C major',
        timeSignature: '4/4',
        useRandomSeed: false,
        seed: 42n,
        audioFormat: AudioFormat.WAV,
      };
      for await (const res of client.generate({ config })) {
        if (res.event.case === 'result') result = res.event.value;
      }
      assert.ok(result, 'a result ends the stream');
      assert.equal(result.success, true, result.error);
      assert.equal(result.seedValue, '42');
      assert.equal(result.audio.length, 1);
      const file = result.audio[0]!;
      assert.equal(file.format, 'wav');
      const bytes = await download(client, file.objectId);
      assert.equal(createHash('sha256').update(bytes).digest('hex'), file.sha256);
      const pcm = await decodeAudio(bytes);
      assert.equal(pcm.sampleRate, 48_000);
      assert.equal(pcm.channels.length, 2);
      const samples = pcm.channels[0]!.length;
      assert.ok(Math.abs(samples - SECONDS * 48_000) <= FRAME, `${samples} samples`);
    } catch (error) {
      dumpLogs();
      throw error;
    }
  });
});
