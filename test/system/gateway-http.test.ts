// The gateway over plain HTTP/1.1 as curl and browsers use it: unary and
// server-streaming Connect calls, the README's own curl example, and CORS
// (off by default, an allow-list when configured). Real processes, real curl.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { type LaunchedService, launchService, launchStack, type Stack } from '@acestep/cli/launcher';
import { curl, envelope, parseEnvelopes } from './curl.ts';

const ORIGIN = 'http://app.example:5173';
const INFO = '/acestep.v1.GatewayService/Info';

function preflight(address: string, origin: string) {
  return curl([
    '-X',
    'OPTIONS',
    '-H',
    `Origin: ${origin}`,
    '-H',
    'Access-Control-Request-Method: POST',
    '-H',
    'Access-Control-Request-Headers: content-type,connect-protocol-version',
    `http://${address}${INFO}`,
  ]);
}

describe('gateway over HTTP/1.1', () => {
  let stack: Stack;
  before(async () => {
    stack = await launchStack({ gatewayArgs: ['--cors-origins', ORIGIN], startTimeoutMs: 180_000 });
  });
  after(async () => {
    await stack?.stop();
  });

  it('answers a unary Connect call from curl without flags (HTTP/1.1)', async () => {
    const res = await curl([
      '-H',
      'content-type: application/json',
      '-d',
      '{}',
      `http://${stack.gateway.address}${INFO}`,
    ]);
    assert.equal(res.httpVersion, '1.1');
    assert.equal(res.status, 200);
    const body = JSON.parse(res.body.toString());
    assert.equal(body.gateway.service, 'gateway');
  });

  it('runs the README curl example as written', async () => {
    const readme = await readFile(new URL('../../README.md', import.meta.url), 'utf8');
    const command = /`(curl [^`]*GatewayService\/Info)`/.exec(readme)?.[1];
    assert.ok(command, 'the README shows a curl call of Info');
    const { stdout } = await promisify(execFile)('sh', [
      '-c',
      command.replace('127.0.0.1:50050', stack.gateway.address),
    ]);
    assert.equal(JSON.parse(stdout).gateway.service, 'gateway');
  });

  it('streams Generate to curl over HTTP/1.1 (Connect streaming envelopes), progress then the result', async () => {
    const request = envelope({
      config: {
        caption: 'soft piano',
        audio_duration: 10,
        inference_steps: 2,
        audio_format: 'AUDIO_FORMAT_WAV',
      },
    });
    const res = await curl(
      [
        '-H',
        'content-type: application/connect+json',
        '--data-binary',
        '@-',
        `http://${stack.gateway.address}/acestep.v1.GatewayService/Generate`,
      ],
      request,
    );
    assert.equal(res.httpVersion, '1.1');
    assert.equal(res.status, 200);
    const messages = parseEnvelopes(res.body);
    const last = messages.at(-1)!;
    assert.equal(last.flags, 2, 'the stream ends with the end-of-stream envelope');
    assert.deepEqual(last.message, {}, `no error: ${JSON.stringify(last.message)}`);
    const events = messages.slice(0, -1).map((m) => m.message);
    assert.ok(
      events.some((e) => 'progress' in e),
      'progress events came first',
    );
    const result = events.at(-1)?.result as { success: boolean; audio: Record<string, unknown>[] };
    assert.equal(result.success, true);
    assert.equal(result.audio.length, 1);
    assert.equal(result.audio[0]?.format, 'wav', 'the spec word "wav" was honoured, not ignored');
    assert.equal(typeof result.audio[0]?.size_bytes, 'number', 'snake_case names, 64-bit sizes as numbers');
    assert.equal(typeof result.audio[0]?.seed, 'number');
    const url = (result as unknown as { audio_paths: string[] }).audio_paths[0]!;
    assert.match(url, /^\/v1\/objects\/[\w-]+$/, 'audio_paths are URLs');
    const file = await curl([`http://${stack.gateway.address}${url}`]);
    assert.equal(file.status, 200);
    assert.equal(file.headers.get('content-type'), 'audio/wav');
    assert.equal(file.headers.get('content-length'), String(result.audio[0]?.size_bytes));
  });

  for (const [name, config, field, allowed] of [
    ['an unknown field', { caption: 'x', thinking: true }, 'config.thinking', /caption, lyrics/],
    ['a bad enum value', { caption: 'x', task_type: 'remix' }, 'config.task_type', /"text2music", "cover"/],
  ] as const) {
    it(`refuses ${name} over Connect JSON (unary and streaming) with INVALID_ARGUMENT naming the field`, async () => {
      const unary = await curl([
        '-H',
        'content-type: application/json',
        '-d',
        JSON.stringify({ config }),
        `http://${stack.gateway.address}/acestep.v1.GatewayService/SubmitJob`,
      ]);
      assert.equal(unary.status, 400);
      const error = JSON.parse(unary.body.toString());
      assert.equal(error.code, 'invalid_argument');
      assert.match(error.message, new RegExp(field.replace('.', '\\.')));
      assert.match(error.message, allowed);
      const stream = await curl(
        [
          '-H',
          'content-type: application/connect+json',
          '--data-binary',
          '@-',
          `http://${stack.gateway.address}/acestep.v1.GatewayService/Generate`,
        ],
        envelope({ config }),
      );
      const end = parseEnvelopes(stream.body).at(-1)!;
      assert.equal(end.flags, 2);
      const streamError = end.message.error as { code: string; message: string };
      assert.equal(streamError.code, 'invalid_argument');
      assert.match(streamError.message, allowed);
    });
  }

  it('answers a browser fetch (HTTP/1.1) with CORS headers for an allowed origin', async () => {
    const res = await fetch(`http://${stack.gateway.address}${INFO}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', origin: ORIGIN },
      body: '{}',
    });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('access-control-allow-origin'), ORIGIN);
    assert.equal(((await res.json()) as { gateway: { service: string } }).gateway.service, 'gateway');
  });

  it('allows the preflight of a listed origin and refuses others', async () => {
    const allowed = await preflight(stack.gateway.address, ORIGIN);
    assert.equal(allowed.status, 204);
    assert.equal(allowed.headers.get('access-control-allow-origin'), ORIGIN);
    assert.match(allowed.headers.get('access-control-allow-methods') ?? '', /POST/);
    assert.match(allowed.headers.get('access-control-allow-headers') ?? '', /connect-protocol-version/i);
    const other = await preflight(stack.gateway.address, 'http://evil.example');
    assert.equal(other.headers.get('access-control-allow-origin'), undefined);
  });
});

describe('gateway CORS off by default', () => {
  let gateway: LaunchedService;
  before(async () => {
    gateway = await launchService('gateway', { startTimeoutMs: 180_000 });
  });
  after(async () => {
    await gateway?.stop();
  });

  it('sends no CORS headers to a preflight', async () => {
    const res = await preflight(gateway.address, ORIGIN);
    assert.equal(res.httpVersion, '1.1');
    assert.equal(res.headers.get('access-control-allow-origin'), undefined);
    assert.notEqual(res.status, 204);
  });
});
