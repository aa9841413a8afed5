import type { SubpackEvent } from '../schemas/events';

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

export function eventMessageId(event: SubpackEvent): string {
  switch (event.type) {
    case 'channel.stored':
    case 'channel.failed':
      return `${event.type}:${event.taskId}:${event.channel}`;
    case 'task.accepted':
    case 'task.completed':
    case 'task.failed':
      return `${event.type}:${event.taskId}`;
    case 'retry.scheduled':
      return `${event.type}:${event.taskId}:${event.route}:${event.channel ?? event.batch ?? ''}:${event.attempt}`;
    case 'notify.failed':
      return `${event.type}:${event.deliveryId}`;
    case 'task.stalled':
      // A task can stall again after progress: each stall is its own event.
      return `${event.type}:${event.taskId}:${event.lastProgressAt}`;
  }
}
