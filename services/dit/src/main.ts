// Entry point of the dit service process: `node services/dit/src/main.ts --help`.
import { defaultServiceConfig, runServiceMain } from '@acestep/runtime';
import { ditSpec } from './service.ts';

await runServiceMain(ditSpec, defaultServiceConfig({ port: 50052, metricsPort: 9462 }));
