import { TIER_ROUTING_HEADER } from '../schemas/failure-headers';
import { queueRoutingKey, retryQueueName, ROUTING_KEYS, topologyNames, TOPOLOGY_NAME_PART, type TopologyNames } from '@subpack/rules';

export type ExchangeType = 'topic' | 'fanout' | 'headers';

export interface ExchangeDeclaration {
  readonly name: string;
  readonly type: ExchangeType;
  readonly durable: true;
  readonly autoDelete: false;
}

export type QueueArguments = Readonly<Record<string, string | number>>;

export interface BindingDeclaration {
  readonly exchange: string;
  /** Routing key or pattern; ignored by fanout and headers exchanges (empty string). */
  readonly routingKey: string;
  /** Binding arguments (headers exchange matching). */
  readonly arguments?: Readonly<Record<string, string>>;
}

/**
 * work: consumed by a service; dead: input of the retry-scheduler; retry: delay tier (bounded by its TTL); parked:
 * given up, kept for replay (bounded by length); tap: a copy of every event, or of every audit record, for outside
 * consumers (bounded by length and age). Every queue is either consumed or bounded, so nothing grows without limit when no one reads it.
 */
export type QueueRole = 'work' | 'dead' | 'retry' | 'parked' | 'tap';

export interface QueueDeclaration {
  readonly name: string;
  readonly role: QueueRole;
  readonly durable: true;
  readonly arguments: QueueArguments;
  readonly bindings: readonly BindingDeclaration[];
}

/** A delay tier: a failed message waits ttlMs in the tier's queue, then returns to the queue it failed in. */
export interface RetryTier {
  readonly name: string;
  readonly ttlMs: number;
}

export interface RetryTierDeclaration extends RetryTier {
  readonly queue: string;
}

export interface Topology {
  readonly names: TopologyNames;
  readonly exchanges: readonly ExchangeDeclaration[];
  readonly queues: readonly QueueDeclaration[];
  /** In the order attempts use them: the first failure waits in retryTiers[0]. */
  readonly retryTiers: readonly RetryTierDeclaration[];
}

export interface TopologyOptions {
  /** Prefix of all exchange and queue names; default "subpack". */
  readonly namespace?: string;
  /** Bounds of the notifier's event queue; default NOTIFIER_EVENTS_BOUND (tests use small ones). */
  readonly notifierEventsBound?: { readonly maxLength: number; readonly ttlMs: number };
}

export const DEFAULT_RETRY_TIERS: readonly RetryTier[] = [
  { name: '5s', ttlMs: 5_000 },
  { name: '30s', ttlMs: 30_000 },
  { name: '5m', ttlMs: 300_000 },
];

/** RabbitMQ rejects a larger x-message-ttl. */
const MAX_TTL_MS = 2 ** 32 - 1;

/**
 * Poison-message guard: a message redelivered this many times without ack/nack (consumer crash loop) is dead-lettered.
 * Explicit because RabbitMQ 3.x has no default and 4.x defaults to 20; changing queue arguments later means
 * re-creating the queues.
 */
export const DELIVERY_LIMIT = 20;

const QUORUM = { 'x-queue-type': 'quorum' } as const;

/**
 * The event tap keeps the newest 100,000 events for at most a day. Events are notifications (the state in Redis is
 * the record), so the oldest are dropped rather than refusing publishers: a full tap must never stall the pipeline.
 * No dead-letter exchange: an expired or dropped event is not a failure to retry.
 */
export const EVENTS_QUEUE_BOUND = {
  'x-max-length': 100_000,
  'x-message-ttl': 24 * 60 * 60 * 1000,
  'x-overflow': 'drop-head',
} as const;

/**
 * The audit tap keeps the newest 1,000,000 audit records of the HTTP API, each for at most 49 days (the most whole
 * days within MAX_TTL_MS), and at most 512 MiB. Audit records are kept far longer than events because they are read
 * after the fact (who did what last month), not acted on. They are still copies: the API stores each record in Redis
 * before publishing it, so the oldest are dropped rather than refusing the API's publishes, and a full tap or a missing
 * consumer never fails or slows a request. No dead-letter exchange: an expired or dropped record is not a failure to
 * retry.
 */
export const AUDIT_QUEUE_BOUND = {
  'x-max-length': 1_000_000,
  'x-max-length-bytes': 512 * 1024 * 1024,
  'x-message-ttl': 49 * 24 * 60 * 60 * 1000,
  'x-overflow': 'drop-head',
} as const;

/**
 * The parking lot keeps the newest 100,000 messages and at most 1 GiB. Parking has already recorded the failure (task
 * failed or channel failed, with the reason, in Redis and as an event), so a message dropped from the head only loses
 * its replay copy. No TTL: parked messages wait for an operator.
 */
export const PARKED_QUEUE_BOUND = {
  'x-max-length': 100_000,
  'x-max-length-bytes': 1024 * 1024 * 1024,
  'x-overflow': 'drop-head',
} as const;

/**
 * The notifier's copy of every event keeps the newest 100,000 for at most a day, so a notifier that is missing (never
 * deployed, scaled to zero, crash-looping) cannot fill the broker. Overflow drops the oldest rather than refusing
 * publishers: a notification must never stall the pipeline, and the state in Redis is the record. Dropped and expired
 * events are dead-lettered at most once to subpack.dead, where the retry-scheduler counts them
 * (subpack_dropped_messages_total) and logs them once a minute instead of retrying them.
 */
export const NOTIFIER_EVENTS_BOUND = { maxLength: 100_000, ttlMs: 24 * 60 * 60 * 1000 } as const;

/**
 * Dead-letter to `exchange` without losing messages: at-least-once dead-lettering (quorum queues only) keeps a message
 * until the target confirms it, and requires the reject-publish overflow mode.
 */
function deadLetterTo(exchange: string): QueueArguments {
  return {
    'x-dead-letter-exchange': exchange,
    'x-dead-letter-strategy': 'at-least-once',
    'x-overflow': 'reject-publish',
  };
}

function exchange(name: string, type: ExchangeType): ExchangeDeclaration {
  return { name, type, durable: true, autoDelete: false };
}

function queue(
  name: string,
  role: QueueRole,
  args: QueueArguments,
  bindings: readonly BindingDeclaration[],
): QueueDeclaration {
  return { name, role, durable: true, arguments: { ...QUORUM, ...args }, bindings };
}

/** Describes every exchange, queue and binding; the messaging library declares exactly this at startup. */
export function buildTopology(tiers: readonly RetryTier[], options: TopologyOptions = {}): Topology {
  assertValidTiers(tiers);
  const names = topologyNames(options.namespace);
  const { exchanges: ex, queues: q } = names;

  const workQueue = (name: string, routingKey: string): QueueDeclaration =>
    queue(name, 'work', { ...deadLetterTo(ex.dead), 'x-delivery-limit': DELIVERY_LIMIT }, [
      { exchange: ex.main, routingKey },
      { exchange: ex.main, routingKey: queueRoutingKey(name) },
    ]);

  // At-least-once dead-lettering needs reject-publish, which would block publishers when the queue is full; a bounded
  // work queue dead-letters at most once instead (a failed delivery is still forwarded by the consumer itself).
  const boundedWorkQueue = (name: string, routingKey: string, bound: { maxLength: number; ttlMs: number }): QueueDeclaration =>
    queue(
      name,
      'work',
      {
        'x-dead-letter-exchange': ex.dead,
        'x-dead-letter-strategy': 'at-most-once',
        'x-overflow': 'drop-head',
        'x-max-length': bound.maxLength,
        'x-message-ttl': bound.ttlMs,
        'x-delivery-limit': DELIVERY_LIMIT,
      },
      [
        { exchange: ex.main, routingKey },
        { exchange: ex.main, routingKey: queueRoutingKey(name) },
      ],
    );

  const retryTiers = tiers.map((tier) => ({ name: tier.name, ttlMs: tier.ttlMs, queue: retryQueueName(tier.name, names.namespace) }));

  return {
    names,
    exchanges: [
      exchange(ex.main, 'topic'),
      exchange(ex.dead, 'fanout'),
      exchange(ex.retry, 'headers'),
      exchange(ex.parked, 'fanout'),
    ],
    queues: [
      workQueue(q.packerTasks, ROUTING_KEYS.packTask),
      workQueue(q.packerBatches, ROUTING_KEYS.packBatch),
      workQueue(q.uploaderStore, ROUTING_KEYS.channelStore),
      queue(q.events, 'tap', EVENTS_QUEUE_BOUND, [{ exchange: ex.main, routingKey: ROUTING_KEYS.allEvents }]),
      boundedWorkQueue(q.notifierEvents, ROUTING_KEYS.allEvents, options.notifierEventsBound ?? NOTIFIER_EVENTS_BOUND),
      workQueue(q.notifierDeliveries, ROUTING_KEYS.notifyDelivery),
      queue(q.audit, 'tap', AUDIT_QUEUE_BOUND, [{ exchange: ex.main, routingKey: ROUTING_KEYS.auditRecorded }]),
      // A message the retry-scheduler itself keeps crashing on ends up parked rather than looping forever.
      queue(q.dead, 'dead', { ...deadLetterTo(ex.parked), 'x-delivery-limit': DELIVERY_LIMIT }, [
        { exchange: ex.dead, routingKey: '' },
      ]),
      // No x-dead-letter-routing-key: an expired message keeps its own routing key, queue.<origin queue>,
      // which the main exchange routes back to exactly that queue.
      ...retryTiers.map((tier) =>
        queue(tier.queue, 'retry', { 'x-message-ttl': tier.ttlMs, ...deadLetterTo(ex.main) }, [
          // Headers exchanges ignore binding arguments whose name starts with "x-", so routing uses `subpack-tier`.
          { exchange: ex.retry, routingKey: '', arguments: { 'x-match': 'all', [TIER_ROUTING_HEADER]: tier.name } },
        ]),
      ),
      queue(q.parked, 'parked', PARKED_QUEUE_BOUND, [{ exchange: ex.parked, routingKey: '' }]),
    ],
    retryTiers,
  };
}

function assertValidTiers(tiers: readonly RetryTier[]): void {
  const seen = new Set<string>();
  tiers.forEach((tier, index) => {
    const where = `retry tier ${index} (${JSON.stringify(tier.name)})`;
    if (!TOPOLOGY_NAME_PART.test(tier.name)) {
      throw new RangeError(`${where}: name must start with a letter or digit and contain only letters, digits, ".", "_" and "-"`);
    }
    if (seen.has(tier.name)) throw new RangeError(`${where}: name is used by an earlier tier`);
    seen.add(tier.name);
    if (!Number.isInteger(tier.ttlMs) || tier.ttlMs < 1 || tier.ttlMs > MAX_TTL_MS) {
      throw new RangeError(`${where}: ttlMs must be an integer from 1 to ${MAX_TTL_MS}, got ${tier.ttlMs}`);
    }
  });
}

/** The production topology with the default tiers (5s, 30s, 5m). */
export const TOPOLOGY: Topology = buildTopology(DEFAULT_RETRY_TIERS);
