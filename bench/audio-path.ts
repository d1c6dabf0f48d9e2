// The audio path of a long song through the four processes: DiT latents → VAE tiles → MP3 encoded
// per item while the VAE decodes → stored object, the encoded bytes streamed to the client as
// they come. Side by side in the same run: the native `lame` CLI encoding the same PCM (the
// song's stored WAV) at the same settings (128 kbps CBR, quality 3).
//   node bench/audio-path.ts [--seconds 240] [--batch 8]
// Tiny models stand in for the DiT and the VAE; the serving path around them is the real one.
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectClient } from '@acestep/cli/client';
import { launchStack } from '@acestep/cli/launcher';
import {
  AudioFormat,
  GatewayService,
  type GenerationConfigSchema,
  type GenerationResult,
  Stage,
} from '@acestep/proto/gateway';
import { Health } from '@acestep/proto/health';
import { parseFlags } from '@acestep/runtime';
import type { MessageInitShape } from '@bufbuild/protobuf';
import { decodeAudioSource, interleaveS16 } from '../packages/audio/src/index.ts';
import { cpuSeconds, peakRssBytes, rssBytes, threadCpuSeconds } from './cpu.ts';

const flags = parseFlags(process.argv.slice(2));
const SECONDS = Number(flags.get('seconds') ?? 240);
const BATCH = Number(flags.get('batch') ?? 8);

const config = (
  audioFormat: AudioFormat,
  batchSize: number,
): MessageInitShape<typeof GenerationConfigSchema> => ({
  caption: 'bench',
  lyrics: '[Instrumental]',
  audioDuration: SECONDS,
  bpm: 120,
  keyScale: 'C major',
  timeSignature: '4/4',
  useRandomSeed: false,
  seed: 5n,
  batchSize,
  audioFormat,
});

const dataDir = await mkdtemp(join(tmpdir(), 'acestep-audio-path-'));
const stack = await launchStack({ gatewayArgs: ['--data-dir', dataDir], startTimeoutMs: 120_000 });
const gateway = connectClient(GatewayService, stack.gateway.address);
const health = connectClient(Health, stack.gateway.address);
const gatewayPid = stack.gateway.child.pid!;

interface Run {
  result: GenerationResult;
  /** performance.now() of the VAE progress event, the first encoded audio (past the header) and the result. */
  vaeAt: number;
  firstByteAt: number;
  doneAt: number;
  bytes: Map<number, Uint8Array[]>;
}

async function generate(audioFormat: AudioFormat, batchSize: number): Promise<Run> {
  let vaeAt = 0;
  let firstByteAt = 0;
  let result: GenerationResult | undefined;
  const bytes = new Map<number, Uint8Array[]>();
  for await (const res of gateway.generate({ config: config(audioFormat, batchSize), streamAudio: true })) {
    const now = performance.now();
    if (res.event.case === 'progress' && res.event.value.stage === Stage.VAE && !vaeAt) vaeAt = now;
    // The first chunk is the file's header (written before any tile); the next ones carry audio.
    if (res.event.case === 'audio' && res.event.value.offset > 0n) {
      firstByteAt ||= now;
      const { itemIndex, data } = res.event.value;
      bytes.set(itemIndex, [...(bytes.get(itemIndex) ?? []), data]);
    }
    if (res.event.case === 'result') result = res.event.value;
  }
  if (!result?.success) throw new Error(`generation failed: ${result?.error}`);
  return { result, vaeAt, firstByteAt, doneAt: performance.now(), bytes };
}

/** Health checks every 20 ms until stopped; latencies in ms. */
function probeHealth(): { stop: () => Promise<number[]> } {
  const latencies: number[] = [];
  let running = true;
  const loop = (async () => {
    while (running) {
      const t0 = performance.now();
      await health.check({ service: '' }, { timeoutMs: 5_000 });
      latencies.push(performance.now() - t0);
      await new Promise((r) => setTimeout(r, 20));
    }
  })();
  return {
    stop: async () => {
      running = false;
      await loop;
      return latencies;
    },
  };
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? 0;
}

/** The native lame CLI on the same PCM, at the gateway's settings: wall ms and CPU ms. */
async function lameReference(s16: Uint8Array): Promise<{ wallMs: number; cpuMs: number }> {
  const c0 = cpuSeconds();
  const t0 = performance.now();
  await new Promise<void>((resolve, reject) => {
    const args = ['-r', '-s', '48', '--bitwidth', '16', '--signed', '--little-endian', '-m', 'j'];
    const child = spawn(
      'lame',
      [...args, '-b', '128', '--cbr', '-q', '3', '-t', '--noreplaygain', '--quiet', '-', '-'],
      {
        stdio: ['pipe', 'ignore', 'inherit'],
      },
    );
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`lame exited ${code}`))));
    child.stdin.end(s16);
  });
  const wallMs = performance.now() - t0;
  return { wallMs, cpuMs: (cpuSeconds().children - c0.children) * 1000 };
}

const ms = (x: number) => `${x.toFixed(0)} ms`;
try {
  console.log(`audio path: ${SECONDS} s stereo song, tiny models, MP3 128 kbps q3, node ${process.version}`);
  await generate(AudioFormat.MP3, 1); // warm-up: sessions, encoder threads, first lame spawn
  // The same song as PCM: its 16-bit WAV is exactly what the MP3 encoder was fed.
  const wav = await generate(AudioFormat.WAV, 1);
  const pcm = await decodeAudioSource(Buffer.concat(wav.bytes.get(0)!));
  const s16 = interleaveS16(pcm.channels);

  const cpu0 = threadCpuSeconds(gatewayPid, 'encoder') + cpuSeconds(gatewayPid).children;
  const probe = probeHealth();
  const mp3 = await generate(AudioFormat.MP3, 1);
  const latencies = await probe.stop();
  const encodeCpuMs =
    (threadCpuSeconds(gatewayPid, 'encoder') + cpuSeconds(gatewayPid).children - cpu0) * 1000;
  const lame = await lameReference(s16);

  const afterLastTile = mp3.result.timingsMs?.encoding ?? Number.NaN;
  const total = mp3.doneAt - mp3.vaeAt;
  const firstByte = mp3.firstByteAt - mp3.vaeAt;
  console.log(`native lame CLI, same PCM, same settings: ${ms(lame.wallMs)} wall, ${ms(lame.cpuMs)} CPU`);
  console.log(
    `VAE start → stored MP3 (total):             ${ms(total)} (VAE ${ms(mp3.result.timingsMs?.vae ?? 0)})`,
  );
  console.log(
    `after the VAE's last tile → file complete:  ${ms(afterLastTile)} = ${(afterLastTile / lame.wallMs).toFixed(3)} × lame wall (target ≤ 0.1)`,
  );
  console.log(
    `encode CPU (encoder threads + lame):        ${ms(encodeCpuMs)} = ${(encodeCpuMs / lame.cpuMs).toFixed(2)} × lame CPU (target ≤ 1.2)`,
  );
  console.log(
    `first encoded audio at the client:           ${ms(firstByte)} = ${((100 * firstByte) / total).toFixed(1)} % of total (target ≤ 25 %)`,
  );
  console.log(
    `health checks during it (${latencies.length}):            p50 ${percentile(latencies, 0.5).toFixed(1)} ms, p99 ${percentile(latencies, 0.99).toFixed(1)} ms, max ${Math.max(...latencies).toFixed(1)} ms (targets p99 ≤ 50, max ≤ 100)`,
  );

  // Batch: the gateway's peak RSS above its level before (the peak mark is reset first).
  await writeFile(`/proc/${gatewayPid}/clear_refs`, '5');
  const before = rssBytes(gatewayPid);
  const batchProbe = probeHealth();
  const batch = await generate(AudioFormat.MP3, BATCH);
  const batchLatencies = await batchProbe.stop();
  const peak = peakRssBytes(gatewayPid);
  console.log(
    `batch ${BATCH} × ${SECONDS} s: ${ms(batch.doneAt - batch.vaeAt)} VAE start → stored; gateway RSS ${(before / 2 ** 20).toFixed(0)} MiB before, peak ${(peak / 2 ** 20).toFixed(0)} MiB, growth ${((peak - before) / 2 ** 20).toFixed(0)} MiB (target ≤ 143 MiB = 150 MB); health p99 ${percentile(batchLatencies, 0.99).toFixed(1)} ms, max ${Math.max(...batchLatencies).toFixed(1)} ms`,
  );
} finally {
  await stack.stop();
  await rm(dataDir, { recursive: true, force: true });
}
