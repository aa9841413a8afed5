import { randomBytes } from 'node:crypto';

/** A fresh opaque id with a kind prefix (`l_…` for a list): safe in a URL, a Redis key and a file name. */
export function newId(kind: string): string {
  return `${kind}_${randomBytes(9).toString('base64url')}`;
}

export const OPAQUE_ID = /^[a-z]{1,4}_[A-Za-z0-9_-]{6,40}$/;

/**
 * A cursor over a newest-first sorted set: the score and member of the last item seen, so items added meanwhile
 * neither repeat nor shift the pages.
 */
export function encodeCursor(score: number, member: string): string {
  return Buffer.from(JSON.stringify([score, member])).toString('base64url');
}

export function decodeCursor(cursor: string | undefined): { score: number; member: string } | undefined {
  if (cursor === undefined) return undefined;
  try {
    const parsed: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (Array.isArray(parsed) && typeof parsed[0] === 'number' && typeof parsed[1] === 'string') return { score: parsed[0], member: parsed[1] };
  } catch {
    // answered below
  }
  return undefined;
}
