/**
 * The constrained-decoding state machine of the 5 Hz LM (docs/official-behaviour.md "Constrained decoding"), over real token ids.
 *
 * Per step: `maskLogits(state, logits)` sets every disallowed logit to −Infinity in place and
 * returns the candidate set for the sampler; then `advance(state, tokenId)` with the sampled id.
 * Call them strictly alternately: maskLogits may itself move the state (end of a caption, the
 * greedy first language token), exactly like the official processor does in `__call__`.
 */
import type { Candidates } from '../sampling.ts';
import type { TreeNode } from './prefix-tree.ts';
import { type FsmTables, TOKEN_CLASS } from './tables.ts';
import { FIELD_ORDER, type FieldName, MAX_CAPTION_TOKENS, MAX_GENRES_TOKENS } from './values.ts';

export type GenerationPhase = 'cot' | 'codes' | 'understand';

export type UserMetadata = Partial<Record<FieldName, string | number>>;

export interface FsmOptions {
  /** `cot`: Phase 1; `codes`: Phase 2 (the prompt already holds the CoT); `understand`: CoT then free text. */
  readonly phase: GenerationPhase;
  readonly skipCaption?: boolean;
  readonly skipLanguage?: boolean;
  /** Default true (the generation flow); understand/inspire/format set false. */
  readonly skipGenres?: boolean;
  /** Phase 1: write EOS where `</think>` would go and stop. */
  readonly stopAtReasoning?: boolean;
  /** Values forced verbatim as `" {value}\n"` when their field is reached (not validated, as upstream). */
  readonly userMetadata?: UserMetadata;
  /** Code phase: exactly this many codes, then EOS (int(duration × 5)); undefined lets the model stop. */
  readonly targetCodes?: number;
  readonly maxCaptionTokens?: number;
  readonly maxGenresTokens?: number;
}

export type FsmStage =
  | 'THINK_TAG'
  | 'NEWLINE_AFTER_THINK'
  | 'FIELD_NAME'
  | 'FIELD_VALUE'
  | 'THINK_END_TAG'
  | 'CODES_GENERATION'
  | 'COMPLETED';

export interface FsmState {
  readonly tables: FsmTables;
  readonly fields: readonly FieldName[];
  readonly options: Readonly<Required<Omit<FsmOptions, 'userMetadata' | 'targetCodes'>>> & {
    readonly userMetadata: UserMetadata;
    readonly targetCodes: number | undefined;
  };
  stage: FsmStage;
  /** Index into `fields` while in FIELD_NAME / FIELD_VALUE. */
  fieldIndex: number;
  /** Position in a forced id sequence (field name or injected user value). */
  forcedPos: number;
  /** Ids injected for a user-given value (`" {value}\n"`), when the current field has one. */
  injection: readonly number[] | undefined;
  /** Position in the current value's prefix tree. */
  node: TreeNode | undefined;
  valueTokens: number;
  lastEndedWithNewline: boolean;
  codesCount: number;
  /** Set once EOS has been sampled or the phase is over. */
  finished: boolean;
}

function activeFields(o: FsmOptions): FieldName[] {
  return FIELD_ORDER.filter(
    (f) =>
      !(f === 'caption' && o.skipCaption) &&
      !(f === 'language' && o.skipLanguage) &&
      !(f === 'genres' && (o.skipGenres ?? true)),
  );
}

export function createFsmState(tables: FsmTables, options: FsmOptions): FsmState {
  if (
    options.targetCodes !== undefined &&
    !(Number.isInteger(options.targetCodes) && options.targetCodes >= 0)
  ) {
    throw new RangeError(`targetCodes ${options.targetCodes} must be a non-negative integer`);
  }
  return {
    tables,
    fields: activeFields(options),
    options: {
      phase: options.phase,
      skipCaption: options.skipCaption ?? false,
      skipLanguage: options.skipLanguage ?? false,
      skipGenres: options.skipGenres ?? true,
      stopAtReasoning: options.stopAtReasoning ?? false,
      userMetadata: options.userMetadata ?? {},
      targetCodes: options.targetCodes,
      maxCaptionTokens: options.maxCaptionTokens ?? MAX_CAPTION_TOKENS,
      maxGenresTokens: options.maxGenresTokens ?? MAX_GENRES_TOKENS,
    },
    // Phase-2 prompts end with `</think>\n\n<|im_end|>\n`: the official processor finds `</think>` in
    // the prompt and jumps straight to code generation; we start there.
    stage: options.phase === 'codes' ? 'CODES_GENERATION' : 'THINK_TAG',
    fieldIndex: 0,
    forcedPos: 0,
    injection: undefined,
    node: undefined,
    valueTokens: 0,
    lastEndedWithNewline: false,
    codesCount: 0,
    finished: false,
  };
}

export function isFinished(state: FsmState): boolean {
  return state.finished;
}

// ---------------------------------------------------------------- masking helpers

/** Keeps only `ids` (ascending) finite. */
function keepOnly(logits: Float32Array, ids: readonly number[]): Candidates {
  const saved = ids.map((id) => logits[id]!);
  logits.fill(Number.NEGATIVE_INFINITY);
  for (let i = 0; i < ids.length; i++) logits[ids[i]!] = saved[i]!;
  return { kind: 'ids', ids };
}

function force(logits: Float32Array, id: number): Candidates {
  return keepOnly(logits, [id]);
}

/** Free text: no added tokens (EOS, tags, codes) and none of the banned pieces. */
function maskFreeText(t: FsmTables, logits: Float32Array, extraBans?: Int32Array): Candidates {
  logits.fill(Number.NEGATIVE_INFINITY, t.firstAddedId);
  for (const id of t.freeTextBannedIds) logits[id] = Number.NEGATIVE_INFINITY;
  if (extraBans) for (const id of extraBans) logits[id] = Number.NEGATIVE_INFINITY;
  return { kind: 'range', lo: 0, hi: t.firstAddedId };
}

function argmaxOf(logits: Float32Array, ids: readonly number[]): number {
  let best = ids[0]!;
  for (const id of ids) if (logits[id]! > logits[best]!) best = id;
  return best;
}

function argmaxAll(logits: Float32Array): number {
  let best = 0;
  for (let id = 1; id < logits.length; id++) if (logits[id]! > logits[best]!) best = id;
  return best;
}

// ---------------------------------------------------------------- transitions

function enterField(state: FsmState, index: number): void {
  state.forcedPos = 0;
  state.injection = undefined;
  state.node = undefined;
  state.valueTokens = 0;
  state.lastEndedWithNewline = false;
  if (index >= state.fields.length) {
    state.stage = 'THINK_END_TAG';
    return;
  }
  state.stage = 'FIELD_NAME';
  state.fieldIndex = index;
}

function enterValue(state: FsmState): void {
  const field = state.fields[state.fieldIndex]!;
  state.stage = 'FIELD_VALUE';
  state.forcedPos = 0;
  state.valueTokens = 0;
  state.lastEndedWithNewline = false;
  const user = state.options.userMetadata[field];
  state.injection = user === undefined || user === null ? undefined : state.tables.encode(` ${user}\n`);
  state.node = field === 'caption' || field === 'genres' ? undefined : state.tables.trees[field];
}

function finishCot(state: FsmState): void {
  if (state.options.phase === 'understand') state.stage = 'COMPLETED';
  else state.stage = 'CODES_GENERATION';
}

// ---------------------------------------------------------------- forced tokens

/**
 * The one token the FSM allows next when that choice needs no logits (tags, field names, injected
 * user values, single-branch tree nodes, EOS at the code target), else undefined. Callers may skip
 * CFG mixing and sampling for it; `advance` must still be called with it.
 */
export function forcedToken(state: FsmState): number | undefined {
  const t = state.tables;
  switch (state.stage) {
    case 'THINK_TAG':
      return t.thinkId;
    case 'NEWLINE_AFTER_THINK':
      return t.newlineId;
    case 'FIELD_NAME':
      return t.fieldNameIds[state.fields[state.fieldIndex]!][state.forcedPos];
    case 'THINK_END_TAG':
      return state.options.stopAtReasoning ? t.eosId : t.thinkEndId;
    case 'CODES_GENERATION': {
      const target = state.options.targetCodes;
      return target !== undefined && state.codesCount >= target ? t.eosId : undefined;
    }
    case 'COMPLETED':
      return undefined;
    case 'FIELD_VALUE':
      return forcedValueToken(state);
  }
}

function forcedValueToken(state: FsmState): number | undefined {
  const t = state.tables;
  if (state.injection) return state.injection[state.forcedPos];
  const field = state.fields[state.fieldIndex]!;
  if (field === 'caption') {
    return state.valueTokens >= state.options.maxCaptionTokens && !state.lastEndedWithNewline
      ? t.newlineId
      : undefined;
  }
  if (field === 'genres') return state.valueTokens >= state.options.maxGenresTokens ? t.newlineId : undefined;
  const node = state.node;
  if (!node || node.allowed.length === 0) return t.newlineId;
  return node.allowed.length === 1 ? node.allowed[0] : undefined;
}

// ---------------------------------------------------------------- maskLogits

/**
 * Masks `logits` (one row over the full vocabulary, already CFG-mixed) in place to the tokens the
 * FSM allows next, and returns them as sampler candidates.
 */
export function maskLogits(state: FsmState, logits: Float32Array): Candidates {
  const t = state.tables;
  switch (state.stage) {
    case 'THINK_TAG':
      return force(logits, t.thinkId);
    case 'NEWLINE_AFTER_THINK':
      return force(logits, t.newlineId);
    case 'FIELD_NAME':
      return force(logits, t.fieldNameIds[state.fields[state.fieldIndex]!][state.forcedPos]!);
    case 'FIELD_VALUE':
      return maskValue(state, logits);
    case 'THINK_END_TAG':
      return force(logits, state.options.stopAtReasoning ? t.eosId : t.thinkEndId);
    case 'CODES_GENERATION':
      return maskCodes(state, logits);
    case 'COMPLETED':
      // Understand phase: free lyrics, but never audio codes (official audio_code_mask).
      if (state.options.phase === 'understand') logits.fill(Number.NEGATIVE_INFINITY, t.codeLo);
      return state.options.phase === 'understand' ? { kind: 'range', lo: 0, hi: t.codeLo } : { kind: 'all' };
  }
}

function maskCodes(state: FsmState, logits: Float32Array): Candidates {
  const t = state.tables;
  const target = state.options.targetCodes;
  if (target !== undefined && state.codesCount >= target) return force(logits, t.eosId);
  const eosAllowed = target === undefined;
  const eos = logits[t.eosId]!;
  logits.fill(Number.NEGATIVE_INFINITY, 0, t.codeLo);
  logits.fill(Number.NEGATIVE_INFINITY, t.codeHi);
  if (eosAllowed) {
    logits[t.eosId] = eos;
    return { kind: 'range', lo: t.codeLo, hi: t.codeHi, extra: t.eosId };
  }
  return { kind: 'range', lo: t.codeLo, hi: t.codeHi };
}

function maskValue(state: FsmState, logits: Float32Array): Candidates {
  const t = state.tables;
  if (state.injection) return force(logits, state.injection[state.forcedPos]!);
  const field = state.fields[state.fieldIndex]!;
  if (field === 'caption') return maskCaption(state, logits);
  if (field === 'genres') return maskGenres(state, logits);
  const node = state.node;
  // Off the tree (only after a caller ignored the mask): end the field, as the Rust port does.
  if (!node || node.allowed.length === 0) return force(logits, t.newlineId);
  if (field === 'language' && node === t.trees.language) {
    // Official: the first language token is the greedy argmax among all codes' first tokens.
    return force(logits, argmaxOf(logits, node.allowed));
  }
  return keepOnly(logits, node.allowed);
}

function maskCaption(state: FsmState, logits: Float32Array): Candidates {
  const t = state.tables;
  if (state.lastEndedWithNewline) {
    // After a newline the caption goes on only if the model's top token is indented (a YAML
    // continuation). Otherwise the caption is over; unlike upstream, which then lets the model write
    // any field name freely, we continue with the next field in order (no skipped fields, no garbage).
    const top = argmaxAll(logits);
    if (
      (t.tokenClass[top]! & TOKEN_CLASS.startsIndented) === 0 ||
      state.valueTokens >= state.options.maxCaptionTokens
    ) {
      enterField(state, state.fieldIndex + 1);
      return maskLogits(state, logits);
    }
    return keepOnly(logits, t.indentedIds);
  }
  if (state.valueTokens === 0) return keepOnly(logits, t.captionStartIds);
  if (state.valueTokens >= state.options.maxCaptionTokens) return force(logits, t.newlineId);
  return maskFreeText(t, logits);
}

function maskGenres(state: FsmState, logits: Float32Array): Candidates {
  const t = state.tables;
  if (state.valueTokens >= state.options.maxGenresTokens) return force(logits, t.newlineId);
  const hasContent = state.valueTokens > 0;
  // Official fallback without genres_vocab.txt: end when P(\n) beats every other token.
  if (hasContent) {
    const nl = logits[t.newlineId]!;
    let otherMax = Number.NEGATIVE_INFINITY;
    for (let id = 0; id < logits.length; id++)
      if (id !== t.newlineId && logits[id]! > otherMax) otherMax = logits[id]!;
    if (nl > otherMax) return force(logits, t.newlineId);
  }
  const nl = logits[t.newlineId]!;
  const candidates = maskFreeText(t, logits, t.newlineBearingIds);
  logits[t.newlineId] = hasContent ? nl : Number.NEGATIVE_INFINITY;
  return candidates;
}

// ---------------------------------------------------------------- advance

/** Moves the state past the sampled token. */
export function advance(state: FsmState, tokenId: number): void {
  const t = state.tables;
  if (tokenId === t.eosId) {
    state.finished = true;
    state.stage = 'COMPLETED';
    return;
  }
  switch (state.stage) {
    case 'THINK_TAG':
      state.stage = 'NEWLINE_AFTER_THINK';
      return;
    case 'NEWLINE_AFTER_THINK':
      enterField(state, 0);
      return;
    case 'FIELD_NAME': {
      state.forcedPos++;
      if (state.forcedPos >= t.fieldNameIds[state.fields[state.fieldIndex]!].length) enterValue(state);
      return;
    }
    case 'FIELD_VALUE':
      advanceValue(state, tokenId);
      return;
    case 'THINK_END_TAG':
      finishCot(state);
      return;
    case 'CODES_GENERATION':
      state.codesCount++;
      return;
    case 'COMPLETED':
      return;
  }
}

function advanceValue(state: FsmState, tokenId: number): void {
  const t = state.tables;
  if (state.injection) {
    state.forcedPos++;
    if (state.forcedPos >= state.injection.length) enterField(state, state.fieldIndex + 1);
    return;
  }
  const field = state.fields[state.fieldIndex]!;
  state.valueTokens++;
  if (field === 'caption') {
    state.lastEndedWithNewline = (t.tokenClass[tokenId]! & TOKEN_CLASS.endsWithNewline) !== 0;
    return;
  }
  if (tokenId === t.newlineId) {
    enterField(state, state.fieldIndex + 1);
    return;
  }
  if (state.node) state.node = state.node.children.get(tokenId);
}
