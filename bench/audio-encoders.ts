// Output encoders side by side on one long song (default 240 s, 48 kHz stereo), fed in VAE-sized
// tiles (384 latent frames = 737 280 samples), at the official server's MP3 settings (128 kbps CBR,
// LAME quality 3). Wall time and CPU time (this process's threads + reaped children) per encode.
//   node bench/audio-encoders.ts [--seconds 240] [--runs 3]
// The reference row is the native `lame` CLI fed the whole song as 16-bit PCM on a pipe.
import { spawn, spawnSync } from 'node:child_process';
import { parseArgs } from 'node:util';
import { tonesAndNoise } from '@acestep/testkit/audio-signals';
import {
  EncoderPool,
  interleaveS16,
  lameCliAvailable,
  openStreamEncoder,
  type StreamEncodeSpec,
} from '../packages/audio/src/index.ts';
import { cpuSeconds } from './cpu.ts';

const { values } = parseArgs({
  options: { runs: { type: 'string', default: '3' }, seconds: { type: 'string', default: '240' } },
});
const runs = Number(values.runs);
const seconds = Number(values.seconds);
const SR = 48_000;
const TILE = 384 * 1920;

const pcm = tonesAndNoise(SR, seconds);
const frames = pcm.channels[0]!.length;

/** Runs a command with `input` on stdin, discarding stdout; resolves when it exits 0. */
function pipeThrough(command: string, args: string[], input: Uint8Array): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'ignore'] });
    let bytes = 0;
    child.stdout.on('data', (b: Buffer) => {
      bytes += b.length;
    });
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0 ? resolve(bytes) : reject(new Error(`${command} exited ${code}`)),
    );
    child.stdin.end(input);
  });
}

const LAME_ARGS = ['-r', '-s', '48', '--bitwidth', '16', '--signed', '--little-endian', '-m', 'j'];
const s16 = interleaveS16(pcm.channels);
const f32 = (() => {
  const out = new Float32Array(frames * 2);
  for (let i = 0; i < frames; i++) {
    out[2 * i] = pcm.channels[0]![i]!;
    out[2 * i + 1] = pcm.channels[1]![i]!;
  }
  return new Uint8Array(out.buffer);
})();

async function streamOne(
  spec: Omit<StreamEncodeSpec, 'sampleRate' | 'channels' | 'frames'>,
  pool?: EncoderPool,
) {
  const full = { ...spec, sampleRate: SR, channels: 2, frames };
  let bytes = 0;
  const onData = (b: Uint8Array) => {
    bytes += b.length;
  };
  const encoder = pool ? await pool.open(full, onData) : await openStreamEncoder(full, onData);
  for (let at = 0; at < frames; at += TILE) {
    // Fresh arrays per tile, as tiles arrive from the VAE (the pool moves them to its thread).
    await encoder.write(pcm.channels.map((ch) => ch.slice(at, Math.min(frames, at + TILE))));
  }
  await encoder.end();
  return bytes;
}

interface Row {
  label: string;
  wallMs: number;
  cpuMs: number;
}

/** Median wall and CPU over `runs` after one warm-up. */
async function measure(label: string, fn: () => Promise<unknown>): Promise<Row> {
  await fn();
  const walls: number[] = [];
  const cpus: number[] = [];
  for (let i = 0; i < runs; i++) {
    const c0 = cpuSeconds();
    const t0 = performance.now();
    await fn();
    walls.push(performance.now() - t0);
    const c1 = cpuSeconds();
    cpus.push((c1.self - c0.self + c1.children - c0.children) * 1000);
  }
  const median = (xs: number[]) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  return { label, wallMs: median(walls), cpuMs: median(cpus) };
}

const rows: Row[] = [];
const haveLame = lameCliAvailable();
if (haveLame) {
  rows.push(
    await measure('mp3: lame CLI, whole song on a pipe (reference)', () =>
      pipeThrough(
        'lame',
        [...LAME_ARGS, '-b', '128', '--cbr', '-q', '3', '-t', '--noreplaygain', '--quiet', '-', '-'],
        s16,
      ),
    ),
  );
}
if (spawnSync('ffmpeg', ['-version'], { stdio: 'ignore' }).status === 0) {
  const ffmpeg = ['-v', 'error', '-f', 'f32le', '-ar', '48000', '-ac', '2', '-i', 'pipe:0'];
  rows.push(
    await measure('mp3: ffmpeg CLI (libmp3lame), f32 on a pipe', () =>
      pipeThrough('ffmpeg', [...ffmpeg, '-c:a', 'libmp3lame', '-b:a', '128k', '-f', 'mp3', 'pipe:1'], f32),
    ),
  );
}
if (haveLame)
  rows.push(
    await measure('mp3: stream encoder, lame CLI, tiles', () =>
      streamOne({ format: 'mp3', mp3Encoder: 'lame' }),
    ),
  );
rows.push(
  await measure('mp3: stream encoder, wasm LAME, tiles', () =>
    streamOne({ format: 'mp3', mp3Encoder: 'wasm' }),
  ),
);
rows.push(await measure('flac16: stream encoder, tiles', () => streamOne({ format: 'flac' })));
rows.push(await measure('wav16: stream encoder, tiles', () => streamOne({ format: 'wav16' })));

const pool = new EncoderPool({ size: 2 });
try {
  for (const mp3Encoder of haveLame ? (['lame', 'wasm'] as const) : (['wasm'] as const)) {
    rows.push(
      await measure(`mp3 ${mp3Encoder}: 2 items, pool of 2 threads`, () =>
        Promise.all([
          streamOne({ format: 'mp3', mp3Encoder }, pool),
          streamOne({ format: 'mp3', mp3Encoder }, pool),
        ]),
      ),
    );
  }
  rows.push(
    await measure('flac16: 2 items, pool of 2 threads', () =>
      Promise.all([streamOne({ format: 'flac' }, pool), streamOne({ format: 'flac' }, pool)]),
    ),
  );
} finally {
  await pool.close();
}

const reference = rows[0]!;
console.log(
  `output encoders: ${seconds} s of 48 kHz stereo, median of ${runs} runs, node ${process.version}`,
);
console.log(
  `${'encoder'.padEnd(50)} ${'wall ms'.padStart(8)} ${'×RT'.padStart(5)} ${'CPU ms'.padStart(8)} ${'CPU ÷ lame'.padStart(10)}`,
);
for (const r of rows) {
  const rt = ((seconds * 1000) / r.wallMs).toFixed(0);
  const ratio = (r.cpuMs / reference.cpuMs).toFixed(2);
  console.log(
    `${r.label.padEnd(50)} ${r.wallMs.toFixed(0).padStart(8)} ${rt.padStart(5)} ${r.cpuMs.toFixed(0).padStart(8)} ${ratio.padStart(10)}`,
  );
}
