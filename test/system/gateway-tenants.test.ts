// Tenants over the real gateway process: keys from a file, each key sees and
// cancels only its own jobs, an admin key sees every job, a rate-limited key
// gets RESOURCE_EXHAUSTED with a retry hint and recovers (gRPC, REST and /v1/objects), a key over its job
// quota is refused.
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { connectClient } from '@acestep/cli/client';
import { launchStack, type Stack } from '@acestep/cli/launcher';
import { AudioFormat, GatewayService, type GenerationConfigSchema } from '@acestep/proto/gateway';
import type { MessageInitShape } from '@bufbuild/protobuf';
import { Code, ConnectError } from '@connectrpc/connect';

const KEYS = {
  alice: 'alice-secret-0123456789',
  bob: 'bob-secret-0123456789',
  carol: 'carol-secret-0123456789',
  ops: 'ops-secret-0123456789',
};

const config: MessageInitShape<typeof GenerationConfigSchema> = {
  caption: 'tenant test',
  lyrics: '[Instrumental]',
  audioDuration: 10,
  bpm: 100,
  keyScale: 'C major',
  timeSignature: '4/4',
  useRandomSeed: false,
  seed: 3n,
  audioFormat: AudioFormat.WAV,
};

const code = (error: unknown) => (error instanceof ConnectError ? Code[error.code] : String(error));

describe('gateway tenants and limits', () => {
  let stack: Stack;
  let dir = '';
  const client = (name: keyof typeof KEYS) =>
    connectClient(GatewayService, stack.gateway.address, { authorization: `Bearer ${KEYS[name]}` });
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'acestep-keys-'));
    const file = join(dir, 'keys.json');
    await writeFile(
      file,
      JSON.stringify({
        defaults: { maxActiveJobs: 1 },
        keys: [
          { name: 'alice', key: KEYS.alice },
          { name: 'bob', key: KEYS.bob },
          { name: 'carol', key: KEYS.carol, maxRequests: 3, windowS: 2 },
          { name: 'ops', key: KEYS.ops, admin: true, maxActiveJobs: 0 },
        ],
      }),
    );
    stack = await launchStack({
      gatewayArgs: ['--api-keys-file', file, '--job-concurrency', '1'],
      startTimeoutMs: 120_000, // a loaded 2-core machine takes a while to load three model sets
    });
  });
  after(async () => {
    await stack?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('key A cannot get, watch, cancel or list key B’s jobs; an admin key sees all', async () => {
    const { job: a } = await client('alice').submitJob({ config });
    const { job: b } = await client('bob').submitJob({ config });
    const attempts = [
      () => client('bob').getJob({ id: a!.id }),
      () => client('bob').cancelJob({ id: a!.id }),
      async () => {
        for await (const _ of client('bob').watchJob({ id: a!.id })) break;
      },
    ];
    for (const attempt of attempts) assert.equal(code(await attempt().catch((e: unknown) => e)), 'NotFound');
    const ids = async (name: keyof typeof KEYS) => (await client(name).listJobs({})).jobs.map((j) => j.id);
    assert.deepEqual(await ids('bob'), [b!.id]);
    assert.deepEqual(await ids('alice'), [a!.id]);
    assert.deepEqual((await ids('ops')).sort(), [a!.id, b!.id].sort());
    assert.equal((await client('ops').getJob({ id: b!.id })).job?.id, b!.id);

    // alice's quota is one active job: a second submit is refused while the first is not ended.
    const second = await client('alice')
      .submitJob({ config })
      .catch((e: unknown) => e);
    assert.equal(code(second), 'ResourceExhausted');
    assert.match((second as ConnectError).rawMessage, /quota is 1; retry after 5 s/);
    assert.equal((second as ConnectError).metadata.get('retry-after'), '5');
    // Still alice's to cancel (the admin could too); then the slot is free again.
    await client('alice').cancelJob({ id: a!.id });
    const { job: again } = await client('alice').submitJob({ config });
    await client('ops').cancelJob({ id: again!.id });
  });

  it('a rate-limited key gets RESOURCE_EXHAUSTED with retry-after and recovers', async () => {
    for (let i = 0; i < 3; i++) await client('carol').listJobs({});
    const refused = await client('carol')
      .listJobs({})
      .catch((e: unknown) => e);
    assert.equal(code(refused), 'ResourceExhausted');
    const retryAfter = Number((refused as ConnectError).metadata.get('retry-after'));
    assert.ok(retryAfter >= 1 && retryAfter <= 2, `retry-after ${retryAfter}`);
    assert.match((refused as ConnectError).rawMessage, /over its rate limit \(3 calls per 2 s\)/);
    // Other keys are not affected.
    await client('bob').listJobs({});
    await new Promise((r) => setTimeout(r, retryAfter * 1000 + 100));
    assert.deepEqual((await client('carol').listJobs({})).jobs, []);
  });

  it('the plain HTTP routes (official REST, /v1/objects) count against the same rate: 429 with Retry-After', async () => {
    const base = `http://${stack.gateway.address}`;
    const get = (path: string) =>
      fetch(`${base}${path}`, { headers: { authorization: `Bearer ${KEYS.carol}` } });
    // carol may make 3 calls per 2 s; wait out whatever the previous test left in the window.
    await new Promise((r) => setTimeout(r, 2100));
    for (let i = 0; i < 3; i++) assert.equal((await get('/v1/models')).status, 200);
    const refused = await get('/v1/objects/no-such-object');
    assert.equal(refused.status, 429);
    const retryAfter = Number(refused.headers.get('retry-after'));
    assert.ok(retryAfter >= 1 && retryAfter <= 2, `retry-after ${retryAfter}`);
    assert.match(((await refused.json()) as { error: string }).error, /over its rate limit/);
    const rest = await get('/v1/stats');
    assert.equal(rest.status, 429);
    assert.ok(rest.headers.get('retry-after'));
    assert.doesNotMatch(((await rest.json()) as { detail: string }).detail, /queue is full/);
    await new Promise((r) => setTimeout(r, retryAfter * 1000 + 100));
    assert.equal((await get('/v1/objects/no-such-object')).status, 404, 'recovered: an unknown object again');
  });

  it('unknown keys are UNAUTHENTICATED', async () => {
    const stranger = connectClient(GatewayService, stack.gateway.address, { authorization: 'Bearer nope' });
    assert.equal(code(await stranger.listJobs({}).catch((e: unknown) => e)), 'Unauthenticated');
  });
});
