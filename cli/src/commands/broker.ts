import type { Redis } from 'ioredis';
import { buildTopology } from '@subpack/contracts';
import { AmqpConnectionManager, silentLogger } from '@subpack/messaging';
import { COMMON_CONFIG, ConfigError, loadConfig, REDIS_CONFIG, redisTarget } from '@subpack/config';
import { openRedis, redisReplicas } from '@subpack/runtime';
import { TaskStore } from '@subpack/state';
import { UsageError } from '../usage';

/** The broker commands read the same environment variables as the services, with the same checks and defaults. */
function brokerConfig() {
  const { amqpUrls, redisPrefix, retryTiers } = COMMON_CONFIG;
  try {
    const config = loadConfig({ amqpUrls, redisPrefix, retryTiers, ...REDIS_CONFIG });
    return { ...config, redis: redisTarget(config) };
  } catch (err) {
    if (err instanceof ConfigError) throw new UsageError(`invalid environment: ${err.problems.join('; ')}`);
    throw err;
  }
}

/**
 * Runs `fn` with a broker connection. Commands that publish declare the topology first (as the services do); read-only
 * ones (`readOnly`) declare nothing, so looking at a broker never changes it.
 */
export async function withManager<T>(fn: (m: AmqpConnectionManager) => Promise<T>, opts: { readOnly?: boolean } = {}): Promise<T> {
  const config = brokerConfig();
  const manager = new AmqpConnectionManager({
    url: config.amqpUrls,
    connectionName: 'subpack-cli',
    ...(opts.readOnly ? {} : { topology: buildTopology(config.retryTiers) }),
    logger: silentLogger,
  });
  await manager.connect();
  try {
    return await fn(manager);
  } finally {
    await manager.close();
  }
}

/** A Redis connection with the services' URL and key prefix, closed when `fn` settles. */
export async function withRedis<T>(fn: (redis: Redis, prefix: string) => Promise<T>): Promise<T> {
  const config = brokerConfig();
  const redis = openRedis(config.redis, { maxRetriesPerRequest: 1, lazyConnect: true });
  redis.on('error', () => undefined);
  await redis.connect();
  try {
    return await fn(redis, config.redisPrefix);
  } finally {
    redis.disconnect();
  }
}

export function withStore<T>(fn: (store: TaskStore) => Promise<T>): Promise<T> {
  const replicas = redisReplicas(brokerConfig().redis);
  return withRedis((redis, keyPrefix) => fn(new TaskStore(redis, { keyPrefix, replicas })));
}
