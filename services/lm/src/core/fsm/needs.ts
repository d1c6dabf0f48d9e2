/**
 * What `maskLogits` will read from the next logits row, decided from the FSM state alone, so a
 * decode graph can return just that instead of the 217,204-wide row. Mirrors `maskLogits` case by
 * case (keep the two in step; `fsm.needs.test.ts` checks them against each other):
 *   - `none`: the next token is forced (`forcedToken`); no logits are read.
 *   - `ids`: only the values at `ids` are read (tree nodes, the language's first token).
 *   - `range`: a free-text draw over [0, hi) minus `bans`; the sampler needs the sorted head and
 *     its total mass; `ids` are read as well (genres: `\n`), and `head` = the row's top 2 (argmax
 *     checks on the unmasked row).
 *   - `full`: the whole row (the caption's first token and its continuation after a newline allow
 *     ~54k ids; a stage this function does not model).
 */
import type { FsmState } from './state.ts';
import { forcedToken } from './state.ts';

export type LogitNeeds =
  | { readonly kind: 'none' }
  | { readonly kind: 'ids'; readonly ids: readonly number[] }
  | {
      readonly kind: 'range';
      readonly hi: number;
      readonly bans: readonly number[];
      readonly ids: readonly number[];
      readonly head: boolean;
    }
  | { readonly kind: 'full' };

const NONE: LogitNeeds = { kind: 'none' };
const FULL: LogitNeeds = { kind: 'full' };

export function logitNeeds(state: FsmState): LogitNeeds {
  if (forcedToken(state) !== undefined) return NONE;
  const t = state.tables;
  switch (state.stage) {
    case 'FIELD_VALUE': {
      const field = state.fields[state.fieldIndex]!;
      if (field === 'caption') {
        if (state.lastEndedWithNewline || state.valueTokens === 0) return FULL;
        return {
          kind: 'range',
          hi: t.firstAddedId,
          bans: Array.from(t.freeTextBannedIds),
          ids: [],
          head: false,
        };
      }
      if (field === 'genres') {
        const hasContent = state.valueTokens > 0;
        const bans = new Set<number>([...t.freeTextBannedIds, ...t.newlineBearingIds]);
        if (hasContent) bans.delete(t.newlineId);
        else bans.add(t.newlineId);
        return { kind: 'range', hi: t.firstAddedId, bans: [...bans], ids: [t.newlineId], head: true };
      }
      const node = state.node;
      if (!node || node.allowed.length === 0) return FULL;
      return { kind: 'ids', ids: node.allowed };
    }
    case 'COMPLETED':
      return state.options.phase === 'understand'
        ? { kind: 'range', hi: t.codeLo, bans: [], ids: [], head: false }
        : { kind: 'range', hi: t.vocabSize, bans: [], ids: [], head: false };
    default:
      return FULL;
  }
}
