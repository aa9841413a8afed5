import type { Redis } from 'ioredis';
import { buildTopology } from '@subpack/contracts';
import { AmqpConnectionManager, NotConnectedError, settleWithin, silentLogger, type ConnectionManagerEvents } from '@subpack/messaging';
import { COMMON_CONFIG, ConfigError, describeRedisTarget, loadConfig, REDIS_CONFIG, redisTarget, urlWithoutCredentials } from '@subpack/config';
import { openRedis, redisReplicas } from '@subpack/runtime';
import { TaskStore } from '@subpack/state';
import { UsageError, parsePositiveSeconds } from '../usage';

/** How long a broker command waits for Redis or RabbitMQ to connect, and for each request or publish to be answered. */
export const DEFAULT_BROKER_TIMEOUT_SECONDS = 10;

/** The option every broker command takes; parsed with brokerTimeoutMs. */
export const BROKER_TIMEOUT_OPTION = { 'broker-timeout': { type: 'string', default: String(DEFAULT_BROKER_TIMEOUT_SECONDS) } } as const;

export function brokerTimeoutMs(values: { 'broker-timeout'?: string | undefined }): number {
  return parsePositiveSeconds('--broker-timeout', values['broker-timeout'] ?? String(DEFAULT_BROKER_TIMEOUT_SECONDS)) * 1000;
}

/** Redis or RabbitMQ did not connect or answer in time: not bad input (exit 1), and the message names which and where. */
export class DependencyError extends Error {
  override readonly name = 'DependencyError';
}

function seconds(ms: number): string {
  return `${Number((ms / 1000).toFixed(3))} s`;
}

type ChannelModel = ConnectionManagerEvents['connected'][0];

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

/** What a broker command sees of RabbitMQ: the manager, and whether the broker is blocking publishers right now. */
export interface BrokerSession {
  readonly manager: AmqpConnectionManager;
  /** The broker's reason (e.g. "low on memory") while it blocks this connection's publishes, else undefined. */
  blockedReason(): string | undefined;
  /** Runs one request, failing with a DependencyError that names RabbitMQ (and a block) when it takes too long. */
  within<T>(what: string, request: Promise<T>): Promise<T>;
}

/**
 * Runs `fn` with a broker connection. Commands that publish declare the topology first (as the services do); read-only
 * ones (`readOnly`) declare nothing, so looking at a broker never changes it. Connecting, each request given to
 * `within`, and closing are bounded by `timeoutMs`.
 */
export async function withBroker<T>(timeoutMs: number, fn: (broker: BrokerSession) => Promise<T>, opts: { readOnly?: boolean; onBlocked?: (reason: string) => void } = {}): Promise<T> {
  const config = brokerConfig();
  const where = `RabbitMQ at ${config.amqpUrls.map(urlWithoutCredentials).join(',')}`;
  const manager = new AmqpConnectionManager({
    url: config.amqpUrls,
    connectionName: 'subpack-cli',
    ...(opts.readOnly ? {} : { topology: buildTopology(config.retryTiers) }),
    logger: silentLogger,
    connectTimeoutMs: timeoutMs,
    socketTimeoutMs: timeoutMs,
    publishConnectTimeoutMs: timeoutMs,
  });
  let connection: ChannelModel | undefined;
  let blocked: string | undefined;
  manager.on('connected', (c) => {
    connection = c;
    // A resource alarm (memory or disk) stops every publish without an error: say so at once rather than wait silently.
    c.on('blocked', (reason: unknown) => {
      blocked = String(reason);
      opts.onBlocked?.(blocked);
    });
    c.on('unblocked', () => (blocked = undefined));
  });
  try {
    await manager.connect();
  } catch (err) {
    // The manager's message repeats the timeout; the cause it carries is what helps.
    const cause = (err instanceof NotConnectedError ? err.lastError : undefined) ?? (err as Error).message;
    throw new DependencyError(`cannot reach ${where} within ${seconds(timeoutMs)}: ${cause}`);
  }
  const session: BrokerSession = {
    manager,
    blockedReason: () => blocked,
    async within(what, request) {
      const outcome = await settleWithin(request, timeoutMs);
      if (outcome.settled) return outcome.value;
      request.catch(() => undefined);
      const why = blocked !== undefined ? `: the broker is blocking publishers (${blocked}; a memory or disk alarm)` : '';
      throw new DependencyError(`${where} did not ${what} within ${seconds(timeoutMs)}${why}`);
    },
  };
  try {
    return await fn(session);
  } finally {
    // A blocked connection may never answer the close handshake: end the socket rather than wait on it.
    const closed = await settleWithin(manager.close(), Math.min(timeoutMs, 2000));
    if (!closed.settled) destroySocket(connection);
  }
}

/** amqplib keeps its socket on the underlying connection; ending it is the only way to leave a broker that stopped reading. */
function destroySocket(model: ChannelModel | undefined): void {
  const inner = (model as unknown as { connection?: { stream?: { destroy(): void } } } | undefined)?.connection;
  inner?.stream?.destroy();
}

/**
 * A Redis connection with the services' URL and key prefix, closed when `fn` settles. Connecting and every command are
 * bounded by `timeoutMs`; a failure names Redis and its URL (without credentials).
 */
export async function withRedis<T>(timeoutMs: number, fn: (redis: Redis, prefix: string) => Promise<T>): Promise<T> {
  const config = brokerConfig();
  const where = `Redis at ${describeRedisTarget(config.redis)}`;
  // No reconnects and no offline queue: a command fails at once when the connection is gone instead of waiting for it.
  const redis = openRedis(config.redis, {
    lazyConnect: true,
    // Named as the broker connection is, so CLIENT LIST tells an operator's command from the services.
    connectionName: 'subpack-cli',
    connectTimeout: timeoutMs,
    commandTimeout: timeoutMs,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    enableOfflineQueue: false,
  });
  let lastError: string | undefined;
  redis.on('error', (err: Error) => (lastError = err.message));
  try {
    const deadline = Date.now() + timeoutMs;
    for (let attempt = 1; ; attempt++) {
      const connected = await settleWithin(redis.connect().then(() => true, () => false), deadline - Date.now());
      if (connected.settled && connected.value) break;
      const delay = Math.min(200 * attempt, 1000);
      if (!connected.settled || Date.now() + delay >= deadline) {
        throw new DependencyError(`cannot reach ${where} within ${seconds(timeoutMs)}${lastError ? `: ${lastError}` : ''}`);
      }
      redis.disconnect();
      await new Promise((r) => setTimeout(r, delay));
    }
    try {
      return await fn(redis, config.redisPrefix);
    } catch (err) {
      if (redis.status !== 'ready' || isCommandTimeout(err)) {
        throw new DependencyError(`${where} stopped answering: ${lastError ?? (err as Error).message} (--broker-timeout ${seconds(timeoutMs)})`);
      }
      throw err;
    }
  } finally {
    redis.disconnect();
  }
}

/**
 * Whether ioredis gave up on a command after `commandTimeout`. ioredis (5.x) rejects with a plain Error whose only
 * mark is its text, so this is the one place that reads it; redis-timeout.test.ts makes a real client time out.
 */
export function isCommandTimeout(err: unknown): boolean {
  return err instanceof Error && err.message.includes('Command timed out');
}

export function withStore<T>(timeoutMs: number, fn: (store: TaskStore) => Promise<T>): Promise<T> {
  const replicas = redisReplicas(brokerConfig().redis);
  return withRedis(timeoutMs, (redis, keyPrefix) => fn(new TaskStore(redis, { keyPrefix, replicas })));
}
