export { loadQwen3Tokenizer, type Qwen3Tokenizer } from './tokenizer.ts';
export {
  AUDIO_CODE_TOKEN_BASE,
  AUDIO_CODE_TOKEN_COUNT,
  audioCodeFromTokenId,
  audioCodeTokenId,
  audioCodeTokenText,
  FIRST_ADDED_TOKEN_ID,
  isValidAudioCodeTokenId,
  SPECIAL_TOKEN_IDS,
  type SpecialTokenIds,
  VALID_AUDIO_CODE_COUNT,
  VOCAB_SIZE,
} from './vocab.ts';
