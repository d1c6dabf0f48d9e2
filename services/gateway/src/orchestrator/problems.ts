// The problems of one request, collected so that one error lists them all.
import {
  allowedText,
  type DitVariant,
  inRange,
  type ParameterName,
  parameterDefault,
} from '@acestep/acestep';

export type ProblemCode = 'INVALID_ARGUMENT' | 'FAILED_PRECONDITION';

export interface ConfigProblem {
  /** The spec's snake_case field name. */
  field: string;
  code: ProblemCode;
  /** Text of the allowed range or values. */
  allowed: string;
  /** The value given, as text ("unset" when missing). */
  given: string;
  message: string;
}

/**
 * Every problem of one request. `field`, `code`, `allowed` are the main
 * problem's: the first INVALID_ARGUMENT one (the request itself is wrong), else
 * the first FAILED_PRECONDITION one (this deployment lacks what it needs).
 */
export class ConfigValidationError extends Error {
  readonly field: string;
  readonly code: ProblemCode;
  readonly allowed: string;
  readonly problems: readonly ConfigProblem[];

  constructor(problems: readonly ConfigProblem[]) {
    const main = problems.find((p) => p.code === 'INVALID_ARGUMENT') ?? problems[0];
    if (!main) throw new Error('ConfigValidationError needs at least one problem');
    super(problems.map((p) => p.message).join('; '));
    this.name = 'ConfigValidationError';
    this.field = main.field;
    this.code = main.code;
    this.allowed = main.allowed;
    this.problems = problems;
  }
}

/** A given value shown as is (a size or a count), not quoted like a string value. */
export interface Raw {
  raw: string;
}

function describe(value: unknown): string {
  if (value === undefined) return 'unset';
  if (typeof value === 'object' && value !== null && 'raw' in value) return String((value as Raw).raw);
  if (typeof value === 'string') {
    const shown = value.length > 40 ? `${value.slice(0, 40)}…` : value;
    return JSON.stringify(shown);
  }
  return String(value);
}

export class Problems {
  readonly list: ConfigProblem[] = [];
  /** Things the request asked for that this deployment or task ignores. */
  readonly notes: string[] = [];

  add(field: string, given: unknown, allowed: string, opts: { code?: ProblemCode; why?: string } = {}): void {
    const givenText = describe(given);
    const why = opts.why ? ` (${opts.why})` : '';
    this.list.push({
      field,
      code: opts.code ?? 'INVALID_ARGUMENT',
      allowed,
      given: givenText,
      message: `${field}: ${givenText} is not allowed${why}; allowed: ${allowed}`,
    });
  }

  /**
   * A numeric field of the parameter table: the given value or the (variant's) default,
   * checked against the table's range on `variant`, capped by `limit`; whether it passed is
   * left for the callers that combine fields to ask again with `inRange`.
   */
  param(name: ParameterName, given: number | undefined, variant?: DitVariant, limit?: number): number {
    const value = given ?? parameterDefault(name, variant) ?? Number.NaN;
    if (!inRange(name, value, variant, limit)) this.add(name, value, allowedText(name, variant, limit));
    return value;
  }

  maxChars(field: string, value: string, max: number): void {
    const chars = [...value].length;
    if (chars > max) this.add(field, { raw: `${chars} characters` }, `at most ${max} characters`);
  }

  throwIfAny(): void {
    if (this.list.length > 0) throw new ConfigValidationError(this.list);
  }
}
