/**
 * lm_metadata: parsing the LM's CoT text (docs/official-behaviour.md "CoT text") and formatting metadata back into the
 * Phase-2 CoT block. Mirrors the official tolerant parser, Python string semantics included.
 */
import { FIELD_ORDER } from './fsm/values.ts';
import { dumpYamlMapping, type YamlScalar } from './yaml.ts';

export interface LmMetadata {
  bpm?: number | string;
  caption?: string;
  duration?: number | string;
  genres?: string;
  keyscale?: string;
  language?: string;
  timesignature?: string;
}

/** The CoT's metadata fields, in the order the LM writes them. */
export const METADATA_KEYS = FIELD_ORDER;
export type MetadataKey = (typeof METADATA_KEYS)[number];

// Python's str.isspace() set (str.strip() with no argument strips exactly these).
const PY_WHITESPACE =
  '\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000';

export function pyIsSpace(ch: string): boolean {
  return ch !== '' && PY_WHITESPACE.includes(ch);
}

export function pyStrip(s: string): string {
  let start = 0;
  let end = s.length;
  while (start < end && PY_WHITESPACE.includes(s[start]!)) start++;
  while (end > start && PY_WHITESPACE.includes(s[end - 1]!)) end--;
  return s.slice(start, end);
}

/** Python int(text) for ASCII decimal literals (sign, digits, single underscores); undefined when it would raise. */
export function pyInt(text: string): number | undefined {
  const t = pyStrip(text);
  if (!/^[+-]?[0-9]+(?:_[0-9]+)*$/.test(t)) return undefined;
  return Number.parseInt(t.replaceAll('_', ''), 10);
}

/** `postprocess_caption`: drop YAML folding — strip each line, drop empty lines, join with one space. */
export function postprocessCaption(value: string): string {
  return value
    .split('\n')
    .map(pyStrip)
    .filter((line) => line !== '')
    .join(' ');
}

const AUDIO_CODE_RE = /<\|audio_code_\d+\|>/g;

function reasoningText(text: string): string {
  for (const re of [/<think>([\s\S]*?)<\/think>/, /<reasoning>([\s\S]*?)<\/reasoning>/]) {
    const m = re.exec(text);
    if (m) {
      const inner = pyStrip(m[1]!);
      if (inner !== '') return inner;
      break;
    }
  }
  const codeAt = text.indexOf('<|audio_code_');
  return pyStrip(codeAt >= 0 ? text.slice(0, codeAt) : text);
}

function convertField(metadata: LmMetadata, key: string, lines: readonly string[]): void {
  const value = lines.join('\n');
  switch (key) {
    case 'bpm':
    case 'duration':
      metadata[key] = pyInt(value) ?? pyStrip(value);
      break;
    case 'caption':
      metadata.caption = postprocessCaption(value);
      break;
    case 'genres':
    case 'keyscale':
    case 'language':
    case 'timesignature':
      metadata[key] = pyStrip(value);
      break;
    default:
      break; // unknown keys are dropped
  }
}

/** `parse_lm_output`: metadata from the reasoning block, and every `<|audio_code_N|>` concatenated in order. */
export function parseLmOutput(text: string): { metadata: LmMetadata; audioCodes: string } {
  const audioCodes = (text.match(AUDIO_CODE_RE) ?? []).join('');
  const metadata: LmMetadata = {};
  let key: string | undefined;
  let lines: string[] = [];
  const save = () => {
    if (key !== undefined && lines.length > 0) convertField(metadata, key, lines);
    key = undefined;
    lines = [];
  };
  for (const line of reasoningText(text).split('\n')) {
    if (pyStrip(line).startsWith('<')) continue;
    if (line !== '' && !pyIsSpace(line[0]!) && line.includes(':')) {
      save();
      const colon = line.indexOf(':');
      key = pyStrip(line.slice(0, colon)).toLowerCase();
      const first = line.slice(colon + 1);
      if (pyStrip(first) !== '') lines.push(first);
    } else if ((line.startsWith(' ') || line.startsWith('\t')) && key !== undefined) {
      lines.push(line);
    }
  }
  save();
  return { metadata, audioCodes };
}

/** `_extract_lyrics_from_output`: the text after the first `</think>`, minus a `# Lyric` header and a final `<|im_end|>`. */
export function extractLyrics(text: string): string {
  const at = text.indexOf('</think>');
  if (at < 0) return '';
  let after = pyStrip(text.slice(at + '</think>'.length));
  if (after === '') return '';
  after = after.replace(/^#\s*Lyri[c|cs]?\s*\n/i, '');
  after = after.replace(/<\|im_end\|>\s*$/, '');
  return pyStrip(after);
}

/** The metadata fields the Phase-2 CoT carries, in order (genres is dropped). */
const COT_KEYS = ['bpm', 'caption', 'duration', 'keyscale', 'language', 'timesignature'] as const;

/**
 * `_format_metadata_as_cot` without the tags: `yaml.dump(items, allow_unicode=True, sort_keys=True).strip()`,
 * where `x/4` time signatures become `x` and digit-only strings become ints. '' when nothing is set.
 */
export function formatMetadataYaml(metadata: Readonly<LmMetadata>): string {
  const items: Record<string, YamlScalar> = {};
  for (const key of COT_KEYS) {
    let value: YamlScalar | undefined = metadata[key];
    if (value === undefined || value === null) continue;
    if (key === 'timesignature' && typeof value === 'string' && value.endsWith('/4'))
      value = value.split('/')[0]!;
    if (typeof value === 'string' && /^[0-9]+$/.test(value)) value = Number.parseInt(value, 10);
    items[key] = value;
  }
  if (Object.keys(items).length === 0) return '';
  return pyStrip(dumpYamlMapping(items));
}
