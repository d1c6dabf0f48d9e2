export { type LogitNeeds, logitNeeds } from './needs.ts';
export { buildValueTree, type TreeNode, valueIds } from './prefix-tree.ts';
export {
  advance,
  createFsmState,
  type FsmOptions,
  type FsmStage,
  type FsmState,
  forcedToken,
  type GenerationPhase,
  isFinished,
  maskLogits,
  type UserMetadata,
} from './state.ts';
export { buildFsmTables, type FsmTableOptions, type FsmTables, forcedIds, TOKEN_CLASS } from './tables.ts';
export {
  BPM_MAX,
  BPM_MIN,
  DURATION_MAX,
  DURATION_MIN,
  FIELD_ORDER,
  type FieldName,
  MAX_CAPTION_TOKENS,
  MAX_GENRES_TOKENS,
  VALID_KEYSCALES,
  VALID_LANGUAGES,
  VALID_TIME_SIGNATURES,
} from './values.ts';
