// Job and object ids. Job ids sort by creation time (a fixed-width base-36
// millisecond clock, then randomness), so listing newest-first is a sort of the
// ids and a page token is simply the last id returned.
import { randomBytes } from 'node:crypto';

const CLOCK_DIGITS = 9; // 36^9 ms ≈ 3,200 years
const ID_PATTERN = /^[0-9a-z]{9}[0-9a-z]{12}$/;
const OBJECT_ID_PATTERN = /^o[0-9A-Za-z_-]{22}$/;

function randomBase36(length: number): string {
  let out = '';
  for (const byte of randomBytes(length)) out += (byte % 36).toString(36);
  return out;
}

export function newJobId(now = Date.now()): string {
  return now.toString(36).padStart(CLOCK_DIGITS, '0') + randomBase36(12);
}

export function isJobId(id: string): boolean {
  return ID_PATTERN.test(id);
}

/** Object ids are random (128 bits) and safe as file names and NATS object names. */
export function newObjectId(): string {
  return `o${randomBytes(16).toString('base64url')}`;
}

export function isObjectId(id: string): boolean {
  return OBJECT_ID_PATTERN.test(id);
}
