/**
 * Header and exchange/queue names shared with `@subpack/contracts` (see notes/contracts.md).
 * They are repeated here, not imported, so this library stays usable with any topology whose names are passed in
 * (tests use random names); the defaults below must stay equal to the contracts constants.
 */

/** The project's own failure headers. Never rely on `x-death`: RabbitMQ 3.13+ stops updating it on republish. */
export const HEADERS = {
  attempt: 'x-subpack-attempt',
  error: 'x-subpack-error',
  errorClass: 'x-subpack-error-class',
  originQueue: 'x-subpack-origin-queue',
  originRoutingKey: 'x-subpack-origin-routing-key',
  tier: 'x-subpack-tier',
  parkedAt: 'x-subpack-parked-at',
  failedAt: 'x-subpack-failed-at',
  /** Per-publish correlation id: lets a basic.return be matched to the publish it belongs to. */
  publishId: 'x-subpack-publish-id',
} as const;

/**
 * Header the retry scheduler matches the tier queues' bindings on.
 * RabbitMQ's headers exchange IGNORES binding arguments whose key starts with `x-` (only `x-match` is read), so a
 * binding on `x-subpack-tier` would match every message and copy each retry into every tier queue. The tier
 * bindings must therefore use a key without the `x-` prefix; `x-subpack-tier` is still set for humans.
 */
export const TIER_ROUTING_HEADER = 'subpack-tier';

/** Headers the broker adds when it dead-letters a message; stripped from every copy we republish. */
export const BROKER_DEATH_HEADERS: readonly string[] = [
  'x-death',
  'x-first-death-queue',
  'x-first-death-reason',
  'x-first-death-exchange',
  'x-last-death-queue',
  'x-last-death-reason',
  'x-last-death-exchange',
];

export type ErrorClass = 'permanent' | 'transient';

/** Exchange and queue names of the failure path; defaults are the contracts names. */
export interface MessagingNames {
  /** Main topic exchange; also the target of replays. */
  readonly exchange: string;
  /** Fanout exchange failed messages are published to. */
  readonly deadExchange: string;
  /** Queue bound to `deadExchange`, consumed by the retry scheduler. */
  readonly deadQueue: string;
  /** Headers exchange routing retries to the delay-tier queues. */
  readonly retryExchange: string;
  /** Fanout exchange of the parking lot. */
  readonly parkedExchange: string;
  /** The parking-lot queue. */
  readonly parkedQueue: string;
}

export const DEFAULT_NAMES: MessagingNames = {
  exchange: 'subpack',
  deadExchange: 'subpack.dead',
  deadQueue: 'subpack.dead',
  retryExchange: 'subpack.retry',
  parkedExchange: 'subpack.parked',
  parkedQueue: 'subpack.parked',
};

export function resolveNames(overrides?: Partial<MessagingNames>): MessagingNames {
  return { ...DEFAULT_NAMES, ...overrides };
}

/** Routing key that reaches exactly one queue: every queue binds `queue.<its own name>`. */
export function queueRoutingKey(queue: string): string {
  return `queue.${queue}`;
}
