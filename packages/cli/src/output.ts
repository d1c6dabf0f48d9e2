// What the CLI writes: result files named by a template (`{index}-{seed}` by
// default) with a `<name>.json` sidecar beside each, progress as a bar on a
// terminal or as JSON lines for scripts, and jobs as text or JSON.
import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import {
  AudioFileSchema,
  type AudioSource,
  type GatewayService,
  type GenerationConfig,
  GenerationConfigSchema,
  type GenerationResult,
  GenerationResultSchema,
  type Job,
  JobSchema,
  JobState,
  type Progress,
  ProgressSchema,
  Stage,
} from '@acestep/proto/gateway';
import { clone, type JsonObject, toJson } from '@bufbuild/protobuf';
import type { Client } from '@connectrpc/connect';
import { UsageError } from './args.ts';

/** Spec-style JSON: snake_case names, defaults left out. */
const JSON_OPTIONS = { useProtoFieldName: true } as const;

export const PROGRESS_MODES = ['auto', 'bar', 'json', 'none'] as const;
export type ProgressMode = (typeof PROGRESS_MODES)[number];

export const STAGE_NAMES: Record<number, string> = {
  [Stage.QUEUED]: 'queued',
  [Stage.LM_METADATA]: 'LM metadata',
  [Stage.LM_AUDIO_CODES]: 'LM audio codes',
  [Stage.DIT]: 'DiT',
  [Stage.VAE]: 'VAE decode',
  [Stage.ENCODING]: 'encoding',
  [Stage.DONE]: 'done',
};

export const JOB_STATE_NAMES: Record<number, string> = {
  [JobState.UNSPECIFIED]: 'unspecified',
  [JobState.QUEUED]: 'queued',
  [JobState.RUNNING]: 'running',
  [JobState.SUCCEEDED]: 'succeeded',
  [JobState.FAILED]: 'failed',
  [JobState.CANCELLED]: 'cancelled',
};

export function progressLine(p: Progress): string {
  const name = STAGE_NAMES[p.stage] ?? 'working';
  if (p.total > 0) {
    const width = 24;
    const filled = Math.min(width, Math.round((p.step / p.total) * width));
    return `${name.padEnd(15)} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${p.step}/${p.total}`;
  }
  const queued = p.stage === Stage.QUEUED && p.queuePosition > 0 ? `position ${p.queuePosition}` : '';
  return `${name.padEnd(15)} ${p.message || queued}`;
}

/** Progress on stderr as a redrawn bar (TTY), on stdout as JSON lines, or nowhere. */
export class ProgressReporter {
  private readonly mode: Exclude<ProgressMode, 'auto'>;
  private drawn = false;

  constructor(mode: ProgressMode) {
    this.mode = mode === 'auto' ? (process.stderr.isTTY ? 'bar' : 'none') : mode;
  }

  get json(): boolean {
    return this.mode === 'json';
  }

  progress(p: Progress, extra: JsonObject = {}): void {
    if (this.mode === 'json') {
      const line = {
        event: 'progress',
        ...extra,
        ...(toJson(ProgressSchema, p, JSON_OPTIONS) as JsonObject),
      };
      process.stdout.write(`${JSON.stringify(line)}\n`);
    } else if (this.mode === 'bar') {
      process.stderr.write(`\r${progressLine(p).padEnd(60)}`);
      this.drawn = true;
    }
  }

  /** Any JSON line for scripts (results, files), only in json mode. */
  event(line: JsonObject): void {
    if (this.mode === 'json') process.stdout.write(`${JSON.stringify(line)}\n`);
  }

  end(): void {
    if (this.drawn) process.stderr.write('\n');
    this.drawn = false;
  }
}

const PLACEHOLDERS = ['index', 'seed', 'id', 'format'] as const;

/** `{index}-{seed}` → "1-1234"; unknown placeholders and path separators are refused. */
export function fileName(template: string, vars: Record<(typeof PLACEHOLDERS)[number], string>): string {
  return template.replaceAll(/\{([^}]*)\}/g, (_, name: string) => {
    if (!(PLACEHOLDERS as readonly string[]).includes(name))
      throw new UsageError(
        `--name: unknown placeholder {${name}}; allowed: ${PLACEHOLDERS.map((p) => `{${p}}`).join(' ')}`,
      );
    return vars[name as (typeof PLACEHOLDERS)[number]];
  });
}

export function checkNameTemplate(template: string): void {
  if (template === '' || template.includes('/') || template.includes('\\'))
    throw new UsageError(
      `--name="${template}" is invalid: a file name template without "/", e.g. {index}-{seed}`,
    );
  fileName(template, { index: '1', seed: '0', id: 'x', format: 'wav' });
}

/** The config as JSON for humans: uploaded bytes are replaced by their size. */
export function configJson(config: GenerationConfig | undefined): JsonObject | undefined {
  if (!config) return undefined;
  const copy = clone(GenerationConfigSchema, config);
  const sizes: JsonObject = {};
  for (const key of ['srcAudio', 'referenceAudio'] as const) {
    const source: AudioSource | undefined = copy[key];
    if (source?.source.case === 'data') {
      sizes[key === 'srcAudio' ? 'src_audio' : 'reference_audio'] = {
        uploaded_bytes: source.source.value.length,
      };
      copy[key] = undefined;
    }
  }
  return { ...(toJson(GenerationConfigSchema, copy, JSON_OPTIONS) as JsonObject), ...sizes };
}

export function jobJson(job: Job): JsonObject {
  const json = toJson(JobSchema, job, JSON_OPTIONS) as JsonObject;
  const config = configJson(job.config);
  return config ? { ...json, config } : json;
}

export interface SavedFile {
  path: string;
  sidecar: string;
}

/**
 * Downloads every file of a result into outDir as `<name>.<ext>` with a
 * `<name>.json` sidecar: the item, its seed, the LM metadata, the timings, the
 * whole result and the config. result.audio_paths become the local paths.
 */
export async function saveResult(
  client: Client<typeof GatewayService>,
  result: GenerationResult,
  config: GenerationConfig | undefined,
  options: { outDir: string; nameTemplate: string; jobId?: string },
): Promise<SavedFile[]> {
  const outDir = resolve(options.outDir);
  const names = result.audio.map((audio, i) =>
    fileName(options.nameTemplate, {
      index: String(i + 1),
      seed: String(audio.seed),
      id: audio.objectId,
      format: audio.format,
    }),
  );
  const duplicate = names.find((n, i) => names.indexOf(n) !== i);
  if (duplicate)
    throw new UsageError(
      `--name "${options.nameTemplate}" gives two files the name "${duplicate}": add {index}`,
    );
  await mkdir(outDir, { recursive: true });
  const saved: SavedFile[] = [];
  for (const [i, audio] of result.audio.entries()) {
    const chunks: Uint8Array[] = [];
    for await (const piece of client.downloadAudio({ objectId: audio.objectId })) chunks.push(piece.data);
    const path = join(outDir, `${names[i]}.${audio.format}`);
    await writeFile(path, Buffer.concat(chunks));
    result.audioPaths[i] = path;
    saved.push({ path, sidecar: join(outDir, `${names[i]}.json`) });
  }
  if (saved[0]) result.firstAudio = saved[0].path;
  if (saved[1]) result.secondAudio = saved[1].path;
  const resultJson = toJson(GenerationResultSchema, result, JSON_OPTIONS) as JsonObject;
  for (const [i, audio] of result.audio.entries()) {
    const sidecar: JsonObject = {
      file: saved[i]!.path,
      index: i + 1,
      seed: String(audio.seed),
      ...(options.jobId ? { job_id: options.jobId } : {}),
      audio: toJson(AudioFileSchema, audio, JSON_OPTIONS),
      lm_metadata: (resultJson.lm_metadata ?? null) as JsonObject | null,
      timings_ms: (resultJson.timings_ms ?? {}) as JsonObject,
      config: configJson(config) ?? null,
      result: resultJson,
    };
    await writeFile(saved[i]!.sidecar, `${JSON.stringify(sidecar, null, 2)}\n`);
  }
  return saved;
}

/** One human line per job: id, state, progress, task. */
export function jobLine(job: Job): string {
  const state = JOB_STATE_NAMES[job.state] ?? String(job.state);
  const progress =
    job.progress && job.state === JobState.RUNNING ? `  ${progressLine(job.progress).trim()}` : '';
  const error = job.result?.error ? `  error: ${job.result.error}` : '';
  const created = job.createdAt ? new Date(Number(job.createdAt.seconds) * 1000).toISOString() : '';
  const caption = job.config?.caption ? `  "${job.config.caption.slice(0, 40)}"` : '';
  return `${job.id}  ${state.padEnd(9)}  ${created}${caption}${progress}${error}`;
}
