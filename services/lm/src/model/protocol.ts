// What crosses between the service's main thread and the engine's worker thread: jobs in,
// events out. Plain data only (structured clone); the channel's cancel flag is shared memory, so a
// cancel lands even while the worker is inside a graph run.
import type { Method } from '@acestep/runtime/worker-channel';
import type { DecodeParams, LmMetadata, UserMetadata } from '../core/index.ts';

export interface SequenceJob {
  caption: string;
  lyrics: string;
  /** Values forced verbatim into phase 1 (core `UserMetadata`). */
  userMetadata: UserMetadata;
  /** The seed used (0 .. 2^63 - 1), reported back; the sampler is keyed by samplerSeed(seed). */
  seed: bigint;
  /** The user's duration in seconds: phase 2 writes exactly int(duration × 5) codes. */
  durationSeconds?: number | undefined;
}

export interface GenerateJob {
  kind: 'generate';
  sequences: SequenceJob[];
  params: DecodeParams;
  negativePrompt: string;
  generateAudioCodes: boolean;
  useCotMetas: boolean;
  useCotCaption: boolean;
  useCotLanguage: boolean;
  /** Codes per lm_decode_loop call (= per streamed chunk). */
  codesChunkSize: number;
}

export interface UnderstandJob {
  kind: 'understand';
  audioCodes: number[];
  params: DecodeParams;
  negativePrompt: string;
  seed: bigint;
}

export interface FormatJob {
  kind: 'format';
  caption: string;
  lyrics: string;
  userMetadata: UserMetadata;
  params: DecodeParams;
  negativePrompt: string;
  seed: bigint;
}

export interface CreateJob {
  kind: 'create';
  query: string;
  instrumental: boolean;
  vocalLanguage: string;
  params: DecodeParams;
  negativePrompt: string;
  seed: bigint;
}

export type EngineJob = GenerateJob | UnderstandJob | FormatJob | CreateJob;

/** Bytes given to and returned by run() and the tokens they produced, per phase. */
export interface PhaseTraffic {
  runs: number;
  bytesIn: number;
  bytesOut: number;
  tokens: number;
  /** Sum over runs of the past length P (cache positions sent as `past_kv`). */
  pastPositions: number;
  /** Wall time inside run(), and on the host between runs (sampling, FSM, CFG, cache appends). */
  runNs: number;
  hostNs: number;
}

export type Phase = 'prefill' | 'metadata' | 'audio_codes';

export type Traffic = Record<Phase, PhaseTraffic>;

export type EngineEvent =
  | { type: 'metadata'; index: number; metadata: LmMetadata; cotText: string }
  | { type: 'codes'; index: number; codes: number[]; offset: number }
  | { type: 'progress'; phase: 'metadata' | 'audio_codes'; tokens: number; totalTokens: number }
  | { type: 'sample'; metadata: LmMetadata; lyrics: string; cotText: string }
  | { type: 'done'; seeds: bigint[]; generatedTokens: number; computeNs: number; traffic: Traffic };

/** Engine-wide counters and gauges (continuous batcher), sent to the main thread for /metrics. */
export interface EngineStats {
  /** Tokens written since start: metadata (phase 1 and single-turn calls) and audio codes. */
  tokens: Record<'metadata' | 'audio_codes', number>;
  /** Batch steps (graph calls) since start, and the rows they carried in total. */
  steps: Record<'metadata' | 'audio_codes', number>;
  rows: Record<'metadata' | 'audio_codes', number>;
  /** Rows in each running batch now (a CFG pair is 2 rows). */
  batchRows: Record<'metadata' | 'audio_codes', number>;
  /** Bytes of the running batches' KV caches now, and the budget. */
  kvBytes: number;
  kvBudgetBytes: number;
  /** Sequences waiting for KV budget, and sequences in a running batch. */
  waiting: number;
  running: number;
}

export interface EngineInfo {
  name: string;
  variant: string;
  contractVersion: string;
  dir: string;
  graphs: string[];
  constants: Record<string, string>;
}

/** The engine thread's channel (`@acestep/runtime/worker-channel`): one method, `run`, whose events
 * are the job's; batching stats come as notices about once a second. */
export interface LmProtocol {
  ready: EngineInfo;
  methods: { run: Method<EngineJob, void, EngineEvent> };
  notice: EngineStats;
}

/** How a failed job crosses the thread (plus name and message). */
export interface EngineErrorFlags {
  cancelled: boolean;
  invalid: boolean;
  /** The KV budget refused it (RESOURCE_EXHAUSTED). */
  exhausted: boolean;
}
