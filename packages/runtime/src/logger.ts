// Structured JSON logs, one object per line on stdout. The request id of the
// call being served rides in AsyncLocalStorage, so every line logged while
// handling a call carries it without passing it around; stage clients forward
// it to the next service in the x-request-id header.
import { AsyncLocalStorage } from 'node:async_hooks';
import type { LogLevel } from './config.ts';

const LEVELS: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export interface RequestScope {
  requestId: string;
  method?: string;
}

const scope = new AsyncLocalStorage<RequestScope>();

/** Runs fn with a request scope; logs inside carry its id. */
export function withRequestScope<T>(value: RequestScope, fn: () => T): T {
  return scope.run(value, fn);
}

export function currentRequestId(): string | undefined {
  return scope.getStore()?.requestId;
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
