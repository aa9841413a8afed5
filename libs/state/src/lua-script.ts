import { createHash } from 'node:crypto';
import type Redis from 'ioredis';

/**
 * A Lua script run by SHA (EVALSHA), falling back to EVAL the first time a server has not seen it (NOSCRIPT, e.g.
 * after a restart or SCRIPT FLUSH). Deliberately not `redis.defineCommand`, which would add methods to the caller's
 * client object.
 */
export class LuaScript {
  readonly sha1: string;

  constructor(
    readonly name: string,
    readonly source: string,
  ) {
    this.sha1 = createHash('sha1').update(source).digest('hex');
  }

  async run(redis: Redis, keys: readonly string[], args: readonly (string | number)[]): Promise<unknown> {
    try {
      return await redis.evalsha(this.sha1, keys.length, ...keys, ...args);
    } catch (error) {
      if (!(error instanceof Error) || !error.message.startsWith('NOSCRIPT')) throw error;
      return redis.eval(this.source, keys.length, ...keys, ...args);
    }
  }
}
