// Sends one hostile case (hostile-corpus.ts) and reports what came back: the
// status (HTTP, or gRPC's grpc-status), the error text, how long it took, and
// whether the connection broke or the answer never came (a hang).
import { request as httpRequest } from 'node:http';
import { connect as http2Connect } from 'node:http2';
import { connect as tcpConnect } from 'node:net';
import type { HostileCase } from './hostile-corpus.ts';

export interface HostileAnswer {
  /** HTTP status, or grpc-status for gRPC (its HTTP status when the answer carried none). */
  status: number;
  message: string;
  ms: number;
  /** Set when no answer came: 'hang' after the per-case timeout, else the transport error. */
  failure?: string;
}

export interface Target {
  /** "127.0.0.1:port" of the gateway. */
  address: string;
  /** Headers every case carries except those testing the key itself. */
  auth: Record<string, string>;
  timeoutMs: number;
}

export async function sendCase(c: HostileCase, target: Target): Promise<HostileAnswer> {
  const started = performance.now();
  const headers = c.group === 'auth' ? c.headers : { ...target.auth, ...c.headers };
  const send = c.transport === 'grpc' ? sendGrpc : c.transport === 'raw' ? sendRaw : sendHttp;
  const answer = await send(c, headers, target).catch(
    (error: Error): Omit<HostileAnswer, 'ms'> => ({
      status: 0,
      message: '',
      failure: error.name === 'TimeoutError' ? 'hang' : `${error.message} ${String(error.cause ?? '')}`,
    }),
  );
  return { ...answer, ms: performance.now() - started };
}

/** One request on its own connection: a case's answer never depends on a connection another case left. */
function sendHttp(
  c: HostileCase,
  headers: Record<string, string>,
  t: Target,
): Promise<Omit<HostileAnswer, 'ms'>> {
  return new Promise((resolve, reject) => {
    const [host, port] = t.address.split(':');
    const req = httpRequest(
      {
        host,
        port: Number(port),
        method: c.method,
        path: c.path,
        headers,
        agent: false,
        timeout: t.timeoutMs,
      },
      (res) => {
        let text = '';
        res.on('data', (chunk: Buffer) => {
          if (text.length < 4000) text += chunk.toString('utf8');
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, message: text.slice(0, 4000) }));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(Object.assign(new Error('no answer'), { name: 'TimeoutError' })));
    req.on('error', reject);
    req.end(c.body);
  });
}

function sendGrpc(
  c: HostileCase,
  headers: Record<string, string>,
  t: Target,
): Promise<Omit<HostileAnswer, 'ms'>> {
  return new Promise((resolve, reject) => {
    const session = http2Connect(`http://${t.address}`, { maxSessionMemory: 64 });
    const timer = setTimeout(() => {
      session.destroy();
      reject(Object.assign(new Error('no answer'), { name: 'TimeoutError' }));
    }, t.timeoutMs);
    let head: Record<string, unknown> = {};
    let body = '';
    const finish = (trailers: Record<string, unknown>) => {
      clearTimeout(timer);
      const all = { ...head, ...trailers };
      const grpcStatus = all['grpc-status'];
      // Without a gRPC status (an HTTP 415) the reason is in the body.
      const message = grpcStatus === undefined ? body : decodeURIComponent(String(all['grpc-message'] ?? ''));
      session.close();
      resolve({ status: grpcStatus === undefined ? Number(all[':status']) : Number(grpcStatus), message });
    };
    session.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    const stream = session.request({ ':method': c.method, ':path': c.path, ...headers });
    stream.on('response', (h) => {
      head = h;
    });
    stream.on('trailers', (trailers) => finish(trailers));
    stream.on('data', (chunk: Buffer) => {
      if (body.length < 4000) body += chunk.toString('utf8');
    });
    // A trailers-only answer (or a plain HTTP one) ends the stream with the status in the headers.
    stream.on('end', () => finish({}));
    stream.on('error', (error) => {
      // The server may reset the stream after answering (an oversize body it stopped reading).
      if (head[':status'] !== undefined) finish({});
      else {
        clearTimeout(timer);
        session.destroy();
        reject(error);
      }
    });
    stream.end(c.body);
  });
}

/** Writes the request bytes as they are (a lying Content-Length) and reads the status line and body. */
function sendRaw(
  c: HostileCase,
  _headers: Record<string, string>,
  t: Target,
): Promise<Omit<HostileAnswer, 'ms'>> {
  return new Promise((resolve, reject) => {
    const [host, port] = t.address.split(':');
    const socket = tcpConnect({ host: host!, port: Number(port) });
    let text = '';
    const done = () => {
      clearTimeout(timer);
      socket.destroy();
      const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(text)?.[1] ?? 0);
      if (!status) reject(new Error(`no HTTP answer: ${JSON.stringify(text.slice(0, 200))}`));
      else resolve({ status, message: text.slice(text.indexOf('\r\n\r\n') + 4, 4000) });
    };
    const timer = setTimeout(() => {
      if (text) done();
      else {
        socket.destroy();
        reject(Object.assign(new Error('no answer'), { name: 'TimeoutError' }));
      }
    }, t.timeoutMs);
    socket.on('data', (chunk) => {
      text += chunk.toString('latin1');
      // One whole answer: the head, then as many body bytes as it declares.
      const end = text.indexOf('\r\n\r\n');
      const length = Number(/content-length: (\d+)/i.exec(text)?.[1] ?? Number.NaN);
      if (end >= 0 && text.length >= end + 4 + length) done();
    });
    socket.on('end', done);
    socket.on('error', (error) => (text ? done() : reject(error)));
    socket.write(c.body ?? new Uint8Array(0));
  });
}
