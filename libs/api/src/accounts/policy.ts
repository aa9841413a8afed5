import { quoted } from '@subpack/rules';
import { AccountError } from './errors';
import { isRole, ROLES, type Role } from './roles';

/** User and token names: safe in URLs, logs and Redis keys without escaping. */
export const NAME_PATTERN = '^[A-Za-z0-9._@-]{1,64}$';
const NAME_RE = new RegExp(NAME_PATTERN);
export const NAME_RULE = '1 to 64 characters: letters A-Z a-z, digits, and . _ - @';

export const PASSWORD_MIN_LENGTH = 10;
export const PASSWORD_MAX_LENGTH = 1024;

export function isValidName(name: string): boolean {
  return NAME_RE.test(name);
}

export function checkUserName(name: string): string {
  if (!isValidName(name)) throw new AccountError('BAD_USER_NAME', `invalid user name ${quoted(name)}: must be ${NAME_RULE}`);
  return name;
}

export function checkTokenName(name: string): string {
  if (!isValidName(name)) throw new AccountError('BAD_TOKEN_NAME', `invalid token name ${quoted(name)}: must be ${NAME_RULE}`);
  return name;
}

export function checkRole(role: string): Role {
  if (!isRole(role)) throw new AccountError('BAD_ROLE', `invalid role ${quoted(role)}: must be one of ${ROLES.join(', ')}`);
  return role;
}

/**
 * Names are unique without regard to case, so "Admin" cannot stand beside "admin"; the name as first written is kept
 * for display.
 */
export function canonicalName(name: string): string {
  return name.toLowerCase();
}

/** Length is counted in characters (code points), so a passphrase in any script gets the same rule. */
export function passwordProblem(password: string): string | undefined {
  const length = [...password].length;
  if (length < PASSWORD_MIN_LENGTH) return `is ${length} characters long; use at least ${PASSWORD_MIN_LENGTH}`;
  if (length > PASSWORD_MAX_LENGTH) return `is ${length} characters long; use at most ${PASSWORD_MAX_LENGTH}`;
  if (password.trim() === '') return 'is only white space';
  return undefined;
}

/** The message names the length rule only: a refused password is never echoed. */
export function checkPassword(password: string): string {
  const problem = passwordProblem(password);
  if (problem !== undefined) throw new AccountError('WEAK_PASSWORD', `the password ${problem}`);
  return password;
}
