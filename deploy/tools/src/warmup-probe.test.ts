// deploy/docker/warmup-probe.ts against a stand-in HTTP/2 server that speaks the
// Connect unary protocol: the probe must call the stage's own Warmup and turn the
// answer into the exit code kubelet reads.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createServer, type Http2Server, type IncomingHttpHeaders } from 'node:http2';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';

const PROBE = fileURLToPath(new URL('../../docker/warmup-probe.ts', import.meta.url));

interface Seen {
  headers: IncomingHttpHeaders;
  body: string;
}

let server: Http2Server;
let port = 0;
const seen: Seen[] = [];
let answer = { status: 200, body: '{"report":{"steps":["decode 1x32 frames"]}}' };

before(async () => {
  server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => {
      body += chunk;
    });
    req.on('end', () => {
      seen.push({ headers: req.headers, body });
      res.writeHead(answer.status, { 'content-type': 'application/json' }).end(answer.body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});

after(() => {
  server.close();
});

function probe(args: string[], env: Record<string, string>): Promise<{ code: number; stdout: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [PROBE, ...args], { env: { ...process.env, ...env } }, (error, stdout) => {
      resolve({ code: error ? Number(error.code) : 0, stdout });
    });
  });
}

test('OK from Warmup: exit 0, after a Connect JSON call to the stage own service', async () => {
  seen.length = 0;
  answer = { status: 200, body: '{"report":{"steps":["decode 1x32 frames"]}}' };
  const result = await probe(['vae'], { ACESTEP_PORT: String(port) });
  assert.equal(result.code, 0, result.stdout);
  assert.equal(seen.length, 1);
  assert.equal(seen[0]!.headers[':method'], 'POST');
  assert.equal(seen[0]!.headers[':path'], '/acestep.vae.v1.VaeService/Warmup');
  assert.equal(seen[0]!.headers['content-type'], 'application/json');
  assert.equal(seen[0]!.headers['connect-protocol-version'], '1');
  assert.equal(seen[0]!.body, '{}');
  assert.match(result.stdout, /decode 1x32 frames/);
});

test('an error from Warmup (no model set yet): exit 1, the message in the probe output', async () => {
  seen.length = 0;
  answer = { status: 400, body: '{"code":"failed_precondition","message":"lm: no model set is loaded"}' };
  const result = await probe(['lm'], { ACESTEP_PORT: String(port) });
  assert.equal(result.code, 1);
  assert.equal(seen[0]!.headers[':path'], '/acestep.lm.v1.LmService/Warmup');
  assert.match(result.stdout, /no model set is loaded/);
});

test('a closed port (still loading): exit 1; a wrong stage or port: exit 2', async () => {
  const closed = await probe(['dit'], { ACESTEP_PORT: '1' });
  assert.equal(closed.code, 1);
  assert.match(closed.stdout, /ECONNREFUSED/);
  assert.equal((await probe(['gateway'], { ACESTEP_PORT: String(port) })).code, 2);
  assert.equal((await probe(['dit'], { ACESTEP_PORT: 'x' })).code, 2);
});
