// Entry point of the lm service process: `node services/lm/src/main.ts --help`.
import { defaultServiceConfig, runServiceMain } from '@acestep/runtime';
import { lmSpec } from './service.ts';

await runServiceMain(lmSpec, defaultServiceConfig({ port: 50051, metricsPort: 9461 }));
