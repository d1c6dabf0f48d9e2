// curl as a user runs it (no protocol flags: HTTP/1.1), and Connect's
// streaming envelope (1 flag byte, 4 bytes big-endian length, the message).
import { execFile } from 'node:child_process';

export interface CurlResult {
  status: number;
  httpVersion: string;
  headers: Map<string, string>;
  body: Buffer;
}

/** Runs curl with `args`, returning the status line, headers and body. */
export function curl(args: string[], input?: Uint8Array): Promise<CurlResult> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      'curl',
      ['-sS', '-i', ...args],
      { encoding: 'buffer', maxBuffer: 512 << 20 },
      (error, stdout, stderr) => {
        if (error) return reject(new Error(`curl ${args.join(' ')}: ${error.message} ${stderr}`));
        resolve(parseResponse(stdout));
      },
    );
    if (input) child.stdin?.end(input);
  });
}

/** Splits `curl -i` output; skips interim 100 Continue responses. */
export function parseResponse(raw: Buffer): CurlResult {
  let rest = raw;
  for (;;) {
    const end = rest.indexOf('\r\n\r\n');
    const head = rest.subarray(0, end).toString('latin1');
    rest = rest.subarray(end + 4);
    const [statusLine, ...lines] = head.split('\r\n');
    const match = /^HTTP\/([\d.]+) (\d+)/.exec(statusLine ?? '');
    if (!match) throw new Error(`not an HTTP response: ${head.slice(0, 200)}`);
    if (match[2] === '100') continue;
    const headers = new Map<string, string>();
    for (const line of lines) {
      const at = line.indexOf(':');
      headers.set(line.slice(0, at).trim().toLowerCase(), line.slice(at + 1).trim());
    }
    return { status: Number(match[2]), httpVersion: match[1]!, headers, body: rest };
  }
}

export function envelope(message: unknown, flags = 0): Buffer {
  const body = Buffer.from(JSON.stringify(message));
  const out = Buffer.alloc(5 + body.byteLength);
  out.writeUInt8(flags, 0);
  out.writeUInt32BE(body.byteLength, 1);
  body.copy(out, 5);
  return out;
}

export function parseEnvelopes(bytes: Buffer): { flags: number; message: Record<string, unknown> }[] {
  const out: { flags: number; message: Record<string, unknown> }[] = [];
  for (let at = 0; at < bytes.byteLength; ) {
    const flags = bytes.readUInt8(at);
    const length = bytes.readUInt32BE(at + 1);
    out.push({ flags, message: JSON.parse(bytes.subarray(at + 5, at + 5 + length).toString('utf8')) });
    at += 5 + length;
  }
  return out;
}
