import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  AUDIO_CHANNELS,
  AUDIO_CODE_COUNT,
  AUDIO_CODES_PER_SECOND,
  BASE_DEFAULT_STEPS,
  HOP_SAMPLES,
  LATENT_CHANNELS,
  LATENT_FRAMES_PER_SECOND,
  SAMPLE_RATE,
  TURBO_STEPS,
} from '@acestep/acestep';

/** Contract version this package understands; a model set with another major is refused. */
export const CONTRACT_VERSION = '1.1.0';

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
  'lm_decode_top',
] as const;
export type GraphName = (typeof GRAPH_NAMES)[number];

export type TensorDtype = 'float32' | 'int64' | 'int32' | 'float64';
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
  /** Width of the condition encoder's output (= ditHidden except for the XL DiTs); since 1.1. */
  encoderHidden?: number;
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

/** Sampling families: turbo (fixed 8-step tables, no CFG), sft and base (CFG). */
export const DIT_FAMILIES = ['turbo', 'sft', 'base'] as const;
export type DitFamily = (typeof DIT_FAMILIES)[number];

/** A DiT variant and its sampling defaults (manifest.variant.ditDefaults, contract 1.1). */
export interface DitVariant {
  /** Official name: checkpoints/acestep-v15-<name> (turbo, turbo-shift3, xl-base, …). */
  name: string;
  family: DitFamily;
  size: '2B' | 'XL';
  defaultSteps: number;
  defaultShift: number;
  /** Turbo: the shifts a request is rounded to; null = any shift in shiftRange (continuous). */
  shifts: number[] | null;
  shiftRange: [number, number];
  guidance: boolean;
  defaultGuidanceScale: number | null;
  doc?: string;
}

export interface Manifest {
  contractVersion: string;
  name: string;
  /** `ditFamily`/`ditDefaults` since 1.1; 1.0 sets name only the family in `dit`. */
  variant: {
    dit: string;
    ditFamily?: DitFamily;
    ditDefaults?: DitVariant;
    lm: string;
    weights: 'random' | 'official';
  };
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
  checkVariant(m);
  checkFamilyConstants(m);
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

/** The 1.0 defaults of the three families (a 1.0 manifest names only the family). */
function legacyVariant(family: DitFamily): DitVariant {
  const turbo = family === 'turbo';
  return {
    name: family,
    family,
    size: '2B',
    defaultSteps: turbo ? TURBO_STEPS : BASE_DEFAULT_STEPS,
    defaultShift: 3,
    shifts: turbo ? [1, 2, 3] : null,
    shiftRange: [1, 5],
    guidance: !turbo,
    defaultGuidanceScale: turbo ? null : 7,
  };
}

const isFamily = (value: unknown): value is DitFamily =>
  typeof value === 'string' && (DIT_FAMILIES as readonly string[]).includes(value);

/** The set's DiT variant with its defaults (1.0 sets: the family's 1.0 defaults). */
export function ditVariant(m: Pick<Manifest, 'variant'>): DitVariant {
  const v = m.variant;
  if (v.ditDefaults) return v.ditDefaults;
  if (isFamily(v.dit)) return legacyVariant(v.dit);
  throw new ManifestError(`manifest: variant.dit ${JSON.stringify(v.dit)} has no ditDefaults`);
}

function checkVariant(m: Manifest): void {
  if (typeof m.variant !== 'object' || m.variant === null) throw new ManifestError('manifest: no variant');
  const family = m.variant.ditFamily ?? m.variant.dit;
  if (!isFamily(family)) {
    throw new ManifestError(
      `manifest: DiT family ${JSON.stringify(family)} is not one of ${DIT_FAMILIES.join(', ')}`,
    );
  }
  const d = m.variant.ditDefaults;
  if (d && (d.family !== family || !(d.defaultSteps >= 1) || !(d.defaultShift > 0))) {
    throw new ManifestError(
      'manifest: variant.ditDefaults disagrees with variant.ditFamily or is incomplete',
    );
  }
}

/**
 * The numbers the whole ACE-Step 1.5 family shares are written once in @acestep/acestep and used
 * as such by every stage; a model set that disagrees (another sample rate, hop, latent width,
 * codebook, code rate) is refused at load instead of producing wrong audio.
 */
function checkFamilyConstants(m: Manifest): void {
  const c = m.constants;
  if (typeof c !== 'object' || c === null) throw new ManifestError('manifest: no constants');
  const expected: [string, unknown, number][] = [
    ['sampleRate', c.sampleRate, SAMPLE_RATE],
    ['hop', c.hop, HOP_SAMPLES],
    ['latentRate', c.latentRate, LATENT_FRAMES_PER_SECOND],
    ['latentDim', c.latentDim, LATENT_CHANNELS],
    ['audioChannels', c.audioChannels, AUDIO_CHANNELS],
    ['codebookSize', c.codebookSize, AUDIO_CODE_COUNT],
    ['lm.codesPerSecond', c.lm?.codesPerSecond, AUDIO_CODES_PER_SECOND],
  ];
  for (const [name, value, want] of expected) {
    if (value !== want) {
      throw new ManifestError(
        `manifest: constants.${name} is ${JSON.stringify(value)}; this stack serves the ACE-Step 1.5 family (${want})`,
      );
    }
  }
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
