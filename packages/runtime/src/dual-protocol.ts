// One port for HTTP/1.1 and HTTP/2 cleartext (h2c with prior knowledge).
//
// Written by hand because neither node:http2 nor a maintained npm package does
// it: `allowHTTP1` exists only on TLS servers, where ALPN picks the protocol.
// Without TLS the only signal is the client's first bytes: an HTTP/2 client
// opens with the fixed connection preface "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
// anything else is HTTP/1.x (curl without flags, browsers over http://).
// gRPC clients therefore keep HTTP/2, and `curl`/`fetch` get HTTP/1.1, on the
// same port and through the same handler.
import http from 'node:http';
import http2 from 'node:http2';
import net from 'node:net';

const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');

export type NodeHandler = (
  req: http.IncomingMessage | http2.Http2ServerRequest,
  res: http.ServerResponse | http2.Http2ServerResponse,
) => void;

export interface DualProtocolServer {
  /** The listening socket server. */
  listener: net.Server;
  http1: http.Server;
  http2: http2.Http2Server;
}

export function createDualProtocolServer(
  handler: NodeHandler,
  http2Options: http2.ServerOptions,
): DualProtocolServer {
  const h1 = http.createServer(
    {
      // Uploads of hundreds of MB may take longer than the default 5 minutes to
      // arrive; headers still have to arrive within headersTimeout.
      requestTimeout: 0,
      keepAliveTimeout: 5_000,
    },
    handler as http.RequestListener,
  );
  const h2 = http2.createServer(http2Options, handler as (req: unknown, res: unknown) => void);
  // "Expect: 100-continue" reaches the handler unanswered: an upload route can
  // refuse an oversized body (413) before the client sends it. Handlers that
  // read bodies call `continueIfExpected` first.
  h1.on('checkContinue', handler as http.RequestListener);
  h2.on('checkContinue', handler as (req: unknown, res: unknown) => void);
  const listener = net.createServer((socket) => {
    let seen: Buffer = Buffer.alloc(0);
    const onData = (chunk: Buffer) => {
      seen = seen.length === 0 ? chunk : Buffer.concat([seen, chunk]);
      const n = Math.min(seen.length, PREFACE.length);
      const isHttp2 = seen.subarray(0, n).equals(PREFACE.subarray(0, n));
      if (isHttp2 && seen.length < PREFACE.length) return; // the preface may arrive in pieces
      socket.off('data', onData);
      socket.off('error', onEarlyError);
      if (isHttp2) {
        // node:http2 drains what is buffered on the socket before it reads the handle.
        socket.pause();
        socket.unshift(seen);
        h2.emit('connection', socket);
      } else {
        // node:http reads the socket's handle directly: hand it the bytes already read.
        h1.emit('connection', socket);
        socket.emit('data', seen);
      }
    };
    const onEarlyError = () => socket.destroy();
    socket.on('data', onData);
    socket.on('error', onEarlyError);
  });
  return { listener, http1: h1, http2: h2 };
}

/** Lets a client that sent "Expect: 100-continue" send its body. */
export function continueIfExpected(req: Parameters<NodeHandler>[0], res: Parameters<NodeHandler>[1]): void {
  if (/100-continue/i.test(String(req.headers.expect ?? '')) && !res.headersSent) res.writeContinue();
}
