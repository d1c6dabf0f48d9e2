// The acestep command through real processes: --help of every command, an
// unknown option, generate's files and sidecars, and the job commands against
// a running gateway (four real service processes).
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, before, describe, it } from 'node:test';
import { launchStack, type Stack } from '@acestep/cli/launcher';
import { buildPlayground } from '@acestep/playground/build';

const MAIN = new URL('../../packages/cli/src/main.ts', import.meta.url).pathname;
const COMMANDS = ['serve', 'generate', 'submit', 'status', 'watch', 'cancel', 'list', 'download', 'info'];

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function acestep(...args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, [MAIN, ...args], { maxBuffer: 64 << 20 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

function jsonLines(text: string): Record<string, unknown>[] {
  return text
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

describe('acestep CLI: arguments', () => {
  it('lists the commands without arguments', async () => {
    const run = await acestep();
    assert.equal(run.code, 0);
    for (const command of COMMANDS) assert.match(run.stdout, new RegExp(`^  ${command} `, 'm'));
  });

  for (const command of COMMANDS) {
    it(`${command} --help lists every option with its default`, async () => {
      const run = await acestep(command, '--help');
      assert.equal(run.code, 0, run.stderr);
      assert.match(run.stdout, new RegExp(`^usage: acestep ${command}`));
      const options = run.stdout.split('\n').filter((l) => /^ {2}--/.test(l));
      assert.ok(options.length >= 2, 'options are listed');
      for (const line of options) {
        if (line.startsWith('  --help')) continue;
        // A long flag's description is on the next line; join them for the check.
        const index = run.stdout.indexOf(line);
        const block = run.stdout.slice(index, run.stdout.indexOf('\n  --', index + 1));
        assert.match(block, /\(default: [^)]*\)/, `default of ${line.trim()}`);
      }
    });
  }

  it('generate --help lists every GenerationConfig field', async () => {
    const run = await acestep('generate', '--help');
    for (const field of ['caption', 'lyrics', 'bpm', 'task_type', 'src_audio', 'lm_batch_chunk_size'])
      assert.match(run.stdout, new RegExp(`--${field}\\b`));
  });

  it('an unknown option exits 2 naming it and the closest known one', async () => {
    const run = await acestep('generate', '--captoin', 'rain');
    assert.equal(run.code, 2);
    assert.equal(run.stderr.trim(), 'acestep: unknown option --captoin (did you mean --caption?)');
    const serve = await acestep('serve', '--nats_url', 'nats://x');
    assert.equal(serve.code, 2);
    assert.match(serve.stderr, /unknown option --nats_url \(did you mean --nats-url\?\)/);
  });

  it('an unknown command and a bad value exit 2 with the allowed values', async () => {
    const command = await acestep('genrate');
    assert.equal(command.code, 2);
    assert.match(command.stderr, /unknown command "genrate" \(did you mean generate\?\)/);
    const value = await acestep('list', '--state', 'done');
    assert.equal(value.code, 2);
    assert.match(value.stderr, /--state="done" is invalid: allowed values are all, queued, running/);
    const missing = await acestep('status');
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /expected <job-id>/);
  });
});

describe('acestep CLI against a running gateway', () => {
  let stack: Stack;
  let url: string;
  let dir: string;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'acestep-cli-'));
    // One job at a time, so a second job stays queued while the first runs.
    stack = await launchStack({
      gatewayArgs: ['--job-concurrency', '1', '--data-dir', join(dir, 'gateway-data')],
    });
    url = stack.gateway.address;
  });

  after(async () => {
    await stack?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('generate writes <index>-<seed> files with a sidecar holding the whole result item', async () => {
    const out = join(dir, 'generate');
    const run = await acestep(
      'generate',
      '--url',
      url,
      '--caption',
      'calm piano',
      '--audio_duration',
      '10',
      '--batch_size',
      '2',
      '--audio_format',
      'wav',
      '--no-use_random_seed',
      '--seed',
      '42',
      '--progress',
      'json',
      '--out',
      out,
    );
    assert.equal(run.code, 0, run.stderr);
    const events = jsonLines(run.stdout);
    const steps = events.filter((e) => e.event === 'progress' && e.stage === 'STAGE_DIT');
    assert.ok(steps.length >= 1, 'DiT progress lines');
    const result = events.find((e) => e.event === 'result')?.result as Record<string, unknown>;
    const audio = result.audio as { seed: string; sha256: string; object_id: string }[];
    assert.equal(audio.length, 2);
    const files = (await readdir(out)).sort();
    const expected = audio.flatMap((a, i) => [`${i + 1}-${a.seed}.json`, `${i + 1}-${a.seed}.wav`]).sort();
    assert.deepEqual(files, expected);
    for (const [i, item] of audio.entries()) {
      const name = join(out, `${i + 1}-${item.seed}`);
      const sidecar = JSON.parse(await readFile(`${name}.json`, 'utf8'));
      assert.equal(sidecar.file, `${name}.wav`);
      assert.equal(sidecar.seed, item.seed);
      assert.deepEqual(sidecar.audio, item);
      assert.equal(sidecar.config.caption, 'calm piano');
      assert.equal(sidecar.config.audio_format, 'AUDIO_FORMAT_WAV');
      assert.ok(sidecar.timings_ms.dit > 0, 'timings');
      assert.equal(sidecar.result.seed_value, result.seed_value);
      const bytes = await readFile(`${name}.wav`);
      assert.equal(createHash('sha256').update(bytes).digest('hex'), item.sha256);
    }
    assert.equal(audio[0]!.seed, '42', 'the fixed seed is the first item');
  });

  it('a --name template names the files', async () => {
    const out = join(dir, 'named');
    const run = await acestep(
      'generate',
      '--url',
      url,
      '--caption',
      'x',
      '--audio_duration',
      '10',
      '--inference_steps',
      '1',
      '--name',
      'song-{seed}-{index}',
      '--progress',
      'none',
      '--json',
      '--out',
      out,
    );
    assert.equal(run.code, 0, run.stderr);
    const seed = JSON.parse(run.stdout).audio[0].seed;
    assert.deepEqual((await readdir(out)).sort(), [`song-${seed}-1.json`, `song-${seed}-1.mp3`]);
  });

  it('submit, watch, status, list and download a job', async () => {
    const submitted = await acestep(
      'submit',
      '--url',
      url,
      '--caption',
      'job song',
      '--audio_duration',
      '10',
      '--inference_steps',
      '2',
      '--json',
    );
    assert.equal(submitted.code, 0, submitted.stderr);
    const id = JSON.parse(submitted.stdout).id as string;
    assert.ok(id);

    const watched = await acestep('watch', id, '--url', url, '--progress', 'json');
    assert.equal(watched.code, 0, watched.stderr);
    const updates = jsonLines(watched.stdout);
    const last = updates.at(-1)!;
    assert.equal(last.event, 'job');
    assert.equal((last.job as { state: string }).state, 'JOB_STATE_SUCCEEDED');

    const status = await acestep('status', id, '--url', url, '--json');
    assert.equal(status.code, 0, status.stderr);
    const job = JSON.parse(status.stdout);
    assert.equal(job.state, 'JOB_STATE_SUCCEEDED');
    assert.equal(job.config.caption, 'job song');

    const text = await acestep('status', id, '--url', url);
    assert.match(text.stdout, new RegExp(`^${id}\\s+succeeded`));

    const list = await acestep('list', '--url', url, '--state', 'succeeded', '--json');
    assert.equal(list.code, 0, list.stderr);
    assert.ok(JSON.parse(list.stdout).jobs.some((j: { id: string }) => j.id === id));

    const out = join(dir, 'download');
    const downloaded = await acestep('download', id, '--url', url, '--out', out);
    assert.equal(downloaded.code, 0, downloaded.stderr);
    const seed = job.result.audio[0].seed;
    assert.deepEqual((await readdir(out)).sort(), [`1-${seed}.json`, `1-${seed}.mp3`]);
    const sidecar = JSON.parse(await readFile(join(out, `1-${seed}.json`), 'utf8'));
    assert.equal(sidecar.job_id, id);
    assert.equal(sidecar.config.caption, 'job song');
    const bytes = await readFile(join(out, `1-${seed}.mp3`));
    assert.equal(createHash('sha256').update(bytes).digest('hex'), sidecar.audio.sha256);
  });

  it('cancel ends a queued job; watch then exits 1; download refuses it', async () => {
    const long = ['--caption', 'long', '--audio_duration', '240', '--batch_size', '4', '--json'];
    const first = JSON.parse((await acestep('submit', '--url', url, ...long)).stdout).id as string;
    const second = JSON.parse((await acestep('submit', '--url', url, ...long)).stdout).id as string;
    const cancelled = await acestep('cancel', second, '--url', url, '--json');
    assert.equal(cancelled.code, 0, cancelled.stderr);
    assert.equal(JSON.parse(cancelled.stdout).state, 'JOB_STATE_CANCELLED');
    const watched = await acestep('watch', second, '--url', url, '--progress', 'none');
    assert.equal(watched.code, 1);
    assert.match(watched.stdout, /cancelled/);
    const refused = await acestep('download', second, '--url', url, '--out', join(dir, 'none'));
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /is cancelled: only a succeeded job has files/);
    const stopped = await acestep('cancel', first, '--url', url);
    assert.equal(stopped.code, 0, stopped.stderr);
    assert.match(stopped.stdout, /cancelled/);
  });

  it('a call failure exits 1 with the gRPC code', async () => {
    const run = await acestep('status', 'no-such-job', '--url', url);
    assert.equal(run.code, 1);
    assert.match(run.stderr, /^acestep \[NotFound\]: /);
  });
});

describe('acestep serve', () => {
  it('prints where everything listens, on the metrics ports asked for, and stops on SIGTERM', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'acestep-serve-'));
    await buildPlayground();
    // Four consecutive metrics ports in a range the OS does not hand out for port 0.
    const metrics = 20_000 + 4 * Math.floor(Math.random() * 2000);
    const child = spawn(
      process.execPath,
      [MAIN, 'serve', '--port', '0', '--metrics-port', String(metrics), '--data-dir', join(dir, 'data')],
      { stdio: ['ignore', 'pipe', 'ignore'] },
    );
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    try {
      const summary = await new Promise<string>((resolve, reject) => {
        createInterface({ input: child.stdout! }).on('line', (line) => {
          if (line.startsWith('acestep: gateway')) resolve(line);
        });
        exited.then((code) => reject(new Error(`serve exited with ${code} before its summary`)));
      });
      const gateway = /^acestep: gateway (127\.0\.0\.1:\d+) \(gRPC, gRPC-Web, Connect\)/.exec(summary)?.[1];
      assert.ok(gateway, summary);
      assert.ok(summary.includes(`playground http://${gateway}/`), summary);
      assert.ok(
        summary.includes(
          `metrics gateway :${metrics} lm :${metrics + 1} dit :${metrics + 2} vae :${metrics + 3}`,
        ),
        summary,
      );
      for (let port = metrics; port < metrics + 4; port++) {
        const res = await fetch(`http://127.0.0.1:${port}/healthz`);
        assert.equal(await res.text(), 'SERVING\n', `metrics port ${port}`);
      }
      const page = await fetch(`http://${gateway}/`);
      assert.match(page.headers.get('content-type') ?? '', /text\/html/);
    } finally {
      child.kill('SIGTERM');
      assert.equal(await exited, 0);
      await rm(dir, { recursive: true, force: true });
    }
  });
});
