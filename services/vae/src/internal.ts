// What benchmarks may use (`@acestep/vae/internal`): the service spec, to run the stage in-process.
export { vaeSpec } from './transport/service.ts';
