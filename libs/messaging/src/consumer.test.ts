import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { AmqpConnectionManager } from './connection-manager';
import { PermanentError, TransientError } from './errors';
import type { MessagingLogger } from './logger';
import { HEADERS } from './names';
import { buildTestTopology, createTestManager, deleteTestTopology, delay, drainQueue, Inbox, messageCount, waitUntil } from './test-support/broker';

describe('Consumer', () => {
  const topology = buildTestTopology([
    { name: 'ok', routingKeys: ['ok'] },
    { name: 'bad', routingKeys: ['bad'] },
    { name: 'json', routingKeys: ['json'] },
    { name: 'fallback', routingKeys: ['fallback'] },
    { name: 'parallel', routingKeys: ['parallel'] },
    { name: 'hang', routingKeys: ['hang'] },
    { name: 'logged', routingKeys: ['logged'] },
  ]);
  const { exchange, deadQueue } = topology.names;
  let manager: AmqpConnectionManager;

  before(async () => {
    manager = createTestManager(topology);
    await manager.connect();
  });
  after(async () => {
    await manager.close();
    await deleteTestTopology(topology);
  });

  it('acks a message whose handler succeeds', async () => {
    const inbox = new Inbox();
    await manager.consume(topology.queue('ok'), inbox.handler);
    await manager.publisher.publish(exchange, 'ok', { n: 1 }, { messageId: 'ok-1' });
    const [message] = await inbox.waitFor(1);
    assert.ok(message);
    assert.deepEqual(message.json(), { n: 1 });
    assert.equal(message.messageId, 'ok-1');
    assert.equal(message.routingKey, 'ok');
    assert.equal(message.attempt, 1);
    assert.equal(message.redelivered, false);
    await delay(200);
    assert.equal(await messageCount(topology.queue('ok')), 0);
    assert.equal(inbox.messages.length, 1);
  });

  it('forwards a PermanentError to the dead exchange with failure headers, then acks', async () => {
    await manager.consume(topology.queue('bad'), () => {
      throw new PermanentError('field "taskId" is missing');
    });
    await manager.publisher.publish(exchange, 'bad', { x: 1 }, { messageId: 'bad-1', headers: { 'x-keep': 'me' } });
    const [dead] = await drainQueue(deadQueue, 1);
    assert.ok(dead);
    const headers = dead.properties.headers as Record<string, unknown>;
    assert.equal(headers[HEADERS.attempt], 1);
    assert.equal(headers[HEADERS.error], 'field "taskId" is missing');
    assert.equal(headers[HEADERS.errorClass], 'permanent');
    assert.equal(headers[HEADERS.originQueue], topology.queue('bad'));
    assert.equal(headers[HEADERS.originRoutingKey], 'bad');
    assert.ok(!Number.isNaN(Date.parse(String(headers[HEADERS.failedAt]))));
    assert.equal(headers['x-keep'], 'me');
    assert.equal(dead.fields.routingKey, 'bad');
    assert.equal(dead.properties.messageId, 'bad-1');
    assert.equal(dead.properties.deliveryMode, 2);
    assert.deepEqual(JSON.parse(dead.content.toString('utf8')), { x: 1 });
    await delay(100);
    assert.equal(await messageCount(topology.queue('bad')), 0);
  });

  it('gives malformed JSON a readable PermanentError and keeps consuming', async () => {
    const inbox = new Inbox((message) => {
      message.json();
    });
    await manager.consume(topology.queue('json'), inbox.handler);
    await manager.publisher.publish(exchange, 'json', Buffer.from('{"taskId": "t1", oops'), { messageId: 'broken-1', contentType: 'application/json' });
    await manager.publisher.publish(exchange, 'json', { fine: true });
    await inbox.waitFor(2);
    const [dead] = await drainQueue(deadQueue, 1);
    const headers = dead?.properties.headers as Record<string, unknown>;
    assert.equal(headers[HEADERS.errorClass], 'permanent');
    assert.match(String(headers[HEADERS.error]), /^message "broken-1" on queue "t[0-9a-f]+\.json" is not valid JSON \(.+\); body starts with "\{"taskId": "t1", oops"$/);
    assert.throws(() => inbox.messages[0]?.json(), PermanentError);
    assert.deepEqual(inbox.messages[1]?.json(), { fine: true });
    await delay(100);
    assert.equal(await messageCount(topology.queue('json')), 0);
  });

  it('logs a failed message once, naming its task and channel: bad input without a stack trace, anything else with one', async () => {
    const lines: { level: string; fields: Record<string, unknown>; message: string }[] = [];
    const record = (level: string) => (fields: Record<string, unknown>, message: string): void => void lines.push({ level, fields, message });
    const logger: MessagingLogger = { debug: () => undefined, info: () => undefined, warn: record('warn'), error: record('error') };
    const logged = createTestManager(topology, { logger, connectionName: `test-${topology.prefix}-logged` });
    try {
      await logged.connect();
      await logged.consume(topology.queue('logged'), (message) => {
        const { taskId } = message.json() as { taskId: string };
        if (taskId === 'bad-task') throw new PermanentError('channel "../x" is not a channel id');
        throw new Error('disk on fire');
      });
      await logged.publisher.publish(exchange, 'logged', { taskId: 'bad-task', channel: 'huawei' }, { messageId: 'm-bad' });
      await drainQueue(deadQueue, 1);
      await logged.publisher.publish(exchange, 'logged', { taskId: 'odd-task' });
      await drainQueue(deadQueue, 1);
      await waitUntil('two failure lines', () => lines.filter((l) => l.message === 'message handler failed').length >= 2, 5000);
      const failures = lines.filter((l) => l.message === 'message handler failed');
      assert.equal(failures.length, 2, JSON.stringify(lines));
      const [bad, odd] = failures;
      assert.equal(bad?.level, 'warn');
      assert.deepEqual(
        { taskId: bad?.fields.taskId, channel: bad?.fields.channel, messageId: bad?.fields.messageId, errorClass: bad?.fields.errorClass, error: bad?.fields.error },
        { taskId: 'bad-task', channel: 'huawei', messageId: 'm-bad', errorClass: 'permanent', error: 'channel "../x" is not a channel id' },
      );
      assert.ok(!JSON.stringify(bad).includes('stack'), `bad input has no stack trace: ${JSON.stringify(bad)}`);
      assert.equal(odd?.fields.taskId, 'odd-task');
      assert.equal(odd?.fields.errorClass, 'transient');
      assert.match(String(odd?.fields['error.stack_trace']), /^Error: disk on fire\n\s+at /, 'an unexpected error keeps its stack');
    } finally {
      await logged.close();
    }
  });

  it("falls back to the queue's own dead-letter exchange when forwarding fails", async () => {
    await manager.consume(
      topology.queue('fallback'),
      () => {
        throw new TransientError('downstream unavailable');
      },
      { deadExchange: `${topology.prefix}.no-such-exchange` },
    );
    await manager.publisher.publish(exchange, 'fallback', { y: 2 });
    const [dead] = await drainQueue(deadQueue, 1);
    const headers = dead?.properties.headers as Record<string, unknown>;
    assert.equal(headers['x-first-death-queue'], topology.queue('fallback'));
    assert.equal(headers['x-first-death-reason'], 'rejected');
    assert.equal(headers[HEADERS.attempt], undefined);
  });

  it('runs handlers concurrently up to prefetch and tracks them in flight', async () => {
    let running = 0;
    let peak = 0;
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const inbox = new Inbox(async () => {
      running += 1;
      peak = Math.max(peak, running);
      await gate;
      running -= 1;
    });
    const consumer = await manager.consume(topology.queue('parallel'), inbox.handler, { prefetch: 3 });
    await Promise.all([1, 2, 3, 4, 5].map((n) => manager.publisher.publish(exchange, 'parallel', { n })));
    await inbox.waitFor(3);
    await delay(200);
    assert.equal(inbox.messages.length, 3, 'the 4th delivery waits for a free prefetch slot');
    assert.equal(consumer.inFlightCount, 3);
    release();
    await inbox.waitFor(5);
    assert.equal(peak, 3);
    assert.equal(await consumer.whenIdle(2000), true);
  });

  it('fails a message whose handler passes its deadline, frees the slot, and reports the stuck handler until it returns', async () => {
    let release: () => void = () => undefined;
    const hung = new Promise<void>((resolve) => (release = resolve));
    const handled: string[] = [];
    await manager.consume(
      topology.queue('hang'),
      async (message) => {
        handled.push(String(message.messageId));
        if (message.messageId === 'hang-1') await hung;
      },
      { prefetch: 1, handlerTimeoutMs: 300 },
    );
    await manager.publisher.publish(exchange, 'hang', { n: 1 }, { messageId: 'hang-1' });
    await manager.publisher.publish(exchange, 'hang', { n: 2 }, { messageId: 'hang-2' });
    const [dead] = await drainQueue(deadQueue, 1);
    const headers = dead?.properties.headers as Record<string, unknown>;
    assert.equal(dead?.properties.messageId, 'hang-1');
    assert.match(String(headers[HEADERS.error]), /did not finish within 300 ms/);
    assert.equal(headers[HEADERS.errorClass], 'transient', 'a hang is retried, then parked like any transient failure');
    await waitUntil('the next message through the freed prefetch slot', () => handled.includes('hang-2'));
    assert.deepEqual(manager.stuckConsumers(), [{ queue: topology.queue('hang'), stuck: 1 }]);
    release();
    await waitUntil('the stuck handler to be forgotten once it returns', () => manager.stuckConsumers().length === 0);
  });
});
