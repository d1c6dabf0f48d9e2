import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { StatusError } from '@acestep/runtime';
import { jobScope, parseKeysFile, sha256Hex, Tenants } from './tenants.ts';

const KEY_A = 'alice-key-0123456789';

describe('tenants', () => {
  it('reads keys (plain or sha256), defaults and per-key limits', () => {
    const tenants = parseKeysFile(
      {
        defaults: { maxRequests: 100, maxActiveJobs: 4 },
        keys: [
          { name: 'alice', key: KEY_A },
          { name: 'ops', sha256: sha256Hex('ops-key-0123456789'), admin: true, maxActiveJobs: 0 },
        ],
      },
      'test',
    );
    assert.deepEqual(tenants.get(sha256Hex(KEY_A)), {
      name: 'alice',
      admin: false,
      limits: { maxRequests: 100, windowS: 60, maxActiveJobs: 4 },
    });
    assert.equal(tenants.get(sha256Hex('ops-key-0123456789'))?.limits.maxActiveJobs, 0);
  });

  it('reports every problem of a keys file at once, naming the entry and field', () => {
    assert.throws(
      () =>
        parseKeysFile(
          {
            defaults: { windowS: 0 },
            keys: [
              { name: 'bad name!', key: 'short' },
              { name: 'b', key: KEY_A, sha256: sha256Hex(KEY_A) },
              { name: 'c', key: KEY_A, maxRequests: -1, admin: 'yes' },
            ],
          },
          'keys.json',
        ),
      (e: Error) =>
        /keys\.json/.test(e.message) &&
        /defaults\.windowS must be an integer in 1\.\.86400; got 0/.test(e.message) &&
        /keys\[0\]\.name/.test(e.message) &&
        /keys\[0\] needs exactly one of "key"/.test(e.message) &&
        /keys\[1\] needs exactly one/.test(e.message) &&
        /keys\[2\]\.maxRequests must be an integer in 0\.\.1000000; got -1/.test(e.message) &&
        /keys\[2\]\.admin must be true or false/.test(e.message),
    );
    assert.throws(() => parseKeysFile({ tokens: [] }, 'x.json'), /expected \{"keys"/);
  });

  it('checks keys; the single --api-key is an admin', () => {
    const tenants = Tenants.load({ apiKey: 'sesame', apiKeysFile: '' });
    const admin = tenants.check('sesame');
    assert.equal(admin.admin, true);
    assert.equal(jobScope(admin), undefined);
    assert.equal(tenants.check('sesame').name, 'default');
    assert.throws(
      () => tenants.check('nope'),
      (e: StatusError) => e.code === 'UNAUTHENTICATED' && /invalid API key/.test(e.message),
    );
    assert.throws(() => tenants.check(undefined), /missing API key/);
    assert.equal(Tenants.load({ apiKey: '', apiKeysFile: '' }).enabled, false);
  });

  it('rate limit: RESOURCE_EXHAUSTED with retry-after once over, recovers after the window', async () => {
    const tenant = { name: 't', admin: false, limits: { maxRequests: 2, windowS: 1, maxActiveJobs: 0 } };
    const tenants = new Tenants(new Map());
    await tenants.takeRequest(tenant);
    await tenants.takeRequest(tenant);
    const refused = await tenants.takeRequest(tenant).catch((e: unknown) => e);
    assert.ok(refused instanceof StatusError);
    assert.equal(refused.code, 'RESOURCE_EXHAUSTED');
    assert.equal(refused.metadata.get('retry-after'), '1');
    assert.match(refused.message, /2 calls per 1 s\); retry after 1 s/);
    await new Promise((r) => setTimeout(r, 1100));
    await tenants.takeRequest(tenant);
  });

  it('quota: jobs and Generate calls in flight count; submits of a tenant are serialized', async () => {
    const tenant = { name: 'q', admin: false, limits: { maxRequests: 0, windowS: 60, maxActiveJobs: 2 } };
    const tenants = new Tenants(new Map());
    let active = 0;
    const submit = async () => {
      await new Promise((r) => setTimeout(r, 10));
      active++;
      return active;
    };
    const results = await Promise.allSettled(
      [1, 2, 3].map(() => tenants.admitJob(tenant, async () => active, submit)),
    );
    assert.deepEqual(
      results.map((r) => r.status),
      ['fulfilled', 'fulfilled', 'rejected'],
    );
    active = 1;
    const done = tenants.startGenerate(tenant);
    assert.throws(
      () => tenants.checkQuota(tenant, active),
      /2 jobs queued, running or generating; its quota is 2/,
    );
    done();
    tenants.checkQuota(tenant, active);
  });
});
