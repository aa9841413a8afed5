import type { Redis } from 'ioredis';

/** Per-minute buckets are kept this long: the chart shows the last hour. */
const KEEP_SECONDS = 2 * 3600;

// Counts an event once however many API replicas see it: the event's message id is remembered for a while.
const COUNT_ONCE = `
if redis.call('SET', KEYS[1], '1', 'NX', 'EX', 600) then
  redis.call('INCR', KEYS[2])
  redis.call('EXPIRE', KEYS[2], ARGV[1])
end
return 1`;

/** Channels stored per minute, counted from `channel.stored` events, for the last hour's chart. */
export class Throughput {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {}

  private bucketKey(minute: number): string {
    return `${this.prefix}api:stored-per-minute:${minute}`;
  }

  async countStored(messageId: string, at: number = Date.now()): Promise<void> {
    const minute = Math.floor(at / 60_000);
    await this.redis.eval(COUNT_ONCE, 2, `${this.prefix}api:counted:${messageId}`, this.bucketKey(minute), KEEP_SECONDS);
  }

  /** The last `minutes` minutes, oldest first, the current (partial) minute last. */
  async lastMinutes(minutes = 60, now: number = Date.now()): Promise<{ minute: string; stored: number }[]> {
    const current = Math.floor(now / 60_000);
    const minutesList = Array.from({ length: minutes }, (_, i) => current - minutes + 1 + i);
    const counts = await this.redis.mget(minutesList.map((m) => this.bucketKey(m)));
    return minutesList.map((m, i) => ({ minute: new Date(m * 60_000).toISOString(), stored: Number(counts[i] ?? 0) }));
  }
}
