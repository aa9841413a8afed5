import { NOTIFY_LEVELS, type EventType, type NotifyFormat, type NotifyLevel } from '@subpack/contracts';

/** The level of every event type: info for progress, warn for retries, error for failures. */
export const EVENT_LEVELS: Readonly<Record<EventType, NotifyLevel>> = {
  'task.accepted': 'info',
  'channel.stored': 'info',
  'task.completed': 'info',
  // A person's own decision, not a failure: it reaches everyone who follows the task, and alerts no one.
  'task.cancelled': 'info',
  'retry.scheduled': 'warn',
  'task.stalled': 'warn',
  'channel.failed': 'error',
  'task.failed': 'error',
  'notify.failed': 'error',
};

export function levelRank(level: NotifyLevel): number {
  return NOTIFY_LEVELS.indexOf(level);
}

export function highestLevel(levels: readonly NotifyLevel[]): NotifyLevel {
  return levels.reduce<NotifyLevel>((top, level) => (levelRank(level) > levelRank(top) ? level : top), 'info');
}

/**
 * Robots get human summaries: one message per task outcome plus errors (and retries at warn). Task acceptance and each
 * stored channel are folded into the outcome's counts rather than sent.
 */
const ROBOT_EVENTS: ReadonlySet<EventType> = new Set<EventType>(['task.completed', 'task.failed', 'task.cancelled', 'channel.failed', 'retry.scheduled']);

/**
 * notify.failed is never delivered by webhook: it reports a webhook that failed, and delivering it could fail the same
 * way and loop. It stays on the bus for operators' own consumers.
 */
export function isDelivered(type: EventType, subscription: { readonly level: NotifyLevel; readonly format: NotifyFormat }): boolean {
  if (type === 'notify.failed') return false;
  if (levelRank(EVENT_LEVELS[type]) < levelRank(subscription.level)) return false;
  return subscription.format === 'json' || ROBOT_EVENTS.has(type);
}

/** Channel-level events: batched per task and subscription instead of one request each. */
const BATCHED_EVENTS: ReadonlySet<EventType> = new Set<EventType>(['channel.stored', 'channel.failed', 'retry.scheduled']);

export function isBatched(type: EventType): boolean {
  return BATCHED_EVENTS.has(type);
}
