import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError, loadConfig } from './fields';
import { COMMON_CONFIG } from './common';
import { describeRedisTarget, REDIS_CONFIG, redisTarget } from './redis';

const target = (env: Record<string, string>) => redisTarget(loadConfig(REDIS_CONFIG, env));

test('REDIS_URL alone, or nothing: one Redis server', () => {
  assert.deepEqual(target({}), { kind: 'url', url: 'redis://127.0.0.1:6379' });
  assert.deepEqual(target({ REDIS_URL: 'rediss://:pw@cache:6380/2' }), { kind: 'url', url: 'rediss://:pw@cache:6380/2' });
  assert.equal(describeRedisTarget(target({ REDIS_URL: 'rediss://:pw@cache:6380/2' })), 'rediss://cache:6380/2', 'no password in logs');
});

test('REDIS_SENTINELS with the primary name: Sentinel, with the passwords kept apart', () => {
  const t = target({ REDIS_SENTINELS: 's1:26379, [::1]:26380', REDIS_SENTINEL_MASTER: 'subpack', REDIS_SENTINEL_PASSWORD: 'x', REDIS_PASSWORD: 'y' });
  assert.deepEqual(t, {
    kind: 'sentinel',
    sentinels: [
      { host: 's1', port: 26379 },
      { host: '::1', port: 26380 },
    ],
    name: 'subpack',
    waitReplicas: 1,
    sentinelPassword: 'x',
    password: 'y',
  });
  assert.equal(describeRedisTarget(t), 'primary "subpack" via sentinels s1:26379,::1:26380');
});

test('both REDIS_URL and REDIS_SENTINELS is an error naming both variables', () => {
  assert.throws(
    () => target({ REDIS_URL: 'redis://a:6379', REDIS_SENTINELS: 's1:26379', REDIS_SENTINEL_MASTER: 'm' }),
    (err: unknown) => err instanceof ConfigError && /REDIS_URL and REDIS_SENTINELS are both set/.test(err.message),
  );
});

test('incomplete or stray sentinel settings are errors naming what is missing', () => {
  assert.throws(() => target({ REDIS_SENTINELS: 's1:26379' }), /REDIS_SENTINEL_MASTER is required with REDIS_SENTINELS/);
  assert.throws(() => target({ REDIS_SENTINEL_MASTER: 'm' }), /REDIS_SENTINEL_MASTER set without REDIS_SENTINELS/);
  assert.throws(() => loadConfig(REDIS_CONFIG, { REDIS_SENTINELS: 's1:26379,s2' }), /REDIS_SENTINELS="s1:26379,s2" entry "s2" is not host:port/);
  assert.throws(() => loadConfig(REDIS_CONFIG, { REDIS_SENTINEL_PASSWORD: '' , REDIS_SENTINELS: 'h:0' }), /entry "h:0" is not host:port/);
});

test('AMQP_URL takes one URL or one per cluster node; each entry is checked', () => {
  const { amqpUrls } = COMMON_CONFIG;
  assert.deepEqual(loadConfig({ amqpUrls }, {}).amqpUrls, ['amqp://guest:guest@127.0.0.1:5672']);
  assert.deepEqual(loadConfig({ amqpUrls }, { AMQP_URL: 'amqp://a:5672/v, amqps://b:5671/v' }).amqpUrls, ['amqp://a:5672/v', 'amqps://b:5671/v']);
  assert.throws(() => loadConfig({ amqpUrls }, { AMQP_URL: 'amqp://a:5672,http://b' }), /AMQP_URL="amqp:\/\/a:5672,http:\/\/b" entry 2 must use amqp: or amqps:, not http:/);
  assert.throws(() => loadConfig({ amqpUrls }, { AMQP_URL: 'amqp://a:5672,' }), /has an empty entry/);
});
