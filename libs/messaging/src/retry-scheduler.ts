import { MESSAGING_DEFAULTS } from './defaults';
import type { AmqpConnectionManager } from './connection-manager';
import type { Consumer } from './consumer';
import type { TopologySpec } from './topology';
import { describeError, UnroutableError } from './errors';
import { copyProperties, headerString, type AmqpHeaders } from './headers';
import type { IncomingMessage } from './incoming-message';
import { TIER_ROUTING_HEADER } from '@subpack/contracts';
import { queueRoutingKey } from '@subpack/rules';
import { HEADERS } from './names';
import { decideRetry, readFailureInfo, type RetryDecision, type RetryPolicy, type RetryTier } from './retry-policy';
import { FORGED_REASON } from './signing';

export type ParkedHook = (message: IncomingMessage, reason: string) => Promise<void> | void;
export type RetryHook = (message: IncomingMessage, retry: { readonly attempt: number; readonly tier: RetryTier; readonly reason: string }) => Promise<void> | void;

/** A message the broker dropped from a bounded queue (overflow or expiry): not a failure, nothing to retry. */
export interface BrokerDrop {
  readonly queue: string;
  readonly reason: 'maxlen' | 'expired';
}

export type DropHook = (message: IncomingMessage, drop: BrokerDrop) => Promise<void> | void;

export interface RetrySchedulerOptions {
  /**
   * Queues whose overflow and expired messages are dead-lettered only to be counted: such a message is handed to
   * onDropped and acked, never retried (retrying it would put it back into the queue that just shed it). Default: the
   * declared queues that drop their head and dead-letter to the dead exchange.
   */
  readonly dropsFrom?: readonly string[];
  readonly onDropped?: DropHook;
  readonly policy: RetryPolicy;
  /** Awaited before the dead message is parked and acked (e.g. to mark the task failed). Must be idempotent. */
  readonly onParked?: ParkedHook;
  /**
   * Awaited before the message is forwarded to its tier (e.g. to announce the retry). Must be idempotent: a forward
   * that fails after it runs is attempted again.
   */
  readonly onRetry?: RetryHook;
  /** Default 10. */
  readonly prefetch?: number;
  /** Header the tier queues' bindings match on. Default TIER_ROUTING_HEADER ('subpack-tier'). */
  readonly tierRoutingHeader?: string;
  /** Delay before a message whose forwarding failed is requeued on the dead queue. Default 1000 ms. */
  readonly requeueDelayMs?: number;
  /** Bodies above this size are cut to it when parked (headers and reason kept). Default DEFAULT_MAX_PARKED_BODY_BYTES. */
  readonly maxParkedBodyBytes?: number;
}

/** Enough to read any legitimate task or job and see what a hostile one looked like, without hoarding megabytes. */
export const DEFAULT_MAX_PARKED_BODY_BYTES = 64 * 1024;

/**
 * Consumes the dead queue: republishes each failed message to its delay tier (it dead-letters back to its origin
 * queue when the tier's TTL expires), or parks it. Acks only after the broker confirmed the forward.
 */
export class RetryScheduler {
  private consumer?: Consumer;

  constructor(
    private readonly manager: AmqpConnectionManager,
    private readonly options: RetrySchedulerOptions,
  ) {
    if (!Number.isInteger(options.policy.maxAttempts) || options.policy.maxAttempts < 1) {
      throw new RangeError(`retry policy maxAttempts must be a positive integer, got ${String(options.policy.maxAttempts)}`);
    }
  }

  /** Throws when the declared topology cannot route retries as the policy needs (see tierBindingProblems). */
  async start(): Promise<void> {
    if (this.consumer !== undefined) return;
    const { topology, names } = this.manager;
    if (topology !== undefined) {
      const header = this.options.tierRoutingHeader ?? TIER_ROUTING_HEADER;
      const problems = tierBindingProblems(topology, names.retryExchange, header, this.options.policy.tiers);
      if (problems.length > 0) throw new Error(`retry scheduler cannot start: ${problems.join('; ')}`);
    }
    this.consumer = await this.manager.consume(this.manager.names.deadQueue, async (message) => {
      await this.handle(message);
    }, {
      prefetch: this.options.prefetch ?? MESSAGING_DEFAULTS.retrySchedulerPrefetch,
      // The dead queue has nowhere to fail to: put the message back and try again later.
      onFailure: 'requeue',
      requeueDelayMs: this.options.requeueDelayMs ?? MESSAGING_DEFAULTS.requeueDelayMs,
    });
  }

  private get dropsFrom(): readonly string[] {
    if (this.options.dropsFrom !== undefined) return this.options.dropsFrom;
    const dead = this.manager.names.deadExchange;
    return (this.manager.topology?.queues ?? [])
      .filter((q) => q.arguments?.['x-overflow'] === 'drop-head' && q.arguments['x-dead-letter-exchange'] === dead)
      .map((q) => q.name);
  }

  async stop(): Promise<void> {
    await this.consumer?.cancel();
    this.consumer = undefined;
  }

  /** Decides and forwards one dead message; exported for tests and reuse. */
  async handle(message: IncomingMessage): Promise<RetryDecision | { action: 'drop'; drop: BrokerDrop }> {
    if (this.isForged(message)) {
      // Parked as it came, with no hook: a forgery must not reach task state or events.
      const forged = { action: 'park', reason: FORGED_REASON, attempt: 0, originQueue: headerString(message.headers, HEADERS.originQueue) } as const;
      await this.park(message, forged, false);
      return forged;
    }
    const drop = brokerDrop(message.headers, this.dropsFrom);
    if (drop !== undefined) {
      await this.options.onDropped?.(message, drop);
      return { action: 'drop', drop };
    }
    const decision = decideRetry(message.headers, this.options.policy);
    if (decision.action === 'retry') {
      await this.options.onRetry?.(message, { attempt: decision.attempt, tier: decision.tier, reason: readFailureInfo(message.headers).error });
      try {
        await this.retry(message, decision.attempt, decision.originQueue, decision.tier);
        return decision;
      } catch (error) {
        if (!(error instanceof UnroutableError)) throw error;
        const parked: RetryDecision = {
          action: 'park',
          reason: `retry tier "${decision.tier.name}" has no queue bound (${describeError(error)})`,
          attempt: decision.attempt,
          originQueue: decision.originQueue,
        };
        await this.park(message, parked);
        return parked;
      }
    }
    await this.park(message, decision);
    return decision;
  }

  private async retry(message: IncomingMessage, attempt: number, originQueue: string, tier: RetryTier): Promise<void> {
    const properties = copyProperties(message.raw.properties);
    properties.headers = {
      ...(properties.headers as Record<string, unknown>),
      [HEADERS.attempt]: attempt,
      [HEADERS.originQueue]: originQueue,
      [HEADERS.tier]: tier.name,
      [this.options.tierRoutingHeader ?? TIER_ROUTING_HEADER]: tier.name,
    };
    const routingKey = queueRoutingKey(originQueue);
    await this.manager.publisher.publishRaw(this.manager.names.retryExchange, routingKey, message.body, properties);
    this.manager.logger.info({ originQueue, tier: tier.name, messageId: message.messageId }, 'scheduled retry');
  }

  /**
   * A dead message claiming to come from an internal queue, or to have been published under an internal routing key,
   * must carry the signature a service gave it; the claim itself is only headers anyone could write.
   */
  private isForged(message: IncomingMessage): boolean {
    const signing = this.manager.signing;
    if (signing === undefined) return false;
    const originQueue = headerString(message.headers, HEADERS.originQueue);
    const originRoutingKey = headerString(message.headers, HEADERS.originRoutingKey) ?? message.routingKey;
    const internalKeys = new Set(Object.values(signing.signedQueues));
    const expected = (originQueue !== undefined ? signing.signedQueues[originQueue] : undefined) ?? (internalKeys.has(originRoutingKey) ? originRoutingKey : undefined);
    if (expected === undefined) return false;
    return !signing.signer.verify(expected, message.body, message.headers);
  }

  private async park(message: IncomingMessage, decision: RetryDecision & { action: 'park' }, hooks = true): Promise<void> {
    const { reason, attempt, originQueue } = decision;
    if (hooks) await this.options.onParked?.(message, reason);
    const properties = copyProperties(message.raw.properties);
    const headers: Record<string, unknown> = {
      ...(properties.headers as Record<string, unknown>),
      [HEADERS.attempt]: attempt,
      [HEADERS.error]: reason,
      [HEADERS.parkedAt]: new Date().toISOString(),
    };
    if (originQueue !== undefined) headers[HEADERS.originQueue] = originQueue;
    // The parking lot keeps evidence, not payloads: an oversized body is cut, and says so.
    const limit = this.options.maxParkedBodyBytes ?? DEFAULT_MAX_PARKED_BODY_BYTES;
    const body = message.body.length > limit ? message.body.subarray(0, limit) : message.body;
    if (body !== message.body) headers[HEADERS.truncatedFrom] = message.body.length;
    properties.headers = headers;
    await this.manager.publisher.publishRaw(this.manager.names.parkedExchange, message.routingKey, body, properties);
    this.manager.logger.warn({ originQueue, reason, messageId: message.messageId }, 'parked message');
  }
}

/**
 * Pure check of the tier queues' bindings on the retry headers exchange: each policy tier needs a queue bound with
 * `<tierHeader>: <tier name>`. A binding whose only match keys start with `x-` matches EVERY message (RabbitMQ skips
 * x- binding arguments), which would copy each retry into every tier.
 */
export function tierBindingProblems(spec: TopologySpec, retryExchange: string, tierHeader: string, tiers: readonly RetryTier[]): string[] {
  const problems: string[] = [];
  const boundTiers = new Set<unknown>();
  for (const queue of spec.queues) {
    for (const binding of queue.bindings) {
      if (binding.exchange !== retryExchange) continue;
      const matchKeys = Object.keys(binding.arguments ?? {}).filter((key) => !key.startsWith('x-'));
      if (matchKeys.length === 0) {
        problems.push(
          `queue "${queue.name}" binds "${retryExchange}" on x- headers only (${Object.keys(binding.arguments ?? {}).join(', ') || 'none'}), ` +
            `which RabbitMQ ignores, so it would receive every retry; bind it on "${tierHeader}" instead`,
        );
      }
      boundTiers.add(binding.arguments?.[tierHeader]);
    }
  }
  for (const tier of tiers) {
    if (!boundTiers.has(tier.name)) problems.push(`no queue is bound to "${retryExchange}" with "${tierHeader}: ${tier.name}" (tier "${tier.name}")`);
  }
  return problems;
}

/**
 * The broker's latest dead-lettering of the message, when it dropped it from one of `queues` for overflow or expiry.
 * RabbitMQ 3.13+ names it in x-last-death-*; older brokers put it first in x-death. A message we republish loses these
 * headers (republishableHeaders), so they always describe the hop that brought it here.
 */
export function brokerDrop(headers: AmqpHeaders, queues: readonly string[]): BrokerDrop | undefined {
  if (queues.length === 0) return undefined;
  let queue = headerString(headers, 'x-last-death-queue');
  let reason = headerString(headers, 'x-last-death-reason');
  const deaths = headers['x-death'];
  if ((queue === undefined || reason === undefined) && Array.isArray(deaths) && typeof deaths[0] === 'object' && deaths[0] !== null) {
    const latest = deaths[0] as AmqpHeaders;
    queue = headerString(latest, 'queue');
    reason = headerString(latest, 'reason');
  }
  if (queue === undefined || !queues.includes(queue)) return undefined;
  return reason === 'maxlen' || reason === 'expired' ? { queue, reason } : undefined;
}

/**
 * Counts dropped messages per queue and reason, and says so at most once per period: a missing consumer makes every
 * publish drop one, and a log line each would flood the logs.
 */
export class DropReport {
  private counts = new Map<string, number>();
  private lastReport = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly periodMs: number,
    private readonly report: (summary: { queue: string; reason: BrokerDrop['reason']; count: number }[]) => void,
  ) {}

  /** Records one drop; reports the drops so far when the last report is at least a period old. */
  note(drop: BrokerDrop, nowMs: number): void {
    const key = `${drop.queue}\u0000${drop.reason}`;
    this.counts.set(key, (this.counts.get(key) ?? 0) + 1);
    this.flush(nowMs);
  }

  /**
   * Reports the drops not reported yet, if any and if the last report is at least a period old. Call it on a timer
   * too, so the last drops of a burst are told.
   */
  flush(nowMs: number): void {
    if (this.counts.size === 0 || nowMs - this.lastReport < this.periodMs) return;
    const summary = [...this.counts].map(([key, count]) => {
      const [queue, reason] = key.split('\u0000') as [string, BrokerDrop['reason']];
      return { queue, reason, count };
    });
    this.counts = new Map();
    this.lastReport = nowMs;
    this.report(summary);
  }
}
