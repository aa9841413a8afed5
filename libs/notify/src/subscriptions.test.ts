import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isBatched, isDelivered } from './levels';
import { describeSubscription, resolveSubscription, subscriptionKey, subscriptionList, SubscriptionError } from './subscriptions';

const secrets = { named: new Map([['GAME', 'whsec_Z2FtZQ==']]), defaultJsonSecret: 'whsec_ZGVmYXVsdA==' };

describe('subscriptionList', () => {
  it('reads the single-webhook form as one json subscription', () => {
    assert.deepEqual(subscriptionList({ webhook: 'https://h.example/x', level: 'warn' }), [{ url: 'https://h.example/x', format: 'json', level: 'warn' }]);
    assert.deepEqual(subscriptionList({ level: 'warn' }), []);
    assert.deepEqual(subscriptionList(undefined), []);
  });
});

describe('resolveSubscription', () => {
  it('applies defaults and looks secrets up by name', () => {
    const resolved = resolveSubscription('task', { url: 'https://h.example/x', secretRef: 'GAME' }, secrets);
    assert.deepEqual(resolved, { source: 'task', key: subscriptionKey('https://h.example/x', 'json', 'info'), url: 'https://h.example/x', level: 'info', format: 'json', secret: 'whsec_Z2FtZQ==' });
  });

  it('signs json subscriptions without a secret with the default secret, but not robots', () => {
    assert.equal(resolveSubscription('task', { url: 'https://h.example/x' }, secrets).secret, 'whsec_ZGVmYXVsdA==');
    assert.equal(resolveSubscription('task', { url: 'https://h.example/x', format: 'wecom' }, secrets).secret, undefined);
  });

  it('names an unknown secretRef', () => {
    assert.throws(() => resolveSubscription('task', { url: 'https://h.example/x', secretRef: 'NOPE' }, secrets), (error: unknown) => {
      assert.ok(error instanceof SubscriptionError);
      assert.equal(error.message, 'secretRef "NOPE" is not configured (SUBPACK_NOTIFY_SECRET_NOPE)');
      return true;
    });
  });

  it('keys differ by url, format and level; descriptions show only the origin', () => {
    const keys = new Set([subscriptionKey('https://a.example/', 'json', 'info'), subscriptionKey('https://a.example/', 'json', 'warn'), subscriptionKey('https://a.example/', 'wecom', 'info'), subscriptionKey('https://b.example/', 'json', 'info')]);
    assert.equal(keys.size, 4);
    const text = describeSubscription({ url: 'https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=SECRETKEY', format: 'wecom', key: 'abc' });
    assert.equal(text, 'wecom subscription abc (https://qyapi.weixin.qq.com)');
  });
});

describe('levels', () => {
  const json = (level: 'info' | 'warn' | 'error') => ({ level, format: 'json' as const });
  it('a warn subscription gets retries and failures, not progress', () => {
    const delivered = (['task.accepted', 'channel.stored', 'task.completed', 'retry.scheduled', 'channel.failed', 'task.failed'] as const).filter((type) => isDelivered(type, json('warn')));
    assert.deepEqual(delivered, ['retry.scheduled', 'channel.failed', 'task.failed']);
    assert.ok(isDelivered('channel.stored', json('info')));
    assert.ok(!isDelivered('retry.scheduled', json('error')));
  });

  it('robots get outcomes and errors, never each stored channel; nobody gets notify.failed', () => {
    const robot = { level: 'info' as const, format: 'dingtalk' as const };
    assert.ok(isDelivered('task.completed', robot));
    assert.ok(isDelivered('channel.failed', robot));
    assert.ok(!isDelivered('channel.stored', robot));
    assert.ok(!isDelivered('task.accepted', robot));
    assert.ok(!isDelivered('notify.failed', json('info')));
  });

  it('batches channel-level events only', () => {
    assert.deepEqual((['task.accepted', 'channel.stored', 'channel.failed', 'retry.scheduled', 'task.completed', 'task.failed'] as const).filter(isBatched), ['channel.stored', 'channel.failed', 'retry.scheduled']);
  });
});
