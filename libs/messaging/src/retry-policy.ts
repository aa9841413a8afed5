import { type AmqpHeaders, headerCount, headerString } from './headers';
import { HEADERS } from './names';

export interface RetryTier {
  /** Matched by the tier queue's binding on the retry headers exchange, e.g. '5s'. */
  readonly name: string;
  /** The tier queue's x-message-ttl (informational here: the queue enforces it). */
  readonly ttlMs: number;
}

export interface RetryPolicy {
  /** Delay tiers, shortest first; failure n uses tier min(n-1, last). */
  readonly tiers: readonly RetryTier[];
  /** Park once this many failures have been recorded. */
  readonly maxAttempts: number;
}

/** What the project's failure headers (or the broker's dead-lettering headers) say about a failed message. */
export interface FailureInfo {
  /** Failures so far, 1-based. A message dead-lettered by the broker (no x-subpack-attempt) counts as 1. */
  readonly attempt: number;
  readonly originQueue: string | undefined;
  readonly originRoutingKey: string | undefined;
  readonly errorClass: 'permanent' | 'transient';
  readonly error: string;
}

export type RetryDecision =
  | { readonly action: 'retry'; readonly tier: RetryTier; readonly attempt: number; readonly originQueue: string }
  | { readonly action: 'park'; readonly reason: string; readonly attempt: number; readonly originQueue: string | undefined };

export function readFailureInfo(headers: AmqpHeaders): FailureInfo {
  const recorded = headerCount(headers, HEADERS.attempt);
  if (recorded === undefined) {
    // Dead-lettered by the broker (nack without requeue, delivery limit...): only its own headers tell the origin.
    return {
      attempt: 1,
      originQueue: headerString(headers, 'x-first-death-queue'),
      originRoutingKey: headerString(headers, HEADERS.originRoutingKey),
      errorClass: 'transient',
      error: `dead-lettered by the broker (${headerString(headers, 'x-first-death-reason') ?? 'unknown reason'})`,
    };
  }
  return {
    attempt: Math.max(1, recorded),
    originQueue: headerString(headers, HEADERS.originQueue),
    originRoutingKey: headerString(headers, HEADERS.originRoutingKey),
    errorClass: headerString(headers, HEADERS.errorClass) === 'permanent' ? 'permanent' : 'transient',
    error: headerString(headers, HEADERS.error) ?? 'unknown error',
  };
}

/** Pure: retry through which tier, or park and why. */
export function decideRetry(headers: AmqpHeaders, policy: RetryPolicy): RetryDecision {
  const failure = readFailureInfo(headers);
  const { attempt, originQueue } = failure;
  if (failure.errorClass === 'permanent') return { action: 'park', reason: failure.error, attempt, originQueue };
  if (attempt >= policy.maxAttempts) {
    return { action: 'park', reason: `gave up after ${attempt} attempts: ${failure.error}`, attempt, originQueue };
  }
  const lastTier = policy.tiers.length - 1;
  const tier = policy.tiers[Math.min(attempt - 1, lastTier)];
  if (tier === undefined) return { action: 'park', reason: `no retry tiers configured: ${failure.error}`, attempt, originQueue };
  if (originQueue === undefined) {
    return { action: 'park', reason: `origin queue unknown, cannot route a retry: ${failure.error}`, attempt, originQueue };
  }
  return { action: 'retry', tier, attempt, originQueue };
}
