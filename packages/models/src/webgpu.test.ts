// Every graph of the tiny set on the WebGPU provider against the CPU provider (≤ 1e-4), plus
// device-resident tensors: upload, use as another session's input, download. In CI WebGPU runs
// on Mesa's software Vulkan driver (lavapipe, installed by scripts/setup.sh): slow, but the same
// provider code as on a GPU.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { loadFixtureIndex, maxAbsTensorDiff, readFixtureInputs } from '@acestep/testkit/parity';
import ort from 'onnxruntime-node';
import { DeviceCopier } from './device-tensors.ts';
import { GRAPH_NAMES } from './manifest.ts';
import { type ModelSet, openModelSet } from './modelSet.ts';
import { requireModelDir } from './paths.ts';

const dir = requireModelDir();
const index = await loadFixtureIndex(dir);
const TOLERANCE = 1e-4;

describe(`WebGPU vs CPU on ${dir}`, () => {
  let cpu: ModelSet;
  let gpu: ModelSet;
  const copier = new DeviceCopier();
  before(async () => {
    cpu = await openModelSet(dir, { intraOpThreads: 1 });
    gpu = await openModelSet(dir, { device: 'webgpu:0' });
  });
  after(async () => {
    await Promise.all([cpu.close(), gpu.close(), copier.release()]);
  });

  for (const name of GRAPH_NAMES) {
    for (const c of index.graphs[name]?.cases ?? []) {
      it(`${name} ${c.name}`, async () => {
        const feeds = await readFixtureInputs(dir, c);
        const want = await cpu.session(name).run(feeds);
        const got = await gpu.session(name).run(feeds);
        for (const output of cpu.session(name).outputNames) {
          const diff = maxAbsTensorDiff(got[output]!, want[output]!);
          assert.ok(diff <= TOLERANCE, `${name} ${c.name} ${output}: max |webgpu - cpu| ${diff}`);
        }
      });
    }
  }

  it('round-trips a tensor through the device and feeds a device tensor to a graph', async () => {
    const host = new ort.Tensor('float32', Float32Array.from([1.5, -2, 3.25, 4e-7]), [2, 2]);
    const device = await copier.upload(host);
    assert.equal(device.location, 'gpu-buffer');
    const back = await copier.download(device);
    assert.deepEqual(Array.from(back.data as Float32Array), Array.from(host.data as Float32Array));

    const c = index.graphs.dit_step!.cases[1]!;
    const feeds = await readFixtureInputs(dir, c);
    const onDevice = { ...feeds, context_latents: await copier.upload(feeds.context_latents!) };
    const want = await cpu.session('dit_step').run(feeds);
    const got = await gpu.session('dit_step').run(onDevice);
    onDevice.context_latents.dispose();
    device.dispose();
    assert.ok(maxAbsTensorDiff(got.velocity!, want.velocity!) <= TOLERANCE);
    assert.deepEqual(copier.counters, {
      hostToDevice: 16 + feeds.context_latents!.data.length * 4,
      deviceToHost: 16,
    });
  });

  it('refuses an adapter index the binding cannot select, naming the device', async () => {
    await assert.rejects(
      openModelSet(dir, { device: 'webgpu:1', graphs: ['vae_decoder'] }),
      /webgpu:1.*webgpu:0/,
    );
  });
});
