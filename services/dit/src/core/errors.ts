/**
 * Errors the gRPC layer maps to status codes. A plain core throws these for bad requests only;
 * anything else (a model returning NaN, a wrong tensor size) is a plain Error = INTERNAL.
 */

import { PARAMETERS, type ParameterName, parameterDefault } from '@acestep/acestep';

export const DIT_ERROR_CODES = ['INVALID_ARGUMENT', 'FAILED_PRECONDITION'] as const;
export type DitErrorCode = (typeof DIT_ERROR_CODES)[number];

export class DitInputError extends Error {
  /** Request field the error is about, in the API's snake_case spelling (e.g. `repainting_end`). */
  readonly field: string;
  readonly code: DitErrorCode;

  constructor(field: string, message: string, code: DitErrorCode = 'INVALID_ARGUMENT') {
    super(`${field}: ${message}`);
    this.name = 'DitInputError';
    this.field = field;
    this.code = code;
  }
}

/** The sampler produced latents that cannot be decoded (NaN/Inf or all zeros), as upstream refuses them. */
export class DitNumericError extends Error {
  /** A fault of the model's numbers, not of the request (the servers' one error mapping reads it). */
  readonly code = 'INTERNAL';

  constructor(message: string) {
    super(message);
    this.name = 'DitNumericError';
  }
}

export function invalid(field: string, message: string): DitInputError {
  return new DitInputError(field, message, 'INVALID_ARGUMENT');
}

export function precondition(field: string, message: string): DitInputError {
  return new DitInputError(field, message, 'FAILED_PRECONDITION');
}

/** Throws unless `value` is a finite number in [min, max]. */
export function checkRange(field: string, value: number, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max) {
    throw invalid(field, `must be a number in [${min}, ${max}], got ${String(value)}`);
  }
  return value;
}

/** Throws unless `value` is an integer in [min, max]. */
export function checkInt(field: string, value: number, min: number, max: number): number {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw invalid(field, `must be an integer in [${min}, ${max}], got ${String(value)}`);
  }
  return value;
}

/**
 * A request field of the parameter table (@acestep/acestep): the given value, else the table's
 * default, checked against the table's range and kind. One table, so the DiT accepts what the
 * gateway accepts.
 */
export function checkParam(name: ParameterName, value: number | undefined): number {
  const rule = PARAMETERS[name];
  const v = value ?? parameterDefault(name) ?? Number.NaN;
  return rule.kind === 'integer'
    ? checkInt(name, v, rule.min, rule.max)
    : checkRange(name, v, rule.min, rule.max);
}
