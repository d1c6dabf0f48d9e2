// The public API from the browser: a Connect-Web client of acestep.v1 on the
// page's own origin (the gateway that served it), binary protobuf over fetch,
// with the API key from local storage on every call.
import { GatewayService } from '@acestep/proto/gateway';
import { type Client, createClient, type Interceptor } from '@connectrpc/connect';
import { createConnectTransport } from '@connectrpc/connect-web';

const KEY_STORAGE = 'acestep.apiKey';

export function storedApiKey(): string {
  return localStorage.getItem(KEY_STORAGE) ?? '';
}

export function storeApiKey(key: string): void {
  if (key) localStorage.setItem(KEY_STORAGE, key);
  else localStorage.removeItem(KEY_STORAGE);
}

const apiKey: Interceptor = (next) => (req) => {
  const key = storedApiKey();
  if (key) req.header.set('authorization', `Bearer ${key}`);
  return next(req);
};

export type Gateway = Client<typeof GatewayService>;

export const gateway: Gateway = createClient(
  GatewayService,
  createConnectTransport({ baseUrl: location.origin, useBinaryFormat: true, interceptors: [apiKey] }),
);

/** A stored object's bytes (DownloadAudio), as a Blob the page can play and save. */
export async function downloadBlob(objectId: string, format: string): Promise<Blob> {
  const parts: Uint8Array<ArrayBuffer>[] = [];
  for await (const piece of gateway.downloadAudio({ objectId }))
    parts.push(piece.data as Uint8Array<ArrayBuffer>);
  return new Blob(parts, { type: MIME[format] ?? 'application/octet-stream' });
}

/**
 * Stores a file on the gateway by a plain HTTP PUT /v1/objects (streamed to
 * storage; browsers cannot stream a request to a Connect call) and returns the
 * object id to pass as an AudioSource.
 */
export async function uploadFile(file: Blob): Promise<string> {
  const key = storedApiKey();
  const res = await fetch(new URL('/v1/objects', location.origin), {
    method: 'PUT',
    body: file,
    headers: key ? { authorization: `Bearer ${key}` } : {},
  });
  const body = (await res.json().catch(() => ({}))) as { object_id?: string; error?: string };
  if (!res.ok || !body.object_id) throw new Error(body.error ?? `upload failed: HTTP ${res.status}`);
  return body.object_id;
}

const MIME: Record<string, string> = { mp3: 'audio/mpeg', wav: 'audio/wav', flac: 'audio/flac' };

/** The error text a person can act on: the gateway's message with its code. */
export function errorText(error: unknown): string {
  const e = error as { rawMessage?: string; message?: string; code?: number };
  return e.rawMessage ?? e.message ?? String(error);
}
