/** Plain TypeScript core of the 5 Hz LM service: no gRPC, no onnxruntime. */
export * from './fsm/index.ts';
export {
  extractLyrics,
  formatMetadataYaml,
  type LmMetadata,
  METADATA_KEYS,
  type MetadataKey,
  parseLmOutput,
  postprocessCaption,
} from './metadata.ts';
export {
  CODES_PER_SECOND,
  codeLimit,
  hasAllMetas,
  MAX_TOKENS_MARGIN,
  targetCodesForDuration,
} from './phases.ts';
export {
  buildFormatPrompts,
  buildInspirationPrompts,
  buildPhase1Prompts,
  buildPhase2Prompts,
  buildUnderstandPrompts,
  type CfgPromptPair,
  type ChatMessage,
  type ChatRole,
  cotAssistantContent,
  DEFAULT_LM_NEGATIVE_PROMPT,
  isMeaningfulNegativePrompt,
  LM_INSTRUCTIONS,
  NO_USER_INPUT,
  renderChat,
} from './prompts.ts';
export { mulberry32, type Rng, samplerSeed } from './rng.ts';
export {
  ALL_CANDIDATES,
  applyRepetitionPenalty,
  argmax,
  type Candidates,
  type Distribution,
  mixCfg,
  type SamplingParams,
  type SortedHead,
  TokenSampler,
} from './sampling.ts';
export { DEFAULT_DECODE_PARAMS, type DecodeParams, type StepInput, selectToken } from './step.ts';
export { dumpYamlMapping, type YamlScalar } from './yaml.ts';
