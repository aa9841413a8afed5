export const JSON_CONTENT_TYPE = 'application/json';
export const PERSISTENT_DELIVERY_MODE = 2;

/**
 * Deterministic message ids: a redelivered or re-sent message keeps its id, so consumers (and the notifier's
 * webhook receivers) can de-duplicate.
 */
export function packBatchMessageId(taskId: string, batchIndex: number): string {
  return `pack.batch:${taskId}:${batchIndex}`;
}

export function channelStoreMessageId(taskId: string, channel: string): string {
  return `channel.store:${taskId}:${channel}`;
}
