// Entry point of the dit service process: `node services/dit/src/main.ts --help`.
import { runServiceMain } from '@acestep/runtime';
import { DIT_OPTIONS, defaultDitConfig } from './config.ts';
import { ditSpec } from './transport/service.ts';

await runServiceMain(ditSpec(), defaultDitConfig(), DIT_OPTIONS);
