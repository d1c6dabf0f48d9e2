// Entry point of the vae service process: `node services/vae/src/main.ts --help`.
import { defaultServiceConfig, runServiceMain } from '@acestep/runtime';
import { vaeSpec } from './transport/service.ts';

await runServiceMain(vaeSpec(), defaultServiceConfig({ port: 50053, metricsPort: 9463 }));
