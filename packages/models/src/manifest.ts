import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

/** Contract version this package understands; a model set with another major is refused. */
export const CONTRACT_VERSION = '1.0.0';

export const GRAPH_NAMES = [
  'vae_decoder',
  'vae_encoder',
  'text_encoder',
  'text_token_embedding',
  'condition_encoder',
  'dit_step',
  'audio_tokenizer',
  'audio_detokenizer',
  'lm_prefill',
  'lm_decode',
  'lm_decode_loop',
] as const;
export type GraphName = (typeof GRAPH_NAMES)[number];

export type TensorDtype = 'float32' | 'int64';
/** A fixed size, or a symbolic dimension name shared across tensors (e.g. 'batch'). */
export type Dim = number | string;

export interface TensorSpec {
  name: string;
  dtype: TensorDtype;
  dims: Dim[];
  doc?: string;
}

export interface GraphEntry {
  file: string;
  sha256: string;
  weights: { file: string; sha256: string } | null;
  doc: string;
  inputs: TensorSpec[];
  outputs: TensorSpec[];
}

export interface TensorFile {
  file: string;
  dtype: 'float32';
  shape: number[];
  sha256: string;
  doc: string;
}

export interface LmConstants {
  size: string;
  vocabSize: number;
  hidden: number;
  layers: number;
  kvHeads: number;
  headDim: number;
  kvLayout: string[];
  maxModelLen: number;
  audioCodeOffset: number;
  audioCodeCount: number;
  audioCodeValid: number;
  eosTokenId: number;
  padTokenId: number;
  codesPerSecond: number;
}

export interface ModelConstants {
  sampleRate: number;
  hop: number;
  latentRate: number;
  latentDim: number;
  contextDim: number;
  audioChannels: number;
  patchSize: number;
  poolWindow: number;
  fsqLevels: number[];
  codebookSize: number;
  slidingWindow: number;
  ditHidden: number;
  textHidden: number;
  textVocabSize: number;
  maxTextTokens: number;
  maxLyricTokens: number;
  minLatentFrames: number;
  minDurationSeconds: number;
  maxDurationSeconds: number;
  timbreFrames: number;
  vaeDecodeChunk: { frames: number; overlap: number };
  vaeEncodeChunk: { samples: number; overlap: number };
  /** Turbo 8-step schedules keyed by shift ('1' | '2' | '3'), without the final 0. */
  turboSchedules: Record<string, number[]>;
  validTimesteps: number[];
  lm: LmConstants;
}

export interface TokenizerEntry {
  kind: 'qwen3';
  package: string;
  note: string;
  textEncoder: { appendsEos: boolean; eosTokenId: number; padTokenId: number };
  lm: {
    addsBos: boolean;
    specialTokens: Record<string, number>;
    audioCodeTokens: { pattern: string; firstId: number; count: number; validCount: number };
  };
}

export interface Manifest {
  contractVersion: string;
  name: string;
  variant: { dit: 'turbo' | 'base' | 'sft'; lm: string; weights: 'random' | 'official' };
  opset: number;
  constants: ModelConstants;
  tokenizer: TokenizerEntry;
  tensors: { silenceLatent: TensorFile; nullConditionEmbedding: TensorFile };
  graphs: Record<GraphName, GraphEntry>;
  parity: { index: string } | null;
}

export class ManifestError extends Error {
  override name = 'ManifestError';
}

/** Reads `<dir>/manifest.json` and checks its version and that every graph is listed. */
export async function loadManifest(dir: string): Promise<Manifest> {
  const text = await readFile(join(dir, 'manifest.json'), 'utf8');
  return parseManifest(JSON.parse(text) as unknown);
}

export function parseManifest(raw: unknown): Manifest {
  if (typeof raw !== 'object' || raw === null) throw new ManifestError('manifest: not a JSON object');
  const m = raw as Manifest;
  checkVersion(m.contractVersion);
  if (typeof m.graphs !== 'object' || m.graphs === null) throw new ManifestError('manifest: no graphs');
  for (const name of GRAPH_NAMES) {
    const g = m.graphs[name];
    if (!g) throw new ManifestError(`manifest: graph ${name} is missing`);
    if (!Array.isArray(g.inputs) || !Array.isArray(g.outputs)) {
      throw new ManifestError(`manifest: graph ${name} has no inputs/outputs lists`);
    }
  }
  return m;
}

function checkVersion(version: unknown): void {
  if (typeof version !== 'string') throw new ManifestError('manifest: contractVersion is missing');
  const [major] = version.split('.');
  const [want] = CONTRACT_VERSION.split('.');
  if (major !== want) {
    throw new ManifestError(
      `manifest: contract version ${version} is not supported (this build reads ${CONTRACT_VERSION})`,
    );
  }
}
