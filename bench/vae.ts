// VAE speed on the tiny model set, through the service process and in-process:
// decode and encode × real time, tiled vs untiled memory peak (RSS of a child
// process per mode), and audio bytes streamed per second.
//   node bench/vae.ts [--seconds 60] [--runs 3]
import { execFileSync } from 'node:child_process';
import { launchService } from '@acestep/cli/launcher';
import { VaeService } from '@acestep/proto/vae';
import { createStageClient, parseFlags } from '@acestep/runtime';
import { decode, encode, testLatents } from '@acestep/testkit/vae-client';
import { medianMs } from './median.ts';

const flags = parseFlags(process.argv.slice(2));
const SECONDS = Number(flags.get('seconds') ?? 60);
const RUNS = Number(flags.get('runs') ?? 3);
const FRAMES = SECONDS * 25;

/** Peak RSS of a fresh VAE process that decodes once with the given tiling. */
async function peakRss(tileFrames: number): Promise<number> {
  const vae = await launchService('vae');
  const client = createStageClient(VaeService, { target: vae.address });
  let peak = 0;
  const sample = setInterval(() => {
    try {
      const status = execFileSync('cat', [`/proc/${vae.child.pid}/status`], { encoding: 'utf8' });
      const kb = Number(status.match(/VmHWM:\s+(\d+)/)?.[1] ?? 0);
      peak = Math.max(peak, kb * 1024);
    } catch {}
  }, 50);
  await decode(client, [testLatents(FRAMES)], { tileFrames });
  clearInterval(sample);
  client.close();
  await vae.stop();
  return peak;
}

const vae = await launchService('vae', { args: ['--max-tensor-bytes', String(2 ** 31 - 1)] });
const client = createStageClient(VaeService, { target: vae.address });
try {
  const latents = testLatents(FRAMES);
  const decoded = await decode(client, [latents]);
  const audio = decoded.audio[0]!;
  const decodeMs = await medianMs(() => decode(client, [latents]), RUNS);
  const encodeMs = await medianMs(() => encode(client, [audio]), RUNS);
  const audioBytes = audio.byteLength;
  console.log(`VAE on the tiny model set, ${SECONDS} s of audio, median of ${RUNS} runs after 1 warm-up`);
  console.log(
    `decode (tiles 512/64)  ${decodeMs.toFixed(0).padStart(6)} ms  ${((SECONDS * 1000) / decodeMs).toFixed(1)}x real time`,
  );
  console.log(
    `encode (30 s / 2 s)    ${encodeMs.toFixed(0).padStart(6)} ms  ${((SECONDS * 1000) / encodeMs).toFixed(1)}x real time`,
  );
  console.log(
    `decoded audio streamed ${(audioBytes / (decodeMs / 1000) / (1 << 20)).toFixed(0)} MiB/s (float32 PCM out of the service)`,
  );
} finally {
  client.close();
  await vae.stop();
}
const tiled = await peakRss(512);
const untiled = await peakRss(4096);
console.log(
  `peak RSS decoding ${SECONDS} s: tiled 512 ${(tiled / (1 << 20)).toFixed(0)} MiB, untiled ${(untiled / (1 << 20)).toFixed(0)} MiB (ratio ${(untiled / tiled).toFixed(2)})`,
);
