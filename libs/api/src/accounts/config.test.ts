import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ConfigError, loadConfig } from '@subpack/config';
import { openTestRedis, type TestRedis } from '@subpack/state/dist/test-support/redis';
import { ACCOUNTS_CONFIG, firstAdminFrom, sessionOptionsFrom } from './config';
import { AccountError } from './errors';
import { ensureFirstAdmin } from './first-admin';
import { Users } from './users';

const SECRET = 'the admin password 1';

function problems(env: Record<string, string>): string[] {
  try {
    firstAdminFrom(loadConfig(ACCOUNTS_CONFIG, env));
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  return [];
}

void describe('ACCOUNTS_CONFIG', () => {
  const dir = mkdtempSync(join(tmpdir(), 'subpack-accounts-'));

  void it('has defaults for sessions and the login limit, and no admin unless asked', () => {
    const config = loadConfig(ACCOUNTS_CONFIG, {});
    assert.deepEqual(sessionOptionsFrom(config), { absoluteMs: 12 * 3_600_000, idleMs: 2 * 3_600_000, loginFailures: 10, loginWindowMs: 15 * 60_000 });
    assert.equal(firstAdminFrom(config), undefined);
  });

  void it('reads the first admin from a password or a password file (one line end dropped)', () => {
    assert.deepEqual(firstAdminFrom(loadConfig(ACCOUNTS_CONFIG, { SUBPACK_API_ADMIN: 'root', SUBPACK_API_ADMIN_PASSWORD: SECRET })), { name: 'root', password: SECRET });
    const file = join(dir, 'password');
    writeFileSync(file, `${SECRET}\r\n`);
    assert.deepEqual(firstAdminFrom(loadConfig(ACCOUNTS_CONFIG, { SUBPACK_API_ADMIN: 'root', SUBPACK_API_ADMIN_PASSWORD_FILE: file })), { name: 'root', password: SECRET });
  });

  void it('says what to fix, never showing the password', () => {
    const short = problems({ SUBPACK_API_ADMIN: 'root', SUBPACK_API_ADMIN_PASSWORD: 'hunter2' });
    assert.deepEqual(short, ['SUBPACK_API_ADMIN_PASSWORD=(value hidden) is 7 characters long; use at least 10']);
    const file = join(dir, 'short');
    writeFileSync(file, 'hunter2\n');
    const fromFile = problems({ SUBPACK_API_ADMIN: 'root', SUBPACK_API_ADMIN_PASSWORD_FILE: file });
    assert.deepEqual(fromFile, [`SUBPACK_API_ADMIN_PASSWORD_FILE=${JSON.stringify(file)} holds a password that is 7 characters long; use at least 10`]);
    assert.match(problems({ SUBPACK_API_ADMIN: 'root', SUBPACK_API_ADMIN_PASSWORD_FILE: join(dir, 'missing') })[0] ?? '', /cannot be read: ENOENT/);
    assert.match(problems({ SUBPACK_API_ADMIN: 'has space', SUBPACK_API_ADMIN_PASSWORD: SECRET })[0] ?? '', /SUBPACK_API_ADMIN="has space" is not a valid user name: use 1 to 64 characters/);
    assert.deepEqual(problems({ SUBPACK_API_ADMIN: 'root' }), ['SUBPACK_API_ADMIN is set without a password; set SUBPACK_API_ADMIN_PASSWORD_FILE (preferred) or SUBPACK_API_ADMIN_PASSWORD']);
    assert.deepEqual(problems({ SUBPACK_API_ADMIN_PASSWORD: SECRET }), ["SUBPACK_API_ADMIN_PASSWORD is set but SUBPACK_API_ADMIN is not; set the admin's user name too"]);
    writeFileSync(file, `${SECRET}\n`);
    assert.deepEqual(problems({ SUBPACK_API_ADMIN: 'root', SUBPACK_API_ADMIN_PASSWORD: SECRET, SUBPACK_API_ADMIN_PASSWORD_FILE: file }), [
      'SUBPACK_API_ADMIN_PASSWORD and SUBPACK_API_ADMIN_PASSWORD_FILE are both set; set only one',
    ]);
    for (const p of [...short, ...fromFile]) assert.ok(!p.includes('hunter2'));
    assert.match(problems({ SUBPACK_API_SESSION_HOURS: '0' })[0] ?? '', /SUBPACK_API_SESSION_HOURS="0" must be an integer from 1 to 720/);
  });
});

void describe('ensureFirstAdmin', () => {
  let env: TestRedis;
  let users: Users;
  before(() => {
    env = openTestRedis();
    users = new Users(env.redis, env.prefix);
  });
  after(async () => env.cleanup());

  void it('creates the configured admin only while there is no admin, once across replicas', async () => {
    assert.deepEqual(await ensureFirstAdmin(users, undefined), { created: false, reason: 'not configured' });
    const outcomes = await Promise.all([ensureFirstAdmin(users, { name: 'root', password: SECRET }), ensureFirstAdmin(users, { name: 'root', password: SECRET })]);
    assert.deepEqual(outcomes.map((o) => o.created).sort(), [false, true]);
    assert.equal(JSON.stringify(outcomes).includes(SECRET), false);
    const root = await users.existing('root');
    assert.deepEqual([root.role, root.createdBy], ['admin', 'configuration']);
    await users.setPassword('root', 'changed since start', 'root');
    assert.deepEqual(await ensureFirstAdmin(users, { name: 'root', password: SECRET }), { created: false, reason: 'an admin exists' });
    assert.deepEqual(await ensureFirstAdmin(users, { name: 'other', password: SECRET }), { created: false, reason: 'an admin exists' });
    assert.equal(await users.get('other'), undefined);
  });

  void it('refuses to take over an existing user who is not an admin', async () => {
    const fresh = openTestRedis();
    try {
      const store = new Users(fresh.redis, fresh.prefix);
      await store.create({ name: 'bob', role: 'viewer', password: SECRET }, 'test');
      await assert.rejects(ensureFirstAdmin(store, { name: 'bob', password: 'something else 1' }), (err: unknown) => {
        assert.ok(err instanceof AccountError && err.code === 'USER_EXISTS');
        assert.match(err.message, /names the existing user "bob", who is not an enabled admin/);
        return true;
      });
    } finally {
      await fresh.cleanup();
    }
  });
});
