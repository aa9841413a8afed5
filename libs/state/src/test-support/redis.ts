import { randomBytes } from 'node:crypto';
import Redis from 'ioredis';

export const TEST_REDIS_URL = process.env['SUBPACK_TEST_REDIS_URL'] ?? 'redis://127.0.0.1:6379';

export interface TestRedis {
  redis: Redis;
  /** Unique per call, so test files can share one Redis in parallel. */
  prefix: string;
  connectionName: string;
  /** Deletes every key under the prefix and closes the connection. */
  cleanup: () => Promise<void>;
}

export function openTestRedis(): TestRedis {
  const id = randomBytes(6).toString('hex');
  const prefix = `subpack-test:${id}:`;
  // The connection name is inherited by redis.duplicate(), so tests can find their own connections in CLIENT LIST.
  const redis = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: 3, connectionName: connectionNameFor(id) });
  const cleanup = async (): Promise<void> => {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
      if (keys.length > 0) await redis.del(...keys);
      cursor = next;
    } while (cursor !== '0');
    await redis.quit();
  };
  return { redis, prefix, connectionName: connectionNameFor(id), cleanup };
}

/** Polls `condition` until it holds, failing with `what` after timeoutMs. */
export async function waitFor(what: string, condition: () => boolean | Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

function connectionNameFor(id: string): string {
  return `subpack-test-${id}`;
}
