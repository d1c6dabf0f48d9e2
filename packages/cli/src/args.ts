// Command-line parsing for every acestep command: one table of options per
// command, parsed by node:util parseArgs (strict, so nothing is silently
// ignored), `--help` rendered from the same table, and unknown options answered
// with the closest known one (fastest-levenshtein).
import { parseArgs } from 'node:util';
import { closest, distance } from 'fastest-levenshtein';

export interface OptionSpec {
  type: 'string' | 'boolean';
  /** What the option does, one line. */
  describe: string;
  /** The default as the user sees it ("" = none). */
  default?: string;
  /** Placeholder of the value in --help ("N", "DIR"...). */
  value?: string;
}

export interface CommandSpec {
  name: string;
  summary: string;
  /** Positional arguments, e.g. ["<job-id>"]. */
  positionals?: string[];
  options: Record<string, OptionSpec>;
  /** Extra paragraph at the end of --help. */
  notes?: string;
}

export class UsageError extends Error {
  override name = 'UsageError';
}

export interface ParsedCommand {
  values: Record<string, string | boolean | undefined>;
  positionals: string[];
  help: boolean;
}

const HELP: OptionSpec = { type: 'boolean', describe: 'show this help and exit' };

/** Parses argv against the command's table; a bad argument throws UsageError naming it. */
export function parseCommand(spec: CommandSpec, argv: string[]): ParsedCommand {
  const options = { ...spec.options, help: HELP };
  if (argv.includes('--help') || argv.includes('-h')) return { values: {}, positionals: [], help: true };
  try {
    const { values, positionals } = parseArgs({
      args: argv,
      options: Object.fromEntries(Object.entries(options).map(([name, o]) => [name, { type: o.type }])),
      strict: true,
      allowPositionals: true,
      allowNegative: true,
    });
    const wanted = spec.positionals?.length ?? 0;
    if (positionals.length !== wanted) {
      throw new UsageError(
        wanted === 0
          ? `unexpected argument "${positionals[0]}": options look like --name value`
          : `expected ${spec.positionals!.join(' ')}, got ${positionals.length} argument(s)`,
      );
    }
    return { values: values as ParsedCommand['values'], positionals, help: false };
  } catch (error) {
    if (error instanceof UsageError) throw error;
    throw new UsageError(explain(error as Error & { code?: string }, Object.keys(options)));
  }
}

/** parseArgs's messages, made to name the option and, for a typo, its likely meaning. */
function explain(error: Error & { code?: string }, known: string[]): string {
  if (error.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
    const given = /'(-{1,2}[^']+)'/.exec(error.message)?.[1] ?? '';
    const name = given.replace(/^-+/, '').replace(/^no-/, '').split('=')[0]!;
    return `unknown option ${given}${suggest(name, known)}`;
  }
  return error.message.replace(/^Option '([^']+)'/, 'option $1');
}

/** ", did you mean --x?" when some known name is close enough to be a typo of `name`. */
export function suggest(name: string, known: string[]): string {
  const normalized = name.replaceAll('-', '_');
  const best = closest(
    normalized,
    known.map((k) => k.replaceAll('-', '_')),
  );
  const original = known.find((k) => k.replaceAll('-', '_') === best);
  const close = best !== undefined && distance(normalized, best) <= Math.max(2, Math.floor(name.length / 3));
  return close && original ? ` (did you mean --${original}?)` : ' (see --help)';
}

/** The --help text: every option with its default. */
export function helpText(spec: CommandSpec): string {
  const options = { ...spec.options, help: HELP };
  const lines = [
    `usage: acestep ${spec.name}${spec.positionals ? ` ${spec.positionals.join(' ')}` : ''} [options]`,
  ];
  lines.push('', spec.summary, '', 'options:');
  const rows = Object.entries(options).map(([name, o]) => {
    const flag = o.type === 'boolean' ? `--${name}` : `--${name} ${o.value ?? 'VALUE'}`;
    const dflt = o.default !== undefined ? ` (default: ${o.default === '' ? 'none' : o.default})` : '';
    return [flag, `${o.describe}${dflt}`] as const;
  });
  const width = Math.min(34, Math.max(...rows.map(([flag]) => flag.length)) + 2);
  for (const [flag, text] of rows) {
    lines.push(
      flag.length >= width ? `  ${flag}\n  ${' '.repeat(width)}${text}` : `  ${flag.padEnd(width)}${text}`,
    );
  }
  if (spec.notes) lines.push('', spec.notes);
  return lines.join('\n');
}

/** A string option's value, or its default from the table. */
export function stringValue(spec: CommandSpec, parsed: ParsedCommand, name: string): string {
  const value = parsed.values[name];
  if (typeof value === 'string') return value;
  return spec.options[name]?.default ?? '';
}

/** Checks a value against its allowed set; the error lists them. */
export function oneOf<T extends string>(option: string, value: string, allowed: readonly T[]): T {
  if ((allowed as readonly string[]).includes(value)) return value as T;
  throw new UsageError(`--${option}="${value}" is invalid: allowed values are ${allowed.join(', ')}`);
}

/** A non-negative integer option. */
export function intValue(option: string, value: string, min: number, max: number): number {
  const n = Number(value);
  if (value !== '' && Number.isInteger(n) && n >= min && n <= max) return n;
  throw new UsageError(`--${option}="${value}" is invalid: an integer in ${min}..${max}`);
}
