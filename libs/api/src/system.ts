import type { AmqpConnectionManager } from '@subpack/messaging';
import { QUEUES } from '@subpack/rules';
import type { Redis } from 'ioredis';

export interface QueueStat {
  queue: string;
  messages: number | null;
  consumers: number | null;
  error?: string;
}

export interface ServiceStat {
  service: string;
  queue: string;
  consumers: number | null;
  ready: boolean;
}

const QUEUE_NAMES: readonly string[] = Object.values<string>({ ...QUEUES });

/** Which queue shows that a service is running: its consumers are its live replicas. */
const SERVICE_QUEUES: readonly { service: string; queue: string }[] = [
  { service: 'packer', queue: QUEUES.packerTasks },
  { service: 'uploader', queue: QUEUES.uploaderStore },
  { service: 'notifier', queue: QUEUES.notifierEvents },
  { service: 'retry-scheduler', queue: QUEUES.dead },
];

/** The broker and Redis as an operator sees them: queues with depth and consumers, and services by their consumers. */
export class SystemView {
  constructor(
    private readonly manager: AmqpConnectionManager,
    private readonly redis: Redis,
  ) {}

  async queues(): Promise<QueueStat[]> {
    const connection = await this.manager.waitForConnection(3000);
    const out: QueueStat[] = [];
    for (const queue of QUEUE_NAMES) {
      // A passive check of a missing queue closes its channel, so each queue gets its own.
      const channel = await connection.createChannel();
      channel.on('error', () => undefined);
      try {
        const q = await channel.checkQueue(queue);
        out.push({ queue, messages: q.messageCount, consumers: q.consumerCount });
      } catch (err) {
        out.push({ queue, messages: null, consumers: null, error: (err as Error).message.slice(0, 200) });
      } finally {
        await channel.close().catch(() => undefined);
      }
    }
    return out;
  }

  async overview(): Promise<{ broker: { state: string; node: string | null }; redis: { state: string }; queues: QueueStat[]; services: ServiceStat[] }> {
    const queues = await this.queues().catch((err: unknown) => QUEUE_NAMES.map((queue): QueueStat => ({ queue, messages: null, consumers: null, error: (err as Error).message })));
    const byName = new Map(queues.map((q) => [q.queue, q]));
    const services = SERVICE_QUEUES.map(({ service, queue }) => {
      const consumers = byName.get(queue)?.consumers ?? null;
      return { service, queue, consumers, ready: (consumers ?? 0) > 0 };
    });
    let redisState: string = this.redis.status;
    try {
      await this.redis.ping();
    } catch {
      redisState = 'unreachable';
    }
    return { broker: { state: this.manager.state, node: this.manager.node ?? null }, redis: { state: redisState }, queues, services };
  }
}
