import { randomBytes } from 'node:crypto';
import type Redis from 'ioredis';

// Each attempt is counted before its password is checked, in one step with the check of the limit, so a burst of
// parallel guesses cannot slip past it; a successful attempt is then taken back out. @subpack/state's RateWindow
// counts every call for good, which would lock out a user who merely logs in often, hence this window.
const BEGIN = `
local now = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local limit = tonumber(ARGV[3])
local wait = 0
for i = 1, #KEYS do
  redis.call('ZREMRANGEBYSCORE', KEYS[i], '-inf', now - window)
  local count = redis.call('ZCARD', KEYS[i])
  if count >= limit then
    local blocking = redis.call('ZRANGE', KEYS[i], count - limit, count - limit, 'WITHSCORES')
    wait = math.max(wait, tonumber(blocking[2]) + window - now, 1)
  end
end
if wait > 0 then return wait end
for i = 1, #KEYS do
  redis.call('ZADD', KEYS[i], now, ARGV[4])
  redis.call('PEXPIRE', KEYS[i], window)
end
return 0
`;

/** An attempt counted against every key it was begun with. */
export interface Attempt {
  readonly keys: readonly string[];
  readonly member: string;
}

/** Failed attempts per key (a user name, an address) in a sliding window, shared by every replica on one Redis. */
export class FailureWindow {
  constructor(
    private readonly redis: Redis,
    private readonly options: { readonly limit: number; readonly windowMs: number },
  ) {}

  /** Counts an attempt against every key, or, when any key is at its limit, returns the milliseconds to wait. */
  async begin(keys: readonly string[]): Promise<Attempt | { waitMs: number }> {
    const member = `${Date.now()}-${randomBytes(6).toString('hex')}`;
    const reply = await this.redis.eval(BEGIN, keys.length, ...keys, Date.now(), this.options.windowMs, this.options.limit, member);
    if (typeof reply !== 'number') throw new TypeError(`login limit: expected an integer reply from Redis, got ${JSON.stringify(reply)}`);
    return reply > 0 ? { waitMs: reply } : { keys, member };
  }

  /** A successful attempt does not count; `reset` keys also forget earlier failures (the user proved who they are). */
  async succeeded(attempt: Attempt, reset: readonly string[] = []): Promise<void> {
    const pipeline = this.redis.pipeline();
    for (const key of attempt.keys) pipeline.zrem(key, attempt.member);
    if (reset.length > 0) pipeline.del(...reset);
    await pipeline.exec();
  }
}
