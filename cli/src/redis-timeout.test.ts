import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { isCommandTimeout } from './commands/broker';

const REDIS_URL = 'redis://127.0.0.1:6379';

test("ioredis's own command timeout is recognised; Redis's refusals and other failures are not", async () => {
  const redis = new Redis(REDIS_URL, { commandTimeout: 100, maxRetriesPerRequest: 0, lazyConnect: true });
  const other = new Redis(REDIS_URL, { commandTimeout: 2000, maxRetriesPerRequest: 0, lazyConnect: true });
  try {
    await Promise.all([redis.connect(), other.connect()]);
    // A blocking pop on a key nobody writes: Redis holds it for a second, ioredis gives up after 100 ms.
    const timedOut = await redis.blpop(`subpack-test:never-written:${randomBytes(6).toString('hex')}`, 1).then(
      () => assert.fail('the command answered'),
      (err: unknown) => err,
    );
    assert.equal(isCommandTimeout(timedOut), true, String(timedOut));
    // The pop still holds this connection; a second one gets Redis's answer at once.
    const refused = await other.call('NO-SUCH-COMMAND').then(
      () => assert.fail('Redis accepted it'),
      (err: unknown) => err,
    );
    assert.equal(isCommandTimeout(refused), false, String(refused));
  } finally {
    redis.disconnect();
    other.disconnect();
  }
  const closed = await redis.get('x').then(
    () => assert.fail('a closed client answered'),
    (err: unknown) => err,
  );
  assert.equal(isCommandTimeout(closed), false, String(closed));
  assert.equal(isCommandTimeout(new Error('ECONNREFUSED')), false);
});
