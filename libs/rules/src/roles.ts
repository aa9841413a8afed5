/**
 * Roles of the HTTP API's callers, from least to most trusted; each may do everything the roles before it may. Here
 * because both the API (who may do what) and its audit records on the broker (who did it) name them.
 */
export const API_ROLES = ['viewer', 'operator', 'admin'] as const;
export type ApiRole = (typeof API_ROLES)[number];
