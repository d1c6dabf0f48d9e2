// What a GPU machine without Node and without network gets: tools/gpu/bundle.sh's two archives,
// unpacked into an empty directory. With a PATH that finds nothing (no system node), the bundled
// Node runs the GPU check's driver (tools/gpu/check.ts) on the CPU device: the four services
// start from the bundle's production dependencies and a song comes out through the gateway.
// The bundle is built in its fast mode (xz -0); the 64 MiB limit is enforced by the real mode.
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { decodeAudio } from '@acestep/audio';

const REPO = new URL('../../', import.meta.url).pathname;
const run = promisify(execFile);

describe('the GPU bundle', { timeout: 300_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'acestep-gpu-bundle-'));
  const box = join(dir, 'box');
  after(() => rmSync(dir, { recursive: true, force: true }));

  before(async () => {
    await run(join(REPO, 'tools/gpu/bundle.sh'), ['--fast', join(dir, 'dist')], { cwd: REPO });
    mkdirSync(box);
    await run('tar', ['-xzf', join(dir, 'dist/acestep-repo.tar.gz'), '-C', box]);
    await run('tar', ['-xJf', join(dir, 'dist/acestep-runtime.tar.xz'), '-C', box]);
  });

  it('holds the Node binary and onnxruntime-node for linux-x64 only, without dev tools', () => {
    assert.ok(statSync(join(box, '.gpu-runtime/bin/node')).mode & 0o100, 'node is not executable');
    const store = readdirSync(join(box, 'node_modules/.pnpm'));
    const ort = store.find((name) => name.startsWith('onnxruntime-node@'));
    assert.ok(ort, 'no onnxruntime-node in the bundle');
    const bin = join(box, 'node_modules/.pnpm', ort, 'node_modules/onnxruntime-node/bin/napi-v6');
    assert.deepEqual(readdirSync(bin), ['linux']);
    assert.deepEqual(readdirSync(join(bin, 'linux')), ['x64']);
    for (const dev of ['typescript@', '@biomejs+biome@', 'playwright-core@'])
      assert.ok(!store.some((name) => name.startsWith(dev)), `dev dependency ${dev} in the bundle`);
  });

  it('generates a song with the bundled Node and no node on the PATH', async () => {
    const empty = join(dir, 'empty-path');
    mkdirSync(empty);
    const out = join(dir, 'out');
    const args = ['--models', join(REPO, 'models/tiny'), '--device', 'cpu', '--seconds', '10'];
    const code = await new Promise<number | null>((resolve, reject) => {
      const child = spawn(
        join(box, '.gpu-runtime/bin/node'),
        [
          'tools/gpu/check.ts',
          ...args,
          '--warmup-seconds',
          '0',
          '--out',
          out,
          '--report',
          join(out, 'r.txt'),
        ],
        { cwd: box, env: { PATH: empty, HOME: dir, TMPDIR: dir }, stdio: ['ignore', 'ignore', 'inherit'] },
      );
      child.once('error', reject);
      child.once('exit', resolve);
    });
    assert.equal(code, 0);
    const wav = readdirSync(join(out, 'song-10s')).find((name) => name.endsWith('.wav'));
    assert.ok(wav, 'no audio file');
    const { channels, sampleRate } = await decodeAudio(readFileSync(join(out, 'song-10s', wav)));
    assert.equal(sampleRate, 48_000);
    assert.equal(channels.length, 2);
    assert.equal(channels[0]!.length, 10 * 48_000);
    assert.ok(
      channels[0]!.some((v) => v !== 0),
      'the audio is silent',
    );
    const report = readFileSync(join(out, 'r.txt'), 'utf8');
    assert.match(report, /device cpu/);
    assert.match(report, /song-10s +10 /);
    // The LM wrote the 50 audio codes of 10 s and the DiT ran its 8 steps (their own counters).
    assert.match(report, /song-10s +50 /);
    assert.match(report, /song-10s +8 /);
  });
});
