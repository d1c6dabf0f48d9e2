// The result's texts: generation_info (markdown, the layout of the reference's
// _build_generation_info) and status_message (docs/official-behaviour.md, "Generation info and status").
import type { LmMetadataView } from './plan.ts';

/** Wall times of one generation in milliseconds; absent or 0 = not run (the line is left out). */
export interface StageTimesMs {
  lmPhase1?: number;
  lmPhase2?: number;
  /** All LM calls together. */
  lmTotal?: number;
  /** DiT condition encoders. */
  ditEncoder?: number;
  /** DiT denoising loop. */
  ditModel?: number;
  vaeDecode?: number;
  ditOffload?: number;
  /** DiT + VAE decode: the reference's dit_total_time_cost. */
  ditTotal?: number;
  /** Encoding the audio files (mp3/wav/flac). */
  audioConversion?: number;
}

export interface GenerationInfoInput {
  /** The first LM call's metadata (the result's lm_metadata); null when the LM did not run. */
  lmMetadata: LmMetadataView | null;
  timings: StageTimesMs;
  /** formatSeedValue(seeds). */
  seedValue: string;
  inferenceSteps: number;
  audioCount: number;
}

/**
 * Python's f"{x:.2f}": round half to even on the double's exact value. JS
 * toFixed rounds exact ties up, and a double is an exact tie at the second
 * decimal only when x·8 is an odd integer (…125, …375, …625, …875).
 */
export function pyFixed2(x: number): string {
  const eighths = x * 8;
  if (Number.isInteger(eighths) && Math.abs(eighths) % 2 === 1) {
    const hundredths = x * 100; // exact: x = k/8
    const down = Math.floor(hundredths);
    const even = down % 2 === 0 ? down : down + 1;
    return (even / 100).toFixed(2);
  }
  return x.toFixed(2);
}

/** Python's f"{x:.2e}" ("1.23e-06"). */
export function pyExp2(x: number): string {
  const [mantissa, exponent = '0'] = x.toExponential(2).split('e');
  const sign = exponent.startsWith('-') ? '-' : '+';
  const digits = exponent.replace(/^[+-]/, '').padStart(2, '0');
  return `${mantissa}e${sign}${digits}`;
}

const seconds = (ms: number | undefined): number => (ms ?? 0) / 1000;

/** The generation_info markdown: average time, LM metadata, stage times, summary, total. */
export function buildGenerationInfo(input: GenerationInfoInput): string {
  const t = input.timings;
  const lmTotal = seconds(t.lmTotal);
  const ditTotal = seconds(t.ditTotal);
  const hasTimings = Object.values(t).some((v) => v !== undefined);
  const parts: string[] = [];

  const modelTotal = lmTotal + ditTotal;
  if (hasTimings && input.audioCount > 0 && modelTotal > 0) {
    const average = pyFixed2(modelTotal / input.audioCount);
    parts.push(`**🎯 Average Time per Track: ${average}s** (${input.audioCount} track(s))`);
  }

  const metadata = metadataLines(input.lmMetadata);
  if (metadata.length > 0) parts.push(['**🤖 LM-Generated Metadata:**', ...metadata].join('\n'));

  if (hasTimings) {
    const times = timeLines(t);
    if (times.length > 0) parts.push(times.join('\n'));
  }

  parts.push(
    [
      '**🎵 Generation Complete**',
      `  - **Seeds:** ${input.seedValue}`,
      `  - **Steps:** ${input.inferenceSteps}`,
      `  - **Audio Count:** ${input.audioCount} audio(s)`,
    ].join('\n'),
  );

  const pipelineTotal = lmTotal + ditTotal;
  if (pipelineTotal > 0) parts.push(`**⏱️ Total Time: ${pyFixed2(pipelineTotal)}s**`);
  return parts.join('\n\n');
}

function metadataLines(lm: LmMetadataView | null): string[] {
  if (!lm) return [];
  const lines: string[] = [];
  if (lm.bpm) lines.push(`- **BPM:** ${lm.bpm}`);
  if (lm.caption) lines.push(`- **Refined Caption:** ${lm.caption}`);
  if (lm.duration) lines.push(`- **Duration:** ${lm.duration} seconds`);
  if (lm.keyscale) lines.push(`- **Key Scale:** ${lm.keyscale}`);
  if (lm.language) lines.push(`- **Language:** ${lm.language}`);
  if (lm.timesignature) lines.push(`- **Time Signature:** ${lm.timesignature}`);
  return lines;
}

/** Section 3 of the reference, including its "\n" before the DiT and post-processing headings. */
function timeLines(t: StageTimesMs): string[] {
  const lines: string[] = [];
  const line = (label: string, ms: number | undefined) => {
    if (seconds(ms) > 0) lines.push(`  - ${label}: ${pyFixed2(seconds(ms))}s`);
  };
  if (seconds(t.lmTotal) > 0) {
    lines.push('**🧠 LM Time:**');
    line('Phase 1 (CoT)', t.lmPhase1);
    line('Phase 2 (Codes)', t.lmPhase2);
    lines.push(`  - Total: ${pyFixed2(seconds(t.lmTotal))}s`);
  }
  if (seconds(t.ditTotal) > 0) {
    lines.push('\n**🎵 DiT Time:**');
    line('Encoder', t.ditEncoder);
    line('Model', t.ditModel);
    line('VAE Decode', t.vaeDecode);
    line('Offload', t.ditOffload);
    lines.push(`  - Total: ${pyFixed2(seconds(t.ditTotal))}s`);
  }
  if (seconds(t.audioConversion) > 0) {
    lines.push('\n**🔧 Post-processing Time:**');
    line('Audio Conversion', t.audioConversion);
  }
  return lines;
}

/** One LM call's times, in milliseconds. */
export interface LmChunkTimesMs {
  phase1: number;
  phase2: number;
  total: number;
}

export interface StatusInput {
  /** One entry per LM call, in order; [] when the LM did not run. */
  lmChunks: readonly LmChunkTimesMs[];
  /** Items whose audio came out silent (RMS and peak ≤ 1e-5), with their RMS. */
  silentItems?: readonly { index: number; rms: number }[];
  /** Notes from resolveConfig (ignored settings), one line each. */
  notes?: readonly string[];
}

export const SUCCESS_STATUS = '✅ Generation completed successfully!';

/**
 * status_message of a successful generation: one line per LM call
 * ("✅ LM chunk 1: phase1_time: 1.20s, phase2_time: 3.40s, total_time: 4.60s"),
 * then the DiT's success line; a silent-output warning block goes in front and
 * our notes ("ℹ️ …") go last.
 */
export function buildStatusMessage(input: StatusInput): string {
  const lines = input.lmChunks.map(
    (c, i) =>
      `✅ LM chunk ${i + 1}: phase1_time: ${pyFixed2(c.phase1 / 1000)}s, ` +
      `phase2_time: ${pyFixed2(c.phase2 / 1000)}s, total_time: ${pyFixed2(c.total / 1000)}s`,
  );
  lines.push(SUCCESS_STATUS);
  for (const note of input.notes ?? []) lines.push(`ℹ️ ${note}`);
  let status = lines.join('\n');
  const silent = input.silentItems ?? [];
  if (silent.length > 0) {
    const warnings = silent.map(
      (s) => `Output ${s.index + 1}: silent or near-silent (RMS≈${pyExp2(s.rms)}).`,
    );
    status = `⚠️ Silent output detected:\n${warnings.join('\n')}\n\n${status}`;
  }
  return status;
}

/** status_message when the LM fails (generate_music's early return). */
export function lmFailureStatus(error: string): string {
  return `❌ LM generation failed: ${error}`;
}

/** status_message when any other stage fails. */
export function failureStatus(error: string): string {
  return `Error: ${error}`;
}
