// The plain data the gateway core works on: the deployment it validates
// against and the fully defaulted request (ResolvedConfig). No gRPC here.
import type { AudioFormatName, DitVariant, TaskName, TimeSignature } from '@acestep/acestep';

export interface Deployment {
  ditVariant: DitVariant;
  /** Items one request may generate on this deployment (≤ 8). */
  maxBatch: number;
  limits: {
    maxCaptionChars: number;
    maxLyricsChars: number;
    /** Longest audio this deployment generates (≤ 600 s, the model's limit). */
    maxDurationSeconds: number;
  };
  /** The DiT's default steps (its manifest, reported in its Info); unset = the variant's default. */
  defaultInferenceSteps?: number;
  /** Sequences one LM call may take (the LM's --max-batch, from its Info); unset = no limit known. */
  lmMaxBatch?: number;
}

/** Input audio: bytes uploaded with the request, or an object the gateway stored. */
export type AudioRef = { kind: 'data'; data: Uint8Array } | { kind: 'object'; objectId: string };

/**
 * A GenerationConfig with every default applied and every value checked, in
 * camelCase. "Auto" values stay explicit: `bpm: null`, `keyScale: ''`,
 * `timeSignature: ''`, `vocalLanguage: 'unknown'`, `audioDuration: null`.
 */
export interface ResolvedConfig {
  taskType: TaskName;
  caption: string;
  lyrics: string;
  /** Lyrics empty, "[inst]" or "[instrumental]". */
  instrumental: boolean;

  bpm: number | null;
  /** Canonical LM spelling ("F# minor"), '' = auto. */
  keyScale: string;
  /** '' = auto. */
  timeSignature: TimeSignature | '';
  /** Lowercase code from the LM's list; 'unknown' = auto. */
  vocalLanguage: string;
  audioDuration: number | null;

  inferenceSteps: number;
  guidanceScale: number;
  useRandomSeed: boolean;
  /** −1 = random. */
  seed: bigint;
  batchSize: number;

  useAdg: boolean;
  cfgIntervalStart: number;
  cfgIntervalEnd: number;
  audioFormat: AudioFormatName;

  referenceAudio: AudioRef | null;
  srcAudio: AudioRef | null;
  /** Parsed audio_code_string: [] = none, one list for every item, or one per item. */
  audioCodes: number[][];
  repaintingStart: number;
  /** −1 = end of the source audio. */
  repaintingEnd: number;
  audioCoverStrength: number;
  /** repaint/lego: share of steps re-injecting the source outside the range (0..1). */
  repaintInjectionRatio: number;
  /** repaint/lego: latent frames crossfaded at each range edge (0..250). */
  repaintCrossfadeFrames: number;
  /** The request's instruction, or the task's default when it was empty. */
  instruction: string;
  /** Whether the request gave its own instruction. */
  instructionGiven: boolean;

  useLlmThinking: boolean;
  lmTemperature: number;
  lmCfgScale: number;
  lmTopK: number;
  lmTopP: number;
  lmNegativePrompt: string;
  useCotMetas: boolean;
  useCotCaption: boolean;
  useCotLanguage: boolean;
  isFormatCaption: boolean;
  constrainedDecodingDebug: boolean;
  allowLmBatch: boolean;
  lmBatchChunkSize: number;

  /** Things the request asked for that this deployment or task ignores (for the status text and logs). */
  notes: string[];
}
