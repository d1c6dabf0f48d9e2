// The optional API key (--api-key), one rule for every entry point: the key
// comes as "Authorization: Bearer <key>" or as "X-Api-Key: <key>"; the bare
// key in Authorization only on the official REST routes (rest/), because the
// official REST server and its clients send it so, and those routes also take
// it as `ai_token` in the body. Which tenant a key names, and refusing unknown
// keys, is tenants.ts's job; it compares keys by their SHA-256 digest, so the
// time a lookup takes says nothing about how much of a guessed key is right
// (docs/api-keys.md).
import { StatusError } from '@acestep/runtime';

const BEARER = /^Bearer\s+(\S.*)$/i;

/**
 * The key a request carries in its headers, if any. `bare` accepts a key without "Bearer" in
 * Authorization (the official REST routes); elsewhere such a header is UNAUTHENTICATED, saying how
 * to send the key.
 */
export function keyFromHeaders(
  get: (name: string) => string | undefined | null,
  opts: { bare?: boolean } = {},
): string | undefined {
  const authorization = get('authorization')?.trim();
  if (authorization) {
    const bearer = BEARER.exec(authorization);
    if (bearer) return bearer[1]!.trim();
    if (opts.bare) return authorization;
    throw new StatusError(
      'UNAUTHENTICATED',
      'the Authorization header must be "Bearer <key>" (or send "X-Api-Key: <key>")',
    );
  }
  return get('x-api-key')?.trim() || undefined;
}
