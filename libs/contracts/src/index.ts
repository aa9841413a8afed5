// Message schemas (TypeBox values) and their TypeScript types.
export { reasonText } from './schemas/common';
export type { PackTask } from './schemas/pack-task';
export {
  DEFAULT_NOTIFY_FORMAT,
  DEFAULT_NOTIFY_LEVEL,
  NOTIFY_FORMATS,
  NOTIFY_LEVELS,
  STANDARD_WEBHOOKS_SECRET_PATTERN,
  type Notify,
  type NotifyDelivery,
  type NotifyFormat,
  type NotifyLevel,
  type NotifySubscription,
  type SubscriptionSource,
} from './schemas/notify';
export type { PackBatch } from './schemas/pack-batch';
export type { ChannelStoreJob } from './schemas/channel-store-job';
export {
  eventMessageId,
  type EventType,
  type NotifyFailedEvent,
  type RetryScheduledEvent,
  type SubpackEvent,
} from './schemas/events';
export { HEADERS, TIER_ROUTING_HEADER, type ErrorClass } from './schemas/failure-headers';
export { packTaskFingerprint } from './fingerprint';
export { escapeUnsafe } from './text';

// Validation.
export {
  validateChannelStoreJob,
  validateEvent,
  validateNotifyDelivery,
  validateNotifySubscriptions,
  validatePackBatch,
  validatePackTask,
} from './validation/validators';

// RabbitMQ topology and message properties.
export { buildTopology, TOPOLOGY, type Topology } from './topology/build-topology';
export { channelStoreMessageId, packBatchMessageId, packTaskMessageId } from './topology/message-properties';
