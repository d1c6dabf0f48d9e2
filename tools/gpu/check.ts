// The GPU check's driver (tools/gpu/check.sh prepares Vulkan and the model set, then runs this):
// starts the four services on one device, generates songs of the given lengths through the
// gateway with the acestep CLI (as a person would), and reports per-stage times, LM tokens/s and
// the host↔device bytes the stages count themselves (the LM's metered runs, the DiT's run stats;
// both log them at debug level) next to the peer floors of docs/benchmarks.md. See docs/gpu.md.
//   node tools/gpu/check.ts --models DIR [--device webgpu] [--seconds 60,240] [--warmup-seconds 10]
//                           [--report FILE] [--out DIR] [--gpu NAME] [--start-timeout-s 600]
import { spawn } from 'node:child_process';
import { appendFileSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { launchStack, type ServiceName, type Stack } from '@acestep/cli/launcher';
import { type DitRun, type LmTraffic, renderReport, type SongResult, songLine } from './report.ts';

const REPO = resolve(import.meta.dirname, '../..');
const CLI = join(REPO, 'packages/cli/src/main.ts');

const { values } = parseArgs({
  options: {
    models: { type: 'string' },
    device: { type: 'string', default: 'webgpu' },
    seconds: { type: 'string', default: '60,240' },
    'warmup-seconds': { type: 'string', default: '10' },
    report: { type: 'string', default: 'out/gpu-check/report.txt' },
    out: { type: 'string', default: 'out/gpu-check' },
    gpu: { type: 'string', default: 'unknown' },
    'start-timeout-s': { type: 'string', default: '600' },
  },
});
if (!values.models) throw new Error('--models DIR is required (a model set with manifest.json)');
const seconds = values.seconds.split(',').map(Number);
const warmup = Number(values['warmup-seconds']);
// The gateway's audio_duration range; a warm-up of 0 means none.
for (const s of [...seconds, ...(warmup === 0 ? [] : [warmup])])
  if (!Number.isFinite(s) || s < 10 || s > 600) throw new Error(`song length ${s}: must be 10..600 seconds`);

mkdirSync(values.out, { recursive: true });
writeFileSync(values.report, '');
const say = (line = '') => {
  process.stdout.write(`${line}\n`);
  appendFileSync(values.report, `${line}\n`);
};

/** Log records of the services, in arrival order; a song reads the ones after its start. */
const records: Array<{ service: ServiceName; record: Record<string, unknown> }> = [];
function collect(service: ServiceName, line: string): void {
  try {
    const record = JSON.parse(line) as Record<string, unknown>;
    records.push({ service, record });
    if (record.level === 'error' || record.level === 'warn') process.stderr.write(`[${service}] ${line}\n`);
  } catch {
    process.stderr.write(`[${service}] ${line}\n`); // onnxruntime/Dawn messages on stderr
  }
}

function cli(args: string[]): Promise<string> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [CLI, ...args], {
      cwd: REPO,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk;
    });
    child.once('error', fail);
    child.once('exit', (code) =>
      code === 0 ? done(stdout) : fail(new Error(`acestep ${args[0]} exited with ${code}`)),
    );
  });
}

async function song(stack: Stack, duration: number, label: string): Promise<SongResult> {
  const from = records.length;
  const dir = join(values.out, label);
  const started = performance.now();
  await cli([
    'generate',
    ...['--url', stack.gateway.address, '--out', dir, '--progress', 'none', '--audio_format', 'wav'],
    ...['--caption', 'upbeat electronic dance music with a driving bassline', '--lyrics', '[Instrumental]'],
    ...['--audio_duration', String(duration), '--use_llm_thinking', '--no-use_random_seed', '--seed', '42'],
    // Every metadata field given: the LM writes the audio codes (5 per second) and no CoT.
    ...['--bpm', '120', '--key_scale', 'C Major', '--time_signature', '4/4', '--vocal_language', 'en'],
  ]);
  const wallMs = performance.now() - started;
  const files = readdirSync(dir);
  const audio = files.find((f) => f.endsWith('.wav'));
  const sidecar = files.find((f) => f.endsWith('.json'));
  if (!audio || !sidecar) throw new Error(`${label}: no audio file and sidecar in ${dir} (${files})`);
  const timings = JSON.parse(readFileSync(join(dir, sidecar), 'utf8')).timings_ms as Record<string, number>;
  const since = records.slice(from);
  const lm = since.filter((r) => r.service === 'lm' && r.record.msg === 'lm traffic').map((r) => r.record);
  const dit = since.filter((r) => r.service === 'dit' && r.record.msg === 'batch done').map((r) => r.record);
  // The figures come from these debug records: without them the report would print zeros.
  if (lm.length === 0 || dit.length === 0)
    throw new Error(
      `${label}: no "lm traffic" (lm) or "batch done" (dit) debug record arrived; ` +
        'the services no longer log their byte counters under these names',
    );
  return {
    label,
    seconds: duration,
    wallMs,
    timings,
    audioBytes: statSync(join(dir, audio)).size,
    lm: lm.map((r) => ({ prefill: r.prefill, metadata: r.metadata, audioCodes: r.audioCodes }) as LmTraffic),
    dit: dit.map((r) => r as unknown as DitRun),
  };
}

async function providers(stack: Stack): Promise<Record<string, string>> {
  const info = JSON.parse(await cli(['info', '--url', stack.gateway.address, '--json'])) as Record<
    string,
    { info?: { device?: { device?: string; executionProviders?: string[] } } }
  >;
  return Object.fromEntries(
    Object.entries(info)
      .filter(([name]) => name !== 'gateway')
      .map(([name, i]) => [
        name,
        `${i.info?.device?.device} (${i.info?.device?.executionProviders?.join(' + ') ?? '?'})`,
      ]),
  );
}

const stageArgs = ['--model-dir', resolve(values.models), '--device', values.device, '--log-level', 'debug'];
say(`acestep GPU check: device ${values.device} on ${values.gpu}, model set ${resolve(values.models)}`);
const loadStarted = performance.now();
const stack = await launchStack({
  serviceArgs: { lm: stageArgs, dit: stageArgs, vae: stageArgs, gateway: ['--playground', 'off'] },
  startTimeoutMs: Number(values['start-timeout-s']) * 1000,
  onLog: collect,
});
try {
  say(`services serving after ${((performance.now() - loadStarted) / 1000).toFixed(1)} s (graphs opened)`);
  for (const [stage, p] of Object.entries(await providers(stack))) say(`  ${stage.padEnd(4)} ${p}`);
  const songs: SongResult[] = [];
  const labels: Array<[number, string]> = warmup > 0 ? [[warmup, `warmup-${warmup}s`]] : [];
  for (const s of seconds) labels.push([s, `song-${s}s`]);
  for (const [length, label] of labels) {
    songs.push(await song(stack, length, label));
    // One line per song as it ends: a run cut short (the lease ran out) still leaves figures.
    say(songLine(songs.at(-1)!));
  }
  for (const line of renderReport(songs)) say(line);
} finally {
  await stack.stop();
}
say(`report written to ${values.report}`);
