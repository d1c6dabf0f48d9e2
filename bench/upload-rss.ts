// Gateway memory while a 200 MB WAV is uploaded: the process's RSS sampled
// every 10 ms during the upload vs its idle RSS, for the three ways in (raw
// HTTP PUT, multipart POST, gRPC UploadAudio in 1 MiB messages). Uploads
// stream to the store, so the peak should stay far below the file size
// (target: < 2 × idle + 64 MB).
//   node bench/upload-rss.ts [--mb 200]
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectClient } from '@acestep/cli/client';
import { launchService } from '@acestep/cli/launcher';
import { GatewayService } from '@acestep/proto/gateway';
import { parseFlags } from '@acestep/runtime';

const flags = parseFlags(process.argv.slice(2));
const MB = Number(flags.get('mb') ?? 200);

/** A 32-bit float stereo 48 kHz WAV of about `mb` MB (a quiet sine), written in 1 MiB pieces. */
async function writeWav(path: string, mb: number): Promise<number> {
  const frames = Math.floor((mb * 1e6 - 44) / 8);
  const dataBytes = frames * 8;
  const header = Buffer.alloc(44);
  header.write('RIFF', 0);
  header.writeUInt32LE(36 + dataBytes, 4);
  header.write('WAVEfmt ', 8);
  header.writeUInt32LE(16, 16);
  header.writeUInt16LE(3, 20);
  header.writeUInt16LE(2, 22);
  header.writeUInt32LE(48_000, 24);
  header.writeUInt32LE(48_000 * 8, 28);
  header.writeUInt16LE(8, 32);
  header.writeUInt16LE(32, 34);
  header.write('data', 36);
  header.writeUInt32LE(dataBytes, 40);
  const out = createWriteStream(path);
  out.write(header);
  const block = Buffer.alloc(1 << 20);
  for (let i = 0; i < block.byteLength / 4; i++) block.writeFloatLE(0.1 * Math.sin(i / 20), i * 4);
  for (let left = dataBytes; left > 0; left -= block.byteLength) {
    if (!out.write(block.subarray(0, Math.min(left, block.byteLength)))) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');
  return 44 + dataBytes;
}

async function rssMb(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024;
}

/** Runs `upload` while sampling the gateway's RSS; returns the peak in MB and the seconds taken. */
async function measure(
  pid: number,
  upload: () => Promise<unknown>,
): Promise<{ peak: number; seconds: number }> {
  let peak = 0;
  let running = true;
  const sampler = (async () => {
    while (running) {
      peak = Math.max(peak, await rssMb(pid));
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  })();
  const started = performance.now();
  await upload();
  const seconds = (performance.now() - started) / 1000;
  running = false;
  await sampler;
  return { peak, seconds };
}

function curl(args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('curl', ['-sS', '-f', ...args]);
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
    });
    child.on('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`curl exited ${code}`))));
  });
}

const dir = await mkdtemp(join(tmpdir(), 'acestep-upload-rss-'));
try {
  const file = join(dir, 'big.wav');
  const size = await writeWav(file, MB);
  const gateway = await launchService('gateway', {
    args: ['--max-upload-bytes', String(size + 1024), '--data-dir', join(dir, 'data')],
  });
  const pid = gateway.child.pid!;
  try {
    await new Promise((resolve) => setTimeout(resolve, 2000));
    const idle = await rssMb(pid);
    const url = `http://${gateway.address}/v1/objects`;
    const client = connectClient(GatewayService, gateway.address);
    const ways: [string, () => Promise<unknown>][] = [
      ['HTTP PUT (raw body)', () => curl(['-T', file, url])],
      ['HTTP POST multipart', () => curl(['-F', `file=@${file}`, url])],
      [
        'gRPC UploadAudio (1 MiB messages)',
        () =>
          client.uploadAudio(
            (async function* () {
              for await (const chunk of createReadStream(file, { highWaterMark: 1 << 20 }))
                yield { data: chunk as Buffer };
            })(),
          ),
      ],
    ];
    console.log(
      `file ${(size / 1e6).toFixed(1)} MB; gateway idle RSS ${idle.toFixed(0)} MB; target peak < ${(2 * idle + 64).toFixed(0)} MB`,
    );
    console.log('| way in | peak RSS (MB) | peak / idle | MB/s |');
    console.log('| --- | --- | --- | --- |');
    for (const [name, upload] of ways) {
      const { peak, seconds } = await measure(pid, upload);
      console.log(
        `| ${name} | ${peak.toFixed(0)} | ${(peak / idle).toFixed(2)} | ${(size / 1e6 / seconds).toFixed(0)} |`,
      );
    }
  } finally {
    await gateway.stop();
  }
} finally {
  await rm(dir, { recursive: true, force: true });
}
