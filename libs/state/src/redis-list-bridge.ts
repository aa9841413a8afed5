import type Redis from 'ioredis';
import { InvalidArgumentError } from './errors';

export type BridgePhase = 'recover' | 'move' | 'publish' | 'remove';

export interface RedisListBridgeOptions {
  /** List the old publishers push tasks onto. Default 'subpack:tasks'. */
  sourceList?: string;
  /**
   * Items being published live here until the publish is confirmed. Default 'subpack:tasks:processing'.
   * Give each bridge instance its own list when running several: on start a bridge republishes everything in its
   * processing list, which with a shared list includes another instance's in-flight items (a harmless duplicate,
   * taskId idempotency absorbs it, but pointless work).
   */
  processingList?: string;
  /**
   * End of the source list to take items from. 'right' (default) suits publishers that LPUSH (LPUSH + BRPOP queue);
   * use 'left' for publishers that RPUSH.
   */
  popFrom?: 'right' | 'left';
  /** Must resolve only once the broker has confirmed the message; reject to have it retried. */
  publish: (body: Buffer) => Promise<void>;
  /**
   * Seconds one BLMOVE blocks. stop() normally ends a waiting BLMOVE at once with CLIENT UNBLOCK; this bounds the wait
   * when it cannot. Default 1. Keep it below the client's commandTimeout if one is set.
   */
  blockSeconds?: number;
  /** First retry delay after a failure; doubles up to maxBackoffMs. Defaults 200 / 10000. */
  initialBackoffMs?: number;
  maxBackoffMs?: number;
  /** Told about every failure before it is retried (for logging/metrics). */
  onError?: (error: unknown, context: { phase: BridgePhase; attempt: number }) => void;
}

type Attempt<T> = { ok: true; value: T } | { ok: false };

/**
 * Moves tasks from a Redis list onto the broker without losing any:
 * BLMOVE source -> processing, publish (confirmed), then LREM from processing. An item leaves the processing list only
 * after its publish was confirmed, so a crash at any point leaves it there, and the next start() republishes it
 * (taskId idempotency downstream makes the possible duplicate harmless). A failing publish is retried with backoff,
 * in order: later items wait. Bodies are passed through untouched, JSON or not (the packer rejects bad ones with a
 * readable reason).
 */
export class RedisListBridge {
  readonly sourceList: string;
  readonly processingList: string;
  private readonly popFrom: 'right' | 'left';
  private readonly blockSeconds: number;
  private readonly initialBackoffMs: number;
  private readonly maxBackoffMs: number;

  private loop: Promise<void> | undefined;
  private blocking: Redis | undefined;
  /** Redis client id of the blocking connection, so stop() can CLIENT UNBLOCK a waiting BLMOVE. */
  private blockingClientId: number | undefined;
  private stopping = false;
  private wakeFromBackoff: (() => void) | undefined;

  /** `redis` serves the non-blocking commands; the blocking BLMOVE gets its own connection (redis.duplicate()). */
  constructor(
    private readonly redis: Redis,
    private readonly options: RedisListBridgeOptions,
  ) {
    this.sourceList = options.sourceList ?? 'subpack:tasks';
    this.processingList = options.processingList ?? 'subpack:tasks:processing';
    this.popFrom = options.popFrom ?? 'right';
    this.blockSeconds = options.blockSeconds ?? 1;
    this.initialBackoffMs = options.initialBackoffMs ?? 200;
    this.maxBackoffMs = options.maxBackoffMs ?? 10_000;
    if (this.sourceList === this.processingList) {
      throw new InvalidArgumentError(`RedisListBridge: source and processing list are both "${this.sourceList}"`);
    }
    if (!(this.blockSeconds > 0)) {
      throw new InvalidArgumentError(`RedisListBridge: blockSeconds must be > 0, got ${this.blockSeconds}`);
    }
  }

  get running(): boolean {
    return this.loop !== undefined;
  }

  /** Starts the loop in the background: first republishes leftovers from the processing list, then follows the source. */
  start(): void {
    if (this.loop) throw new Error('RedisListBridge: already started');
    this.stopping = false;
    this.blocking = this.redis.duplicate();
    this.loop = this.run();
  }

  /** Finishes the item in hand (if its publish succeeds), then returns. Anything unfinished stays in processing. */
  async stop(): Promise<void> {
    if (!this.loop) return;
    this.stopping = true;
    this.wakeFromBackoff?.();
    await this.unblock();
    await this.loop;
    this.loop = undefined;
    const blocking = this.blocking;
    this.blocking = undefined;
    this.blockingClientId = undefined;
    await blocking?.quit().catch(() => blocking.disconnect());
  }

  private async run(): Promise<void> {
    const leftovers = await this.retrying('recover', () => this.redis.lrangeBuffer(this.processingList, 0, -1));
    if (!leftovers.ok) return;
    // New items are pushed on the left of the processing list, so the oldest is at the right end.
    for (const item of leftovers.value.reverse()) {
      if (!(await this.deliver(item))) return;
    }
    while (!this.stopping) {
      const moved = await this.retrying('move', () => this.moveNext());
      if (!moved.ok) return;
      if (moved.value !== null && !(await this.deliver(moved.value))) return;
    }
  }

  /**
   * A BLMOVE that is unblocked returns null as on a timeout: nothing is moved, so nothing is stranded in processing.
   * If that is not possible (e.g. ACLs forbid CLIENT UNBLOCK) stop() just waits out blockSeconds.
   */
  private async unblock(): Promise<void> {
    if (this.blockingClientId === undefined) return;
    await this.redis.client('UNBLOCK', this.blockingClientId).catch(() => undefined);
  }

  private async moveNext(): Promise<Buffer | null> {
    const blocking = this.blocking;
    if (!blocking) throw new Error('RedisListBridge: not started');
    // Asked before every block: after a reconnect the connection has a new id.
    this.blockingClientId = await blocking.client('ID');
    if (this.stopping) return null;
    return this.popFrom === 'right'
      ? blocking.blmoveBuffer(this.sourceList, this.processingList, 'RIGHT', 'LEFT', this.blockSeconds)
      : blocking.blmoveBuffer(this.sourceList, this.processingList, 'LEFT', 'LEFT', this.blockSeconds);
  }

  /** Publishes one item and removes it from processing. False when stopped before that was done. */
  private async deliver(item: Buffer): Promise<boolean> {
    const published = await this.retrying('publish', () => this.options.publish(item));
    if (!published.ok) return false;
    // LREM from the tail: the oldest copy of an item is the one being delivered.
    const removed = await this.retrying('remove', () => this.redis.lrem(this.processingList, -1, item));
    return removed.ok;
  }

  /**
   * Runs `action` until it succeeds, backing off between failures. Gives up only when stop() was called — after a
   * failure, never in the middle of an attempt, so an item in hand is finished if it can be.
   */
  private async retrying<T>(phase: BridgePhase, action: () => Promise<T>): Promise<Attempt<T>> {
    let delay = this.initialBackoffMs;
    for (let attempt = 1; ; attempt++) {
      try {
        return { ok: true, value: await action() };
      } catch (error) {
        this.report(error, phase, attempt);
      }
      if (this.stopping) return { ok: false };
      await this.backoff(delay);
      if (this.stopping) return { ok: false };
      delay = Math.min(delay * 2, this.maxBackoffMs);
    }
  }

  private report(error: unknown, phase: BridgePhase, attempt: number): void {
    try {
      this.options.onError?.(error, { phase, attempt });
    } catch {
      // A broken logger must not stop the bridge (or leave its loop promise rejected).
    }
  }

  private backoff(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const wake = (): void => {
        clearTimeout(timer);
        this.wakeFromBackoff = undefined;
        resolve();
      };
      const timer = setTimeout(wake, ms);
      this.wakeFromBackoff = wake;
    });
  }
}
