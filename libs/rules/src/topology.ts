/** Prefix of every exchange and queue name. Tests pass their own (random) namespace to stay isolated on a shared broker. */
export const DEFAULT_NAMESPACE = 'subpack';

/** What an exchange/queue name part (namespace, tier name) may contain. */
export const TOPOLOGY_NAME_PART = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

export interface ExchangeNames {
  /** Topic exchange every publisher and service sends to. */
  readonly main: string;
  /** Fanout exchange of failed messages, consumed by the retry-scheduler. */
  readonly dead: string;
  /** Headers exchange routing to the delay tier named in x-subpack-tier. */
  readonly retry: string;
  /** Fanout exchange of messages that gave up; kept until replayed or purged. */
  readonly parked: string;
}

export interface QueueNames {
  readonly packerTasks: string;
  readonly packerBatches: string;
  readonly uploaderStore: string;
  readonly events: string;
  /** The notifier's own copy of every event (subpack.events is a bounded tap for outside consumers). */
  readonly notifierEvents: string;
  /** The notifier's one-request delivery messages. */
  readonly notifierDeliveries: string;
  /** A bounded tap of the HTTP API's audit records, for outside consumers (the API keeps its own copy in Redis). */
  readonly audit: string;
  readonly dead: string;
  readonly parked: string;
}

export interface TopologyNames {
  readonly namespace: string;
  readonly exchanges: ExchangeNames;
  readonly queues: QueueNames;
}

export function topologyNames(namespace: string = DEFAULT_NAMESPACE): TopologyNames {
  if (!TOPOLOGY_NAME_PART.test(namespace)) {
    throw new RangeError(
      `topology namespace ${JSON.stringify(namespace)} must start with a letter or digit and contain only ` +
        'letters, digits, ".", "_" and "-"',
    );
  }
  return {
    namespace,
    exchanges: {
      main: namespace,
      dead: `${namespace}.dead`,
      retry: `${namespace}.retry`,
      parked: `${namespace}.parked`,
    },
    queues: {
      packerTasks: `${namespace}.packer.tasks`,
      packerBatches: `${namespace}.packer.batches`,
      uploaderStore: `${namespace}.uploader.store`,
      events: `${namespace}.events`,
      notifierEvents: `${namespace}.notifier.events`,
      notifierDeliveries: `${namespace}.notifier.deliveries`,
      audit: `${namespace}.audit`,
      dead: `${namespace}.dead`,
      parked: `${namespace}.parked`,
    },
  };
}

const DEFAULT_NAMES = topologyNames();
export const EXCHANGES: ExchangeNames = DEFAULT_NAMES.exchanges;
export const QUEUES: QueueNames = DEFAULT_NAMES.queues;

/** Routing keys on the main exchange. They do not depend on the namespace. */
export const ROUTING_KEYS = {
  packTask: 'task.pack',
  packBatch: 'pack.batch',
  channelStore: 'channel.store',
  /** The notifier's own delivery messages (one subscription, one request each). */
  notifyDelivery: 'notify.delivery',
  /** Binding pattern matching every event. */
  allEvents: 'event.#',
  /**
   * One audit record of the HTTP API per answered write. Not under `event.`: events belong to a task (they carry a
   * taskId) and go to the notifier; audit records belong to a caller.
   */
  auditRecorded: 'audit.recorded',
} as const;

/**
 * The internal queues and the routing key their messages are published under by another service: only messages signed
 * with the services' internal key under that key are handled there. task.pack stays open to publishers.
 */
export function signedQueues(queues: QueueNames = QUEUES): Readonly<Record<string, string>> {
  return {
    [queues.packerBatches]: ROUTING_KEYS.packBatch,
    [queues.uploaderStore]: ROUTING_KEYS.channelStore,
    [queues.notifierDeliveries]: ROUTING_KEYS.notifyDelivery,
  };
}

export function eventRoutingKey<T extends string>(type: T): `event.${T}` {
  return `event.${type}`;
}

/**
 * Every work queue also binds `queue.<its name>`, so a retried (or replayed) message published with that routing key
 * reaches exactly the queue it failed in, not every queue its original routing key matches.
 */
export function queueRoutingKey(queueName: string): string {
  return `queue.${queueName}`;
}

export function retryQueueName(tierName: string, namespace: string = DEFAULT_NAMESPACE): string {
  return `${topologyNames(namespace).exchanges.retry}.${tierName}`;
}
