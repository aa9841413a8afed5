import { API_ROLES } from '@subpack/rules';

/** Roles from least to most trusted; each one may do everything the roles before it may. */
export const ROLES = API_ROLES;

/**
 * viewer reads; operator also creates and cancels tasks, uploads masters, edits channel lists and replays; admin also
 * manages users, destinations and API tokens.
 */
export type Role = (typeof ROLES)[number];

export function isRole(value: unknown): value is Role {
  return typeof value === 'string' && (ROLES as readonly string[]).includes(value);
}

/** Whether a caller holding `role` may do what needs `needed`. */
export function roleAllows(role: Role, needed: Role): boolean {
  return ROLES.indexOf(role) >= ROLES.indexOf(needed);
}
