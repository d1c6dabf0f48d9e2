import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { extractLyrics, formatMetadataYaml, parseLmOutput, postprocessCaption } from './metadata.ts';

describe('parseLmOutput', () => {
  it('parses a Phase-1 output that ends with EOS in place of </think>', () => {
    const text =
      '<think>\nbpm: 120\ncaption: An explosive pop-rock track with a strong anime theme song\n  feel. Catchy brass: punchy drums.\nduration: 180\nkeyscale: B♭ major\nlanguage: en\ntimesignature: 4\n<|im_end|>';
    const { metadata, audioCodes } = parseLmOutput(text);
    assert.deepEqual(metadata, {
      bpm: 120,
      caption: 'An explosive pop-rock track with a strong anime theme song feel. Catchy brass: punchy drums.',
      duration: 180,
      keyscale: 'B♭ major',
      language: 'en',
      timesignature: '4',
    });
    assert.equal(audioCodes, '');
  });

  it('reads the <think> block, keeps YAML quotes, drops unknown keys and collects codes', () => {
    const text =
      "<think>\nbpm: fast\nduration: 0030\nlanguage: 'no'\nmood: calm\n\tcontinued\n</think>\n\n<|audio_code_5|><|audio_code_63999|>";
    const { metadata, audioCodes } = parseLmOutput(text);
    assert.deepEqual(metadata, { bpm: 'fast', duration: 30, language: "'no'" });
    assert.equal(audioCodes, '<|audio_code_5|><|audio_code_63999|>');
  });

  it('falls back to the text before the first code when there is no reasoning block', () => {
    const { metadata } = parseLmOutput('bpm: 90\nkeyscale: C minor<|audio_code_1|>');
    assert.deepEqual(metadata, { bpm: 90, keyscale: 'C minor' });
  });

  it('ignores a field whose value is empty', () => {
    assert.deepEqual(parseLmOutput('<think>\ncaption:\nbpm: 70\n</think>').metadata, { bpm: 70 });
  });
});

describe('caption / lyrics helpers', () => {
  it('postprocessCaption joins folded lines', () => {
    assert.equal(postprocessCaption(' a calm\n  piano \n\n  melody '), 'a calm piano melody');
  });

  it('extractLyrics strips the header and the final im_end', () => {
    assert.equal(
      extractLyrics('<think>\nbpm: 1\n</think>\n\n# Lyric\n[Verse]\nla la<|im_end|>'),
      '[Verse]\nla la',
    );
    // QUIRK kept for parity: the official pattern `Lyri[c|cs]?` is a one-character class, so "# Lyrics" stays.
    assert.equal(extractLyrics('</think>\n# Lyrics\nla'), '# Lyrics\nla');
    assert.equal(extractLyrics('no think'), '');
  });
});

describe('formatMetadataYaml', () => {
  it('drops genres, strips /4, turns digit strings into ints and quotes Norwegian', () => {
    assert.equal(
      formatMetadataYaml({
        bpm: '96',
        caption: 'calm',
        duration: 200,
        genres: 'folk',
        keyscale: 'A minor',
        language: 'no',
        timesignature: '3/4',
      }),
      "bpm: 96\ncaption: calm\nduration: 200\nkeyscale: A minor\nlanguage: 'no'\ntimesignature: 3",
    );
    assert.equal(formatMetadataYaml({ timesignature: '6/8' }), 'timesignature: 6/8');
  });
});
