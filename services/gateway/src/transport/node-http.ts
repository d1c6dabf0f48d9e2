// node:http and node:http2's compatibility API share one request/response
// surface; these helpers let routes use it without caring which protocol the
// client spoke.
import type http from 'node:http';
import http2 from 'node:http2';
import type { NodeHandler } from '@acestep/runtime';

export type HttpRequest = Parameters<NodeHandler>[0];
export type HttpResponse = Parameters<NodeHandler>[1];
/** The common surface, typed as HTTP/1 (the HTTP/2 compat response has the same methods). */
export type Response = http.ServerResponse;

export function asResponse(res: HttpResponse): Response {
  return res as Response;
}

/** Aborts a response whose headers are already out (HTTP/2: resets only this stream). */
export function abortResponse(res: HttpResponse): void {
  if ('stream' in res) res.stream.close(http2.constants.NGHTTP2_INTERNAL_ERROR);
  else res.destroy();
}

export function sendJson(
  res: HttpResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const bytes = Buffer.from(`${JSON.stringify(body)}\n`);
  asResponse(res).writeHead(status, {
    'content-type': 'application/json',
    'content-length': String(bytes.byteLength),
    ...headers,
  });
  asResponse(res).end(bytes);
}

/** The path of the request URL without its query. */
export function pathOf(req: HttpRequest): string {
  return (req.url ?? '/').split('?', 1)[0] ?? '/';
}

export function queryOf(req: HttpRequest): URLSearchParams {
  const url = req.url ?? '/';
  const at = url.indexOf('?');
  return new URLSearchParams(at < 0 ? '' : url.slice(at + 1));
}

/** One request header as a string (the first value of a repeated one). */
export function header(req: HttpRequest, name: string): string | undefined {
  const value = req.headers[name.toLowerCase()];
  return Array.isArray(value) ? value[0] : value;
}
