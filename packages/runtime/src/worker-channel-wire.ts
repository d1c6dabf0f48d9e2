// What crosses between WorkerChannel (worker-channel.ts) and serveChannel (worker-channel-serve.ts):
// the protocol types, the messages, and errors as plain data. Nothing but types is imported, so a
// worker loads only this and its own side.
import type { TransferListItem } from 'node:worker_threads';

/** What a transfer list may hold (ArrayBuffers, MessagePorts, ...). */
export type Transferable = TransferListItem;

/** A method: what goes in, what comes back, and what it may emit while it runs. */
export interface Method<Request = unknown, Result = unknown, Event = never> {
  request: Request;
  result: Result;
  event: Event;
}

/** What a worker speaks: what it sends once it is up, its methods, and its unsolicited notices. */
export interface Protocol {
  ready: unknown;
  methods: Record<string, Method<unknown, unknown, unknown>>;
  notice: unknown;
}

/** An error as it crosses threads: name, message and its own plain fields (field, code, ...). */
export interface WireError {
  name: string;
  message: string;
  [field: string]: string | number | boolean;
}

export type ToWorker =
  | { t: 'call'; id: number; method: string; request: unknown; cancel: SharedArrayBuffer }
  | { t: 'cancel'; id: number }
  | { t: 'close' };

export type FromWorker =
  | { t: 'ready'; value: unknown }
  | { t: 'failed'; error: WireError }
  | { t: 'event'; id: number; event: unknown }
  | { t: 'result'; id: number; value: unknown }
  | { t: 'error'; id: number; error: WireError }
  | { t: 'notice'; value: unknown }
  | { t: 'closed' };

/** Keeps an error's class name, message and plain own fields; classes do not survive a thread hop. */
export function toWireError(error: unknown): WireError {
  if (!(error instanceof Error)) return { name: 'Error', message: String(error) };
  const wire: WireError = { name: error.name, message: error.message };
  for (const [key, value] of Object.entries(error)) {
    if (['string', 'number', 'boolean'].includes(typeof value)) wire[key] = value as string;
  }
  return wire;
}

/** The default rebuild: an Error with the original name, message and plain fields. */
export function fromWireError(wire: WireError): Error {
  const { name, message, ...fields } = wire;
  return Object.assign(new Error(message), fields, { name });
}
