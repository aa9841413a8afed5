import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import Redis from 'ioredis';
import { TaskStore } from '@subpack/state';
import { SubscriptionBook } from './subscription-book';

const REDIS_URL = process.env['SUBPACK_TEST_REDIS_URL'] ?? 'redis://127.0.0.1:6379';

describe('SubscriptionBook (real Redis)', () => {
  let redis: Redis;
  let prefix: string;
  let store: TaskStore;

  before(() => {
    redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 3 });
    prefix = `subpack-test:${randomBytes(6).toString('hex')}:`;
    store = new TaskStore(redis, { keyPrefix: prefix });
  });
  after(async () => {
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length > 0) await redis.del(...keys);
    await redis.quit();
  });

  it('lists the global subscriptions then the task\'s own, and finds each by source and key', async () => {
    const global = [{ url: 'https://ops.example.com/hook', format: 'json' as const, level: 'error' as const }];
    await store.saveSubscriptions('t1', JSON.stringify({ webhook: 'https://game.example.com/hook', level: 'info' }));
    const book = new SubscriptionBook(store, global);
    const list = await book.forTask('t1');
    assert.deepEqual(
      list.map((s) => [s.target.source, s.target.url, s.target.level]),
      [
        ['global', 'https://ops.example.com/hook', 'error'],
        ['task', 'https://game.example.com/hook', 'info'],
      ],
    );
    const own = list[1]!.target;
    assert.equal((await book.find('t1', 'task', own.key))?.target.url, 'https://game.example.com/hook');
    assert.equal((await book.find('t1', 'global', own.key)), undefined, 'a task subscription is not found among the global ones');
    assert.equal((await book.find('t2', 'task', own.key)), undefined, 'nor under another task');
  });

  it('a task without subscriptions gets the global ones only; find reads the task record afresh', async () => {
    const book = new SubscriptionBook(store, []);
    assert.deepEqual(await book.forTask('t3'), []);
    await store.saveSubscriptions('t3', JSON.stringify([{ url: 'https://late.example.com/x', format: 'json' }]));
    const late = await book.find('t3', 'task', (await new SubscriptionBook(store, []).forTask('t3'))[0]!.target.key);
    assert.equal(late?.target.url, 'https://late.example.com/x');
  });
});
