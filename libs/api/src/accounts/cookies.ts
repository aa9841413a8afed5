import { SECRET_PATTERN } from './secrets';

export const SESSION_COOKIE = 'subpack_session';

export interface SessionCookieOptions {
  /** Served over TLS (directly or behind a proxy that terminates it): the browser then sends the cookie over TLS only. */
  secure: boolean;
  maxAgeSeconds: number;
}

// HttpOnly keeps the id from page scripts; SameSite=Strict keeps other sites from sending it at all.
function attributes(secure: boolean): string {
  return `Path=/; HttpOnly; SameSite=Strict${secure ? '; Secure' : ''}`;
}

/** The Set-Cookie value that starts a session in the browser. */
export function sessionCookie(sessionId: string, options: SessionCookieOptions): string {
  return `${SESSION_COOKIE}=${sessionId}; Max-Age=${Math.max(0, Math.floor(options.maxAgeSeconds))}; ${attributes(options.secure)}`;
}

/** Max-Age for a session that ends at `expiresAt` (ISO 8601), as login returns it. */
export function cookieMaxAge(expiresAt: string, now = Date.now()): number {
  return Math.max(0, Math.floor((Date.parse(expiresAt) - now) / 1000));
}

/** The Set-Cookie value that makes the browser drop the session cookie (logout, or a session that ended). */
export function clearedSessionCookie(options: { secure: boolean }): string {
  return `${SESSION_COOKIE}=; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT; ${attributes(options.secure)}`;
}

/**
 * The session id from a Cookie header, or undefined. Only a value of the shape a session id has is taken, so a stray
 * or forged cookie never reaches Redis; of several cookies with our name (a parent domain can set one too) the first
 * well-formed one wins.
 */
export function readSessionCookie(cookieHeader: string | readonly string[] | undefined): string | undefined {
  const headers = typeof cookieHeader === 'string' ? [cookieHeader] : (cookieHeader ?? []);
  for (const header of headers) {
    for (const pair of header.split(';')) {
      const eq = pair.indexOf('=');
      if (eq === -1 || pair.slice(0, eq).trim() !== SESSION_COOKIE) continue;
      let value = pair.slice(eq + 1).trim();
      if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) value = value.slice(1, -1);
      if (SECRET_PATTERN.test(value)) return value;
    }
  }
  return undefined;
}
