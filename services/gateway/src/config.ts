// The gateway's config: the common service options plus where each stage lives.
import { defaultServiceConfig, type OptionTable, type ServiceConfig, stringOption } from '@acestep/runtime';

export interface GatewayConfig extends ServiceConfig {
  /** grpc-js targets of the stages; "dns:///name:port" balances over every replica. */
  lmTarget: string;
  ditTarget: string;
  vaeTarget: string;
}

const TARGET = /^[\w.:/,[\]-]+$/;
const ALLOWED = 'a grpc target such as 127.0.0.1:50051 or dns:///lm.acestep.svc:50051';

export const GATEWAY_OPTIONS: OptionTable<Omit<GatewayConfig, keyof ServiceConfig>> = {
  lmTarget: stringOption('lm-target', 'LM stage address', ALLOWED, TARGET),
  ditTarget: stringOption('dit-target', 'DiT stage address', ALLOWED, TARGET),
  vaeTarget: stringOption('vae-target', 'VAE stage address', ALLOWED, TARGET),
};

export function defaultGatewayConfig(): GatewayConfig {
  return {
    ...defaultServiceConfig({ port: 50050, metricsPort: 9460 }),
    lmTarget: '127.0.0.1:50051',
    ditTarget: '127.0.0.1:50052',
    vaeTarget: '127.0.0.1:50053',
  };
}
