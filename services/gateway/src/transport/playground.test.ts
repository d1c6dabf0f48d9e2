// The playground route on a real HTTP server: files at /, everything else
// passed on to the API, "off" passes everything on, an unbuilt page says so.
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createLogger } from '@acestep/runtime';
import { playgroundRoute } from './playground.ts';

const logger = createLogger('gateway', 'error');

async function serve(route: ReturnType<typeof playgroundRoute>): Promise<{ url: string; close: () => void }> {
  const server = http.createServer((req, res) => {
    if (!route(req, res)) res.writeHead(418).end('api');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, close: () => server.close() };
}

describe('playground route', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'playground-route-'));
    await writeFile(join(dir, 'index.html'), '<!doctype html><title>x</title>');
    await writeFile(join(dir, 'app.js'), 'console.log(1)');
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('serves the page and its files, passes the rest on', async () => {
    const { url, close } = await serve(playgroundRoute(dir, true, logger));
    try {
      const page = await fetch(`${url}/`);
      assert.equal(page.status, 200);
      assert.match(page.headers.get('content-type') ?? '', /text\/html/);
      assert.match(await page.text(), /<title>x<\/title>/);
      const app = await fetch(`${url}/app.js?v=1`);
      assert.match(app.headers.get('content-type') ?? '', /javascript/);
      assert.ok(app.headers.get('etag'));
      assert.equal((await fetch(`${url}/acestep.v1.GatewayService/Info`, { method: 'POST' })).status, 418);
      assert.equal((await fetch(`${url}/missing.js`)).status, 418);
      assert.equal((await fetch(`${url}/../package.json`)).status, 418);
    } finally {
      close();
    }
  });

  it('off: every request goes on to the API', async () => {
    const { url, close } = await serve(playgroundRoute(dir, false, logger));
    try {
      assert.equal((await fetch(`${url}/`)).status, 418);
    } finally {
      close();
    }
  });

  it('not built: / answers 503 with the command to run', async () => {
    const { url, close } = await serve(playgroundRoute(join(dir, 'nothing'), true, logger));
    try {
      const res = await fetch(`${url}/`);
      assert.equal(res.status, 503);
      assert.match(await res.text(), /pnpm build:playground/);
    } finally {
      close();
    }
  });
});
