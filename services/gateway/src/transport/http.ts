// The gateway's HTTP handler: CORS (when configured) around the plain HTTP
// routes, and everything else to the Connect handler (gRPC, gRPC-Web,
// Connect/JSON). The same handler serves HTTP/1.1 and HTTP/2 on one port.
import type { NodeHandler, ServiceContext } from '@acestep/runtime';
import type { GatewayConfig } from '../config.ts';
import { parseCorsOrigins, withCors } from './cors.ts';
import { abortResponse, type HttpRequest, type HttpResponse, sendJson } from './node-http.ts';

/** A plain HTTP route: answers and returns true, or returns false to pass the request on. */
export type HttpRoute = (req: HttpRequest, res: HttpResponse) => boolean | Promise<boolean>;

export function gatewayHttp(
  connect: NodeHandler,
  context: ServiceContext<GatewayConfig>,
  routes: HttpRoute[] = [],
): NodeHandler {
  const { logger } = context;
  const handler: NodeHandler = (req, res) => {
    (async () => {
      for (const route of routes) if (await route(req, res)) return;
      connect(req, res);
    })().catch((error: unknown) => {
      logger.error('http route failed', { url: req.url, error: String(error) });
      if (!res.headersSent) sendJson(res, 500, { error: 'internal error' });
      else abortResponse(res);
    });
  };
  return withCors(parseCorsOrigins(context.config.corsOrigins), handler);
}
