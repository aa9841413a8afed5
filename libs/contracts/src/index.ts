// Message schemas (TypeBox values) and their TypeScript types.
export { reasonText } from './schemas/common';
export { ChannelSchema, PackTaskSchema, type Channel, type PackTask } from './schemas/pack-task';
export {
  ByteCountSchema,
  ChannelIdSchema,
  DateTimeSchema,
  ErrorInfoSchema,
  ExtrasSchema,
  MasterUrlSchema,
  NamingTemplateSchema,
  PackFormatSchema,
  TaskIdSchema,
  UploadModeSchema,
} from './schemas/common';
export {
  DEFAULT_NOTIFY_FORMAT,
  DEFAULT_NOTIFY_LEVEL,
  NOTIFY_FORMATS,
  NOTIFY_LEVELS,
  NotifySchema,
  STANDARD_WEBHOOKS_SECRET_PATTERN,
  type Notify,
  type NotifyDelivery,
  type NotifyFormat,
  type NotifyLevel,
  type NotifySubscription,
  type SubscriptionSource,
} from './schemas/notify';
export type { ValidationResult } from './validation/result';
export type { PackBatch } from './schemas/pack-batch';
export type { ChannelStoreJob } from './schemas/channel-store-job';
export { AUDITED_METHODS, AuditRecordSchema, type AuditRecord } from './schemas/audit';
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
  validateAgainstSchema,
  validateAuditRecord,
  validateChannel,
  validatePackTask,
} from './validation/validators';

// RabbitMQ topology and message properties.
export { buildTopology, TOPOLOGY, type Topology } from './topology/build-topology';
export { auditRecordMessageId, channelStoreMessageId, packBatchMessageId, packTaskMessageId } from './topology/message-properties';
