// The DiT's config: the common service options plus the dynamic batching window.
import { defaultServiceConfig, intOption, type OptionTable, type ServiceConfig } from '@acestep/runtime';

export interface DitConfig extends ServiceConfig {
  /** How long the first waiting request waits for compatible ones before its batch starts. */
  batchWindowMs: number;
}

export const DIT_OPTIONS: OptionTable<Omit<DitConfig, keyof ServiceConfig>> = {
  batchWindowMs: intOption('batch-window-ms', 'dynamic batching wait window in ms (0 = no wait)', 0, 10_000),
};

export function defaultDitConfig(): DitConfig {
  return { ...defaultServiceConfig({ port: 50052, metricsPort: 9462 }), batchWindowMs: 5 };
}
