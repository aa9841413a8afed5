import { type Channel, connect, type ChannelModel, type GetMessage } from 'amqplib';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { type AmqpConnectionOptions, AmqpConnectionManager } from '../connection-manager';
import type { MessageHandler } from '../consumer';
import type { IncomingMessage } from '../incoming-message';
import { silentLogger } from '../logger';
import { TIER_ROUTING_HEADER } from '@subpack/contracts';
import { queueRoutingKey } from '@subpack/rules';
import type { MessagingNames } from '../names';
import type { RetryTier } from '../retry-policy';
import type { QueueSpec, TopologySpec } from '../topology';

export const AMQP_URL = process.env.AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672';

export interface WorkQueue {
  /** Short name; the real queue name is `<prefix>.<name>`. */
  readonly name: string;
  readonly routingKeys: readonly string[];
}

export interface TestTopology {
  readonly prefix: string;
  readonly spec: TopologySpec;
  readonly names: MessagingNames;
  /** Real name of a work queue. */
  queue(name: string): string;
}

/** The contracts topology shape with random names: main/dead/retry/parked exchanges, tier queues, work queues. */
export function buildTestTopology(workQueues: readonly WorkQueue[], tiers: readonly RetryTier[] = []): TestTopology {
  const prefix = `t${randomBytes(5).toString('hex')}`;
  const names: MessagingNames = {
    exchange: prefix,
    deadExchange: `${prefix}.dead`,
    deadQueue: `${prefix}.dead`,
    retryExchange: `${prefix}.retry`,
    parkedExchange: `${prefix}.parked`,
    parkedQueue: `${prefix}.parked`,
  };
  const queue = (name: string): string => `${prefix}.${name}`;
  const work: QueueSpec[] = workQueues.map((q) => ({
    name: queue(q.name),
    arguments: { 'x-dead-letter-exchange': names.deadExchange },
    bindings: [...q.routingKeys, queueRoutingKey(queue(q.name))].map((routingKey) => ({ exchange: names.exchange, routingKey })),
  }));
  const tierQueues: QueueSpec[] = tiers.map((tier) => ({
    name: `${names.retryExchange}.${tier.name}`,
    arguments: { 'x-message-ttl': tier.ttlMs, 'x-dead-letter-exchange': names.exchange },
    bindings: [{ exchange: names.retryExchange, routingKey: '', arguments: { 'x-match': 'all', [TIER_ROUTING_HEADER]: tier.name } }],
  }));
  const spec: TopologySpec = {
    exchanges: [
      { name: names.exchange, type: 'topic' },
      { name: names.deadExchange, type: 'fanout' },
      { name: names.retryExchange, type: 'headers' },
      { name: names.parkedExchange, type: 'fanout' },
    ],
    queues: [
      ...work,
      { name: names.deadQueue, bindings: [{ exchange: names.deadExchange, routingKey: '' }] },
      ...tierQueues,
      { name: names.parkedQueue, bindings: [{ exchange: names.parkedExchange, routingKey: '' }] },
    ],
  };
  return { prefix, spec, names, queue };
}

/** A raw amqplib connection for assertions and cleanup, independent of the code under test. */
export async function withRawChannel<T>(work: (channel: Channel) => Promise<T>): Promise<T> {
  const connection = await connect(AMQP_URL);
  try {
    const channel = await connection.createChannel();
    return await work(channel);
  } finally {
    await connection.close().catch(() => undefined);
  }
}

export async function deleteTestTopology(topology: TestTopology): Promise<void> {
  await withRawChannel(async (channel) => {
    for (const queue of topology.spec.queues) await channel.deleteQueue(queue.name);
    for (const exchange of topology.spec.exchanges) await channel.deleteExchange(exchange.name);
  });
}

export function createTestManager(topology: TestTopology, overrides: Partial<AmqpConnectionOptions> = {}): AmqpConnectionManager {
  return new AmqpConnectionManager({
    url: AMQP_URL,
    topology: topology.spec,
    names: topology.names,
    connectionName: `test-${topology.prefix}`,
    logger: silentLogger,
    backoff: { initialDelayMs: 50, maxDelayMs: 500 },
    ...overrides,
  });
}

/** Gets every message currently in `queue` (acked: the queue is emptied). Waits until at least `atLeast` arrived. */
export async function drainQueue(queue: string, atLeast = 0, timeoutMs = 5000): Promise<GetMessage[]> {
  return withRawChannel(async (channel) => {
    const messages: GetMessage[] = [];
    const deadline = Date.now() + timeoutMs;
    while (true) {
      const message = await channel.get(queue, { noAck: true });
      if (message !== false) {
        messages.push(message);
        continue;
      }
      if (messages.length >= atLeast || Date.now() > deadline) return messages;
      await delay(50);
    }
  });
}

export async function messageCount(queue: string): Promise<number> {
  return withRawChannel(async (channel) => (await channel.checkQueue(queue)).messageCount);
}

export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export async function waitUntil(what: string, predicate: () => boolean | Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await delay(20);
  }
}

/** Records deliveries; the handler's behaviour per delivery is pluggable. */
export class Inbox {
  readonly messages: IncomingMessage[] = [];
  constructor(private readonly behaviour: MessageHandler = () => undefined) {}

  readonly handler: MessageHandler = async (message) => {
    this.messages.push(message);
    await this.behaviour(message);
  };

  async waitFor(count: number, timeoutMs = 5000): Promise<IncomingMessage[]> {
    await waitUntil(`${count} deliveries (got ${this.messages.length})`, () => this.messages.length >= count, timeoutMs);
    return this.messages;
  }
}

const execFileAsync = promisify(execFile);

/** Closes the manager's current connection from the broker side (rabbitmqctl close_connection), as an outage would. */
export async function forceCloseFromServer(manager: AmqpConnectionManager): Promise<void> {
  const connection: ChannelModel = await manager.waitForConnection(1000);
  const socket = (connection.connection as unknown as { stream: { localPort?: number } }).stream;
  const port = socket.localPort;
  if (port === undefined) throw new Error('cannot find the local port of the connection');
  const { stdout } = await execFileAsync('rabbitmqctl', ['list_connections', 'pid', 'name', '-q', '--no-table-headers']);
  const line = stdout.split('\n').find((entry) => entry.includes(`:${port} ->`));
  const pid = line?.split('\t')[0];
  if (pid === undefined) throw new Error(`rabbitmqctl lists no connection from local port ${port}`);
  await execFileAsync('rabbitmqctl', ['close_connection', pid, 'test: forced close']);
}
