// Connect clients of a service (gRPC protocol over HTTP/2), as a user's program
// would make them. Compression is off: audio and tensors do not compress.
import type { DescService } from '@bufbuild/protobuf';
import { type Client, createClient } from '@connectrpc/connect';
import { createGrpcTransport } from '@connectrpc/connect-node';

export function connectClient<S extends DescService>(
  service: S,
  address: string,
  headers?: Record<string, string>,
): Client<S> {
  const baseUrl = address.includes('://') ? address : `http://${address}`;
  const transport = createGrpcTransport({
    baseUrl,
    acceptCompression: [],
    // maxSessionMemory (MB): Node's default of 10 counts a message being sent, so
    // a message over 10 MB reset its own stream (ENHANCE_YOUR_CALM) before the
    // server could answer with its limit.
    nodeOptions: { settings: { initialWindowSize: 16 << 20 }, maxSessionMemory: 64 },
    // Headers every call carries (an API key).
    ...(headers
      ? {
          interceptors: [
            (next) => async (req) => {
              for (const [k, v] of Object.entries(headers)) req.header.set(k, v);
              return next(req);
            },
          ],
        }
      : {}),
  });
  return createClient(service, transport);
}
