/**
 * Everything the constrained decoder precomputes from the real tokenizer, once per process:
 * forced token sequences of the fixed strings, value prefix trees, and per-token classes used by
 * the free-text fields. Token classes come from the raw byte-level pieces (no per-id decoding).
 */
import {
  AUDIO_CODE_TOKEN_BASE,
  FIRST_ADDED_TOKEN_ID,
  type Qwen3Tokenizer,
  VALID_AUDIO_CODE_COUNT,
} from '@acestep/tokenizer';
import { pyStrip } from '../metadata.ts';
import { buildValueTree, type TreeNode } from './prefix-tree.ts';
import {
  BPM_MAX,
  BPM_MIN,
  DURATION_MAX,
  DURATION_MIN,
  FIELD_ORDER,
  type FieldName,
  integerStrings,
  VALID_KEYSCALES,
  VALID_LANGUAGES,
  VALID_TIME_SIGNATURES,
} from './values.ts';

/** Per-token class bits. */
export const TOKEN_CLASS = {
  /** Text starts with a space or a tab (a YAML continuation line). */
  startsIndented: 1,
  /** Text ends with a newline. */
  endsWithNewline: 2,
  /** Banned inside free text (caption, genres). */
  freeTextBanned: 4,
  /** Contains a newline (genres must end only on the plain `\n` token). */
  hasNewline: 8,
} as const;

export interface FsmTables {
  readonly vocabSize: number;
  readonly eosId: number;
  readonly newlineId: number;
  readonly thinkId: number;
  readonly thinkEndId: number;
  /** Valid code ids are [codeLo, codeHi): codes 0..63999. */
  readonly codeLo: number;
  readonly codeHi: number;
  /** First added-token id; every id ≥ this is special (EOS, tags, audio codes). */
  readonly firstAddedId: number;
  readonly maxDuration: number;
  /** Forced ids of `"<field>:"` for each field name. */
  readonly fieldNameIds: Readonly<Record<FieldName, readonly number[]>>;
  readonly trees: {
    readonly bpm: TreeNode;
    readonly duration: TreeNode;
    readonly keyscale: TreeNode;
    readonly language: TreeNode;
    readonly timesignature: TreeNode;
  };
  readonly tokenClass: Uint8Array;
  /** Ids below firstAddedId banned in free text, ascending. */
  readonly freeTextBannedIds: Int32Array;
  /** Ids below firstAddedId that may continue a caption after a newline (indented, not banned), ascending. */
  readonly indentedIds: readonly number[];
  /**
   * Ids that may open a caption: indented, no newline, some non-whitespace text. A YAML plain
   * scalar starts on the key's line, so the value cannot be empty (ours; upstream allows anything).
   */
  readonly captionStartIds: readonly number[];
  /** Ids below firstAddedId that contain a newline, other than the plain `\n` token, ascending. */
  readonly newlineBearingIds: Int32Array;
  readonly encode: (text: string) => number[];
}

/** Ids that force `text`: at each position the longest prefix that is a single token (official fixed-string rule). */
export function forcedIds(encode: (text: string) => number[], text: string): number[] {
  const ids: number[] = [];
  let pos = 0;
  while (pos < text.length) {
    let taken = 0;
    for (let k = text.length - pos; k >= 1; k--) {
      const enc = encode(text.slice(pos, pos + k));
      if (enc.length === 1) {
        ids.push(enc[0]!);
        taken = k;
        break;
      }
    }
    if (taken === 0) throw new Error(`no single token starts ${JSON.stringify(text.slice(pos))}`);
    pos += taken;
  }
  return ids;
}

// Byte-level piece characters for the bytes we classify on (GPT-2 bytes_to_unicode).
const PIECE_SPACE = 'Ġ';
const PIECE_TAB = 'ĉ';
const PIECE_NEWLINE = 'Ċ';

function classifyTokens(tokenizer: Qwen3Tokenizer, firstAddedId: number, newlineId: number) {
  const tokenClass = new Uint8Array(tokenizer.vocabSize);
  const banned: number[] = [];
  const indented: number[] = [];
  const newlineBearing: number[] = [];
  const captionStart: number[] = [];
  for (let id = 0; id < firstAddedId; id++) {
    const piece = tokenizer.idToToken(id) ?? '';
    let c = 0;
    if (piece.startsWith(PIECE_SPACE) || piece.startsWith(PIECE_TAB)) c |= TOKEN_CLASS.startsIndented;
    if (piece.endsWith(PIECE_NEWLINE)) c |= TOKEN_CLASS.endsWithNewline;
    if (piece.includes(PIECE_NEWLINE)) c |= TOKEN_CLASS.hasNewline;
    // Backticks are banned officially; a newline followed by anything but newlines would start an
    // unindented line inside the value, which the CoT parser would read as a new field.
    const innerNewline = piece.replace(/Ċ+$/, '').includes(PIECE_NEWLINE);
    if (piece.includes('`') || innerNewline) c |= TOKEN_CLASS.freeTextBanned;
    tokenClass[id] = c;
    if (c & TOKEN_CLASS.freeTextBanned) banned.push(id);
    else if (c & TOKEN_CLASS.startsIndented) {
      indented.push(id);
      if (!(c & TOKEN_CLASS.hasNewline) && pyStrip(tokenizer.tokenText(id)) !== '') captionStart.push(id);
    }
    if (c & TOKEN_CLASS.hasNewline && id !== newlineId) newlineBearing.push(id);
  }
  return { tokenClass, banned, indented, newlineBearing, captionStart };
}

export interface FsmTableOptions {
  /** Upper bound of the duration field (the GPU tier's max duration with LM); default 600. */
  readonly maxDuration?: number;
}

export function buildFsmTables(tokenizer: Qwen3Tokenizer, options: FsmTableOptions = {}): FsmTables {
  const encode = (text: string) => tokenizer.encode(text);
  const maxDuration = options.maxDuration ?? DURATION_MAX;
  if (!Number.isInteger(maxDuration) || maxDuration < DURATION_MIN) {
    throw new RangeError(`maxDuration ${maxDuration} must be an integer ≥ ${DURATION_MIN}`);
  }
  const newlineId = forcedIds(encode, '\n')[0]!;
  const thinkId = forcedIds(encode, '<think>')[0]!;
  const thinkEndId = forcedIds(encode, '</think>')[0]!;
  const fieldNameIds = Object.fromEntries(FIELD_ORDER.map((f) => [f, forcedIds(encode, `${f}:`)])) as Record<
    FieldName,
    number[]
  >;
  const classes = classifyTokens(tokenizer, FIRST_ADDED_TOKEN_ID, newlineId);
  return {
    vocabSize: tokenizer.vocabSize,
    eosId: tokenizer.eosId,
    newlineId,
    thinkId,
    thinkEndId,
    codeLo: AUDIO_CODE_TOKEN_BASE,
    codeHi: AUDIO_CODE_TOKEN_BASE + VALID_AUDIO_CODE_COUNT,
    firstAddedId: FIRST_ADDED_TOKEN_ID,
    maxDuration,
    fieldNameIds,
    trees: {
      bpm: buildValueTree({ encode }, 'bpm', integerStrings(BPM_MIN, BPM_MAX), newlineId, 'numeric'),
      duration: buildValueTree(
        { encode },
        'duration',
        integerStrings(DURATION_MIN, maxDuration),
        newlineId,
        'numeric',
      ),
      keyscale: buildValueTree({ encode }, 'keyscale', VALID_KEYSCALES, newlineId, 'exclusive'),
      language: buildValueTree({ encode }, 'language', VALID_LANGUAGES, newlineId, 'exclusive'),
      timesignature: buildValueTree(
        { encode },
        'timesignature',
        VALID_TIME_SIGNATURES,
        newlineId,
        'exclusive',
      ),
    },
    tokenClass: classes.tokenClass,
    freeTextBannedIds: Int32Array.from(classes.banned),
    indentedIds: classes.indented,
    captionStartIds: classes.captionStart,
    newlineBearingIds: Int32Array.from(classes.newlineBearing),
    encode,
  };
}
