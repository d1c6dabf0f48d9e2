// Structured JSON logs, one object per line on stdout. The request id of the
// call being served (and the job id of a job's run) rides in AsyncLocalStorage,
// so every line logged while handling a call carries it without passing it
// around; stage clients forward both to the next service in the x-request-id
// and x-job-id headers.
import { AsyncLocalStorage } from 'node:async_hooks';
import type { LogLevel } from './config.ts';

const LEVELS: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export interface RequestScope {
  requestId: string;
  method?: string;
  /** The job whose run this is (a job's run, or a stage call made for one). */
  jobId?: string;
}

const scope = new AsyncLocalStorage<RequestScope>();

/** Runs fn with a request scope; logs inside carry its id. */
export function withRequestScope<T>(value: RequestScope, fn: () => T): T {
  return scope.run(value, fn);
}

/**
 * Runs fn as the run of job `jobId`: its own scope, whatever scope the caller is in (a queue's
 * pump may start job B from the tail of job A's run). The request id is the job id.
 */
export function withJobScope<T>(jobId: string, fn: () => T): T {
  return scope.run({ requestId: jobId, jobId }, fn);
}

export function currentRequestId(): string | undefined {
  return scope.getStore()?.requestId;
}

export function currentScope(): Readonly<RequestScope> | undefined {
  return scope.getStore();
}

export type LogFields = Record<string, unknown>;

export interface Logger {
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  child(fields: LogFields): Logger;
}

function errorFields(value: unknown): unknown {
  if (value instanceof Error) return { name: value.name, message: value.message, stack: value.stack };
  return value;
}

export function createLogger(
  service: string,
  level: LogLevel = 'info',
  base: LogFields = {},
  write: (line: string) => void = (line) => process.stdout.write(line),
): Logger {
  const min = LEVELS[level];
  const emit = (lvl: LogLevel, msg: string, fields?: LogFields) => {
    if (LEVELS[lvl] < min) return;
    const record: LogFields = { ts: new Date().toISOString(), level: lvl, service, msg, ...base };
    const current = scope.getStore();
    if (current) {
      record.requestId = current.requestId;
      if (current.jobId) record.jobId = current.jobId;
      if (current.method) record.method = current.method;
    }
    for (const [k, v] of Object.entries(fields ?? {})) record[k] = errorFields(v);
    write(`${JSON.stringify(record)}\n`);
  };
  return {
    debug: (msg, fields) => emit('debug', msg, fields),
    info: (msg, fields) => emit('info', msg, fields),
    warn: (msg, fields) => emit('warn', msg, fields),
    error: (msg, fields) => emit('error', msg, fields),
    child: (fields) => createLogger(service, level, { ...base, ...fields }, write),
  };
}
