// The engine's jobs, run inside the worker thread that owns the graphs: Generate (phase 1 with the
// FSM, phase 2 with the K-step loop), and the single-sequence understand / format / create flows.
import { formatAudioCodes } from '@acestep/acestep';
import { type Device, type GraphName, type ModelSet, openModelSet } from '@acestep/models';
import { loadQwen3Tokenizer, type Qwen3Tokenizer } from '@acestep/tokenizer';
import {
  buildFormatPrompts,
  buildFsmTables,
  buildInspirationPrompts,
  buildPhase1Prompts,
  buildPhase2Prompts,
  buildUnderstandPrompts,
  createFsmState,
  extractLyrics,
  type FsmTables,
  formatMetadataYaml,
  hasAllMetas,
  type LmMetadata,
  mulberry32,
  parseLmOutput,
  samplerSeed,
  TokenSampler,
  targetCodesForDuration,
  type UserMetadata,
} from '../core/index.ts';
import { Batcher } from './batcher.ts';
import { MeteredRunner } from './graphs.ts';
import type { JobHandle, PromptRows } from './members.ts';
import type {
  CreateJob,
  EngineEvent,
  EngineInfo,
  EngineJob,
  FormatJob,
  GenerateJob,
  UnderstandJob,
} from './protocol.ts';

export const LM_GRAPHS: readonly GraphName[] = ['lm_decode', 'lm_decode_loop', 'lm_decode_top'];

export interface EngineOptions {
  device?: Device;
  intraOpThreads?: number;
  /** Caption cap of the FSM (core default 512). */
  maxCaptionTokens?: number;
  /** Cap on the free text after `</think>` (lyrics) in understand / format / create. */
  maxLyricsTokens?: number;
  /** KV-cache budget of the running batches in bytes (admission waits beyond it). */
  kvCacheBytes?: number;
  /**
   * Host-sampled steps through `lm_decode_top` (heads, default) or always through `lm_decode`
   * (whole logits rows: the reference path the heads must reproduce; tests and diagnosis).
   */
  hostLogits?: 'heads' | 'rows';
}

/** Default KV budget: 1 GiB (the tiny model needs KiBs; a real one ~448 KiB per position and pair). */
export const DEFAULT_KV_CACHE_BYTES = 2 ** 30;

export interface LmRuntime {
  modelSet: ModelSet;
  tokenizer: Qwen3Tokenizer;
  tables: FsmTables;
  sampler: TokenSampler;
  options: EngineOptions;
  /** The continuous batcher every job decodes through. */
  batcher: Batcher;
  /** Engine-wide traffic (all jobs), counted by the batcher's calls. */
  runner: MeteredRunner;
}

/** Opens the two LM graphs in this thread (the prompt runs through lm_decode with an empty past). */
export async function openLmRuntime(dir: string, options: EngineOptions = {}): Promise<LmRuntime> {
  const modelSet = await openModelSet(dir, {
    worker: false,
    graphs: LM_GRAPHS,
    device: options.device ?? 'cpu',
    ...(options.intraOpThreads ? { intraOpThreads: options.intraOpThreads } : {}),
  });
  const tokenizer = await loadQwen3Tokenizer();
  const tables = buildFsmTables(tokenizer, { maxDuration: modelSet.manifest.constants.maxDurationSeconds });
  const sampler = new TokenSampler(tokenizer.vocabSize);
  const runner = new MeteredRunner();
  const batcher = new Batcher(
    {
      lm: modelSet.manifest.constants.lm,
      decode: modelSet.session('lm_decode'),
      loop: modelSet.session('lm_decode_loop'),
      top: modelSet.session('lm_decode_top'),
      runner,
      sampler,
      wholeRows: options.hostLogits === 'rows',
    },
    options.kvCacheBytes ?? DEFAULT_KV_CACHE_BYTES,
  );
  return { modelSet, tokenizer, tables, sampler, options, batcher, runner };
}

export function engineInfo(rt: LmRuntime): EngineInfo {
  const { manifest, dir } = rt.modelSet;
  const lm = manifest.constants.lm;
  return {
    name: manifest.name,
    variant: manifest.variant.lm,
    contractVersion: manifest.contractVersion,
    dir,
    graphs: [...LM_GRAPHS],
    constants: {
      vocab_size: String(lm.vocabSize),
      layers: String(lm.layers),
      kv_heads: String(lm.kvHeads),
      head_dim: String(lm.headDim),
      max_model_len: String(lm.maxModelLen),
      audio_code_offset: String(lm.audioCodeOffset),
      audio_code_valid: String(lm.audioCodeValid),
      eos_token_id: String(lm.eosTokenId),
      codes_per_second: String(lm.codesPerSecond),
      max_duration_seconds: String(manifest.constants.maxDurationSeconds),
    },
  };
}

type Emit = (event: EngineEvent) => void;

function jobHandle(runner: MeteredRunner): JobHandle {
  return { traffic: runner.traffic, cancel: runner.cancelFlag };
}

function encodePair(rt: LmRuntime, pair: { cond: string; uncond: string }): PromptRows {
  return { cond: rt.tokenizer.encode(pair.cond), uncond: rt.tokenizer.encode(pair.uncond) };
}

/** Phase 1 is capped well above what the FSM writes (caption cap + the other fields). */
function phase1MaxTokens(rt: LmRuntime): number {
  return (rt.options.maxCaptionTokens ?? 512) + 256;
}

/** The metadata of a sequence that skips phase 1: the user's values as they are. */
function userMetadataAsLm(meta: UserMetadata): LmMetadata {
  const out: LmMetadata = {};
  for (const key of ['bpm', 'duration', 'keyscale', 'language', 'timesignature'] as const) {
    if (meta[key] !== undefined) out[key] = meta[key] as never;
  }
  return out;
}

export async function runGenerate(rt: LmRuntime, job: GenerateJob, emit: Emit, runner: MeteredRunner) {
  const started = process.hrtime.bigint();
  const job_ = jobHandle(runner);
  const metadata: LmMetadata[] = job.sequences.map((s) => userMetadataAsLm(s.userMetadata));
  const rngs = job.sequences.map((s) => mulberry32(samplerSeed(s.seed)));
  const phase1 = job.sequences.flatMap((s, i) =>
    job.useCotMetas && !hasAllMetas(s.userMetadata) ? [i] : [],
  );
  for (const [i] of job.sequences.entries()) {
    if (!phase1.includes(i)) emit({ type: 'metadata', index: i, metadata: metadata[i]!, cotText: '' });
  }
  if (phase1.length > 0) {
    const prompts = phase1.map((i) => {
      const s = job.sequences[i]!;
      return encodePair(rt, buildPhase1Prompts(s.caption, s.lyrics, job.negativePrompt));
    });
    const fsms = phase1.map((i) =>
      createFsmState(rt.tables, {
        phase: 'cot',
        stopAtReasoning: true,
        userMetadata: job.sequences[i]!.userMetadata,
        skipCaption: !job.useCotCaption,
        skipLanguage: !job.useCotLanguage,
        ...(rt.options.maxCaptionTokens ? { maxCaptionTokens: rt.options.maxCaptionTokens } : {}),
      }),
    );
    runner.throwIfCancelled();
    await rt.batcher.decodeWithFsm(
      job_,
      prompts,
      fsms,
      phase1.map((i) => rngs[i]!),
      {
        params: job.params,
        maxTokens: phase1MaxTokens(rt),
        onFinished: (k, ids) => {
          const index = phase1[k]!;
          const cotText = rt.tokenizer.decode(ids);
          metadata[index] = parseLmOutput(cotText).metadata;
          emit({ type: 'metadata', index, metadata: metadata[index]!, cotText });
        },
        onProgress: (tokens) => emit({ type: 'progress', phase: 'metadata', tokens, totalTokens: 0 }),
      },
    );
  }
  if (job.generateAudioCodes) {
    const prompts = job.sequences.map((s, i) =>
      encodePair(
        rt,
        buildPhase2Prompts(s.caption, s.lyrics, formatMetadataYaml(metadata[i]!), job.negativePrompt),
      ),
    );
    // The user's duration sets the code count (docs/official-behaviour.md "LM phases"); without one the model decides when to
    // stop, within the official cap (core `codeLimit`). The CoT's duration never sets it.
    const targets = job.sequences.map((s) => targetCodesForDuration(s.durationSeconds));
    const total = targets.reduce<number>((a, t) => a + (t ?? 0), 0);
    runner.throwIfCancelled();
    await rt.batcher.decodeCodes(job_, prompts, rngs, {
      params: job.params,
      targets,
      stepsPerCall: job.codesChunkSize,
      onCodes: (index, codes, offset) => emit({ type: 'codes', index, codes, offset }),
      onProgress: (tokens) => emit({ type: 'progress', phase: 'audio_codes', tokens, totalTokens: total }),
    });
  }
  const t = runner.traffic;
  emit({
    type: 'done',
    seeds: job.sequences.map((s) => s.seed),
    generatedTokens: t.metadata.tokens + t.audio_codes.tokens,
    computeNs: Number(process.hrtime.bigint() - started),
    traffic: t,
  });
}

const THINK_END = 151668;

/** understand / format / create: one sequence, CoT with every field (genres too), then free lyrics. */
async function runSample(
  rt: LmRuntime,
  prompt: { cond: string; uncond: string },
  opts: { userMetadata: UserMetadata; skipLanguage: boolean; seed: bigint; params: GenerateJob['params'] },
  runner: MeteredRunner,
): Promise<{ metadata: LmMetadata; text: string }> {
  const fsm = createFsmState(rt.tables, {
    phase: 'understand',
    skipGenres: false,
    skipLanguage: opts.skipLanguage,
    userMetadata: opts.userMetadata,
    ...(rt.options.maxCaptionTokens ? { maxCaptionTokens: rt.options.maxCaptionTokens } : {}),
  });
  const maxLyrics = rt.options.maxLyricsTokens ?? 2048;
  let text = '';
  await rt.batcher.decodeWithFsm(
    jobHandle(runner),
    [encodePair(rt, prompt)],
    [fsm],
    [mulberry32(samplerSeed(opts.seed))],
    {
      params: opts.params,
      maxTokens: phase1MaxTokens(rt) + 128 + maxLyrics,
      onFinished: (_i, ids) => {
        text = rt.tokenizer.decode(ids);
      },
      stopWhen: (_i, _fsm, ids) => {
        const end = ids.lastIndexOf(THINK_END);
        return end >= 0 && ids.length - end - 1 >= maxLyrics;
      },
    },
  );
  return { metadata: parseLmOutput(text).metadata, text };
}

function doneEvent(started: bigint, seed: bigint, runner: MeteredRunner): EngineEvent {
  return {
    type: 'done',
    seeds: [seed],
    generatedTokens: runner.traffic.metadata.tokens,
    computeNs: Number(process.hrtime.bigint() - started),
    traffic: runner.traffic,
  };
}

export async function runUnderstand(rt: LmRuntime, job: UnderstandJob, emit: Emit, runner: MeteredRunner) {
  const started = process.hrtime.bigint();
  const prompt = buildUnderstandPrompts(formatAudioCodes(job.audioCodes), job.negativePrompt);
  const { metadata, text } = await runSample(
    rt,
    prompt,
    { userMetadata: {}, skipLanguage: false, seed: job.seed, params: job.params },
    runner,
  );
  emit({ type: 'sample', metadata, lyrics: extractLyrics(text), cotText: text });
  emit(doneEvent(started, job.seed, runner));
}

export async function runFormat(rt: LmRuntime, job: FormatJob, emit: Emit, runner: MeteredRunner) {
  const started = process.hrtime.bigint();
  // A given language skips the language field rather than being injected (official behaviour, "LM phases").
  const { language, ...userMetadata } = job.userMetadata;
  const { metadata, text } = await runSample(
    rt,
    buildFormatPrompts(job.caption, job.lyrics, job.negativePrompt),
    { userMetadata, skipLanguage: language !== undefined, seed: job.seed, params: job.params },
    runner,
  );
  emit({ type: 'sample', metadata, lyrics: extractLyrics(text) || job.lyrics, cotText: text });
  emit(doneEvent(started, job.seed, runner));
}

export async function runCreate(rt: LmRuntime, job: CreateJob, emit: Emit, runner: MeteredRunner) {
  const started = process.hrtime.bigint();
  const language = job.vocalLanguage.trim();
  const userMetadata: UserMetadata = language && language !== 'unknown' ? { language } : {};
  const { metadata, text } = await runSample(
    rt,
    buildInspirationPrompts(job.query, job.instrumental, job.negativePrompt),
    { userMetadata, skipLanguage: false, seed: job.seed, params: job.params },
    runner,
  );
  const lyrics = extractLyrics(text) || (job.instrumental ? '[Instrumental]' : '');
  emit({ type: 'sample', metadata, lyrics, cotText: text });
  emit(doneEvent(started, job.seed, runner));
}

export function runJob(rt: LmRuntime, job: EngineJob, emit: Emit, runner: MeteredRunner): Promise<void> {
  switch (job.kind) {
    case 'generate':
      return runGenerate(rt, job, emit, runner);
    case 'understand':
      return runUnderstand(rt, job, emit, runner);
    case 'format':
      return runFormat(rt, job, emit, runner);
    case 'create':
      return runCreate(rt, job, emit, runner);
  }
}
