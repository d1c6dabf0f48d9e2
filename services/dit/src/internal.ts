// What benchmarks may use beyond the core (`@acestep/dit/internal`): the
// service spec and its defaults, and the model layer run in-process.
export { defaultDitConfig } from './config.ts';
export { DitEngine } from './model/engine.ts';
export { loadDit } from './model/model.ts';
export { type GenerateRequest, planRequest, prepareJob, runJobs } from './model/pipeline.ts';
export { ditSpec } from './transport/service.ts';
