// Stage.call over real grpc-js channels: a port nobody listens on (UNAVAILABLE) and a real service
// of this runtime on loopback (its health service: a Watch that never ends meets the deadline).
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { Health } from '@acestep/proto/health';
import { defaultServiceConfig } from './config.ts';
import { type RunningService, startService } from './server.ts';
import { connectStage, StageError } from './stage-call.ts';

async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe('Stage.call', () => {
  let service: RunningService;
  before(async () => {
    service = await startService(
      { name: 'test', grpcServices: [], routes: () => {} },
      { ...defaultServiceConfig({ port: 0, metricsPort: 0 }), logLevel: 'error' },
    );
  });
  after(() => service.shutdown('test done'));

  const options = { name: 'test', label: 'Test', timeoutMs: 5_000 };

  for (const attempts of [1, 3]) {
    it(`runs a call that finds the stage unavailable ${attempts} time(s) with attempts=${attempts}, and names no address`, async () => {
      const port = await closedPort();
      const stage = connectStage(Health, { ...options, attempts, target: `127.0.0.1:${port}` });
      let runs = 0;
      const error = await stage
        .call((client, call) => {
          runs++;
          return client.check({}, call);
        })
        .then(
          () => assert.fail('nothing listens there'),
          (e: unknown) => e,
        );
      stage.close();
      assert.equal(runs, attempts);
      assert.ok(error instanceof StageError);
      assert.equal(error.code, 'UNAVAILABLE');
      assert.equal(error.message, 'the Test stage is unavailable, retry later');
      assert.doesNotMatch(error.message, new RegExp(`${port}|127\\.0\\.0\\.1`));
    });
  }

  it('answers through a real server; a call past its deadline is DEADLINE_EXCEEDED and not run again', async () => {
    const stage = connectStage(Health, { ...options, attempts: 3, target: `127.0.0.1:${service.port}` });
    const ok = await stage.call((client, call) => client.check({}, call));
    assert.equal(ok.status, 1); // SERVING
    let runs = 0;
    const error = await stage
      .call(
        async (client, call) => {
          runs++;
          for await (const _ of client.watch({}, call)) {
            // SERVING, then nothing until the deadline
          }
        },
        { timeoutMs: 200 },
      )
      .then(
        () => assert.fail('a watch does not end by itself'),
        (e: unknown) => e,
      );
    stage.close();
    assert.equal(runs, 1);
    assert.ok(error instanceof StageError);
    assert.equal(error.code, 'DEADLINE_EXCEEDED');
    assert.equal(error.message, 'the Test stage did not finish within 200 ms');
  });

  it("rejects with the caller's abort reason, and passes other errors through without running again", async () => {
    const stage = connectStage(Health, { ...options, attempts: 3, target: `127.0.0.1:${service.port}` });
    const controller = new AbortController();
    const reason = new Error('the client left');
    const watching = stage.call(
      async (client, call) => {
        for await (const _ of client.watch({}, call)) controller.abort(reason);
      },
      { signal: controller.signal },
    );
    await assert.rejects(watching, (e: unknown) => e === reason);
    let runs = 0;
    const mine = new Error('the answer made no sense');
    await assert.rejects(
      stage.call(async () => {
        runs++;
        throw mine;
      }),
      (e: unknown) => e === mine,
    );
    assert.equal(runs, 1);
    stage.close();
  });
});
