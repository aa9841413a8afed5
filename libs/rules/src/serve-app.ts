/** A served app's name is a URL path segment (/apk/<app>/…) and part of Redis key names. */
export const APP_NAME_PATTERN = '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$';
export const APP_NAME_RULE = 'must be 1-64 letters, digits, ".", "_" or "-", starting with a letter or digit';

/** Why this app name is unusable, or null; the message completes "app name <name> …". */
export function appNameProblem(name: string): string | null {
  return new RegExp(APP_NAME_PATTERN).test(name) ? null : APP_NAME_RULE;
}
