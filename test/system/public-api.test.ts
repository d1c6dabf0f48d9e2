// The public API as users call it, through real processes: uploads streamed
// over HTTP (raw body, multipart) and gRPC, stored objects over plain HTTP with
// Range, results whose audio_paths are fetchable URLs, the 413 /
// RESOURCE_EXHAUSTED limit one byte over, and the CLI's one JSON rule and its
// upload-first audio files.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { decodeAudio } from '@acestep/audio';
import { connectClient } from '@acestep/cli/client';
import { launchService, launchStack, type Stack } from '@acestep/cli/launcher';
import { GatewayService, TaskType } from '@acestep/proto/gateway';
import { Health, HealthCheckResponse_ServingStatus } from '@acestep/proto/health';
import { Code, ConnectError } from '@connectrpc/connect';
import { curl } from './curl.ts';
import { writeWav } from './wav-file.ts';

const LIMIT = 16 << 20;
const MAIN = new URL('../../packages/cli/src/main.ts', import.meta.url).pathname;

function acestep(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [MAIN, ...args], { maxBuffer: 64 << 20 }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr });
    });
  });
}

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

describe('public API: uploads, objects, limits and the CLI', () => {
  let stack: Stack;
  let dir: string;
  let base: string;
  let song: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'acestep-api-'));
    song = join(dir, 'song.wav');
    // 60 s of 16-bit stereo 48 kHz: 11.5 MB, more than the 8 MiB message cap of a gRPC call.
    await writeWav(song, { seconds: 60 });
    stack = await launchStack({ gatewayArgs: ['--max-upload-bytes', String(LIMIT)] });
    base = `http://${stack.gateway.address}`;
  });
  after(async () => {
    await stack?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('stores a raw PUT body and serves it back with Content-Type, Content-Length and Range/206', async () => {
    const bytes = await readFile(song);
    const put = await curl([
      '-X',
      'PUT',
      '-H',
      'content-type: audio/wav',
      '--data-binary',
      `@${song}`,
      `${base}/v1/objects`,
    ]);
    assert.equal(put.status, 201, put.body.toString());
    const stored = JSON.parse(put.body.toString());
    assert.equal(stored.size_bytes, bytes.byteLength);
    assert.equal(stored.sha256, sha256(bytes));
    assert.ok(Math.abs(stored.duration_seconds - 60) < 1e-6, `${stored.duration_seconds}`);
    assert.equal(stored.url, `/v1/objects/${stored.object_id}`);

    const whole = await curl([`${base}${stored.url}`]);
    assert.equal(whole.status, 200);
    assert.equal(whole.headers.get('content-type'), 'audio/wav');
    assert.equal(whole.headers.get('content-length'), String(bytes.byteLength));
    assert.equal(whole.headers.get('accept-ranges'), 'bytes');
    assert.equal(sha256(whole.body), sha256(bytes));

    const part = await curl(['-H', 'Range: bytes=1000-1999', `${base}${stored.url}`]);
    assert.equal(part.status, 206);
    assert.equal(part.headers.get('content-range'), `bytes 1000-1999/${bytes.byteLength}`);
    assert.deepEqual(part.body, bytes.subarray(1000, 2000));
    const suffix = await curl(['-H', 'Range: bytes=-10', `${base}${stored.url}`]);
    assert.deepEqual(suffix.body, bytes.subarray(bytes.byteLength - 10));
    const beyond = await curl(['-H', `Range: bytes=${bytes.byteLength}-`, `${base}${stored.url}`]);
    assert.equal(beyond.status, 416);
    const missing = await curl([`${base}/v1/objects/nope`]);
    assert.equal(missing.status, 404);
  });

  it('stores the file part of a multipart form', async () => {
    const res = await curl(['-F', `file=@${song};type=audio/wav`, `${base}/v1/objects`]);
    assert.equal(res.status, 201, res.body.toString());
    assert.equal(JSON.parse(res.body.toString()).size_bytes, (await readFile(song)).byteLength);
  });

  it('refuses a file that is not audio with 400, storing nothing', async () => {
    await writeFile(join(dir, 'notes.txt'), 'hello, not audio at all '.repeat(100));
    const res = await curl([
      '-X',
      'PUT',
      '--data-binary',
      `@${join(dir, 'notes.txt')}`,
      `${base}/v1/objects`,
    ]);
    assert.equal(res.status, 400);
    assert.match(JSON.parse(res.body.toString()).error, /audio input/);
  });

  it('answers an upload one byte over the limit with 413 / RESOURCE_EXHAUSTED naming the limit, and stays healthy', async () => {
    const over = join(dir, 'over.wav');
    // A valid WAV of exactly LIMIT + 1 bytes: header, whole frames, and a junk chunk for the rest.
    const frames = Math.floor((LIMIT + 1 - 52) / 4);
    const size = await writeWav(over, { seconds: frames / 48_000, padBytes: LIMIT + 1 - 52 - frames * 4 });
    assert.equal(size, LIMIT + 1);
    const declared = await curl(['-X', 'PUT', '--data-binary', `@${over}`, `${base}/v1/objects`]);
    assert.equal(declared.status, 413);
    assert.match(JSON.parse(declared.body.toString()).error, new RegExp(String(LIMIT)));
    // Without a declared length the upload streams until it passes the limit, over HTTP/1.1 and HTTP/2.
    for (const protocol of [[], ['--http2-prior-knowledge']]) {
      const streamed = await curl([
        ...protocol,
        '-H',
        'Transfer-Encoding: chunked',
        '-T',
        over,
        `${base}/v1/objects`,
      ]);
      assert.equal(streamed.status, 413, `${protocol}`);
      assert.match(JSON.parse(streamed.body.toString()).error, new RegExp(String(LIMIT)));
    }
    const atLimit = join(dir, 'at-limit.wav');
    const client = connectClient(GatewayService, stack.gateway.address);
    await assert.rejects(
      client.uploadAudio(
        (async function* () {
          const bytes = await readFile(over);
          for (let at = 0; at < bytes.byteLength; at += 1 << 20)
            yield { data: bytes.subarray(at, at + (1 << 20)) };
        })(),
      ),
      (error: unknown) => {
        const e = ConnectError.from(error);
        assert.equal(e.code, Code.ResourceExhausted, e.message);
        assert.match(e.rawMessage, new RegExp(String(LIMIT)));
        return true;
      },
    );
    const health = await connectClient(Health, stack.gateway.address).check({ service: '' });
    assert.equal(health.status, HealthCheckResponse_ServingStatus.SERVING);
    await writeWav(atLimit, { seconds: 1 });
    const small = await curl(['-X', 'PUT', '--data-binary', `@${atLimit}`, `${base}/v1/objects`]);
    assert.equal(small.status, 201, 'the next upload is served');
  });

  it('answers a 11.5 MB message (audio inline in GenerationConfig) with RESOURCE_EXHAUSTED naming the 8 MiB limit, not an HTTP/2 error', async () => {
    const client = connectClient(GatewayService, stack.gateway.address);
    const inline = await readFile(song);
    const call = async () => {
      for await (const _ of client.generate({
        config: {
          caption: 'x',
          taskType: TaskType.COVER,
          srcAudio: { source: { case: 'data', value: inline } },
        },
      }));
    };
    await assert.rejects(call(), (error: unknown) => {
      const e = ConnectError.from(error);
      assert.equal(e.code, Code.ResourceExhausted, e.message);
      assert.match(e.rawMessage, /8388608/);
      return true;
    });
    const health = await connectClient(Health, stack.gateway.address).check({ service: '' });
    assert.equal(health.status, HealthCheckResponse_ServingStatus.SERVING);
  });

  it('the CLI uploads --src_audio first (11.5 MB, over one message) and runs a cover', async () => {
    const out = join(dir, 'cover');
    const run = await acestep(
      'generate',
      '--url',
      stack.gateway.address,
      '--task_type',
      'cover',
      '--src_audio',
      song,
      '--caption',
      'lofi hip hop',
      '--inference_steps',
      '2',
      '--audio_format',
      'WAV',
      '--out',
      out,
      '--json',
      '--progress',
      'none',
    );
    assert.equal(run.code, 0, run.stderr);
    const result = JSON.parse(run.stdout);
    assert.equal(result.success, true, result.error);
    // The CLI downloaded the file and reports its local path.
    const pcm = await decodeAudio(await readFile(result.audio_paths[0]));
    assert.equal(pcm.sampleRate, 48_000);
    assert.equal(pcm.channels.length, 2);
  });

  it('the CLI refuses an unknown field and a bad enum value with the field named', async () => {
    const config = join(dir, 'config.json');
    await writeFile(config, JSON.stringify({ caption: 'x', thinking: true }));
    const unknown = await acestep('submit', '--url', stack.gateway.address, '--config', config);
    assert.notEqual(unknown.code, 0);
    assert.match(unknown.stderr, /unknown field "thinking"/);
    const bad = await acestep(
      'submit',
      '--url',
      stack.gateway.address,
      '--caption',
      'x',
      '--task_type',
      'remix',
    );
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /task_type.*"remix".*"text2music", "cover"/);
  });
});

describe('an upload in flight at SIGTERM', () => {
  it('finishes within the grace period (201), then the gateway exits 0', async () => {
    const gateway = await launchService('gateway', { args: ['--shutdown-grace-ms', '20000'] });
    const dir = await mkdtemp(join(tmpdir(), 'acestep-sigterm-'));
    try {
      const file = join(dir, 'slow.wav');
      await writeWav(file, { seconds: 10 });
      const bytes = await readFile(file);
      let sent = 0;
      const body = new ReadableStream<Uint8Array>({
        async pull(controller) {
          if (sent >= bytes.byteLength) return controller.close();
          controller.enqueue(bytes.subarray(sent, sent + 64 * 1024));
          sent += 64 * 1024;
          if (sent === 1024 * 1024) gateway.child.kill('SIGTERM'); // the upload is under way
          await new Promise((resolve) => setTimeout(resolve, 100));
        },
      });
      const res = await fetch(`http://${gateway.address}/v1/objects`, {
        method: 'PUT',
        body,
        duplex: 'half',
      } as RequestInit);
      assert.equal(res.status, 201, await res.clone().text());
      assert.equal(((await res.json()) as { size_bytes: number }).size_bytes, bytes.byteLength);
      assert.equal((await gateway.exited).code, 0);
    } finally {
      await gateway.stop();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
