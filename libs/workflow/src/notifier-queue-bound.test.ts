// The notifier's event queue is bounded: with no notifier consuming it, publishers are never refused, the queue keeps
// only the newest events, and every dropped one reaches the retry-scheduler to be counted, never retried or parked.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { connect } from 'amqplib';
import { buildTopology, type Topology } from '@subpack/contracts';
import { EXCHANGES, eventRoutingKey } from '@subpack/rules';
import { AmqpConnectionManager, DropReport, RetryScheduler, silentLogger, type BrokerDrop } from '@subpack/messaging';
import { createVhost, deleteVhost, type Vhost } from '@subpack/testing';

const BROKER_URL = process.env.AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672';
const BOUND = 5;
const PUBLISHED = 12;

describe('the bounded notifier event queue', () => {
  let vhost: Vhost;
  let manager: AmqpConnectionManager;
  let topology: Topology;
  const drops: BrokerDrop[] = [];
  const retried: unknown[] = [];
  const parked: unknown[] = [];

  before(async () => {
    vhost = await createVhost(BROKER_URL, 'notifier-bound');
    topology = buildTopology([{ name: '1s', ttlMs: 1000 }], { notifierEventsBound: { maxLength: BOUND, ttlMs: 600_000 } });
    manager = new AmqpConnectionManager({ url: vhost.amqpUrl, connectionName: 'notifier-bound-test', topology, logger: silentLogger });
    await manager.connect();
    const scheduler = new RetryScheduler(manager, {
      policy: { tiers: topology.retryTiers, maxAttempts: 3 },
      onDropped: (_message, drop) => {
        drops.push(drop);
      },
      onRetry: (message) => {
        retried.push(message.messageId);
      },
      onParked: (message) => {
        parked.push(message.messageId);
      },
    });
    await scheduler.start();
  });
  after(async () => {
    await manager?.close();
    if (vhost) await deleteVhost(vhost);
  });

  async function depth(queue: string): Promise<number> {
    const connection = await connect(vhost.amqpUrl);
    try {
      const channel = await connection.createChannel();
      return (await channel.checkQueue(queue)).messageCount;
    } finally {
      await connection.close();
    }
  }

  test(`${PUBLISHED} events with no notifier: every publish is confirmed, ${BOUND} are kept, ${PUBLISHED - BOUND} are counted as dropped`, async () => {
    const { queues } = topology.names;
    for (let i = 0; i < PUBLISHED; i++) {
      const event = { type: 'task.accepted', taskId: `bound-${i}`, total: 1, batches: 1, package: 'p', versionName: '1', versionCode: 1, at: new Date().toISOString() };
      await manager.publisher.publish(EXCHANGES.main, eventRoutingKey('task.accepted'), event, { messageId: `task.accepted:bound-${i}` });
    }
    const deadline = Date.now() + 30_000;
    while (drops.length < PUBLISHED - BOUND && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
    assert.deepEqual(drops, Array.from({ length: PUBLISHED - BOUND }, () => ({ queue: queues.notifierEvents, reason: 'maxlen' })));
    assert.equal(await depth(queues.notifierEvents), BOUND);
    assert.equal(await depth(queues.dead), 0);
    for (const tier of topology.retryTiers) assert.equal(await depth(tier.queue), 0, `nothing went to ${tier.queue}`);
    assert.deepEqual({ retried, parked }, { retried: [], parked: [] });
  });
});

describe('reports of dropped messages', () => {
  test('the first drop is told at once, the next ones at most once per period, none lost', () => {
    const reports: { queue: string; reason: string; count: number }[][] = [];
    const report = new DropReport(60_000, (summary) => reports.push(summary));
    const full: BrokerDrop = { queue: 'q', reason: 'maxlen' };
    report.note(full, 0);
    for (let t = 1_000; t < 60_000; t += 1_000) report.note(full, t);
    report.note({ queue: 'q', reason: 'expired' }, 59_500);
    report.flush(59_999);
    assert.equal(reports.length, 1, 'one report in the first minute');
    report.flush(60_000);
    report.flush(61_000);
    report.flush(200_000);
    assert.deepEqual(reports, [
      [{ queue: 'q', reason: 'maxlen', count: 1 }],
      [
        { queue: 'q', reason: 'maxlen', count: 59 },
        { queue: 'q', reason: 'expired', count: 1 },
      ],
    ]);
  });
});
