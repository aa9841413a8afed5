import type { Role } from './roles';

/**
 * Who is calling. `sessionId` is the stored handle of the session (the SHA-256 of the cookie's id), never the cookie
 * value, so it may be logged; `csrfToken` is for checkCsrf only and is not.
 */
export type Principal =
  | { kind: 'session'; name: string; role: Role; sessionId: string; csrfToken: string }
  | { kind: 'token'; name: string; role: Role; tokenId: string };
