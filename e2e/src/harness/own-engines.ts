import { after, before } from 'node:test';
import { RabbitCluster, RedisSentinelSet, type RabbitClusterOptions, type RedisSentinelOptions } from '@subpack/testing';
import { E2eStack, type StackOptions } from './stack';

export interface OwnEngines {
  readonly stack: E2eStack;
  /** The RabbitMQ nodes of the file, when it asked for them. */
  readonly broker: RabbitCluster;
  /** The Redis primary, replica and sentinels of the file, when it asked for them. */
  readonly redis: RedisSentinelSet;
}

/**
 * For a file whose tests stop or kill an engine: registers the hooks that start its own RabbitMQ nodes and/or Redis
 * with Sentinel (all booting at once), build the file's stack on them, and stop the stack and then the engines
 * whatever happened. The shared broker and Redis are never touched.
 */
export function onOwnEngines(label: string, engines: { broker?: RabbitClusterOptions; redis?: RedisSentinelOptions }, options: StackOptions = {}): OwnEngines {
  let broker: RabbitCluster | undefined;
  let redis: RedisSentinelSet | undefined;
  let stack: E2eStack | undefined;
  before(async () => {
    const [b, r] = await Promise.allSettled([
      engines.broker === undefined ? undefined : RabbitCluster.start(engines.broker),
      engines.redis === undefined ? undefined : RedisSentinelSet.start(engines.redis),
    ]);
    if (b.status === 'fulfilled') broker = b.value;
    if (r.status === 'fulfilled') redis = r.value;
    if (b.status === 'rejected') throw b.reason;
    if (r.status === 'rejected') throw r.reason;
    stack = await E2eStack.create(label, {
      ...options,
      ...(broker !== undefined ? { amqpUrls: broker.urls() } : {}),
      ...(redis !== undefined ? { redisEnv: redis.env } : {}),
    });
  });
  after(async () => {
    try {
      await stack?.cleanup();
    } finally {
      await Promise.all([broker?.stop(), redis?.stop()]);
    }
  });
  const started = <T>(what: string, value: T | undefined): T => {
    if (value === undefined) throw new Error(`${label}: ${what} is not running (not asked for, or its start failed)`);
    return value;
  };
  return {
    get stack() {
      return started('the stack', stack);
    },
    get broker() {
      return started('the broker', broker);
    },
    get redis() {
      return started('Redis with Sentinel', redis);
    },
  };
}
