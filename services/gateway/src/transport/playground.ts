// The web playground's built files (packages/playground/dist) at `/`, served
// by sirv (ETags, content types, HEAD) ahead of the API routes. The page then
// talks to this same origin through Connect-Web, so it needs no CORS.
import { existsSync, readdirSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import { join } from 'node:path';
import type { Logger } from '@acestep/runtime';
import sirv from 'sirv';
import type { HttpRoute } from './http.ts';
import { asResponse, pathOf } from './node-http.ts';

const NOT_BUILT = 'the playground is not built: run `pnpm build:playground` (scripts/setup.sh does)\n';

/** GET / and the built files; anything else goes on to the API. Off: every request goes on. */
export function playgroundRoute(dir: string, enabled: boolean, logger: Logger): HttpRoute {
  if (!enabled) return () => false;
  const built = existsSync(join(dir, 'index.html'));
  if (!built) logger.warn(NOT_BUILT.trim(), { dir });
  const files = new Set(built ? readdirSync(dir, { recursive: true }).map((f) => `/${f}`) : []);
  // dev: stat each file per request (no cached sizes), so a rebuild while the gateway runs is served whole.
  const serve = built ? sirv(dir, { etag: true, dev: true }) : undefined;
  return (req, res) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') return false;
    const path = pathOf(req);
    if (!serve) {
      if (path !== '/') return false;
      asResponse(res).writeHead(503, { 'content-type': 'text/plain; charset=utf-8' }).end(NOT_BUILT);
      return true;
    }
    if (path !== '/' && !files.has(path)) return false;
    // sirv is typed for node:http; the HTTP/2 compat pair has the surface it uses.
    serve(req as IncomingMessage, asResponse(res), () => {
      asResponse(res).writeHead(404).end();
    });
    return true;
  };
}
