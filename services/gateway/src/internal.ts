// What benchmarks may use beyond the public service (`@acestep/gateway/internal`):
// the orchestrator run in-process against stage clients.

export { defaultGatewayConfig } from './config.ts';
export { runGeneration } from './orchestrator/generate.ts';
