// The GPU check's report: one row per song, figures the services measured themselves, and the
// peer floors they are compared with (docs/benchmarks.md, "GPU check").

/** One phase of the LM's metered runs (services/lm logs it as "lm traffic" at debug level). */
export interface PhaseTraffic {
  runs: number;
  bytesIn: number;
  bytesOut: number;
  tokens: number;
  runNs: number;
  hostNs: number;
}

export interface LmTraffic {
  prefill: PhaseTraffic;
  metadata: PhaseTraffic;
  audioCodes: PhaseTraffic;
}

/** One sampler run of the DiT (services/dit logs it as "batch done" at debug level). */
export interface DitRun {
  steps: number;
  totalMs: number;
  hostToDeviceBytes: number;
  deviceToHostBytes: number;
}

export interface SongResult {
  label: string;
  seconds: number;
  /** Client wall time of the generate call (CLI start to files written). */
  wallMs: number;
  /** The gateway's per-stage timings of the result (lm, dit, vae, encoding, total). */
  timings: Record<string, number>;
  audioBytes: number;
  lm: LmTraffic[];
  dit: DitRun[];
}

/** Published figures of other serving stacks on one H100 (docs/benchmarks.md, "GPU check"). */
export const PEER_FLOORS = {
  ditSecondsFor240s: 0.1,
  vaeSecondsFor240s: 0.04,
  lmTokensPerSecond: [70, 200],
} as const;

const sum = <T>(items: readonly T[], f: (item: T) => number) => items.reduce((n, i) => n + f(i), 0);
const s = (ms: number | undefined) => (ms === undefined ? '-' : (ms / 1000).toFixed(3));
const kib = (bytes: number) => (bytes / 1024).toFixed(1);

function phase(traffic: readonly LmTraffic[], name: keyof LmTraffic): PhaseTraffic {
  const parts = traffic.map((t) => t[name]);
  return {
    runs: sum(parts, (p) => p.runs),
    bytesIn: sum(parts, (p) => p.bytesIn),
    bytesOut: sum(parts, (p) => p.bytesOut),
    tokens: sum(parts, (p) => p.tokens),
    runNs: sum(parts, (p) => p.runNs),
    hostNs: sum(parts, (p) => p.hostNs),
  };
}

/** Tokens per second of a phase over its wall time (graph runs plus host work between them). */
const tokensPerSecond = (p: PhaseTraffic) => (p.tokens > 0 ? p.tokens / ((p.runNs + p.hostNs) / 1e9) : 0);

function table(rows: string[][]): string[] {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  return rows.map((r) => r.map((cell, c) => cell.padStart(widths[c]!)).join('  '));
}

/** The song's headline figures in one line, printed as soon as it ends. */
export function songLine(song: SongResult): string {
  const codes = phase(song.lm, 'audioCodes');
  const steps = Math.max(
    1,
    sum(song.dit, (r) => r.steps),
  );
  const t = song.timings;
  return (
    `${song.label}: lm ${s(t.lm)} s (${tokensPerSecond(codes).toFixed(1)} codes/s), dit ${s(t.dit)} s ` +
    `(${kib(sum(song.dit, (r) => r.hostToDeviceBytes) / steps)} KiB/step to the device), vae ${s(t.vae)} s, ` +
    `total ${s(t.total)} s`
  );
}

export function renderReport(songs: readonly SongResult[]): string[] {
  const times = [['song', 'audio s', 'wall s', 'lm s', 'dit s', 'vae s', 'encode s', 'total s', 'wav KiB']];
  const lm = [['song', 'codes', 'codes/s', 'meta tok', 'meta tok/s', 'runs', 'H→D KiB/tok', 'D→H KiB/tok']];
  const dit = [['song', 'steps', 'ms/step', 'H→D KiB/step', 'D→H KiB/step', 'H→D KiB total']];
  for (const song of songs) {
    const t = song.timings;
    times.push([
      song.label,
      String(song.seconds),
      s(song.wallMs),
      s(t.lm),
      s(t.dit),
      s(t.vae),
      s(t.encoding),
      s(t.total),
      kib(song.audioBytes),
    ]);
    const codes = phase(song.lm, 'audioCodes');
    const meta = phase(song.lm, 'metadata');
    const prefill = phase(song.lm, 'prefill');
    const tokens = Math.max(1, codes.tokens + meta.tokens);
    const all = [codes, meta, prefill];
    lm.push([
      song.label,
      String(codes.tokens),
      tokensPerSecond(codes).toFixed(1),
      String(meta.tokens),
      tokensPerSecond(meta).toFixed(1),
      String(sum(all, (p) => p.runs)),
      kib(sum(all, (p) => p.bytesIn) / tokens),
      kib(sum(all, (p) => p.bytesOut) / tokens),
    ]);
    const steps = Math.max(
      1,
      sum(song.dit, (r) => r.steps),
    );
    const up = sum(song.dit, (r) => r.hostToDeviceBytes);
    dit.push([
      song.label,
      String(sum(song.dit, (r) => r.steps)),
      (sum(song.dit, (r) => r.totalMs) / steps).toFixed(1),
      kib(up / steps),
      kib(sum(song.dit, (r) => r.deviceToHostBytes) / steps),
      kib(up),
    ]);
  }
  const floors = PEER_FLOORS;
  return [
    '',
    'per-stage times (the gateway result; wall = the CLI call, encode = WAV writing)',
    ...table(times),
    '',
    'LM (audio codes phase and CoT metadata phase; bytes into and out of every graph run, per token written)',
    ...table(lm),
    '',
    'DiT (sampler runs; bytes of host tensors fed to dit_step and of its outputs; WebGPU keeps the',
    'conditioning on the device: uploaded once per run, counted once)',
    ...table(dit),
    '',
    'VAE: each tile goes up and its audio comes down (not counted by the service)',
    '',
    `peer floors on one H100 (docs/benchmarks.md): DiT ~${floors.ditSecondsFor240s} s and VAE ` +
      `~${floors.vaeSecondsFor240s} s for a 240 s song; LM ${floors.lmTokensPerSecond.join('–')} tokens/s`,
  ];
}
