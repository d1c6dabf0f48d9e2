/**
 * A PyYAML-compatible emitter for the Phase-2 metadata block (docs/official-behaviour.md "CoT text"): the text
 * `yaml.dump(items, allow_unicode=True, sort_keys=True)` writes for a flat mapping of
 * strings and integers, with PyYAML 6's plain/single/double-quoted style choice, its YAML 1.1
 * implicit-type checks and its line folding at width 80 with a 2-space indent.
 * JS YAML libraries pick other styles, so this is a port of the few emitter paths we need.
 */

export type YamlScalar = string | number;

const BEST_WIDTH = 80;
const INDENT = 2;
const BREAKS = '\n\x85\u2028\u2029';
const WHITESPACE = `\0 \t\r${BREAKS}`;

// YAML 1.1 implicit resolvers of PyYAML (resolver.py), keyed by their first characters.
const RESOLVERS: ReadonlyArray<{ first: string; re: RegExp }> = [
  {
    first: 'yYnNtTfFoO',
    re: /^(?:yes|Yes|YES|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF)$/,
  },
  {
    first: '-+0123456789.',
    re: /^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+][0-9]+)?|\.[0-9][0-9_]*(?:[eE][-+][0-9]+)?|[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$/,
  },
  {
    first: '-+0123456789',
    re: /^(?:[-+]?0b[0-1_]+|[-+]?0[0-7_]+|[-+]?(?:0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+|[-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+)$/,
  },
  { first: '<', re: /^(?:<<)$/ },
  { first: '~nN', re: /^(?:~|null|Null|NULL|)$/ },
  {
    first: '0123456789',
    re: /^(?:[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]|[0-9][0-9][0-9][0-9]-[0-9][0-9]?-[0-9][0-9]?(?:[Tt]|[ \t]+)[0-9][0-9]?:[0-9][0-9]:[0-9][0-9](?:\.[0-9]*)?(?:[ \t]*(?:Z|[-+][0-9][0-9]?(?::[0-9][0-9])?))?)$/,
  },
  { first: '=', re: /^(?:=)$/ },
  { first: '!&*', re: /^(?:!|&|\*)$/ },
];

/** Python `re.match(...$)` also matches before one trailing newline. */
function pyFullMatch(re: RegExp, s: string): boolean {
  return re.test(s) || (s.endsWith('\n') && re.test(s.slice(0, -1)));
}

/** True when a plain scalar would read back as a string (PyYAML's `implicit[0]`). */
function resolvesToStr(value: string): boolean {
  const first = value === '' ? '' : value[0]!;
  for (const r of RESOLVERS) {
    const applies = first === '' ? r.first.includes('~') : r.first.includes(first);
    if (applies && pyFullMatch(r.re, value)) return false;
  }
  return true;
}

interface Analysis {
  multiline: boolean;
  allowBlockPlain: boolean;
  allowSingleQuoted: boolean;
}

function isPrintableUnicode(cp: number): boolean {
  return (
    (cp === 0x85 ||
      (cp >= 0xa0 && cp <= 0xd7ff) ||
      (cp >= 0xe000 && cp <= 0xfffd) ||
      (cp >= 0x10000 && cp < 0x10ffff)) &&
    cp !== 0xfeff
  );
}

/** PyYAML `Emitter.analyze_scalar` with allow_unicode=True (only the flags block context needs). */
function analyzeScalar(chars: readonly string[]): Analysis {
  const n = chars.length;
  if (n === 0) return { multiline: false, allowBlockPlain: true, allowSingleQuoted: true };
  let blockIndicators = false;
  let lineBreaks = false;
  let special = false;
  let leadingSpace = false;
  let leadingBreak = false;
  let trailingSpace = false;
  let trailingBreak = false;
  let breakSpace = false;
  let spaceBreak = false;
  const text = chars.join('');
  if (text.startsWith('---') || text.startsWith('...')) blockIndicators = true;
  let precededByWs = true;
  let followedByWs = n === 1 || WHITESPACE.includes(chars[1]!);
  let previousSpace = false;
  let previousBreak = false;
  for (let i = 0; i < n; i++) {
    const ch = chars[i]!;
    if (i === 0) {
      if ('#,[]{}&*!|>\'"%@`'.includes(ch)) blockIndicators = true;
      if ('?:'.includes(ch) && followedByWs) blockIndicators = true;
      if (ch === '-' && followedByWs) blockIndicators = true;
    } else {
      if (ch === ':' && followedByWs) blockIndicators = true;
      if (ch === '#' && precededByWs) blockIndicators = true;
    }
    if (BREAKS.includes(ch)) lineBreaks = true;
    const cp = ch.codePointAt(0)!;
    if (!(ch === '\n' || (cp >= 0x20 && cp <= 0x7e)) && !isPrintableUnicode(cp)) special = true;
    if (ch === ' ') {
      if (i === 0) leadingSpace = true;
      if (i === n - 1) trailingSpace = true;
      if (previousBreak) breakSpace = true;
      previousSpace = true;
      previousBreak = false;
    } else if (BREAKS.includes(ch)) {
      if (i === 0) leadingBreak = true;
      if (i === n - 1) trailingBreak = true;
      if (previousSpace) spaceBreak = true;
      previousSpace = false;
      previousBreak = true;
    } else {
      previousSpace = false;
      previousBreak = false;
    }
    precededByWs = WHITESPACE.includes(ch);
    followedByWs = i + 2 >= n || WHITESPACE.includes(chars[i + 2]!);
  }
  let allowBlockPlain = true;
  let allowSingleQuoted = true;
  if (leadingSpace || leadingBreak || trailingSpace || trailingBreak) allowBlockPlain = false;
  if (breakSpace) allowBlockPlain = allowSingleQuoted = false;
  if (spaceBreak || special) allowBlockPlain = allowSingleQuoted = false;
  if (lineBreaks) allowBlockPlain = false;
  if (blockIndicators) allowBlockPlain = false;
  return { multiline: lineBreaks, allowBlockPlain, allowSingleQuoted };
}

/** Writer state of one mapping value, mirroring the emitter fields the scalar writers touch. */
class Writer {
  out = '';
  column = 0;
  whitespace = false;
  indention = false;
  readonly indent: number;

  constructor(startColumn: number, indent: number) {
    this.column = startColumn;
    this.indent = indent;
  }

  write(data: string): void {
    this.out += data;
    this.column += [...data].length;
  }

  lineBreak(data = '\n'): void {
    this.out += data;
    this.whitespace = true;
    this.indention = true;
    this.column = 0;
  }

  writeIndent(): void {
    if (!this.indention || this.column > this.indent || (this.column === this.indent && !this.whitespace)) {
      this.lineBreak();
    }
    if (this.column < this.indent) {
      this.whitespace = true;
      this.out += ' '.repeat(this.indent - this.column);
      this.column = this.indent;
    }
  }

  indicator(indicator: string, needWhitespace: boolean): void {
    const data = this.whitespace || !needWhitespace ? indicator : ` ${indicator}`;
    this.whitespace = false;
    this.indention = false;
    this.write(data);
  }

  plain(chars: readonly string[]): void {
    if (chars.length === 0) return;
    if (!this.whitespace) this.write(' ');
    this.whitespace = false;
    this.indention = false;
    let spaces = false;
    let breaks = false;
    let start = 0;
    for (let end = 0; end <= chars.length; end++) {
      const ch = end < chars.length ? chars[end]! : undefined;
      if (spaces) {
        if (ch !== ' ') {
          if (start + 1 === end && this.column > BEST_WIDTH) {
            this.writeIndent();
            this.whitespace = false;
            this.indention = false;
          } else {
            this.write(chars.slice(start, end).join(''));
          }
          start = end;
        }
      } else if (breaks) {
        // Plain scalars with breaks are never chosen (analysis forbids them); kept out on purpose.
        throw new Error('plain scalar with line breaks');
      } else if (ch === undefined || ` ${BREAKS}`.includes(ch)) {
        this.write(chars.slice(start, end).join(''));
        start = end;
      }
      if (ch !== undefined) {
        spaces = ch === ' ';
        breaks = BREAKS.includes(ch);
      }
    }
  }

  singleQuoted(chars: readonly string[]): void {
    this.indicator("'", true);
    let spaces = false;
    let breaks = false;
    let start = 0;
    const n = chars.length;
    for (let end = 0; end <= n; end++) {
      const ch = end < n ? chars[end]! : undefined;
      if (spaces) {
        if (ch === undefined || ch !== ' ') {
          if (start + 1 === end && this.column > BEST_WIDTH && start !== 0 && end !== n) {
            this.writeIndent();
          } else {
            this.write(chars.slice(start, end).join(''));
          }
          start = end;
        }
      } else if (breaks) {
        if (ch === undefined || !BREAKS.includes(ch)) {
          if (chars[start] === '\n') this.lineBreak();
          for (const br of chars.slice(start, end)) this.lineBreak(br);
          this.writeIndent();
          start = end;
        }
      } else if (ch === undefined || ` ${BREAKS}'`.includes(ch)) {
        if (start < end) {
          this.write(chars.slice(start, end).join(''));
          start = end;
        }
      }
      if (ch === "'") {
        this.write("''");
        start = end + 1;
      }
      if (ch !== undefined) {
        spaces = ch === ' ';
        breaks = BREAKS.includes(ch);
      }
    }
    this.indicator("'", false);
  }

  doubleQuoted(chars: readonly string[]): void {
    this.indicator('"', true);
    let start = 0;
    const n = chars.length;
    for (let end = 0; end <= n; end++) {
      const ch = end < n ? chars[end]! : undefined;
      if (ch === undefined || needsEscape(ch)) {
        if (start < end) {
          this.write(chars.slice(start, end).join(''));
          start = end;
        }
        if (ch !== undefined) {
          this.write(escapeChar(ch));
          start = end + 1;
        }
      }
      if (
        end > 0 &&
        end < n - 1 &&
        (ch === ' ' || start >= end) &&
        this.column + (end - start) > BEST_WIDTH
      ) {
        const data = `${chars.slice(start, end).join('')}\\`;
        if (start < end) start = end;
        this.write(data);
        this.writeIndent();
        this.whitespace = false;
        this.indention = false;
        if (chars[start] === ' ') this.write('\\');
      }
    }
    this.indicator('"', false);
  }
}

const ESCAPES: Readonly<Record<string, string>> = {
  '\0': '0',
  '\x07': 'a',
  '\x08': 'b',
  '\t': 't',
  '\n': 'n',
  '\x0b': 'v',
  '\x0c': 'f',
  '\r': 'r',
  '\x1b': 'e',
  '"': '"',
  '\\': '\\',
  '\x85': 'N',
  '\xa0': '_',
  '\u2028': 'L',
  '\u2029': 'P',
};

function needsEscape(ch: string): boolean {
  if ('"\\\x85\u2028\u2029\ufeff'.includes(ch)) return true;
  const cp = ch.codePointAt(0)!;
  return !((cp >= 0x20 && cp <= 0x7e) || (cp >= 0xa0 && cp <= 0xd7ff) || (cp >= 0xe000 && cp <= 0xfffd));
}

function escapeChar(ch: string): string {
  const short = ESCAPES[ch];
  if (short !== undefined) return `\\${short}`;
  const cp = ch.codePointAt(0)!;
  const hex = cp.toString(16).toUpperCase();
  if (cp <= 0xff) return `\\x${hex.padStart(2, '0')}`;
  if (cp <= 0xffff) return `\\u${hex.padStart(4, '0')}`;
  return `\\U${hex.padStart(8, '0')}`;
}

/** PyYAML's `repr` of an int, or of a float as `represent_float` writes it. */
function formatNumber(value: number): string {
  if (Number.isInteger(value)) return String(value);
  if (Number.isNaN(value)) return '.nan';
  if (!Number.isFinite(value)) return value > 0 ? '.inf' : '-.inf';
  let text = String(value).toLowerCase();
  if (!text.includes('.') && text.includes('e')) text = text.replace('e', '.0e');
  return text;
}

function emitValue(writer: Writer, value: YamlScalar): void {
  if (typeof value === 'number') {
    writer.plain([...formatNumber(value)]);
    return;
  }
  const chars = [...value];
  const analysis = analyzeScalar(chars);
  if (resolvesToStr(value) && analysis.allowBlockPlain) writer.plain(chars);
  else if (analysis.allowSingleQuoted) writer.singleQuoted(chars);
  else writer.doubleQuoted(chars);
}

/**
 * `yaml.dump(mapping, allow_unicode=True, sort_keys=True)` for a flat mapping whose keys are
 * plain lowercase words. Undefined values are skipped. The result ends with a newline, as PyYAML's does.
 */
export function dumpYamlMapping(mapping: Readonly<Record<string, YamlScalar | undefined>>): string {
  const keys = Object.keys(mapping)
    .filter((k) => mapping[k] !== undefined)
    .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  if (keys.length === 0) return '{}\n';
  let out = '';
  for (const key of keys) {
    if (!/^[a-z_][a-z0-9_]*$/.test(key) || !resolvesToStr(key))
      throw new Error(`unsupported YAML key ${key}`);
    const writer = new Writer(key.length, INDENT);
    writer.indicator(':', false);
    emitValue(writer, mapping[key]!);
    out += `${key}${writer.out}\n`;
  }
  return out;
}
