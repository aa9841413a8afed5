import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { connect, type ChannelModel, type ConfirmChannel, type GetMessage } from 'amqplib';
import { HEADERS, TIER_ROUTING_HEADER } from '../schemas/failure-headers';
import { AUDIT_QUEUE_BOUND, buildTopology, DEFAULT_RETRY_TIERS, DELIVERY_LIMIT, EVENTS_QUEUE_BOUND, NOTIFIER_EVENTS_BOUND, PARKED_QUEUE_BOUND, TOPOLOGY, type Topology } from './build-topology';
import { EXCHANGES, QUEUES, queueRoutingKey, ROUTING_KEYS } from '@subpack/rules';

const AMQP_URL = process.env.AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672';

describe('buildTopology (pure data)', () => {
  it('makes one quorum queue per tier with its TTL, dead-lettering back to the main exchange', () => {
    const topology = buildTopology([
      { name: '5s', ttlMs: 5000 },
      { name: '30s', ttlMs: 30000 },
      { name: '5m', ttlMs: 300000 },
    ]);
    const tierQueues = topology.queues.filter((queue) => queue.role === 'retry');
    assert.deepEqual(
      tierQueues.map((queue) => [queue.name, queue.arguments['x-message-ttl']]),
      [
        ['subpack.retry.5s', 5000],
        ['subpack.retry.30s', 30000],
        ['subpack.retry.5m', 300000],
      ],
    );
    for (const queue of tierQueues) {
      assert.equal(queue.arguments['x-dead-letter-exchange'], 'subpack');
      assert.equal(queue.arguments['x-queue-type'], 'quorum');
      // The message's own routing key (queue.<origin>) must survive dead-lettering.
      assert.equal('x-dead-letter-routing-key' in queue.arguments, false);
      const tierName = queue.name.slice('subpack.retry.'.length);
      assert.deepEqual(queue.bindings, [
        // Not x-subpack-tier: headers exchanges ignore binding arguments starting with "x-".
        { exchange: 'subpack.retry', routingKey: '', arguments: { 'x-match': 'all', 'subpack-tier': tierName } },
      ]);
    }
    assert.deepEqual(topology.retryTiers.map((tier) => tier.queue), tierQueues.map((queue) => queue.name));
  });

  it('dead-letters every work queue to subpack.dead and binds it to queue.<its name>', () => {
    const workQueues = TOPOLOGY.queues.filter((queue) => queue.role === 'work');
    assert.deepEqual(
      workQueues.map((queue) => [queue.name, queue.bindings.map((binding) => binding.routingKey)]),
      [
        ['subpack.packer.tasks', ['task.pack', 'queue.subpack.packer.tasks']],
        ['subpack.packer.batches', ['pack.batch', 'queue.subpack.packer.batches']],
        ['subpack.uploader.store', ['channel.store', 'queue.subpack.uploader.store']],
        ['subpack.notifier.events', ['event.#', 'queue.subpack.notifier.events']],
        ['subpack.notifier.deliveries', ['notify.delivery', 'queue.subpack.notifier.deliveries']],
      ],
    );
    for (const queue of workQueues) {
      if (queue.name === 'subpack.notifier.events') continue;
      assert.deepEqual(queue.arguments, {
        'x-queue-type': 'quorum',
        'x-dead-letter-exchange': 'subpack.dead',
        'x-dead-letter-strategy': 'at-least-once',
        'x-overflow': 'reject-publish',
        'x-delivery-limit': DELIVERY_LIMIT,
      });
      assert.ok(queue.bindings.every((binding) => binding.exchange === 'subpack'));
    }
  });

  it('gives every queue a consumer or a bound', () => {
    const consumed = new Set(['work', 'dead']);
    for (const queue of TOPOLOGY.queues) {
      const a = queue.arguments;
      const bounded = typeof a['x-max-length'] === 'number' || typeof a['x-message-ttl'] === 'number';
      // The notifier's queue is both: its consumer may be missing, and then nothing else may hold the broker's memory.
      const both = queue.name === 'subpack.notifier.events';
      assert.ok(both ? bounded && consumed.has(queue.role) : consumed.has(queue.role) !== bounded, `${queue.name} (${queue.role}): consumed xor bounded`);
    }
    const byName = new Map(TOPOLOGY.queues.map((queue) => [queue.name, queue]));
    // Neither bound may dead-letter: an expired event or a dropped parked message is not a failure to retry.
    assert.deepEqual(byName.get('subpack.events')?.arguments, { 'x-queue-type': 'quorum', ...EVENTS_QUEUE_BOUND });
    assert.deepEqual(byName.get('subpack.events')?.bindings, [{ exchange: 'subpack', routingKey: 'event.#' }]);
    assert.deepEqual(byName.get('subpack.parked')?.arguments, { 'x-queue-type': 'quorum', ...PARKED_QUEUE_BOUND });
    // Audit records have their own tap, kept longer than events, and never reach the event queues.
    assert.deepEqual(byName.get('subpack.audit')?.arguments, { 'x-queue-type': 'quorum', ...AUDIT_QUEUE_BOUND });
    assert.deepEqual(byName.get('subpack.audit')?.bindings, [{ exchange: 'subpack', routingKey: 'audit.recorded' }]);
    assert.equal(AUDIT_QUEUE_BOUND['x-overflow'], 'drop-head');
    assert.ok(AUDIT_QUEUE_BOUND['x-message-ttl'] > EVENTS_QUEUE_BOUND['x-message-ttl']);
    assert.ok(AUDIT_QUEUE_BOUND['x-message-ttl'] <= 2 ** 32 - 1, 'RabbitMQ may refuse a longer x-message-ttl');
    assert.equal(EVENTS_QUEUE_BOUND['x-overflow'], 'drop-head');
    assert.equal(PARKED_QUEUE_BOUND['x-overflow'], 'drop-head');
    // Dropping the oldest never refuses a publisher; what is dropped goes to subpack.dead at most once, to be counted.
    assert.deepEqual(byName.get('subpack.notifier.events')?.arguments, {
      'x-queue-type': 'quorum',
      'x-dead-letter-exchange': 'subpack.dead',
      'x-dead-letter-strategy': 'at-most-once',
      'x-overflow': 'drop-head',
      'x-max-length': NOTIFIER_EVENTS_BOUND.maxLength,
      'x-message-ttl': NOTIFIER_EVENTS_BOUND.ttlMs,
      'x-delivery-limit': DELIVERY_LIMIT,
    });
  });

  it('declares the four exchanges with their types', () => {
    assert.deepEqual(
      TOPOLOGY.exchanges.map((exchange) => [exchange.name, exchange.type, exchange.durable]),
      [
        ['subpack', 'topic', true],
        ['subpack.dead', 'fanout', true],
        ['subpack.retry', 'headers', true],
        ['subpack.parked', 'fanout', true],
      ],
    );
  });

  it('uses the default tiers for TOPOLOGY and prefixes every name with the namespace', () => {
    assert.deepEqual(TOPOLOGY.retryTiers.map(({ name, ttlMs }) => ({ name, ttlMs })), DEFAULT_RETRY_TIERS);
    const isolated = buildTopology([{ name: 'x', ttlMs: 1 }], { namespace: 'test-1' });
    const names = [...isolated.exchanges.map((e) => e.name), ...isolated.queues.map((q) => q.name)];
    assert.ok(names.every((name) => name === 'test-1' || name.startsWith('test-1.')), names.join(', '));
    const boundExchanges = isolated.queues.flatMap((queue) => queue.bindings.map((binding) => binding.exchange));
    assert.ok(boundExchanges.every((name) => name === 'test-1' || name.startsWith('test-1.')));
  });

  it('rejects tiers that would make broken queue names or TTLs', () => {
    assert.throws(() => buildTopology([{ name: '5 s', ttlMs: 5000 }]), /retry tier 0 \("5 s"\): name must start/);
    assert.throws(
      () => buildTopology([{ name: 'a', ttlMs: 5 }, { name: 'a', ttlMs: 6 }]),
      /retry tier 1 \("a"\): name is used by an earlier tier/,
    );
    assert.throws(() => buildTopology([{ name: 'a', ttlMs: 0 }]), /ttlMs must be an integer from 1 to 4294967295, got 0/);
    assert.throws(() => buildTopology([{ name: 'a', ttlMs: 1.5 }]), /got 1.5/);
    assert.throws(() => buildTopology([], { namespace: '' }), /topology namespace "" must start/);
  });

  it('exports the default names used in the contract', () => {
    assert.deepEqual(EXCHANGES, { main: 'subpack', dead: 'subpack.dead', retry: 'subpack.retry', parked: 'subpack.parked' });
    assert.equal(QUEUES.packerTasks, 'subpack.packer.tasks');
    assert.equal(queueRoutingKey(QUEUES.uploaderStore), 'queue.subpack.uploader.store');
  });
});

/** Declares a namespaced copy of the topology on the real broker and checks that RabbitMQ routes as described. */
describe('buildTopology on RabbitMQ', () => {
  const namespace = `t-contracts-${randomBytes(4).toString('hex')}`;
  const topology = buildTopology(
    [
      { name: 'fast', ttlMs: 300 },
      { name: 'slow', ttlMs: 600_000 },
    ],
    { namespace },
  );
  const { exchanges: ex, queues: q } = topology.names;
  let connection: ChannelModel;
  let channel: ConfirmChannel;

  before(async () => {
    connection = await connect(AMQP_URL);
    channel = await connection.createConfirmChannel();
    await declare(channel, topology);
  });

  after(async () => {
    const cleanup = await connection.createChannel();
    for (const queue of topology.queues) await cleanup.deleteQueue(queue.name);
    for (const exchange of topology.exchanges) await cleanup.deleteExchange(exchange.name);
    await connection.close();
  });

  async function publish(exchange: string, routingKey: string, body: object, headers: Record<string, unknown> = {}) {
    channel.publish(exchange, routingKey, Buffer.from(JSON.stringify(body)), {
      persistent: true,
      contentType: 'application/json',
      mandatory: true,
      headers,
    });
    await channel.waitForConfirms();
  }

  async function waitForGet(queue: string, timeoutMs = 5000): Promise<GetMessage> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const message = await channel.get(queue, { noAck: false });
      if (message !== false) return message;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    throw new Error(`no message arrived in ${queue} within ${timeoutMs} ms`);
  }

  async function nextMessage(queue: string): Promise<GetMessage> {
    const message = await waitForGet(queue);
    channel.ack(message);
    return message;
  }

  async function assertEmpty(queue: string): Promise<void> {
    const { messageCount } = await channel.checkQueue(queue);
    assert.equal(messageCount, 0, `${queue} should be empty`);
  }

  it('routes task.pack to the packer task queue only', async () => {
    await publish(ex.main, ROUTING_KEYS.packTask, { taskId: 'route-1' });
    const message = await nextMessage(q.packerTasks);
    assert.deepEqual(JSON.parse(message.content.toString()), { taskId: 'route-1' });
    await assertEmpty(q.packerBatches);
    await assertEmpty(q.uploaderStore);
  });

  it('sends a message nacked without requeue to the dead queue', async () => {
    await publish(ex.main, ROUTING_KEYS.channelStore, { taskId: 'dead-1' });
    const message = await waitForGet(q.uploaderStore);
    channel.nack(message, false, false);
    const dead = await nextMessage(q.dead);
    assert.deepEqual(JSON.parse(dead.content.toString()), { taskId: 'dead-1' });
    assert.equal(dead.fields.routingKey, ROUTING_KEYS.channelStore);
  });

  it('delays a retried message in its tier only, then returns it to exactly the queue it failed in', async () => {
    const started = Date.now();
    await publish(ex.retry, queueRoutingKey(q.packerBatches), { taskId: 'retry-1' }, {
      [TIER_ROUTING_HEADER]: 'fast',
      [HEADERS.tier]: 'fast',
      [HEADERS.attempt]: 1,
    });
    await assertEmpty(topology.retryTiers[1]!.queue);
    const returned = await nextMessage(q.packerBatches);
    assert.ok(Date.now() - started >= 250, 'the message came back before the tier TTL');
    assert.deepEqual(JSON.parse(returned.content.toString()), { taskId: 'retry-1' });
    assert.equal(returned.fields.routingKey, queueRoutingKey(q.packerBatches));
    assert.equal(returned.properties.headers?.[HEADERS.attempt], 1);
    await assertEmpty(q.packerTasks);
    await assertEmpty(q.uploaderStore);
  });

  it('returns (mandatory) a retry for an unknown tier instead of dropping it', async () => {
    const returned = new Promise<string>((resolve) => channel.once('return', (message: GetMessage) => resolve(message.fields.routingKey)));
    await publish(ex.retry, queueRoutingKey(q.packerTasks), { taskId: 'lost-1' }, {
      [TIER_ROUTING_HEADER]: 'no-such-tier',
      [HEADERS.tier]: 'no-such-tier',
    });
    assert.equal(await returned, queueRoutingKey(q.packerTasks));
  });

  it('copies every event into the bounded event tap', async () => {
    await publish(ex.main, 'event.task.completed', { taskId: 'tap-1' });
    const message = await nextMessage(q.events);
    assert.deepEqual(JSON.parse(message.content.toString()), { taskId: 'tap-1' });
    await assertEmpty(q.dead);
  });

  it('routes audit records to the audit tap only: they are not events', async () => {
    // Earlier tests leave events in the notifier's queue (nothing consumes it here).
    await channel.purgeQueue(q.events);
    await channel.purgeQueue(q.notifierEvents);
    await publish(ex.main, ROUTING_KEYS.auditRecorded, { seq: 1 });
    const message = await nextMessage(q.audit);
    assert.deepEqual(JSON.parse(message.content.toString()), { seq: 1 });
    await assertEmpty(q.events);
    await assertEmpty(q.notifierEvents);
    await assertEmpty(q.dead);
  });

  it('RabbitMQ applies the bounds as declared: the oldest goes first, nothing is dead-lettered', async () => {
    // The same arguments with a tiny length, so the broker has to act on them.
    for (const [what, bound] of [['events', EVENTS_QUEUE_BOUND], ['audit', AUDIT_QUEUE_BOUND], ['parked', PARKED_QUEUE_BOUND]] as const) {
      const small = `${namespace}.bound-${what}`;
      await channel.assertQueue(small, { durable: true, arguments: { 'x-queue-type': 'quorum', ...bound, 'x-max-length': 2 } });
      try {
        for (const n of [1, 2, 3]) {
          channel.sendToQueue(small, Buffer.from(String(n)), { persistent: true });
          await channel.waitForConfirms();
        }
        const kept = [(await nextMessage(small)).content.toString(), (await nextMessage(small)).content.toString()];
        assert.deepEqual(kept, ['2', '3'], what);
        await assertEmpty(small);
      } finally {
        await channel.deleteQueue(small);
      }
    }
    await assertEmpty(q.dead);
  });

  it('parks messages published to the parked exchange', async () => {
    await publish(ex.parked, 'task.pack', { taskId: 'parked-1' }, { [HEADERS.errorClass]: 'permanent' });
    const parked = await nextMessage(q.parked);
    assert.equal(parked.properties.headers?.[HEADERS.errorClass], 'permanent');
  });
});

async function declare(channel: ConfirmChannel, topology: Topology): Promise<void> {
  for (const exchange of topology.exchanges) {
    await channel.assertExchange(exchange.name, exchange.type, { durable: exchange.durable, autoDelete: exchange.autoDelete });
  }
  for (const queue of topology.queues) {
    await channel.assertQueue(queue.name, { durable: queue.durable, arguments: queue.arguments });
    for (const binding of queue.bindings) {
      await channel.bindQueue(queue.name, binding.exchange, binding.routingKey, binding.arguments);
    }
  }
}
