// Before minutes go into an export: can this process run a graph on the device? For WebGPU it
// sends a tensor to the device and back through the same copies the services use (DeviceCopier),
// so a missing Vulkan loader, a missing ICD or an adapter Dawn refuses shows here, named.
//   node tools/gpu/probe.ts webgpu|cpu|cuda:N
import { DeviceCopier, identityGraph, parseDevice } from '@acestep/models';
import ort from 'onnxruntime-node';

const device = process.argv[2] ?? 'webgpu';
const { provider, index } = parseDevice(device);
const host = new ort.Tensor(
  'float32',
  Float32Array.from({ length: 4096 }, (_, i) => i / 7),
  [64, 64],
);
const started = performance.now();
let back: ort.Tensor;
if (provider === 'webgpu') {
  const copier = new DeviceCopier();
  const onDevice = await copier.upload(host);
  if (onDevice.location !== 'gpu-buffer') throw new Error(`probe: upload gave a ${onDevice.location} tensor`);
  back = await copier.download(onDevice);
  onDevice.dispose();
  await copier.release();
} else {
  const providers = provider === 'cuda' ? [{ name: 'cuda', deviceId: index }] : ['cpu'];
  const session = await ort.InferenceSession.create(identityGraph('float32'), {
    executionProviders: providers as ort.InferenceSession.ExecutionProviderConfig[],
  });
  back = (await session.run({ x: host })).y!;
  await session.release();
}
const sent = host.data as Float32Array;
const got = back.data as Float32Array;
if (got.length !== sent.length || got.some((v, i) => v !== sent[i]))
  throw new Error(`probe: ${device} gave back different values`);
console.log(
  `probe: ${device} ran a graph (round trip of ${sent.byteLength} B in ${(performance.now() - started).toFixed(0)} ms)`,
);
