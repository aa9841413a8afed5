import 'reflect-metadata';
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { Module, type DynamicModule, type INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { Redis } from 'ioredis';
import { Registry } from 'prom-client';
import { buildTopology } from '@subpack/contracts';
import { AmqpConnectionManager, AmqpMessagingModule, AmqpTransport, describeError, MessageSigner, settleWithin } from '@subpack/messaging';
import { signedQueues } from '@subpack/rules';
import { TaskStore } from '@subpack/state';
import { COMMON_CONFIG, ConfigError, describeConfig, describeRedisTarget, loadConfig, redisTarget, type CommonConfig, type ConfigOf, type Field, type RedisTarget } from '@subpack/config';
import { openRedis, redisAddress, redisPatience, redisReplicas, registerNodeMetrics } from './connections';
import { INTERNAL_KEY_CONFIG } from './internal-key';
import { createLogger, PinoNestLogger, type Logger } from './logger';
import { OpsModule, type ReadinessCheck } from './ops.module';

/** The token service modules inject the logger with. */
export const LOGGER = Symbol('LOGGER');

export interface ServiceContext<C> {
  config: C & CommonConfig;
  logger: Logger;
  manager: AmqpConnectionManager;
  redis: Redis;
  store: TaskStore;
  registry: Registry;
  /** Unique per process: names this instance in completion leases and logs. */
  owner: string;
}

export interface ServiceDefinition<S extends Record<string, Field<unknown>>> {
  name: string;
  config: S;
  /** The service's own module, built from the shared context. */
  module(ctx: ServiceContext<ConfigOf<S>>): DynamicModule;
  /** Queues this service consumes, with their prefetch. Empty for services that only publish. */
  prefetch(ctx: ServiceContext<ConfigOf<S>>): Record<string, number>;
  /** False for a service that only answers HTTP (no consumers, no publishing): it never connects to RabbitMQ. */
  broker?: boolean;
  /**
   * False for a service that reads request bodies itself (bounded, streamed, or resumable uploads): Nest's JSON parser
   * would otherwise read every body first, with its own size limit.
   */
  bodyParser?: boolean;
  /** Problems between settings that each parse alone (e.g. a destination outside the roots): reported as ConfigError. */
  check?(config: ConfigOf<S>): string[];
  /**
   * Extra work outside Nest's consumers (e.g. the Redis list bridge). It may return a stop function, awaited on
   * SIGTERM before the connections close, so its in-flight work finishes first.
   */
  afterStart?(ctx: ServiceContext<ConfigOf<S>>, app: INestApplication): Promise<void | (() => Promise<void>)>;
}

/** Exit code for a configuration error (EX_CONFIG), so orchestrators can tell it from a crash. */
export const EXIT_CONFIG = 78;

/**
 * `node services/<name>/dist/main.js --print-config` prints the variables the service reads (JSON: name, what it
 * must be, its default) and exits without connecting anywhere: for operators writing a deployment, and for the
 * deployment checks, which compare compose and the Kubernetes manifests against it.
 */
export const PRINT_CONFIG_FLAG = '--print-config';

/**
 * `node services/<name>/dist/main.js --check-config` checks the environment exactly as a start would and exits, 0 or
 * 78 with one line per problem, without connecting anywhere: a deployment's settings are checked before it is rolled
 * out (the deployment checks run it on what compose and the manifests give each service).
 */
export const CHECK_CONFIG_FLAG = '--check-config';

type InternalKeys = ConfigOf<typeof INTERNAL_KEY_CONFIG>;

/** The internal key settings, for services that talk to the broker. */
function brokerConfig(def: { broker?: boolean }): Partial<typeof INTERNAL_KEY_CONFIG> {
  return def.broker === false ? {} : INTERNAL_KEY_CONFIG;
}

/**
 * Starts a service: validated configuration, JSON logs, the health/metrics endpoints (liveness answers at once), then
 * the AMQP connection and topology and Redis, waited for as long as they take, then the consumers. SIGTERM stops
 * consuming, lets in-flight work finish, then closes. A start that fails for good exits 1 with one log line.
 */
export async function runService<S extends Record<string, Field<unknown>>>(def: ServiceDefinition<S>): Promise<INestApplication | undefined> {
  if (process.argv.includes(PRINT_CONFIG_FLAG)) {
    process.stdout.write(`${JSON.stringify(describeConfig({ ...COMMON_CONFIG, ...brokerConfig(def), ...def.config }), null, 2)}\n`);
    process.exit(0);
  }
  let config: ConfigOf<S> & CommonConfig & Partial<InternalKeys>;
  let redisAt: RedisTarget;
  try {
    config = { ...loadConfig(COMMON_CONFIG), ...loadConfig(brokerConfig(def)), ...loadConfig(def.config) };
    redisAt = redisTarget(config);
    const problems = def.check?.(config) ?? [];
    if (problems.length > 0) throw new ConfigError(problems);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${def.name}: ${err.message}\n`);
      process.exit(EXIT_CONFIG);
    }
    throw err;
  }
  if (process.argv.includes(CHECK_CONFIG_FLAG)) {
    process.stdout.write(`${def.name}: configuration valid; Redis: ${describeRedisTarget(redisAt)}\n`);
    process.exit(0);
  }
  const logger = createLogger(def.name, config.logLevel);
  try {
    return await startService(def, config, redisAt, logger);
  } catch (err) {
    logger.fatal({ error: describeError(err) }, `${def.name} cannot start`);
    process.exit(1);
  }
}

/** The broker connection, Redis, the task store and the metrics registry of one service process. */
function connectEngines<S extends Record<string, Field<unknown>>>(
  def: ServiceDefinition<S>,
  config: ConfigOf<S> & CommonConfig & Partial<InternalKeys>,
  redisAt: RedisTarget,
  logger: Logger,
): ServiceContext<ConfigOf<S>> {
  const owner = `${def.name}@${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
  const manager = new AmqpConnectionManager({
    url: config.amqpUrls,
    connectionName: owner,
    topology: buildTopology(config.retryTiers),
    ...(config.internalKey !== undefined
      ? { signing: { signer: new MessageSigner(config.internalKey, config.internalKeyPrevious), signedQueues: signedQueues() } }
      : {}),
    logger,
    // A service outlives a broker that starts after it or goes away: it keeps trying (capped backoff, a line each).
    connectTimeoutMs: Number.POSITIVE_INFINITY,
  });
  const redis = openRedis(redisAt, { lazyConnect: false, ...redisPatience(redisAt) });
  // ioredis retries on its own with a capped delay; each failed attempt is one line, without a stack trace.
  redis.on('error', (err: Error) => logger.warn({ error: describeError(err) }, 'cannot reach Redis; retrying'));
  redis.on('ready', () => logger.info({ redis: describeRedisTarget(redisAt), node: redisAddress(redis) }, `Redis ready at ${redisAddress(redis) ?? '?'}`));
  const store = new TaskStore(redis, { keyPrefix: config.redisPrefix, finishedTtlSeconds: config.finishedTtlSeconds, replicas: redisReplicas(redisAt) });
  const registry = new Registry();
  registerNodeMetrics(registry, def.broker === false ? undefined : manager, redis);
  return { config, logger, manager, redis, store, registry, owner };
}

/** What readiness asks: the broker connection (and whether it blocks publishers), Redis, and handlers past their deadline. */
function readinessChecks(ctx: ServiceContext<unknown>, handlerTimeoutMs: number, usesBroker: boolean): ReadinessCheck[] {
  const { manager, redis } = ctx;
  const redisCheck: ReadinessCheck = {
    name: 'redis',
    check: async () => {
      if (redis.status !== 'ready') throw new Error(`connection ${redis.status}`);
      await redis.ping();
    },
  };
  if (!usesBroker) return [redisCheck];
  const brokerCheck: ReadinessCheck = {
    name: 'rabbitmq',
    check: async () => {
      if (manager.state !== 'connected') throw new Error(`connection ${manager.state}`);
      // Publishes would hang until the alarm clears: take no more work meanwhile.
      const blocked = manager.blocked;
      if (blocked !== undefined) throw new Error(`the broker blocks this connection: ${blocked} (a memory or disk alarm)`);
    },
  };
  const consumersCheck: ReadinessCheck = {
    name: 'consumers',
    check: async () => {
      const stuck = manager.stuckConsumers();
      if (stuck.length > 0) {
        const list = stuck.map((c) => `${c.stuck} on ${c.queue}`).join(', ');
        throw new Error(`handlers past the ${handlerTimeoutMs} ms deadline still running: ${list}`);
      }
    },
  };
  return [brokerCheck, redisCheck, consumersCheck];
}

async function startService<S extends Record<string, Field<unknown>>>(
  def: ServiceDefinition<S>,
  config: ConfigOf<S> & CommonConfig & Partial<InternalKeys>,
  redisAt: RedisTarget,
  logger: Logger,
): Promise<INestApplication> {
  const ctx = connectEngines(def, config, redisAt, logger);
  const { manager, redis, registry, owner } = ctx;

  @Module({})
  class ServiceContextModule {}
  const contextModule: DynamicModule = {
    module: ServiceContextModule,
    global: true,
    providers: [
      { provide: LOGGER, useValue: logger },
      { provide: Registry, useValue: registry },
    ],
    exports: [LOGGER, Registry],
  };

  /** False for a service that only answers HTTP: it never connects to RabbitMQ. */
  const usesBroker = def.broker !== false;
  @Module({
    imports: [
      contextModule,
      ...(usesBroker ? [AmqpMessagingModule.forManager(manager)] : []),
      OpsModule.forRoot({ service: def.name, registry, checks: readinessChecks(ctx, config.handlerTimeoutMs, usesBroker) }),
      def.module(ctx),
    ],
  })
  class ServiceRootModule {}

  const app = await NestFactory.create(ServiceRootModule, { logger: new PinoNestLogger(logger), abortOnError: false, bodyParser: def.bodyParser !== false });
  if (usesBroker) {
    // inheritAppConfig: the global error filter must reach the AMQP handlers, or every error would look transient.
    app.connectMicroservice(
      {
        strategy: new AmqpTransport({
          manager,
          prefetch: def.prefetch(ctx),
          drainTimeoutMs: config.drainTimeoutMs,
          handlerTimeoutMs: config.handlerTimeoutMs,
        }),
      },
      { inheritAppConfig: true },
    );
  }
  // Liveness first: a service waiting for its broker is alive, just not ready.
  await app.listen(config.httpPort, '0.0.0.0');
  logger.info({ 'url.port': config.httpPort, owner }, `${def.name} listening; connecting to ${usesBroker ? 'RabbitMQ and Redis' : 'Redis'}`);
  await waitForRedis(redis);
  if (usesBroker) await app.startAllMicroservices();
  const starting = def.afterStart?.(ctx, app) ?? Promise.resolve(undefined);
  // Readiness can pass while the service's own start still runs: a SIGTERM then waits for that start, so what it
  // opened is closed too, instead of ending the process by the signal.
  stopOnSignals(def.name, logger, config.drainTimeoutMs + STOP_MARGIN_MS, async () => {
    const stopExtra = await starting.catch(() => undefined);
    await stopExtra?.();
    // Closing the app drains the consumers (cancel, wait for handlers, close channels) and the HTTP server.
    await app.close();
    await quitRedis(redis);
  });
  await starting;
  logger.info({ 'url.port': config.httpPort, owner }, `${def.name} started`);
  return app;
}

/**
 * What a stop may take beyond SUBPACK_DRAIN_TIMEOUT_MS: closing the HTTP server, the broker connection and Redis. A
 * dependency that stopped answering (a frozen Redis, a host gone behind a partition) could hold those forever.
 */
const STOP_MARGIN_MS = 10_000;

/** How long QUIT may wait for Redis to answer before the socket is closed without it. */
const REDIS_QUIT_MS = 2000;

async function quitRedis(redis: Redis): Promise<void> {
  const quit = await settleWithin(redis.quit().catch(() => undefined), REDIS_QUIT_MS);
  if (!quit.settled) redis.disconnect();
}

/**
 * SIGTERM or SIGINT stops taking messages, lets in-flight work finish through `close`, then exits 0 (1 if it failed).
 * A stop still under way after `limitMs` exits 1: the deliveries not acked by then go back to their queues, as after
 * a kill, but the process ends within the time its drain promised rather than when the orchestrator kills it.
 */
function stopOnSignals(name: string, logger: Logger, limitMs: number, close: () => Promise<void>): void {
  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, `${name} stopping: no new messages, finishing in-flight work`);
    setTimeout(() => {
      logger.error({ limitMs }, `${name} did not stop within ${limitMs} ms (SUBPACK_DRAIN_TIMEOUT_MS + ${STOP_MARGIN_MS} ms): a dependency stopped answering; exiting, unfinished messages will be redelivered`);
      process.exit(1);
    }, limitMs);
    close().then(
      () => {
        logger.info({}, `${name} stopped`);
        process.exit(0);
      },
      (err: unknown) => {
        logger.error({ error: err }, `${name} did not stop cleanly`);
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
}

/** Resolves once Redis answers; ioredis keeps reconnecting meanwhile. */
function waitForRedis(redis: Redis): Promise<void> {
  if (redis.status === 'ready') return Promise.resolve();
  return new Promise((resolve) => redis.once('ready', () => resolve()));
}
