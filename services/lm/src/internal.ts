// What benchmarks may use beyond the core (`@acestep/lm/internal`): the
// service spec and its defaults, and the engine's runtime run in-thread.
export { lmDefaults } from './config.ts';
export { MeteredRunner } from './model/graphs.ts';
export { openLmRuntime, runGenerate } from './model/jobs.ts';
export type { GenerateJob, PhaseTraffic } from './model/protocol.ts';
export { lmSpec } from './transport/service.ts';
