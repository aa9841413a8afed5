import { Redis, type RedisOptions } from 'ioredis';
import { Gauge, type Registry } from 'prom-client';
import type { RedisTarget } from '@subpack/config';
import type { AmqpConnectionManager } from '@subpack/messaging';

/**
 * A Redis client for the target: one server by URL, or the current primary as the sentinels name it. After a
 * failover ioredis asks the sentinels again and reconnects to the new primary; a replica never takes writes.
 */
export function openRedis(target: RedisTarget, options: RedisOptions = {}): Redis {
  if (target.kind === 'url') return new Redis(target.url, options);
  return new Redis({
    ...options,
    sentinels: target.sentinels.map((s) => ({ host: s.host, port: s.port })),
    name: target.name,
    role: 'master',
    ...(target.sentinelPassword !== undefined ? { sentinelPassword: target.sentinelPassword } : {}),
    ...(target.password !== undefined ? { password: target.password } : {}),
    // A primary that turned replica answers READONLY: reconnect, which asks the sentinels for the new primary.
    reconnectOnError: (err) => err.message.startsWith('READONLY'),
  });
}

/**
 * How long a command waits for Redis before it fails. One server: a few reconnects (about a second), so an outage
 * shows at once as failed steps that the retry tiers take over. Sentinel: about a minute, enough for the sentinels to
 * find the primary dead (down-after-milliseconds) and promote a replica, so a failover delays the steps in hand
 * instead of spending their retries (a short retry ladder would otherwise park them before the new primary is up).
 */
export function redisPatience(target: RedisTarget): Pick<RedisOptions, 'maxRetriesPerRequest' | 'retryStrategy'> {
  if (target.kind === 'url') return { maxRetriesPerRequest: 3 };
  return { maxRetriesPerRequest: SENTINEL_COMMAND_RETRIES, retryStrategy: (times: number) => Math.min(times * 100, 1000) };
}

/** Reconnects a queued command survives with Sentinel: 0.1 s, 0.2 s, … then 1 s apart, about a minute in all. */
const SENTINEL_COMMAND_RETRIES = 60;

/** Replicas a write that decides an outcome waits for: none for one server, SUBPACK_REDIS_WAIT_REPLICAS (1) with Sentinel. */
export function redisReplicas(target: RedisTarget): number {
  return target.kind === 'sentinel' ? target.waitReplicas : 0;
}

/** The address (`host:port`) a Redis client is connected to right now, for logs and metrics. */
export function redisAddress(redis: Redis): string | undefined {
  const socket = redis.stream as { remoteAddress?: string; remotePort?: number } | undefined;
  return socket?.remoteAddress === undefined ? undefined : `${socket.remoteAddress}:${socket.remotePort ?? ''}`;
}

/**
 * `subpack_broker_node{node}` and `subpack_redis_node{node}`: 1 for the node this process uses now. Operators see
 * which node each replica of a service sits on, and when it moved.
 */
export function registerNodeMetrics(registry: Registry, manager: AmqpConnectionManager | undefined, redis: Redis): void {
  const broker = new Gauge({ name: 'subpack_broker_node', help: 'RabbitMQ node this process is connected to (1), by host:port', labelNames: ['node'], registers: [registry] });
  const redisNode = new Gauge({ name: 'subpack_redis_node', help: 'Redis server (the primary) this process is connected to (1), by host:port', labelNames: ['node'], registers: [registry] });
  manager?.on('connected', (_connection, node) => {
    broker.reset();
    broker.set({ node }, 1);
  });
  manager?.on('disconnected', () => broker.reset());
  redis.on('ready', () => {
    redisNode.reset();
    const node = redisAddress(redis);
    if (node !== undefined) redisNode.set({ node }, 1);
  });
  redis.on('close', () => redisNode.reset());
}
