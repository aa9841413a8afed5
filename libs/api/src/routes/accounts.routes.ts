import { Type } from '@sinclair/typebox';
import {
  clearedSessionCookie,
  cookieMaxAge,
  CreateTokenRequestSchema,
  CreateUserRequestSchema,
  LoginRequestSchema,
  PrincipalSchema,
  readSessionCookie,
  SessionSchema,
  sessionCookie,
  SetPasswordRequestSchema,
  SetRoleRequestSchema,
  TokenCreatedSchema,
  TokenListSchema,
  UserListSchema,
  UserSchema,
  type ApiTokens,
  type Sessions,
  type Users,
} from '../accounts';
import { problem } from '../http/problem';
import { defineRoute, type Route } from '../http/route';

export interface AccountServices {
  users: Users;
  sessions: Sessions;
  tokens: ApiTokens;
  /** Served over TLS (directly or behind a proxy that says so): cookies get Secure. */
  secureCookies: boolean;
}

const WhoAmISchema = Type.Object({ caller: PrincipalSchema, csrfToken: Type.Union([Type.String(), Type.Null()]), user: Type.Union([UserSchema, Type.Null()]) }, { title: 'WhoAmI' });

/** Sign-in, the caller, users and API tokens. */
export function accountRoutes(a: AccountServices): Route[] {
  return [
    defineRoute({
      method: 'POST',
      path: '/session',
      access: 'public',
      operationId: 'login',
      summary: 'Sign in with a user name and password; the session travels in an HttpOnly cookie',
      tag: 'accounts',
      body: LoginRequestSchema,
      bodyLimit: 8 * 1024,
      responses: { 200: { description: 'Signed in.', schema: SessionSchema }, 401: { description: 'Wrong user name or password.' }, 429: { description: 'Too many failures; Retry-After says when to try again.' } },
      handle: async ({ body, ip, note }) => {
        note(body.name);
        const login = await a.sessions.login(body.name, body.password, ip);
        return {
          body: { user: login.user, csrfToken: login.csrfToken, expiresAt: login.expiresAt },
          headers: { 'set-cookie': sessionCookie(login.sessionId, { secure: a.secureCookies, maxAgeSeconds: cookieMaxAge(login.expiresAt) }) },
        };
      },
    }),
    defineRoute({
      method: 'DELETE',
      path: '/session',
      access: 'public',
      operationId: 'logout',
      summary: 'Sign out',
      tag: 'accounts',
      responses: { 204: { description: 'Signed out (also when no session was open).' } },
      handle: async ({ req }) => {
        await a.sessions.logout(readSessionCookie(req.headers.cookie));
        return { status: 204, headers: { 'set-cookie': clearedSessionCookie({ secure: a.secureCookies }) } };
      },
    }),
    defineRoute({
      method: 'GET',
      path: '/session',
      access: 'viewer',
      operationId: 'whoAmI',
      summary: 'The caller: name, role, and for a browser session its CSRF token',
      tag: 'accounts',
      responses: { 200: { description: 'The caller.', schema: WhoAmISchema } },
      handle: async ({ principal }) => {
        const p = principal!;
        const user = p.kind === 'session' ? ((await a.users.get(p.name)) ?? null) : null;
        return { body: { caller: { kind: p.kind, name: p.name, role: p.role }, csrfToken: p.kind === 'session' ? p.csrfToken : null, user } };
      },
    }),
    defineRoute({
      method: 'GET',
      path: '/users',
      access: 'admin',
      operationId: 'listUsers',
      summary: 'Users and their roles',
      tag: 'accounts',
      responses: { 200: { description: 'The users.', schema: Type.Object({ items: UserListSchema }) } },
      handle: async () => ({ body: { items: await a.users.list() } }),
    }),
    defineRoute({
      method: 'POST',
      path: '/users',
      access: 'admin',
      operationId: 'createUser',
      summary: 'Create a user with a role',
      tag: 'accounts',
      body: CreateUserRequestSchema,
      bodyLimit: 8 * 1024,
      responses: { 201: { description: 'Created.', schema: UserSchema }, 409: { description: 'The name is taken.' } },
      handle: async ({ body, principal, note }) => {
        note(body.name);
        return { status: 201, body: await a.users.create(body, principal!.name) };
      },
    }),
    defineRoute({
      method: 'PUT',
      path: '/users/{name}/role',
      access: 'admin',
      operationId: 'setUserRole',
      summary: 'Change a user’s role (the last admin stays admin)',
      tag: 'accounts',
      body: SetRoleRequestSchema,
      responses: { 200: { description: 'Changed.', schema: UserSchema }, 404: { description: 'No such user.' }, 409: { description: 'It would leave no admin.' } },
      handle: async ({ params, body, principal, note }) => {
        note(params['name']!);
        return { body: await a.users.setRole(params['name']!, body.role, principal!.name) };
      },
    }),
    defineRoute({
      method: 'PUT',
      path: '/users/{name}/password',
      access: 'admin',
      operationId: 'setUserPassword',
      summary: 'Set a user’s password',
      tag: 'accounts',
      body: SetPasswordRequestSchema,
      bodyLimit: 8 * 1024,
      responses: { 200: { description: 'Changed.', schema: UserSchema }, 404: { description: 'No such user.' } },
      handle: async ({ params, body, principal, note }) => {
        note(params['name']!);
        return { body: await a.users.setPassword(params['name']!, body.password, principal!.name) };
      },
    }),
    defineRoute({
      method: 'DELETE',
      path: '/users/{name}',
      access: 'admin',
      operationId: 'removeUser',
      summary: 'Remove a user (the last admin stays)',
      tag: 'accounts',
      responses: { 204: { description: 'Removed.' }, 404: { description: 'No such user.' }, 409: { description: 'It is the last admin.' } },
      handle: async ({ params, principal, note }) => {
        note(params['name']!);
        if (params['name'] === principal!.name) throw problem('CONFLICT', 'you cannot remove yourself; another admin can');
        await a.users.remove(params['name']!);
        return { status: 204 };
      },
    }),
    defineRoute({
      method: 'GET',
      path: '/tokens',
      access: 'admin',
      operationId: 'listTokens',
      summary: 'API tokens (never their secrets)',
      tag: 'accounts',
      responses: { 200: { description: 'The tokens.', schema: Type.Object({ items: TokenListSchema }) } },
      handle: async () => ({ body: { items: await a.tokens.list() } }),
    }),
    defineRoute({
      method: 'POST',
      path: '/tokens',
      access: 'admin',
      operationId: 'createToken',
      summary: 'Create an API token with a role and an optional expiry; the secret is shown once',
      tag: 'accounts',
      body: CreateTokenRequestSchema,
      responses: { 201: { description: 'Created; keep the token now, it is not shown again.', schema: TokenCreatedSchema } },
      handle: async ({ body, principal, note }) => {
        note(body.name);
        return { status: 201, body: await a.tokens.create(body, principal!.name) };
      },
    }),
    defineRoute({
      method: 'DELETE',
      path: '/tokens/{id}',
      access: 'admin',
      operationId: 'revokeToken',
      summary: 'Revoke an API token',
      tag: 'accounts',
      responses: { 204: { description: 'Revoked.' }, 404: { description: 'No such token.' } },
      handle: async ({ params, note }) => {
        note(params['id']!);
        await a.tokens.revoke(params['id']!);
        return { status: 204 };
      },
    }),
  ];
}
