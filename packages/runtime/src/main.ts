// The shared entry point of every service process: parse config, start, and
// turn SIGTERM/SIGINT into a graceful shutdown. Config errors exit with code 2
// and a message naming each bad option.
import {
  ConfigError,
  describeOptions,
  loadConfig,
  type OptionTable,
  SERVICE_OPTIONS,
  type ServiceConfig,
} from './config.ts';
import { type RunningService, type ServiceSpec, startService } from './server.ts';
import { startTracing } from './tracing.ts';

/** Runs a service whose config is the common one, or a superset with extra options. */
export async function runServiceMain<C extends ServiceConfig>(
  spec: ServiceSpec<C>,
  defaults: C,
  extraOptions?: OptionTable<Omit<C, keyof ServiceConfig>>,
): Promise<RunningService<C> | undefined> {
  const options = { ...SERVICE_OPTIONS, ...extraOptions } as OptionTable<C>;
  process.env.ORT_DISABLE_TELEMETRY = '1';
  if (process.argv.includes('--help')) {
    console.log(
      `usage: ${spec.name} [options]\n\noptions (flag, environment variable):\n${describeOptions(options)}`,
    );
    return undefined;
  }
  let config: C;
  try {
    config = loadConfig(options, defaults);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    console.error(`${spec.name}: ${error.message}`);
    process.exitCode = 2;
    return undefined;
  }
  const tracing = config.otlpEndpoint
    ? startTracing({ service: spec.name, endpoint: config.otlpEndpoint })
    : undefined;
  const service = await startService(spec, config);
  if (tracing) service.context.logger.info('tracing on', { otlpEndpoint: config.otlpEndpoint });
  const onSignal = (signal: NodeJS.Signals) => {
    service
      .shutdown(signal)
      .then(() => tracing?.shutdown())
      .then(
        () => process.exit(0),
        (error) => {
          service.context.logger.error('shutdown failed', { error });
          process.exit(1);
        },
      );
  };
  process.once('SIGTERM', onSignal);
  process.once('SIGINT', onSignal);
  return service;
}
