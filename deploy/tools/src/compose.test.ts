// deploy/compose renders with a real compose implementation (Debian's
// docker-compose, installed by scripts/setup.sh; this fails, never skips,
// without it): the four services, the one-shot converter they wait for, the
// gateway on one port with its data on a volume, optional NATS, and the GPU
// file putting all three stages on device 0.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { parse } from 'yaml';

const DIR = fileURLToPath(new URL('../../compose/', import.meta.url));
type Service = {
  command?: string[];
  environment?: Record<string, string>;
  depends_on?: Record<string, { condition: string }>;
  ports?: { published: number | string; target: number }[];
  /** docker-compose v1 prints "source:target:mode", v2 objects. */
  volumes?: (string | { source?: string; target: string; read_only?: boolean })[];
  deploy?: { resources: { reservations: { devices: { driver: string; device_ids: string[] }[] } } };
  read_only?: boolean;
  profiles?: string[];
};

async function config(files: string[], env: Record<string, string> = {}) {
  await mkdir(`${DIR}checkpoints`, { recursive: true }); // the default bind source must exist
  const args = files.flatMap((f) => ['-f', `${DIR}${f}`]);
  const { stdout } = await promisify(execFile)('docker-compose', [...args, '--profile', 'nats', 'config'], {
    env: { PATH: process.env.PATH ?? '', ...env },
  });
  return parse(stdout) as { services: Record<string, Service> };
}

describe('deploy/compose', () => {
  it('four read-only services after the converter; the gateway on one port, its jobs on a volume', async () => {
    const { services } = await config(['compose.yaml']);
    assert.deepEqual(Object.keys(services).sort(), ['dit', 'gateway', 'lm', 'models', 'nats', 'vae']);
    for (const name of ['lm', 'dit', 'vae', 'gateway']) {
      const service = services[name]!;
      assert.deepEqual(service.command, [`services/${name}/src/main.ts`]);
      assert.equal(service.read_only, true, name);
      assert.equal(service.depends_on?.models?.condition, 'service_completed_successfully', name);
      assert.equal(service.environment?.ACESTEP_DEVICE ?? 'cpu', 'cpu', name);
    }
    const gateway = services.gateway!;
    assert.deepEqual(
      gateway.ports?.map((p) => [Number(p.published), p.target]),
      [[50050, 50050]],
    );
    for (const stage of ['lm', 'dit', 'vae'])
      assert.equal(gateway.depends_on?.[stage]?.condition, 'service_healthy', stage);
    const mounts = (gateway.volumes ?? []).map((v) =>
      typeof v === 'string'
        ? { target: v.split(':')[1], readOnly: v.endsWith(':ro') }
        : { target: v.target, readOnly: v.read_only === true },
    );
    assert.ok(
      mounts.some((m) => m.target === '/data' && !m.readOnly),
      'jobs survive restarts',
    );
    assert.equal(gateway.environment?.ACESTEP_DATA_DIR, '/data');
    assert.deepEqual(services.nats?.profiles, ['nats']);
  });

  it('operator values come from the environment', async () => {
    const { services } = await config(['compose.yaml'], {
      ACESTEP_PORT: '8080',
      ACESTEP_MODEL_SET: 'turbo-1.7b',
      ACESTEP_IMAGE: 'registry.example.com/acestep/serving:1.0',
    });
    assert.equal(Number(services.gateway!.ports![0]!.published), 8080);
    assert.equal(services.dit!.environment?.ACESTEP_MODEL_DIR, '/models/turbo-1.7b');
    assert.equal(services.models!.environment?.MODEL_SET, 'turbo-1.7b');
  });

  it('gpu.yaml puts lm, dit and vae on the one GPU (device 0), the gateway on none', async () => {
    const { services } = await config(['compose.yaml', 'gpu.yaml']);
    for (const stage of ['lm', 'dit', 'vae']) {
      assert.equal(services[stage]!.environment?.ACESTEP_DEVICE, 'cuda:0', stage);
      const devices = services[stage]!.deploy?.resources.reservations.devices ?? [];
      assert.deepEqual(
        devices.map((d) => [d.driver, d.device_ids]),
        [['nvidia', ['0']]],
        stage,
      );
    }
    assert.equal(services.gateway!.deploy, undefined);
  });
});
