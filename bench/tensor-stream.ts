// Tensor-stream throughput between two processes, side by side with a raw
// loopback socket in the same run. Each byte crosses loopback twice (echo).
//   node bench/tensor-stream.ts [--mib 64] [--runs 5]
import { spawn } from 'node:child_process';
import { randomFillSync } from 'node:crypto';
import net from 'node:net';
import { createInterface } from 'node:readline';
import { connectClient } from '@acestep/cli/client';
import { launchService } from '@acestep/cli/launcher';
import type { TensorChunk } from '@acestep/proto/common';
import { DiagnosticsService } from '@acestep/proto/diag';
import {
  chunksToTensors,
  createStageClient,
  parseFlags,
  type Tensor,
  tensorToChunks,
} from '@acestep/runtime';
import { medianMs } from './median.ts';

const flags = parseFlags(process.argv.slice(2));
const MIB = Number(flags.get('mib') ?? 64);
const RUNS = Number(flags.get('runs') ?? 5);

async function startRawEcho(): Promise<{ port: number; stop: () => void }> {
  const child = spawn(process.execPath, [new URL('./raw-echo-server.ts', import.meta.url).pathname], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const line = await new Promise<string>((resolve) =>
    createInterface({ input: child.stdout! }).once('line', resolve),
  );
  return { port: JSON.parse(line).port, stop: () => child.kill('SIGTERM') };
}

function rawEcho(port: number, payload: Uint8Array): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    let received = 0;
    socket.on('data', (data) => {
      received += data.byteLength;
      if (received >= payload.byteLength) {
        socket.destroy();
        resolve();
      }
    });
    socket.on('error', reject);
    // 1 MiB writes, like the tensor chunks.
    for (let offset = 0; offset < payload.byteLength; offset += 1 << 20) {
      socket.write(payload.subarray(offset, offset + (1 << 20)));
    }
  });
}

type EchoFn = (requests: AsyncIterable<{ chunk: TensorChunk }>) => AsyncIterable<{ chunk?: TensorChunk }>;

async function tensorEcho(echo: EchoFn, tensor: Tensor): Promise<void> {
  const requests = (async function* () {
    for (const chunk of tensorToChunks(tensor)) yield { chunk };
  })();
  const chunks = (async function* () {
    for await (const res of echo(requests)) if (res.chunk) yield res.chunk;
  })();
  for await (const back of chunksToTensors(chunks, { maxTensorBytes: 1 << 30 })) {
    if (back.data.byteLength !== tensor.data.byteLength) throw new Error('short echo');
  }
}

async function measure(label: string, fn: () => Promise<void>): Promise<number> {
  const seconds = (await medianMs(fn, RUNS)) / 1000;
  const mibPerSecond = MIB / seconds;
  console.log(
    `${label.padEnd(44)} median ${(seconds * 1000).toFixed(0).padStart(6)} ms  ${mibPerSecond.toFixed(0).padStart(5)} MiB/s`,
  );
  return mibPerSecond;
}

const payload = new Uint8Array(MIB << 20);
randomFillSync(payload);
const tensor: Tensor = { name: 'latents', dtype: 'float32', shape: [MIB << 18], data: payload };

const raw = await startRawEcho();
const vae = await launchService('vae', { args: ['--max-tensor-bytes', String(2 ** 31 - 1)] });
const grpcJs = createStageClient(DiagnosticsService, { target: vae.address });
const connect = connectClient(DiagnosticsService, vae.address);
try {
  console.log(`echo of ${MIB} MiB between two processes on loopback, ${RUNS} runs after 1 warm-up`);
  const rawRate = await measure('raw TCP socket (baseline)', () => rawEcho(raw.port, payload));
  const grpcRate = await measure('EchoTensors, grpc-js client -> Connect server', () =>
    tensorEcho(grpcJs.echoTensors as EchoFn, tensor),
  );
  const connectRate = await measure('EchoTensors, Connect client -> Connect server', () =>
    tensorEcho(connect.echoTensors as EchoFn, tensor),
  );
  console.log(`ratio grpc-js / raw:  ${(grpcRate / rawRate).toFixed(3)}`);
  console.log(`ratio Connect / raw:  ${(connectRate / rawRate).toFixed(3)}`);
} finally {
  grpcJs.close();
  raw.stop();
  await vae.stop();
}
