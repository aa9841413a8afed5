import type { ChannelModel } from 'amqplib';
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { AmqpConnectionManager, type ConnectionState } from './connection-manager';
import { NotConnectedError, TopologyError } from './errors';
import { silentLogger } from './logger';
import {
  AMQP_URL,
  buildTestTopology,
  createTestManager,
  deleteTestTopology,
  delay,
  drainQueue,
  forceCloseFromServer,
  Inbox,
  messageCount,
  type TestTopology,
  waitUntil,
  withRawChannel,
} from './test-support/broker';

/** What a node that dies does to its clients' sockets (faster than asking the broker to close the connection). */
function resetSocket(connection: ChannelModel): void {
  (connection.connection as unknown as { stream: { destroy(error: Error): void } }).stream.destroy(new Error('connection reset by peer'));
}

describe('AmqpConnectionManager', () => {
  const topologies: TestTopology[] = [];
  const managers: AmqpConnectionManager[] = [];
  const setUp = (name: string): { topology: TestTopology; manager: AmqpConnectionManager } => {
    const topology = buildTestTopology([{ name, routingKeys: [name] }]);
    const manager = createTestManager(topology);
    topologies.push(topology);
    managers.push(manager);
    return { topology, manager };
  };
  after(async () => {
    for (const manager of managers) await manager.close();
    for (const topology of topologies) await deleteTestTopology(topology);
  });

  it('reconnects after the broker closes the connection: consumers resume, in-flight work is redelivered', async () => {
    const { topology, manager } = setUp('resume');
    const states: ConnectionState[] = [];
    manager.on('state', (state) => states.push(state));
    let releaseFirst!: () => void;
    const firstHeld = new Promise<void>((resolve) => (releaseFirst = resolve));
    const inbox = new Inbox(async (message) => {
      if (inbox.messages.length === 1) await firstHeld; // still running when the connection dies
      assert.ok(message);
    });
    await manager.connect();
    await manager.consume(topology.queue('resume'), inbox.handler);
    await manager.publisher.publish(topology.names.exchange, 'resume', { n: 1 });
    await inbox.waitFor(1);

    await forceCloseFromServer(manager);
    await waitUntil('the reconnect', () => states.includes('reconnecting') && manager.state === 'connected', 10_000);
    releaseFirst(); // its ack must not go to the new channel

    const [, redelivered] = await inbox.waitFor(2);
    assert.deepEqual(redelivered?.json(), { n: 1 });
    assert.equal(redelivered?.redelivered, true, 'the broker redelivers what the dead channel never acked');

    await manager.publisher.publish(topology.names.exchange, 'resume', { n: 2 });
    const [, , fresh] = await inbox.waitFor(3);
    assert.deepEqual(fresh?.json(), { n: 2 });
    await delay(200);
    assert.equal(await messageCount(topology.queue('resume')), 0, 'everything acked on the live channel');
    assert.deepEqual(states, ['connecting', 'connected', 'reconnecting', 'connected']);
  });

  it('a publish made while reconnecting waits for the connection and is confirmed', async () => {
    const { topology, manager } = setUp('wait');
    await manager.connect();
    const connection = await manager.waitForConnection(0);
    assert.equal((connection.connection as unknown as { heartbeat: number }).heartbeat, 15, 'negotiated heartbeat');
    await forceCloseFromServer(manager);
    await waitUntil('the disconnect', () => manager.state !== 'connected');
    await manager.publisher.publish(topology.names.exchange, 'wait', { during: 'reconnect' });
    assert.equal(await messageCount(topology.queue('wait')), 1);
  });

  it('drain() stops consuming, waits for the in-flight handler, then closes', async () => {
    const { topology, manager } = setUp('drain');
    let finished = false;
    const inbox = new Inbox(async () => {
      await delay(500);
      finished = true;
    });
    await manager.connect();
    await manager.consume(topology.queue('drain'), inbox.handler);
    await manager.publisher.publish(topology.names.exchange, 'drain', { n: 1 });
    await inbox.waitFor(1);
    await manager.publisher.publish(topology.names.exchange, 'drain', { n: 2 });
    const result = await manager.drain(5000);
    assert.equal(finished, true, 'drain returned only after the handler finished');
    assert.deepEqual(result, { drained: true, abandoned: 0 });
    assert.equal(manager.state, 'closed');
    assert.equal(inbox.messages.length, 1, 'no new delivery after cancel');
    assert.equal(await messageCount(topology.queue('drain')), 1, 'the first was acked, the second stays queued');
  });

  it('drain() gives up on a handler that outlives its timeout; the message stays in the queue', async () => {
    const { topology, manager } = setUp('slow');
    const inbox = new Inbox(() => delay(3000));
    await manager.connect();
    await manager.consume(topology.queue('slow'), inbox.handler);
    await manager.publisher.publish(topology.names.exchange, 'slow', { n: 1 });
    await inbox.waitFor(1);
    const started = Date.now();
    assert.deepEqual(await manager.drain(300), { drained: false, abandoned: 1 });
    assert.ok(Date.now() - started < 2000);
    assert.equal(await messageCount(topology.queue('slow')), 1);
  });

  it('fails the first connect when the topology conflicts with what exists', async () => {
    const { topology } = setUp('conflict');
    const queue = topology.queue('conflict');
    await withRawChannel(async (channel) => {
      await channel.assertQueue(queue, { durable: true }); // classic, the spec wants quorum
    });
    const manager = createTestManager(topology);
    managers.push(manager);
    await assert.rejects(manager.connect(), (error: unknown) => {
      assert.ok(error instanceof TopologyError);
      assert.match(error.message, new RegExp(`queue "${queue.replace(/\./g, '\\.')}".*PRECONDITION_FAILED`));
      assert.match(error.message, /exists with other arguments: delete it/);
      return true;
    });
    assert.equal(manager.state, 'closed');
  });

  it('with several nodes, connects to one that answers, names it, and comes back after losing it', async () => {
    const { topology } = setUp('nodes');
    const live = new URL(AMQP_URL);
    const dead = new URL(AMQP_URL);
    dead.port = '1'; // nothing listens there: a node that is down
    const manager = createTestManager(topology, { url: [dead.href, live.href] });
    managers.push(manager);
    const nodes: string[] = [];
    manager.on('connected', (_connection, node) => nodes.push(node));
    await manager.connect();
    const liveNode = `${live.hostname}:${live.port || '5672'}`;
    assert.equal(manager.node, liveNode);
    assert.ok(!liveNode.includes('guest'), 'no credentials in the node name');
    resetSocket(await manager.waitForConnection(0));
    await waitUntil('the reconnect', () => nodes.length === 2, 10_000);
    assert.deepEqual(nodes, [liveNode, liveNode], 'the dead node is skipped each round');
    await manager.publisher.publish(topology.names.exchange, 'nodes', { n: 1 });
    assert.equal(await messageCount(topology.queue('nodes')), 1);
  });

  it('a publish whose connection dies before its confirm is published again on the next connection', async () => {
    const { topology, manager } = setUp('republish');
    await manager.connect();
    const connection = await manager.waitForConnection(0);
    await manager.publisher.publish(topology.names.exchange, 'republish', { n: 0 }); // the confirm channel is open
    const published = manager.publisher.publish(topology.names.exchange, 'republish', { n: 1 });
    // The frame is on its way; the confirm cannot have come back yet.
    setImmediate(() => resetSocket(connection));
    await published;
    await waitUntil('the reconnect', () => manager.state === 'connected', 10_000);
    const bodies = (await drainQueue(topology.queue('republish'), 2)).map((m) => (JSON.parse(m.content.toString()) as { n: number }).n);
    assert.equal(bodies.filter((n) => n === 0).length, 1);
    const copies = bodies.filter((n) => n === 1).length;
    assert.ok(copies === 1 || copies === 2, `the message is queued (once, or twice when the first copy arrived), got ${copies}`);
  });

  it('gives up connecting after connectTimeoutMs with the last error', async () => {
    const manager = new AmqpConnectionManager({
      url: 'amqp://guest:guest@127.0.0.1:1',
      logger: silentLogger,
      connectTimeoutMs: 400,
      backoff: { initialDelayMs: 50, maxDelayMs: 100 },
    });
    await assert.rejects(manager.connect(), (error: unknown) => {
      assert.ok(error instanceof NotConnectedError);
      assert.match(error.message, /within 400 ms.*ECONNREFUSED/);
      // The cause on its own, for callers that say the timeout their own way.
      assert.match(error.lastError ?? '', /ECONNREFUSED/);
      assert.ok(!/within/.test(error.lastError ?? ''), error.lastError);
      return true;
    });
    assert.equal(manager.state, 'closed');
    await assert.rejects(manager.publisher.publish('x', 'y', {}), NotConnectedError);
  });
});
