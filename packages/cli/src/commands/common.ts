// Options and helpers shared by the commands that talk to a running gateway.
import { GatewayService } from '@acestep/proto/gateway';
import type { Client } from '@connectrpc/connect';
import type { OptionSpec } from '../args.ts';
import { connectClient } from '../client.ts';

/** Where `acestep serve` puts the gateway by default. */
export const DEFAULT_URL = '127.0.0.1:50050';

export const URL_OPTION: OptionSpec = {
  type: 'string',
  value: 'HOST:PORT',
  describe: 'address of a running gateway',
  default: DEFAULT_URL,
};

export const API_KEY_OPTION: OptionSpec = {
  type: 'string',
  value: 'KEY',
  describe: 'API key sent as "authorization: Bearer KEY" (or ACESTEP_API_KEY)',
  default: '',
};

export const JSON_OPTION: OptionSpec = {
  type: 'boolean',
  describe: 'print JSON instead of text',
  default: 'false',
};

export type GatewayClient = Client<typeof GatewayService>;

/** A gateway client whose every call carries the API key, when one is given. */
export function gatewayClient(url: string, apiKey: string | undefined): GatewayClient {
  const key = apiKey || process.env.ACESTEP_API_KEY;
  return connectClient(GatewayService, url, key ? { authorization: `Bearer ${key}` } : undefined);
}
