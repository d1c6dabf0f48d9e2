// Entry point of the lm service process: `node services/lm/src/main.ts --help`.
import { defaultServiceConfig, runServiceMain } from '@acestep/runtime';
import { LM_OPTIONS, lmDefaults } from './config.ts';
import { lmSpec } from './transport/service.ts';

await runServiceMain(
  lmSpec(),
  lmDefaults(defaultServiceConfig({ port: 50051, metricsPort: 9461 })),
  LM_OPTIONS,
);
