import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { openTestRedis, type TestRedis } from '@subpack/state/dist/test-support/redis';
import { AccountError, type AccountErrorCode } from './errors';
import { roleAllows, ROLES } from './roles';
import { Users } from './users';

const PASSWORD = 'correct horse battery';

function rejectsWith(code: AccountErrorCode, message?: RegExp): (err: unknown) => boolean {
  return (err) => {
    assert.ok(err instanceof AccountError, String(err));
    assert.equal(err.code, code, err.message);
    if (message) assert.match(err.message, message);
    return true;
  };
}

void describe('roles', () => {
  void it('are ordered viewer < operator < admin', () => {
    assert.deepEqual(ROLES, ['viewer', 'operator', 'admin']);
    assert.ok(roleAllows('admin', 'operator') && roleAllows('operator', 'operator') && roleAllows('operator', 'viewer'));
    assert.ok(!roleAllows('viewer', 'operator') && !roleAllows('operator', 'admin'));
  });
});

void describe('Users', () => {
  let env: TestRedis;
  let users: Users;
  before(() => {
    env = openTestRedis();
    users = new Users(env.redis, env.prefix);
  });
  after(async () => env.cleanup());

  void it('creates, gets and lists users without their hashes, and records who did it', async () => {
    const created = await users.create({ name: 'Ada.Lovelace@example', role: 'admin', password: PASSWORD }, 'configuration');
    assert.equal(created.createdBy, 'configuration');
    assert.deepEqual(Object.keys(created).sort(), ['createdAt', 'createdBy', 'disabled', 'lastLoginAt', 'name', 'role', 'updatedAt', 'updatedBy']);
    await users.create({ name: 'bob', role: 'viewer', password: PASSWORD }, 'Ada.Lovelace@example');
    assert.deepEqual((await users.list()).map((u) => [u.name, u.role, u.disabled]), [
      ['Ada.Lovelace@example', 'admin', false],
      ['bob', 'viewer', false],
    ]);
    assert.equal((await users.get('ADA.LOVELACE@EXAMPLE'))?.name, 'Ada.Lovelace@example', 'looked up without regard to case');
    assert.equal(await users.get('nobody'), undefined);
    await assert.rejects(users.existing('nobody'), rejectsWith('UNKNOWN_USER', /no user "nobody"/));
    const raw = await env.redis.hget(`${env.prefix}api:user:bob`, 'passwordHash');
    assert.match(raw ?? '', /^scrypt\$32768\$8\$1\$[A-Za-z0-9_-]{22}\$[A-Za-z0-9_-]{43}$/);
  });

  void it('refuses a second user whose name differs only in case', async () => {
    await assert.rejects(users.create({ name: 'BOB', role: 'viewer', password: PASSWORD }, 'x'), rejectsWith('USER_EXISTS', /"BOB" already exists/));
  });

  void it('checks names, roles and passwords with messages that say what to do, never echoing the password', async () => {
    await assert.rejects(users.create({ name: 'a b', role: 'viewer', password: PASSWORD }, 'x'), rejectsWith('BAD_USER_NAME', /"a b": must be 1 to 64 characters: letters/));
    await assert.rejects(users.create({ name: 'x'.repeat(65), role: 'viewer', password: PASSWORD }, 'x'), rejectsWith('BAD_USER_NAME'));
    await assert.rejects(users.create({ name: '', role: 'viewer', password: PASSWORD }, 'x'), rejectsWith('BAD_USER_NAME'));
    await assert.rejects(users.create({ name: 'carol', role: 'root', password: PASSWORD }, 'x'), rejectsWith('BAD_ROLE', /must be one of viewer, operator, admin/));
    await assert.rejects(users.create({ name: 'carol', role: 'viewer', password: 'short-pw' }, 'x'), (err: unknown) => {
      rejectsWith('WEAK_PASSWORD', /is 8 characters long; use at least 10/)(err);
      assert.ok(!(err as Error).message.includes('short-pw'));
      return true;
    });
    await assert.rejects(users.create({ name: 'carol', role: 'viewer', password: 'x'.repeat(1025) }, 'x'), rejectsWith('WEAK_PASSWORD', /use at most 1024/));
    await assert.rejects(users.create({ name: 'carol', role: 'viewer', password: ' '.repeat(12) }, 'x'), rejectsWith('WEAK_PASSWORD', /white space/));
    assert.equal(await users.get('carol'), undefined);
  });

  void it('changes roles and passwords, recording who changed them', async () => {
    const before = await env.redis.hgetall(`${env.prefix}api:user:bob`);
    const promoted = await users.setRole('bob', 'operator', 'Ada.Lovelace@example');
    assert.deepEqual([promoted.role, promoted.updatedBy], ['operator', 'Ada.Lovelace@example']);
    await users.setPassword('bob', 'another long password', 'bob');
    const after = await env.redis.hgetall(`${env.prefix}api:user:bob`);
    assert.notEqual(after['passwordHash'], before['passwordHash']);
    assert.notEqual(after['stamp'], before['stamp'], 'a new password ends the sessions made with the old one');
    await assert.rejects(users.setRole('nobody', 'admin', 'x'), rejectsWith('UNKNOWN_USER'));
    await assert.rejects(users.setPassword('bob', 'short', 'x'), rejectsWith('WEAK_PASSWORD'));
  });

  void it('never demotes, disables or removes the last enabled admin', async () => {
    const admin = 'Ada.Lovelace@example';
    await assert.rejects(users.setRole(admin, 'operator', 'x'), rejectsWith('LAST_ADMIN', /only enabled admin; make another user admin first/));
    await assert.rejects(users.disable(admin, 'x'), rejectsWith('LAST_ADMIN'));
    await assert.rejects(users.remove(admin), rejectsWith('LAST_ADMIN'));
    assert.equal((await users.get(admin))?.role, 'admin');
    // A disabled admin does not count: with the only other admin disabled, the first one is still the last.
    await users.create({ name: 'dora', role: 'admin', password: PASSWORD }, admin);
    await users.disable('dora', admin);
    await assert.rejects(users.setRole(admin, 'viewer', 'x'), rejectsWith('LAST_ADMIN'));
    await users.enable('dora', admin);
    await users.setRole(admin, 'viewer', 'dora');
    assert.equal(await users.hasAdmin(), true);
    await users.setRole(admin, 'admin', 'dora');
  });

  void it('lets only one of two admins demoting each other at once succeed', async () => {
    const results = await Promise.allSettled([users.setRole('Ada.Lovelace@example', 'viewer', 'dora'), users.setRole('dora', 'viewer', 'Ada.Lovelace@example')]);
    assert.deepEqual(results.map((r) => r.status).sort(), ['fulfilled', 'rejected']);
    assert.equal((await users.list()).filter((u) => u.role === 'admin' && !u.disabled).length, 1);
  });

  void it('disables, enables and removes users', async () => {
    assert.equal((await users.disable('bob', 'dora')).disabled, true);
    assert.equal((await users.enable('bob', 'dora')).disabled, false);
    await users.remove('BOB');
    assert.equal(await users.get('bob'), undefined);
    assert.ok(!(await users.list()).some((u) => u.name === 'bob'));
    await assert.rejects(users.remove('bob'), rejectsWith('UNKNOWN_USER'));
    // The name is free again.
    await users.create({ name: 'bob', role: 'viewer', password: PASSWORD }, 'dora');
  });
});
