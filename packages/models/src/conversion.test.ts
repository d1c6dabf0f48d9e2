// Converting what the official releases contain: the exporter's Python unit tests; LM checkpoints
// without the `model.` prefix, sharded, and with an untied head, each exported and run in
// onnxruntime-node against an independent torch reference of the same weights
// (tools/export/tests/lm_checkpoints.py) and against the exporter's own fixtures; and a tiny set
// of every official DiT variant (tools/export/tests/variant_sets.py) with its manifest defaults.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import {
  loadFixtureIndex,
  maxAbsTensorDiff,
  readFixtureInputs,
  readFixtureTensor,
} from '@acestep/testkit/parity';
import ort from 'onnxruntime-node';

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

/** Runs every fixture case of a (subset) model set in ORT; returns the graph names checked. */
async function expectFixtures(dir: string): Promise<string[]> {
  const index = await loadFixtureIndex(dir);
  const manifest = JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8'));
  for (const [name, fixtures] of Object.entries(index.graphs)) {
    assert.ok(fixtures && fixtures.cases.length >= 2, `${dir}: ${name} has fewer than two cases`);
    const session = await ort.InferenceSession.create(join(dir, manifest.graphs[name].file));
    try {
      for (const c of fixtures.cases) {
        const got = await session.run(await readFixtureInputs(dir, c));
        for (const w of c.outputs) {
          const limit = fixtures.exactOutputs.includes(w.name) ? 0 : fixtures.tolerance;
          const diff = maxAbsTensorDiff(got[w.name] as ort.Tensor, await readFixtureTensor(dir, w));
          assert.ok(diff <= limit, `${dir}: ${name} ${c.name} ${w.name}: max |diff| ${diff} > ${limit}`);
        }
      }
    } finally {
      await session.release();
    }
  }
  return Object.keys(index.graphs).sort();
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
        const diff = maxAbsTensorDiff(got.logits, want);
        assert.ok(diff <= 1e-4, `${layout}: max |diff| ${diff}`);
      } finally {
        await session.release();
      }
    });

    it(`${layout}: every exported graph matches its torch fixtures`, async () => {
      assert.deepEqual(await expectFixtures(join(out, layout, 'set')), ['lm_decode', 'lm_prefill']);
    });
  }
});

describe('every official DiT variant exports tiny and matches torch', () => {
  let out: string;
  before(async () => {
    out = await mkdtemp(join(tmpdir(), 'dit-variants-'));
    await run(PYTHON, ['tools/export/tests/variant_sets.py', out], { cwd: repo, maxBuffer: 64 << 20 });
  });
  after(async () => {
    if (out) await rm(out, { recursive: true, force: true });
  });

  // name → [family, default shift, turbo shift set (null = continuous), DiT width, encoder width]
  const expected = {
    'turbo-shift1': ['turbo', 1, [1, 2, 3], 32, 32],
    'turbo-shift3': ['turbo', 3, [1, 2, 3], 32, 32],
    'turbo-continuous': ['turbo', 3, null, 32, 32],
    sft: ['sft', 3, null, 32, 32],
    base: ['base', 3, null, 32, 32],
    'xl-turbo': ['turbo', 3, [1, 2, 3], 48, 32],
  } as const;
  for (const [name, [family, shift, shifts, ditHidden, encoderHidden]] of Object.entries(expected)) {
    it(`${name}: manifest states the variant and its defaults; graphs match torch`, async () => {
      const dir = join(out, name);
      const manifest = JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8'));
      assert.equal(manifest.variant.dit, name);
      assert.equal(manifest.variant.ditFamily, family);
      assert.equal(manifest.variant.ditDefaults.defaultShift, shift);
      assert.deepEqual(manifest.variant.ditDefaults.shifts, shifts);
      assert.equal(manifest.constants.ditHidden, ditHidden);
      assert.equal(manifest.constants.encoderHidden, encoderHidden);
      const graphs = await expectFixtures(dir);
      assert.ok(graphs.includes('dit_step'));
      if (name.startsWith('xl-')) {
        assert.deepEqual(graphs, ['audio_detokenizer', 'audio_tokenizer', 'condition_encoder', 'dit_step']);
        const dit = manifest.graphs.dit_step.inputs.find(
          (i: { name: string }) => i.name === 'encoder_hidden_states',
        );
        assert.deepEqual(dit.dims, ['batch', 'enc_len', encoderHidden]);
      }
    });
  }

  it('a PEFT LoRA merged at scale 1: manifest records it, dit_step matches the merged torch module', async () => {
    const dir = join(out, 'lora');
    const manifest = JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8'));
    assert.deepEqual(manifest.lora, { modules: 10, scale: 1, r: 4, loraAlpha: 8 });
    assert.deepEqual(await expectFixtures(dir), ['dit_step']);
    // Not the base weights: the merged graph's velocity differs from the base fixture's.
    const base = await readFile(join(out, 'turbo-shift1', 'parity', 'dit_step.case0.output.velocity.bin'));
    const merged = await readFile(join(dir, 'parity', 'dit_step.case0.output.velocity.bin'));
    assert.notDeepEqual(merged, base);
  });
});
