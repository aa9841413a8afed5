import { MESSAGING_DEFAULTS } from './defaults';
import type { AmqpConnectionManager } from './connection-manager';
import type { Consumer } from './consumer';
import type { TopologySpec } from './topology';
import { describeError, UnroutableError } from './errors';
import { copyProperties } from './headers';
import type { IncomingMessage } from './incoming-message';
import { TIER_ROUTING_HEADER } from '@subpack/contracts';
import { queueRoutingKey } from '@subpack/rules';
import { HEADERS } from './names';
import { decideRetry, readFailureInfo, type RetryDecision, type RetryPolicy, type RetryTier } from './retry-policy';

export type ParkedHook = (message: IncomingMessage, reason: string) => Promise<void> | void;
export type RetryHook = (message: IncomingMessage, retry: { readonly attempt: number; readonly tier: RetryTier; readonly reason: string }) => Promise<void> | void;

export interface RetrySchedulerOptions {
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

  async stop(): Promise<void> {
    await this.consumer?.cancel();
    this.consumer = undefined;
  }

  /** Decides and forwards one dead message; exported for tests and reuse. */
  async handle(message: IncomingMessage): Promise<RetryDecision> {
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

  private async park(message: IncomingMessage, decision: RetryDecision & { action: 'park' }): Promise<void> {
    const { reason, attempt, originQueue } = decision;
    await this.options.onParked?.(message, reason);
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
