// gRPC server reflection on every service, checked with a reflection client
// from npm (grpc-js-reflection-client, over @grpc/grpc-js): it lists every
// service of each process (v1 and v1alpha), resolves their descriptors, and a
// call built only from the reflected descriptor works — what grpcurl does.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { launchStack, type Stack } from '@acestep/cli/launcher';
import * as grpc from '@grpc/grpc-js';
import { GrpcReflection } from 'grpc-js-reflection-client';

const COMMON = [
  'acestep.diag.v1.DiagnosticsService',
  'grpc.health.v1.Health',
  'grpc.reflection.v1.ServerReflection',
  'grpc.reflection.v1alpha.ServerReflection',
];
const OWN = {
  lm: 'acestep.lm.v1.LmService',
  dit: 'acestep.dit.v1.DitService',
  vae: 'acestep.vae.v1.VaeService',
  gateway: 'acestep.v1.GatewayService',
} as const;

describe('server reflection', () => {
  let stack: Stack;
  before(async () => {
    stack = await launchStack({ startTimeoutMs: 120_000 });
  });
  after(async () => {
    await stack?.stop();
  });

  it('lists every service of every process, in v1 and v1alpha, with their methods', async () => {
    for (const name of ['lm', 'dit', 'vae', 'gateway'] as const) {
      for (const version of ['v1', 'v1alpha']) {
        const client = new GrpcReflection(
          stack[name].address,
          grpc.credentials.createInsecure(),
          {},
          version,
        );
        const services = await client.listServices();
        assert.deepEqual(services.sort(), [...COMMON, OWN[name]].sort(), `${name} (${version})`);
        const methods = (await client.listMethods(OWN[name])).map((m) => m.name);
        assert.ok(methods.includes('Info'), `${name} lists its methods: ${methods.join(', ')}`);
      }
    }
  });

  it('a call built only from the reflected descriptor works', async () => {
    const reflection = new GrpcReflection(stack.gateway.address, grpc.credentials.createInsecure());
    const descriptor = await reflection.getDescriptorBySymbol(OWN.gateway);
    const pkg = descriptor.getPackageObject({ keepCase: true, longs: String, defaults: true }) as unknown as {
      acestep: { v1: { GatewayService: grpc.ServiceClientConstructor } };
    };
    const client = new pkg.acestep.v1.GatewayService(
      stack.gateway.address,
      grpc.credentials.createInsecure(),
    );
    try {
      const info = await new Promise<{ gateway: { service: string }; stages: Record<string, unknown> }>(
        (resolve, reject) =>
          client.Info!({}, (error: grpc.ServiceError | null, res: never) =>
            error ? reject(error) : resolve(res),
          ),
      );
      assert.equal(info.gateway.service, 'gateway');
      // protobufjs (inside the client library) turns a reflected map into its entries.
      const stages = Array.isArray(info.stages)
        ? (info.stages as { key: string }[]).map((entry) => entry.key)
        : Object.keys(info.stages);
      assert.deepEqual(stages.sort(), ['dit', 'lm', 'vae']);
      const missing = await reflection.getDescriptorBySymbol('acestep.v1.NoSuchThing').catch((e: Error) => e);
      assert.ok(missing instanceof Error);
    } finally {
      client.close();
    }
  });
});
