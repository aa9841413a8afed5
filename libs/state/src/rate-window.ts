import { randomBytes } from 'node:crypto';
import type Redis from 'ioredis';
import { InvalidArgumentError } from './errors';
import { TAKE_RATE_SLOT } from './lua-scripts';
import { replyInteger } from './redis-reply';

/**
 * A sliding-window rate limit shared by every process that uses the same Redis and prefix (e.g. messages per minute
 * to one chat robot, whichever notifier replica sends them).
 */
export class RateWindow {
  constructor(
    private readonly redis: Redis,
    private readonly options: { readonly keyPrefix: string; readonly limit: number; readonly windowMs: number },
  ) {
    for (const field of ['limit', 'windowMs'] as const) {
      if (!Number.isSafeInteger(options[field]) || options[field] <= 0) {
        throw new InvalidArgumentError(`RateWindow ${field} must be a positive integer, got ${options[field]}`);
      }
    }
  }

  /** Takes a slot for `name`: 0 when taken, else the ms to wait before asking again (nothing is recorded then). */
  async take(name: string): Promise<number> {
    const member = `${Date.now()}-${randomBytes(4).toString('hex')}`;
    const reply = await TAKE_RATE_SLOT.run(this.redis, [`${this.options.keyPrefix}rate:${name}`], [Date.now(), this.options.windowMs, this.options.limit, member]);
    return replyInteger(reply, 'RateWindow.take');
  }

  /** Waits until a slot for `name` is free and takes it. */
  async acquire(name: string): Promise<void> {
    for (;;) {
      const waitMs = await this.take(name);
      if (waitMs === 0) return;
      await new Promise((resolve) => setTimeout(resolve, waitMs));
    }
  }
}
