// Faults that must cost nothing: a stage that comes back is used again within
// about a second (grpc-js reconnect backoff and DNS re-resolution bounded in the
// stage client), and SIGTERM lets every in-flight call finish within the grace
// period (the shutdown waits for the last bytes to flush, not a fixed time).
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { connectClient } from '@acestep/cli/client';
import { type LaunchedService, launchService } from '@acestep/cli/launcher';
import { GatewayService } from '@acestep/proto/gateway';
import { VaeService } from '@acestep/proto/vae';
import { float32Tensor, tensorToChunks } from '@acestep/runtime';
import { testLatents } from '@acestep/testkit/vae-client';
import { createClient } from '@connectrpc/connect';
import { createGrpcTransport } from '@connectrpc/connect-node';

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('a stage that restarts is used again at once', () => {
  let lm: LaunchedService;
  let dit: LaunchedService;
  let vae: LaunchedService | undefined;
  let gateway: LaunchedService;
  let vaePort: number;
  before(async () => {
    vaePort = await freePort();
    [lm, dit, vae] = await Promise.all([
      launchService('lm'),
      launchService('dit'),
      launchService('vae', { args: ['--port', String(vaePort)] }),
    ]);
    gateway = await launchService('gateway', {
      args: ['--lm-target', lm.address, '--dit-target', dit.address, '--vae-target', `127.0.0.1:${vaePort}`],
    });
  });
  after(async () => {
    await Promise.all([lm, dit, vae, gateway].filter((s) => s !== undefined).map((s) => s.stop()));
  });

  it('after a 12 s outage, the gateway reaches the new VAE within 2 s of it serving', async () => {
    const client = connectClient(GatewayService, gateway.address);
    const vaeSeen = async () => (await client.info({})).stages?.vae !== undefined;
    assert.ok(await vaeSeen(), 'the VAE is reachable before the outage');

    vae!.child.kill('SIGKILL');
    await vae!.exited;
    vae = undefined;
    // Keep asking during the outage: each failed attempt grows grpc-js's reconnect backoff.
    const outageEnd = Date.now() + 12_000;
    while (Date.now() < outageEnd) {
      assert.equal(await vaeSeen(), false, 'no VAE answers during the outage');
      await sleep(500);
    }

    vae = await launchService('vae', { args: ['--port', String(vaePort)] });
    const serving = Date.now();
    while (!(await vaeSeen())) {
      assert.ok(Date.now() - serving < 10_000, 'the gateway never reached the restarted VAE');
      await sleep(50);
    }
    const recoveryMs = Date.now() - serving;
    assert.ok(recoveryMs <= 2_000, `the gateway reached the restarted VAE after ${recoveryMs} ms`);
  });
});

describe('SIGTERM lets in-flight work finish', () => {
  const ROUNDS = Number(process.env.SIGTERM_ROUNDS ?? 10);

  it(`the VAE finishes a decode in each of ${ROUNDS} SIGTERMs mid-call`, async () => {
    const frames = 500; // 20 s of audio: the decode runs on after the signal
    const latents = testLatents(frames);
    for (let round = 0; round < ROUNDS; round++) {
      const vae = await launchService('vae', { args: ['--shutdown-grace-ms', '30000'] });
      // HTTP/2's default 64 KiB stream window: the server can only send as fast as this reader reads.
      const client = createClient(VaeService, createGrpcTransport({ baseUrl: `http://${vae.address}` }));
      try {
        let bytes = 0;
        let done = false;
        let signalled = false;
        const requests = (async function* () {
          yield {
            part: { case: 'spec' as const, value: { itemCount: 1, tileFrames: 64, overlapFrames: 8 } },
          };
          // SIGTERM as the call opens: its stream exists but the handler may not have started yet.
          vae.child.kill('SIGTERM');
          signalled = true;
          const tensor = { ...float32Tensor('latents', [frames, 64], latents), itemIndex: 0 };
          for (const chunk of tensorToChunks(tensor))
            yield { part: { case: 'latents' as const, value: chunk } };
        })();
        for await (const res of client.decode(requests)) {
          if (res.event.case === 'audio') {
            bytes += res.event.value.data.length;
          } else if (res.event.case === 'done') done = true;
        }
        assert.ok(signalled, `round ${round}: no audio arrived before the end`);
        assert.ok(done, `round ${round}: the decode ended without its done event`);
        assert.equal(bytes, frames * 1920 * 2 * 4, `round ${round}: PCM bytes`);
        const exit = await vae.exited;
        assert.equal(exit.code, 0, `round ${round}: exit code`);
      } finally {
        await vae.stop();
      }
    }
  });
});
