import { Type, type Static } from '@sinclair/typebox';
import { ACCOUNT_ERROR_CODES } from './errors';
import { NAME_PATTERN, NAME_RULE, PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH } from './policy';
import { ROLES, type Role } from './roles';

const DateTime = (description: string) => Type.String({ format: 'date-time', description });

export const RoleSchema = Type.Unsafe<Role>({
  type: 'string',
  enum: [...ROLES],
  title: 'Role',
  description: 'viewer reads; operator also creates and cancels tasks, uploads masters, edits channel lists and replays; admin also manages users, destinations and tokens.',
});

export const NameSchema = Type.String({ pattern: NAME_PATTERN, minLength: 1, maxLength: 64, description: `User or token name: ${NAME_RULE}.` });

const PasswordSchema = Type.String({
  minLength: PASSWORD_MIN_LENGTH,
  maxLength: PASSWORD_MAX_LENGTH,
  description: `${PASSWORD_MIN_LENGTH} to ${PASSWORD_MAX_LENGTH} characters.`,
  writeOnly: true,
});

export const UserSchema = Type.Object(
  {
    name: NameSchema,
    role: RoleSchema,
    disabled: Type.Boolean({ description: 'A disabled user cannot log in.' }),
    createdAt: DateTime('When the user was created.'),
    createdBy: Type.String({ description: 'Who created the user: a user or token name, or "configuration".' }),
    updatedAt: DateTime('Last change of role, password or state.'),
    updatedBy: Type.String({ description: 'Who made the last change.' }),
    lastLoginAt: Type.Union([DateTime('Last successful login.'), Type.Null()]),
  },
  { title: 'User', additionalProperties: false },
);

export const UserListSchema = Type.Array(UserSchema, { title: 'Users' });

export const CreateUserRequestSchema = Type.Object(
  { name: NameSchema, role: RoleSchema, password: PasswordSchema },
  { title: 'New user', additionalProperties: false },
);

export const SetRoleRequestSchema = Type.Object({ role: RoleSchema }, { title: 'Role change', additionalProperties: false });

export const SetPasswordRequestSchema = Type.Object({ password: PasswordSchema }, { title: 'Password change', additionalProperties: false });

export const LoginRequestSchema = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 256, description: 'User name.' }),
    password: Type.String({ minLength: 1, maxLength: 4096, writeOnly: true }),
  },
  { title: 'Login', additionalProperties: false },
);

/** The body of a login and of "who am I": the session id itself travels only in the HttpOnly cookie. */
export const SessionSchema = Type.Object(
  {
    user: UserSchema,
    csrfToken: Type.String({ description: 'Send as the X-CSRF-Token header on every request that changes data.' }),
    expiresAt: DateTime('When the session ends at the latest; it ends sooner after a stretch without requests.'),
  },
  { title: 'Session', additionalProperties: false },
);

export const PrincipalSchema = Type.Object(
  {
    kind: Type.Unsafe<'session' | 'token'>({ type: 'string', enum: ['session', 'token'], description: 'How the caller authenticated.' }),
    name: Type.String({ description: 'User name, or the API token name.' }),
    role: RoleSchema,
  },
  { title: 'Caller', additionalProperties: false },
);

export const TokenSchema = Type.Object(
  {
    id: Type.String({ pattern: '^[0-9a-f]{16}$', description: 'Token id, for revoking it.' }),
    name: NameSchema,
    role: RoleSchema,
    createdBy: Type.String(),
    createdAt: DateTime('When the token was created.'),
    expiresAt: Type.Union([DateTime('When the token stops working.'), Type.Null()], { description: 'null: until revoked.' }),
    lastUsedAt: Type.Union([DateTime('Last request made with it (to the minute).'), Type.Null()]),
  },
  { title: 'API token', additionalProperties: false },
);

export const TokenListSchema = Type.Array(TokenSchema, { title: 'API tokens' });

export const CreateTokenRequestSchema = Type.Object(
  { name: NameSchema, role: RoleSchema, expiresAt: Type.Optional(DateTime('When it stops working; omit for a token that works until revoked.')) },
  { title: 'New API token', additionalProperties: false },
);

export const TokenCreatedSchema = Type.Composite(
  [
    TokenSchema,
    Type.Object({
      token: Type.String({
        pattern: '^spk_[A-Za-z0-9_-]{43}$',
        description: 'The secret, shown only now: send it as "Authorization: Bearer <token>".',
      }),
    }),
  ],
  { title: 'API token created', additionalProperties: false },
);

export const AccountErrorCodeSchema = Type.Unsafe<(typeof ACCOUNT_ERROR_CODES)[number]>({ type: 'string', enum: [...ACCOUNT_ERROR_CODES] });

export type UserBody = Static<typeof UserSchema>;
export type TokenBody = Static<typeof TokenSchema>;
export type TokenCreatedBody = Static<typeof TokenCreatedSchema>;
export type SessionBody = Static<typeof SessionSchema>;
export type LoginRequest = Static<typeof LoginRequestSchema>;
export type CreateUserRequest = Static<typeof CreateUserRequestSchema>;
export type CreateTokenRequest = Static<typeof CreateTokenRequestSchema>;
