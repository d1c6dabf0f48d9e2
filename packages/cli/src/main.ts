#!/usr/bin/env node
import { ServiceInfoSchema } from '@acestep/proto/common';
import { GatewayService } from '@acestep/proto/gateway';
import { Health, HealthCheckResponse_ServingStatus } from '@acestep/proto/health';
import { parseFlags } from '@acestep/runtime';
// The acestep command.
//   acestep serve            start lm, dit, vae and gateway on the embedded defaults
//   acestep info [--url U]   health and Info of every service (starts them when no --url)
//   acestep generate ...     one song through all four services (starts them when no --url)
import { toJson } from '@bufbuild/protobuf';
import { Code } from '@connectrpc/connect';
import { connectClient } from './client.ts';
import { generate, printResult } from './generate.ts';
import { launchStack, type ServiceName, type Stack } from './launcher.ts';

const USAGE = `usage: acestep <command> [options]

commands:
  serve                 start the lm, dit, vae and gateway services (embedded defaults, tiny models)
                        --port N (gateway port, default 50050), --model-dir DIR
  generate              generate music: GenerationConfig fields as flags (--caption "...", --audio_duration 30,
                        --task_type cover --src_audio song.mp3, ...) and/or --config file.json (snake_case keys)
                        --out DIR (default ./acestep-output), --json, --url ADDRESS, --api-key KEY
                        (without --url the four services are started for this one generation and stopped)
  info                  print health and Info of the gateway and every stage
                        --url ADDRESS (a running gateway; without it the services are started and stopped)
                        --json (machine-readable output)
`;

async function serve(flags: Map<string, string>): Promise<void> {
  const modelArgs = flags.has('model-dir') ? ['--model-dir', flags.get('model-dir')!] : [];
  const stack = await launchStack({
    args: modelArgs,
    gatewayArgs: ['--port', flags.get('port') ?? '50050'],
    onLog: (_name, line) => process.stderr.write(`${line}\n`),
  });
  console.log(`acestep: gateway listening on ${stack.gateway.address} (Ctrl-C stops all four services)`);
  const stop = async () => {
    await stack.stop();
    process.exit(0);
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

async function serviceHealth(address: string): Promise<string> {
  try {
    const res = await connectClient(Health, address).check({ service: '' }, { timeoutMs: 5000 });
    return HealthCheckResponse_ServingStatus[res.status] ?? String(res.status);
  } catch (error) {
    return `unreachable (${(error as Error).message})`;
  }
}

async function info(flags: Map<string, string>): Promise<void> {
  let stack: Stack | undefined;
  let url = flags.get('url');
  if (!url) {
    stack = await launchStack();
    url = stack.gateway.address;
  }
  try {
    const gateway = connectClient(GatewayService, url);
    const res = await gateway.info({}, { timeoutMs: 10_000 });
    const health: Partial<Record<ServiceName, string>> = { gateway: await serviceHealth(url) };
    if (stack) {
      for (const name of ['lm', 'dit', 'vae'] as const)
        health[name] = await serviceHealth(stack[name].address);
    }
    const infos = { gateway: res.gateway, ...res.stages };
    if (flags.has('json')) {
      const json = Object.fromEntries(
        Object.entries(infos).map(([name, i]) => [
          name,
          { health: health[name as ServiceName], info: i && toJson(ServiceInfoSchema, i) },
        ]),
      );
      console.log(JSON.stringify(json, null, 2));
      return;
    }
    for (const [name, i] of Object.entries(infos)) {
      const model = i?.model?.loaded
        ? `${i.model.name} (${i.model.variant})`
        : `no model set loaded from ${i?.model?.directory}`;
      console.log(
        `${name.padEnd(8)} health=${health[name as ServiceName] ?? '(not checked)'} version=${i?.version} instance=${i?.instance} device=${i?.device?.device} model=${model}`,
      );
      for (const [k, v] of Object.entries(i?.capabilities ?? {})) console.log(`         ${k}: ${v}`);
    }
  } finally {
    await stack?.stop();
  }
}

async function generateCommand(flags: Map<string, string>): Promise<void> {
  let stack: Stack | undefined;
  let url = flags.get('url');
  if (!url) {
    process.stderr.write('starting lm, dit, vae and gateway...\n');
    stack = await launchStack();
    url = stack.gateway.address;
  }
  try {
    printResult(await generate(url, flags), flags.has('json'));
  } finally {
    await stack?.stop();
  }
}

async function main(argv: string[]): Promise<void> {
  const [command, ...rest] = argv;
  const flags = parseFlags(rest.map((a) => (a === '--json' || a === '--quiet' ? `${a}=1` : a)));
  switch (command) {
    case 'serve':
      return serve(flags);
    case 'info':
      return info(flags);
    case 'generate':
      return generateCommand(flags);
    default:
      console.log(USAGE);
      if (command && command !== 'help' && command !== '--help') process.exitCode = 2;
  }
}

try {
  await main(process.argv.slice(2));
} catch (error) {
  // A clean message for the user, not a stack trace: ConnectErrors carry the gRPC code.
  const e = error as Error & { code?: number; rawMessage?: string };
  const code = typeof e.code === 'number' ? ` [${Code[e.code] ?? e.code}]` : '';
  console.error(`acestep${code}: ${e.rawMessage ?? e.message}`);
  process.exitCode = 1;
}
