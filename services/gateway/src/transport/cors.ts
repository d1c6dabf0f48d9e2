// Cross-origin access for browsers, off unless --cors-origins lists origins.
// The `cors` package answers preflights (OPTIONS → 204 with the allowed
// methods and headers) and sets Access-Control-Allow-Origin on responses; the
// header lists are Connect's own (connect-protocol-version, grpc-timeout, ...)
// plus what our plain HTTP routes use (Range, Authorization).
import type { NodeHandler } from '@acestep/runtime';
import { cors as connectCors } from '@connectrpc/connect';
import cors from 'cors';

/** "" = off; "*" = any origin; otherwise a comma-separated allow-list of exact origins. */
export function parseCorsOrigins(value: string): '*' | string[] | undefined {
  const trimmed = value.trim();
  if (trimmed === '') return undefined;
  if (trimmed === '*') return '*';
  return trimmed
    .split(',')
    .map((o) => o.trim())
    .filter((o) => o !== '');
}

/** Wraps a handler with CORS; without origins it is returned as it is (no CORS headers at all). */
export function withCors(origins: '*' | string[] | undefined, next: NodeHandler): NodeHandler {
  if (!origins) return next;
  const middleware = cors({
    origin: origins === '*' ? '*' : origins,
    methods: [...new Set([...connectCors.allowedMethods, 'PUT', 'DELETE', 'OPTIONS'])],
    allowedHeaders: [
      ...connectCors.allowedHeaders,
      'Authorization',
      'X-Api-Key',
      'X-Request-Id',
      'Range',
      'X-Filename',
    ],
    exposedHeaders: [
      ...connectCors.exposedHeaders,
      'X-Request-Id',
      'Content-Length',
      'Content-Range',
      'Accept-Ranges',
    ],
    maxAge: 7200,
  });
  return (req, res) => {
    middleware(req as never, res as never, () => next(req, res));
  };
}
