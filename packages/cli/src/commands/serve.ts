// `acestep serve`: the four services as four processes on this machine until
// Ctrl-C. The stages listen on free loopback ports (only the gateway talks to
// them); every metrics port is fixed so a scraper can be pointed at it.
import { type CommandSpec, intValue, oneOf, type ParsedCommand, stringValue } from '../args.ts';
import { launchStack, type ServiceName } from '../launcher.ts';

export const SERVE: CommandSpec = {
  name: 'serve',
  summary: 'Start the lm, dit, vae and gateway services until Ctrl-C (embedded job queue unless --nats-url).',
  options: {
    host: { type: 'string', value: 'HOST', describe: 'interface the gateway binds', default: '127.0.0.1' },
    port: {
      type: 'string',
      value: 'N',
      describe: 'gateway port (gRPC, gRPC-Web, Connect)',
      default: '50050',
    },
    'metrics-port': {
      type: 'string',
      value: 'N',
      describe: 'metrics port of the gateway; lm, dit and vae get the next three',
      default: '9460',
    },
    device: {
      type: 'string',
      value: 'DEVICE',
      describe: 'where the stages run graphs: cpu or cuda:N',
      default: 'cpu',
    },
    'model-dir': { type: 'string', value: 'DIR', describe: 'model set directory', default: 'models/tiny' },
    'api-key': {
      type: 'string',
      value: 'KEY',
      describe: 'require "authorization: Bearer KEY" on every public call',
      default: '',
    },
    'nats-url': { type: 'string', value: 'URL', describe: 'NATS server for durable jobs', default: '' },
    playground: { type: 'string', value: 'on|off', describe: 'serve the web playground at /', default: 'on' },
    'data-dir': {
      type: 'string',
      value: 'DIR',
      describe:
        'where the embedded job queue keeps its job database, results and uploads (empty = $XDG_DATA_HOME/acestep/gateway)',
      default: '',
    },
  },
  notes: 'Every service also reads its ACESTEP_* variables (node services/<name>/src/main.ts --help).',
};

const STAGES = ['lm', 'dit', 'vae'] as const;

/** `--flag value` pairs for the options the user set. */
function passThrough(parsed: ParsedCommand, names: string[]): string[] {
  return names.flatMap((name) => {
    const value = parsed.values[name];
    return typeof value === 'string' && value !== '' ? [`--${name}`, value] : [];
  });
}

export async function serveCommand(parsed: ParsedCommand): Promise<void> {
  const port = intValue('port', stringValue(SERVE, parsed, 'port'), 0, 65535);
  const metricsPort = intValue('metrics-port', stringValue(SERVE, parsed, 'metrics-port'), 1, 65532);
  const host = stringValue(SERVE, parsed, 'host');
  const playground = oneOf('playground', stringValue(SERVE, parsed, 'playground'), ['on', 'off'] as const);
  const metricsPorts: Record<ServiceName, number> = {
    gateway: metricsPort,
    lm: metricsPort + 1,
    dit: metricsPort + 2,
    vae: metricsPort + 3,
  };
  const stageArgs = passThrough(parsed, ['device', 'model-dir']);
  const stack = await launchStack({
    serviceArgs: {
      lm: [...stageArgs, '--metrics-port', String(metricsPorts.lm)],
      dit: [...stageArgs, '--metrics-port', String(metricsPorts.dit)],
      vae: [...stageArgs, '--metrics-port', String(metricsPorts.vae)],
      gateway: [
        ...passThrough(parsed, ['host', 'api-key', 'nats-url', 'data-dir', 'playground']),
        '--port',
        String(port),
        '--metrics-port',
        String(metricsPorts.gateway),
      ],
    },
    // Jobs outlive this command: the gateway keeps its own (or the given) data directory.
    ephemeralData: false,
    onLog: (_name, line) => process.stderr.write(`${line}\n`),
  });
  const gatewayAddress = `${host}:${stack.gateway.port}`;
  const metrics = (['gateway', ...STAGES] as const)
    .map((name) => `${name} :${stack[name].metricsPort}`)
    .join(' ');
  const stages = STAGES.map((name) => `${name} ${stack[name].address}`).join(', ');
  const page = playground === 'on' ? ` | playground http://${gatewayAddress}/` : '';
  console.log(
    `acestep: gateway ${gatewayAddress} (gRPC, gRPC-Web, Connect)${page} | metrics ${metrics} (/metrics) | stages ${stages} | Ctrl-C stops all four`,
  );
  const stop = async () => {
    await stack.stop();
    process.exit(0);
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}
