// A model set with its sessions on a worker thread gives the same outputs as in-thread sessions,
// rebuilds the loader's errors, and fails runs clearly once closed.
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import ort from 'onnxruntime-node';
import { ContractError } from './contract.ts';
import type { Manifest } from './manifest.ts';
import { openModelSet } from './modelSet.ts';
import { requireModelDir } from './paths.ts';

const dir = requireModelDir();

function latents(frames: number): ort.Tensor {
  const data = Float32Array.from({ length: 64 * frames }, (_, i) => Math.sin(i * 0.37));
  return new ort.Tensor('float32', data, [1, 64, frames]);
}

describe('model set in a worker thread', () => {
  it('runs a graph with the same outputs as in-thread sessions', async () => {
    const inThread = await openModelSet(dir, { graphs: ['vae_decoder'] });
    const inWorker = await openModelSet(dir, { graphs: ['vae_decoder'], worker: true });
    try {
      const feeds = { latents: latents(3) };
      const [a, b] = await Promise.all([
        inThread.session('vae_decoder').run(feeds),
        inWorker.session('vae_decoder').run(feeds),
      ]);
      assert.deepEqual(b.audio!.dims, [1, 2, 3 * 1920]);
      assert.deepEqual(b.audio!.data, a.audio!.data);
      assert.equal(feeds.latents.data.length, 64 * 3, 'inputs are copied, not moved');
    } finally {
      await inThread.close();
      await inWorker.close();
    }
    await assert.rejects(inWorker.session('vae_decoder').run({ latents: latents(1) }), /model set closed/);
  });

  it('a contract refusal in the worker arrives as a ContractError naming graph and tensor', async () => {
    const tmp = await mkdtemp(join(tmpdir(), 'acestep-worker-set-'));
    try {
      for (const f of await readdir(dir))
        if (f !== 'manifest.json') await symlink(join(dir, f), join(tmp, f));
      const manifest = JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8')) as Manifest;
      manifest.graphs.vae_decoder.inputs[0]!.name = 'z';
      await writeFile(join(tmp, 'manifest.json'), JSON.stringify(manifest));
      await assert.rejects(openModelSet(tmp, { graphs: ['vae_decoder'], worker: true }), (error) => {
        assert.ok(error instanceof ContractError);
        assert.equal(error.graph, 'vae_decoder');
        assert.equal(error.tensor, 'z');
        return true;
      });
    } finally {
      await rm(tmp, { recursive: true });
    }
  });
});
