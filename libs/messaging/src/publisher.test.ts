import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { AmqpConnectionManager } from './connection-manager';
import { PublishInterruptedError, UnroutableError } from './errors';
import { HEADERS } from './names';
import { buildTestTopology, createTestManager, deleteTestTopology, drainQueue } from './test-support/broker';

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
});
