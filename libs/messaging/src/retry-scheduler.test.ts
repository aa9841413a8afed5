import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { AmqpConnectionManager } from './connection-manager';
import { PermanentError, TransientError } from './errors';
import type { IncomingMessage } from './incoming-message';
import { HEADERS } from './names';
import { ParkingLot } from './parking-lot';
import { RetryScheduler } from './retry-scheduler';
import { buildTestTopology, createTestManager, deleteTestTopology, delay, Inbox, messageCount, waitUntil } from './test-support/broker';

describe('retry path (dead queue -> delay tier -> origin queue, or parking lot)', () => {
  // Two tiers: if the retry exchange matched both, a retried message would come back twice.
  const tiers = [
    { name: '1s', ttlMs: 1000 },
    { name: '2s', ttlMs: 2000 },
  ];
  const topology = buildTestTopology(
    [
      { name: 'flaky', routingKeys: ['job.run'] },
      { name: 'observer', routingKeys: ['job.run'] },
      { name: 'doomed', routingKeys: ['job.doomed'] },
      { name: 'strict', routingKeys: ['job.strict'] },
      { name: 'huge', routingKeys: ['job.huge'] },
    ],
    tiers,
  );
  const { exchange } = topology.names;
  let manager: AmqpConnectionManager;
  const PARKED_LIMIT = 4096;
  const parkedHookCalls: { messageId: string | undefined; reason: string }[] = [];
  const retryHookCalls: { messageId: string | undefined; attempt: number; tier: string; reason: string }[] = [];

  before(async () => {
    manager = createTestManager(topology);
    await manager.connect();
    const scheduler = new RetryScheduler(manager, {
      policy: { tiers, maxAttempts: 2 },
      maxParkedBodyBytes: PARKED_LIMIT,
      onParked: (message: IncomingMessage, reason: string) => {
        parkedHookCalls.push({ messageId: message.messageId, reason });
      },
      onRetry: (message, retry) => {
        retryHookCalls.push({ messageId: message.messageId, attempt: retry.attempt, tier: retry.tier.name, reason: retry.reason });
      },
    });
    await scheduler.start();
  });
  after(async () => {
    await manager.close();
    await deleteTestTopology(topology);
  });

  it('retries a transient failure through the 1s tier back to the same single queue, attempt 2', async () => {
    const flaky = new Inbox((message) => {
      if (message.attempt === 1) throw new TransientError('storage timeout');
    });
    const observer = new Inbox();
    await manager.consume(topology.queue('flaky'), flaky.handler);
    await manager.consume(topology.queue('observer'), observer.handler);
    const started = Date.now();
    await manager.publisher.publish(exchange, 'job.run', { job: 1 }, { messageId: 'job-1' });
    const [first, second] = await flaky.waitFor(2, 8000);
    assert.ok(Date.now() - started >= 900, 'the retry waited for the 1s tier');
    assert.equal(first?.attempt, 1);
    assert.equal(second?.attempt, 2);
    assert.equal(second?.messageId, 'job-1');
    assert.equal(second?.routingKey, `queue.${topology.queue('flaky')}`);
    assert.equal(second?.headers[HEADERS.originRoutingKey], 'job.run');
    assert.equal(second?.headers[HEADERS.tier], '1s');
    assert.deepEqual(second?.json(), { job: 1 });
    // Long enough for a copy routed through the 2s tier as well to show up.
    await delay(1500);
    assert.equal(flaky.messages.length, 2, 'delivered once per attempt, through one tier only');
    assert.equal(observer.messages.length, 1, 'the retry reached only the failing queue');
    assert.deepEqual(
      retryHookCalls.filter((call) => call.messageId === 'job-1'),
      [{ messageId: 'job-1', attempt: 1, tier: '1s', reason: 'storage timeout' }],
    );
  });

  it('parks after maxAttempts with the reason, and lists then replays it', async () => {
    let failing = true;
    const doomed = new Inbox(() => {
      if (failing) throw new Error('disk full');
    });
    await manager.consume(topology.queue('doomed'), doomed.handler);
    await manager.publisher.publish(exchange, 'job.doomed', { job: 2 }, { messageId: 'job-2' });
    await doomed.waitFor(2, 8000);
    await waitUntil('the parked message', () => parkedHookCalls.length > 0, 5000);
    assert.deepEqual(parkedHookCalls, [{ messageId: 'job-2', reason: 'gave up after 2 attempts: disk full' }]);

    const lot = new ParkingLot(manager);
    await waitUntil('the parked message in the queue', async () => (await messageCount(topology.names.parkedQueue)) === 1);
    const listed = await lot.listParked(10);
    assert.equal(listed.length, 1);
    const [parked] = listed;
    assert.equal(parked?.id, 'job-2');
    assert.equal(parked?.reason, 'gave up after 2 attempts: disk full');
    assert.equal(parked?.attempt, 2);
    assert.equal(parked?.originQueue, topology.queue('doomed'));
    assert.equal(parked?.originRoutingKey, 'job.doomed');
    assert.ok(!Number.isNaN(Date.parse(parked?.parkedAt ?? '')));
    assert.deepEqual(JSON.parse(parked?.body.toString('utf8') ?? 'null'), { job: 2 });
    assert.equal(await messageCount(topology.names.parkedQueue), 1, 'listing puts the messages back');

    failing = false;
    const result = await lot.replayParked({ ids: ['job-2'] });
    assert.deepEqual(result, { replayed: ['job-2'], skipped: [] });
    const [, , replayed] = await doomed.waitFor(3);
    assert.equal(replayed?.attempt, 1, 'attempt reset on replay');
    assert.equal(replayed?.headers[HEADERS.error], undefined);
    assert.deepEqual(replayed?.json(), { job: 2 });
    assert.equal(await messageCount(topology.names.parkedQueue), 0);
    assert.deepEqual(await lot.listParked(10), []);
  });

  it('parks a permanent failure at once and purges the parking lot', async () => {
    await manager.publisher.publish(exchange, 'job.strict', Buffer.from('not json'), { messageId: 'job-3' });
    await manager.consume(topology.queue('strict'), (message) => {
      message.json();
    });
    await waitUntil('the permanent failure to be parked', () => parkedHookCalls.length === 2, 5000);
    assert.match(parkedHookCalls[1]?.reason ?? '', /is not valid JSON/);
    await waitUntil('the parked message in the queue', async () => (await messageCount(topology.names.parkedQueue)) === 1);
    const lot = new ParkingLot(manager);
    const [parked] = await lot.listParked(10);
    assert.equal(parked?.attempt, 1);
    assert.equal(await lot.purgeParked(), 1);
    assert.equal(await messageCount(topology.names.parkedQueue), 0);
  });

  it('parks an oversized body cut to the limit, keeping headers and an escaped reason, and will not replay it', async () => {
    const body = Buffer.alloc(3 * 1024 * 1024, 0x61);
    await manager.consume(topology.queue('huge'), () => {
      throw new PermanentError('field "\u202Eexe.txt" is not allowed');
    });
    await manager.publisher.publish(exchange, 'job.huge', body, { messageId: 'job-huge' });
    await waitUntil('the huge message parked', async () => (await messageCount(topology.names.parkedQueue)) === 1, 10_000);
    const lot = new ParkingLot(manager);
    const [parked] = await lot.listParked(10);
    assert.equal(parked?.body.length, PARKED_LIMIT, 'only the first bytes are kept');
    assert.ok(parked?.body.equals(body.subarray(0, PARKED_LIMIT)));
    assert.equal(parked?.headers[HEADERS.truncatedFrom], body.length, 'the original size is recorded');
    assert.equal(parked?.reason, 'field "<U+202E>exe.txt" is not allowed', 'the reason is kept, with the bidi override made visible');
    assert.equal(parked?.originQueue, topology.queue('huge'));
    assert.deepEqual(await lot.replayParked({ ids: ['job-huge'] }), {
      replayed: [],
      skipped: [{ id: 'job-huge', reason: `body was cut when parked (${body.length} bytes); resend the original instead` }],
    });
    assert.equal(await lot.purgeParked(), 1);
  });
});
