// Message schemas (TypeBox values) and their TypeScript types.
export * from './schemas/common';
export * from './schemas/pack-task';
export * from './schemas/notify';
export * from './schemas/pack-batch';
export * from './schemas/channel-store-job';
export * from './schemas/events';
export * from './schemas/failure-headers';
export { ERROR_MESSAGE_KEYWORD, StringEnum } from './schemas/rules';
export * from './schemas/catalog';
export { packTaskFingerprint } from './fingerprint';
export { escapeUnsafe } from './text';

// Validation.
export * from './validation/result';
export * from './validation/validators';
export { parseJsonBody, type JsonBodyResult } from './validation/json-body';
export { MAX_REPORTED_ERRORS } from './validation/describe-errors';

// RabbitMQ topology and message properties.
export * from './topology/build-topology';
export * from './topology/message-properties';
