import { Redis } from 'ioredis';
import { buildTopology, DEFAULT_RETRY_TIERS } from '@subpack/contracts';
import { AmqpConnectionManager, silentLogger } from '@subpack/messaging';
import { TaskStore } from '@subpack/state';

/** Connections for the broker commands, from the same environment variables the services read. */
export function amqpUrl(): string {
  return process.env.AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672';
}

export async function withManager<T>(fn: (m: AmqpConnectionManager) => Promise<T>): Promise<T> {
  const manager = new AmqpConnectionManager({
    url: amqpUrl(),
    connectionName: 'subpack-cli',
    topology: buildTopology(DEFAULT_RETRY_TIERS),
    logger: silentLogger,
  });
  await manager.connect();
  try {
    return await fn(manager);
  } finally {
    await manager.close();
  }
}

export async function withStore<T>(fn: (store: TaskStore) => Promise<T>): Promise<T> {
  const redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', { maxRetriesPerRequest: 1, lazyConnect: true });
  redis.on('error', () => undefined);
  await redis.connect();
  try {
    return await fn(new TaskStore(redis, { keyPrefix: process.env.SUBPACK_REDIS_PREFIX ?? 'subpack:' }));
  } finally {
    redis.disconnect();
  }
}
