// The overlays of deploy/k8s and what each promises.
import { fileURLToPath } from 'node:url';
import type { PolicyOptions } from './policy.ts';

export const K8S_DIR = fileURLToPath(new URL('../../k8s/', import.meta.url));

export interface Overlay extends PolicyOptions {
  name: string;
  dir: string;
}

export const OVERLAYS: readonly Overlay[] = [
  { name: 'cpu-dev', dir: `${K8S_DIR}overlays/cpu-dev`, gpu: false },
  { name: 'gpu', dir: `${K8S_DIR}overlays/gpu`, gpu: true },
  // All three stages time-share one GPU (NVIDIA device plugin time-slicing).
  {
    name: 'single-gpu',
    dir: `${K8S_DIR}overlays/single-gpu`,
    gpu: true,
    gpuResource: 'nvidia.com/gpu.shared',
  },
];
