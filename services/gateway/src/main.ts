// Entry point of the gateway process: `node services/gateway/src/main.ts --help`.
import { runServiceMain } from '@acestep/runtime';
import { defaultGatewayConfig, GATEWAY_OPTIONS } from './config.ts';
import { gatewaySpec } from './transport/service.ts';

await runServiceMain(gatewaySpec(), defaultGatewayConfig(), GATEWAY_OPTIONS);
