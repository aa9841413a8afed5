import { AccountError } from './errors';
import type { Principal } from './principal';
import { sameSecret } from './secrets';

/** The header a browser client copies the session's CSRF token into on every write. */
export const CSRF_HEADER = 'X-CSRF-Token';

/**
 * Refuses a cookie-authenticated write whose X-CSRF-Token header is not the session's token (a synchronizer token: a
 * page on another origin can make the browser send the cookie, but cannot read the token). A bearer token is never
 * sent by a browser on its own, so token callers need no header.
 */
export function checkCsrf(principal: Principal, headerValue: string | readonly string[] | undefined): void {
  if (principal.kind === 'token') return;
  const sent = typeof headerValue === 'string' ? headerValue : undefined;
  if (sent === undefined || !sameSecret(sent, principal.csrfToken)) {
    throw new AccountError('CSRF_MISMATCH', `this request changes data and needs the ${CSRF_HEADER} header with the token given at login`);
  }
}
