export { ROLES, isRole, roleAllows, type Role } from './roles';
export { ACCOUNT_ERROR_CODES, AccountError, type AccountErrorCode } from './errors';
export { NAME_PATTERN, PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH, checkPassword, checkRole, checkUserName } from './policy';
export { Users, type User } from './users';
export { Sessions, DEFAULT_SESSION_OPTIONS, type LoginResult, type SessionOptions } from './sessions';
export { ApiTokens, TOKEN_PREFIX, type ApiToken, type CreatedToken } from './tokens';
export type { Principal } from './principal';
export { CSRF_HEADER, checkCsrf } from './csrf';
export { sameSecret } from './secrets';
export { SESSION_COOKIE, clearedSessionCookie, cookieMaxAge, readSessionCookie, sessionCookie, type SessionCookieOptions } from './cookies';
export { ACCOUNTS_CONFIG, firstAdminFrom, sessionOptionsFrom, type AccountsConfig, type FirstAdmin } from './config';
export { CONFIGURATION_ACTOR, ensureFirstAdmin, type FirstAdminOutcome } from './first-admin';
export {
  CreateTokenRequestSchema,
  CreateUserRequestSchema,
  LoginRequestSchema,
  PrincipalSchema,
  SessionSchema,
  SetPasswordRequestSchema,
  SetRoleRequestSchema,
  TokenCreatedSchema,
  TokenListSchema,
  TokenSchema,
  UserListSchema,
  UserSchema,
} from './schemas';
