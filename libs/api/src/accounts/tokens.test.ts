import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { openTestRedis, type TestRedis } from '@subpack/state/dist/test-support/redis';
import { AccountError } from './errors';
import { ApiTokens } from './tokens';

void describe('ApiTokens', () => {
  let env: TestRedis;
  let tokens: ApiTokens;
  before(() => {
    env = openTestRedis();
    tokens = new ApiTokens(env.redis, env.prefix);
  });
  after(async () => env.cleanup());

  void it('shows the secret once, stores only its hash, and authenticates the bearer', async () => {
    const created = await tokens.create({ name: 'ci-release', role: 'operator' }, 'ada');
    assert.match(created.token, /^spk_[A-Za-z0-9_-]{43}$/);
    assert.deepEqual({ ...created, token: undefined, id: undefined, createdAt: undefined }, {
      token: undefined,
      id: undefined,
      createdAt: undefined,
      name: 'ci-release',
      role: 'operator',
      createdBy: 'ada',
      expiresAt: null,
      lastUsedAt: null,
    });
    const stored = JSON.stringify(await env.redis.hgetall(`${env.prefix}api:token:${created.id}`));
    assert.ok(!stored.includes(created.token) && !stored.includes(created.token.slice(4)));

    const principal = await tokens.authenticateBearer(`Bearer ${created.token}`);
    assert.deepEqual(principal, { kind: 'token', name: 'ci-release', role: 'operator', tokenId: created.id });
    assert.deepEqual(await tokens.authenticateBearer(`bearer   ${created.token}  `), principal, 'the scheme is case-insensitive');
    const listed = await tokens.list();
    assert.equal(listed.length, 1);
    assert.ok(listed[0]?.lastUsedAt !== null, 'use is recorded');
    assert.deepEqual(Object.keys(listed[0]!).sort(), ['createdAt', 'createdBy', 'expiresAt', 'id', 'lastUsedAt', 'name', 'role']);

    for (const header of [undefined, '', created.token, `Basic ${created.token}`, `Bearer ${created.token}x`, `Bearer spk_${'A'.repeat(43)}`]) {
      assert.equal(await tokens.authenticateBearer(header), null, String(header));
    }
  });

  void it('stops a revoked token at once', async () => {
    const created = await tokens.create({ name: 'old-robot', role: 'viewer' }, 'ada');
    assert.ok(await tokens.authenticateBearer(`Bearer ${created.token}`));
    const revoked = await tokens.revoke(created.id);
    assert.equal(revoked.name, 'old-robot');
    assert.equal(await tokens.authenticateBearer(`Bearer ${created.token}`), null);
    assert.ok(!(await tokens.list()).some((t) => t.id === created.id));
    await assert.rejects(tokens.revoke(created.id), (err: unknown) => err instanceof AccountError && err.code === 'UNKNOWN_TOKEN');
    await assert.rejects(tokens.revoke('../../etc'), (err: unknown) => err instanceof AccountError && err.code === 'UNKNOWN_TOKEN');
  });

  void it('stops an expired token, and Redis forgets it', async () => {
    const created = await tokens.create({ name: 'short-lived', role: 'admin', expiresAt: new Date(Date.now() + 300) }, 'ada');
    assert.ok(created.expiresAt !== null);
    assert.ok(await tokens.authenticateBearer(`Bearer ${created.token}`));
    await new Promise((r) => setTimeout(r, 450));
    assert.equal(await tokens.authenticateBearer(`Bearer ${created.token}`), null);
    assert.ok(!(await tokens.list()).some((t) => t.id === created.id));
    assert.equal(await env.redis.sismember(`${env.prefix}api:tokens`, created.id), 0, 'list() drops the expired id from the index');
  });

  void it('checks names, roles and expiry', async () => {
    const code = (c: string) => (err: unknown) => err instanceof AccountError && err.code === c;
    await assert.rejects(tokens.create({ name: 'has space', role: 'viewer' }, 'ada'), code('BAD_TOKEN_NAME'));
    await assert.rejects(tokens.create({ name: 'ok', role: 'superuser' }, 'ada'), code('BAD_ROLE'));
    await assert.rejects(tokens.create({ name: 'ok', role: 'viewer', expiresAt: '2001-01-01T00:00:00Z' }, 'ada'), code('BAD_EXPIRY'));
    await assert.rejects(tokens.create({ name: 'ok', role: 'viewer', expiresAt: 'next week' }, 'ada'), code('BAD_EXPIRY'));
    const later = await tokens.create({ name: 'ok', role: 'viewer', expiresAt: '2999-01-01T00:00:00Z' }, 'ada');
    assert.equal(later.expiresAt, '2999-01-01T00:00:00.000Z');
  });
});
