import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { openTestRedis, type TestRedis } from '@subpack/state/dist/test-support/redis';
import { AccountError } from './errors';
import { Sessions } from './sessions';
import { ApiTokens } from './tokens';
import { Users } from './users';

const PASSWORD = 'correct horse battery';

/** Every value under the accounts' keys that is a secret or derived from one. */
async function storedSecrets(env: TestRedis): Promise<string[]> {
  const secrets: string[] = [];
  for (const key of await env.redis.keys(`${env.prefix}api:*`)) {
    if ((await env.redis.type(key)) !== 'hash') continue;
    const record = await env.redis.hgetall(key);
    for (const field of ['passwordHash', 'secretHash', 'stamp']) if (record[field]) secrets.push(record[field]);
    // A password hash's salt and key each on their own, in case a listing ever carried a part of it.
    if (record['passwordHash']) secrets.push(...record['passwordHash'].split('$').slice(4));
    if (key.includes(':session:')) secrets.push(key.split(':').pop()!);
  }
  return secrets;
}

void describe('listings and errors hold no secret', () => {
  let env: TestRedis;
  before(() => {
    env = openTestRedis();
  });
  after(async () => env.cleanup());

  void it('serialises every listing and error without a password, hash, session id or token', async () => {
    const users = new Users(env.redis, env.prefix);
    const tokens = new ApiTokens(env.redis, env.prefix);
    const sessions = new Sessions(env.redis, env.prefix, users, { loginFailures: 2 });
    const shown: unknown[] = [];
    shown.push(await users.create({ name: 'ada', role: 'admin', password: PASSWORD }, 'test'));
    shown.push(await users.create({ name: 'bob', role: 'viewer', password: PASSWORD }, 'ada'));
    shown.push(await users.setPassword('bob', `${PASSWORD} 2`, 'ada'), await users.setRole('bob', 'operator', 'ada'));
    const created = await tokens.create({ name: 'ci', role: 'operator' }, 'ada');
    const login = await sessions.login('ada', PASSWORD, '10.9.0.1');
    const principal = await sessions.authenticateSession(login.sessionId);
    shown.push(await users.list(), await users.get('ada'), await tokens.list(), await tokens.get(created.id), await tokens.authenticateBearer(`Bearer ${created.token}`));
    // Login answers with the CSRF token and creation with the token on purpose, and a principal carries its session's
    // handle (the stored hash) for logging; everything else must hold none of them.
    shown.push({ ...login, sessionId: undefined, csrfToken: undefined }, { ...principal, csrfToken: undefined, sessionId: undefined }, { ...created, token: undefined });
    for (const attempt of [
      () => users.create({ name: 'ada', role: 'admin', password: PASSWORD }, 'x'),
      () => users.create({ name: 'weak', role: 'admin', password: 'tiny pw' }, 'x'),
      () => sessions.login('ada', 'wrong password!', '10.9.0.2'),
      () => sessions.login('ada', 'wrong password!', '10.9.0.3'),
      () => sessions.login('ada', PASSWORD, '10.9.0.4'),
      () => users.remove('ada'),
    ]) {
      const err = await attempt().then(
        () => assert.fail('expected a refusal'),
        (e: unknown) => e,
      );
      assert.ok(err instanceof AccountError, String(err));
      shown.push({ code: err.code, message: err.message, stack: err.stack });
    }
    const text = JSON.stringify(shown);
    const secrets = [PASSWORD, `${PASSWORD} 2`, 'tiny pw', 'wrong password!', created.token, created.token.slice(4), login.sessionId, login.csrfToken, ...(await storedSecrets(env))];
    assert.ok(secrets.length >= 10);
    for (const [i, secret] of secrets.entries()) assert.ok(!text.includes(secret), `a listing or error holds secret #${i} (${secret.length} characters)`);
    assert.doesNotMatch(text, /scrypt\$|passwordHash|secretHash/);
  });
});
