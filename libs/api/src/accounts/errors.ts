import { BadInputError } from '@subpack/rules';

/**
 * Every code an account error carries, the one list of them: the HTTP layer maps each to a status and a problem type,
 * the CLI prints the message. A code never changes meaning once published.
 */
export const ACCOUNT_ERROR_CODES = [
  /** Unknown user, wrong password, disabled user, or a malformed name: one answer, so none of them can be probed. */
  'BAD_CREDENTIALS',
  /** Too many failed logins for this user name or address; `retryAfterSeconds` says when to try again. */
  'RATE_LIMITED',
  /** The change would leave no enabled admin. */
  'LAST_ADMIN',
  'USER_EXISTS',
  'UNKNOWN_USER',
  'UNKNOWN_TOKEN',
  'BAD_USER_NAME',
  'BAD_TOKEN_NAME',
  'BAD_ROLE',
  'WEAK_PASSWORD',
  'BAD_EXPIRY',
  /** A cookie-authenticated write without the session's X-CSRF-Token. */
  'CSRF_MISMATCH',
] as const;

export type AccountErrorCode = (typeof ACCOUNT_ERROR_CODES)[number];

/** A request about users, sessions or tokens that cannot succeed as sent. The message never holds a secret. */
export class AccountError extends BadInputError {
  override readonly name = 'AccountError';
  constructor(
    readonly code: AccountErrorCode,
    message: string,
    /** Set with RATE_LIMITED: whole seconds until a login may be tried again. */
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
  }
}
