import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { AmqpConnectionManager } from './connection-manager';
import { PublishInterruptedError, PublishNackedError, UnroutableError } from './errors';
import { HEADERS } from './names';
import { connect } from 'amqplib';
import { AMQP_URL, buildTestTopology, createTestManager, delay, deleteTestTopology, drainQueue, withRawChannel } from './test-support/broker';

describe('Publisher', () => {
  const topology = buildTestTopology([{ name: 'work', routingKeys: ['work.do'] }]);
  let manager: AmqpConnectionManager;

  before(async () => {
    manager = createTestManager(topology);
    await manager.connect();
  });
  after(async () => {
    await manager.close();
    await deleteTestTopology(topology);
  });

  it('resolves after the broker confirms, with a persistent JSON message', async () => {
    await manager.publisher.publish(topology.names.exchange, 'work.do', { hello: 'world' }, { messageId: 'm-1', headers: { 'x-custom': 'yes' } });
    const [message, ...rest] = await drainQueue(topology.queue('work'), 1);
    assert.equal(rest.length, 0);
    assert.ok(message);
    assert.deepEqual(JSON.parse(message.content.toString('utf8')), { hello: 'world' });
    assert.equal(message.properties.contentType, 'application/json');
    assert.equal(message.properties.deliveryMode, 2);
    assert.equal(message.properties.messageId, 'm-1');
    assert.equal(typeof message.properties.timestamp, 'number');
    const headers = message.properties.headers as Record<string, unknown>;
    assert.equal(headers['x-custom'], 'yes');
    assert.equal(typeof headers[HEADERS.publishId], 'string');
  });

  it('publishes a Buffer body as is', async () => {
    await manager.publisher.publish(topology.names.exchange, 'work.do', Buffer.from([0, 1, 2]), { persistent: false });
    const [message] = await drainQueue(topology.queue('work'), 1);
    assert.deepEqual(message?.content, Buffer.from([0, 1, 2]));
    assert.equal(message?.properties.contentType, undefined);
    assert.equal(message?.properties.deliveryMode, 1);
  });

  it('rejects an unroutable publish with UnroutableError naming exchange and routing key', async () => {
    await assert.rejects(
      manager.publisher.publish(topology.names.exchange, 'nobody.listens', { x: 1 }),
      (error: unknown) => {
        assert.ok(error instanceof UnroutableError);
        assert.match(error.message, new RegExp(`exchange "${topology.names.exchange}"`));
        assert.match(error.message, /routing key "nobody\.listens"/);
        return true;
      },
    );
  });

  it('rejects only the unroutable one of concurrent publishes (returns are matched per publish)', async () => {
    const keys = ['work.do', 'nope.1', 'work.do', 'nope.2', 'work.do'];
    const outcomes = await Promise.allSettled(keys.map((key, index) => manager.publisher.publish(topology.names.exchange, key, { index })));
    assert.deepEqual(
      outcomes.map((outcome) => outcome.status),
      ['fulfilled', 'rejected', 'fulfilled', 'rejected', 'fulfilled'],
    );
    const rejected = outcomes.filter((outcome) => outcome.status === 'rejected');
    assert.match(String((rejected[0] as PromiseRejectedResult).reason), /nope\.1/);
    assert.match(String((rejected[1] as PromiseRejectedResult).reason), /nope\.2/);
    const delivered = await drainQueue(topology.queue('work'), 3);
    assert.equal(delivered.length, 3);
  });

  it('rejects a publish to a missing exchange, then recovers on a fresh channel', async () => {
    await assert.rejects(manager.publisher.publish(`${topology.prefix}.missing`, 'k', {}), (error: unknown) => {
      assert.ok(error instanceof PublishInterruptedError);
      assert.match(error.message, /NOT_FOUND/);
      return true;
    });
    await manager.publisher.publish(topology.names.exchange, 'work.do', { after: 'failure' });
    const [message] = await drainQueue(topology.queue('work'), 1);
    assert.deepEqual(JSON.parse(message?.content.toString('utf8') ?? 'null'), { after: 'failure' });
  });

  it('refuses a body that is not JSON-serializable', async () => {
    await assert.rejects(manager.publisher.publish(topology.names.exchange, 'work.do', undefined), /not JSON-serializable/);
  });

  describe('a nacked publish', () => {
    // A quorum queue that holds one message and refuses more: the broker nacks every publish routed to it while full.
    const full = `${topology.prefix}.full`;
    before(async () => {
      await withRawChannel(async (channel) => {
        await channel.assertQueue(full, { durable: true, arguments: { 'x-queue-type': 'quorum', 'x-max-length': 1, 'x-overflow': 'reject-publish' } });
        await channel.bindQueue(full, topology.names.exchange, 'full.do');
      });
    });
    after(async () => {
      await withRawChannel((channel) => channel.deleteQueue(full));
    });
    // A quorum queue applies its limit a little late: publish until the broker really refuses (or give up).
    const fillUntilRefused = async (): Promise<number> => {
      const connection = await connect(AMQP_URL);
      try {
        const channel = await connection.createConfirmChannel();
        for (let held = 0; held < 10; held++) {
          const nacked = await new Promise<boolean>((resolve) => channel.publish('', full, Buffer.from('{}'), {}, (error: unknown) => resolve(error !== null && error !== undefined)));
          if (nacked) return held;
        }
        throw new Error(`${full} never refused a publish`);
      } finally {
        await connection.close();
      }
    };

    it('is published again on a fresh channel, and resolves once the broker takes it', async () => {
      const held = await fillUntilRefused();
      let settled = false;
      const second = manager.publisher.publish(topology.names.exchange, 'full.do', { n: 2 }, { messageId: 'again' }).finally(() => (settled = true));
      await delay(150);
      assert.equal(settled, false, 'a nack is not the end of the publish');
      assert.equal((await drainQueue(full, held)).length, held);
      await second;
      const [retried, ...rest] = await drainQueue(full, 1);
      assert.equal(rest.length, 0, 'sent once more, not once per attempt');
      assert.equal(retried?.properties.messageId, 'again');
      // The channel that nacked is retired: the next publish goes through at once.
      await manager.publisher.publish(topology.names.exchange, 'work.do', { after: 'nack' });
      assert.equal((await drainQueue(topology.queue('work'), 1)).length, 1);
    });

    it('rejects with PublishNackedError when the broker keeps refusing it', { timeout: 20_000 }, async () => {
      const held = await fillUntilRefused();
      await assert.rejects(manager.publisher.publish(topology.names.exchange, 'full.do', { n: 2 }), (error: unknown) => {
        assert.ok(error instanceof PublishNackedError);
        assert.match(error.message, /routing key "full\.do"/);
        return true;
      });
      assert.equal((await drainQueue(full, held)).length, held, 'the refused message is not held');
    });
  });
});
