import { durations, int, oneOf, str, urlList, type ConfigOf } from './fields';
import { REDIS_CONFIG } from './redis';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** Settings every service shares (each service adds its own fields); the CLI's broker commands read the same ones. */
export const COMMON_CONFIG = {
  /** Several URLs: the nodes of one cluster; a client connects to one and moves to the next when it goes away. */
  amqpUrls: urlList('AMQP_URL', 'amqp://guest:guest@127.0.0.1:5672', ['amqp:', 'amqps:']),
  ...REDIS_CONFIG,
  redisPrefix: str('SUBPACK_REDIS_PREFIX', 'subpack:'),
  httpPort: int('HTTP_PORT', 8080, 0, 65535),
  retryTiers: durations('SUBPACK_RETRY_TIERS', '5s,30s,5m'),
  /** Failures after which the retry-scheduler parks a message (the notifier reports its last attempt as given up). */
  maxAttempts: int('SUBPACK_MAX_ATTEMPTS', 5, 1, 100),
  finishedTtlSeconds: int('SUBPACK_TASK_TTL_SECONDS', 7 * 24 * 3600, 60, 365 * 24 * 3600),
  drainTimeoutMs: int('SUBPACK_DRAIN_TIMEOUT_MS', 30_000, 0, 3_600_000),
  handlerTimeoutMs: int('SUBPACK_HANDLER_TIMEOUT_MS', 120_000, 1000, 24 * 3_600_000),
  logLevel: oneOf('LOG_LEVEL', 'info', LOG_LEVELS),
};

export type CommonConfig = ConfigOf<typeof COMMON_CONFIG>;
