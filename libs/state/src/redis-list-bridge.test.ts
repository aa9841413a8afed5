import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { RedisListBridge, type RedisListBridgeOptions } from './redis-list-bridge';
import { openTestRedis, waitFor, type TestRedis } from './test-support/redis';

void describe('RedisListBridge', () => {
  let env: TestRedis;
  let source: string;
  let processing: string;
  const bridges: RedisListBridge[] = [];

  beforeEach(() => {
    env = openTestRedis();
    source = `${env.prefix}tasks`;
    processing = `${env.prefix}tasks:processing`;
  });
  afterEach(async () => {
    await Promise.all(bridges.splice(0).map((bridge) => bridge.stop()));
    await env.cleanup();
  });

  function startBridge(publish: (body: Buffer) => Promise<void>, extra: Partial<RedisListBridgeOptions> = {}) {
    const bridge = new RedisListBridge(env.redis, {
      sourceList: source,
      processingList: processing,
      publish,
      initialBackoffMs: 20,
      ...extra,
    });
    bridges.push(bridge);
    bridge.start();
    return bridge;
  }

  void it('publishes pushed items in order, as-is, and removes them from processing', async () => {
    const published: Buffer[] = [];
    startBridge(async (body) => {
      published.push(body);
    });
    const binary = Buffer.from([0xff, 0x00, 0xfe, 0x0a]);
    await env.redis.lpush(source, '{"taskId":"t1"}', 'not json at all', binary);
    await env.redis.lpush(source, '{"taskId":"t2"}');

    await waitFor('4 publishes', () => published.length === 4);
    assert.deepEqual(
      published.map((b) => b.toString('latin1')),
      ['{"taskId":"t1"}', 'not json at all', binary.toString('latin1'), '{"taskId":"t2"}'],
    );
    assert.ok(published[2]?.equals(binary));
    await waitFor('processing list drained', async () => (await env.redis.llen(processing)) === 0);
    assert.equal(await env.redis.llen(source), 0);
  });

  void it('popFrom left serves publishers that RPUSH', async () => {
    const published: string[] = [];
    startBridge(async (body) => void published.push(body.toString()), { popFrom: 'left' });
    await env.redis.rpush(source, 'a', 'b', 'c');
    await waitFor('3 publishes', () => published.length === 3);
    assert.deepEqual(published, ['a', 'b', 'c']);
  });

  void it('a failed publish leaves the item in processing and retries it before anything else', async () => {
    const attempts: string[] = [];
    const errors: string[] = [];
    let releaseSecondAttempt: () => void = () => undefined;
    const secondAttemptGate = new Promise<void>((resolve) => (releaseSecondAttempt = resolve));
    startBridge(
      async (body) => {
        attempts.push(body.toString());
        if (attempts.length === 1) throw new Error('broker nacked');
        if (attempts.length === 2) await secondAttemptGate;
      },
      { onError: (_error, context) => errors.push(`${context.phase}#${context.attempt}`) },
    );
    await env.redis.lpush(source, 'first', 'second');

    await waitFor('the retry to start', () => attempts.length === 2);
    assert.deepEqual(attempts, ['first', 'first']);
    assert.deepEqual(errors, ['publish#1']);
    assert.deepEqual(await env.redis.lrange(processing, 0, -1), ['first'], 'still parked in processing');
    assert.deepEqual(await env.redis.lrange(source, 0, -1), ['second'], 'later items wait');

    releaseSecondAttempt();
    await waitFor('both published', () => attempts.length === 3);
    assert.deepEqual(attempts, ['first', 'first', 'second']);
    await waitFor('processing list drained', async () => (await env.redis.llen(processing)) === 0);
  });

  void it('a restarted bridge first republishes what a crash left in processing, oldest first', async () => {
    // State after a crash: items moved (LPUSHed) to processing but never confirmed.
    await env.redis.lpush(processing, 'left-1', 'left-2');
    await env.redis.lpush(source, 'new-1');
    const published: string[] = [];
    startBridge(async (body) => void published.push(body.toString()));

    await waitFor('3 publishes', () => published.length === 3);
    assert.deepEqual(published, ['left-1', 'left-2', 'new-1']);
    await waitFor('processing list drained', async () => (await env.redis.llen(processing)) === 0);
  });

  void it('stop() returns promptly while blocked, and a stopped bridge can be restarted', async () => {
    const published: string[] = [];
    const bridge = startBridge(async (body) => void published.push(body.toString()), { blockSeconds: 10 });
    await waitFor('the bridge to block on BLMOVE', async () => {
      const clients = String(await env.redis.client('LIST')).split('\n');
      return clients.some((line) => line.includes(`name=${env.connectionName} `) && line.includes('cmd=blmove'));
    });

    const started = Date.now();
    await bridge.stop();
    const elapsed = Date.now() - started;
    assert.ok(elapsed < 1000, `stop() took ${elapsed} ms while BLMOVE blocks for 10 s`);
    assert.equal(bridge.running, false);

    await env.redis.lpush(source, 'after-stop');
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.deepEqual(published, [], 'nothing is consumed after stop()');
    assert.equal(await env.redis.llen(source), 1);

    bridge.start();
    await waitFor('publish after restart', () => published.length === 1);
    assert.deepEqual(published, ['after-stop']);
  });

  void it('stop() finishes the item whose publish is in flight', async () => {
    let finishPublish: () => void = () => undefined;
    const publishing = new Promise<void>((resolve) => (finishPublish = resolve));
    let calls = 0;
    const bridge = startBridge(async () => {
      calls++;
      await publishing;
    });
    await env.redis.lpush(source, 'in-flight');
    await waitFor('publish to start', () => calls === 1);

    let stopped = false;
    const stopping = bridge.stop().then(() => (stopped = true));
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.equal(stopped, false, 'stop() waits for the item in hand');
    finishPublish();
    await stopping;
    assert.equal(await env.redis.llen(processing), 0);
    assert.equal(calls, 1);
  });
});
