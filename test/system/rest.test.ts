// The official ACE-Step REST API on the gateway, as its documented requests
// use it: release_task (JSON and multipart with a file), query_result polled
// until status 1, every `file` URL downloaded and decoded (48 kHz stereo, the
// asked duration), models, stats, health, format_input, create_random_sample,
// the auth forms with --api-key, and clear 400s for what we do not serve.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { decodeAudio } from '@acestep/audio';
import { type LaunchedService, launchService, launchStack, type Stack } from '@acestep/cli/launcher';
import { curl } from './curl.ts';
import { writeWav } from './wav-file.ts';

const KEY = 'rest-secret';

interface Wrapped<T> {
  data: T;
  code: number;
  error: null;
  timestamp: number;
  extra: null;
}

async function post<T>(base: string, path: string, body: unknown, headers: Record<string, string> = {}) {
  const res = await fetch(`${base}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
  return { status: res.status, json: (await res.json()) as Wrapped<T> & { detail?: string } };
}

async function getJson<T>(base: string, path: string, headers: Record<string, string> = {}) {
  const res = await fetch(`${base}${path}`, { headers });
  return { status: res.status, json: (await res.json()) as Wrapped<T> & { detail?: string } };
}

interface QueryItem {
  task_id: string;
  status: number;
  result: string;
  progress_text?: string;
}

/** Polls query_result until the task's status is no longer 0. */
async function waitFor(
  base: string,
  taskId: string,
  timeoutMs = 240_000,
): Promise<{ item: QueryItem; entries: Record<string, unknown>[] }> {
  const deadline = Date.now() + timeoutMs;
  let resets = 0;
  for (;;) {
    // A poll is a POST, which undici never re-sends: on a loaded machine (load ~12) one poll once
    // met a reset keep-alive socket. A polling client polls again; a second reset in a row fails.
    const polled = await post<QueryItem[]>(base, '/query_result', { task_id_list: [taskId] }).catch(
      (error: unknown) => {
        if (!(error instanceof TypeError) || ++resets > 1) throw error;
        return undefined;
      },
    );
    if (!polled) continue;
    resets = 0;
    const { json } = polled;
    const item = json.data[0]!;
    assert.equal(item.task_id, taskId);
    const entries = JSON.parse(item.result) as Record<string, unknown>[];
    if (item.status !== 0) return { item, entries };
    assert.ok(Date.now() < deadline, `the task ends within ${timeoutMs / 1000} s`);
    await new Promise((resolve) => setTimeout(resolve, 300));
  }
}

async function downloadAndDecode(base: string, entry: Record<string, unknown>, seconds: number) {
  assert.match(String(entry.file), /^\/v1\/audio\?path=/);
  const res = await fetch(`${base}${entry.file}`);
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('content-type'), 'audio/wav');
  const pcm = await decodeAudio(new Uint8Array(await res.arrayBuffer()));
  assert.equal(pcm.sampleRate, 48_000);
  assert.equal(pcm.channels.length, 2);
  assert.ok(
    Math.abs(pcm.channels[0]!.length - seconds * 48_000) <= 1920,
    `${pcm.channels[0]!.length} samples`,
  );
}

describe('official REST API', () => {
  let stack: Stack;
  let base: string;
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'acestep-rest-'));
    stack = await launchStack();
    base = `http://${stack.gateway.address}`;
  });
  after(async () => {
    await stack?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('GET /health answers in the official wrapper', async () => {
    const { status, json } = await getJson<{ status: string; service: string }>(base, '/health');
    assert.equal(status, 200);
    assert.equal(json.code, 200);
    assert.equal(json.error, null);
    assert.equal(typeof json.timestamp, 'number');
    assert.deepEqual(json.data, { status: 'ok', service: 'ACE-Step API', version: '1.0' });
  });

  it('release_task (JSON, official names and aliases) → query_result until status 1 → every file downloads and decodes', async () => {
    const { status, json } = await post<{ task_id: string; status: string; queue_position: number }>(
      base,
      '/release_task',
      {
        prompt: 'upbeat electronic dance music',
        lyrics: '[Instrumental]',
        duration: 10,
        keyscale: 'C major',
        timeSignature: '4/4',
        bpm: '120',
        inference_steps: 2,
        audio_format: 'WAV',
        use_random_seed: 'false',
        seed: 7,
        param_obj: { task_type: 'text2music' },
      },
    );
    assert.equal(status, 200, JSON.stringify(json));
    assert.equal(json.data.status, 'queued');
    assert.ok(json.data.queue_position >= 1);
    const { item, entries } = await waitFor(base, json.data.task_id);
    assert.equal(item.status, 1, item.result);
    assert.equal(entries.length, 2, 'the official default batch_size is 2: one entry per file');
    for (const entry of entries) {
      assert.equal(entry.status, 1);
      assert.equal(entry.stage, 'succeeded');
      assert.equal(entry.progress, 1);
      assert.equal(entry.seed_value, '7, 8');
      assert.equal((entry.metas as Record<string, unknown>).keyscale, 'C major');
      await downloadAndDecode(base, entry, 10);
    }
  });

  it('release_task as multipart with a src_audio file runs a cover', async () => {
    const song = join(dir, 'song.wav');
    await writeWav(song, { seconds: 12 });
    const res = await curl([
      '-F',
      'prompt=jazz cover',
      '-F',
      'task_type=cover',
      '-F',
      'inference_steps=2',
      '-F',
      'audio_format=wav',
      '-F',
      'batch_size=1',
      '-F',
      `src_audio=@${song};type=audio/wav`,
      `${base}/release_task`,
    ]);
    assert.equal(res.status, 200, res.body.toString());
    const taskId = JSON.parse(res.body.toString()).data.task_id;
    const { item, entries } = await waitFor(base, taskId);
    assert.equal(item.status, 1, item.result);
    assert.equal(entries.length, 1);
    await downloadAndDecode(base, entries[0]!, 12);
  });

  it('a cover of a 200 MB WAV uploaded as multipart (streamed, default --max-upload-bytes) completes', async () => {
    // 65 s of 8-channel 96 kHz float: 199.7 MB, within the default 192 MiB limit and the 600 s limit.
    const big = join(dir, 'big.wav');
    const size = await writeWav(big, { seconds: 65, sampleRate: 96_000, channels: 8, format: 'f32' });
    assert.ok(size > 199_000_000, `${size}`);
    const res = await curl([
      '-F',
      'prompt=orchestral cover',
      '-F',
      'task_type=cover',
      '-F',
      'inference_steps=1',
      '-F',
      'audio_format=wav',
      '-F',
      'batch_size=1',
      '-F',
      `src_audio=@${big};type=audio/wav`,
      `${base}/release_task`,
    ]);
    await rm(big, { force: true });
    assert.equal(res.status, 200, res.body.toString());
    const { item, entries } = await waitFor(base, JSON.parse(res.body.toString()).data.task_id, 480_000);
    assert.equal(item.status, 1, item.result);
    await downloadAndDecode(base, entries[0]!, 65);
  });

  it('query_result reports unknown ids as status 0 with an empty result; task_id_list may be a JSON string', async () => {
    const { json } = await post<QueryItem[]>(base, '/query_result', {
      task_id_list: JSON.stringify(['nope']),
    });
    assert.deepEqual(json.data, [{ task_id: 'nope', result: '[]', status: 0 }]);
  });

  it('GET /v1/models and /v1/stats give the official shapes', async () => {
    const models = await getJson<{ models: { name: string; is_default: boolean }[]; default_model: string }>(
      base,
      '/v1/models',
    );
    assert.equal(models.json.data.models[0]?.is_default, true);
    assert.equal(models.json.data.default_model, models.json.data.models[0]?.name);
    const stats = await getJson<{
      jobs: Record<string, number>;
      queue_size: number;
      queue_maxsize: number;
      avg_job_seconds: number;
    }>(base, '/v1/stats');
    const data = stats.json.data;
    assert.deepEqual(Object.keys(data.jobs).sort(), ['failed', 'queued', 'running', 'succeeded', 'total']);
    assert.ok(data.jobs.succeeded! >= 2);
    assert.equal(typeof data.queue_size, 'number');
    assert.equal(data.queue_maxsize, 256);
    assert.ok(data.avg_job_seconds > 0);
  });

  it('/v1/audio serves only stored objects: 403 for paths, 404 for unknown ids', async () => {
    const outside = await getJson(base, `/v1/audio?path=${encodeURIComponent('/etc/passwd')}`);
    assert.equal(outside.status, 403);
    assert.equal(outside.json.detail, 'Access denied: path outside allowed directory');
    const unknown = await getJson(base, '/v1/audio?path=0123456789abcdef.wav');
    assert.equal(unknown.status, 404);
    assert.equal(unknown.json.detail, 'Audio file not found');
  });

  for (const [label, body, pattern] of [
    [
      'an unsupported parameter',
      { prompt: 'x', sample_mode: true },
      /sample_mode is not supported.*create_random_sample/,
    ],
    ['a server file path', { prompt: 'x', src_audio_path: '/tmp/a.wav' }, /src_audio_path.*upload the file/],
    ['an unknown parameter', { prompt: 'x', promt: 'typo' }, /unknown parameter "promt"/],
    ['a bad enum value', { prompt: 'x', task_type: 'remix' }, /task_type.*"remix".*"text2music", "cover"/],
    ['a bad number', { prompt: 'x', bpm: 'fast' }, /bpm: "fast" is not an integer/],
    ['a neutral parameter off its value', { prompt: 'x', infer_method: 'sde' }, /infer_method: only "ode"/],
    ['a non-object body', ['x'], /JSON payload must be an object/],
  ] as const) {
    it(`release_task answers ${label} with 400 naming it`, async () => {
      const { status, json } = await post(base, '/release_task', body);
      assert.equal(status, 400);
      assert.match(json.detail ?? '', pattern);
    });
  }

  it('release_task refuses an unsupported content type with 415', async () => {
    const res = await curl(['-H', 'content-type: text/csv', '-d', 'a,b', `${base}/release_task`]);
    assert.equal(res.status, 415);
  });

  it('format_input and create_random_sample answer through the LM stage in the official shapes', async () => {
    const format = await post<Record<string, unknown>>(base, '/format_input', {
      prompt: 'calm piano',
      lyrics: '[verse]\nhello',
      param_obj: JSON.stringify({ duration: 30, bpm: 90 }),
    });
    assert.equal(format.status, 200, JSON.stringify(format.json));
    assert.deepEqual(Object.keys(format.json.data).sort(), [
      'bpm',
      'caption',
      'duration',
      'key_scale',
      'lyrics',
      'time_signature',
      'vocal_language',
    ]);
    const simple = await post<Record<string, unknown>>(base, '/create_random_sample', {});
    assert.equal(simple.status, 200, JSON.stringify(simple.json));
    assert.deepEqual(Object.keys(simple.json.data).sort(), ['description', 'instrumental', 'vocal_language']);
  });
});

describe('official REST API with --api-key', () => {
  let stack: Stack;
  let gateway: LaunchedService;
  let base: string;
  before(async () => {
    stack = await launchStack();
    gateway = await launchService('gateway', {
      args: [
        '--api-key',
        KEY,
        '--lm-target',
        stack.lm.address,
        '--dit-target',
        stack.dit.address,
        '--vae-target',
        stack.vae.address,
      ],
    });
    base = `http://${gateway.address}`;
  });
  after(async () => {
    await gateway?.stop();
    await stack?.stop();
  });

  it('takes the key as ai_token, Bearer, the bare key or X-Api-Key; health stays open', async () => {
    const query = { task_id_list: ['nope'] };
    assert.equal((await post(base, '/query_result', query)).status, 401);
    assert.equal((await post(base, '/query_result', query, { authorization: 'Bearer wrong' })).status, 401);
    assert.equal((await post(base, '/query_result', { ...query, ai_token: KEY })).status, 200);
    assert.equal((await post(base, '/query_result', query, { authorization: `Bearer ${KEY}` })).status, 200);
    assert.equal((await post(base, '/query_result', query, { authorization: KEY })).status, 200);
    assert.equal((await post(base, '/query_result', query, { 'x-api-key': KEY })).status, 200);
    assert.equal((await getJson(base, '/v1/stats')).status, 401);
    assert.equal((await getJson(base, '/v1/stats', { authorization: `Bearer ${KEY}` })).status, 200);
    assert.equal((await getJson(base, '/health')).status, 200);
  });
});

describe('README: the official-style REST flow', () => {
  let stack: Stack;
  before(async () => {
    stack = await launchStack();
  });
  after(async () => {
    await stack?.stop();
  });

  it('runs the three curl commands as written (address, TASK_ID and FILE filled in)', async () => {
    const readme = await readFile(new URL('../../README.md', import.meta.url), 'utf8');
    const block = /```bash\n(curl[^`]*release_task[^`]*)```/.exec(readme)?.[1];
    assert.ok(block, 'the README shows the REST flow');
    const [submit, poll, download] = block
      .trim()
      .split('\n')
      .map((l) => l.replaceAll('127.0.0.1:50050', stack.gateway.address));
    assert.ok(submit && poll && download);
    const dir = await mkdtemp(join(tmpdir(), 'acestep-readme-'));
    const sh = async (command: string) =>
      (await promisify(execFile)('sh', ['-c', command], { cwd: dir })).stdout;
    try {
      const taskId = JSON.parse(await sh(submit)).data.task_id as string;
      let item: QueryItem;
      for (;;) {
        item = JSON.parse(await sh(poll.replace('TASK_ID', taskId))).data[0];
        if (item.status !== 0) break;
        await new Promise((resolve) => setTimeout(resolve, 300));
      }
      assert.equal(item.status, 1, item.result);
      const file = (JSON.parse(item.result) as { file: string }[])[0]!.file;
      await sh(download.replace('FILE', file));
      const pcm = await decodeAudio(await readFile(join(dir, 'song.wav')));
      assert.equal(pcm.sampleRate, 48_000);
      assert.equal(pcm.channels.length, 2);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
