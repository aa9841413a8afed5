import { createHash } from 'node:crypto';
import { eventMessageId, type SubpackEvent } from '@subpack/contracts';

export interface BatchPolicy {
  /** A batch is sent as soon as it holds this many events. */
  readonly maxEvents: number;
  /** ... or this long after its first event arrived. */
  readonly windowMs: number;
}

export interface Timers {
  set(callback: () => void, ms: number): unknown;
  clear(handle: unknown): void;
}

const REAL_TIMERS: Timers = {
  set: (callback, ms) => setTimeout(callback, ms),
  clear: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

interface Pending<T> {
  readonly items: T[];
  readonly waiters: { resolve: () => void; reject: (error: unknown) => void }[];
  timer?: unknown;
}

/**
 * Groups items by key (task and subscription) until a batch is full or its window has passed, then hands the batch to
 * `flush`. `add` resolves only once the item's batch was flushed, so a caller that acks its message after `add` never
 * acks something that sits only in memory: a crash loses nothing, the unacked messages are redelivered.
 */
export class Batcher<T> {
  private readonly pending = new Map<string, Pending<T>>();

  constructor(
    private readonly policy: BatchPolicy,
    private readonly flush: (key: string, items: T[]) => Promise<void>,
    private readonly timers: Timers = REAL_TIMERS,
  ) {
    if (!Number.isInteger(policy.maxEvents) || policy.maxEvents < 1) throw new RangeError(`batch maxEvents must be a positive integer, got ${policy.maxEvents}`);
    if (!Number.isInteger(policy.windowMs) || policy.windowMs < 0) throw new RangeError(`batch windowMs must be a non-negative integer, got ${policy.windowMs}`);
  }

  /** Items waiting in unsent batches. */
  get size(): number {
    let count = 0;
    for (const batch of this.pending.values()) count += batch.items.length;
    return count;
  }

  add(key: string, item: T): Promise<void> {
    let batch = this.pending.get(key);
    if (batch === undefined) {
      batch = { items: [], waiters: [] };
      this.pending.set(key, batch);
      batch.timer = this.timers.set(() => void this.flushKey(key), this.policy.windowMs);
    }
    batch.items.push(item);
    const done = new Promise<void>((resolve, reject) => batch.waiters.push({ resolve, reject }));
    if (batch.items.length >= this.policy.maxEvents) void this.flushKey(key);
    return done;
  }

  /** Sends the key's unsent batch now (e.g. before the task's outcome, so the outcome comes last). */
  async flushKey(key: string): Promise<void> {
    const batch = this.pending.get(key);
    if (batch === undefined) return;
    this.pending.delete(key);
    if (batch.timer !== undefined) this.timers.clear(batch.timer);
    try {
      await this.flush(key, batch.items);
    } catch (error) {
      batch.waiters.forEach((waiter) => waiter.reject(error));
      return;
    }
    batch.waiters.forEach((waiter) => waiter.resolve());
  }

  /** Keys of unsent batches that start with `prefix`. */
  keysWithPrefix(prefix: string): string[] {
    return [...this.pending.keys()].filter((key) => key.startsWith(prefix));
  }

  async flushAll(): Promise<void> {
    await Promise.all([...this.pending.keys()].map((key) => this.flushKey(key)));
  }
}

/**
 * Stable id of one delivery (webhook-id): the event's own id for a single event; for a batch, a digest of its event
 * ids, so a batch re-formed the same way after a crash keeps its id. The subscription key keeps ids unique per receiver.
 */
export function deliveryIdFor(events: readonly SubpackEvent[], subscriptionKey: string): string {
  const [only] = events;
  if (events.length === 1 && only !== undefined) return `${eventMessageId(only)}:${subscriptionKey}`;
  const digest = createHash('sha256');
  for (const event of events) digest.update(`${eventMessageId(event)}\n`);
  return `batch:${only?.taskId ?? ''}:${digest.digest('hex').slice(0, 16)}:${subscriptionKey}`;
}
