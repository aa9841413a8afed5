import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { Type } from '@sinclair/typebox';
import { openTestRedis, type TestRedis } from '@subpack/state/dist/test-support/redis';
import { ApiTokens, readSessionCookie, roleAllows, Sessions, Users } from '../accounts';
import { openApiDocument } from './openapi';
import { problem } from './problem';
import { defineRoute, type Route } from './route';
import { ApiRouter, type AuditEntry } from './router';

const PASSWORD = 'router-test-password';

void describe('ApiRouter', () => {
  let env: TestRedis;
  let server: Server;
  let base: string;
  const audited: AuditEntry[] = [];
  const errors: unknown[] = [];
  let cookie = '';
  let csrf = '';
  let viewerToken = '';
  let routes: Route[] = [];

  before(async () => {
    env = openTestRedis();
    const users = new Users(env.redis, env.prefix);
    const sessions = new Sessions(env.redis, env.prefix, users);
    const tokens = new ApiTokens(env.redis, env.prefix);
    await users.create({ name: 'op', role: 'operator', password: PASSWORD }, 'test');
    const login = await sessions.login('op', PASSWORD, '127.0.0.1');
    cookie = `subpack_session=${login.sessionId}`;
    csrf = login.csrfToken;
    viewerToken = (await tokens.create({ name: 'reader', role: 'viewer' }, 'test')).token;
    routes = [
      defineRoute({
        method: 'POST',
        path: '/things',
        access: 'operator',
        operationId: 'createThing',
        summary: 'Create a thing',
        tag: 'things',
        body: Type.Object({ name: Type.String({ minLength: 1, maxLength: 10 }) }, { additionalProperties: false }),
        bodyLimit: 100,
        responses: { 201: { description: 'Created.', schema: Type.Object({ name: Type.String() }) } },
        handle: async ({ body, note }) => {
          note(body.name);
          return { status: 201, body: { name: body.name } };
        },
      }),
      defineRoute({
        method: 'GET',
        path: '/things/{id}',
        access: 'viewer',
        operationId: 'getThing',
        summary: 'A thing',
        tag: 'things',
        query: Type.Object({ limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 5, default: 2 })) }),
        responses: { 200: { description: 'The thing.', schema: Type.Object({ id: Type.String(), limit: Type.Integer() }) } },
        handle: async ({ params, query }) => {
          if (params['id'] === 'missing') throw problem('NOT_FOUND', 'no such thing');
          if (params['id'] === 'boom') throw new Error('secret internal detail');
          if (params['id'] === 'drift') return { body: { id: 1 } };
          return { body: { id: params['id'], limit: query.limit ?? 0 } };
        },
      }),
    ];
    const router = new ApiRouter(routes, {
      authenticator: {
        authenticate: async (req) => (req.headers.authorization ? tokens.authenticateBearer(req.headers.authorization) : sessions.authenticateSession(readSessionCookie(req.headers.cookie))),
        csrfOk: (p, header) => p.kind === 'session' && header === p.csrfToken,
        allows: roleAllows,
      },
      audit: async (entry) => {
        audited.push(entry);
      },
      onError: (err) => errors.push(err),
      trustProxy: false,
      checkResponses: true,
    });
    server = createServer((req, res) => {
      void router.handle(req, res).then((handled) => {
        if (!handled) res.writeHead(418).end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/v1`;
  });

  after(async () => {
    await new Promise((resolve) => server.close(resolve));
    await env.cleanup();
  });

  const post = (headers: Record<string, string>, body: string): Promise<Response> => fetch(`${base}/things`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });

  void it('runs a write for a signed-in operator with the CSRF token, and audits it with its subject', async () => {
    const res = await post({ cookie, 'x-csrf-token': csrf }, JSON.stringify({ name: 'kite' }));
    assert.equal(res.status, 201);
    assert.deepEqual(await res.json(), { name: 'kite' });
    const entry = audited.at(-1)!;
    assert.deepEqual([entry.actor, entry.role, entry.action, entry.status, entry.subject], ['op', 'operator', 'createThing', 201, 'kite']);
  });

  void it('refuses, as problem documents: no caller, a viewer, no CSRF token; each refusal audited', async () => {
    const cases: [Record<string, string>, number, string][] = [
      [{}, 401, 'UNAUTHENTICATED'],
      [{ authorization: `Bearer ${viewerToken}` }, 403, 'FORBIDDEN'],
      [{ cookie }, 403, 'CSRF_TOKEN_MISSING'],
      [{ cookie, 'x-csrf-token': 'forged' }, 403, 'CSRF_TOKEN_MISSING'],
    ];
    for (const [headers, status, code] of cases) {
      const before = audited.length;
      const res = await post(headers, JSON.stringify({ name: 'kite' }));
      assert.equal(res.status, status, code);
      assert.match(res.headers.get('content-type') ?? '', /application\/problem\+json/);
      const body = (await res.json()) as { code: string; status: number; detail: string; type: string };
      assert.equal(body.code, code);
      assert.equal(body.status, status);
      assert.ok(body.detail.length > 10 && body.type.startsWith('https://'), JSON.stringify(body));
      assert.equal(audited.length, before + 1, 'a refused write is audited too');
      assert.equal(audited.at(-1)!.status, status);
    }
  });

  void it('checks bodies: media type, JSON, schema (every field named), and size before reading it', async () => {
    const auth = { cookie, 'x-csrf-token': csrf };
    const wrongType = await fetch(`${base}/things`, { method: 'POST', headers: { ...auth, 'content-type': 'text/plain' }, body: '{}' });
    assert.equal(wrongType.status, 415);
    assert.equal((await post(auth, '{"name":')).status, 400);
    const invalid = await post(auth, JSON.stringify({ name: '', extra: 1 }));
    assert.equal(invalid.status, 422);
    const detail = ((await invalid.json()) as { errors: string[] }).errors.join('; ');
    assert.match(detail, /name/);
    assert.match(detail, /extra/);
    const large = await post(auth, JSON.stringify({ name: 'x'.repeat(200) }));
    assert.equal(large.status, 413);
  });

  void it('coerces and checks query strings, decodes path parameters, and knows 404 from 405', async () => {
    const auth = { authorization: `Bearer ${viewerToken}` };
    assert.deepEqual(await (await fetch(`${base}/things/%E6%B8%A0%E9%81%93?limit=3`, { headers: auth })).json(), { id: '渠道', limit: 3 });
    assert.deepEqual(await (await fetch(`${base}/things/a`, { headers: auth })).json(), { id: 'a', limit: 2 }, 'the default fills in');
    assert.equal((await fetch(`${base}/things/a?limit=9`, { headers: auth })).status, 422);
    assert.equal((await fetch(`${base}/things/a?limit=1&limit=2`, { headers: auth })).status, 422);
    assert.equal((await fetch(`${base}/things/%E6%B8`, { headers: auth })).status, 400);
    assert.equal((await fetch(`${base}/things/missing`, { headers: auth })).status, 404);
    assert.equal((await fetch(`${base}/nothing`, { headers: auth })).status, 404);
    assert.equal((await fetch(`${base}/things/a`, { method: 'DELETE', headers: auth })).status, 405);
    assert.equal((await fetch(`${base.replace('/api/v1', '')}/other`)).status, 418, 'other paths fall through');
  });

  void it('answers an unexpected error as INTERNAL without its message, and a drifted answer as a failure', async () => {
    const auth = { authorization: `Bearer ${viewerToken}` };
    const boom = await fetch(`${base}/things/boom`, { headers: auth });
    assert.equal(boom.status, 500);
    assert.doesNotMatch(await boom.text(), /secret internal detail/);
    assert.ok(errors.some((e) => e instanceof Error && e.message === 'secret internal detail'), 'the error is logged');
    const drift = await fetch(`${base}/things/drift`, { headers: auth });
    assert.equal(drift.status, 500);
    assert.match(await drift.text(), /getThing 200 differs from its schema/);
  });

  void it('documents every route with its role, its inputs, its answers and the refusals it can give', () => {
    const doc = openApiDocument(routes, { version: '0' }) as { openapi: string; paths: Record<string, Record<string, Record<string, unknown>>> };
    assert.equal(doc.openapi, '3.1.0');
    assert.deepEqual(Object.keys(doc.paths).sort(), ['/api/v1/things', '/api/v1/things/{id}']);
    const create = doc.paths['/api/v1/things']!['post']!;
    assert.equal(create['x-subpack-role'], 'operator');
    assert.deepEqual(Object.keys(create['responses'] as object).sort(), ['201', '400', '401', '403', '413', '415', '422']);
    assert.ok(JSON.stringify(create['requestBody']).includes('"maxLength":10'));
    const get = doc.paths['/api/v1/things/{id}']!['get']!;
    assert.deepEqual((get['parameters'] as { name: string; in: string }[]).map((p) => `${p.in}:${p.name}`), ['path:id', 'query:limit']);
  });
});
