// `acestep info`: health and Info of the gateway and every stage (starts the
// services for the call when there is no --url).
import { ServiceInfoSchema } from '@acestep/proto/common';
import { Health, HealthCheckResponse_ServingStatus } from '@acestep/proto/health';
import { toJson } from '@bufbuild/protobuf';
import { type CommandSpec, type ParsedCommand, stringValue } from '../args.ts';
import { connectClient } from '../client.ts';
import { launchStack, type ServiceName, type Stack } from '../launcher.ts';
import { API_KEY_OPTION, gatewayClient, JSON_OPTION, URL_OPTION } from './common.ts';

export const INFO: CommandSpec = {
  name: 'info',
  summary: 'Print health and Info of the gateway and every stage.',
  options: {
    url: { ...URL_OPTION, default: '', describe: 'address of a running gateway (none: start the services)' },
    'api-key': API_KEY_OPTION,
    json: JSON_OPTION,
  },
};

async function serviceHealth(address: string): Promise<string> {
  try {
    const res = await connectClient(Health, address).check({ service: '' }, { timeoutMs: 5000 });
    return HealthCheckResponse_ServingStatus[res.status] ?? String(res.status);
  } catch (error) {
    return `unreachable (${(error as Error).message})`;
  }
}

export async function infoCommand(parsed: ParsedCommand): Promise<void> {
  let stack: Stack | undefined;
  let url = stringValue(INFO, parsed, 'url');
  if (!url) {
    stack = await launchStack();
    url = stack.gateway.address;
  }
  try {
    const res = await gatewayClient(url, stringValue(INFO, parsed, 'api-key')).info(
      {},
      { timeoutMs: 10_000 },
    );
    const health: Partial<Record<ServiceName, string>> = { gateway: await serviceHealth(url) };
    if (stack) {
      for (const name of ['lm', 'dit', 'vae'] as const)
        health[name] = await serviceHealth(stack[name].address);
    }
    const infos = { gateway: res.gateway, ...res.stages };
    if (parsed.values.json) {
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
        : "no model set loaded (its directory: the metrics port's /info)";
      console.log(
        `${name.padEnd(8)} health=${health[name as ServiceName] ?? '(not checked)'} version=${i?.version} instance=${i?.instance} device=${i?.device?.device} model=${model}`,
      );
      for (const [k, v] of Object.entries(i?.capabilities ?? {})) console.log(`         ${k}: ${v}`);
    }
  } finally {
    await stack?.stop();
  }
}
