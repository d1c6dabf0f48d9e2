// The foundation's promises, checked against real processes over loopback:
// four services start, answer health and Info, stream tensors bit-exact,
// refuse malformed streams while staying healthy, export metrics, and shut
// down gracefully.
import assert from 'node:assert/strict';
import { randomFillSync } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { connectClient } from '@acestep/cli/client';
import { launchService, launchStack, type Stack } from '@acestep/cli/launcher';
import { DataType, type TensorChunk, TensorChunkSchema, TensorHeaderSchema } from '@acestep/proto/common';
import { DiagnosticsService } from '@acestep/proto/diag';
import { DitService } from '@acestep/proto/dit';
import { GatewayService } from '@acestep/proto/gateway';
import { Health, HealthCheckResponse_ServingStatus as ServingStatus } from '@acestep/proto/health';
import { LmService } from '@acestep/proto/lm';
import { VaeService } from '@acestep/proto/vae';
import { chunksToTensors, createStageClient, type Tensor, tensorToChunks } from '@acestep/runtime';
import { pushable } from '@acestep/testkit/pushable';
import { create } from '@bufbuild/protobuf';
import { Code, type ConnectError } from '@connectrpc/connect';

async function echo(address: string, chunks: Iterable<TensorChunk> | AsyncIterable<TensorChunk>) {
  const client = createStageClient(DiagnosticsService, { target: address });
  try {
    const requests = (async function* () {
      for await (const chunk of chunks) yield { chunk };
    })();
    const responses = (async function* () {
      for await (const res of client.echoTensors(requests)) if (res.chunk) yield res.chunk;
    })();
    const out: Tensor[] = [];
    for await (const t of chunksToTensors(responses, { maxTensorBytes: 1 << 30 })) out.push(t);
    return out;
  } finally {
    client.close();
  }
}

function malformed(header: { dtype: DataType; shape: bigint[] }, data: Uint8Array): TensorChunk[] {
  return [
    create(TensorChunkSchema, { header: create(TensorHeaderSchema, { name: 'bad', ...header }), data }),
  ];
}

async function health(address: string, service = '') {
  return (await connectClient(Health, address).check({ service }, { timeoutMs: 5000 })).status;
}

describe('four service processes', () => {
  let stack: Stack;
  before(async () => {
    stack = await launchStack();
  });
  after(async () => {
    await stack?.stop();
  });

  it('each answers grpc.health.v1 for the process and for its service', async () => {
    for (const name of ['lm', 'dit', 'vae', 'gateway'] as const) {
      assert.equal(await health(stack[name].address), ServingStatus.SERVING, name);
    }
    assert.equal(await health(stack.vae.address, VaeService.typeName), ServingStatus.SERVING);
    await assert.rejects(
      health(stack.vae.address, 'no.such.Service'),
      (e: ConnectError) => e.code === Code.NotFound,
    );
  });

  it('each stage answers Info over grpc-js, and the gateway reaches all three over gRPC', async () => {
    const clients = {
      lm: createStageClient(LmService, { target: stack.lm.address }),
      dit: createStageClient(DitService, { target: stack.dit.address }),
      vae: createStageClient(VaeService, { target: stack.vae.address }),
    };
    for (const [name, client] of Object.entries(clients)) {
      const { info } = await client.info({});
      assert.equal(info?.service, name);
      // Public Info names no host, PID or path; the metrics port's /info maps the instance id to them.
      const launched = stack[name as 'lm'];
      assert.match(info?.instance ?? '', /^[0-9a-f]{12}$/);
      assert.equal(info?.model?.directory, '');
      const operator = (await (await fetch(`http://127.0.0.1:${launched.metricsPort}/info`)).json()) as {
        instance: string;
        pid: number;
        model_dir: string;
      };
      assert.equal(operator.instance, info?.instance);
      assert.equal(operator.pid, launched.child.pid);
      assert.ok(operator.model_dir, 'the model directory is on the metrics port');
      client.close();
    }
    const res = await connectClient(GatewayService, stack.gateway.address).info({});
    assert.equal(res.gateway?.service, 'gateway');
    assert.deepEqual(Object.keys(res.stages).sort(), ['dit', 'lm', 'vae']);
    assert.match(res.stages.dit?.instance ?? '', /^[0-9a-f]{12}$/);
    assert.doesNotMatch(
      JSON.stringify(res, (_, v) => (typeof v === 'bigint' ? String(v) : v)),
      new RegExp(`${stack.dit.child.pid}|models/`),
    );
  });

  it('round-trips a 64 MiB tensor bit-exact between two processes', async () => {
    const values = new Float32Array(16 << 20);
    randomFillSync(values);
    const tensor: Tensor = {
      name: 'latents',
      dtype: 'float32',
      shape: [4, 65536, 64],
      data: new Uint8Array(values.buffer),
      itemIndex: 3,
    };
    const [back] = await echo(stack.vae.address, tensorToChunks(tensor));
    assert.ok(back);
    assert.deepEqual(back.shape, tensor.shape);
    assert.equal(back.itemIndex, 3);
    assert.equal(Buffer.compare(back.data, tensor.data), 0);
  });

  it('answers malformed chunk streams with INVALID_ARGUMENT and stays healthy', async () => {
    const cases: [string, TensorChunk[], RegExp][] = [
      [
        'wrong byte count',
        malformed({ dtype: DataType.FLOAT32, shape: [2n, 2n] }, new Uint8Array(20)),
        /holds 16/,
      ],
      [
        'unknown dtype',
        malformed({ dtype: 99 as DataType, shape: [4n] }, new Uint8Array(4)),
        /unknown dtype 99/,
      ],
      [
        'shape overflow',
        malformed({ dtype: DataType.FLOAT32, shape: [2n ** 62n, 8n] }, new Uint8Array(0)),
        /tensor limit/,
      ],
      [
        'chunk over 1 MiB',
        malformed({ dtype: DataType.UINT8, shape: [4n << 20n] }, new Uint8Array((1 << 20) + 1)),
        /1048576-byte limit/,
      ],
      [
        'truncated stream',
        malformed({ dtype: DataType.UINT8, shape: [8n] }, new Uint8Array(4)),
        /stream ended inside tensor/,
      ],
    ];
    for (const [label, chunks, message] of cases) {
      await assert.rejects(echo(stack.dit.address, chunks), (e: ConnectError) => {
        assert.equal(e.code, Code.InvalidArgument, `${label}: ${e.message}`);
        assert.match(e.rawMessage, message, label);
        return true;
      });
    }
    assert.equal(await health(stack.dit.address), ServingStatus.SERVING);
    const [ok] = await echo(
      stack.dit.address,
      tensorToChunks({ name: 'x', dtype: 'uint8', shape: [3], data: new Uint8Array([1, 2, 3]) }),
    );
    assert.deepEqual([...(ok?.data ?? [])], [1, 2, 3]);
  });

  it('exports request, latency, in-flight and queue metrics on /metrics', async () => {
    for (const name of ['lm', 'dit', 'vae', 'gateway'] as const) {
      const text = await (await fetch(`http://127.0.0.1:${stack[name].metricsPort}/metrics`)).text();
      for (const metric of [
        'acestep_rpc_requests_total',
        'acestep_rpc_duration_seconds',
        'acestep_rpc_in_flight',
        'acestep_queue_depth',
        'acestep_process_resident_memory_bytes',
      ]) {
        assert.match(text, new RegExp(`# TYPE ${metric} `), `${name} lacks ${metric}`);
      }
    }
    const vae = await (await fetch(`http://127.0.0.1:${stack.vae.metricsPort}/metrics`)).text();
    assert.match(
      vae,
      /acestep_rpc_requests_total\{method="DiagnosticsService\/EchoTensors",code="OK",service="vae"\} [1-9]/,
    );
    assert.match(vae, /acestep_tensor_bytes_total\{direction="in",service="vae"\} 6710886[4-9]/);
  });

  it('shuts all four down cleanly on SIGTERM within the grace period', async () => {
    const started = Date.now();
    const exits = await stack.stop();
    for (const [name, exit] of Object.entries(exits)) assert.deepEqual(exit, { code: 0, signal: null }, name);
    assert.ok(Date.now() - started < 30_000);
  });
});

describe('graceful shutdown of a stage', () => {
  const chunks = () => [
    ...tensorToChunks({
      name: 'latents',
      dtype: 'uint8',
      shape: [3 << 20],
      data: new Uint8Array(3 << 20).fill(7),
    }),
  ];

  it('finishes a call in flight at SIGTERM, refuses new ones, then exits 0', async () => {
    const vae = await launchService('vae', { args: ['--shutdown-grace-ms', '20000'] });
    const requests = pushable<TensorChunk>({ objectMode: true });
    const [first, ...rest] = chunks();
    requests.push(first!);
    const result = echo(vae.address, requests);
    await new Promise((r) => setTimeout(r, 300));
    vae.child.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 300));
    await assert.rejects(health(vae.address));
    for (const chunk of rest) requests.push(chunk);
    requests.end();
    const [back] = await result;
    assert.equal(back?.data.byteLength, 3 << 20);
    assert.deepEqual(await vae.exited, { code: 0, signal: null });
  });

  it('cancels calls still running when the grace period ends, then exits 0', async () => {
    const dit = await launchService('dit', { args: ['--shutdown-grace-ms', '300'] });
    const requests = pushable<TensorChunk>({ objectMode: true });
    requests.push(chunks()[0]!);
    const result = echo(dit.address, requests);
    await new Promise((r) => setTimeout(r, 300));
    const stopping = Date.now();
    dit.child.kill('SIGTERM');
    await assert.rejects(result, (e: ConnectError) => [Code.Unavailable, Code.Canceled].includes(e.code));
    assert.deepEqual(await dit.exited, { code: 0, signal: null });
    assert.ok(Date.now() - stopping < 10_000);
    requests.end();
  });

  it('refuses to start with an invalid configuration, naming the option', async () => {
    await assert.rejects(
      launchService('lm', { args: ['--device', 'gpu'] }),
      /--device="gpu" is invalid: where graphs run must be "cpu", "cuda:N" or "webgpu\[:N\]"/,
    );
  });
});

describe('connection age', () => {
  it('sends GOAWAY to connections past the max age; calls in flight finish and new calls reconnect', async () => {
    const logs: string[] = [];
    const lm = await launchService('lm', {
      args: ['--max-connection-age-ms', '400', '--log-level', 'debug'],
      onLog: (_name, line) => logs.push(line),
    });
    const client = createStageClient(LmService, { target: lm.address });
    try {
      const requests = pushable<TensorChunk>({ objectMode: true });
      const [first, ...rest] = [
        ...tensorToChunks({
          name: 'x',
          dtype: 'uint8',
          shape: [2 << 20],
          data: new Uint8Array(2 << 20).fill(3),
        }),
      ];
      requests.push(first!);
      const inFlight = echo(lm.address, requests);
      for (let i = 0; i < 4; i++) {
        assert.equal((await client.info({})).info?.service, 'lm');
        await new Promise((r) => setTimeout(r, 300));
      }
      for (const chunk of rest) requests.push(chunk);
      requests.end();
      assert.equal((await inFlight)[0]?.data.byteLength, 2 << 20);
      assert.ok(
        logs.some((l) => l.includes('max age: GOAWAY')),
        'a connection was aged out',
      );
    } finally {
      client.close();
      await lm.stop();
    }
  });
});
