// The conversion step of the model Job (deploy/docker/prepare-models.sh), run for real: it copies
// an already converted set from the source directory, or runs the repository's exporter (random
// tiny weights here; official checkpoints in production), builds under a temporary name, renames
// when complete, and does nothing when the set is already there.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const SCRIPT = fileURLToPath(new URL('../../docker/prepare-models.sh', import.meta.url));
const EXPORTER = fileURLToPath(new URL('../../../tools/export/export.py', import.meta.url));

interface Run {
  code: number | null;
  out: string;
}

function prepare(env: Record<string, string>): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn('sh', [SCRIPT], { env: { PATH: process.env.PATH ?? '', EXPORTER, ...env } });
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
    });
    child.stderr.on('data', (d) => {
      out += d;
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, out }));
  });
}

describe('prepare-models.sh', () => {
  let root = '';
  let source = '';
  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'acestep-models-'));
    source = await mkdtemp(join(tmpdir(), 'acestep-source-'));
  });
  after(async () => {
    await rm(root, { recursive: true, force: true });
    await rm(source, { recursive: true, force: true });
  });

  it('copies an already converted set from the source directory', async () => {
    await mkdir(join(source, 'converted'), { recursive: true });
    await writeFile(join(source, 'converted', 'manifest.json'), '{"contractVersion":"1.1.0"}\n');
    await writeFile(join(source, 'converted', 'dit_step.onnx'), 'graph bytes');
    const run = await prepare({ MODEL_SET: 'converted', MODELS_ROOT: root, SOURCE_DIR: source });
    assert.equal(run.code, 0, run.out);
    assert.equal(await readFile(join(root, 'converted', 'dit_step.onnx'), 'utf8'), 'graph bytes');
    assert.deepEqual(
      (await readdir(root)).filter((n) => n.startsWith('.partial')),
      [],
      'no partial directory left',
    );
  });

  it('exports with the exporter when the source has no converted set, then is idempotent', async () => {
    const env = {
      MODEL_SET: 'tiny-random',
      MODELS_ROOT: root,
      SOURCE_DIR: source,
      EXPORT_ARGS: '--random --preset tiny',
    };
    const first = await prepare(env);
    assert.equal(first.code, 0, first.out);
    const manifest = JSON.parse(await readFile(join(root, 'tiny-random', 'manifest.json'), 'utf8'));
    assert.ok(manifest.graphs.dit_step, 'the exported set has the DiT graph');
    const before = (await stat(join(root, 'tiny-random', 'manifest.json'))).mtimeMs;
    const second = await prepare(env);
    assert.equal(second.code, 0, second.out);
    assert.match(second.out, /is ready/);
    assert.equal((await stat(join(root, 'tiny-random', 'manifest.json'))).mtimeMs, before, 'not redone');
  });

  it('a failing export leaves no set behind, so a stage never sees half a set', async () => {
    const run = await prepare({
      MODEL_SET: 'broken',
      MODELS_ROOT: root,
      SOURCE_DIR: source,
      EXPORT_ARGS: '--random --preset no-such-preset',
    });
    assert.notEqual(run.code, 0);
    assert.deepEqual(
      (await readdir(root)).filter((n) => n === 'broken'),
      [],
    );
  });

  it('refuses set names that are not plain directory names, and a missing source without EXPORT_ARGS', async () => {
    for (const name of ['../escape', '.hidden', 'a/b', 'sp ace']) {
      const run = await prepare({ MODEL_SET: name, MODELS_ROOT: root, SOURCE_DIR: source });
      assert.equal(run.code, 2, `${name}: ${run.out}`);
      assert.match(run.out, /plain directory name/);
    }
    const run = await prepare({ MODEL_SET: 'nothing', MODELS_ROOT: root, SOURCE_DIR: source });
    assert.equal(run.code, 2, run.out);
    assert.match(run.out, /no EXPORT_ARGS/);
  });
});
