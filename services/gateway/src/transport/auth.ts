// The optional API key (--api-key), one rule for every entry point: the key
// comes as "Authorization: Bearer <key>", as the bare key in Authorization
// (the official REST server accepts both), or as "X-Api-Key: <key>"; the REST
// body routes also take it as `ai_token` (rest/ does that). Which tenant a key
// names, and refusing unknown keys, is tenants.ts's job.
/** The key a request carries in its headers, if any. */
export function keyFromHeaders(get: (name: string) => string | undefined | null): string | undefined {
  const authorization = get('authorization')?.trim();
  if (authorization) return authorization.replace(/^Bearer\s+/i, '');
  return get('x-api-key')?.trim() || undefined;
}
