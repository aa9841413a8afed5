import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { openTestRedis, type TestRedis } from '@subpack/state/dist/test-support/redis';
import { checkCsrf } from './csrf';
import { AccountError, type AccountErrorCode } from './errors';
import type { Principal } from './principal';
import { Sessions } from './sessions';
import { Users } from './users';

const PASSWORD = 'correct horse battery';

function isCode(code: AccountErrorCode): (err: unknown) => boolean {
  return (err) => err instanceof AccountError && err.code === code;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

void describe('Sessions', () => {
  let env: TestRedis;
  let users: Users;
  before(async () => {
    env = openTestRedis();
    users = new Users(env.redis, env.prefix);
    await users.create({ name: 'ada', role: 'admin', password: PASSWORD }, 'test');
    await users.create({ name: 'bob', role: 'operator', password: PASSWORD }, 'test');
  });
  after(async () => env.cleanup());

  void it('logs in, stores only the hash of the session id, and authenticates the cookie', async () => {
    const sessions = new Sessions(env.redis, env.prefix, users);
    const result = await sessions.login('ADA', PASSWORD, '10.0.0.1');
    assert.match(result.sessionId, /^[A-Za-z0-9_-]{43}$/);
    assert.match(result.csrfToken, /^[A-Za-z0-9_-]{43}$/);
    assert.equal(result.user.name, 'ada');
    assert.ok(result.user.lastLoginAt !== null);
    const hours = (Date.parse(result.expiresAt) - Date.now()) / 3_600_000;
    assert.ok(hours > 11.9 && hours <= 12, `${hours}`);
    const keys = await env.redis.keys(`${env.prefix}api:session:*`);
    assert.equal(keys.length, 1);
    assert.ok(!keys[0]!.includes(result.sessionId));
    assert.ok(!Object.values(await env.redis.hgetall(keys[0]!)).includes(result.sessionId));
    const ttl = await env.redis.pttl(keys[0]!);
    assert.ok(ttl > 0 && ttl <= 2 * 3_600_000, `idle TTL ${ttl}`);

    const principal = await sessions.authenticateSession(result.sessionId);
    assert.deepEqual(principal, { kind: 'session', name: 'ada', role: 'admin', sessionId: keys[0]!.split(':').pop(), csrfToken: result.csrfToken });
    assert.equal(await sessions.authenticateSession(undefined), null);
    assert.equal(await sessions.authenticateSession('not-a-session'), null);
    assert.equal(await sessions.authenticateSession('A'.repeat(43)), null);

    await sessions.logout(result.sessionId);
    assert.equal(await sessions.authenticateSession(result.sessionId), null);
  });

  void it('gives one answer for an unknown user, a wrong password, a bad name and a disabled user, in about the same time', async () => {
    const sessions = new Sessions(env.redis, env.prefix, users, { loginFailures: 100 });
    const timed = async (name: string, password: string): Promise<number> => {
      const start = process.hrtime.bigint();
      await assert.rejects(sessions.login(name, password, '10.0.0.2'), (err: unknown) => {
        assert.ok(err instanceof AccountError && err.code === 'BAD_CREDENTIALS', String(err));
        assert.equal(err.message, 'wrong user name or password');
        return true;
      });
      return Number(process.hrtime.bigint() - start) / 1e6;
    };
    await timed('nobody', PASSWORD); // makes the dummy hash
    const known = Math.min(await timed('ada', 'wrong password!'), await timed('ada', 'wrong password!'), await timed('ada', 'wrong password!'));
    const unknown = Math.min(await timed('nobody', PASSWORD), await timed('nobody', PASSWORD), await timed('nobody', PASSWORD));
    // Both run one scrypt at the same cost; the bound is loose so a busy machine does not fail it.
    assert.ok(unknown > known * 0.5, `unknown user ${unknown.toFixed(1)} ms, known user ${known.toFixed(1)} ms`);
    await timed('bad name!', PASSWORD);
    await users.create({ name: 'eve', role: 'viewer', password: PASSWORD }, 'test');
    await users.disable('eve', 'test');
    await timed('eve', PASSWORD);
  });

  void it('refuses logins after too many failures per user name, and per address, saying when to retry', async () => {
    const sessions = new Sessions(env.redis, env.prefix, users, { loginFailures: 3, loginWindowMs: 60_000 });
    for (let i = 0; i < 3; i++) await assert.rejects(sessions.login('bob', 'wrong password!', `192.0.2.${i}`), isCode('BAD_CREDENTIALS'));
    // The right password from a fresh address is refused too: the name is locked.
    await assert.rejects(sessions.login('Bob', PASSWORD, '192.0.2.99'), (err: unknown) => {
      assert.ok(err instanceof AccountError && err.code === 'RATE_LIMITED', String(err));
      assert.ok(err.retryAfterSeconds !== undefined && err.retryAfterSeconds > 55 && err.retryAfterSeconds <= 60, `${err.retryAfterSeconds}`);
      assert.match(err.message, /too many failed logins; try again in \d+ s/);
      return true;
    });
    // One address guessing at several names is stopped as well.
    const other = new Sessions(env.redis, env.prefix, users, { loginFailures: 3, loginWindowMs: 60_000 });
    for (const name of ['x1', 'x2', 'x3']) await assert.rejects(other.login(name, PASSWORD, '::ffff:198.51.100.7'), isCode('BAD_CREDENTIALS'));
    await assert.rejects(other.login('ada', PASSWORD, '198.51.100.7'), isCode('RATE_LIMITED'));
    // A parallel burst gets no more than the limit of attempts.
    await users.create({ name: 'hal', role: 'viewer', password: PASSWORD }, 'test');
    const burst = await Promise.allSettled(Array.from({ length: 8 }, () => other.login('hal', 'wrong password!', '203.0.113.5')));
    const reasons = burst.map((r) => (r.status === 'rejected' ? (r.reason as AccountError).code : 'ok'));
    assert.equal(reasons.filter((c) => c === 'BAD_CREDENTIALS').length, 3, reasons.join());
  });

  void it('forgets a name\'s failures after a successful login', async () => {
    const sessions = new Sessions(env.redis, env.prefix, users, { loginFailures: 3, loginWindowMs: 60_000 });
    await users.create({ name: 'fay', role: 'viewer', password: PASSWORD }, 'test');
    await assert.rejects(sessions.login('fay', 'wrong password!', '10.1.0.1'), isCode('BAD_CREDENTIALS'));
    await assert.rejects(sessions.login('fay', 'wrong password!', '10.1.0.2'), isCode('BAD_CREDENTIALS'));
    await sessions.login('fay', PASSWORD, '10.1.0.3');
    await assert.rejects(sessions.login('fay', 'wrong password!', '10.1.0.4'), isCode('BAD_CREDENTIALS'));
    await assert.rejects(sessions.login('fay', 'wrong password!', '10.1.0.5'), isCode('BAD_CREDENTIALS'));
    await sessions.login('fay', PASSWORD, '10.1.0.6');
  });

  void it('ends a session after the idle time, and after the absolute time however busy', async () => {
    const idle = new Sessions(env.redis, env.prefix, users, { idleMs: 400, absoluteMs: 60_000 });
    const a = await idle.login('ada', PASSWORD, '10.2.0.1');
    for (let i = 0; i < 3; i++) {
      await sleep(250);
      assert.ok(await idle.authenticateSession(a.sessionId), `use ${i} keeps it alive`);
    }
    await sleep(600);
    assert.equal(await idle.authenticateSession(a.sessionId), null);

    const absolute = new Sessions(env.redis, env.prefix, users, { idleMs: 60_000, absoluteMs: 500 });
    const b = await absolute.login('ada', PASSWORD, '10.2.0.1');
    await sleep(250);
    assert.ok(await absolute.authenticateSession(b.sessionId));
    await sleep(350);
    assert.equal(await absolute.authenticateSession(b.sessionId), null);
  });

  void it('follows the user: a new role at once, and no session after a new password, disabling or removal', async () => {
    const sessions = new Sessions(env.redis, env.prefix, users);
    await users.create({ name: 'gus', role: 'operator', password: PASSWORD }, 'test');
    const s = await sessions.login('gus', PASSWORD, '10.3.0.1');
    await users.setRole('gus', 'viewer', 'ada');
    assert.equal((await sessions.authenticateSession(s.sessionId))?.role, 'viewer');
    await users.setPassword('gus', 'a brand new password', 'gus');
    assert.equal(await sessions.authenticateSession(s.sessionId), null);
    const t = await sessions.login('gus', 'a brand new password', '10.3.0.1');
    await users.disable('gus', 'ada');
    assert.equal(await sessions.authenticateSession(t.sessionId), null);
    await users.enable('gus', 'ada');
    const u = await sessions.login('gus', 'a brand new password', '10.3.0.1');
    await users.remove('gus');
    assert.equal(await sessions.authenticateSession(u.sessionId), null);
  });
});

void describe('checkCsrf', () => {
  const session: Principal = { kind: 'session', name: 'ada', role: 'admin', sessionId: 'h', csrfToken: 'Z'.repeat(43) };

  void it('wants the session token in the header for cookie callers only', () => {
    checkCsrf(session, 'Z'.repeat(43));
    for (const sent of [undefined, '', 'Z'.repeat(42), 'Y'.repeat(43), ['Z'.repeat(43)]]) {
      assert.throws(() => checkCsrf(session, sent), (err: unknown) => err instanceof AccountError && err.code === 'CSRF_MISMATCH' && /X-CSRF-Token/.test(err.message));
    }
    checkCsrf({ kind: 'token', name: 'ci', role: 'operator', tokenId: '0123456789abcdef' }, undefined);
  });
});
