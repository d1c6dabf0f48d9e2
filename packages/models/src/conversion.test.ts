// Converting checkpoints the way official folders store them: the exporter's Python unit tests,
// then LM checkpoints without the `model.` prefix, sharded, and with an untied head, each
// exported and run in onnxruntime-node against an independent torch reference of the same
// weights (tools/export/tests/lm_checkpoints.py) and against the exporter's own fixtures.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import ort from 'onnxruntime-node';
import { loadFixtureIndex, maxAbsDiff, readFixtureInputs, readFixtureTensor } from './fixtures.ts';

const run = promisify(execFile);
const repo = fileURLToPath(new URL('../../../', import.meta.url));
const PYTHON = '/usr/bin/python3';
const CONVERTED = ['noprefix', 'sharded', 'untied'] as const;

async function readRaw(path: string, dtype: 'int64' | 'float32', dims: number[]): Promise<ort.Tensor> {
  const buf = await readFile(path);
  const bytes = new Uint8Array(buf.byteLength);
  bytes.set(buf);
  const data = dtype === 'int64' ? new BigInt64Array(bytes.buffer) : new Float32Array(bytes.buffer);
  return new ort.Tensor(dtype, data, dims);
}

describe('exporter unit tests (python)', () => {
  it('pass', async () => {
    const { stderr } = await run(PYTHON, ['-m', 'unittest', 'discover', '-s', 'tools/export/tests'], {
      cwd: repo,
      maxBuffer: 64 << 20,
    });
    assert.match(stderr, /\nOK/);
  });
});

describe('LM checkpoint layouts convert and match torch', () => {
  let out: string;
  before(async () => {
    out = await mkdtemp(join(tmpdir(), 'lm-layouts-'));
    await run(PYTHON, ['tools/export/tests/lm_checkpoints.py', out], { cwd: repo, maxBuffer: 64 << 20 });
  });
  after(async () => {
    if (out) await rm(out, { recursive: true, force: true });
  });

  for (const layout of CONVERTED) {
    it(`${layout}: lm_prefill logits equal the reference forward (≤ 1e-4)`, async () => {
      const ref = JSON.parse(await readFile(join(out, layout, 'reference', 'index.json'), 'utf8'));
      const ids = await readRaw(join(out, layout, 'reference', 'input_ids.bin'), 'int64', ref.input_ids);
      const want = await readRaw(join(out, layout, 'reference', 'logits.bin'), 'float32', ref.logits);
      const session = await ort.InferenceSession.create(join(out, layout, 'set', 'lm_prefill.onnx'));
      try {
        const mask = new ort.Tensor('int64', new BigInt64Array(ids.size).fill(1n), ids.dims);
        const got = await session.run({ input_ids: ids, attention_mask: mask });
        assert.ok(got.logits, 'no logits output');
        const diff = maxAbsDiff(got.logits, want);
        assert.ok(diff <= 1e-4, `${layout}: max |diff| ${diff}`);
      } finally {
        await session.release();
      }
    });

    it(`${layout}: every exported graph matches its torch fixtures`, async () => {
      const dir = join(out, layout, 'set');
      const index = await loadFixtureIndex(dir);
      const manifest = JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8'));
      assert.deepEqual(Object.keys(index.graphs).sort(), ['lm_decode', 'lm_prefill']);
      for (const [name, fixtures] of Object.entries(index.graphs)) {
        const session = await ort.InferenceSession.create(join(dir, manifest.graphs[name].file));
        try {
          for (const c of fixtures?.cases ?? []) {
            const got = await session.run(await readFixtureInputs(dir, c));
            for (const w of c.outputs) {
              const diff = maxAbsDiff(got[w.name] as ort.Tensor, await readFixtureTensor(dir, w));
              assert.ok(diff <= (fixtures?.tolerance ?? 0), `${name} ${c.name} ${w.name}: ${diff}`);
            }
          }
        } finally {
          await session.release();
        }
      }
    });
  }
});
