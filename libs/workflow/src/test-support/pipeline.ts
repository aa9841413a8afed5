import { randomBytes } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { connect } from 'amqplib';
import Redis from 'ioredis';
import { TOPOLOGY, validateEvent, type PackTask, type SubpackEvent } from '@subpack/contracts';
import { AmqpConnectionManager, Publisher, TransientError, silentLogger } from '@subpack/messaging';
import { QUEUES } from '@subpack/rules';
import { TaskStore } from '@subpack/state';
import { createVhost, deleteVhost, makeTempDir, removeDir, type Vhost } from '@subpack/testing';
import { MasterCache } from '@subpack/pack';
import { parseServiceRoots, type ServiceRoots } from '../roots';
import type { PackerDeps } from '../packer-steps';
import type { UploaderDeps } from '../uploader-steps';

const BROKER_URL = process.env.AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672';
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

/**
 * The workflow steps wired to the real RabbitMQ (a vhost of their own, production topology) and Redis (a key prefix
 * of their own), with no service processes: a test calls the steps and reads what they published.
 */
export class Pipeline {
  private constructor(
    readonly vhost: Vhost,
    readonly manager: AmqpConnectionManager,
    readonly redis: Redis,
    readonly store: TaskStore,
    readonly workDir: string,
    private readonly redisPrefix: string,
  ) {}

  static async create(label: string): Promise<Pipeline> {
    const vhost = await createVhost(BROKER_URL, `workflow-${label}`);
    const manager = new AmqpConnectionManager({ url: vhost.amqpUrl, connectionName: `workflow-test-${label}`, topology: TOPOLOGY, logger: silentLogger });
    await manager.connect();
    const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 3 });
    const prefix = `subpack-test:workflow:${randomBytes(4).toString('hex')}:`;
    return new Pipeline(vhost, manager, redis, new TaskStore(redis, { keyPrefix: prefix }), await makeTempDir('subpack-workflow-'), prefix);
  }

  /** The storage roots of these steps: what the services get from SUBPACK_MASTER_ROOTS and SUBPACK_TARGET_ROOTS. */
  readonly roots: ServiceRoots = parseServiceRoots('file:///', 'file:///');

  packer(owner = 'packer-1'): PackerDeps {
    return { store: this.store, publisher: this.manager.publisher, masters: new MasterCache(this.roots.masters), batchSize: 25, maxChannels: 10_000, owner, roots: this.roots };
  }

  uploader(owner: string): UploaderDeps {
    return { store: this.store, publisher: this.manager.publisher, masters: new MasterCache(this.roots.masters), owner, roots: this.roots };
  }

  /** An uploader that stores and records, but whose every publish fails as it does while the broker is away. */
  uploaderWithoutBroker(owner: string): UploaderDeps {
    return { ...this.uploader(owner), publisher: new BrokerAwayPublisher(this.manager, { logger: silentLogger }) };
  }

  async task(master: string, channels: readonly string[], overrides: Partial<PackTask> = {}): Promise<PackTask> {
    const target = join(this.workDir, `target-${randomBytes(3).toString('hex')}`);
    await mkdir(target);
    return {
      taskId: `wf-${randomBytes(5).toString('hex')}`,
      master: pathToFileURL(master).href,
      target: `${pathToFileURL(target).href}/`,
      channels: channels.map((id) => ({ id })),
      ...overrides,
    };
  }

  /** Takes every message waiting in a queue (acknowledged: the test is its only consumer). */
  async drain(queue: string): Promise<unknown[]> {
    return (await this.drainMessages(queue)).map((m) => m.body);
  }

  /** The same, with each message's id. */
  async drainMessages(queue: string): Promise<{ body: unknown; messageId: string | undefined }[]> {
    const connection = await connect(this.vhost.amqpUrl);
    try {
      const channel = await connection.createChannel();
      const messages: { body: unknown; messageId: string | undefined }[] = [];
      while (true) {
        const message = await channel.get(queue, { noAck: true });
        if (message === false) return messages;
        const messageId: unknown = message.properties.messageId;
        messages.push({ body: JSON.parse(message.content.toString('utf8')) as unknown, messageId: typeof messageId === 'string' ? messageId : undefined });
      }
    } finally {
      await connection.close();
    }
  }

  private readonly seenEvents: SubpackEvent[] = [];

  /** The events published so far for one task, checked against the contract, in publish order. */
  async events(taskId: string): Promise<SubpackEvent[]> {
    for (const body of await this.drain(QUEUES.events)) {
      const checked = validateEvent(body);
      if (!checked.ok) throw new Error(`an event breaks the contract: ${checked.errors.join('; ')}`);
      this.seenEvents.push(checked.value);
    }
    return this.seenEvents.filter((event) => event.taskId === taskId);
  }

  async cleanup(): Promise<void> {
    await this.manager.close();
    let cursor = '0';
    do {
      const [next, keys] = await this.redis.scan(cursor, 'MATCH', `${this.redisPrefix}*`, 'COUNT', 500);
      if (keys.length > 0) await this.redis.del(...keys);
      cursor = next;
    } while (cursor !== '0');
    this.redis.disconnect();
    await deleteVhost(this.vhost);
    await removeDir(this.workDir);
  }
}

class BrokerAwayPublisher extends Publisher {
  override publish(): Promise<void> {
    return Promise.reject(new TransientError('the broker is away'));
  }
}
