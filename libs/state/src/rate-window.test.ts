import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { RateWindow } from './rate-window';
import { openTestRedis, type TestRedis } from './test-support/redis';

void describe('RateWindow', () => {
  let env: TestRedis;
  before(() => {
    env = openTestRedis();
  });
  after(async () => {
    await env.cleanup();
  });

  void it('grants `limit` slots per window and name, then says how long to wait', async () => {
    const window = new RateWindow(env.redis, { keyPrefix: env.prefix, limit: 3, windowMs: 60_000 });
    const first = [await window.take('robot-a'), await window.take('robot-a'), await window.take('robot-a')];
    assert.deepEqual(first, [0, 0, 0]);
    const wait = await window.take('robot-a');
    assert.ok(wait > 0 && wait <= 60_000, `wait ${wait}`);
    assert.equal(await window.take('robot-b'), 0, 'each name has its own window');
    // A refused call takes no slot: the count stays at the limit.
    assert.equal(await env.redis.zcard(`${env.prefix}rate:robot-a`), 3);
  });

  void it('frees slots as the window slides', async () => {
    const window = new RateWindow(env.redis, { keyPrefix: env.prefix, limit: 1, windowMs: 50 });
    assert.equal(await window.take('fast'), 0);
    await window.acquire('fast');
    assert.equal(await env.redis.zcard(`${env.prefix}rate:fast`), 1);
  });

  void it('rejects a non-positive limit', () => {
    assert.throws(() => new RateWindow(env.redis, { keyPrefix: env.prefix, limit: 0, windowMs: 1000 }), /limit must be a positive integer, got 0/);
  });
});
