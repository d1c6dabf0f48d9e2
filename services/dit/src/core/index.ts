/** Plain TypeScript core of the DiT service: no onnxruntime, no gRPC. See services/dit/README.md. */

export * from '@acestep/rng';
export * from './audio-codes.ts';
export * from './errors.ts';
export * from './guidance.ts';
export * from './latents.ts';
export * from './prompts.ts';
export * from './sampler.ts';
export * from './schedule.ts';
export * from './tasks.ts';
