import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Signed channel links: `?expires=<unix seconds>&sig=<base64url HMAC-SHA256>`. The MAC covers the app, the channel
 * and the expiry, so a link works for that one APK until it expires and cannot be altered into another.
 */
export function urlSignature(key: string, app: string, channel: string, expires: number): string {
  return createHmac('sha256', key).update(`${app}\n${channel}\n${expires}`, 'utf8').digest('base64url');
}

export function signedQuery(key: string, app: string, channel: string, expires: number): string {
  return `expires=${expires}&sig=${urlSignature(key, app, channel, expires)}`;
}

/** Why a request's signature is not acceptable, or null when it is. `nowSeconds` is the server's clock. */
export function signatureProblem(
  key: string,
  app: string,
  channel: string,
  query: { expires?: unknown; sig?: unknown },
  nowSeconds: number,
): string | null {
  if (typeof query.expires !== 'string' || typeof query.sig !== 'string') return 'this link needs ?expires=&sig= (a signed URL)';
  if (!/^\d{1,12}$/.test(query.expires)) return 'expires is not a Unix time in seconds';
  const expires = Number(query.expires);
  const expected = Buffer.from(urlSignature(key, app, channel, expires), 'utf8');
  const given = Buffer.from(query.sig, 'utf8');
  // Constant-time comparison so the signature cannot be found byte by byte from response timings.
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return 'the signature does not match';
  if (expires < nowSeconds) return 'the link has expired';
  return null;
}
