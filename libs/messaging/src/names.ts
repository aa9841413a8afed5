import { HEADERS as CONTRACT_HEADERS } from '@subpack/contracts';
import { EXCHANGES, QUEUES } from '@subpack/rules';

/**
 * The project's own failure headers, from the contracts (never rely on `x-death`: RabbitMQ 3.13+ stops updating it on
 * republish), plus the transport's private per-publish correlation id, which lets a basic.return be matched to the
 * publish it belongs to. Exchange and queue names stay parameters (tests use random names).
 */
export const HEADERS = { ...CONTRACT_HEADERS, publishId: 'x-subpack-publish-id' } as const;

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
  exchange: EXCHANGES.main,
  deadExchange: EXCHANGES.dead,
  deadQueue: QUEUES.dead,
  retryExchange: EXCHANGES.retry,
  parkedExchange: EXCHANGES.parked,
  parkedQueue: QUEUES.parked,
};

export function resolveNames(overrides?: Partial<MessagingNames>): MessagingNames {
  return { ...DEFAULT_NAMES, ...overrides };
}
