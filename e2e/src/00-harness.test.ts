// Checks the harness's own building blocks against the real broker, before any test relies on them.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import {
  createVhost,
  deleteVhost,
  peekQueue,
  publishJson,
  QueueSpy,
  queueMessageCount,
  rabbitmqctl,
  sumMetric,
  withChannel,
  type Vhost,
} from './harness';

let vhost: Vhost;
const spies: QueueSpy[] = [];

before(async () => {
  vhost = await createVhost('harness');
  await withChannel(vhost.amqpUrl, async (channel) => {
    await channel.assertExchange('subpack', 'topic', { durable: true });
    await channel.assertExchange('subpack.retry', 'headers', { durable: true });
  });
});

after(async () => {
  await Promise.all(spies.map((s) => s.close()));
  await deleteVhost(vhost);
});

test('a publish nobody is bound to is rejected as unroutable (mandatory)', async () => {
  await assert.rejects(publishJson(vhost.amqpUrl, { hello: 1 }, { routingKey: 'nobody.listens' }), /returned the message/);
});

test('a spy on a headers exchange with only x-match=all receives every message, headers kept', async () => {
  const spy = await QueueSpy.open(vhost.amqpUrl, 'retry', { exchange: 'subpack.retry', arguments: { 'x-match': 'all' } });
  spies.push(spy);
  await publishJson(vhost.amqpUrl, { n: 1 }, { exchange: 'subpack.retry', routingKey: '', headers: { 'x-subpack-tier': '1s' } });
  await publishJson(vhost.amqpUrl, { n: 2 }, { exchange: 'subpack.retry', routingKey: '', headers: { other: 'x' } });
  await spy.waitFor('2 messages', (m) => m.length >= 2, 5000);
  assert.deepEqual(spy.messages.map((m) => m.json), [{ n: 1 }, { n: 2 }]);
  assert.equal(spy.messages[0]!.headers['x-subpack-tier'], '1s');
});

test('a topic spy sees only its routing keys; peekQueue leaves the messages in place', async () => {
  const queue = 'e2e.harness.peek';
  await withChannel(vhost.amqpUrl, async (channel) => {
    await channel.assertQueue(queue, { durable: true });
    await channel.bindQueue(queue, 'subpack', 'peek.#');
  });
  const spy = await QueueSpy.open(vhost.amqpUrl, 'events', { exchange: 'subpack', routingKey: 'event.#' });
  spies.push(spy);
  await publishJson(vhost.amqpUrl, { a: 1 }, { routingKey: 'peek.me' });
  await publishJson(vhost.amqpUrl, { type: 'task.failed', taskId: 't1', at: 'now' }, { routingKey: 'event.task.failed', messageId: 'm1' });
  await publishJson(vhost.amqpUrl, { a: 2 }, { routingKey: 'peek.me' });
  await spy.waitFor('1 event', (m) => m.length >= 1, 5000);
  assert.equal(spy.messages.length, 1);
  assert.equal(spy.messages[0]!.messageId, 'm1');

  const peeked = await peekQueue(vhost.amqpUrl, queue);
  assert.deepEqual(peeked.map((m) => JSON.parse(m.content.toString()) as unknown), [{ a: 1 }, { a: 2 }]);
  assert.equal(await queueMessageCount(vhost.amqpUrl, queue), 2);
});

test('rabbitmqctl failures carry the command output', async () => {
  await assert.rejects(rabbitmqctl(['delete_vhost', `e2e-does-not-exist-${Date.now()}`]), /delete_vhost/);
});

test('sumMetric adds every label set of one metric and ignores others', () => {
  const text = [
    '# HELP subpack_batches_total Batches',
    '# TYPE subpack_batches_total counter',
    'subpack_batches_total{outcome="ok"} 3',
    'subpack_batches_total{outcome="failed"} 1',
    'subpack_batches_total_created 1700000000',
    'other 9',
  ].join('\n');
  assert.equal(sumMetric(text, 'subpack_batches_total'), 4);
  assert.equal(sumMetric(text, 'missing'), undefined);
});
